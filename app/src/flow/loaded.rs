//! The card as read and what the authority said about it, and the checks the flow makes on
//! what the authority issues. Pure data and pure functions: the machine's vocabulary.

use renewal::api::{
    ApiError, ChallengeOffer, ErrorCode, RenewResponse, RenewalOnRecord, VerdictRequest,
    VerdictResponse,
};
use renewal::certificate::CertificateSerial;
use renewal::rules::{classify_term, Term};
use renewal::{CardNumber, CertificateView, KeyRole};

use super::identity::national_id_error_message;
use super::ports::{CardPortError, UserCertificates};
use super::problems;
use super::state::{CardOverview, CertificateSummary, Problem};
use crate::i18n::{Key, Message};

/// What the card answered to being read: its number, and its two user certificates, or the
/// slot that holds none (which may be one torn by an interrupted write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardContents {
    /// The card number (EF 0903).
    pub number: CardNumber,
    /// Both user certificates, or which slot is empty or damaged and what was found.
    pub certificates: Result<UserCertificates, (KeyRole, String)>,
}

/// What was read of the card, parsed, before the authority is asked about it.
#[derive(Debug, Clone)]
pub struct CardRead {
    number: CardNumber,
    /// The signature slot's certificate bytes (empty when the slot holds none).
    signature_der: Vec<u8>,
    signature: Option<CertificateView>,
    encryption: Option<CertificateView>,
    /// What to tell the user when a certificate is missing or unreadable and the authority
    /// has no interrupted renewal that explains it.
    unreadable: Option<Problem>,
}

impl CardRead {
    /// Parses what the card answered.
    pub fn new(contents: CardContents) -> Self {
        let number = contents.number;
        match contents.certificates {
            Ok(certificates) => {
                let signature = CertificateView::from_der(&certificates.signature);
                let encryption = CertificateView::from_der(&certificates.encryption);
                let unreadable = match (&signature, &encryption) {
                    (Err(error), _) | (_, Err(error)) => {
                        Some(problems::certificate_unreadable(error.to_string()))
                    }
                    _ => None,
                };
                CardRead {
                    number,
                    signature_der: certificates.signature,
                    signature: signature.ok(),
                    encryption: encryption.ok(),
                    unreadable,
                }
            }
            Err((slot, detail)) => CardRead {
                number,
                signature_der: Vec::new(),
                signature: None,
                encryption: None,
                unreadable: Some(problems::card(&CardPortError::CertificateMissing {
                    slot,
                    detail,
                })),
            },
        }
    }

    /// Why the card's certificates cannot be used, if they cannot.
    pub fn into_unreadable(self) -> Option<Problem> {
        self.unreadable
    }

    /// The question to the authority about this card.
    pub fn verdict_request(&self) -> VerdictRequest {
        VerdictRequest {
            certificate: self.signature_der.clone().into(),
            card_number: Some(self.number.clone()),
        }
    }
}

/// What the authority's verdict on a card read means for the flow.
#[derive(Debug, Clone)]
pub enum Understood {
    /// Show the card and the verdict.
    Show(LoadedCard),
    /// A renewal of this card is on record that the card does not hold: finish it.
    Resume(LoadedCard),
    /// Nothing can be done with this card online.
    Problem(Problem),
}

/// The card as read, with what the authority said about it.
#[derive(Debug, Clone)]
pub struct LoadedCard {
    pub(super) number: CardNumber,
    /// The signature certificate the authority's verdict and challenge are about.
    pub(super) signature: CertificateView,
    /// The card's copy of it is damaged (an interrupted write); `signature` is the authority's.
    signature_damaged: bool,
    /// `None` when the slot is damaged (an interrupted write).
    pub(super) encryption: Option<CertificateView>,
    pub(super) overview: CardOverview,
    pub(super) challenge: Option<ChallengeOffer>,
}

impl LoadedCard {
    /// Puts the card read and the authority's answer about it together.
    pub fn understand(read: CardRead, answer: VerdictResponse) -> Understood {
        // The signature certificate the verdict is about: the one on record when the card's
        // copy was damaged by an interrupted write, else the card's.
        let (signature, damaged) = match (&answer.certificate_on_record, read.signature) {
            (Some(der), _) => match CertificateView::from_der(&der.0) {
                Ok(on_record) => (on_record, true),
                Err(error) => {
                    return Understood::Problem(problems::issued_certificates_wrong(format!(
                        "the certificate on record: {error}"
                    )))
                }
            },
            (None, Some(signature)) => (signature, false),
            (None, None) => {
                return Understood::Problem(read.unreadable.unwrap_or_else(|| {
                    problems::certificate_unreadable("no signature certificate".into())
                }))
            }
        };
        let encryption = read.encryption;
        // The authority says whether it holds a renewal of this card. One it issued but was
        // never told is on the card is finished, whatever the card holds now (it may hold the
        // new certificates already, written before the card was pulled). A completed one is
        // the card's state unless the card no longer holds both renewed certificates intact;
        // then its receipt is shown again.
        let card_renewed = !damaged
            && classify_term(&signature.validity()) == Term::Renewed
            && encryption
                .as_ref()
                .is_some_and(|encryption| classify_term(&encryption.validity()) == Term::Renewed);
        let interrupted = match answer.renewal_on_record {
            Some(RenewalOnRecord::Issued) => true,
            Some(RenewalOnRecord::Completed) => !card_renewed,
            None => false,
        };
        if !interrupted {
            if let Some(unreadable) = read.unreadable {
                return Understood::Problem(unreadable);
            }
        }
        let overview = CardOverview {
            card_number: read.number.clone(),
            holder_name: signature.holder_name().unwrap_or_default().to_owned(),
            signature: summary(&signature),
            encryption: encryption.as_ref().map(summary),
            authority_time: answer.server_time,
            verdict: (!interrupted).then_some(answer.verdict),
        };
        let loaded = LoadedCard {
            number: read.number,
            signature,
            signature_damaged: damaged,
            encryption,
            overview,
            challenge: answer.challenge,
        };
        if interrupted {
            Understood::Resume(loaded)
        } else {
            Understood::Show(loaded)
        }
    }

    /// Serials of the certificates the card holds intact.
    pub fn serials_on_card(&self) -> Vec<CertificateSerial> {
        let signature = (!self.signature_damaged).then(|| self.signature.serial().clone());
        signature
            .into_iter()
            .chain(self.encryption.iter().map(|e| e.serial().clone()))
            .collect()
    }

    /// The question to the authority for a new verdict and challenge.
    pub fn verdict_request(&self) -> VerdictRequest {
        VerdictRequest {
            certificate: self.signature.der().to_vec().into(),
            card_number: Some(self.number.clone()),
        }
    }

    /// Takes a new verdict's challenge and time. The verdict shown is replaced unless a
    /// renewal is being resumed (then none is shown).
    pub fn refresh(&mut self, answer: VerdictResponse) {
        if self.overview.verdict.is_some() {
            self.overview.verdict = Some(answer.verdict);
        }
        self.overview.authority_time = answer.server_time;
        self.challenge = answer.challenge;
    }

    /// The issued certificates, parsed and checked against the card's: same public keys,
    /// 8-year term. `Err` says what is wrong.
    pub fn check_issued(&self, issued: &RenewResponse) -> Result<IssuedSerials, String> {
        let parse = |der: &[u8], what: &str| {
            CertificateView::from_der(der).map_err(|error| format!("issued {what}: {error}"))
        };
        let signature = parse(&issued.signature_certificate.0, "signature certificate")?;
        let encryption = parse(&issued.encryption_certificate.0, "encryption certificate")?;
        let same_key = |new: &CertificateView, old: &CertificateView| {
            matches!(
                (new.subject_public_key_info_der(), old.subject_public_key_info_der()),
                (Ok(new), Ok(old)) if new == old
            )
        };
        // A damaged encryption slot cannot be compared; the signature key is, and the card
        // proved it holds that key.
        let encryption_matches = self
            .encryption
            .as_ref()
            .is_none_or(|on_card| same_key(&encryption, on_card));
        if !same_key(&signature, &self.signature) || !encryption_matches {
            return Err("an issued certificate is not for the card's key".into());
        }
        for certificate in [&signature, &encryption] {
            if classify_term(&certificate.validity()) != Term::Renewed {
                return Err(format!(
                    "an issued certificate does not span 8 years: {:?}",
                    certificate.validity()
                ));
            }
        }
        Ok(IssuedSerials {
            signature: signature.serial().clone(),
            encryption: encryption.serial().clone(),
        })
    }
}

/// The serials of both issued certificates, once they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSerials {
    /// The renewed signature certificate's.
    pub signature: CertificateSerial,
    /// The renewed encryption certificate's.
    pub encryption: CertificateSerial,
}

fn summary(certificate: &CertificateView) -> CertificateSummary {
    CertificateSummary {
        serial: certificate.serial().clone(),
        validity: certificate.validity(),
    }
}

/// The authority's refusal of a certificate it cannot place.
pub fn is_certificate_refusal(refusal: &ApiError) -> bool {
    matches!(
        refusal.code,
        ErrorCode::MalformedCertificate
            | ErrorCode::NotCitizenCertificate
            | ErrorCode::UnknownCertificate
            | ErrorCode::UnknownIssuer
    )
}

/// The challenge signed is no longer good (it expired while the user was typing).
pub fn is_stale_challenge(refusal: &ApiError) -> bool {
    matches!(
        refusal.code,
        ErrorCode::ChallengeExpired | ErrorCode::ChallengeUnknown | ErrorCode::ChallengeUsed
    )
}

/// What to say at the ID number field when the authority refused it.
pub fn national_id_code_message(code: ErrorCode) -> Option<Message> {
    match code {
        ErrorCode::NationalIdChecksum => Some(national_id_error_message(
            &renewal::NationalIdError::Checksum,
        )),
        // The authority does not say which character; the local check already passed, so
        // this is rare (a page and authority of different versions).
        ErrorCode::NationalIdLength
        | ErrorCode::NationalIdFirstLetter
        | ErrorCode::NationalIdSecondDigit
        | ErrorCode::NationalIdDigit => Some(Message::new(Key::IdRefusedByAuthority)),
        _ => None,
    }
}

/// What to say at the birthday field when the authority refused it.
pub fn birthday_code_message(code: ErrorCode) -> Option<Message> {
    matches!(
        code,
        ErrorCode::BirthdayEmpty
            | ErrorCode::BirthdayFormat
            | ErrorCode::BirthdayRocYearZero
            | ErrorCode::BirthdayNoSuchDate
    )
    .then(|| Message::new(Key::BirthdayRefusedByAuthority))
}
