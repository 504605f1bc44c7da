//! A USB CCID smart-card reader driver in pure Rust, for the web and everywhere else.
//!
//! (The crate overview is written with the reader exchange; see `README.md` meanwhile.)

#![warn(missing_docs)]

pub mod apdu;
pub mod atr;
pub mod descriptor;
mod error;
pub mod hex;
pub mod message;
pub mod pps;
pub mod quirks;
mod reader;
#[cfg(feature = "sim")]
pub mod sim;
pub mod t1;
pub mod transport;

pub use atr::Atr;
pub use error::Error;
pub use reader::{CardEvent, LinkInfo, Reader, ReaderOptions, SlotStatus};
pub use transport::{ControlSetup, TraceNote, TransportError, UsbDeviceInfo, UsbTransport};
