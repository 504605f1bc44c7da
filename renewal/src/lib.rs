//! The renewal domain: certificate model, eligibility rules (`RULES.md`), ROC dates, ID-number
//! check, the HTTP API types shared by the app and the authority, and the receipt. Pure: no I/O
//! and no clock.
//!
//! This crate is built by the renewal-rules issue; it holds no code yet.
