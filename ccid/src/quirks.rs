//! Reader quirks: every deviation a reader is known for is a row in [`QUIRKS`], keyed by
//! vendor/product id (and firmware release where it matters), with the reader's name and the
//! behaviour it works around.
//!
//! Rows are data. Code elsewhere asks a row what to do (its [`Dialect`], its chunk size, its
//! descriptor, the bytes before its ATR) and never tests a vendor or product id itself, so this table stays the one place
//! where reader-specific behaviour lives.

use crate::descriptor::CcidClassDescriptor;

/// How a reader frames CCID messages on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// CCID as specified: dwLength little-endian.
    #[default]
    Standard,
    /// Castles EZ100PU: dwLength big-endian both ways.
    Ez100pu,
}

/// One known reader and what it needs.
#[derive(Debug, PartialEq, Eq)]
pub struct ReaderQuirk {
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
    /// Inclusive bcdDevice range the row applies to; `None` for every release.
    pub bcd_device: Option<(u16, u16)>,
    /// The reader's name, as sold.
    pub name: &'static str,
    /// What the row works around, in a sentence.
    pub behaviour: &'static str,
    /// The interface class the reader uses where it is neither 0x0B nor 0xFF.
    pub interface_class: Option<u8>,
    /// A class descriptor for readers that have none.
    pub class_descriptor: Option<CcidClassDescriptor>,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Bytes the reader puts before TS in its power-on answer (counted in dwLength), dropped
    /// before the ATR is parsed; empty for a reader that sends the ATR alone.
    pub atr_prefix: &'static [u8],
    /// Send bulk-OUT messages in transfers of at most this many bytes.
    pub bulk_out_chunk: Option<usize>,
    /// Read bulk-IN messages in transfers of at most this many bytes (a reader that never ends a
    /// message with a short or zero-length packet would otherwise leave a longer read waiting).
    pub bulk_in_chunk: Option<usize>,
}

impl ReaderQuirk {
    /// Whether this row applies to a device with these identifiers.
    pub fn matches(&self, vendor_id: u16, product_id: u16, bcd_device: u16) -> bool {
        self.vendor_id == vendor_id
            && self.product_id == product_id
            && self
                .bcd_device
                .is_none_or(|(low, high)| (low..=high).contains(&bcd_device))
    }
}

/// The descriptor the EZ100PU would carry if it had one. Values are what the reader does, as
/// observed on the wire, so the rest of the driver can treat it like any TPDU reader.
pub const EZ100PU_DESCRIPTOR: CcidClassDescriptor = CcidClassDescriptor {
    // Plain CCID 1.00 framing (apart from the dialect's byte order).
    bcd_ccid: 0x0100,
    // A single contact slot.
    max_slot_index: 0,
    // 5 V, 3 V and 1.8 V cards all power up.
    voltage_support: 0x07,
    // T=0 and T=1 cards.
    protocols: 0x0000_0003,
    // A fixed 3.6864 MHz crystal: no clock to choose, so default and maximum agree.
    default_clock_khz: 3686,
    maximum_clock_khz: 3686,
    // No GET_CLOCK_FREQUENCIES list to ask for.
    num_clock_supported: 0,
    // 3.6864 MHz / 372 (Fi=372, Di=1, the rate every card starts at).
    data_rate: 9909,
    // The fastest rate a PPS can select on this reader.
    max_data_rate: 115_200,
    // No GET_DATA_RATES list to ask for.
    num_data_rates_supported: 0,
    // The T=1 maximum: the reader relays whatever IFSD the host negotiates.
    max_ifsd: 254,
    // No synchronous (memory) cards.
    synch_protocols: 0,
    // No card capture or ejection mechanics.
    mechanical: 0,
    // TPDU level (0x10000); clock (0x10) and baud rate (0x20) follow SetParameters. Nothing
    // else is automatic: the host sends the PPS, the SetParameters and the T=1 IFSD request.
    features: 0x0001_0030,
    // A 10-byte header and the largest short TPDU (5 + 256) the reader buffers.
    max_ccid_message_length: 271,
    // 0xFF: echo the APDU's class byte. Only APDU-level readers build GET RESPONSE or
    // ENVELOPE themselves, so at TPDU level these two are inert.
    class_get_response: 0xFF,
    class_envelope: 0xFF,
    // No display.
    lcd_layout: 0,
    // No PIN pad.
    pin_support: 0,
    // One command at a time.
    max_ccid_busy_slots: 1,
};

/// Every known reader quirk.
pub static QUIRKS: &[ReaderQuirk] = &[ReaderQuirk {
    vendor_id: 0x0CA6,
    product_id: 0x0010,
    bcd_device: None,
    name: "Castles EZ100PU",
    behaviour: "Not in the smart-card class (interface class 0x00, no CCID class descriptor), \
                sends and expects dwLength big-endian, puts one 0x00 before TS in the power-on \
                answer, and takes bulk-OUT data in 16-byte packets.",
    interface_class: Some(0x00),
    class_descriptor: Some(EZ100PU_DESCRIPTOR),
    dialect: Dialect::Ez100pu,
    atr_prefix: &[0x00],
    bulk_out_chunk: Some(16),
    // Its 16-byte packets end a message without a short packet when the message is a multiple
    // of 16 bytes long: read one packet per transfer.
    bulk_in_chunk: Some(16),
}];

/// The row for a device, if any.
pub fn lookup(vendor_id: u16, product_id: u16, bcd_device: u16) -> Option<&'static ReaderQuirk> {
    QUIRKS
        .iter()
        .find(|quirk| quirk.matches(vendor_id, product_id, bcd_device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::ExchangeLevel;

    #[test]
    fn ez100pu_matches_every_release() {
        for bcd in [0x0000, 0x0100, 0xFFFF] {
            let row = lookup(0x0CA6, 0x0010, bcd);
            assert_eq!(row.map(|q| q.name), Some("Castles EZ100PU"));
        }
        assert_eq!(lookup(0x0CA6, 0x00A0, 0x0010), None);
        assert_eq!(lookup(0x0CA7, 0x0010, 0x0100), None);
    }

    #[test]
    fn ez100pu_row_names_the_byte_before_its_atr() {
        let row = lookup(0x0CA6, 0x0010, 0x0100);
        assert_eq!(row.map(|q| q.atr_prefix), Some(&[0x00][..]));
        assert!(QUIRKS
            .iter()
            .filter(|q| q.name != "Castles EZ100PU")
            .all(|q| q.atr_prefix.is_empty()));
    }

    #[test]
    fn bcd_device_range_is_inclusive() {
        let row = ReaderQuirk {
            vendor_id: 0x1234,
            product_id: 0x5678,
            bcd_device: Some((0x0100, 0x0200)),
            name: "test reader",
            behaviour: "none",
            interface_class: None,
            class_descriptor: None,
            dialect: Dialect::Standard,
            atr_prefix: &[],
            bulk_out_chunk: None,
            bulk_in_chunk: None,
        };
        assert!(!row.matches(0x1234, 0x5678, 0x00FF));
        assert!(row.matches(0x1234, 0x5678, 0x0100));
        assert!(row.matches(0x1234, 0x5678, 0x0200));
        assert!(!row.matches(0x1234, 0x5678, 0x0201));
        assert!(!row.matches(0x1234, 0x5679, 0x0150));
    }

    #[test]
    fn ez100pu_descriptor_says_what_the_driver_must_do() {
        let d = EZ100PU_DESCRIPTOR;
        assert_eq!(d.exchange_level(), ExchangeLevel::Tpdu);
        let auto = d.automatic();
        assert!(auto.clock && auto.baud_rate);
        assert!(!auto.pps && !auto.negotiation && !auto.parameters_from_atr);
        assert!(!auto.ifsd_exchange);
        assert_eq!(d.slot_count(), 1);
        assert!(d.supports_t0() && d.supports_t1());
        assert_eq!(d.max_message_length(), 271);
    }
}
