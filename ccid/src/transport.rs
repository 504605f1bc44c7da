//! The one seam between the driver and a platform: [`UsbTransport`].
//!
//! Everything above this trait is pure protocol code. WebUSB, the recorder, the replayer and the
//! simulated reader are implementations of it, each in its own module.

use std::time::Duration;

/// Identity of the USB device behind a transport, as its device descriptor states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsbDeviceInfo {
    /// `idVendor`.
    pub vendor_id: u16,
    /// `idProduct`.
    pub product_id: u16,
    /// `bcdDevice` (the firmware release, binary-coded decimal).
    pub bcd_device: u16,
}

impl std::fmt::Display for UsbDeviceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04X}:{:04X} bcdDevice {:X}.{:02X}",
            self.vendor_id,
            self.product_id,
            self.bcd_device >> 8,
            self.bcd_device & 0xFF
        )
    }
}

/// The eight-byte SETUP packet of a control transfer, without `wLength` (the transfer's own
/// length gives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSetup {
    /// `bmRequestType`: direction, type (standard, class, vendor) and recipient.
    pub request_type: u8,
    /// `bRequest`.
    pub request: u8,
    /// `wValue`.
    pub value: u16,
    /// `wIndex`.
    pub index: u16,
}

/// Why a USB transfer did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Nothing arrived before the deadline the driver set.
    #[error("the USB transfer timed out")]
    Timeout,
    /// The device is gone (unplugged, or the platform closed it).
    #[error("the reader was disconnected")]
    Disconnected,
    /// The endpoint answered with a STALL.
    #[error("the reader stalled the endpoint")]
    Stall,
    /// The platform refused access to the interface (WebUSB protects the smart-card class
    /// 0x0B in ordinary pages).
    #[error("the platform refused access to the reader's interface: {0}")]
    AccessDenied(String),
    /// A replayed trace and the driver disagree; the message names the line and the byte.
    #[error("trace replay mismatch: {0}")]
    Replay(String),
    /// Any other platform failure, with the platform's own words.
    #[error("USB transfer failed: {0}")]
    Other(String),
}

/// What the driver tells a transport about the exchange it is carrying, so a recorder can write
/// it into a trace next to the USB transfers. Other transports ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceNote<'a> {
    /// The command APDU the application asked to send.
    CommandApdu(&'a [u8]),
    /// The response APDU handed back to the application.
    ResponseApdu(&'a [u8]),
    /// The answer to reset of the card just powered.
    Atr(&'a [u8]),
}

/// A USB device holding a CCID interface, as a platform exposes it.
///
/// Futures need not be `Send`: WebUSB futures live on the browser's single thread.
///
/// Endpoint arguments are endpoint addresses (with the direction bit), as the interface
/// descriptor gives them.
#[allow(async_fn_in_trait)]
pub trait UsbTransport {
    /// The device's identity.
    fn device_info(&self) -> UsbDeviceInfo;

    /// Claims an interface (and selects its alternate setting) for this driver's exclusive use.
    async fn claim_interface(&mut self, interface: u8, alternate: u8)
        -> Result<(), TransportError>;

    /// A control transfer from the device, reading at most `length` bytes.
    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError>;

    /// A control transfer to the device.
    async fn control_out(&mut self, setup: ControlSetup, data: &[u8])
        -> Result<(), TransportError>;

    /// One bulk OUT transfer.
    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError>;

    /// One bulk IN transfer of at most `max_length` bytes, waiting at most `timeout`.
    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError>;

    /// One interrupt IN transfer of at most `max_length` bytes, waiting at most `timeout`.
    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError>;

    /// Receives a note about the exchange for a trace. The default ignores it.
    fn note(&mut self, note: TraceNote<'_>) {
        let _ = note;
    }
}
