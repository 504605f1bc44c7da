//! The one seam between the card logic and whatever carries APDUs to the card: a CCID reader over
//! WebUSB (this crate implements [`ApduChannel`] for `ccid::Reader`), PC/SC or the Web Smart
//! Card API in an Isolated Web App, or a replayed trace.

use std::error::Error as StdError;
use std::fmt;

use crate::command::Command;
use crate::error::CardError;
use crate::status::Response;

/// How big a command and a response one APDU exchange can carry.
///
/// Short APDUs carry at most 255 command bytes and 256 response bytes; channels that carry
/// extended APDUs carry up to 65535 and 65536. The card logic sizes READ BINARY and UPDATE
/// BINARY by these, so a channel with extended APDUs needs far fewer commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelLimits {
    /// The largest command data field (Lc) one APDU may carry.
    pub max_command_data: usize,
    /// The largest response data field (Ne) one APDU may ask for.
    pub max_response_data: usize,
}

impl ChannelLimits {
    /// Short APDUs only.
    pub const SHORT: ChannelLimits = ChannelLimits {
        max_command_data: 255,
        max_response_data: 256,
    };
    /// Extended APDUs.
    pub const EXTENDED: ChannelLimits = ChannelLimits {
        max_command_data: 65535,
        max_response_data: 65536,
    };

    /// Whether the channel carries more than short APDUs do.
    pub fn carries_extended(&self) -> bool {
        self.max_command_data > Self::SHORT.max_command_data
            || self.max_response_data > Self::SHORT.max_response_data
    }

    /// Both limits at most `other`'s (e.g. to keep to short APDUs on a card that takes no
    /// extended ones).
    pub fn min(self, other: ChannelLimits) -> ChannelLimits {
        ChannelLimits {
            max_command_data: self.max_command_data.min(other.max_command_data),
            max_response_data: self.max_response_data.min(other.max_response_data),
        }
    }
}

/// Carries command APDUs to the card and its responses back.
///
/// Futures need not be `Send` (WebUSB's are not). Implementations hide their own transport
/// details (chaining, T=1, GET RESPONSE) and hand back the whole response APDU, data and
/// SW1-SW2.
#[allow(async_fn_in_trait)]
pub trait ApduChannel {
    /// Sends one command APDU and returns the response APDU (data, SW1, SW2).
    ///
    /// The command may hold a PIN: an implementation must not log or keep it.
    async fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ChannelError>;

    /// How big commands and responses may be.
    fn limits(&self) -> ChannelLimits;
}

impl<C: ApduChannel + ?Sized> ApduChannel for &mut C {
    async fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ChannelError> {
        (**self).transmit(command).await
    }

    fn limits(&self) -> ChannelLimits {
        (**self).limits()
    }
}

/// What went wrong on a channel, for deciding what the user should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelErrorKind {
    /// The card was pulled out or is not powered: insert it again.
    CardRemoved,
    /// The reader itself is gone (unplugged, or the platform closed it).
    ReaderGone,
    /// The channel cannot carry a command this long (the card logic sizes commands by
    /// [`ApduChannel::limits`], so this means the limits were wrong).
    TooLong,
    /// Anything else: a timeout, a protocol failure, a refusal by the platform.
    Failed,
}

impl fmt::Display for ChannelErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelErrorKind::CardRemoved => "the card was removed or is not powered",
            ChannelErrorKind::ReaderGone => "the reader is no longer available",
            ChannelErrorKind::TooLong => "the reader cannot carry a command this long",
            ChannelErrorKind::Failed => "the exchange with the card failed",
        })
    }
}

/// A channel failure: its kind, and the channel's own error as the cause.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {cause}")]
pub struct ChannelError {
    kind: ChannelErrorKind,
    #[source]
    cause: Box<dyn StdError + Send + Sync + 'static>,
}

impl ChannelError {
    /// A failure of `kind` caused by `cause`.
    pub fn new(kind: ChannelErrorKind, cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        ChannelError {
            kind,
            cause: cause.into(),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> ChannelErrorKind {
        self.kind
    }

    /// The channel's own error.
    pub fn cause(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self.cause.as_ref()
    }

    /// The channel's own error, if it is an `E` (e.g. `ccid::Error`).
    pub fn cause_as<E: StdError + 'static>(&self) -> Option<&E> {
        self.cause.downcast_ref::<E>()
    }
}

/// Sends `command` and splits the answer into data and status word. Logs the command's
/// header, lengths and status at debug level — never its data, which may be a PIN.
pub async fn exchange<C: ApduChannel + ?Sized>(
    channel: &mut C,
    command: &Command,
) -> Result<Response, CardError> {
    let bytes = command.to_bytes();
    let answer = channel.transmit(&bytes).await?;
    let answer_length = answer.len();
    let response = Response::parse(answer).ok_or(CardError::MalformedResponse {
        command: command.name(),
        length: answer_length,
    })?;
    tracing::debug!(
        command = command.name(),
        ins = format_args!("{:02X}", command.ins),
        p1p2 = format_args!("{:02X}{:02X}", command.p1, command.p2),
        lc = command.data_len(),
        response_length = response.data.len(),
        status = %response.status,
        "APDU"
    );
    Ok(response)
}
