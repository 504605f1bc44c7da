//! The citizen digital certificate card (自然人憑證) over any APDU channel: card number,
//! certificates, PIN, private-key operation and certificate write, and a virtual card.
//!
//! This crate is built by the card issue; it holds no code yet.
