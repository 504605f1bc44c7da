//! The authority's verdict in words: what it means and what to do, with its dates.

use renewal::rules::{AlreadyRenewedBasis, NewCardApplication};
use renewal::Verdict;

use super::state::NextAction;
use crate::i18n::{Arg, Key, Message};

/// A verdict explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictExplanation {
    /// What the verdict is.
    pub title: Message,
    /// Why, with its dates.
    pub explanation: Message,
    /// How to get a new card, when renewal is over for this card.
    pub new_card: Option<Message>,
    /// What the user can do (empty when the renewal may go ahead).
    pub actions: Vec<NextAction>,
}

fn new_card(application: &NewCardApplication) -> Message {
    Message::new(Key::NewCardInstructions)
        .with("fee", Arg::Number(i64::from(application.ic_card_fee_ntd)))
}

/// The explanation of `verdict`.
pub fn explain_verdict(verdict: &Verdict) -> VerdictExplanation {
    let counter = vec![NextAction::Counter];
    match verdict {
        Verdict::Eligible {
            window_closes_at,
            renewed,
        } => VerdictExplanation {
            title: Message::new(Key::VerdictEligibleTitle),
            explanation: Message::new(Key::VerdictEligibleExplanation)
                .with("until", Arg::Instant(renewed.not_after))
                .with("closes", Arg::Instant(*window_closes_at)),
            new_card: None,
            actions: Vec::new(),
        },
        Verdict::TooEarly {
            window_opens_at,
            renewed,
            ..
        } => VerdictExplanation {
            title: Message::new(Key::VerdictTooEarlyTitle),
            explanation: Message::new(Key::VerdictTooEarlyExplanation)
                .with("opens", Arg::Instant(*window_opens_at))
                .with("until", Arg::Instant(renewed.not_after)),
            new_card: None,
            actions: vec![NextAction::StartOver, NextAction::Counter],
        },
        Verdict::TooLate {
            window_closed_at,
            new_card: application,
        } => VerdictExplanation {
            title: Message::new(Key::VerdictTooLateTitle),
            explanation: Message::new(Key::VerdictTooLateExplanation)
                .with("closed", Arg::Instant(*window_closed_at)),
            new_card: Some(new_card(application)),
            actions: counter,
        },
        Verdict::AlreadyRenewed {
            basis,
            expires_for_good_at,
            new_card: application,
        } => VerdictExplanation {
            title: Message::new(Key::VerdictAlreadyRenewedTitle),
            explanation: Message::new(Key::VerdictAlreadyRenewedExplanation)
                .with("expires", Arg::Instant(*expires_for_good_at)),
            new_card: Some(new_card(application)),
            // A renewal the authority recorded but the card does not show yet is finished by
            // reading the card again (the authority then offers to resume it).
            actions: match basis {
                AlreadyRenewedBasis::AuthorityRecord => {
                    vec![NextAction::TryAgain, NextAction::Counter]
                }
                AlreadyRenewedBasis::EightYearTerm => counter,
            },
        },
        Verdict::Revoked => VerdictExplanation {
            title: Message::new(Key::VerdictRevokedTitle),
            explanation: Message::new(Key::VerdictRevokedExplanation),
            new_card: None,
            actions: counter,
        },
        Verdict::Suspended => VerdictExplanation {
            title: Message::new(Key::VerdictSuspendedTitle),
            explanation: Message::new(Key::VerdictSuspendedExplanation),
            new_card: None,
            actions: counter,
        },
        Verdict::NotOriginalTerm { .. } => VerdictExplanation {
            title: Message::new(Key::VerdictNotOriginalTitle),
            explanation: Message::new(Key::VerdictNotOriginalExplanation),
            new_card: None,
            actions: counter,
        },
    }
}
