//! The renewal page: a Leptos single-page app compiled to WebAssembly that drives the reader
//! over WebUSB, the card, and the authority.
//!
//! - [`flow`]: the renewal as a state machine in plain Rust, over three ports (the card in its
//!   reader, the authority, the reader chooser); tested natively against the simulated reader.
//! - [`i18n`]: every text, zh-TW first and English.
//! - [`offices`]: the household registration offices (`www/offices.json`).
//! - [`controller`]: runs the flow in the page and mirrors its state into a signal.
//! - [`kiosk`]: kiosk mode's switch and when an idle kiosk starts over.
//! - [`pages`]: the Leptos pages over the flow's state.
//! - [`platform`]: the browser's side: environment check, HTTP authority, timers, and the
//!   WebUSB chooser (WebAssembly only).

#![warn(missing_docs)]

pub mod controller;
pub mod flow;
pub mod i18n;
pub mod kiosk;
pub mod offices;
pub mod pages;
pub mod platform;
