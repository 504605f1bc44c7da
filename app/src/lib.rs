//! The renewal page: a Leptos single-page app compiled to WebAssembly that drives the reader
//! over WebUSB, the card, and the authority.
//!
//! This crate is built by the renewal-page issue; it holds no code yet.
