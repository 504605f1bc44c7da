//! A simulated CCID reader behind the same [`UsbTransport`] as real hardware (feature `sim`).
//!
//! The model is configured like a real reader — by its class descriptor (exchange level,
//! message size, protocols, automatic features), its wire dialect, its interface class and
//! endpoints — and hosts any card implementing [`IccCard`]. At TPDU level it runs the card's side
//! of T=1 and T=0 itself, so the driver's block and procedure handling is really exercised.
//! Time is virtual: a reply that never comes is a timeout at once.
//!
//! ```
//! use ccid::sim::{SimReader, SimReaderConfig, TestCard};
//!
//! let device = SimReader::new(SimReaderConfig::ez100pu());
//! device.insert(Box::new(TestCard::second_generation_atr()));
//! let transport = device.transport(); // hand this to `ccid::Reader::open`
//! # let _ = transport;
//! ```

mod device;
mod t0_card;
mod test_card;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

pub use crate::t1::card::CardFault;
pub use test_card::{pattern_byte, TestCard, PATTERN_FILE_SIZE, TEST_PIN};

use crate::descriptor::CcidClassDescriptor;
use crate::message::Command;
use crate::quirks::{self, Dialect};
use crate::transport::{ControlSetup, TransportError, UsbDeviceInfo, UsbTransport};
use device::Device;

/// A card the simulated reader can hold: its ATR and its APDU processing.
pub trait IccCard {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// A reset (power on) ends every session state the card keeps (PIN verified, selection).
    fn reset(&mut self) {}
    /// Processes one complete command APDU and returns the response APDU (data, SW1-SW2).
    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8>;
}

/// A misbehaviour of the reader itself, applied to its next reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderFault {
    /// Never answer the next command (the driver times out and aborts).
    NoReply,
    /// Answer with these bytes instead.
    Garbage(Vec<u8>),
    /// Answer with the reply cut short by this many bytes.
    Truncate(usize),
    /// Answer with another sequence number.
    WrongSequence,
    /// Answer for another slot.
    WrongSlot,
    /// Answer with a `dwLength` of 0x7FFFFFFF.
    AbsurdLength,
    /// Answer with a SlotStatus whatever the command.
    WrongMessageType,
}

/// How the simulated reader is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReaderConfig {
    /// What its device descriptor says.
    pub device: UsbDeviceInfo,
    /// `bInterfaceClass` (0x0B standard, 0xFF vendor, 0x00 for the EZ100PU).
    pub interface_class: u8,
    /// The class descriptor the device behaves by.
    pub descriptor: CcidClassDescriptor,
    /// Whether the configuration descriptor carries the class descriptor (the EZ100PU's does
    /// not; the driver's quirk table supplies it).
    pub publishes_class_descriptor: bool,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Bytes sent before the ATR in the power-on answer (the EZ100PU's 0x00).
    pub atr_prefix: Vec<u8>,
    /// Whether it has an interrupt-IN endpoint for slot-change notifications.
    pub interrupt_endpoint: bool,
    /// wMaxPacketSize of the bulk endpoints.
    pub packet_size: u16,
    /// Bulk-IN transfers return at most this many bytes, and bulk-OUT transfers longer than it
    /// stall (readers that move one packet per transfer).
    pub transfer_limit: Option<usize>,
    /// Time-extension replies sent before each answer that involves the card.
    pub time_extensions: u8,
    /// Rates answered to GET_DATA_RATES (empty: the request stalls).
    pub data_rates: Vec<u32>,
}

fn base_descriptor(features: u32) -> CcidClassDescriptor {
    CcidClassDescriptor {
        bcd_ccid: 0x0110,
        max_slot_index: 0,
        voltage_support: 0x07,
        protocols: 0x03,
        default_clock_khz: 4000,
        maximum_clock_khz: 12000,
        num_clock_supported: 0,
        data_rate: 10752,
        max_data_rate: 344086,
        num_data_rates_supported: 0,
        max_ifsd: 254,
        synch_protocols: 0,
        mechanical: 0,
        features,
        max_ccid_message_length: 271,
        class_get_response: 0xFF,
        class_envelope: 0xFF,
        lcd_layout: 0,
        pin_support: 0,
        max_ccid_busy_slots: 1,
    }
}

impl SimReaderConfig {
    fn standard(product_id: u16, descriptor: CcidClassDescriptor) -> SimReaderConfig {
        SimReaderConfig {
            device: UsbDeviceInfo {
                vendor_id: 0xF1D0,
                product_id,
                bcd_device: 0x0100,
            },
            interface_class: 0x0B,
            descriptor,
            publishes_class_descriptor: true,
            dialect: Dialect::Standard,
            atr_prefix: Vec::new(),
            interrupt_endpoint: true,
            packet_size: 64,
            transfer_limit: None,
            time_extensions: 0,
            data_rates: Vec::new(),
        }
    }

    /// A short and extended APDU reader that does everything itself, with a small message size
    /// so long APDUs and responses chain over `wLevelParameter`.
    pub fn extended_apdu() -> SimReaderConfig {
        let mut descriptor = base_descriptor(0x0004_00FE);
        descriptor.max_ccid_message_length = 271;
        SimReaderConfig::standard(0x0001, descriptor)
    }

    /// A short APDU reader that does everything itself.
    pub fn short_apdu() -> SimReaderConfig {
        SimReaderConfig::standard(0x0002, base_descriptor(0x0002_00BE))
    }

    /// A TPDU reader for T=0 and T=1 that leaves PPS, parameters and the IFSD exchange to the
    /// host (clock and rate follow SetParameters).
    pub fn tpdu() -> SimReaderConfig {
        SimReaderConfig::standard(0x0003, base_descriptor(0x0001_0030))
    }

    /// A TPDU reader that makes the PPS itself when given parameters, configures itself from
    /// the ATR, and announces the IFSD itself.
    pub fn tpdu_automatic() -> SimReaderConfig {
        SimReaderConfig::standard(0x0004, base_descriptor(0x0001_04BA))
    }

    /// The Castles EZ100PU: interface class 0x00 without class descriptor, big-endian lengths,
    /// a 0x00 before the ATR, 16-byte transfers, TPDU level with nothing automatic, 115200 bps
    /// at most.
    pub fn ez100pu() -> SimReaderConfig {
        let (vendor_id, product_id) = (0x0CA6, 0x0010);
        // The device behaves as the descriptor the driver's quirk row supplies for it.
        let descriptor = quirks::EZ100PU_DESCRIPTOR;
        SimReaderConfig {
            device: UsbDeviceInfo {
                vendor_id,
                product_id,
                bcd_device: 0x0100,
            },
            interface_class: 0x00,
            descriptor,
            publishes_class_descriptor: false,
            dialect: Dialect::Ez100pu,
            atr_prefix: vec![0x00],
            interrupt_endpoint: true,
            packet_size: 16,
            transfer_limit: Some(16),
            time_extensions: 0,
            data_rates: Vec::new(),
        }
    }

    /// A reader that works at character level (which the driver refuses).
    pub fn character_level() -> SimReaderConfig {
        SimReaderConfig::standard(0x0005, base_descriptor(0x0000_0030))
    }
}

/// A handle on a simulated reader: insert and remove cards, inject faults, and hand out
/// transports. Handles and transports share the one device.
#[derive(Clone)]
pub struct SimReader {
    device: Rc<RefCell<Device>>,
}

impl std::fmt::Debug for SimReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimReader").finish_non_exhaustive()
    }
}

impl SimReader {
    /// A reader with an empty slot.
    pub fn new(config: SimReaderConfig) -> SimReader {
        SimReader {
            device: Rc::new(RefCell::new(Device::new(config))),
        }
    }

    /// A transport to this reader, for `ccid::Reader::open`.
    pub fn transport(&self) -> SimTransport {
        SimTransport {
            device: Rc::clone(&self.device),
        }
    }

    /// Inserts a card (the reader notifies the change).
    pub fn insert(&self, card: Box<dyn IccCard>) {
        self.device.borrow_mut().insert(card);
    }

    /// Removes the card, returning it (the reader notifies the change).
    pub fn remove(&self) -> Option<Box<dyn IccCard>> {
        self.device.borrow_mut().remove()
    }

    /// Queues a fault for the card's side of T=1.
    pub fn inject_card_fault(&self, fault: CardFault) {
        self.device.borrow_mut().inject_card_fault(fault);
    }

    /// Queues a fault for the reader's next reply.
    pub fn inject_reader_fault(&self, fault: ReaderFault) {
        self.device.borrow_mut().faults.push_back(fault);
    }

    /// Makes the card vanish after this many more commands reach it (a card pulled out
    /// mid-exchange).
    pub fn remove_card_after(&self, commands: u32) {
        self.device.borrow_mut().remove_after = Some(commands);
    }

    /// Every command the reader received, in order.
    pub fn commands(&self) -> Vec<Command> {
        self.device.borrow().commands.clone()
    }

    /// The Fi/Di index the card runs at now.
    pub fn card_fi_di(&self) -> u8 {
        self.device.borrow().card_fi_di()
    }

    /// Runs `f` on the inserted card (e.g. to read a virtual card's state).
    pub fn with_card<R>(&self, f: impl FnOnce(&mut dyn IccCard) -> R) -> Option<R> {
        let mut device = self.device.borrow_mut();
        device.card_mut().map(f)
    }
}

/// The simulated reader's [`UsbTransport`].
pub struct SimTransport {
    device: Rc<RefCell<Device>>,
}

impl std::fmt::Debug for SimTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTransport").finish_non_exhaustive()
    }
}

impl UsbTransport for SimTransport {
    fn device_info(&self) -> UsbDeviceInfo {
        self.device.borrow().config.device
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        self.device.borrow_mut().claim(interface, alternate)
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        self.device.borrow_mut().control_in(setup, length)
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        self.device.borrow_mut().control_out(setup, data)
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        self.device.borrow_mut().bulk_out(endpoint, data)
    }

    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        _timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.device.borrow_mut().bulk_in(endpoint, max_length)
    }

    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        _timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.device.borrow_mut().interrupt_in(endpoint, max_length)
    }
}

/// Endpoint addresses the simulated device uses.
pub(crate) mod endpoints {
    pub const BULK_OUT: u8 = 0x02;
    pub const BULK_IN: u8 = 0x82;
    pub const INTERRUPT_IN: u8 = 0x83;
}

/// Messages waiting on an IN endpoint. A transfer never spans two messages: each ends with a
/// short packet on the wire.
#[derive(Debug, Default)]
pub(crate) struct InQueue {
    messages: VecDeque<Vec<u8>>,
}

impl InQueue {
    pub(crate) fn push(&mut self, message: Vec<u8>) {
        self.messages.push_back(message);
    }

    pub(crate) fn take(&mut self, max: usize) -> Option<Vec<u8>> {
        let front = self.messages.front_mut()?;
        if front.len() <= max {
            return self.messages.pop_front();
        }
        let rest = front.split_off(max);
        Some(std::mem::replace(front, rest))
    }
}
