//! [`ApduChannel`] for a `ccid` reader (feature `ccid`): the page's own WebUSB driver.

use ccid::descriptor::ExchangeLevel;
use ccid::message::HEADER_LENGTH;
use ccid::{Protocol, Reader, UsbTransport};

use crate::channel::{ApduChannel, ChannelError, ChannelErrorKind, ChannelLimits};

/// A command header and a short Lc.
const SHORT_COMMAND_OVERHEAD: usize = 5;

impl<T: UsbTransport> ApduChannel for Reader<T> {
    async fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ChannelError> {
        Reader::transmit(self, command)
            .await
            .map_err(|error| ChannelError::new(error_kind(&error), error))
    }

    /// Extended APDUs where the reader takes them (extended APDU level) or the driver frames
    /// them itself (T=1 at TPDU level); short ones otherwise, cut to the reader's message size.
    fn limits(&self) -> ChannelLimits {
        let descriptor = &self.interface().descriptor;
        let protocol = self.link_info().and_then(|info| info.protocol);
        let short = || {
            let room = descriptor
                .max_message_length()
                .saturating_sub(HEADER_LENGTH + SHORT_COMMAND_OVERHEAD);
            ChannelLimits {
                max_command_data: room.clamp(1, ChannelLimits::SHORT.max_command_data),
                ..ChannelLimits::SHORT
            }
        };
        match descriptor.exchange_level() {
            ExchangeLevel::ExtendedApdu => ChannelLimits::EXTENDED,
            ExchangeLevel::Tpdu if protocol == Some(Protocol::T1) => ChannelLimits::EXTENDED,
            ExchangeLevel::Tpdu | ExchangeLevel::ShortApdu | ExchangeLevel::Character => short(),
        }
    }
}

/// What a driver error means for the user.
fn error_kind(error: &ccid::Error) -> ChannelErrorKind {
    match error {
        ccid::Error::NoCard | ccid::Error::CardNotPowered => ChannelErrorKind::CardRemoved,
        ccid::Error::Transport(ccid::TransportError::Disconnected) => ChannelErrorKind::ReaderGone,
        ccid::Error::ExtendedApduNotSupported { .. } | ccid::Error::ApduTooLongForReader { .. } => {
            ChannelErrorKind::TooLong
        }
        _ => ChannelErrorKind::Failed,
    }
}
