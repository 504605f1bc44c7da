//! The T=1 block transmission protocol (ISO/IEC 7816-3 §11), for readers that exchange TPDUs.
//!
//! [`block`] encodes and checks blocks; [`host`] is the interface device's side as a pure state
//! machine (bytes in, bytes out) that the reader drives; `card` is the card's side, which the
//! simulated reader runs.

pub mod block;
#[cfg(any(test, feature = "sim"))]
pub mod card;
pub mod host;

pub use block::{Block, BlockError, SBlock};
#[cfg(any(test, feature = "sim"))]
pub use card::{CardFault, T1Card};
pub use host::{LinkError, Outgoing, T1Error, T1Host, T1Params, T1Step};
