//! The simulated device: USB endpoints, the CCID command processor, and the link between the
//! reader and the card (rate and protocol on each side, so a driver that skips PPS or sets the
//! wrong parameters finds a mute card, as on real hardware).

use std::collections::VecDeque;

use super::endpoints::{BULK_IN, BULK_OUT, INTERRUPT_IN};
use super::t0_card::T0Card;
use super::{IccCard, InQueue, ReaderFault, SimReaderConfig};
use crate::atr::Atr;
use crate::descriptor::ExchangeLevel;
use crate::message::{
    Command, CommandStatus, Header, IccStatus, MessageError, Notification, PowerSelect,
    ProtocolParameters, Reply, ReplyBody, SlotChange, SlotError, SlotState, HEADER_LENGTH,
};
use crate::pps::{self, PpsRequest, ReaderRates};
use crate::protocol::Protocol;
use crate::quirks::Dialect;
use crate::t1::card::{CardFault, T1Card};
use crate::transport::{ControlSetup, TransportError};

type Answer = Result<ReplyBody, SlotError>;

pub(crate) struct Device {
    pub(crate) config: SimReaderConfig,
    card: Option<Box<dyn IccCard>>,
    claimed: bool,
    powered: bool,
    atr: Option<Atr>,
    /// The rate and protocol the card runs at.
    card_fi_di: u8,
    card_protocol: Protocol,
    /// The rate and protocol the reader runs at (set by SetParameters).
    reader_fi_di: u8,
    reader_protocol: Protocol,
    reader_parameters: Option<ProtocolParameters>,
    /// A PPS is possible only as the first exchange after the ATR.
    pps_allowed: bool,
    t1: Option<T1Card>,
    t0: T0Card,
    pending_card_faults: Vec<CardFault>,
    /// Extended-APDU command chaining.
    command_chain: Vec<u8>,
    /// Response parts not yet fetched.
    response_chain: VecDeque<Vec<u8>>,
    out_buffer: Vec<u8>,
    bulk_in: InQueue,
    interrupt: VecDeque<Vec<u8>>,
    pub(crate) faults: VecDeque<ReaderFault>,
    pub(crate) remove_after: Option<u32>,
    pub(crate) commands: Vec<Command>,
}

impl Device {
    pub(crate) fn new(config: SimReaderConfig) -> Device {
        Device {
            config,
            card: None,
            claimed: false,
            powered: false,
            atr: None,
            card_fi_di: pps::DEFAULT_FI_DI,
            card_protocol: Protocol::T0,
            reader_fi_di: pps::DEFAULT_FI_DI,
            reader_protocol: Protocol::T0,
            reader_parameters: None,
            pps_allowed: false,
            t1: None,
            t0: T0Card::default(),
            pending_card_faults: Vec::new(),
            command_chain: Vec::new(),
            response_chain: VecDeque::new(),
            out_buffer: Vec::new(),
            bulk_in: InQueue::default(),
            interrupt: VecDeque::new(),
            faults: VecDeque::new(),
            remove_after: None,
            commands: Vec::new(),
        }
    }

    pub(crate) fn card_fi_di(&self) -> u8 {
        self.card_fi_di
    }

    pub(crate) fn card_mut(&mut self) -> Option<&mut dyn IccCard> {
        match &mut self.card {
            Some(card) => Some(card.as_mut()),
            None => None,
        }
    }

    pub(crate) fn insert(&mut self, card: Box<dyn IccCard>) {
        self.deactivate();
        self.card = Some(card);
        self.notify(true);
    }

    pub(crate) fn remove(&mut self) -> Option<Box<dyn IccCard>> {
        self.deactivate();
        let card = self.card.take();
        if card.is_some() {
            self.notify(false);
        }
        card
    }

    pub(crate) fn inject_card_fault(&mut self, fault: CardFault) {
        match &mut self.t1 {
            Some(t1) => t1.inject(fault),
            None => self.pending_card_faults.push(fault),
        }
    }

    fn notify(&mut self, present: bool) {
        if self.config.interrupt_endpoint {
            let change = SlotChange {
                present,
                changed: true,
            };
            self.interrupt
                .push_back(Notification::SlotChange(vec![change]).encode());
        }
    }

    fn deactivate(&mut self) {
        self.powered = false;
        self.atr = None;
        self.t1 = None;
        self.t0 = T0Card::default();
        self.pps_allowed = false;
        self.command_chain.clear();
        self.response_chain.clear();
    }

    pub(crate) fn claim(&mut self, interface: u8, alternate: u8) -> Result<(), TransportError> {
        if interface != 0 || alternate != 0 {
            return Err(TransportError::Other(format!(
                "the device has no interface {interface} alternate {alternate}"
            )));
        }
        self.claimed = true;
        Ok(())
    }

    pub(crate) fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        let mut data = match (setup.request_type, setup.request, setup.value) {
            (0x80, 0x06, 0x0200) => self.configuration_descriptor(),
            (0xA1, 0x03, _) if !self.config.data_rates.is_empty() => self
                .config
                .data_rates
                .iter()
                .flat_map(|rate| rate.to_le_bytes())
                .collect(),
            _ => return Err(TransportError::Stall),
        };
        data.truncate(usize::from(length));
        Ok(data)
    }

    pub(crate) fn control_out(
        &mut self,
        setup: ControlSetup,
        _data: &[u8],
    ) -> Result<(), TransportError> {
        match (setup.request_type, setup.request) {
            // ABORT: the PC_to_RDR_Abort that follows finishes it.
            (0x21, 0x01) => Ok(()),
            _ => Err(TransportError::Stall),
        }
    }

    pub(crate) fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        if endpoint != BULK_OUT {
            return Err(TransportError::Stall);
        }
        if !self.claimed {
            return Err(TransportError::Other("the interface is not claimed".into()));
        }
        if self
            .config
            .transfer_limit
            .is_some_and(|limit| data.len() > limit)
        {
            return Err(TransportError::Stall);
        }
        self.out_buffer.extend_from_slice(data);
        while self.out_buffer.len() >= HEADER_LENGTH {
            let length = match Header::decode(&self.out_buffer, self.config.dialect) {
                Ok(header) => header.message_length(),
                Err(_) => {
                    // A reader resynchronises on garbage by dropping it.
                    self.out_buffer.clear();
                    break;
                }
            };
            if self.out_buffer.len() < length {
                break;
            }
            let rest = self.out_buffer.split_off(length);
            let message = std::mem::replace(&mut self.out_buffer, rest);
            self.process(&message);
        }
        Ok(())
    }

    pub(crate) fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
    ) -> Result<Vec<u8>, TransportError> {
        if endpoint != BULK_IN {
            return Err(TransportError::Stall);
        }
        let limit = self
            .config
            .transfer_limit
            .map_or(max_length, |limit| limit.min(max_length));
        self.bulk_in.take(limit).ok_or(TransportError::Timeout)
    }

    pub(crate) fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
    ) -> Result<Vec<u8>, TransportError> {
        if endpoint != INTERRUPT_IN || !self.config.interrupt_endpoint {
            return Err(TransportError::Stall);
        }
        let mut message = self.interrupt.pop_front().ok_or(TransportError::Timeout)?;
        message.truncate(max_length);
        Ok(message)
    }

    fn configuration_descriptor(&self) -> Vec<u8> {
        let endpoints: u8 = if self.config.interrupt_endpoint { 3 } else { 2 };
        let [packet_lo, packet_hi] = self.config.packet_size.to_le_bytes();
        let mut bytes = vec![0x09, 0x02, 0, 0, 1, 1, 0, 0x80, 50];
        bytes.extend_from_slice(&[
            0x09,
            0x04,
            0,
            0,
            endpoints,
            self.config.interface_class,
            0,
            0,
            0,
        ]);
        if self.config.publishes_class_descriptor {
            bytes.extend_from_slice(&self.config.descriptor.to_bytes());
        }
        bytes.extend_from_slice(&[0x07, 0x05, BULK_OUT, 0x02, packet_lo, packet_hi, 0]);
        bytes.extend_from_slice(&[0x07, 0x05, BULK_IN, 0x02, packet_lo, packet_hi, 0]);
        if self.config.interrupt_endpoint {
            bytes.extend_from_slice(&[0x07, 0x05, INTERRUPT_IN, 0x03, 8, 0, 0x10]);
        }
        let total = u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes();
        bytes[2] = total[0];
        bytes[3] = total[1];
        bytes
    }

    fn icc_status(&self) -> IccStatus {
        match (&self.card, self.powered) {
            (None, _) => IccStatus::Absent,
            (Some(_), true) => IccStatus::Active,
            (Some(_), false) => IccStatus::Inactive,
        }
    }

    fn process(&mut self, message: &[u8]) {
        let dialect = self.config.dialect;
        let (slot, seq, command) = match Command::decode(message, dialect) {
            Ok(decoded) => decoded,
            Err(error) => {
                let (slot, seq) = match Header::decode(message, dialect) {
                    Ok(header) => (header.slot, header.seq),
                    Err(_) => return,
                };
                let code = match error {
                    MessageError::UnknownMessageType(_) => SlotError::CommandNotSupported,
                    _ => SlotError::BadParameter(7),
                };
                let reply = self.reply(
                    slot,
                    seq,
                    Err(code),
                    ReplyBody::SlotStatus { clock_status: 0 },
                );
                self.send(reply);
                return;
            }
        };
        self.commands.push(command.clone());
        if slot > self.config.descriptor.max_slot_index {
            let reply = self.reply(
                slot,
                seq,
                Err(SlotError::BadParameter(5)),
                ReplyBody::SlotStatus { clock_status: 0 },
            );
            self.send(reply);
            return;
        }
        let reaches_card = matches!(command, Command::IccPowerOn(_) | Command::XfrBlock { .. });
        if reaches_card {
            match self.remove_after {
                Some(0) => {
                    self.remove_after = None;
                    self.remove();
                }
                Some(n) => self.remove_after = Some(n - 1),
                None => {}
            }
            for _ in 0..self.config.time_extensions {
                let extension = Reply {
                    slot,
                    seq,
                    state: SlotState {
                        icc: self.icc_status(),
                        command: CommandStatus::TimeExtension,
                    },
                    error: 1,
                    body: ReplyBody::DataBlock {
                        chain: 0,
                        data: Vec::new(),
                    },
                };
                self.send(extension);
            }
        }
        let (answer, fallback) = match command {
            Command::IccPowerOn(select) => (self.power_on(select), data_block(Vec::new())),
            Command::IccPowerOff => {
                self.deactivate();
                (Ok(ReplyBody::SlotStatus { clock_status: 0 }), status())
            }
            Command::GetSlotStatus | Command::Abort => {
                (Ok(ReplyBody::SlotStatus { clock_status: 0 }), status())
            }
            Command::XfrBlock { level, data, .. } => {
                (self.xfr_block(level, &data), data_block(Vec::new()))
            }
            Command::GetParameters => (
                Ok(ReplyBody::Parameters(Some(self.current_parameters()))),
                ReplyBody::Parameters(None),
            ),
            Command::ResetParameters => {
                self.reader_parameters = None;
                self.reader_fi_di = pps::DEFAULT_FI_DI;
                (
                    Ok(ReplyBody::Parameters(Some(self.current_parameters()))),
                    ReplyBody::Parameters(None),
                )
            }
            Command::SetParameters(parameters) => {
                (self.set_parameters(parameters), ReplyBody::Parameters(None))
            }
            Command::Escape(data) => (Ok(ReplyBody::Escape(data)), ReplyBody::Escape(Vec::new())),
            Command::Secure { .. } => (Err(SlotError::CommandNotSupported), data_block(Vec::new())),
        };
        let reply = self.reply(slot, seq, answer, fallback);
        self.send(reply);
    }

    fn reply(&self, slot: u8, seq: u8, answer: Answer, fallback: ReplyBody) -> Reply {
        let icc = self.icc_status();
        match answer {
            Ok(body) => Reply {
                slot,
                seq,
                state: SlotState {
                    icc,
                    command: CommandStatus::Ok,
                },
                error: 0,
                body,
            },
            Err(error) => Reply {
                slot,
                seq,
                state: SlotState {
                    icc,
                    command: CommandStatus::Failed,
                },
                error: error.to_byte(),
                body: fallback,
            },
        }
    }

    /// Queues a reply, after applying the next reader fault to it.
    fn send(&mut self, mut reply: Reply) {
        let dialect = self.config.dialect;
        let fault = if reply.state.command == CommandStatus::TimeExtension {
            None
        } else {
            self.faults.pop_front()
        };
        let bytes = match fault {
            None => reply.encode(dialect),
            Some(ReaderFault::NoReply) => return,
            Some(ReaderFault::Garbage(bytes)) => bytes,
            Some(ReaderFault::Truncate(cut)) => {
                let mut bytes = reply.encode(dialect);
                bytes.truncate(bytes.len().saturating_sub(cut));
                bytes
            }
            Some(ReaderFault::WrongSequence) => {
                reply.seq = reply.seq.wrapping_add(1);
                reply.encode(dialect)
            }
            Some(ReaderFault::WrongSlot) => {
                reply.slot = reply.slot.wrapping_add(1);
                reply.encode(dialect)
            }
            Some(ReaderFault::AbsurdLength) => {
                let mut bytes = reply.encode(dialect);
                let length = match dialect {
                    Dialect::Standard => 0x7FFF_FFFFu32.to_le_bytes(),
                    Dialect::Ez100pu => 0x7FFF_FFFFu32.to_be_bytes(),
                };
                if let Some(field) = bytes.get_mut(1..5) {
                    field.copy_from_slice(&length);
                }
                bytes
            }
            Some(ReaderFault::WrongMessageType) => {
                reply.body = ReplyBody::SlotStatus { clock_status: 0 };
                reply.encode(dialect)
            }
        };
        self.bulk_in.push(bytes);
    }

    fn rates(&self) -> ReaderRates {
        ReaderRates {
            clock_khz: self.config.descriptor.default_clock_khz,
            max_data_rate: self.config.descriptor.max_data_rate,
            data_rates: self.config.data_rates.clone(),
        }
    }

    fn power_on(&mut self, _select: PowerSelect) -> Answer {
        let Some(card) = &mut self.card else {
            return Err(SlotError::IccMute);
        };
        card.reset();
        let atr_bytes = card.atr();
        self.deactivate();
        self.powered = true;
        self.pps_allowed = true;
        self.card_fi_di = pps::DEFAULT_FI_DI;
        self.reader_fi_di = pps::DEFAULT_FI_DI;
        self.reader_parameters = None;
        let atr = Atr::parse(&atr_bytes).ok();
        // A card defaulting to a protocol the simulator does not run is treated as T=0.
        let protocol = atr
            .as_ref()
            .and_then(|atr| Protocol::from_number(atr.default_protocol()))
            .unwrap_or(Protocol::T0);
        self.card_protocol = protocol;
        self.reader_protocol = protocol;
        self.atr = atr;
        let automatic = self.config.descriptor.automatic();
        if automatic.negotiation {
            self.negotiate_by_reader();
        }
        self.start_card_link();
        let mut data = self.config.atr_prefix.clone();
        data.extend_from_slice(&atr_bytes);
        Ok(data_block(data))
    }

    /// A reader with automatic negotiation makes the PPS itself right after the ATR.
    fn negotiate_by_reader(&mut self) {
        let Some(atr) = &self.atr else { return };
        if atr.specific_mode().is_some() {
            return;
        }
        let descriptor = &self.config.descriptor;
        let protocol = if atr.offers(Protocol::T1) && descriptor.supports_t1() {
            Protocol::T1
        } else {
            Protocol::T0
        };
        let fi_di = pps::select_fi_di(atr.fi_di_index(), &self.rates());
        if self.card_accepts(protocol, fi_di) {
            self.card_protocol = protocol;
            self.reader_protocol = protocol;
            self.card_fi_di = fi_di;
            self.reader_fi_di = fi_di;
            self.pps_allowed = false;
        }
    }

    fn start_card_link(&mut self) {
        self.t1 = None;
        self.t0 = T0Card::default();
        if self.card_protocol == Protocol::T1 {
            let (ifsc, edc) = self
                .atr
                .as_ref()
                .map_or((32, Default::default()), |atr| (atr.ifsc(), atr.t1_edc()));
            let mut t1 = T1Card::new(ifsc, edc);
            for fault in self.pending_card_faults.drain(..) {
                t1.inject(fault);
            }
            self.t1 = Some(t1);
        }
    }

    /// Whether the card agrees to run `protocol` at `fi_di`: a protocol it offers, and a rate
    /// with its own Fi and a Di no faster than its TA1's.
    fn card_accepts(&self, protocol: Protocol, fi_di: u8) -> bool {
        let Some(atr) = &self.atr else { return false };
        if !atr.offers(protocol) {
            return false;
        }
        if fi_di == pps::DEFAULT_FI_DI {
            return true;
        }
        let card = atr.fi_di_index();
        let di = crate::atr::di_from_index(fi_di & 0x0F);
        let card_di = crate::atr::di_from_index(card & 0x0F);
        fi_di >> 4 == card >> 4 && matches!((di, card_di), (Some(d), Some(c)) if d <= c)
    }

    fn current_parameters(&self) -> ProtocolParameters {
        if let Some(parameters) = self.reader_parameters {
            return parameters;
        }
        let atr = self.atr.as_ref();
        if self.reader_protocol == Protocol::T1 {
            ProtocolParameters::T1 {
                fi_di: self.reader_fi_di,
                tcckst: 0x10,
                guard_time: atr.map_or(0, Atr::extra_guard_time),
                waiting_integers: atr.map_or(0x4D, |atr| atr.bwi() << 4 | atr.cwi()),
                clock_stop: 0,
                ifsc: atr.map_or(32, Atr::ifsc),
                nad: 0,
            }
        } else {
            ProtocolParameters::T0 {
                fi_di: self.reader_fi_di,
                tcckst: 0,
                guard_time: atr.map_or(0, Atr::extra_guard_time),
                waiting_integer: atr.map_or(10, Atr::t0_wi),
                clock_stop: 0,
            }
        }
    }

    fn set_parameters(&mut self, parameters: ProtocolParameters) -> Answer {
        if self.card.is_none() {
            return Err(SlotError::IccMute);
        }
        let descriptor = &self.config.descriptor;
        let protocol = parameters.protocol();
        let supported = match protocol {
            Protocol::T0 => descriptor.supports_t0(),
            Protocol::T1 => descriptor.supports_t1(),
        };
        if !supported {
            return Err(SlotError::BadParameter(7));
        }
        let fi_di = parameters.fi_di();
        let clock = descriptor.default_clock_khz;
        let runs = fi_di == pps::DEFAULT_FI_DI
            || pps::baud_rate(fi_di, clock).is_some_and(|rate| self.rates().runs(rate));
        if !runs {
            return Err(SlotError::BadParameter(10));
        }
        let card_differs = fi_di != self.card_fi_di || protocol != self.card_protocol;
        if descriptor.automatic().pps && self.powered && card_differs {
            if !(self.pps_allowed && self.card_accepts(protocol, fi_di)) {
                return Err(SlotError::IccMute);
            }
            self.card_fi_di = fi_di;
            if protocol != self.card_protocol {
                self.card_protocol = protocol;
                self.start_card_link();
            }
            self.pps_allowed = false;
        }
        self.reader_fi_di = fi_di;
        self.reader_protocol = protocol;
        self.reader_parameters = Some(parameters);
        Ok(ReplyBody::Parameters(Some(parameters)))
    }

    fn xfr_block(&mut self, level: u16, data: &[u8]) -> Answer {
        if self.card.is_none() || !self.powered {
            return Err(SlotError::IccMute);
        }
        match self.config.descriptor.exchange_level() {
            ExchangeLevel::Character => Err(SlotError::CommandNotSupported),
            ExchangeLevel::Tpdu => self.tpdu(data).map(data_block),
            ExchangeLevel::ShortApdu => {
                match crate::apdu::CommandApdu::parse(data) {
                    Ok(apdu) if !apdu.extended => {}
                    _ => return Err(SlotError::BadParameter(10)),
                }
                let response = self.card_apdu(data)?;
                Ok(data_block(response))
            }
            ExchangeLevel::ExtendedApdu => self.extended_apdu(level, data),
        }
    }

    fn card_apdu(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SlotError> {
        let card = self.card.as_mut().ok_or(SlotError::IccMute)?;
        Ok(card.process_apdu(apdu))
    }

    fn tpdu(&mut self, data: &[u8]) -> Result<Vec<u8>, SlotError> {
        if std::mem::take(&mut self.pps_allowed) && data.first() == Some(&pps::PPSS) {
            return self.pps(data);
        }
        if self.reader_fi_di != self.card_fi_di || self.reader_protocol != self.card_protocol {
            // Reader and card talk past each other: the card hears noise and stays silent.
            return Err(SlotError::IccMute);
        }
        let card = self.card.as_mut().ok_or(SlotError::IccMute)?;
        let answer = if self.card_protocol == Protocol::T1 {
            let t1 = self.t1.as_mut().ok_or(SlotError::IccMute)?;
            t1.on_block(data, &mut |apdu| card.process_apdu(apdu))
        } else {
            self.t0.on_tpdu(data, card.as_mut())
        };
        answer.ok_or(SlotError::IccMute)
    }

    /// The card's side of PPS: echo what it accepts; answer without PPS1 (default rate) when it
    /// cannot run the rate asked; silence on garbage.
    fn pps(&mut self, data: &[u8]) -> Result<Vec<u8>, SlotError> {
        let request = PpsRequest::parse(data).map_err(|_| SlotError::IccMute)?;
        let fi_di = request.fi_di.unwrap_or(pps::DEFAULT_FI_DI);
        if !self.card_accepts(request.protocol, pps::DEFAULT_FI_DI) {
            return Err(SlotError::IccMute);
        }
        let answer = if self.card_accepts(request.protocol, fi_di) {
            self.card_fi_di = fi_di;
            request
        } else {
            PpsRequest {
                fi_di: None,
                ..request
            }
        };
        if request.protocol != self.card_protocol {
            self.card_protocol = request.protocol;
            self.start_card_link();
        }
        Ok(answer.to_bytes())
    }

    fn extended_apdu(&mut self, level: u16, data: &[u8]) -> Answer {
        match level {
            0x0000 => {
                self.command_chain.clear();
                let response = self.card_apdu(data)?;
                Ok(self.start_response(response))
            }
            0x0001 | 0x0003 => {
                if level == 0x0001 {
                    self.command_chain.clear();
                }
                self.command_chain.extend_from_slice(data);
                Ok(ReplyBody::DataBlock {
                    chain: 0x10,
                    data: Vec::new(),
                })
            }
            0x0002 => {
                self.command_chain.extend_from_slice(data);
                let apdu = std::mem::take(&mut self.command_chain);
                let response = self.card_apdu(&apdu)?;
                Ok(self.start_response(response))
            }
            0x0010 => {
                let part = self
                    .response_chain
                    .pop_front()
                    .ok_or(SlotError::BadParameter(8))?;
                let chain = if self.response_chain.is_empty() {
                    0x02
                } else {
                    0x03
                };
                Ok(ReplyBody::DataBlock { chain, data: part })
            }
            _ => Err(SlotError::BadParameter(8)),
        }
    }

    fn start_response(&mut self, response: Vec<u8>) -> ReplyBody {
        let room = self
            .config
            .descriptor
            .max_message_length()
            .saturating_sub(HEADER_LENGTH)
            .max(1);
        if response.len() <= room {
            return data_block(response);
        }
        let mut parts: VecDeque<Vec<u8>> = response.chunks(room).map(<[u8]>::to_vec).collect();
        let first = parts.pop_front().unwrap_or_default();
        self.response_chain = parts;
        ReplyBody::DataBlock {
            chain: 0x01,
            data: first,
        }
    }
}

fn data_block(data: Vec<u8>) -> ReplyBody {
    ReplyBody::DataBlock { chain: 0, data }
}

fn status() -> ReplyBody {
    ReplyBody::SlotStatus { clock_status: 0 }
}
