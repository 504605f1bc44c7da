//! The reader: a CCID interface over a [`UsbTransport`], one slot at a time, with the card's
//! power, protocol negotiation and APDU exchange at whatever level the reader works.

use std::time::Duration;

use crate::apdu::CommandApdu;
use crate::atr::{Atr, CardClass, Convention, Edc};
use crate::descriptor::{self, CcidInterface, ExchangeLevel, Voltage};
use crate::error::Error;
use crate::message::{
    control, reply_type, Command, CommandStatus, Header, IccStatus, Notification, PowerSelect,
    ProtocolParameters, Reply, ReplyBody, SlotError, HEADER_LENGTH,
};
use crate::pps::{self, PpsRequest, ReaderRates};
use crate::quirks::Dialect;
use crate::t1::{LinkError, Outgoing, T1Host, T1Params, T1Step};
use crate::transport::{TraceNote, UsbDeviceInfo, UsbTransport};
use zeroize::{Zeroize, Zeroizing};

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
/// Replies to an aborted command that may still arrive and are dropped.
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

/// A change of the slot's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardEvent {
    /// A card was inserted.
    Inserted,
    /// The card was removed.
    Removed,
}

/// The slot's state, from GetSlotStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStatus {
    /// No card.
    Empty,
    /// A card, not powered.
    CardInactive,
    /// A powered card.
    CardActive,
}

/// How the card link was set up, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// `T=0` or `T=1`.
    pub protocol: u8,
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

/// Card timing, for USB timeouts that follow the card's own waiting times.
#[derive(Debug, Clone, Copy)]
struct Timing {
    clock_khz: u32,
    fi: u32,
    di: u32,
    /// The card's waiting time for one block (T=1 BWT) or character (T=0 WT), in ms.
    wait_ms: u64,
}

impl Timing {
    fn new(atr: &Atr, fi_di: u8, protocol: u8, clock_khz: u32) -> Timing {
        let clock_khz = clock_khz.max(1);
        let fi = crate::atr::fi_from_index(fi_di >> 4).map_or(372, u32::from);
        let di = crate::atr::di_from_index(fi_di & 0x0F).map_or(1, u32::from);
        let wait_ms = if protocol == 1 {
            // BWT = 11 etu + 2^BWI × 960 × 372 / f (ISO 7816-3 §11.4.3).
            (1u64 << atr.bwi().min(9)) * 960 * 372 / u64::from(clock_khz)
        } else {
            // WT = WI × 960 × Fi / f (§10.2).
            u64::from(atr.t0_wi()) * 960 * u64::from(fi) / u64::from(clock_khz)
        };
        Timing {
            clock_khz,
            fi,
            di,
            wait_ms,
        }
    }

    /// The USB timeout for an exchange moving `bytes` each way with the waiting time multiplied.
    fn timeout(&self, bytes: usize, multiplier: u8) -> Duration {
        // One character is 12 etu at most; etu = Fi / (Di × f).
        let transfer_ms = bytes as u64 * 2 * 12 * u64::from(self.fi)
            / (u64::from(self.di) * u64::from(self.clock_khz));
        let wait = self.wait_ms * u64::from(multiplier.max(1));
        Duration::from_millis(2 * (wait + transfer_ms) + 1000).max(MIN_CARD_TIMEOUT)
    }
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
    stale_seq: Option<u8>,
    card: Option<CardSession>,
    known_presence: Option<bool>,
}

impl<T: UsbTransport> Reader<T> {
    /// Opens the reader behind `transport` with default options: reads its configuration
    /// descriptor, finds the CCID interface and claims it.
    pub async fn open(transport: T) -> Result<Reader<T>, Error> {
        Reader::open_with(transport, ReaderOptions::default()).await
    }

    /// Opens the reader with `options`.
    pub async fn open_with(mut transport: T, options: ReaderOptions) -> Result<Reader<T>, Error> {
        let device = transport.device_info();
        let configuration = read_configuration(&mut transport).await?;
        let interfaces = descriptor::find_ccid_interfaces(&device, &configuration)?;
        let interface = choose_interface(interfaces)?;
        if u16::from(options.slot) >= interface.descriptor.slot_count() {
            return Err(Error::NoSuchSlot(options.slot));
        }
        transport
            .claim_interface(interface.interface_number, interface.alternate_setting)
            .await?;
        let data_rates = read_data_rates(&mut transport, &interface).await;
        tracing::debug!(
            device = %device,
            level = ?interface.descriptor.exchange_level(),
            dialect = ?interface.dialect(),
            "opened CCID reader"
        );
        Ok(Reader {
            transport,
            device,
            interface,
            options,
            data_rates,
            seq: 0,
            stale_seq: None,
            card: None,
            known_presence: None,
        })
    }

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

    /// Asks the reader whether a card is in the slot and powered.
    pub async fn slot_status(&mut self) -> Result<SlotStatus, Error> {
        let reply = self
            .exchange(Command::GetSlotStatus, READER_TIMEOUT)
            .await?;
        let status = match reply.state.icc {
            IccStatus::Absent => SlotStatus::Empty,
            IccStatus::Inactive => SlotStatus::CardInactive,
            IccStatus::Active => SlotStatus::CardActive,
        };
        self.note_presence(status != SlotStatus::Empty);
        Ok(status)
    }

    /// Powers the card, reads its ATR, and sets up the fastest link card and reader share.
    ///
    /// Voltage: a reader that selects it itself is left to do so. Otherwise 5 V first, then
    /// 3 V and 1.8 V if the card does not answer or its class indicator asks for it — as the
    /// deployed reference driver does, and because every citizen card generation runs at 5 V.
    pub async fn power_on(&mut self) -> Result<Atr, Error> {
        self.card = None;
        let selects = self.power_selects();
        let mut last_error = Error::CardMute;
        for (attempt, &select) in selects.iter().enumerate() {
            let more_left = attempt + 1 < selects.len();
            let reply = self
                .exchange(Command::IccPowerOn(select), POWER_ON_TIMEOUT)
                .await?;
            if let Err(error) = self.check(&reply) {
                if error == Error::NoCard || !more_left || !retry_at_other_voltage(&error) {
                    return Err(error);
                }
                tracing::debug!(?select, %error, "no answer to reset; trying the next voltage");
                last_error = error;
                self.power_off_quietly().await;
                continue;
            }
            let data = reply_data(reply)?;
            let atr_bytes = match (self.interface.dialect(), data.split_first()) {
                // The EZ100PU puts one 0x00 before TS.
                (Dialect::Ez100pu, Some((0x00, rest))) => rest,
                _ => &data,
            };
            let atr = match Atr::parse(atr_bytes) {
                Ok(atr) => atr,
                Err(error) if more_left => {
                    tracing::debug!(?select, %error, "garbled ATR; trying the next voltage");
                    last_error = error.into();
                    self.power_off_quietly().await;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if more_left && !class_accepted(&atr, select) {
                tracing::debug!(?select, "the card's class indicator excludes this voltage");
                self.power_off_quietly().await;
                continue;
            }
            self.note_presence(true);
            self.transport.note(TraceNote::Atr(atr.bytes()));
            let session = self.negotiate(atr.clone()).await?;
            self.card = Some(session);
            if let Some(CardSession {
                link: Link::T1(_), ..
            }) = &self.card
            {
                if !self.interface.descriptor.automatic().ifsd_exchange {
                    self.announce_ifsd().await?;
                }
            }
            return Ok(atr);
        }
        Err(last_error)
    }

    /// Powers the card off.
    pub async fn power_off(&mut self) -> Result<(), Error> {
        self.card = None;
        let reply = self.exchange(Command::IccPowerOff, READER_TIMEOUT).await?;
        match self.check(&reply) {
            Ok(()) | Err(Error::NoCard) => Ok(()),
            Err(error) => Err(error),
        }
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

    /// Waits up to `wait` for the card to be inserted or removed.
    ///
    /// With an interrupt endpoint this waits for the reader's NotifySlotChange. Without one it
    /// asks GetSlotStatus once and returns at once; call it periodically (every half second
    /// serves people well).
    pub async fn wait_card_event(&mut self, wait: Duration) -> Result<Option<CardEvent>, Error> {
        let Some(endpoint) = self.interface.interrupt_in else {
            let before = self.known_presence;
            let now = self.slot_status().await? != SlotStatus::Empty;
            return Ok(match before {
                Some(before) if before == now => None,
                // An empty slot found on the first look is no change.
                None if !now => None,
                _ => Some(if now {
                    CardEvent::Inserted
                } else {
                    CardEvent::Removed
                }),
            });
        };
        let slots = usize::from(self.interface.descriptor.slot_count());
        let length = 1 + slots.div_ceil(4);
        let bytes = match self.transport.interrupt_in(endpoint, length, wait).await {
            Ok(bytes) => bytes,
            Err(crate::transport::TransportError::Timeout) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        match Notification::decode(&bytes)? {
            Notification::SlotChange(changes) => {
                let Some(change) = changes.get(usize::from(self.options.slot)) else {
                    return Ok(None);
                };
                if !change.changed && Some(change.present) == self.known_presence {
                    return Ok(None);
                }
                // A card pulled and reinserted between two notifications is a new card too.
                self.card = None;
                self.known_presence = Some(change.present);
                Ok(Some(if change.present {
                    CardEvent::Inserted
                } else {
                    CardEvent::Removed
                }))
            }
            Notification::HardwareError { slot, code, .. } if slot == self.options.slot => {
                self.card = None;
                Err(Error::HardwareError(code))
            }
            Notification::HardwareError { .. } => Ok(None),
        }
    }

    fn note_presence(&mut self, present: bool) {
        if !present {
            self.card = None;
        }
        self.known_presence = Some(present);
    }

    fn power_selects(&self) -> Vec<PowerSelect> {
        if self.interface.descriptor.automatic().voltage {
            return vec![PowerSelect::Automatic];
        }
        // Highest voltage first.
        let voltages = self.interface.descriptor.voltages();
        let selects: Vec<PowerSelect> = [
            (Voltage::V5_0, PowerSelect::V5_0),
            (Voltage::V3_0, PowerSelect::V3_0),
            (Voltage::V1_8, PowerSelect::V1_8),
        ]
        .into_iter()
        .filter(|(voltage, _)| voltages.contains(voltage))
        .map(|(_, select)| select)
        .collect();
        if selects.is_empty() {
            vec![PowerSelect::Automatic]
        } else {
            selects
        }
    }

    async fn power_off_quietly(&mut self) {
        if let Err(error) = self.power_off().await {
            tracing::debug!(%error, "power off between voltage attempts failed");
        }
    }

    /// Chooses protocol and rate and sets the reader and card to them (ISO 7816-3 §6.3, §9;
    /// CCID §6.1.7).
    async fn negotiate(&mut self, atr: Atr) -> Result<CardSession, Error> {
        let descriptor = self.interface.descriptor.clone();
        let automatic = descriptor.automatic();
        let level = descriptor.exchange_level();
        let offered = atr.protocols();
        let reader_has = |protocol: u8| match protocol {
            0 => descriptor.supports_t0(),
            1 => descriptor.supports_t1(),
            _ => false,
        };
        let specific = atr.specific_mode();
        let protocol = match specific {
            Some(mode) => mode.protocol,
            // T=1 where both can: it carries every APDU case without GET RESPONSE round trips.
            None if offered.contains(&1) && reader_has(1) => 1,
            None if offered.contains(&0) && reader_has(0) => 0,
            None => 0xFF,
        };
        if !reader_has(protocol) && level == ExchangeLevel::Tpdu {
            return Err(Error::NoCommonProtocol { card: offered });
        }
        let rates = ReaderRates {
            clock_khz: descriptor.default_clock_khz,
            max_data_rate: descriptor.max_data_rate,
            data_rates: self.data_rates.clone(),
        };
        let mut fi_di = match specific {
            Some(mode) if mode.implicit_parameters => 0x11,
            Some(_) => atr.fi_di_index(),
            None => pps::select_fi_di(atr.fi_di_index(), &rates),
        };
        let mut host_pps = false;

        if level != ExchangeLevel::Tpdu {
            // APDU readers run the card themselves; ask what they settled on, for timing.
            let parameters = self.current_parameters().await;
            let protocol = parameters.map_or(atr.default_protocol(), |p| p.protocol());
            let fi_di = parameters.map_or(atr.fi_di_index(), |p| p.fi_di());
            return Ok(CardSession {
                timing: Timing::new(&atr, fi_di, protocol, descriptor.default_clock_khz),
                info: LinkInfo {
                    protocol,
                    fi_di,
                    baud_rate: pps::baud_rate(fi_di, descriptor.default_clock_khz),
                    host_pps: false,
                },
                link: Link::Apdu,
                atr,
            });
        }

        if automatic.negotiation {
            // The reader negotiated by itself; learn the outcome.
            if let Some(params) = self.current_parameters().await {
                fi_di = params.fi_di();
                if params.protocol() != protocol && reader_has(params.protocol()) {
                    tracing::debug!(
                        protocol = params.protocol(),
                        "the reader chose another protocol"
                    );
                }
            }
        } else {
            let needs_pps =
                specific.is_none() && (protocol != atr.default_protocol() || fi_di != 0x11);
            if needs_pps && !automatic.pps {
                match self.exchange_pps(protocol, fi_di).await {
                    Ok(agreed) => {
                        fi_di = agreed;
                        host_pps = true;
                    }
                    Err(error) => {
                        // ISO 7816-3 §9.3: after a failed PPS the card must be reset; then
                        // run it at its defaults, if its default protocol will do.
                        tracing::debug!(%error, "PPS failed; resetting to default parameters");
                        let protocol_after_reset = atr.default_protocol();
                        if protocol_after_reset != protocol && !reader_has(protocol_after_reset) {
                            return Err(error);
                        }
                        self.power_off_quietly().await;
                        let reply = self
                            .exchange(
                                Command::IccPowerOn(
                                    self.power_selects()
                                        .first()
                                        .copied()
                                        .unwrap_or(PowerSelect::Automatic),
                                ),
                                POWER_ON_TIMEOUT,
                            )
                            .await?;
                        self.check(&reply)?;
                        fi_di = 0x11;
                        return self
                            .finish_negotiation(atr, protocol_after_reset, fi_di, false)
                            .await;
                    }
                }
            }
            let parameters_needed = !automatic.parameters_from_atr || host_pps || automatic.pps;
            if parameters_needed {
                self.set_parameters(&atr, protocol, fi_di).await?;
            }
        }
        self.finish_negotiation(atr, protocol, fi_di, host_pps)
            .await
    }

    async fn finish_negotiation(
        &mut self,
        atr: Atr,
        protocol: u8,
        fi_di: u8,
        host_pps: bool,
    ) -> Result<CardSession, Error> {
        let clock_khz = self.interface.descriptor.default_clock_khz;
        let link = if protocol == 1 {
            Link::T1(Some(T1Host::new(self.t1_params(&atr))))
        } else {
            Link::T0
        };
        Ok(CardSession {
            timing: Timing::new(&atr, fi_di, protocol, clock_khz),
            info: LinkInfo {
                protocol,
                fi_di,
                baud_rate: pps::baud_rate(fi_di, clock_khz),
                host_pps,
            },
            link,
            atr,
        })
    }

    fn t1_params(&self, atr: &Atr) -> T1Params {
        let descriptor = &self.interface.descriptor;
        // A block is prologue (3) + INF + EDC (up to 2) inside one CCID message.
        let message_room = descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH + 5);
        let cap = |value: usize| u8::try_from(value.min(254)).unwrap_or(254).max(1);
        let max_ifsd = usize::try_from(descriptor.max_ifsd).unwrap_or(usize::MAX);
        T1Params {
            ifsc: cap(usize::from(atr.ifsc()).min(message_room)),
            ifsd: cap(usize::from(self.options.ifsd)
                .min(max_ifsd.max(1))
                .min(message_room)),
            edc: atr.t1_edc(),
            nad: 0,
        }
    }

    async fn current_parameters(&mut self) -> Option<ProtocolParameters> {
        let reply = self
            .exchange(Command::GetParameters, READER_TIMEOUT)
            .await
            .ok()?;
        self.check(&reply).ok()?;
        match reply.body {
            ReplyBody::Parameters(params) => params,
            _ => None,
        }
    }

    async fn exchange_pps(&mut self, protocol: u8, fi_di: u8) -> Result<u8, Error> {
        let request = PpsRequest {
            protocol,
            fi_di: (fi_di != 0x11).then_some(fi_di),
            pps2: None,
            pps3: None,
        };
        let bytes = request.to_bytes();
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: 0,
                    level: 0,
                    data: bytes,
                },
                MIN_CARD_TIMEOUT,
            )
            .await?;
        self.check(&reply)?;
        let response = reply_data(reply)?;
        let outcome = request.check_response(&response)?;
        Ok(outcome.fi_di)
    }

    async fn set_parameters(&mut self, atr: &Atr, protocol: u8, fi_di: u8) -> Result<(), Error> {
        let inverse = u8::from(atr.convention() == Convention::Inverse) << 1;
        let params = if protocol == 1 {
            let t1 = self.t1_params(atr);
            ProtocolParameters::T1 {
                fi_di,
                tcckst: 0x10 | inverse | u8::from(atr.t1_edc() == Edc::Crc),
                guard_time: atr.extra_guard_time(),
                waiting_integers: atr.bwi() << 4 | (atr.cwi() & 0x0F),
                clock_stop: 0,
                ifsc: t1.ifsc,
                nad: 0,
            }
        } else {
            ProtocolParameters::T0 {
                fi_di,
                tcckst: inverse,
                guard_time: atr.extra_guard_time(),
                waiting_integer: atr.t0_wi(),
                clock_stop: 0,
            }
        };
        let reply = self
            .exchange(Command::SetParameters(params), READER_TIMEOUT)
            .await?;
        self.check(&reply)
    }

    async fn announce_ifsd(&mut self) -> Result<(), Error> {
        let mut host = self.take_t1()?;
        let result = match host.start_ifsd() {
            Ok(first) => self.run_t1(&mut host, first).await,
            Err(error) => Err(error.into()),
        };
        self.put_back_t1(host, &result);
        result.map(|_| ())
    }

    async fn transmit_t1(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let mut host = self.take_t1()?;
        let result = match host.start(apdu) {
            Ok(first) => self.run_t1(&mut host, first).await,
            Err(error) => Err(error.into()),
        };
        self.put_back_t1(host, &result);
        result
    }

    fn take_t1(&mut self) -> Result<T1Host, Error> {
        match &mut self.card {
            Some(CardSession {
                link: Link::T1(host),
                ..
            }) => host.take().ok_or(Error::CardNotPowered),
            _ => Err(Error::CardNotPowered),
        }
    }

    fn put_back_t1(&mut self, mut host: T1Host, result: &Result<Vec<u8>, Error>) {
        let fatal = matches!(result, Err(Error::NoCard | Error::T1(_)));
        if result.is_err() {
            // A USB failure cut the exchange short: the next one starts with a RESYNCH.
            host.abandon();
        }
        match &mut self.card {
            Some(CardSession {
                link: Link::T1(slot),
                ..
            }) if !fatal => *slot = Some(host),
            _ => self.card = None,
        }
    }

    async fn run_t1(&mut self, host: &mut T1Host, first: Outgoing) -> Result<Vec<u8>, Error> {
        let mut outgoing = first;
        loop {
            let reply = self.t1_block(&outgoing).await;
            outgoing.block.zeroize();
            let reply = reply?;
            match host.on_reply(reply.as_deref().map_err(|e| *e))? {
                T1Step::Send(next) => outgoing = next,
                T1Step::Done(response) => return Ok(response),
            }
        }
    }

    /// One T=1 block out and the card's block back; link-level failures go to the T=1 engine.
    async fn t1_block(&mut self, outgoing: &Outgoing) -> Result<Result<Vec<u8>, LinkError>, Error> {
        let timeout = self.card_timeout(outgoing.block.len() + 259, outgoing.bwt_multiplier);
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: if outgoing.bwt_multiplier > 1 {
                        outgoing.bwt_multiplier
                    } else {
                        0
                    },
                    level: 0,
                    data: outgoing.block.clone(),
                },
                timeout,
            )
            .await?;
        if reply.state.command == CommandStatus::Failed && reply.state.icc != IccStatus::Absent {
            match SlotError::from_byte(reply.error) {
                SlotError::IccMute => return Ok(Err(LinkError::Mute)),
                SlotError::ParityError | SlotError::Overrun => return Ok(Err(LinkError::Parity)),
                _ => {}
            }
        }
        self.check(&reply)?;
        Ok(Ok(reply_data(reply)?))
    }

    async fn transmit_t0(&mut self, command: &CommandApdu<'_>) -> Result<Vec<u8>, Error> {
        let [cla, ins, p1, p2] = command.header;
        // The TPDU may carry a PIN: wiped when dropped.
        let mut tpdu = Zeroizing::new(vec![cla, ins, p1, p2]);
        if command.data.is_empty() {
            // Case 1: P3 = 0. Case 2: P3 = Le (0 means 256).
            tpdu.push(command.ne.map_or(0, |ne| (ne & 0xFF) as u8));
        } else {
            tpdu.push(u8::try_from(command.data.len()).map_err(|_| Error::T0("Lc too long"))?);
            tpdu.extend_from_slice(command.data);
        }
        let mut response = self.xfr_t0(&tpdu).await?;
        if let [0x6C, exact] = response[..] {
            // Wrong Le: the card says how many bytes it has (ISO 7816-3 §12.2.2).
            if command.data.is_empty() && command.ne.is_some() {
                tpdu[4] = exact;
                response = self.xfr_t0(&tpdu).await?;
            }
        }
        let get_response_class = match self.interface.descriptor.class_get_response {
            0xFF => cla,
            class => class,
        };
        let mut rounds = 0u32;
        // 61xx: more response bytes wait for GET RESPONSE (§12.2.4), when a response was asked
        // for (cases 2 and 4); a case 3 command gets its status word as the card gave it.
        while let (Some(_), [.., 0x61, available]) = (command.ne, &response[..]) {
            let available = *available;
            rounds += 1;
            if rounds > 256 || response.len() > MAX_RESPONSE {
                return Err(Error::T0("the card keeps announcing more response data"));
            }
            let data_len = response.len() - 2;
            response.truncate(data_len);
            let mut get_response = vec![get_response_class, 0xC0, 0x00, 0x00, available];
            let mut part = self.xfr_t0(&get_response).await?;
            if let [0x6C, exact] = part[..] {
                get_response[4] = exact;
                part = self.xfr_t0(&get_response).await?;
            }
            response.extend_from_slice(&part);
        }
        Ok(response)
    }

    async fn xfr_t0(&mut self, tpdu: &[u8]) -> Result<Vec<u8>, Error> {
        let room = self
            .interface
            .descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH);
        if tpdu.len() > room {
            return Err(Error::ApduTooLongForReader {
                length: tpdu.len(),
                max: room,
            });
        }
        let timeout = self.card_timeout(tpdu.len() + 258, 1);
        let reply = self
            .exchange(
                Command::XfrBlock {
                    bwi: 0,
                    level: 0,
                    data: tpdu.to_vec(),
                },
                timeout,
            )
            .await?;
        self.check(&reply)?;
        let data = reply_data(reply)?;
        if data.len() < 2 {
            return Err(Error::T0("the card's answer has no status word"));
        }
        Ok(data)
    }

    /// APDU-level readers: the APDU in one XfrBlock, or chained over `wLevelParameter` when it
    /// does not fit one message; the response likewise (CCID §6.1.4).
    async fn transmit_apdu_level(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Error> {
        let room = self
            .interface
            .descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH)
            .max(1);
        let timeout = self.card_timeout(apdu.len().min(room) + 258, 1);
        let chunks: Vec<&[u8]> = if apdu.len() <= room {
            vec![apdu]
        } else if self.interface.descriptor.exchange_level() == ExchangeLevel::ExtendedApdu {
            apdu.chunks(room).collect()
        } else {
            // Extended APDUs were refused before; this short one is too big for the reader.
            return Err(Error::ApduTooLongForReader {
                length: apdu.len(),
                max: room,
            });
        };
        let last = chunks.len() - 1;
        let mut reply = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let level = match (i, chunks.len()) {
                (_, 1) => 0x0000,
                (0, _) => 0x0001,
                (i, _) if i == last => 0x0002,
                _ => 0x0003,
            };
            let answer = self
                .exchange(
                    Command::XfrBlock {
                        bwi: 0,
                        level,
                        data: chunk.to_vec(),
                    },
                    timeout,
                )
                .await?;
            self.check(&answer)?;
            if i < last {
                match &answer.body {
                    ReplyBody::DataBlock { chain: 0x10, data } if data.is_empty() => {}
                    ReplyBody::DataBlock { chain, .. } => return Err(Error::BadChaining(*chain)),
                    _ => {}
                }
            }
            reply = Some(answer);
        }
        let Some(Reply {
            body: ReplyBody::DataBlock { chain, data },
            ..
        }) = reply
        else {
            return Err(Error::UnexpectedReply {
                expected: reply_type::DATA_BLOCK,
                got: 0,
            });
        };
        let mut response = data;
        let mut chain = chain;
        while chain == 0x01 || chain == 0x03 {
            let answer = self
                .exchange(
                    Command::XfrBlock {
                        bwi: 0,
                        level: 0x0010,
                        data: Vec::new(),
                    },
                    timeout,
                )
                .await?;
            self.check(&answer)?;
            let ReplyBody::DataBlock {
                chain: next,
                data: part,
            } = answer.body
            else {
                return Err(Error::BadChaining(0));
            };
            if next != 0x02 && next != 0x03 {
                return Err(Error::BadChaining(next));
            }
            response.extend_from_slice(&part);
            if response.len() > MAX_RESPONSE {
                return Err(Error::ResponseTooLong(MAX_RESPONSE));
            }
            chain = next;
        }
        if chain != 0x00 && chain != 0x02 {
            return Err(Error::BadChaining(chain));
        }
        Ok(response)
    }

    fn card_timeout(&self, bytes: usize, multiplier: u8) -> Duration {
        self.card.as_ref().map_or(MIN_CARD_TIMEOUT, |card| {
            card.timing.timeout(bytes, multiplier)
        })
    }

    /// Maps a failed command to an error; records that the card is gone when it is.
    fn check(&mut self, reply: &Reply) -> Result<(), Error> {
        if reply.state.icc == IccStatus::Absent {
            self.note_presence(false);
        }
        match reply.state.command {
            CommandStatus::Ok | CommandStatus::TimeExtension => Ok(()),
            CommandStatus::Failed if reply.state.icc == IccStatus::Absent => Err(Error::NoCard),
            CommandStatus::Failed => Err(SlotError::from_byte(reply.error).into()),
        }
    }

    fn next_seq(&mut self) -> u8 {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        seq
    }

    /// Sends a command and returns its reply, waiting again while the reader asks for more
    /// time, and aborting the command if nothing comes back in time.
    async fn exchange(&mut self, mut command: Command, timeout: Duration) -> Result<Reply, Error> {
        let seq = self.next_seq();
        let expected_type = reply_type_for(&command);
        // Commands may carry a PIN: no copy outlives its sending.
        let message =
            Zeroizing::new(command.encode(self.options.slot, seq, self.interface.dialect()));
        command.wipe();
        self.send(&message).await?;
        let mut wait = timeout;
        let mut extensions = 0u32;
        let mut stale = 0u32;
        loop {
            let reply = match self.receive(wait).await {
                Ok(reply) => reply,
                Err(Error::Timeout) => {
                    self.abort(seq).await;
                    return Err(Error::Timeout);
                }
                Err(error) => return Err(error),
            };
            if reply.seq != seq {
                if Some(reply.seq) == self.stale_seq && stale < MAX_STALE_REPLIES {
                    stale += 1;
                    tracing::debug!(seq = reply.seq, "dropping a reply to an aborted command");
                    continue;
                }
                return Err(Error::SequenceMismatch {
                    expected: seq,
                    got: reply.seq,
                });
            }
            if reply.slot != self.options.slot {
                return Err(Error::SlotMismatch {
                    expected: self.options.slot,
                    got: reply.slot,
                });
            }
            if reply.message_type() != expected_type {
                return Err(Error::UnexpectedReply {
                    expected: expected_type,
                    got: reply.message_type(),
                });
            }
            if reply.state.command == CommandStatus::TimeExtension {
                extensions += 1;
                if extensions > self.options.max_time_extensions {
                    self.abort(seq).await;
                    return Err(Error::EndlessTimeExtension(extensions));
                }
                // bError carries the multiplier of the waiting time the reader asks for.
                wait = timeout * u32::from(reply.error.max(1));
                continue;
            }
            self.stale_seq = None;
            return Ok(reply);
        }
    }

    async fn send(&mut self, message: &[u8]) -> Result<(), Error> {
        let endpoint = self.interface.bulk_out;
        match self.interface.quirk.and_then(|quirk| quirk.bulk_out_chunk) {
            Some(chunk) if chunk > 0 => {
                for part in message.chunks(chunk) {
                    self.transport.bulk_out(endpoint, part).await?;
                }
            }
            _ => self.transport.bulk_out(endpoint, message).await?,
        }
        Ok(())
    }

    /// Reads one whole reply, from as many bulk-IN transfers as the reader splits it into.
    async fn receive(&mut self, timeout: Duration) -> Result<Reply, Error> {
        let dialect = self.interface.dialect();
        let endpoint = self.interface.bulk_in;
        let max = self
            .interface
            .descriptor
            .max_message_length()
            .max(HEADER_LENGTH + 261);
        let chunk = self
            .interface
            .quirk
            .and_then(|quirk| quirk.bulk_in_chunk)
            .filter(|&chunk| chunk > 0);
        let mut message = Vec::new();
        let mut empty = 0u32;
        loop {
            let wanted = match Header::decode(&message, dialect) {
                Ok(header) => header.message_length().saturating_sub(message.len()),
                Err(_) => max.saturating_sub(message.len()),
            }
            .max(1);
            let wanted = chunk.map_or(wanted, |chunk| wanted.min(chunk));
            let part = match self.transport.bulk_in(endpoint, wanted, timeout).await {
                Ok(part) => part,
                Err(crate::transport::TransportError::Timeout) => return Err(Error::Timeout),
                Err(error) => return Err(error.into()),
            };
            if part.is_empty() {
                empty += 1;
                if empty > MAX_EMPTY_TRANSFERS {
                    return Err(crate::message::MessageError::Truncated {
                        have: message.len(),
                        need: HEADER_LENGTH.max(message.len() + 1),
                    }
                    .into());
                }
                continue;
            }
            message.extend_from_slice(&part);
            if message.len() < HEADER_LENGTH {
                continue;
            }
            let header = Header::decode(&message, dialect)?;
            if message.len() >= header.message_length() {
                return Ok(Reply::decode(&message, dialect)?);
            }
        }
    }

    /// Ends a command that did not answer (CCID §5.3.1): the ABORT class request, then
    /// PC_to_RDR_Abort with the same sequence number, then the reader's SlotStatus.
    async fn abort(&mut self, aborted_seq: u8) {
        self.stale_seq = Some(aborted_seq);
        let seq = self.next_seq();
        let setup = control::abort(self.interface.interface_number, self.options.slot, seq);
        if let Err(error) = self.transport.control_out(setup, &[]).await {
            tracing::debug!(%error, "ABORT request failed");
        }
        let message = Command::Abort.encode(self.options.slot, seq, self.interface.dialect());
        if let Err(error) = self.send(&message).await {
            tracing::debug!(%error, "PC_to_RDR_Abort failed");
            return;
        }
        for _ in 0..=MAX_STALE_REPLIES {
            match self.receive(READER_TIMEOUT).await {
                Ok(reply) if reply.seq == seq => return,
                Ok(_) => continue,
                Err(error) => {
                    tracing::debug!(%error, "no answer to PC_to_RDR_Abort");
                    return;
                }
            }
        }
    }
}

fn reply_type_for(command: &Command) -> u8 {
    match command {
        Command::IccPowerOn(_) | Command::XfrBlock { .. } | Command::Secure { .. } => {
            reply_type::DATA_BLOCK
        }
        Command::IccPowerOff | Command::GetSlotStatus | Command::Abort => reply_type::SLOT_STATUS,
        Command::GetParameters | Command::ResetParameters | Command::SetParameters(_) => {
            reply_type::PARAMETERS
        }
        Command::Escape(_) => reply_type::ESCAPE,
    }
}

fn reply_data(reply: Reply) -> Result<Vec<u8>, Error> {
    match reply.body {
        ReplyBody::DataBlock { data, .. } => Ok(data),
        _ => Err(Error::UnexpectedReply {
            expected: reply_type::DATA_BLOCK,
            got: reply.message_type(),
        }),
    }
}

fn retry_at_other_voltage(error: &Error) -> bool {
    matches!(
        error,
        Error::CardMute
            | Error::Slot(
                SlotError::BadAtrTs
                    | SlotError::BadAtrTck
                    | SlotError::ClassNotSupported
                    | SlotError::ParityError
            )
    )
}

fn class_accepted(atr: &Atr, select: PowerSelect) -> bool {
    let classes = atr.classes();
    let class = match select {
        PowerSelect::Automatic => return true,
        PowerSelect::V5_0 => CardClass::A,
        PowerSelect::V3_0 => CardClass::B,
        PowerSelect::V1_8 => CardClass::C,
    };
    classes.is_empty() || classes.contains(&class)
}

/// Reads the whole configuration descriptor: its first nine bytes give `wTotalLength`.
async fn read_configuration<T: UsbTransport>(transport: &mut T) -> Result<Vec<u8>, Error> {
    let setup = control::get_configuration_descriptor(0);
    let head = transport.control_in(setup, 9).await?;
    let Some(&[length_lo, length_hi]) = head.get(2..4) else {
        return Err(descriptor::DescriptorError::Malformed {
            offset: 0,
            reason: "the configuration descriptor is shorter than its header",
        }
        .into());
    };
    let total = u16::from_le_bytes([length_lo, length_hi]);
    if usize::from(total) <= head.len() {
        return Ok(head);
    }
    Ok(transport.control_in(setup, total).await?)
}

/// GET_DATA_RATES, when the reader lists its rates; many readers refuse it, which is fine.
async fn read_data_rates<T: UsbTransport>(
    transport: &mut T,
    interface: &CcidInterface,
) -> Vec<u32> {
    let count = interface.descriptor.num_data_rates_supported;
    if count == 0 {
        return Vec::new();
    }
    let setup = control::get_data_rates(interface.interface_number);
    match transport.control_in(setup, u16::from(count) * 4).await {
        Ok(bytes) => bytes
            .chunks_exact(4)
            .filter_map(|rate| <[u8; 4]>::try_from(rate).ok())
            .map(u32::from_le_bytes)
            .collect(),
        Err(error) => {
            tracing::debug!(%error, "GET_DATA_RATES refused; using dwMaxDataRate alone");
            Vec::new()
        }
    }
}

/// The first interface this driver can drive; else the reason the first one cannot be.
fn choose_interface(interfaces: Vec<CcidInterface>) -> Result<CcidInterface, Error> {
    let unusable = |interface: &CcidInterface| -> Option<Error> {
        match interface.interface_protocol {
            0 => {}
            1 => return Some(Error::IccdNotSupported('A')),
            2 => return Some(Error::IccdNotSupported('B')),
            other => return Some(Error::UnknownInterfaceProtocol(other)),
        }
        (interface.descriptor.exchange_level() == ExchangeLevel::Character)
            .then_some(Error::CharacterLevelReader)
    };
    let mut first_error = None;
    for interface in interfaces {
        match unusable(&interface) {
            None => return Ok(interface),
            Some(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(Error::Descriptor(
        descriptor::DescriptorError::NoCcidInterface,
    )))
}
