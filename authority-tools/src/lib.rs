//! What runs beside the renewal authority but is no part of the service, so that the service
//! crate carries neither the card simulator nor an HTTP client:
//!
//! - [`demo`]: the demo holders, their certificates in the authority's records and one virtual
//!   card per case (`authority-tools init-demo`, `authority/DEMO.md`); the demo server and the
//!   end-to-end tests use them;
//! - [`mod@bench`]: the load benchmark client (`authority-tools bench`);
//! - [`server_process`]: the authority as a process of its own (`authority-tools serve`, which is
//!   `authority serve`), to kill and to measure.
//!
//! The tests of this crate drive the authority over HTTP with the demo cards (`tests/api.rs`);
//! the authority's own tests are those of its records.

#![warn(missing_docs)]

pub mod bench;
pub mod demo;
pub mod error;
pub mod in_process;
pub mod server_process;

pub use error::ToolsError;
