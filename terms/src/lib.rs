//! The words the crates share, each defined once here and imported everywhere else.
//!
//! | word | here | also reachable as |
//! | --- | --- | --- |
//! | the card number (`TP03000000000123`) | [`CardNumber`] | `card::CardNumber`, `renewal::CardNumber` |
//! | which user key and certificate: signature (`02`, user certificate 2) or encryption (`01`, user certificate 1) | [`KeyRole`] | `card::KeyRole`, `renewal::KeyRole` |
//! | hex text (`3B B8 13`, `3BB813`) | [`hex`] | `ccid::hex` |
//!
//! Pure: no I/O, no clock, nothing that panics on input; builds for `wasm32-unknown-unknown`.
//! Its only dependencies are `thiserror` and, with the feature `serde`, `serde`. The USB
//! driver `ccid` uses [`hex`] only: it knows no card.

#![warn(missing_docs)]

pub mod card_number;
pub mod hex;
pub mod key_role;

pub use card_number::{CardNumber, CardNumberError, CARD_NUMBER_LENGTH};
pub use key_role::KeyRole;
