//! The Taiwan citizen digital certificate card (自然人憑證, MOICA) over any APDU channel.
//!
//! The card keeps the holder's two certificates and their RSA-2048 keys: key `01` for
//! encryption (user certificate 1) and key `02` for signatures (user certificate 2), beside the
//! root and issuing CA certificates, the card number and a version string. Renewing the
//! certificates means: read the card number and certificates, verify the PIN, let the card
//! sign the authority's challenge, and write the new certificates back.
//!
//! This crate does that over an [`ApduChannel`] — anything that carries command APDUs and
//! brings back responses. With the default feature `ccid`, `ccid::Reader` is one (the page's
//! WebUSB driver); PC/SC, the Web Smart Card API or a replayed trace can be others.
//!
//! ```no_run
//! # async fn run(mut reader: ccid::Reader<impl ccid::UsbTransport>) -> Result<(), Box<dyn std::error::Error>> {
//! let atr = reader.power_on().await?;
//! let generation = card::identify(atr.bytes())?; // not a citizen card: a typed error
//! let mut card = card::CitizenCard::new(&mut reader, generation);
//! let number = card.read_card_number().await?;
//! let certificates = card.read_certificates().await?;
//! for (slot, content) in certificates.iter() {
//!     println!("{number}: {slot}: {content:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # What it speaks
//! The reference profile of `shared/CARD.md`: the first generation's file layout and read
//! commands exactly (CLA `80`), and plain forms of PIN verification, the private-key
//! operation and writes where a real card needs its maker's secure messaging. Those steps go
//! through the [`SecureChannel`] trait, so an operator can plug in the real one without
//! changing callers; [`secure_channel`] says how. No card maker's key is, or may be, in this
//! crate.
//!
//! | step | module |
//! | --- | --- |
//! | which card: first generation, second (read only), or none | [`identify`](mod@identify) |
//! | card number, version, certificate slots, writes | [`files`], [`CitizenCard`] |
//! | PIN: form, tries left, verify | [`pin`] |
//! | host-side PKCS#1 v1.5 padding and check of the card's signature | [`signature`] |
//! | commands and status words | [`command`], [`status`] |
//! | the virtual card (feature `sim`) | `virtual_card` |
//!
//! # Secrets
//! The PIN goes to the card only: [`Pin`] cannot be printed or cloned and is wiped on drop;
//! the VERIFY command that carries it is wiped too; logs (`tracing`, debug level) name
//! commands, lengths and status words, never data; no error carries the PIN.
//!
//! # Features
//! - `ccid` (default): [`ApduChannel`] for `ccid::Reader`.
//! - `sim`: `virtual_card::VirtualCard`, the reference profile as an `ccid::sim::IccCard`, with
//!   its whole state serialisable (serde). Not for the production page.

#![warn(missing_docs)]

mod card;
#[cfg(feature = "ccid")]
mod ccid_channel;
pub mod channel;
pub mod command;
mod error;
pub mod files;
pub mod identify;
pub mod pin;
pub mod secure_channel;
pub mod signature;
pub mod status;
#[cfg(feature = "sim")]
pub mod virtual_card;

pub use card::CitizenCard;
pub use channel::{ApduChannel, ChannelError, ChannelErrorKind, ChannelLimits};
pub use command::KeyRole;
pub use error::CardError;
pub use files::{
    CardNumber, CardNumberError, Certificates, CorruptSlot, Slot, SlotContent, StoredCertificate,
};
pub use identify::{identify, Generation, IdentifyError};
pub use pin::{Pin, PinError, PinState, VerifyOutcome};
pub use secure_channel::{Plain, SecureChannel};
pub use signature::Signature;
pub use status::{Meaning, StatusWord};
