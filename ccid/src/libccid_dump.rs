//! Text dumps written by libccid's `parse` tool: one block per CCID interface, with the device's
//! identity, the interface descriptor and the CCID class descriptor, each field as a
//! `key: value` line followed by deeper-indented lines decoding it.
//!
//! [`parse`] keeps both sides: the numeric values (enough to rebuild the descriptor bytes) and
//! the tool's own decoded lines, so the driver's classification can be checked against
//! libccid's. The `stated_*` methods read those decoded lines.
//!
//! The dumps are hand-collected over two decades of libccid versions, so the parser tolerates
//! what they contain: CRLF line ends, extra whitespace, "Can't get iInterface string" instead of
//! a string, garbage strings, error lines from the tool, and decoded lines wrapped onto an
//! unindented next line.
//!
//! Behind the `corpus` feature: the descriptor corpus test and the `descriptor` example use it;
//! the driver itself (and the page) never does.

use crate::descriptor::{
    find_ccid_interfaces, AutomaticFeatures, CcidClassDescriptor, CcidInterface, DescriptorError,
    ExchangeLevel, PinSupport, Voltage, CCID_DESCRIPTOR_LENGTH,
};
use crate::transport::UsbDeviceInfo;

/// Why text is not a libccid dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// No `idVendor:` line, so no interface block.
    #[error("no interface block (no `idVendor:` line)")]
    NoInterface,
    /// Text before the first `idVendor:` line.
    #[error("line {line}: {text:?} comes before the first `idVendor:` line")]
    BeforeFirstBlock {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A field appears twice in one interface block.
    #[error("line {line}: `{field}` appears twice in one interface block")]
    DuplicateField {
        /// 1-based line number of the second one.
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A field is missing from an interface block.
    #[error("the interface block at line {line} has no `{field}` line")]
    MissingField {
        /// 1-based line number of the block's `idVendor:` line.
        line: usize,
        /// The field.
        field: &'static str,
    },
    /// A field's value cannot be read as the number it should be.
    #[error("line {line}: `{field}: {value}` is not a valid value")]
    BadValue {
        /// 1-based line number.
        line: usize,
        /// The field.
        field: &'static str,
        /// The value as written.
        value: String,
    },
}

/// libccid's decoded lines for the fields the driver classifies, as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Under `bNumEndpoints`: "bulk-IN, bulk-OUT and Interrupt-IN", "Control only", ...
    /// (older tool versions print none).
    pub endpoints: Vec<String>,
    /// Under `bInterfaceClass`: "NOT A CCID DEVICE", "Class is 0xFF (proprietary)".
    pub interface_class: Vec<String>,
    /// Under `bInterfaceProtocol`: "bulk transfer, optional interrupt-IN (CCID)", "ICCD Version
    /// A, ..." and so on.
    pub interface_protocol: Vec<String>,
    /// Under `bVoltageSupport`: "5.0V", "3.0V", "1.8V".
    pub voltages: Vec<String>,
    /// Under `dwProtocols`: "T=0", "T=1".
    pub protocols: Vec<String>,
    /// Under `bNumClockSupported`: the clocks the reader listed, or the tool's error.
    pub clocks: Vec<String>,
    /// Under `bNumDataRatesSupported`: the rates the reader listed, or the tool's error.
    pub data_rates: Vec<String>,
    /// Under `dwFeatures`: one line per bit, e.g. "01.... TPDU level exchange".
    pub features: Vec<String>,
    /// Under `bPINSupport`: "PIN Verification supported", "PIN Modification supported".
    pub pin_support: Vec<String>,
    /// `bMaxSlotIndex` as printed ("0x00").
    pub max_slot_index: String,
    /// `dwMaxCCIDMessageLength` as printed ("271 bytes").
    pub max_message_length: String,
}

/// One interface block of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInterface {
    /// 1-based line number of the block's `idVendor:` line.
    pub line: usize,
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
    /// bcdDevice.
    pub bcd_device: u16,
    /// The manufacturer string, if the tool could read it.
    pub manufacturer: Option<String>,
    /// The product string, if the tool could read it.
    pub product: Option<String>,
    /// The interface descriptor's bLength.
    pub interface_length: u8,
    /// The interface descriptor's bDescriptorType.
    pub interface_descriptor_type: u8,
    /// bInterfaceNumber.
    pub interface_number: u8,
    /// bAlternateSetting.
    pub alternate_setting: u8,
    /// bNumEndpoints.
    pub num_endpoints: u8,
    /// bInterfaceClass.
    pub interface_class: u8,
    /// bInterfaceSubClass.
    pub interface_subclass: u8,
    /// bInterfaceProtocol.
    pub interface_protocol: u8,
    /// The iInterface string (or index, in older dumps), if the tool printed one.
    pub interface_string: Option<String>,
    /// The class descriptor's bLength.
    pub class_length: u8,
    /// The class descriptor's bDescriptorType (0x21, or 0xFF on some vendor-class readers).
    pub class_descriptor_type: u8,
    /// Every class-descriptor field, from its `key: value` line.
    pub descriptor: CcidClassDescriptor,
    /// libccid's own decoding.
    pub decoded: Decoded,
}

/// The endpoint types of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointTypes {
    /// A bulk-IN endpoint.
    pub bulk_in: bool,
    /// A bulk-OUT endpoint.
    pub bulk_out: bool,
    /// An interrupt-IN endpoint.
    pub interrupt_in: bool,
    /// Read from the tool's decoded line; `false` when inferred from `bNumEndpoints` because
    /// the dump has no such line.
    pub stated: bool,
}

impl DumpInterface {
    /// The device identity, as a transport would report it.
    pub fn device_info(&self) -> UsbDeviceInfo {
        UsbDeviceInfo {
            vendor_id: self.vendor_id,
            product_id: self.product_id,
            bcd_device: self.bcd_device,
        }
    }

    /// The exchange level libccid decoded from `dwFeatures`, if it printed one.
    pub fn stated_exchange_level(&self) -> Option<ExchangeLevel> {
        // Longest phrase first: "Short APDU level" is part of "Short and Extended APDU level".
        self.decoded.features.iter().find_map(|line| {
            if line.contains("Short and Extended APDU level exchange") {
                Some(ExchangeLevel::ExtendedApdu)
            } else if line.contains("Short APDU level exchange") {
                Some(ExchangeLevel::ShortApdu)
            } else if line.contains("TPDU level exchange") {
                Some(ExchangeLevel::Tpdu)
            } else if line.contains("Character level exchange") {
                Some(ExchangeLevel::Character)
            } else {
                None
            }
        })
    }

    /// The automatic features libccid decoded from `dwFeatures`.
    pub fn stated_automatic(&self) -> AutomaticFeatures {
        let says = |phrase: &str| self.decoded.features.iter().any(|l| l.contains(phrase));
        AutomaticFeatures {
            parameters_from_atr: says("Automatic parameter configuration based on ATR"),
            activation: says("Automatic activation of ICC on inserting"),
            voltage: says("Automatic ICC voltage selection"),
            clock: says("Automatic ICC clock frequency change"),
            baud_rate: says("Automatic baud rate change"),
            negotiation: says("Automatic parameters negotiation"),
            pps: says("Automatic PPS"),
            ifsd_exchange: says("Automatic IFSD exchange"),
        }
    }

    /// (T=0, T=1) as libccid decoded `dwProtocols`.
    pub fn stated_protocols(&self) -> (bool, bool) {
        let says = |name: &str| self.decoded.protocols.iter().any(|l| l == name);
        (says("T=0"), says("T=1"))
    }

    /// The PIN-pad capabilities libccid decoded from `bPINSupport`.
    pub fn stated_pin_support(&self) -> PinSupport {
        let says = |phrase: &str| self.decoded.pin_support.iter().any(|l| l.contains(phrase));
        PinSupport {
            verify: says("PIN Verification supported"),
            modify: says("PIN Modification supported"),
        }
    }

    /// The voltages libccid decoded from `bVoltageSupport`, lowest first.
    pub fn stated_voltages(&self) -> Vec<Voltage> {
        let says = |name: &str| self.decoded.voltages.iter().any(|l| l == name);
        [
            ("1.8V", Voltage::V1_8),
            ("3.0V", Voltage::V3_0),
            ("5.0V", Voltage::V5_0),
        ]
        .into_iter()
        .filter(|(name, _)| says(name))
        .map(|(_, voltage)| voltage)
        .collect()
    }

    /// The number of slots, from `bMaxSlotIndex` as printed.
    pub fn stated_slot_count(&self) -> Option<u16> {
        parse_number(&self.decoded.max_slot_index)
            .and_then(|index| u16::try_from(index).ok())
            .and_then(|index| index.checked_add(1))
    }

    /// `dwMaxCCIDMessageLength` as printed ("N bytes").
    pub fn stated_max_message_length(&self) -> Option<u32> {
        let text = self.decoded.max_message_length.strip_suffix("bytes")?;
        parse_number(text).and_then(|n| u32::try_from(n).ok())
    }

    /// The endpoint types: the tool's decoded line under `bNumEndpoints`, or, in older dumps
    /// without one, the usual reading of the count (3: bulk pair and interrupt; 2: bulk pair;
    /// 1: interrupt; 0: control only).
    pub fn endpoint_types(&self) -> EndpointTypes {
        if let Some(line) = self.decoded.endpoints.first() {
            let line = line.to_ascii_lowercase();
            return EndpointTypes {
                bulk_in: line.contains("bulk-in"),
                bulk_out: line.contains("bulk-out"),
                interrupt_in: line.contains("interrupt-in"),
                stated: true,
            };
        }
        let n = self.num_endpoints;
        EndpointTypes {
            bulk_in: n >= 2,
            bulk_out: n >= 2,
            interrupt_in: n == 1 || n >= 3,
            stated: false,
        }
    }

    /// The 54 class-descriptor bytes the dump describes: its own bLength and bDescriptorType,
    /// then every field little-endian at its CCID 1.1 §5.1 offset.
    pub fn class_descriptor_bytes(&self) -> [u8; CCID_DESCRIPTOR_LENGTH] {
        let d = &self.descriptor;
        let mut bytes = [0u8; CCID_DESCRIPTOR_LENGTH];
        let fields: [(usize, &[u8]); 22] = [
            (0, &[self.class_length]),
            (1, &[self.class_descriptor_type]),
            (2, &d.bcd_ccid.to_le_bytes()),
            (4, &[d.max_slot_index]),
            (5, &[d.voltage_support]),
            (6, &d.protocols.to_le_bytes()),
            (10, &d.default_clock_khz.to_le_bytes()),
            (14, &d.maximum_clock_khz.to_le_bytes()),
            (18, &[d.num_clock_supported]),
            (19, &d.data_rate.to_le_bytes()),
            (23, &d.max_data_rate.to_le_bytes()),
            (27, &[d.num_data_rates_supported]),
            (28, &d.max_ifsd.to_le_bytes()),
            (32, &d.synch_protocols.to_le_bytes()),
            (36, &d.mechanical.to_le_bytes()),
            (40, &d.features.to_le_bytes()),
            (44, &d.max_ccid_message_length.to_le_bytes()),
            (48, &[d.class_get_response]),
            (49, &[d.class_envelope]),
            (50, &d.lcd_layout.to_le_bytes()),
            (52, &[d.pin_support]),
            (53, &[d.max_ccid_busy_slots]),
        ];
        for (offset, value) in fields {
            for (i, byte) in value.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(offset + i) {
                    *slot = *byte;
                }
            }
        }
        bytes
    }
}

/// A configuration descriptor a device described by these interface blocks could have sent:
/// the configuration descriptor, then for each block its interface descriptor, its class
/// descriptor and the endpoints [`DumpInterface::endpoint_types`] gives.
///
/// Dumps do not record endpoint addresses or packet sizes, so they are made up: block `i`
/// (counting from 0) gets endpoint numbers `(3i + k) % 15 + 1` for k = 0 (bulk-IN), 1 (bulk-OUT)
/// and 2 (interrupt-IN); bulk endpoints take 64-byte packets, interrupt ones 16.
pub fn configuration_descriptor(interfaces: &[DumpInterface]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut numbers: Vec<u8> = Vec::new();
    for (i, block) in interfaces.iter().enumerate() {
        if !numbers.contains(&block.interface_number) {
            numbers.push(block.interface_number);
        }
        let types = block.endpoint_types();
        let endpoints = [
            (types.bulk_in, 0x80, 0x02, 64u16),
            (types.bulk_out, 0x00, 0x02, 64),
            (types.interrupt_in, 0x80, 0x03, 16),
        ];
        let count = endpoints.iter().filter(|e| e.0).count();
        body.extend_from_slice(&[
            9,
            0x04,
            block.interface_number,
            block.alternate_setting,
            u8::try_from(count).unwrap_or(0),
            block.interface_class,
            block.interface_subclass,
            block.interface_protocol,
            0,
        ]);
        body.extend_from_slice(&block.class_descriptor_bytes());
        for (k, (present, direction, attributes, size)) in endpoints.into_iter().enumerate() {
            if present {
                let number = ((3 * i + k) % 15 + 1) as u8;
                let [lo, hi] = size.to_le_bytes();
                body.extend_from_slice(&[7, 0x05, direction | number, attributes, lo, hi, 0]);
            }
        }
    }
    let total = u16::try_from(body.len() + 9)
        .unwrap_or(u16::MAX)
        .to_le_bytes();
    let mut configuration = vec![
        9,
        0x02,
        total[0],
        total[1],
        u8::try_from(numbers.len()).unwrap_or(u8::MAX),
        1,
        0,
        0x80,
        50,
    ];
    configuration.extend(body);
    configuration
}

/// One device of a dump, and what the driver finds in it.
///
/// A dump file may describe several devices (different readers, or one reader dumped twice),
/// so interface numbers and alternate settings identify a block only within its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpDevice<'a> {
    /// The device's blocks, in file order.
    pub blocks: &'a [DumpInterface],
    /// The configuration descriptor the device would send ([`configuration_descriptor`]).
    pub configuration: Vec<u8>,
    /// What [`find_ccid_interfaces`] makes of it, with the device's identity.
    pub found: Result<Vec<CcidInterface>, DescriptorError>,
}

impl DumpDevice<'_> {
    /// The interface the driver found for `block`, one of this device's blocks: the one with its
    /// interface number and alternate setting. `None` when the driver found none there.
    pub fn interface_for(&self, block: &DumpInterface) -> Option<&CcidInterface> {
        self.found.as_ref().ok()?.iter().find(|interface| {
            interface.interface_number == block.interface_number
                && interface.alternate_setting == block.alternate_setting
        })
    }
}

/// Splits a dump's blocks into devices and runs the driver's interface finding over each.
///
/// A block starts a new device when its identity (vendor, product, release) differs from the
/// blocks before it, or when they already have its interface number and alternate setting (the
/// same reader dumped again).
pub fn devices(blocks: &[DumpInterface]) -> Vec<DumpDevice<'_>> {
    let mut devices = Vec::new();
    let mut start = 0;
    for (index, block) in blocks.iter().enumerate() {
        let current = blocks.get(start..index).unwrap_or_default();
        let same_device = current.iter().all(|earlier| {
            earlier.device_info() == block.device_info()
                && (earlier.interface_number, earlier.alternate_setting)
                    != (block.interface_number, block.alternate_setting)
        });
        if !same_device {
            devices.push(device(current));
            start = index;
        }
    }
    match blocks.get(start..) {
        Some(rest) if !rest.is_empty() => devices.push(device(rest)),
        _ => {}
    }
    devices
}

fn device(blocks: &[DumpInterface]) -> DumpDevice<'_> {
    let configuration = configuration_descriptor(blocks);
    let found = match blocks.first() {
        Some(first) => find_ccid_interfaces(&first.device_info(), &configuration),
        None => Ok(Vec::new()),
    };
    DumpDevice {
        blocks,
        configuration,
        found,
    }
}

/// Parses dump bytes (not necessarily UTF-8: garbage strings are replaced).
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<DumpInterface>, DumpError> {
    parse(&String::from_utf8_lossy(bytes))
}

/// Parses a dump into its interface blocks, in file order.
pub fn parse(text: &str) -> Result<Vec<DumpInterface>, DumpError> {
    let mut blocks: Vec<RawBlock> = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw_line.trim_end();
        let content = line.trim_start();
        if content.is_empty() {
            continue;
        }
        let indented = line.len() != content.len();
        let field = split_field(content);

        if field.is_some_and(|(key, _)| key == "idVendor") {
            blocks.push(RawBlock::new(number));
        }
        let Some(block) = blocks.last_mut() else {
            return Err(DumpError::BeforeFirstBlock {
                line: number,
                text: content.to_string(),
            });
        };

        if let Some((known, value)) = field.and_then(|(key, value)| {
            lookup_field(block.class_section, key).map(|known| (known, value))
        }) {
            block.set(known, value, number)?;
        } else if content == "CCID Class Descriptor" {
            block.class_section = true;
        } else if let Some(rest) = content.strip_prefix("Can't get ") {
            // The tool could not read a string: record it as absent.
            let field = [
                ("iManufacturer", Field::Manufacturer),
                ("iProduct", Field::Product),
                ("iInterface", Field::InterfaceString),
            ]
            .into_iter()
            .find(|(name, _)| rest.starts_with(name));
            match field {
                Some((_, field)) => block.mark_absent(field, number)?,
                None => block.push_sub_line(content),
            }
        } else if !indented {
            // Every dump line starts with a space; one that does not is the end of the line
            // before, wrapped.
            block.continue_line(content);
        } else {
            block.push_sub_line(content);
        }
    }
    if blocks.is_empty() {
        return Err(DumpError::NoInterface);
    }
    blocks.into_iter().map(RawBlock::finish).collect()
}

/// `key: value` with a key made of letters only, as every field name is.
fn split_field(content: &str) -> Option<(&str, &str)> {
    let (key, value) = content.split_once(':')?;
    let key = key.trim();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic())).then(|| (key, value.trim()))
}

/// Every field of a block. The interface and class descriptors share `bLength` and
/// `bDescriptorType`; the `CCID Class Descriptor` line tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    VendorId,
    Manufacturer,
    ProductId,
    Product,
    BcdDevice,
    InterfaceLength,
    InterfaceDescriptorType,
    InterfaceNumber,
    AlternateSetting,
    NumEndpoints,
    InterfaceClass,
    InterfaceSubClass,
    InterfaceProtocol,
    InterfaceString,
    ClassLength,
    ClassDescriptorType,
    BcdCcid,
    MaxSlotIndex,
    VoltageSupport,
    Protocols,
    DefaultClock,
    MaximumClock,
    NumClockSupported,
    DataRate,
    MaxDataRate,
    NumDataRatesSupported,
    MaxIfsd,
    SynchProtocols,
    Mechanical,
    Features,
    MaxCcidMessageLength,
    ClassGetResponse,
    ClassEnvelope,
    LcdLayout,
    PinSupport,
    MaxCcidBusySlots,
}

const DEVICE_FIELDS: &[(&str, Field)] = &[
    ("idVendor", Field::VendorId),
    ("iManufacturer", Field::Manufacturer),
    ("idProduct", Field::ProductId),
    ("iProduct", Field::Product),
    ("bcdDevice", Field::BcdDevice),
    ("bLength", Field::InterfaceLength),
    ("bDescriptorType", Field::InterfaceDescriptorType),
    ("bInterfaceNumber", Field::InterfaceNumber),
    ("bAlternateSetting", Field::AlternateSetting),
    ("bNumEndpoints", Field::NumEndpoints),
    ("bInterfaceClass", Field::InterfaceClass),
    ("bInterfaceSubClass", Field::InterfaceSubClass),
    ("bInterfaceProtocol", Field::InterfaceProtocol),
    ("iInterface", Field::InterfaceString),
];

const CLASS_FIELDS: &[(&str, Field)] = &[
    ("bLength", Field::ClassLength),
    ("bDescriptorType", Field::ClassDescriptorType),
    ("bcdCCID", Field::BcdCcid),
    ("bMaxSlotIndex", Field::MaxSlotIndex),
    ("bVoltageSupport", Field::VoltageSupport),
    ("dwProtocols", Field::Protocols),
    ("dwDefaultClock", Field::DefaultClock),
    ("dwMaximumClock", Field::MaximumClock),
    ("bNumClockSupported", Field::NumClockSupported),
    ("dwDataRate", Field::DataRate),
    ("dwMaxDataRate", Field::MaxDataRate),
    ("bNumDataRatesSupported", Field::NumDataRatesSupported),
    ("dwMaxIFSD", Field::MaxIfsd),
    ("dwSynchProtocols", Field::SynchProtocols),
    ("dwMechanical", Field::Mechanical),
    ("dwFeatures", Field::Features),
    ("dwMaxCCIDMessageLength", Field::MaxCcidMessageLength),
    ("bClassGetResponse", Field::ClassGetResponse),
    ("bClassEnvelope", Field::ClassEnvelope),
    ("wLcdLayout", Field::LcdLayout),
    ("bPINSupport", Field::PinSupport),
    ("bMaxCCIDBusySlots", Field::MaxCcidBusySlots),
];

fn lookup_field(class_section: bool, key: &str) -> Option<Field> {
    // `idVendor` always opens a block, whatever section the previous one ended in.
    let table = if class_section && key != "idVendor" {
        CLASS_FIELDS
    } else {
        DEVICE_FIELDS
    };
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|&(_, field)| field)
}

fn field_name(field: Field) -> &'static str {
    DEVICE_FIELDS
        .iter()
        .chain(CLASS_FIELDS)
        .find(|(_, f)| *f == field)
        .map_or("?", |(name, _)| name)
}

/// A field line as read: its value text, line number and decoded lines.
#[derive(Debug, Clone)]
struct RawField {
    field: Field,
    value: Option<String>,
    line: usize,
    sub_lines: Vec<String>,
}

#[derive(Debug)]
struct RawBlock {
    line: usize,
    class_section: bool,
    fields: Vec<RawField>,
}

impl RawBlock {
    fn new(line: usize) -> RawBlock {
        RawBlock {
            line,
            class_section: false,
            fields: Vec::new(),
        }
    }

    fn set(&mut self, field: Field, value: &str, line: usize) -> Result<(), DumpError> {
        self.insert(field, Some(value.to_string()), line)
    }

    fn mark_absent(&mut self, field: Field, line: usize) -> Result<(), DumpError> {
        self.insert(field, None, line)
    }

    fn insert(
        &mut self,
        field: Field,
        value: Option<String>,
        line: usize,
    ) -> Result<(), DumpError> {
        if self.fields.iter().any(|f| f.field == field) {
            return Err(DumpError::DuplicateField {
                line,
                field: field_name(field),
            });
        }
        if matches!(field, Field::ClassLength | Field::ClassDescriptorType) {
            self.class_section = true;
        }
        self.fields.push(RawField {
            field,
            value,
            line,
            sub_lines: Vec::new(),
        });
        Ok(())
    }

    fn push_sub_line(&mut self, text: &str) {
        if let Some(last) = self.fields.last_mut() {
            last.sub_lines.push(text.to_string());
        }
    }

    fn continue_line(&mut self, text: &str) {
        let Some(last) = self.fields.last_mut() else {
            return;
        };
        let target = match last.sub_lines.last_mut() {
            Some(sub_line) => sub_line,
            None => last.value.get_or_insert_with(String::new),
        };
        target.push(' ');
        target.push_str(text);
    }

    fn get(&self, field: Field) -> Result<&RawField, DumpError> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .ok_or(DumpError::MissingField {
                line: self.line,
                field: field_name(field),
            })
    }

    /// A field's value read by `read`, which returns `None` when the text is not valid.
    fn value<T>(&self, field: Field, read: impl Fn(&str) -> Option<T>) -> Result<T, DumpError> {
        let raw = self.get(field)?;
        let text = raw.value.as_deref().unwrap_or("");
        read(text).ok_or_else(|| DumpError::BadValue {
            line: raw.line,
            field: field_name(field),
            value: text.to_string(),
        })
    }

    fn sub_lines(&self, field: Field) -> Vec<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.sub_lines.clone())
            .unwrap_or_default()
    }

    /// A string field: absent if missing or marked unreadable.
    fn string(&self, field: Field) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .and_then(|f| f.value.clone())
    }

    fn finish(self) -> Result<DumpInterface, DumpError> {
        let u8_field = |field| self.value(field, |t| first_number(t).and_then(to_u8));
        let u32_field = |field| self.value(field, |t| first_number(t).and_then(to_u32));
        let descriptor = CcidClassDescriptor {
            bcd_ccid: self.value(Field::BcdCcid, parse_bcd)?,
            max_slot_index: u8_field(Field::MaxSlotIndex)?,
            voltage_support: u8_field(Field::VoltageSupport)?,
            protocols: self.value(Field::Protocols, parse_protocols)?,
            default_clock_khz: self.value(Field::DefaultClock, parse_clock_khz)?,
            maximum_clock_khz: self.value(Field::MaximumClock, parse_clock_khz)?,
            num_clock_supported: u8_field(Field::NumClockSupported)?,
            data_rate: u32_field(Field::DataRate)?,
            max_data_rate: u32_field(Field::MaxDataRate)?,
            num_data_rates_supported: u8_field(Field::NumDataRatesSupported)?,
            max_ifsd: u32_field(Field::MaxIfsd)?,
            synch_protocols: u32_field(Field::SynchProtocols)?,
            mechanical: u32_field(Field::Mechanical)?,
            features: u32_field(Field::Features)?,
            max_ccid_message_length: u32_field(Field::MaxCcidMessageLength)?,
            class_get_response: u8_field(Field::ClassGetResponse)?,
            class_envelope: u8_field(Field::ClassEnvelope)?,
            lcd_layout: self.value(Field::LcdLayout, |t| first_number(t).and_then(to_u16))?,
            pin_support: u8_field(Field::PinSupport)?,
            max_ccid_busy_slots: u8_field(Field::MaxCcidBusySlots)?,
        };
        let decoded = Decoded {
            endpoints: self.sub_lines(Field::NumEndpoints),
            interface_class: self.sub_lines(Field::InterfaceClass),
            interface_protocol: self.sub_lines(Field::InterfaceProtocol),
            voltages: self.sub_lines(Field::VoltageSupport),
            protocols: self.sub_lines(Field::Protocols),
            clocks: self.sub_lines(Field::NumClockSupported),
            data_rates: self.sub_lines(Field::NumDataRatesSupported),
            features: self.sub_lines(Field::Features),
            pin_support: self.sub_lines(Field::PinSupport),
            max_slot_index: self.string(Field::MaxSlotIndex).unwrap_or_default(),
            max_message_length: self.string(Field::MaxCcidMessageLength).unwrap_or_default(),
        };
        Ok(DumpInterface {
            line: self.line,
            vendor_id: self.value(Field::VendorId, |t| first_number(t).and_then(to_u16))?,
            product_id: self.value(Field::ProductId, |t| first_number(t).and_then(to_u16))?,
            bcd_device: self.value(Field::BcdDevice, parse_bcd)?,
            manufacturer: self.string(Field::Manufacturer),
            product: self.string(Field::Product),
            interface_length: u8_field(Field::InterfaceLength)?,
            interface_descriptor_type: u8_field(Field::InterfaceDescriptorType)?,
            interface_number: u8_field(Field::InterfaceNumber)?,
            alternate_setting: u8_field(Field::AlternateSetting)?,
            num_endpoints: u8_field(Field::NumEndpoints)?,
            interface_class: u8_field(Field::InterfaceClass)?,
            interface_subclass: u8_field(Field::InterfaceSubClass)?,
            interface_protocol: u8_field(Field::InterfaceProtocol)?,
            interface_string: self.string(Field::InterfaceString),
            class_length: u8_field(Field::ClassLength)?,
            class_descriptor_type: u8_field(Field::ClassDescriptorType)?,
            descriptor,
            decoded,
        })
    }
}

fn to_u8(n: u64) -> Option<u8> {
    u8::try_from(n).ok()
}

fn to_u16(n: u64) -> Option<u16> {
    u16::try_from(n).ok()
}

fn to_u32(n: u64) -> Option<u32> {
    u32::try_from(n).ok()
}

/// A whole number: `0x`-prefixed hex or decimal.
fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

/// The first whitespace-separated token as a number ("271 bytes", "0x0B [Chip Card ...]",
/// "0 (will use whatever is returned)").
fn first_number(text: &str) -> Option<u64> {
    parse_number(text.split_whitespace().next()?)
}

/// A BCD release written `major.minor` with both parts in hex digits ("1.10", "10.01", "0.5").
fn parse_bcd(text: &str) -> Option<u16> {
    let token = text.split_whitespace().next()?;
    let (major, minor) = token.split_once('.')?;
    let digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    let major = u16::from_str_radix(major, 16).ok()?;
    let minor = u16::from_str_radix(minor, 16).ok()?;
    Some(major << 8 | minor)
}

/// `dwProtocols`, written as its high and low 16-bit words ("0x0000 0x0003"), or as one word.
fn parse_protocols(text: &str) -> Option<u32> {
    let mut tokens = text.split_whitespace();
    let first = parse_number(tokens.next()?)?;
    match tokens.next() {
        Some(low) => {
            let high = u32::try_from(first).ok().filter(|&h| h <= 0xFFFF)?;
            let low = u32::try_from(parse_number(low)?)
                .ok()
                .filter(|&l| l <= 0xFFFF)?;
            Some(high << 16 | low)
        }
        None => u32::try_from(first).ok(),
    }
}

/// A clock in kHz, written in MHz with three decimals ("3.580 MHz") or in kHz ("3580 kHz").
fn parse_clock_khz(text: &str) -> Option<u32> {
    let mut tokens = text.split_whitespace();
    let number = tokens.next()?;
    let unit = tokens.next().unwrap_or("kHz");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let khz = match unit {
        "MHz" if fraction.len() <= 3 => {
            // Pad the decimals to thousandths: "3.58" is 3580 kHz.
            let padded = format!("{fraction:0<3}");
            whole.checked_mul(1000)?.checked_add(padded.parse().ok()?)?
        }
        "kHz" if fraction.is_empty() => whole,
        _ => return None,
    };
    u32::try_from(khz).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const CASTLES: &str = " idVendor: 0x0CA6
  iManufacturer: CASTLES
 idProduct: 0x00A0
  iProduct: EZCCID Smart Card Reader
 bcdDevice: 0.10 (firmware release?)
 bLength: 9
 bDescriptorType: 4
 bInterfaceNumber: 0
 bAlternateSetting: 0
 bNumEndpoints: 3
  bulk-IN, bulk-OUT and Interrupt-IN
 bInterfaceClass: 0x0B [Chip Card Interface Device Class (CCID)]
 bInterfaceSubClass: 0
 bInterfaceProtocol: 0
  bulk transfer, optional interrupt-IN (CCID)
 Can't get iInterface string
 CCID Class Descriptor
  bLength: 0x36
  bDescriptorType: 0x21
  bcdCCID: 1.00
  bMaxSlotIndex: 0x00
  bVoltageSupport: 0x01
   5.0V
  dwProtocols: 0x0000 0x0003
   T=0
   T=1
  dwDefaultClock: 3.580 MHz
  dwMaximumClock: 3.580 MHz
  bNumClockSupported: 1
   Got 256 clock frequencies but was expecting 1
   Support 3580 kHz
  dwDataRate: 9600 bps
  dwMaxDataRate: 115200 bps
  bNumDataRatesSupported: 15
   Got 256 data rates but was expecting 15
  dwMaxIFSD: 252
  dwSynchProtocols: 0x00000000
  dwMechanical: 0x00000000
   No special characteristics
  dwFeatures: 0x00010130
   ....10 Automatic ICC clock frequency change according to parameters
   ....20 Automatic baud rate change according to frequency and Fi, Di
params
   ..01.. CCID can set ICC in clock stop mode
   01.... TPDU level exchange
  dwMaxCCIDMessageLength: 271 bytes
  bClassGetResponse: 0x00
  bClassEnvelope: 0x00
  wLcdLayout: 0x0000
  bPINSupport: 0x03
   PIN Verification supported
   PIN Modification supported
  bMaxCCIDBusySlots: 1
";

    #[test]
    fn reads_every_field_and_decoded_line() {
        let blocks = parse(CASTLES).unwrap();
        assert_eq!(blocks.len(), 1);
        let b = &blocks[0];
        assert_eq!(
            (b.vendor_id, b.product_id, b.bcd_device),
            (0x0CA6, 0x00A0, 0x0010)
        );
        assert_eq!(b.manufacturer.as_deref(), Some("CASTLES"));
        assert_eq!(b.interface_string, None);
        assert_eq!((b.interface_class, b.num_endpoints), (0x0B, 3));
        assert_eq!((b.class_length, b.class_descriptor_type), (0x36, 0x21));
        assert_eq!(b.descriptor.default_clock_khz, 3580);
        assert_eq!(b.descriptor.protocols, 3);
        assert_eq!(b.descriptor.features, 0x0001_0130);
        assert_eq!(b.descriptor.num_data_rates_supported, 15);
        assert_eq!(b.stated_exchange_level(), Some(ExchangeLevel::Tpdu));
        assert_eq!(b.stated_protocols(), (true, true));
        assert_eq!(b.stated_max_message_length(), Some(271));
        assert_eq!(b.stated_slot_count(), Some(1));
        assert!(b.stated_pin_support().verify && b.stated_pin_support().modify);
        // The wrapped word joins its line.
        assert!(b.decoded.features[1].ends_with("Fi, Di params"));
        assert!(b.endpoint_types().stated);
        let bytes = b.class_descriptor_bytes();
        assert_eq!(CcidClassDescriptor::parse(&bytes), Ok(b.descriptor.clone()));
    }

    #[test]
    fn tolerates_crlf_and_two_blocks() {
        let two = format!(
            "{CASTLES}{}",
            CASTLES.replace("bInterfaceNumber: 0", "bInterfaceNumber: 1")
        );
        let crlf = two.replace('\n', "\r\n");
        let blocks = parse(&crlf).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].interface_number, 1);
        assert_eq!(blocks[1].line, 54);
    }

    #[test]
    fn each_device_of_a_dump_gets_its_own_interfaces() {
        // A second reader with the same interface number and alternate setting but another
        // exchange level and message size, then the first reader dumped again.
        let other = CASTLES
            .replace("idVendor: 0x0CA6", "idVendor: 0x1234")
            .replace("dwFeatures: 0x00010130", "dwFeatures: 0x00040130")
            .replace("271 bytes", "1034 bytes");
        let blocks = parse(&format!("{CASTLES}{other}{CASTLES}")).unwrap();
        let found = devices(&blocks);
        assert_eq!(
            found.iter().map(|d| d.blocks.len()).collect::<Vec<_>>(),
            [1, 1, 1]
        );
        let seen: Vec<(u16, ExchangeLevel, usize)> = found
            .iter()
            .flat_map(|device| {
                device.blocks.iter().map(|block| {
                    let interface = device.interface_for(block).unwrap();
                    let descriptor = &interface.descriptor;
                    (
                        block.vendor_id,
                        descriptor.exchange_level(),
                        descriptor.max_message_length(),
                    )
                })
            })
            .collect();
        assert_eq!(
            seen,
            [
                (0x0CA6, ExchangeLevel::Tpdu, 271),
                (0x1234, ExchangeLevel::ExtendedApdu, 1034),
                (0x0CA6, ExchangeLevel::Tpdu, 271),
            ]
        );
        // Interfaces of one composite device stay together.
        let second_interface = CASTLES.replace("bInterfaceNumber: 0", "bInterfaceNumber: 1");
        let composite = parse(&format!("{CASTLES}{second_interface}")).unwrap();
        assert_eq!(devices(&composite).len(), 1);
    }

    #[test]
    fn refuses_what_is_not_a_dump() {
        assert_eq!(parse(""), Err(DumpError::NoInterface));
        assert!(matches!(
            parse("# supported readers\n0x0CA6:0x00A0:CASTLES\n"),
            Err(DumpError::BeforeFirstBlock { line: 1, .. })
        ));
        let missing = CASTLES.replace("  dwMaxIFSD: 252\n", "");
        assert!(matches!(
            parse(&missing),
            Err(DumpError::MissingField {
                field: "dwMaxIFSD",
                ..
            })
        ));
        let bad = CASTLES.replace("dwMaxIFSD: 252", "dwMaxIFSD: lots");
        assert!(matches!(
            parse(&bad),
            Err(DumpError::BadValue {
                field: "dwMaxIFSD",
                ..
            })
        ));
        let twice = CASTLES.replace("  bcdCCID: 1.00\n", "  bcdCCID: 1.00\n  bcdCCID: 1.10\n");
        assert!(matches!(
            parse(&twice),
            Err(DumpError::DuplicateField {
                field: "bcdCCID",
                ..
            })
        ));
    }

    #[test]
    fn reads_values_as_the_tool_prints_them() {
        assert_eq!(parse_bcd("10.01"), Some(0x1001));
        assert_eq!(parse_bcd("1.0 (firmware release?)"), Some(0x0100));
        assert_eq!(parse_bcd("1.100"), None);
        assert_eq!(parse_clock_khz("3.58 MHz"), Some(3580));
        assert_eq!(parse_clock_khz("4000 kHz"), Some(4000));
        assert_eq!(parse_clock_khz("4294967.295 MHz"), Some(u32::MAX));
        assert_eq!(parse_clock_khz("4294967.296 MHz"), None);
        assert_eq!(parse_protocols("0x0001 0x0003"), Some(0x0001_0003));
        assert_eq!(parse_protocols("0x10000 0x0003"), None);
        assert_eq!(first_number("0 (will use whatever is returned)"), Some(0));
        assert_eq!(first_number("0x"), None);
    }
}
