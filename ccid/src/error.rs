//! The driver's error type.

use crate::apdu::ApduError;
use crate::atr::AtrError;
use crate::descriptor::DescriptorError;
use crate::message::{MessageError, SlotError};
use crate::pps::PpsError;
use crate::t1::T1Error;
use crate::transport::TransportError;

/// Everything that can go wrong between an application and a card in a reader.
///
/// Variants say what happened; an application maps them to what the user should do (insert the
/// card, use another reader, try again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The USB transfer itself failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The device's descriptors do not describe a usable CCID reader.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// The reader only exchanges characters; this driver needs TPDU or APDU level.
    #[error("this reader works at character level, which this driver does not support")]
    CharacterLevelReader,
    /// The interface speaks ICCD (control transfers), not CCID over bulk endpoints.
    #[error(
        "this device uses the ICCD protocol (version {0}), which this driver does not support"
    )]
    IccdNotSupported(char),
    /// The interface speaks a protocol this driver does not know (`bInterfaceProtocol`).
    #[error("interface protocol {0} is not CCID")]
    UnknownInterfaceProtocol(u8),
    /// The reader has no slot with this number.
    #[error("the reader has no slot {0}")]
    NoSuchSlot(u8),
    /// The reader's reply is not a well-formed CCID message.
    #[error("the reader sent a malformed reply: {0}")]
    MalformedReply(#[from] MessageError),
    /// The reply answers another command (`bSeq` differs).
    #[error("the reader answered command {got}, not command {expected}")]
    SequenceMismatch {
        /// The sequence number sent.
        expected: u8,
        /// The one received.
        got: u8,
    },
    /// The reply is for another slot.
    #[error("the reader answered for slot {got}, not slot {expected}")]
    SlotMismatch {
        /// Our slot.
        expected: u8,
        /// The reply's.
        got: u8,
    },
    /// The reply's type does not answer the command.
    #[error("the reader answered with message type 0x{got:02X} where 0x{expected:02X} was due")]
    UnexpectedReply {
        /// The type due.
        expected: u8,
        /// The type received.
        got: u8,
    },
    /// The reader kept asking for more time beyond any sensible limit.
    #[error("the reader asked for more time {0} times without answering")]
    EndlessTimeExtension(u32),
    /// Nothing came back in time; the command was aborted.
    #[error("the reader did not answer in time")]
    Timeout,
    /// There is no card in the slot.
    #[error("there is no card in the reader")]
    NoCard,
    /// The card does not answer.
    #[error("the card does not answer")]
    CardMute,
    /// The card is not powered (call `power_on` first, or again after it was removed).
    #[error("the card is not powered on")]
    CardNotPowered,
    /// The reader reported a failure with this error code.
    #[error("the reader reported: {0}")]
    Slot(SlotError),
    /// The reader reported a hardware error on its interrupt endpoint (1 = overcurrent).
    #[error("the reader reported hardware error {0}")]
    HardwareError(u8),
    /// The card's answer to reset is not valid.
    #[error("the card's answer to reset is not valid: {0}")]
    Atr(#[from] AtrError),
    /// Protocol and parameters selection failed.
    #[error("speed negotiation with the card failed: {0}")]
    Pps(#[from] PpsError),
    /// The T=1 link failed for good.
    #[error(transparent)]
    T1(#[from] T1Error),
    /// The card and the reader share no transmission protocol.
    #[error("the card offers protocols {card:?} but the reader supports none of them")]
    NoCommonProtocol {
        /// `T=n` the card offers.
        card: Vec<u8>,
    },
    /// The command APDU is malformed.
    #[error("invalid command APDU: {0}")]
    InvalidApdu(#[from] ApduError),
    /// An extended APDU for a reader or protocol that carries only short ones; the caller
    /// should use short commands (e.g. several READ BINARY of at most 256 bytes).
    #[error("this reader carries only short APDUs; the {length}-byte extended APDU was not sent")]
    ExtendedApduNotSupported {
        /// The APDU's length.
        length: usize,
    },
    /// A short APDU that does not fit the reader's messages (some readers take 64 bytes).
    #[error("the {length}-byte APDU does not fit this reader's messages of {max} bytes")]
    ApduTooLongForReader {
        /// The APDU's (or TPDU's) length.
        length: usize,
        /// The most the reader carries in one message.
        max: usize,
    },
    /// The response exceeds what a response may be.
    #[error("the card's response is longer than {0} bytes")]
    ResponseTooLong(usize),
    /// The reader's chaining parameter makes no sense at this point.
    #[error("the reader's response chaining is inconsistent (bChainParameter 0x{0:02X})")]
    BadChaining(u8),
    /// The T=0 exchange broke the protocol (e.g. endless 61xx).
    #[error("the T=0 exchange with the card failed: {0}")]
    T0(&'static str),
}

impl From<SlotError> for Error {
    fn from(error: SlotError) -> Error {
        match error {
            SlotError::IccMute => Error::CardMute,
            other => Error::Slot(other),
        }
    }
}
