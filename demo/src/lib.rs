//! The no-hardware demo and browser-test server: it runs the authority with its demo data, hosts
//! simulated readers holding the demo virtual cards, and bridges their USB transfers over a
//! WebSocket to a small script in the page that stands in for `navigator.usb`, so the page's
//! real WebUSB code runs unchanged. It serves the built app.
//!
//! This crate is built by the renewal-page issue; it holds no code yet.
