//! Protocol and parameters selection (ISO/IEC 7816-3 §9), and the choice of transmission rate.
//!
//! SKELETON: bodies are filled in by the ATR/PPS work; signatures are the contract.

use crate::atr::Protocol;

/// A PPS request: PPSS (0xFF), PPS0, optional PPS1..PPS3, PCK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpsRequest {
    /// The protocol asked for (PPS0 low nibble).
    pub protocol: Protocol,
    /// PPS1: the Fi/Di index byte (TA1 format), if a rate other than the default is asked.
    pub fi_di: Option<u8>,
    /// PPS2 (SPU), rarely used.
    pub pps2: Option<u8>,
    /// PPS3 (reserved), rarely used.
    pub pps3: Option<u8>,
}

/// Why a PPS exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PpsError {
    /// The reply is shorter than its PPS0 announces, or empty.
    #[error("the PPS response is truncated")]
    Truncated,
    /// The reply does not start with PPSS 0xFF.
    #[error("the PPS response does not start with 0xFF")]
    BadPpss,
    /// PCK does not make the XOR of all bytes zero.
    #[error("the PPS response check byte is wrong")]
    BadPck,
    /// The card answered another protocol, or a PPS1 that is neither the request's nor absent:
    /// ISO 7816-3 treats that as a failed PPS exchange.
    #[error("the card refused the PPS request")]
    Refused,
    /// Bytes follow the PCK.
    #[error("the PPS response has trailing bytes")]
    TrailingBytes,
}

/// What the card agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpsOutcome {
    /// The protocol now in use.
    pub protocol: Protocol,
    /// The Fi/Di index now in use (0x11 when the card left PPS1 out of its answer).
    pub fi_di: u8,
}

impl PpsRequest {
    /// The request's bytes, PCK included.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }

    /// Parses a PPS request (the card side of the exchange uses this).
    pub fn parse(bytes: &[u8]) -> Result<PpsRequest, PpsError> {
        let _ = bytes;
        todo!()
    }

    /// Checks the card's answer against this request (ISO 7816-3 §9.3).
    pub fn check_response(&self, response: &[u8]) -> Result<PpsOutcome, PpsError> {
        let _ = response;
        todo!()
    }
}

/// The rates a reader can run a card at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderRates {
    /// The clock the reader gives the card, in kHz (`dwDefaultClock`).
    pub clock_khz: u32,
    /// The fastest rate in bps (`dwMaxDataRate`).
    pub max_data_rate: u32,
    /// The rates the reader lists (GET_DATA_RATES); empty means any rate up to the maximum.
    pub data_rates: Vec<u32>,
}

/// The rate in bps for a Fi/Di index byte at a clock, `None` for reserved indices.
pub fn baud_rate(fi_di: u8, clock_khz: u32) -> Option<u32> {
    let _ = (fi_di, clock_khz);
    todo!()
}

/// The fastest Fi/Di index byte that both the card (its TA1, `card_fi_di`) and the reader
/// allow: the card's own if the reader can run it, else the same Fi with the next lower Di that
/// the reader can run, down to the default 0x11 (which every reader runs).
pub fn select_fi_di(card_fi_di: u8, reader: &ReaderRates) -> u8 {
    let _ = (card_fi_di, reader);
    todo!()
}
