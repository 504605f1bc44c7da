//! The renewal authority service: HTTP API, storage, CA key and issuance, holder records,
//! audit log, rate limits and demo data.
//!
//! This crate is built by the authority issue; it holds no code yet.
