//! The renewal authority for citizen digital certificates (自然人憑證, MOICA): an open reference
//! of the operator's closed service, which the page, the demo and the tests use over HTTP.
//!
//! It checks the holder and the rules and issues the renewed certificates. Every rule and API
//! type is the `renewal` crate's; this crate adds the records, the CA and the HTTP service.
//!
//! - [`routes`]: the HTTP API of `renewal::api` (axum): JSON, versioned paths, stable error
//!   codes (`openapi.yaml` documents it);
//! - [`service`]: each endpoint's checks, in order, and issuance;
//! - [`storage`]: the records (sqlx; SQLite by default, PostgreSQL by URL), with "once only"
//!   enforced by a unique constraint;
//! - [`ca`], [`issuance`], [`signer`]: the CA, certificates in the MOICA profile built with
//!   `x509-cert` and signed with `ring`;
//! - [`identity`]: ID numbers kept only as a keyed hash;
//! - [`audit`], [`clock`], [`config`], [`files`], [`server`]: the audit log, the injected clock,
//!   settings, the data directory, running it;
//!
//! Demo holders and cards, and the load benchmark, are not the service's: they are the
//! `authority-tools` crate's (`DEMO.md`).
//!
//! No PIN ever reaches this service: the PIN goes to the card only. Logs never carry a full ID
//! number, a birthday or a signature.
//!
//! Embedding (the demo server, tests):
//!
//! ```no_run
//! # async fn run() -> Result<(), authority::AuthorityError> {
//! use authority::{clock::Clock, routes::api_router, server};
//! let data_dir = std::path::Path::new("authority-data");
//! let url = authority::config::default_database_url(data_dir);
//! let authority = server::open(data_dir, &url, Clock::system()).await?;
//! let running = server::spawn(api_router(authority), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("{}", running.url());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod audit;
pub mod ca;
pub mod clock;
pub mod command;
pub mod config;
pub mod cors;
pub mod error;
pub mod files;
pub mod identity;
pub mod issuance;
pub mod routes;
pub mod server;
pub mod service;
pub mod signer;
pub mod storage;

pub use error::AuthorityError;
pub use service::{Authority, Settings};
