//! Finding the reader: the USB configuration descriptor, the CCID interface in it, and the CCID
//! class descriptor (CCID 1.1 §5.1) with what follows from it.
//!
//! SKELETON: bodies are filled in by the descriptor work; signatures are the contract.

use crate::quirks::{Dialect, ReaderQuirk};
use crate::transport::UsbDeviceInfo;

/// `bDescriptorType` of the CCID class descriptor.
pub const CCID_DESCRIPTOR_TYPE: u8 = 0x21;
/// Length of the CCID class descriptor.
pub const CCID_DESCRIPTOR_LENGTH: usize = 54;

/// How much of the protocol the reader handles (`dwFeatures` bits 16..18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeLevel {
    /// The host drives every character: not supported by this driver.
    Character,
    /// The host runs T=0/T=1; the reader moves TPDUs.
    Tpdu,
    /// The reader takes short APDUs.
    ShortApdu,
    /// The reader takes short and extended APDUs.
    ExtendedApdu,
}

/// What the reader does by itself (`dwFeatures` low bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutomaticFeatures {
    /// 0x02: parameters configured from the ATR.
    pub parameters_from_atr: bool,
    /// 0x04: activates the card when inserted.
    pub activation: bool,
    /// 0x08: selects the voltage.
    pub voltage: bool,
    /// 0x10: changes the clock according to parameters.
    pub clock: bool,
    /// 0x20: changes the baud rate according to Fi/Di.
    pub baud_rate: bool,
    /// 0x40: negotiates parameters itself.
    pub negotiation: bool,
    /// 0x80: makes the PPS itself.
    pub pps: bool,
    /// 0x400: sends the T=1 IFSD request itself as the first exchange.
    pub ifsd_exchange: bool,
}

/// PIN-pad capabilities (`bPINSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinSupport {
    /// Bit 0: PIN verification.
    pub verify: bool,
    /// Bit 1: PIN modification.
    pub modify: bool,
}

/// Card voltages (`bVoltageSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Voltage {
    /// 1.8 V (bit 2), `bPowerSelect` 3.
    V1_8,
    /// 3.0 V (bit 1), `bPowerSelect` 2.
    V3_0,
    /// 5.0 V (bit 0), `bPowerSelect` 1.
    V5_0,
}

/// The CCID class descriptor, every field as the specification names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CcidClassDescriptor {
    pub bcd_ccid: u16,
    pub max_slot_index: u8,
    pub voltage_support: u8,
    pub protocols: u32,
    pub default_clock_khz: u32,
    pub maximum_clock_khz: u32,
    pub num_clock_supported: u8,
    pub data_rate: u32,
    pub max_data_rate: u32,
    pub num_data_rates_supported: u8,
    pub max_ifsd: u32,
    pub synch_protocols: u32,
    pub mechanical: u32,
    pub features: u32,
    pub max_ccid_message_length: u32,
    pub class_get_response: u8,
    pub class_envelope: u8,
    pub lcd_layout: u16,
    pub pin_support: u8,
    pub max_ccid_busy_slots: u8,
}

/// Why descriptor bytes could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    /// A descriptor's bLength runs past the end, or is below 2.
    #[error("descriptor at offset {offset} is malformed: {reason}")]
    Malformed {
        /// Byte offset in the configuration descriptor.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The class descriptor is not 54 bytes of type 0x21.
    #[error("the CCID class descriptor is {length} bytes of type 0x{descriptor_type:02X}; expected 54 bytes of type 0x21")]
    BadClassDescriptor {
        /// Its bLength.
        length: usize,
        /// Its bDescriptorType.
        descriptor_type: u8,
    },
    /// No interface in the configuration is a CCID reader this driver knows.
    #[error("the device has no CCID interface")]
    NoCcidInterface,
    /// A CCID interface lacks its bulk-IN or bulk-OUT endpoint.
    #[error("CCID interface {interface} has no bulk {direction} endpoint")]
    MissingEndpoint {
        /// bInterfaceNumber.
        interface: u8,
        /// "IN" or "OUT".
        direction: &'static str,
    },
}

/// How the driver learned this interface is a CCID reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceKind {
    /// Interface class 0x0B with its class descriptor.
    SmartCardClass,
    /// Vendor class 0xFF carrying a 54-byte CCID class descriptor.
    VendorClass,
    /// A reader the quirk table knows, whose descriptor the table supplies.
    Quirk,
}

/// A CCID interface found in a configuration descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcidInterface {
    /// bInterfaceNumber.
    pub interface_number: u8,
    /// bAlternateSetting.
    pub alternate_setting: u8,
    /// bInterfaceClass (0x0B, 0xFF, or what a quirk row accepts).
    pub interface_class: u8,
    /// bInterfaceSubClass.
    pub interface_subclass: u8,
    /// bInterfaceProtocol: 0 CCID (bulk), 1 ICCD version A, 2 ICCD version B.
    pub interface_protocol: u8,
    /// Bulk-IN endpoint address.
    pub bulk_in: u8,
    /// Bulk-OUT endpoint address.
    pub bulk_out: u8,
    /// Interrupt-IN endpoint address, if any.
    pub interrupt_in: Option<u8>,
    /// wMaxPacketSize of the bulk-IN endpoint.
    pub bulk_in_packet_size: u16,
    /// wMaxPacketSize of the bulk-OUT endpoint.
    pub bulk_out_packet_size: u16,
    /// How it was recognised.
    pub kind: InterfaceKind,
    /// Its class descriptor (from the device, or supplied by a quirk row).
    pub descriptor: CcidClassDescriptor,
    /// The quirk-table row that matched the device, if any.
    pub quirk: Option<&'static ReaderQuirk>,
}

impl CcidInterface {
    /// The wire dialect to speak (a quirk's, else standard).
    pub fn dialect(&self) -> Dialect {
        self.quirk.map_or(Dialect::Standard, |q| q.dialect)
    }
}

impl CcidClassDescriptor {
    /// Parses the 54 bytes of a class descriptor (bLength and bDescriptorType included).
    pub fn parse(bytes: &[u8]) -> Result<CcidClassDescriptor, DescriptorError> {
        let _ = bytes;
        todo!()
    }

    /// The 54 bytes of this descriptor.
    pub fn to_bytes(&self) -> [u8; CCID_DESCRIPTOR_LENGTH] {
        todo!()
    }

    /// Exchange level from `dwFeatures`. A value with no level bit set reads as character level.
    pub fn exchange_level(&self) -> ExchangeLevel {
        todo!()
    }

    /// Automatic features from `dwFeatures`.
    pub fn automatic(&self) -> AutomaticFeatures {
        todo!()
    }

    /// Number of slots (`bMaxSlotIndex` + 1).
    pub fn slot_count(&self) -> u16 {
        todo!()
    }

    /// PIN-pad capabilities.
    pub fn pin_support(&self) -> PinSupport {
        todo!()
    }

    /// Whether T=0 is supported (`dwProtocols` bit 0).
    pub fn supports_t0(&self) -> bool {
        todo!()
    }

    /// Whether T=1 is supported (`dwProtocols` bit 1).
    pub fn supports_t1(&self) -> bool {
        todo!()
    }

    /// Voltages supported, lowest first.
    pub fn voltages(&self) -> Vec<Voltage> {
        todo!()
    }

    /// The largest CCID message (header included) the reader accepts.
    pub fn max_message_length(&self) -> usize {
        todo!()
    }
}

/// Finds every CCID interface in a raw configuration descriptor (as GET_DESCRIPTOR returns it,
/// all `wTotalLength` bytes). The device identity selects quirk-table rows.
pub fn find_ccid_interfaces(
    device: &UsbDeviceInfo,
    configuration: &[u8],
) -> Result<Vec<CcidInterface>, DescriptorError> {
    let _ = (device, configuration);
    todo!()
}
