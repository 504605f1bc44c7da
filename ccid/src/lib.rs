//! A USB CCID smart-card reader driver in pure Rust, for the web and everywhere else.
//!
//! Smart-card readers on USB speak CCID (the USB "Chip/Smart Card Interface Device" class,
//! revision 1.1): the host sends ten-byte-header messages on a bulk-OUT endpoint (power the card,
//! set protocol parameters, carry a block to the card) and reads one reply for each on bulk-IN;
//! an optional interrupt-IN endpoint announces card insertion and removal. How much of the
//! card protocol the reader handles varies by model, and the class descriptor says which:
//!
//! - **APDU level** (short, or short and extended): the reader runs the card; the host sends
//!   whole command APDUs, chained over `wLevelParameter` when they exceed the reader's message
//!   size.
//! - **TPDU level**: the host runs the card's transmission protocol itself — T=1 blocks with
//!   chaining, error recovery and waiting-time extensions, or T=0 with its `61xx`/`6Cxx`
//!   procedure — and negotiates speed with a PPS exchange when the reader does not.
//! - **Character level**: the host would drive every byte; this driver refuses such readers.
//!
//! [`Reader`] hides all of it: open a [`UsbTransport`], power the card, and exchange APDUs.
//!
//! ```no_run
//! # async fn run(transport: impl ccid::UsbTransport) -> Result<(), ccid::Error> {
//! let mut reader = ccid::Reader::open(transport).await?;
//! let atr = reader.power_on().await?;
//! println!("card protocols {:?}", atr.protocols());
//! let response = reader.transmit(&[0x80, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]).await?;
//! # let _ = response; Ok(()) }
//! ```
//!
//! # Platforms
//! The protocol code is pure: bytes in, bytes out, no I/O. A platform implements the one
//! [`UsbTransport`] trait (bulk, interrupt and control transfers; futures need not be `Send`, so
//! WebUSB works). Implementations in this crate: [`trace::RecordingTransport`] and
//! [`trace::ReplayTransport`], the simulated reader in `sim` (feature `sim`), and
//! `webusb::WebUsbTransport` over the browser's `navigator.usb` (feature `webusb`, wasm32 only;
//! its module documentation explains what WebUSB does differently: no timeouts, protected
//! classes, disconnection).
//!
//! What each platform needs before a page or program can open a reader:
//! - **WebUSB (Chromium)**: an ordinary page cannot claim an interface of the smart-card class
//!   0x0B (the WebUSB standard protects it; `claimInterface` fails with `SecurityError`).
//!   Readers whose CCID interface is vendor class 0xFF, and readers outside any class such as
//!   the Castles EZ100PU, work in a normal tab. Any reader works in an Isolated Web App granted
//!   `usb-unrestricted`, or in a kiosk browser configured for it.
//! - **Windows**: the reader must be bound to the WinUSB driver (not the inbox smart-card
//!   driver), e.g. with a driver package that names its VID:PID.
//! - **Linux**: a udev rule must give the user access to the device, and `pcscd` must not hold
//!   it (stop it, or exclude the reader from libccid).
//! - **macOS**: nothing, while no other driver holds the reader.
//!
//! # Reader quirks
//! Readers that deviate from the specification are rows in [`quirks::QUIRKS`], keyed by vendor
//! and product id: the supplied class descriptor of a reader that has none, a wire dialect (the
//! EZ100PU sends `dwLength` big-endian), bytes sent before the ATR (the EZ100PU's 0x00),
//! transfer sizes.
//!
//! # Bug reports
//! Wrap the transport in [`trace::RecordingTransport`] in export mode and attach the trace: one
//! line per USB transfer and APDU, with PIN digits in VERIFY commands and PIN-pad messages
//! replaced by `..`. [`trace::ReplayTransport`] replays it against the driver byte for byte.
//! The driver logs recoveries (retransmissions, resynchronisations, time extensions) with
//! `tracing` at debug level, never payload bytes.

#![warn(missing_docs)]

pub mod apdu;
pub mod atr;
pub mod descriptor;
mod error;
#[cfg(feature = "corpus")]
pub mod libccid_dump;
pub mod message;
pub mod pps;
mod protocol;
pub mod quirks;
mod reader;
#[cfg(feature = "sim")]
pub mod sim;
pub mod t1;
pub mod trace;
pub mod transport;

/// Hex text, as traces and ATR lists write it (the workspace's one hex helper, from `terms`).
pub use terms::hex;

#[cfg(all(feature = "webusb", target_arch = "wasm32"))]
pub mod webusb;

pub use atr::Atr;
pub use error::Error;
pub use protocol::Protocol;
pub use reader::{CardEvent, LinkInfo, Reader, ReaderOptions, SlotStatus};
pub use transport::{ControlSetup, TraceNote, TransportError, UsbDeviceInfo, UsbTransport};
