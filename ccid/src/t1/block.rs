//! T=1 blocks: prologue (NAD, PCB, LEN), information field, epilogue (LRC or CRC).

use crate::atr::Edc;

/// The supervisory functions of S-blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SBlock {
    /// RESYNCH request (PCB 0xC0).
    ResynchRequest,
    /// RESYNCH response (0xE0).
    ResynchResponse,
    /// IFS request with the new size (0xC1).
    IfsRequest(u8),
    /// IFS response echoing the size (0xE1).
    IfsResponse(u8),
    /// ABORT request (0xC2).
    AbortRequest,
    /// ABORT response (0xE2).
    AbortResponse,
    /// WTX request with the multiplier (0xC3).
    WtxRequest(u8),
    /// WTX response echoing the multiplier (0xE3).
    WtxResponse(u8),
}

/// A decoded block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Information block: send-sequence number N(S) (0/1), more-data bit, information field.
    I {
        /// N(S).
        ns: u8,
        /// M: more blocks follow (chaining).
        more: bool,
        /// INF.
        inf: Vec<u8>,
    },
    /// Receive-ready block: N(R) and the error it reports (0 none, 1 EDC/parity, 2 other).
    R {
        /// N(R).
        nr: u8,
        /// Error code (PCB bits 1–2).
        error: u8,
    },
    /// Supervisory block.
    S(SBlock),
}

/// Why received bytes are not a valid block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Shorter than prologue + epilogue, or LEN disagrees with the byte count.
    #[error("the T=1 block length is inconsistent")]
    BadLength,
    /// LRC/CRC mismatch.
    #[error("the T=1 block check (EDC) is wrong")]
    BadEdc,
    /// PCB coding not defined by ISO 7816-3 (or LEN 0xFF).
    #[error("the T=1 block's PCB 0x{0:02X} is not a valid coding")]
    BadPcb(u8),
}

/// Encodes a block with NAD and EDC.
pub fn encode(nad: u8, block: &Block, edc: Edc) -> Vec<u8> {
    let _ = (nad, block, edc);
    todo!()
}

/// Decodes and checks a block; returns its NAD and content.
pub fn decode(bytes: &[u8], edc: Edc) -> Result<(u8, Block), BlockError> {
    let _ = (bytes, edc);
    todo!()
}
