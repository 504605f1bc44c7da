//! The no-hardware demo and browser-test server: it runs the authority with its demo data, hosts
//! simulated readers holding the demo virtual cards, and bridges their USB transfers over a
//! WebSocket to a small script in the page that stands in for `navigator.usb`, so the page's
//! real WebUSB code runs unchanged. It serves the built app, with a demo panel.
//!
//! - [`server`]: the whole server ([`server::DemoServer`]); the `demo` binary runs it;
//! - [`bridge`]: the WebSocket side of the USB bridge (`www/usb-standin.js` is the page side;
//!   `docs/usb-bridge.md` the protocol between them);
//! - [`cards`]: the demo cards, loaded from and saved to the data directory;
//! - [`data`]: the data directory, made on first start;
//! - [`page`]: the page with the stand-in and the demo panel injected.

#![warn(missing_docs)]

pub mod bridge;
pub mod cards;
pub mod data;
pub mod error;
pub mod page;
pub mod server;

pub use error::DemoError;
