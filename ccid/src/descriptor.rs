//! Finding the reader: the USB configuration descriptor, the CCID interface in it, and the CCID
//! class descriptor (CCID 1.1 §5.1) with what follows from it.
//!
//! Device bytes are never trusted: every read is bounds-checked and a descriptor that does not
//! add up is an error, never a panic.

use crate::quirks::{Dialect, ReaderQuirk};
use crate::transport::UsbDeviceInfo;

/// `bDescriptorType` of the CCID class descriptor.
pub const CCID_DESCRIPTOR_TYPE: u8 = 0x21;
/// Length of the CCID class descriptor.
pub const CCID_DESCRIPTOR_LENGTH: usize = 54;
/// `bInterfaceClass` of the smart-card (CCID) class.
pub const SMART_CARD_CLASS: u8 = 0x0B;
/// `bInterfaceClass` of vendor-specific interfaces, which some pre-standard CCID readers use.
pub const VENDOR_SPECIFIC_CLASS: u8 = 0xFF;

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

    /// The bytes the reader sends before the ATR in its power-on answer (a quirk's, else none).
    pub fn atr_prefix(&self) -> &'static [u8] {
        self.quirk.map_or(&[], |q| q.atr_prefix)
    }
}

impl CcidClassDescriptor {
    /// Parses the 54 bytes of a class descriptor (bLength and bDescriptorType included).
    pub fn parse(bytes: &[u8]) -> Result<CcidClassDescriptor, DescriptorError> {
        let length = bytes.first().map_or(0, |&b| usize::from(b));
        let descriptor_type = bytes.get(1).copied().unwrap_or(0);
        match <&[u8; CCID_DESCRIPTOR_LENGTH]>::try_from(bytes) {
            Ok(exact)
                if length == CCID_DESCRIPTOR_LENGTH && descriptor_type == CCID_DESCRIPTOR_TYPE =>
            {
                Ok(Self::from_fields(exact))
            }
            // Name the length that is wrong: the slice's when it is cut short, else bLength.
            Ok(_) => Err(DescriptorError::BadClassDescriptor {
                length,
                descriptor_type,
            }),
            Err(_) => Err(DescriptorError::BadClassDescriptor {
                length: if length == CCID_DESCRIPTOR_LENGTH {
                    bytes.len()
                } else {
                    length
                },
                descriptor_type,
            }),
        }
    }

    /// Reads the fields at their CCID 1.1 §5.1 offsets, whatever bLength and bDescriptorType
    /// say (vendor-class readers use other descriptor types).
    fn from_fields(b: &[u8; CCID_DESCRIPTOR_LENGTH]) -> CcidClassDescriptor {
        let u16_at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        CcidClassDescriptor {
            bcd_ccid: u16_at(2),
            max_slot_index: b[4],
            voltage_support: b[5],
            protocols: u32_at(6),
            default_clock_khz: u32_at(10),
            maximum_clock_khz: u32_at(14),
            num_clock_supported: b[18],
            data_rate: u32_at(19),
            max_data_rate: u32_at(23),
            num_data_rates_supported: b[27],
            max_ifsd: u32_at(28),
            synch_protocols: u32_at(32),
            mechanical: u32_at(36),
            features: u32_at(40),
            max_ccid_message_length: u32_at(44),
            class_get_response: b[48],
            class_envelope: b[49],
            lcd_layout: u16_at(50),
            pin_support: b[52],
            max_ccid_busy_slots: b[53],
        }
    }

    /// The 54 bytes of this descriptor.
    pub fn to_bytes(&self) -> [u8; CCID_DESCRIPTOR_LENGTH] {
        let mut b = [0u8; CCID_DESCRIPTOR_LENGTH];
        let mut put = |at: usize, field: &[u8]| b[at..at + field.len()].copy_from_slice(field);
        put(0, &[CCID_DESCRIPTOR_LENGTH as u8, CCID_DESCRIPTOR_TYPE]);
        put(2, &self.bcd_ccid.to_le_bytes());
        put(4, &[self.max_slot_index, self.voltage_support]);
        put(6, &self.protocols.to_le_bytes());
        put(10, &self.default_clock_khz.to_le_bytes());
        put(14, &self.maximum_clock_khz.to_le_bytes());
        put(18, &[self.num_clock_supported]);
        put(19, &self.data_rate.to_le_bytes());
        put(23, &self.max_data_rate.to_le_bytes());
        put(27, &[self.num_data_rates_supported]);
        put(28, &self.max_ifsd.to_le_bytes());
        put(32, &self.synch_protocols.to_le_bytes());
        put(36, &self.mechanical.to_le_bytes());
        put(40, &self.features.to_le_bytes());
        put(44, &self.max_ccid_message_length.to_le_bytes());
        put(48, &[self.class_get_response, self.class_envelope]);
        put(50, &self.lcd_layout.to_le_bytes());
        put(52, &[self.pin_support, self.max_ccid_busy_slots]);
        b
    }

    /// Exchange level from `dwFeatures`. A value with no level bit set reads as character level.
    pub fn exchange_level(&self) -> ExchangeLevel {
        // The levels are meant to be exclusive; if a reader sets several, it claims to handle
        // the highest, and the higher levels carry the lower ones.
        if self.features & 0x0004_0000 != 0 {
            ExchangeLevel::ExtendedApdu
        } else if self.features & 0x0002_0000 != 0 {
            ExchangeLevel::ShortApdu
        } else if self.features & 0x0001_0000 != 0 {
            ExchangeLevel::Tpdu
        } else {
            ExchangeLevel::Character
        }
    }

    /// Automatic features from `dwFeatures`.
    pub fn automatic(&self) -> AutomaticFeatures {
        let bit = |mask: u32| self.features & mask != 0;
        AutomaticFeatures {
            parameters_from_atr: bit(0x02),
            activation: bit(0x04),
            voltage: bit(0x08),
            clock: bit(0x10),
            baud_rate: bit(0x20),
            negotiation: bit(0x40),
            pps: bit(0x80),
            ifsd_exchange: bit(0x400),
        }
    }

    /// Number of slots (`bMaxSlotIndex` + 1).
    pub fn slot_count(&self) -> u16 {
        u16::from(self.max_slot_index) + 1
    }

    /// PIN-pad capabilities.
    pub fn pin_support(&self) -> PinSupport {
        PinSupport {
            verify: self.pin_support & 0x01 != 0,
            modify: self.pin_support & 0x02 != 0,
        }
    }

    /// Whether T=0 is supported (`dwProtocols` bit 0).
    pub fn supports_t0(&self) -> bool {
        self.protocols & 0x01 != 0
    }

    /// Whether T=1 is supported (`dwProtocols` bit 1).
    pub fn supports_t1(&self) -> bool {
        self.protocols & 0x02 != 0
    }

    /// Voltages supported, lowest first.
    pub fn voltages(&self) -> Vec<Voltage> {
        [
            (0x04, Voltage::V1_8),
            (0x02, Voltage::V3_0),
            (0x01, Voltage::V5_0),
        ]
        .into_iter()
        .filter(|&(mask, _)| self.voltage_support & mask != 0)
        .map(|(_, voltage)| voltage)
        .collect()
    }

    /// The largest CCID message (header included) the reader accepts.
    pub fn max_message_length(&self) -> usize {
        usize::try_from(self.max_ccid_message_length).unwrap_or(usize::MAX)
    }
}

// `bDescriptorType` values the walk treats specially.
const CONFIGURATION_TYPE: u8 = 0x02;
const INTERFACE_TYPE: u8 = 0x04;
const ENDPOINT_TYPE: u8 = 0x05;
/// Interface association: groups interfaces, belongs to none of them.
const INTERFACE_ASSOCIATION_TYPE: u8 = 0x0B;
/// SuperSpeed endpoint companions: they qualify the endpoint before them.
const SS_ENDPOINT_COMPANION_TYPE: u8 = 0x30;
const SSP_ISOCHRONOUS_COMPANION_TYPE: u8 = 0x31;

/// One descriptor's bytes; the walk guarantees at least bLength >= 2 of them.
type RawDescriptor<'a> = &'a [u8];

fn descriptor_type(descriptor: RawDescriptor<'_>) -> u8 {
    descriptor.get(1).copied().unwrap_or(0)
}

/// How an endpoint moves data (`bmAttributes` bits 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferType {
    /// 0: control.
    Control,
    /// 1: isochronous.
    Isochronous,
    /// 2: bulk.
    Bulk,
    /// 3: interrupt.
    Interrupt,
}

/// An endpoint descriptor (USB 2.0 §9.6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointDescriptor {
    /// bEndpointAddress: the number in bits 0..3, bit 7 set for IN.
    pub address: u8,
    /// bmAttributes: the transfer type in bits 0..1.
    pub attributes: u8,
    /// wMaxPacketSize in bytes, without bits 11..12 (extra transactions per microframe).
    pub max_packet_size: u16,
}

impl EndpointDescriptor {
    /// The endpoint number (bits 0..3 of the address).
    pub fn number(&self) -> u8 {
        self.address & 0x0F
    }

    /// Whether data flows from the device to the host.
    pub fn is_in(&self) -> bool {
        self.address & 0x80 != 0
    }

    /// The transfer type.
    pub fn transfer_type(&self) -> TransferType {
        match self.attributes & 0x03 {
            0 => TransferType::Control,
            1 => TransferType::Isochronous,
            2 => TransferType::Bulk,
            _ => TransferType::Interrupt,
        }
    }
}

/// One interface setting: an interface descriptor (USB 2.0 §9.6.5) and what follows it up to
/// the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSetting<'a> {
    /// Byte offset of the interface descriptor in the configuration descriptor.
    pub offset: usize,
    /// bInterfaceNumber.
    pub interface_number: u8,
    /// bAlternateSetting.
    pub alternate_setting: u8,
    /// bInterfaceClass.
    pub interface_class: u8,
    /// bInterfaceSubClass.
    pub interface_subclass: u8,
    /// bInterfaceProtocol.
    pub interface_protocol: u8,
    /// Its endpoints, in descriptor order.
    pub endpoints: Vec<EndpointDescriptor>,
    /// Class or vendor descriptors between the interface descriptor and its first endpoint
    /// (what libusb calls the interface's `extra`), each whole.
    pub extra_before_endpoints: Vec<&'a [u8]>,
    /// Class or vendor descriptors after the last endpoint. Some early readers put their CCID
    /// descriptor there.
    pub extra_after_endpoints: Vec<&'a [u8]>,
}

/// A configuration descriptor split into its interface settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationLayout<'a> {
    /// bConfigurationValue.
    pub configuration_value: u8,
    /// Every interface setting, of any class, in descriptor order.
    pub interfaces: Vec<InterfaceSetting<'a>>,
}

impl<'a> InterfaceSetting<'a> {
    fn extras(&self) -> impl Iterator<Item = RawDescriptor<'a>> + '_ {
        self.extra_before_endpoints
            .iter()
            .chain(&self.extra_after_endpoints)
            .copied()
    }

    /// The class descriptor of a smart-card-class interface: the first of type 0x21.
    fn smart_card_descriptor(&self) -> Option<RawDescriptor<'a>> {
        self.extras()
            .find(|&d| descriptor_type(d) == CCID_DESCRIPTOR_TYPE)
    }

    /// The class descriptor of a vendor-class interface: accepted only when the interface's
    /// extra bytes are exactly one 54-byte descriptor (its type is not checked: such readers
    /// predate the final specification), before the endpoints or else after them.
    fn vendor_descriptor(&self) -> Option<&'a [u8; CCID_DESCRIPTOR_LENGTH]> {
        let region = if self.extra_before_endpoints.is_empty() {
            &self.extra_after_endpoints
        } else {
            &self.extra_before_endpoints
        };
        match region.as_slice() {
            [only] => <&[u8; CCID_DESCRIPTOR_LENGTH]>::try_from(*only).ok(),
            _ => None,
        }
    }

    /// First endpoint of a transfer type and direction.
    fn first_endpoint(
        &self,
        transfer_type: TransferType,
        direction_in: bool,
    ) -> Option<EndpointDescriptor> {
        self.endpoints
            .iter()
            .find(|e| e.transfer_type() == transfer_type && e.is_in() == direction_in)
            .copied()
    }
}

/// Splits a configuration descriptor (all `wTotalLength` bytes; bytes past it are ignored)
/// into its interface settings, whatever their class.
///
/// Errors: [`DescriptorError::Malformed`] if the bytes do not start with a configuration
/// descriptor, or any descriptor's length does not fit (bLength below 2 or past
/// `wTotalLength`, an interface descriptor shorter than 9 bytes, an endpoint descriptor
/// shorter than 7). Endpoints and class descriptors before the first interface belong to none
/// and are skipped.
pub fn walk_configuration(bytes: &[u8]) -> Result<ConfigurationLayout<'_>, DescriptorError> {
    let malformed =
        |offset: usize, reason: &'static str| DescriptorError::Malformed { offset, reason };
    let &[header_length, header_type, total_low, total_high, _, configuration_value, _, _, _, ..] =
        bytes
    else {
        return Err(malformed(0, "shorter than a configuration descriptor"));
    };
    let header_length = usize::from(header_length);
    if header_type != CONFIGURATION_TYPE || header_length < 9 {
        return Err(malformed(0, "not a configuration descriptor"));
    }
    let total = usize::from(u16::from_le_bytes([total_low, total_high]));
    if total < header_length {
        return Err(malformed(
            2,
            "wTotalLength is shorter than the configuration descriptor",
        ));
    }
    // Bytes past wTotalLength are not part of the configuration (a padded buffer); fewer bytes
    // than wTotalLength mean it was cut short.
    let configuration = bytes
        .get(..total)
        .ok_or(malformed(2, "wTotalLength runs past the end of the bytes"))?;

    let mut interfaces: Vec<InterfaceSetting<'_>> = Vec::new();
    let mut offset = header_length;
    while let Some(&length) = configuration.get(offset) {
        let length = usize::from(length);
        if length < 2 {
            return Err(malformed(offset, "bLength is below 2"));
        }
        let descriptor = configuration
            .get(offset..offset + length)
            .ok_or(malformed(offset, "bLength runs past the end"))?;
        let byte = |at: usize| descriptor.get(at).copied().unwrap_or(0);
        match descriptor_type(descriptor) {
            INTERFACE_TYPE => {
                if length < 9 {
                    return Err(malformed(
                        offset,
                        "interface descriptor shorter than 9 bytes",
                    ));
                }
                interfaces.push(InterfaceSetting {
                    offset,
                    interface_number: byte(2),
                    alternate_setting: byte(3),
                    interface_class: byte(5),
                    interface_subclass: byte(6),
                    interface_protocol: byte(7),
                    endpoints: Vec::new(),
                    extra_before_endpoints: Vec::new(),
                    extra_after_endpoints: Vec::new(),
                });
            }
            ENDPOINT_TYPE => {
                if length < 7 {
                    return Err(malformed(
                        offset,
                        "endpoint descriptor shorter than 7 bytes",
                    ));
                }
                if let Some(interface) = interfaces.last_mut() {
                    interface.endpoints.push(EndpointDescriptor {
                        address: byte(2),
                        attributes: byte(3),
                        // Bits 11-12 count extra transactions per microframe, not bytes.
                        max_packet_size: u16::from_le_bytes([byte(4), byte(5)]) & 0x07FF,
                    });
                    // Extras after this endpoint are only "after the endpoints" if no other
                    // endpoint follows them.
                    interface.extra_after_endpoints.clear();
                }
            }
            INTERFACE_ASSOCIATION_TYPE
            | SS_ENDPOINT_COMPANION_TYPE
            | SSP_ISOCHRONOUS_COMPANION_TYPE
            | CONFIGURATION_TYPE => {}
            _ => {
                if let Some(interface) = interfaces.last_mut() {
                    if interface.endpoints.is_empty() {
                        interface.extra_before_endpoints.push(descriptor);
                    } else {
                        interface.extra_after_endpoints.push(descriptor);
                    }
                }
            }
        }
        offset += length;
    }
    Ok(ConfigurationLayout {
        configuration_value,
        interfaces,
    })
}

/// Finds every CCID interface in a raw configuration descriptor (as GET_DESCRIPTOR returns it,
/// all `wTotalLength` bytes). The device identity selects quirk-table rows.
///
/// An interface is a CCID interface when it is of the smart-card class with a 54-byte class
/// descriptor of type 0x21; of the vendor class with exactly one 54-byte extra descriptor; or
/// of the class a quirk row for this device names, in which case the row supplies the class
/// descriptor unless the interface carries a 54-byte one of type 0x21. Only interfaces with a
/// bulk-IN and a bulk-OUT endpoint are returned: ICCD readers, which use control transfers, are
/// not. Each alternate setting is considered on its own.
///
/// Errors: [`DescriptorError::Malformed`] if any descriptor's length does not fit; otherwise,
/// when no usable interface is found, the first problem met on a CCID interface
/// ([`DescriptorError::BadClassDescriptor`] or [`DescriptorError::MissingEndpoint`]), or
/// [`DescriptorError::NoCcidInterface`] if there was none.
pub fn find_ccid_interfaces(
    device: &UsbDeviceInfo,
    configuration: &[u8],
) -> Result<Vec<CcidInterface>, DescriptorError> {
    let quirk = crate::quirks::lookup(device.vendor_id, device.product_id, device.bcd_device);
    let mut found = Vec::new();
    let mut first_problem: Option<DescriptorError> = None;

    for setting in walk_configuration(configuration)?.interfaces {
        let recognised = recognise(&setting, quirk);
        let (kind, descriptor) = match recognised {
            Recognised::NotCcid => continue,
            Recognised::Bad(error) => {
                tracing::debug!(
                    interface = setting.interface_number,
                    offset = setting.offset,
                    %error,
                    "unusable CCID interface"
                );
                first_problem.get_or_insert(error);
                continue;
            }
            Recognised::Ccid(kind, descriptor) => (kind, descriptor),
        };
        let bulk_in = setting.first_endpoint(TransferType::Bulk, true);
        let bulk_out = setting.first_endpoint(TransferType::Bulk, false);
        let (Some(bulk_in), Some(bulk_out)) = (bulk_in, bulk_out) else {
            let direction = if bulk_in.is_none() { "IN" } else { "OUT" };
            tracing::debug!(
                interface = setting.interface_number,
                direction,
                "CCID interface without bulk pair"
            );
            first_problem.get_or_insert(DescriptorError::MissingEndpoint {
                interface: setting.interface_number,
                direction,
            });
            continue;
        };
        found.push(CcidInterface {
            interface_number: setting.interface_number,
            alternate_setting: setting.alternate_setting,
            interface_class: setting.interface_class,
            interface_subclass: setting.interface_subclass,
            interface_protocol: setting.interface_protocol,
            bulk_in: bulk_in.address,
            bulk_out: bulk_out.address,
            interrupt_in: setting
                .first_endpoint(TransferType::Interrupt, true)
                .map(|e| e.address),
            bulk_in_packet_size: bulk_in.max_packet_size,
            bulk_out_packet_size: bulk_out.max_packet_size,
            kind,
            descriptor,
            quirk,
        });
    }

    if found.is_empty() {
        Err(first_problem.unwrap_or(DescriptorError::NoCcidInterface))
    } else {
        Ok(found)
    }
}

/// What one interface turned out to be.
enum Recognised {
    NotCcid,
    Bad(DescriptorError),
    Ccid(InterfaceKind, CcidClassDescriptor),
}

fn recognise(setting: &InterfaceSetting<'_>, quirk: Option<&'static ReaderQuirk>) -> Recognised {
    // A quirk row claims the interface class it names; its descriptor fills in a missing one.
    if let Some(row) = quirk.filter(|row| row.interface_class == Some(setting.interface_class)) {
        let own = setting
            .smart_card_descriptor()
            .and_then(|d| CcidClassDescriptor::parse(d).ok());
        if let Some(descriptor) = own.or_else(|| row.class_descriptor.clone()) {
            return Recognised::Ccid(InterfaceKind::Quirk, descriptor);
        }
    }
    match setting.interface_class {
        SMART_CARD_CLASS => match setting.smart_card_descriptor() {
            Some(d) => match CcidClassDescriptor::parse(d) {
                Ok(descriptor) => Recognised::Ccid(InterfaceKind::SmartCardClass, descriptor),
                Err(error) => Recognised::Bad(error),
            },
            // Name whatever stands where the descriptor should be, or nothing at all.
            None => Recognised::Bad(DescriptorError::BadClassDescriptor {
                length: setting.extras().next().map_or(0, <[u8]>::len),
                descriptor_type: setting.extras().next().map_or(0, descriptor_type),
            }),
        },
        VENDOR_SPECIFIC_CLASS => match setting.vendor_descriptor() {
            Some(bytes) => Recognised::Ccid(
                InterfaceKind::VendorClass,
                CcidClassDescriptor::from_fields(bytes),
            ),
            None => Recognised::NotCcid,
        },
        _ => Recognised::NotCcid,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn sample() -> CcidClassDescriptor {
        CcidClassDescriptor {
            bcd_ccid: 0x0110,
            max_slot_index: 1,
            voltage_support: 0x07,
            protocols: 0x0000_0003,
            default_clock_khz: 4000,
            maximum_clock_khz: 12000,
            num_clock_supported: 2,
            data_rate: 10752,
            max_data_rate: 412_903,
            num_data_rates_supported: 3,
            max_ifsd: 254,
            synch_protocols: 0x0000_0007,
            mechanical: 0x0000_0001,
            features: 0x0004_00FE,
            max_ccid_message_length: 65544,
            class_get_response: 0xFF,
            class_envelope: 0xFE,
            lcd_layout: 0x0210,
            pin_support: 0x03,
            max_ccid_busy_slots: 2,
        }
    }

    #[test]
    fn fields_sit_at_their_spec_offsets() {
        let b = sample().to_bytes();
        assert_eq!(&b[..2], &[0x36, 0x21]);
        assert_eq!(&b[2..4], &[0x10, 0x01]);
        assert_eq!(b[4], 1);
        assert_eq!(b[5], 0x07);
        assert_eq!(&b[6..10], &[3, 0, 0, 0]);
        assert_eq!(&b[10..14], &4000u32.to_le_bytes());
        assert_eq!(&b[14..18], &12000u32.to_le_bytes());
        assert_eq!(b[18], 2);
        assert_eq!(&b[19..23], &10752u32.to_le_bytes());
        assert_eq!(&b[23..27], &412_903u32.to_le_bytes());
        assert_eq!(b[27], 3);
        assert_eq!(&b[28..32], &254u32.to_le_bytes());
        assert_eq!(&b[32..36], &7u32.to_le_bytes());
        assert_eq!(&b[36..40], &1u32.to_le_bytes());
        assert_eq!(&b[40..44], &0x0004_00FEu32.to_le_bytes());
        assert_eq!(&b[44..48], &65544u32.to_le_bytes());
        assert_eq!(&b[48..50], &[0xFF, 0xFE]);
        assert_eq!(&b[50..52], &[0x10, 0x02]);
        assert_eq!(&b[52..54], &[0x03, 2]);
        assert_eq!(CcidClassDescriptor::parse(&b), Ok(sample()));
    }

    #[test]
    fn refuses_what_is_not_a_class_descriptor() {
        let good = sample().to_bytes();
        let bad = |length, descriptor_type| {
            Err(DescriptorError::BadClassDescriptor {
                length,
                descriptor_type,
            })
        };
        assert_eq!(CcidClassDescriptor::parse(&good[..40]), bad(40, 0x21));
        assert_eq!(CcidClassDescriptor::parse(&[]), bad(0, 0));
        assert_eq!(CcidClassDescriptor::parse(&[0x36]), bad(1, 0));
        let mut hid = good;
        hid[1] = 0x22;
        assert_eq!(CcidClassDescriptor::parse(&hid), bad(54, 0x22));
        let mut short = good;
        short[0] = 0x30;
        assert_eq!(CcidClassDescriptor::parse(&short), bad(0x30, 0x21));
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(CcidClassDescriptor::parse(&long), bad(55, 0x21));
    }

    #[test]
    fn classification_follows_the_bits() {
        let mut d = sample();
        assert_eq!(d.exchange_level(), ExchangeLevel::ExtendedApdu);
        d.features = 0x0003_0000;
        assert_eq!(d.exchange_level(), ExchangeLevel::ShortApdu);
        d.features = 0x0001_0000;
        assert_eq!(d.exchange_level(), ExchangeLevel::Tpdu);
        d.features = 0x0000_04FE;
        assert_eq!(d.exchange_level(), ExchangeLevel::Character);
        assert_eq!(
            d.automatic(),
            AutomaticFeatures {
                parameters_from_atr: true,
                activation: true,
                voltage: true,
                clock: true,
                baud_rate: true,
                negotiation: true,
                pps: true,
                ifsd_exchange: true,
            }
        );
        assert_eq!(d.slot_count(), 2);
        d.max_slot_index = 0xFF;
        assert_eq!(d.slot_count(), 256);
        assert_eq!(
            d.voltages(),
            vec![Voltage::V1_8, Voltage::V3_0, Voltage::V5_0]
        );
        d.voltage_support = 0x01;
        assert_eq!(d.voltages(), vec![Voltage::V5_0]);
        assert_eq!(
            d.pin_support(),
            PinSupport {
                verify: true,
                modify: true
            }
        );
        d.protocols = 0x02;
        assert!(!d.supports_t0() && d.supports_t1());
        assert_eq!(d.max_message_length(), 65544);
    }

    const DEVICE: UsbDeviceInfo = UsbDeviceInfo {
        vendor_id: 0x1234,
        product_id: 0x5678,
        bcd_device: 0x0100,
    };

    fn interface(number: u8, class: u8, protocol: u8) -> Vec<u8> {
        vec![9, 4, number, 0, 3, class, 0, protocol, 0]
    }

    fn endpoint(address: u8, attributes: u8, size: u16) -> Vec<u8> {
        let [lo, hi] = size.to_le_bytes();
        vec![7, 5, address, attributes, lo, hi, 0]
    }

    fn configuration(parts: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let total = u16::try_from(body.len() + 9).unwrap().to_le_bytes();
        let mut c = vec![9, 2, total[0], total[1], 1, 1, 0, 0x80, 50];
        c.extend(body);
        c
    }

    fn standard_reader() -> Vec<u8> {
        configuration(&[
            interface(0, 0x0B, 0),
            sample().to_bytes().to_vec(),
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
            endpoint(0x83, 3, 8),
        ])
    }

    #[test]
    fn finds_a_standard_reader() {
        let found = find_ccid_interfaces(&DEVICE, &standard_reader()).unwrap();
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(
            (f.bulk_in, f.bulk_out, f.interrupt_in),
            (0x81, 0x02, Some(0x83))
        );
        assert_eq!((f.bulk_in_packet_size, f.bulk_out_packet_size), (64, 64));
        assert_eq!(f.kind, InterfaceKind::SmartCardClass);
        assert_eq!(f.descriptor, sample());
        assert_eq!(f.quirk, None);
        assert_eq!(f.dialect(), Dialect::Standard);
    }

    #[test]
    fn skips_associations_and_other_functions() {
        let c = configuration(&[
            vec![8, 0x0B, 0, 2, 3, 0, 0, 0],
            interface(0, 0x03, 0),
            vec![9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x40, 0],
            endpoint(0x84, 3, 8),
            vec![8, 0x0B, 1, 1, 0x0B, 0, 0, 0],
            interface(1, 0x0B, 0),
            sample().to_bytes().to_vec(),
            endpoint(0x81, 2, 512),
            endpoint(0x01, 2, 512),
        ]);
        let found = find_ccid_interfaces(&DEVICE, &c).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].interface_number, 1);
        assert_eq!(found[0].interrupt_in, None);
        assert_eq!(found[0].bulk_in_packet_size, 512);
    }

    #[test]
    fn class_descriptor_after_the_endpoints_is_found() {
        let c = configuration(&[
            interface(0, 0x0B, 0),
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
            sample().to_bytes().to_vec(),
        ]);
        let found = find_ccid_interfaces(&DEVICE, &c).unwrap();
        assert_eq!(found[0].descriptor, sample());
    }

    #[test]
    fn vendor_class_needs_exactly_one_54_byte_descriptor() {
        let mut proprietary = sample().to_bytes().to_vec();
        proprietary[1] = 0xFF;
        let c = configuration(&[
            interface(0, 0xFF, 0),
            proprietary.clone(),
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
        ]);
        let found = find_ccid_interfaces(&DEVICE, &c).unwrap();
        assert_eq!(found[0].kind, InterfaceKind::VendorClass);
        assert_eq!(found[0].descriptor, sample());

        let two = configuration(&[
            interface(0, 0xFF, 0),
            proprietary,
            vec![4, 0x24, 0, 0],
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
        ]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &two),
            Err(DescriptorError::NoCcidInterface)
        );
    }

    #[test]
    fn control_only_readers_are_missing_endpoints() {
        let c = configuration(&[interface(2, 0x0B, 1), sample().to_bytes().to_vec()]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &c),
            Err(DescriptorError::MissingEndpoint {
                interface: 2,
                direction: "IN"
            })
        );
        let c = configuration(&[
            interface(0, 0x0B, 0),
            sample().to_bytes().to_vec(),
            endpoint(0x81, 2, 64),
        ]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &c),
            Err(DescriptorError::MissingEndpoint {
                interface: 0,
                direction: "OUT"
            })
        );
    }

    #[test]
    fn bad_class_descriptors_are_reported() {
        let truncated = sample().to_bytes()[..40].to_vec();
        let mut truncated = truncated;
        truncated[0] = 40;
        let c = configuration(&[
            interface(0, 0x0B, 0),
            truncated,
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
        ]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &c),
            Err(DescriptorError::BadClassDescriptor {
                length: 40,
                descriptor_type: 0x21
            })
        );
        let none = configuration(&[
            interface(0, 0x0B, 0),
            endpoint(0x81, 2, 64),
            endpoint(0x02, 2, 64),
        ]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &none),
            Err(DescriptorError::BadClassDescriptor {
                length: 0,
                descriptor_type: 0
            })
        );
    }

    #[test]
    fn malformed_configurations_are_errors() {
        let good = standard_reader();
        let malformed = |c: &[u8]| {
            matches!(
                find_ccid_interfaces(&DEVICE, c),
                Err(DescriptorError::Malformed { .. })
            )
        };
        assert!(malformed(&[]));
        assert!(malformed(&good[..8]));
        // wTotalLength promises more than there is.
        assert!(malformed(&good[..good.len() - 1]));
        // bLength 0 would loop forever if taken at its word.
        let mut zero = good.clone();
        zero[9] = 0;
        assert!(malformed(&zero));
        // The last descriptor runs past wTotalLength.
        let mut long = good.clone();
        let last = good.len() - 7;
        long[last] = 8;
        assert!(malformed(&long));
        // A configuration descriptor is type 2.
        let mut not_config = good.clone();
        not_config[1] = 1;
        assert!(malformed(&not_config));
        // Bytes past wTotalLength are ignored.
        let mut padded = good;
        padded.extend([0; 16]);
        assert!(find_ccid_interfaces(&DEVICE, &padded).is_ok());
    }

    #[test]
    fn no_ccid_interface() {
        let c = configuration(&[interface(0, 0x03, 0), endpoint(0x81, 3, 8)]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &c),
            Err(DescriptorError::NoCcidInterface)
        );
        let empty = configuration(&[]);
        assert_eq!(
            find_ccid_interfaces(&DEVICE, &empty),
            Err(DescriptorError::NoCcidInterface)
        );
    }

    #[test]
    fn the_walk_keeps_every_setting_and_endpoint_in_order() {
        let hid_descriptor = vec![9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x40, 0];
        let c = configuration(&[
            // An endpoint before any interface belongs to none.
            endpoint(0x8F, 3, 8),
            interface(0, 0x03, 1),
            hid_descriptor.clone(),
            endpoint(0x84, 3, 8),
            interface(1, 0x0B, 0),
            sample().to_bytes().to_vec(),
            endpoint(0x02, 2, 64),
            // Bits 11-12 of wMaxPacketSize are not bytes.
            endpoint(0x81, 2, 0x1800 | 512),
            endpoint(0x83, 3, 16),
            vec![9, 4, 1, 1, 0, 0x0B, 0, 0, 0],
        ]);
        let layout = walk_configuration(&c).unwrap();
        assert_eq!(layout.configuration_value, 1);
        let settings: Vec<_> = layout
            .interfaces
            .iter()
            .map(|s| {
                (
                    s.interface_number,
                    s.alternate_setting,
                    s.interface_class,
                    s.interface_protocol,
                )
            })
            .collect();
        assert_eq!(
            settings,
            [(0, 0, 0x03, 1), (1, 0, 0x0B, 0), (1, 1, 0x0B, 0)]
        );
        let hid = &layout.interfaces[0];
        assert_eq!(hid.offset, 16);
        assert_eq!(hid.extra_before_endpoints, [hid_descriptor.as_slice()]);
        assert!(hid.extra_after_endpoints.is_empty());
        let reader = &layout.interfaces[1];
        assert_eq!(
            reader.extra_before_endpoints,
            [sample().to_bytes().as_slice()]
        );
        let endpoints: Vec<_> = reader
            .endpoints
            .iter()
            .map(|e| (e.number(), e.is_in(), e.transfer_type(), e.max_packet_size))
            .collect();
        assert_eq!(
            endpoints,
            [
                (2, false, TransferType::Bulk, 64),
                (1, true, TransferType::Bulk, 512),
                (3, true, TransferType::Interrupt, 16),
            ]
        );
        assert!(layout.interfaces[2].endpoints.is_empty());
    }

    #[test]
    fn the_walk_refuses_what_is_not_a_configuration() {
        let malformed = |c: &[u8]| {
            matches!(
                walk_configuration(c),
                Err(DescriptorError::Malformed { .. })
            )
        };
        assert!(malformed(&[]));
        assert!(malformed(&[0x09, 0x02, 0, 0]));
        assert!(malformed(&[0x00, 0x02]));
        assert!(malformed(&interface(0, 0x0B, 0)));
        // wTotalLength 0 cannot hold the configuration descriptor itself.
        assert!(malformed(&[
            9, 2, 0, 0, 1, 1, 0, 0x80, 50, 7, 5, 2, 2, 64, 0, 0
        ]));
        let short_interface = configuration(&[vec![8, 4, 0, 0, 3, 0x0B, 0, 0]]);
        assert!(malformed(&short_interface));
        let short_endpoint = configuration(&[interface(0, 0x0B, 0), vec![6, 5, 0x81, 2, 64, 0]]);
        assert!(malformed(&short_endpoint));
    }
}
