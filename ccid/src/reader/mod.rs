//! The reader: a CCID interface over a [`UsbTransport`], one slot at a time, with the card's
//! power, protocol negotiation and APDU exchange at whatever level the reader works.

mod apdu_chaining;
mod events;
mod message_io;
mod negotiation;
mod open;
mod power;
mod t0;
mod t1_link;
mod timing;

use std::time::Duration;

use crate::apdu::CommandApdu;
use crate::atr::Atr;
use crate::descriptor::{CcidInterface, ExchangeLevel};
use crate::error::Error;
use crate::message::{reply_type, Command, ReplyBody};
use crate::protocol::Protocol;
use crate::t1::T1Host;
use crate::transport::{TraceNote, UsbDeviceInfo, UsbTransport};

pub use events::{CardEvent, SlotStatus};
use timing::Timing;

/// How long a reader may take to power a card and return its ATR.
const POWER_ON_TIMEOUT: Duration = Duration::from_secs(3);
/// Commands that do not reach the card (status, parameters, abort).
const READER_TIMEOUT: Duration = Duration::from_secs(2);
/// Below this the USB timeout is never set: readers add their own latency to the card's.
const MIN_CARD_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest response APDU (65536 data bytes and SW1-SW2).
const MAX_RESPONSE: usize = 65538;
/// Empty bulk-IN transfers tolerated while waiting for the rest of a message.
const MAX_EMPTY_TRANSFERS: u32 = 16;
/// Replies to earlier commands (aborted, or left unread by a closed page) dropped while waiting
/// for the reply to the command just sent.
const MAX_STALE_REPLIES: u32 = 4;

/// Choices a caller may make; the defaults suit every reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// The slot to use.
    pub slot: u8,
    /// The largest T=1 information field the host accepts (IFSD), before the reader's own limit.
    pub ifsd: u8,
    /// Time extensions accepted for one command before giving up (PIN-pad entry and slow card
    /// operations ask for many).
    pub max_time_extensions: u32,
}

impl Default for ReaderOptions {
    fn default() -> ReaderOptions {
        ReaderOptions {
            slot: 0,
            ifsd: 254,
            max_time_extensions: 600,
        }
    }
}

/// How the card link was set up, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The protocol the card runs; `None` when an APDU-level reader runs it and neither the
    /// reader's parameters nor the ATR name T=0 or T=1.
    pub protocol: Option<Protocol>,
    /// The Fi/Di index in use.
    pub fi_di: u8,
    /// The transmission rate in bps at the reader's clock, if known.
    pub baud_rate: Option<u32>,
    /// Whether this driver made the PPS exchange (false when the reader did, or none was needed).
    pub host_pps: bool,
}

/// How the reader moves APDUs for the current card.
#[derive(Debug)]
enum Link {
    /// The reader takes APDUs (short or extended).
    Apdu,
    /// TPDU level, T=0: this driver forms TPDUs and handles 61xx/6Cxx.
    T0,
    /// TPDU level, T=1: this driver runs the block protocol. `None` only while a block exchange
    /// borrows it.
    T1(Option<T1Host>),
}

#[derive(Debug)]
struct CardSession {
    atr: Atr,
    info: LinkInfo,
    link: Link,
    timing: Timing,
}

/// A CCID reader and the card in its slot.
///
/// ```
/// # #[cfg(feature = "sim")] {
/// use ccid::sim::{SimReader, SimReaderConfig, TestCard};
/// use ccid::Reader;
///
/// let device = SimReader::new(SimReaderConfig::tpdu());
/// device.insert(Box::new(TestCard::new()));
/// let response = futures_executor::block_on(async {
///     let mut reader = Reader::open(device.transport()).await?;
///     reader.power_on().await?;
///     reader.transmit(&[0x80, 0xCA, 0x00, 0x00, 0x00]).await
/// });
/// assert!(response.is_ok());
/// # }
/// ```
#[derive(Debug)]
pub struct Reader<T: UsbTransport> {
    transport: T,
    device: UsbDeviceInfo,
    interface: CcidInterface,
    options: ReaderOptions,
    data_rates: Vec<u32>,
    seq: u8,
    card: Option<CardSession>,
    known_presence: Option<bool>,
}

impl<T: UsbTransport> Reader<T> {
    /// The device's identity.
    pub fn device(&self) -> UsbDeviceInfo {
        self.device
    }

    /// The CCID interface in use, with its class descriptor and quirks.
    pub fn interface(&self) -> &CcidInterface {
        &self.interface
    }

    /// One line describing the reader, for logs and trace headers: name (when the quirk table
    /// knows it), interface, exchange level, protocols, message size, slots, dialect.
    pub fn summary(&self) -> String {
        let interface = &self.interface;
        let descriptor = &interface.descriptor;
        let level = match descriptor.exchange_level() {
            ExchangeLevel::Character => "character level",
            ExchangeLevel::Tpdu => "TPDU level",
            ExchangeLevel::ShortApdu => "short APDU level",
            ExchangeLevel::ExtendedApdu => "extended APDU level",
        };
        let protocols = match (descriptor.supports_t0(), descriptor.supports_t1()) {
            (true, true) => "T=0 T=1",
            (true, false) => "T=0",
            (false, true) => "T=1",
            (false, false) => "no protocol",
        };
        let name = interface
            .quirk
            .map_or(String::new(), |quirk| format!("{}; ", quirk.name));
        format!(
            "{name}interface {} class 0x{:02X}; {level}; {protocols}; max message {}; {} slot(s); \
             features 0x{:08X}; dialect {:?}",
            interface.interface_number,
            interface.interface_class,
            descriptor.max_message_length(),
            descriptor.slot_count(),
            descriptor.features,
            interface.dialect(),
        )
    }

    /// The slot in use.
    pub fn slot(&self) -> u8 {
        self.options.slot
    }

    /// The powered card's ATR.
    pub fn atr(&self) -> Option<&Atr> {
        self.card.as_ref().map(|card| &card.atr)
    }

    /// How the powered card's link was set up.
    pub fn link_info(&self) -> Option<&LinkInfo> {
        self.card.as_ref().map(|card| &card.info)
    }

    /// The transport, for a platform that needs it back.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Sends a command APDU to the powered card and returns its response APDU (data and
    /// SW1-SW2), whatever the reader's exchange level: chaining, T=1 blocks, T=0 procedure
    /// (61xx GET RESPONSE, 6Cxx) and reader time extensions are handled here.
    pub async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let command = CommandApdu::parse(apdu)?;
        let Some(session) = &self.card else {
            return Err(Error::CardNotPowered);
        };
        let level = self.interface.descriptor.exchange_level();
        let too_big_for_link = command.extended
            && (level == ExchangeLevel::ShortApdu || matches!(session.link, Link::T0));
        if too_big_for_link {
            return Err(Error::ExtendedApduNotSupported { length: apdu.len() });
        }
        self.transport.note(TraceNote::CommandApdu(apdu));
        let result = match session.link {
            Link::Apdu => self.transmit_apdu_level(apdu).await,
            Link::T0 => self.transmit_t0(&command).await,
            Link::T1(_) => self.transmit_t1(apdu).await,
        };
        match &result {
            Ok(response) => self.transport.note(TraceNote::ResponseApdu(response)),
            Err(Error::NoCard) => {
                self.card = None;
                self.known_presence = Some(false);
            }
            Err(Error::T1(_)) => self.card = None,
            Err(_) => {}
        }
        result
    }

    /// Sends a vendor command (PC_to_RDR_Escape) and returns the reader's answer.
    pub async fn escape(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let reply = self
            .exchange(Command::Escape(data.to_vec()), READER_TIMEOUT)
            .await?;
        self.check(&reply)?;
        match reply.body {
            ReplyBody::Escape(data) => Ok(data),
            _ => Err(Error::UnexpectedReply {
                expected: reply_type::ESCAPE,
                got: reply.message_type(),
            }),
        }
    }
}
