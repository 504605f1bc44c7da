//! A USB CCID smart-card reader driver in pure Rust, for the web and everywhere else.
//!
//! (The crate overview is written with the reader exchange; see `README.md` meanwhile.)

#![warn(missing_docs)]

pub mod atr;
pub mod descriptor;
pub mod hex;
pub mod message;
pub mod pps;
pub mod quirks;
pub mod t1;
pub mod trace;
pub mod transport;
