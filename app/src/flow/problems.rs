//! Every failure, turned into what the user reads and can do next.

use renewal::api::ErrorCode;

use super::ports::{AuthorityError, CardPortError, ChooseError};
use super::state::{NextAction, Problem};
use crate::i18n::{Key, Message};

fn problem(
    title: Key,
    explanation: Key,
    actions: &[NextAction],
    detail: Option<String>,
) -> Problem {
    Problem {
        title: Message::new(title),
        explanation: Message::new(explanation),
        actions: actions.to_vec(),
        detail,
    }
}

/// The PIN is blocked; only a counter can help.
pub fn pin_locked() -> Problem {
    problem(
        Key::PinLockedTitle,
        Key::PinLockedExplanation,
        &[NextAction::Counter],
        None,
    )
}

/// The reader chooser gave nothing.
pub fn chooser(error: &ChooseError) -> Problem {
    match error {
        ChooseError::NothingChosen => problem(
            Key::NoReaderChosenTitle,
            Key::NoReaderChosenExplanation,
            &[NextAction::ChooseReader, NextAction::Counter],
            None,
        ),
        ChooseError::WebUsbUnavailable(detail) => problem(
            Key::NoWebUsbTitle,
            Key::NoWebUsbExplanation,
            &[NextAction::Counter, NextAction::OfficialProgram],
            Some(detail.clone()),
        ),
        ChooseError::Failed(detail) => problem(
            Key::ReaderFailedTitle,
            Key::ReaderFailedExplanation,
            &[NextAction::ChooseReader, NextAction::Counter],
            Some(detail.clone()),
        ),
    }
}

/// A card or reader failure that is not handled by a state of its own.
pub fn card(error: &CardPortError) -> Problem {
    let detail = Some(error.to_string());
    match error {
        CardPortError::ReaderGone => problem(
            Key::ReaderGoneTitle,
            Key::ReaderGoneExplanation,
            &[NextAction::ChooseReader, NextAction::StartOver],
            detail,
        ),
        CardPortError::RenewalNotSupported => problem(
            Key::CardGenerationTitle,
            Key::CardGenerationExplanation,
            &[NextAction::Counter, NextAction::OfficialProgram],
            detail,
        ),
        CardPortError::CertificateMissing { .. } => problem(
            Key::CertificateMissingTitle,
            Key::CertificateMissingExplanation,
            &[NextAction::Counter],
            detail,
        ),
        CardPortError::PinLocked => pin_locked(),
        CardPortError::BadSignature => problem(
            Key::CardSignatureTitle,
            Key::CardSignatureExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        CardPortError::ReadBackMismatch => problem(
            Key::WriteFailedTitle,
            Key::WriteFailedExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        CardPortError::CardRemoved
        | CardPortError::NotCitizenCard(_)
        | CardPortError::PinNotVerified
        | CardPortError::Failed(_) => problem(
            Key::CardFailedTitle,
            Key::CardFailedExplanation,
            &[
                NextAction::TryAgain,
                NextAction::ChooseReader,
                NextAction::Counter,
            ],
            detail,
        ),
    }
}

/// A certificate on the card that is not a citizen certificate this page can renew.
pub fn certificate_unreadable(detail: String) -> Problem {
    problem(
        Key::CertificateMissingTitle,
        Key::CertificateUnreadableExplanation,
        &[NextAction::Counter],
        Some(detail),
    )
}

/// The authority answered with certificates that do not belong to this card.
pub fn issued_certificates_wrong(detail: String) -> Problem {
    problem(
        Key::AuthorityAnswerTitle,
        Key::IssuedCertificatesWrongExplanation,
        &[NextAction::TryAgain, NextAction::Counter],
        Some(detail),
    )
}

/// What was read back after writing is not what was issued.
pub fn written_certificates_differ(detail: String) -> Problem {
    problem(
        Key::WriteFailedTitle,
        Key::WriteFailedExplanation,
        &[NextAction::TryAgain, NextAction::Counter],
        Some(detail),
    )
}

/// An authority failure not handled by a state of its own (refusals with a verdict and
/// identity refusals are).
pub fn authority(error: &AuthorityError) -> Problem {
    let detail = Some(error.to_string());
    match error {
        AuthorityError::Unreachable(_) => problem(
            Key::AuthorityUnreachableTitle,
            Key::AuthorityUnreachableExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        AuthorityError::BadAnswer(_) => problem(
            Key::AuthorityAnswerTitle,
            Key::AuthorityAnswerExplanation,
            &[
                NextAction::TryAgain,
                NextAction::Reload,
                NextAction::Counter,
            ],
            detail,
        ),
        AuthorityError::Refused(refusal) => refused(refusal.code, detail),
    }
}

/// An answer that does not belong to the step the renewal is at (a defect between the page
/// and its ports): nothing is acted on; trying again reads the card afresh.
pub fn out_of_step(detail: String) -> Problem {
    problem(
        Key::OutOfStepTitle,
        Key::OutOfStepExplanation,
        &[NextAction::TryAgain, NextAction::StartOver],
        Some(detail),
    )
}

/// The API version of the authority is not this page's.
pub fn version_mismatch(detail: String) -> Problem {
    problem(
        Key::PageOutdatedTitle,
        Key::PageOutdatedExplanation,
        &[NextAction::Reload, NextAction::Counter],
        Some(detail),
    )
}

fn refused(code: ErrorCode, detail: Option<String>) -> Problem {
    use ErrorCode as E;
    match code {
        E::RateLimited | E::Internal => problem(
            Key::AuthorityBusyTitle,
            Key::AuthorityBusyExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        E::MalformedRequest | E::RequestTooLarge | E::UnknownEndpoint => problem(
            Key::PageOutdatedTitle,
            Key::PageOutdatedExplanation,
            &[NextAction::Reload, NextAction::Counter],
            detail,
        ),
        E::MalformedCertificate
        | E::NotCitizenCertificate
        | E::UnknownIssuer
        | E::UnknownCertificate
        | E::CertificatesNotSameCard
        | E::InvalidCardNumber => problem(
            Key::CertificateNotKnownTitle,
            Key::CertificateNotKnownExplanation,
            &[NextAction::Counter],
            detail,
        ),
        E::ProofOfPossessionFailed => problem(
            Key::ProofFailedTitle,
            Key::ProofFailedExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        E::WrittenCertificatesMismatch => problem(
            Key::WriteFailedTitle,
            Key::WriteFailedExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        E::IdentityMismatch
        | E::NationalIdLength
        | E::NationalIdFirstLetter
        | E::NationalIdSecondDigit
        | E::NationalIdDigit
        | E::NationalIdChecksum
        | E::BirthdayEmpty
        | E::BirthdayFormat
        | E::BirthdayRocYearZero
        | E::BirthdayNoSuchDate => problem(
            Key::IdentityMismatchTitle,
            Key::IdentityMismatchExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
        E::ChallengeUnknown
        | E::ChallengeExpired
        | E::ChallengeUsed
        | E::RenewalUnknown
        | E::RenewalNotCompleted => problem(
            Key::SessionExpiredTitle,
            Key::SessionExpiredExplanation,
            &[NextAction::TryAgain, NextAction::StartOver],
            detail,
        ),
        E::TooEarly
        | E::TooLate
        | E::AlreadyRenewed
        | E::Revoked
        | E::Suspended
        | E::NotOriginalTerm => problem(
            Key::NotEligibleTitle,
            Key::NotEligibleExplanation,
            &[NextAction::TryAgain, NextAction::Counter],
            detail,
        ),
    }
}
