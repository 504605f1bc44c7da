//! What can go wrong talking to the citizen card. Errors never carry the PIN.

use crate::channel::ChannelError;
use crate::command::KeyRole;
use crate::files::{CardNumberError, Slot};
use crate::identify::Generation;
use crate::status::StatusWord;

/// A failure of a card operation.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The channel to the card failed (card pulled out, reader gone, timeout…); the channel's
    /// own error is the cause.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The card answered with fewer than the two status bytes.
    #[error("the card's answer to {command} has no status word ({length} bytes)")]
    MalformedResponse {
        /// The command answered.
        command: &'static str,
        /// The answer's length.
        length: usize,
    },
    /// A file of the card's layout is not on this card (`6A82`).
    #[error("the card has no file {fid:04X}")]
    FileNotFound {
        /// The file identifier.
        fid: u16,
    },
    /// The card refused a command.
    #[error("the card refused {command}: {status}")]
    Refused {
        /// The command refused.
        command: &'static str,
        /// Its status word.
        status: StatusWord,
    },
    /// A private-key operation or write without a verified PIN (`6982`).
    #[error("the card requires the PIN to be verified first ({command} answered 6982)")]
    PinNotVerified {
        /// The command refused.
        command: &'static str,
    },
    /// The PIN is blocked (`6983`).
    #[error("the PIN is locked; only the issuer can unblock the card")]
    PinLocked,
    /// This generation is identified, but renewing it is not supported yet.
    #[error("renewing the {0} is not supported yet; only reading it is")]
    RenewalNotSupported(Generation),
    /// The card number is not 2 letters and 14 digits.
    #[error("the card number on the card is malformed: {0}")]
    InvalidCardNumber(CardNumberError),
    /// The card answered a fixed-length read with the wrong number of bytes.
    #[error("the card sent {got} bytes of {what} where {expected} were due")]
    UnexpectedLength {
        /// What was read.
        what: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// An offset READ BINARY and UPDATE BINARY cannot address (15 bits).
    #[error("offset {offset:#X} is beyond what READ BINARY can address")]
    OffsetOutOfRange {
        /// The offset.
        offset: usize,
    },
    /// A certificate does not fit its slot.
    #[error("the {length}-byte certificate does not fit the {slot} slot of {max} bytes")]
    CertificateTooLarge {
        /// The slot.
        slot: Slot,
        /// The certificate's length.
        length: usize,
        /// The slot's size.
        max: usize,
    },
    /// Bytes given to write are not one DER certificate.
    #[error("the bytes to write are not a DER certificate: {0}")]
    NotACertificate(String),
    /// What the card holds after a write differs from what was written; writing again may
    /// succeed.
    #[error("the {slot} slot reads back differently from what was written, from byte {offset}; write it again")]
    ReadBackMismatch {
        /// The slot.
        slot: Slot,
        /// The first differing byte, from the slot's start.
        offset: usize,
    },
    /// The certificate's public key is not one the private-key operation serves (RSA-2048).
    #[error("the certificate's public key cannot check this operation: {0}")]
    UnsupportedKey(String),
    /// The card's private-key operation did not produce a valid signature for the
    /// certificate's public key (wrong key, wrong certificate, or a failing card).
    #[error(
        "the card's signature with the {key} does not verify with the certificate's public key"
    )]
    BadSignature {
        /// The key used.
        key: KeyRole,
    },
}

impl CardError {
    /// Whether doing the same again may succeed without the user doing anything (a write
    /// whose read-back differed).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, CardError::ReadBackMismatch { .. })
    }

    /// The status word the card answered, when the card refused the command.
    pub fn status(&self) -> Option<StatusWord> {
        match self {
            CardError::Refused { status, .. } => Some(*status),
            CardError::PinNotVerified { .. } => Some(StatusWord::SECURITY_NOT_SATISFIED),
            CardError::PinLocked => Some(StatusWord::PIN_LOCKED),
            _ => None,
        }
    }

    /// The error for a status word other than success, with `6982` and `6983` named.
    pub fn from_status(command: &'static str, status: StatusWord) -> CardError {
        match status {
            StatusWord::SECURITY_NOT_SATISFIED => CardError::PinNotVerified { command },
            StatusWord::PIN_LOCKED => CardError::PinLocked,
            status => CardError::Refused { command, status },
        }
    }
}
