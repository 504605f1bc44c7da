//! The no-hardware demo and browser-test server: it runs the authority with its demo data, hosts
//! simulated readers holding the demo virtual cards, and bridges their USB transfers over a
//! WebSocket to a small script in the page that stands in for `navigator.usb`, so the page's
//! real WebUSB code runs unchanged. It serves the built app.
//!
//! Built so far: [`bridge`], the WebSocket side of the USB bridge (`www/usb-standin.js` is the
//! page side; `docs/usb-bridge.md` the protocol between them).

#![warn(missing_docs)]

pub mod bridge;
