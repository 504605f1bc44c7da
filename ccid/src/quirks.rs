//! Reader quirks: every deviation a reader is known for is a row in [`QUIRKS`], keyed by
//! vendor/product id (and firmware release where it matters), with the reader's name and the
//! behaviour it works around.
//!
//! SKELETON: rows are filled in by the descriptor work; types are the contract.

use crate::descriptor::CcidClassDescriptor;

/// How a reader frames CCID messages on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// CCID as specified: dwLength little-endian.
    #[default]
    Standard,
    /// Castles EZ100PU: dwLength big-endian both ways; the power-on answer carries one 0x00
    /// before TS, counted in dwLength.
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
    /// Send bulk-OUT messages in transfers of at most this many bytes.
    pub bulk_out_chunk: Option<usize>,
    /// Read bulk-IN messages in transfers of at most this many bytes (a reader that never ends a
    /// message with a short or zero-length packet would otherwise leave a longer read waiting).
    pub bulk_in_chunk: Option<usize>,
}

/// Every known reader quirk.
pub static QUIRKS: &[ReaderQuirk] = &[];

/// The row for a device, if any.
pub fn lookup(vendor_id: u16, product_id: u16, bcd_device: u16) -> Option<&'static ReaderQuirk> {
    QUIRKS.iter().find(|row| {
        row.vendor_id == vendor_id
            && row.product_id == product_id
            && row
                .bcd_device
                .is_none_or(|(low, high)| (low..=high).contains(&bcd_device))
    })
}
