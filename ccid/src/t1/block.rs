//! T=1 blocks: prologue (NAD, PCB, LEN), information field, epilogue (LRC or CRC).
//!
//! Codings are those of ISO/IEC 7816-3:2006 §11.3:
//!
//! | block | PCB            | INF                       |
//! |-------|----------------|---------------------------|
//! | I     | `0 N(S) M 00000` | 0..=254 bytes           |
//! | R     | `100 N(R) 00 ee` | none; `ee` 0 ok, 1 EDC/parity error, 2 other error |
//! | S     | `11 r 000 ff`    | one byte for IFS and WTX, none for RESYNCH and ABORT; `r` set in responses |
//!
//! Every other PCB coding, LEN 0xFF, and an INF that does not fit the block type are rejected as
//! [`BlockError::BadPcb`].

use crate::atr::Edc;

/// The largest information field a block carries (LEN 0xFF is reserved, §11.3.2.3).
pub const MAX_INF: usize = 254;

/// Bytes of prologue: NAD, PCB, LEN.
const PROLOGUE: usize = 3;

/// PCB bit 8–7 patterns and fields.
const PCB_TYPE_MASK: u8 = 0xC0;
const PCB_R: u8 = 0x80;
const PCB_S: u8 = 0xC0;
const I_NS: u8 = 0x40;
const I_MORE: u8 = 0x20;
/// I-block bits 5–1 are reserved and zero.
const I_RESERVED: u8 = 0x1F;
const R_NR: u8 = 0x10;
/// R-block bit 6 and bits 4–3 are zero.
const R_RESERVED: u8 = 0x2C;
const R_ERROR: u8 = 0x03;
const S_RESPONSE: u8 = 0x20;
/// S-block bits 5–3 are zero for the four defined functions.
const S_RESERVED: u8 = 0x1C;
const S_FUNCTION: u8 = 0x03;
const S_RESYNCH: u8 = 0;
const S_IFS: u8 = 1;
const S_ABORT: u8 = 2;
const S_WTX: u8 = 3;

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
    /// PCB coding not defined by ISO 7816-3 (or LEN 0xFF). Also an R- or S-block whose
    /// information field does not fit its type (an R-block with INF, S(IFS) without its byte).
    #[error("the T=1 block's PCB 0x{0:02X} is not a valid coding")]
    BadPcb(u8),
}

/// Encodes a block with NAD and EDC.
///
/// An I-block's INF is cut to [`MAX_INF`] bytes (LEN cannot say more); callers chain by IFSC,
/// which is at most 254. N(S), N(R) and the error code are taken modulo their field width.
pub fn encode(nad: u8, block: &Block, edc: Edc) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROLOGUE + MAX_INF + 2);
    out.push(nad);
    match block {
        Block::I { ns, more, inf } => {
            let inf = inf.get(..MAX_INF).unwrap_or(inf);
            let mut pcb = if ns & 1 == 1 { I_NS } else { 0 };
            if *more {
                pcb |= I_MORE;
            }
            out.push(pcb);
            out.push(u8::try_from(inf.len()).unwrap_or(u8::MAX - 1));
            out.extend_from_slice(inf);
        }
        Block::R { nr, error } => {
            let mut pcb = PCB_R | (error & R_ERROR);
            if nr & 1 == 1 {
                pcb |= R_NR;
            }
            out.extend_from_slice(&[pcb, 0]);
        }
        Block::S(s) => {
            let (function, response, inf) = match *s {
                SBlock::ResynchRequest => (S_RESYNCH, false, None),
                SBlock::ResynchResponse => (S_RESYNCH, true, None),
                SBlock::IfsRequest(v) => (S_IFS, false, Some(v)),
                SBlock::IfsResponse(v) => (S_IFS, true, Some(v)),
                SBlock::AbortRequest => (S_ABORT, false, None),
                SBlock::AbortResponse => (S_ABORT, true, None),
                SBlock::WtxRequest(v) => (S_WTX, false, Some(v)),
                SBlock::WtxResponse(v) => (S_WTX, true, Some(v)),
            };
            let pcb = PCB_S | function | if response { S_RESPONSE } else { 0 };
            out.push(pcb);
            match inf {
                Some(v) => out.extend_from_slice(&[1, v]),
                None => out.push(0),
            }
        }
    }
    append_edc(&mut out, edc);
    out
}

/// Decodes and checks a block; returns its NAD and content.
///
/// Checks, in order: the length against LEN (and LEN 0xFF), the EDC, then the PCB coding.
pub fn decode(bytes: &[u8], edc: Edc) -> Result<(u8, Block), BlockError> {
    let [nad, pcb, len, rest @ ..] = bytes else {
        return Err(BlockError::BadLength);
    };
    let edc_len = edc_len(edc);
    if rest.len() < edc_len {
        return Err(BlockError::BadLength);
    }
    if *len == 0xFF {
        return Err(BlockError::BadPcb(*pcb));
    }
    let inf_len = usize::from(*len);
    if rest.len() != inf_len + edc_len {
        return Err(BlockError::BadLength);
    }
    let (body, check) = bytes
        .split_at_checked(PROLOGUE + inf_len)
        .ok_or(BlockError::BadLength)?;
    if epilogue(body, edc).as_slice() != check {
        return Err(BlockError::BadEdc);
    }
    let inf = rest.get(..inf_len).ok_or(BlockError::BadLength)?;
    Ok((*nad, parse_pcb(*pcb, inf)?))
}

/// Interprets a PCB with its INF (§11.3.2.2).
fn parse_pcb(pcb: u8, inf: &[u8]) -> Result<Block, BlockError> {
    let bad = BlockError::BadPcb(pcb);
    match pcb & PCB_TYPE_MASK {
        PCB_R => {
            let error = pcb & R_ERROR;
            if pcb & R_RESERVED != 0 || error == 3 || !inf.is_empty() {
                return Err(bad);
            }
            Ok(Block::R {
                nr: u8::from(pcb & R_NR != 0),
                error,
            })
        }
        PCB_S => {
            if pcb & S_RESERVED != 0 {
                return Err(bad);
            }
            let response = pcb & S_RESPONSE != 0;
            let s = match (pcb & S_FUNCTION, response, inf) {
                (S_RESYNCH, false, []) => SBlock::ResynchRequest,
                (S_RESYNCH, true, []) => SBlock::ResynchResponse,
                (S_IFS, false, [v]) => SBlock::IfsRequest(*v),
                (S_IFS, true, [v]) => SBlock::IfsResponse(*v),
                (S_ABORT, false, []) => SBlock::AbortRequest,
                (S_ABORT, true, []) => SBlock::AbortResponse,
                (S_WTX, false, [v]) => SBlock::WtxRequest(*v),
                (S_WTX, true, [v]) => SBlock::WtxResponse(*v),
                _ => return Err(bad),
            };
            Ok(Block::S(s))
        }
        _ => {
            if pcb & I_RESERVED != 0 {
                return Err(bad);
            }
            Ok(Block::I {
                ns: u8::from(pcb & I_NS != 0),
                more: pcb & I_MORE != 0,
                inf: inf.to_vec(),
            })
        }
    }
}

/// Number of epilogue bytes.
pub(crate) fn edc_len(edc: Edc) -> usize {
    match edc {
        Edc::Lrc => 1,
        Edc::Crc => 2,
    }
}

/// Appends the epilogue computed over everything already in `out`.
pub(crate) fn append_edc(out: &mut Vec<u8>, edc: Edc) {
    let check = epilogue(out, edc);
    out.extend_from_slice(&check);
}

/// The epilogue bytes for a prologue and information field, in transmission order.
fn epilogue(body: &[u8], edc: Edc) -> Vec<u8> {
    match edc {
        Edc::Lrc => vec![lrc(body)],
        Edc::Crc => crc(body).to_vec(),
    }
}

/// LRC: the exclusive-or of all bytes of the prologue and INF (ISO/IEC 7816-3 §11.4.4).
fn lrc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// CRC, in transmission order.
///
/// ISO/IEC 7816-3:2006 §11.4.4 gives no algorithm of its own: it refers the two-byte CRC to
/// ISO/IEC 13239 (formerly ISO 3309), the HDLC 16-bit frame check sequence. That FCS uses the
/// generator x^16 + x^12 + x^5 + 1, presets the register to all ones, shifts each byte in least
/// significant bit first (the order of the serial line, which direct convention shares),
/// transmits the ones' complement of the remainder, and sends the remainder's low-order byte
/// first (reflected form: polynomial 0x8408). This is the catalogued CRC-16/ISO-HDLC
/// ("X-25"): check value 0x906E over "123456789". ISO/IEC 14443-3 Annex B uses the same
/// ISO/IEC 13239 CRC as CRC_B and publishes vectors that the tests use: 00 00 00 → CC C6 and
/// 0F AA FF → FC D1, in transmission order.
///
/// Implementations disagree in the field: pcsc-lite's CCID driver (openct `checksum.c`) sends
/// the register without complement, high byte first (`00 C1 01 FE` → `54 4E`, where this
/// function gives `B1 AB`), and Windows' driver was observed using CRC-16/ARC. Cards asking
/// for CRC are rare enough that no card was found to settle it; this follows the standard.
fn crc(bytes: &[u8]) -> [u8; 2] {
    let mut register: u16 = 0xFFFF;
    for &byte in bytes {
        register ^= u16::from(byte);
        for _ in 0..8 {
            register = if register & 1 == 1 {
                (register >> 1) ^ 0x8408
            } else {
                register >> 1
            };
        }
    }
    (!register).to_le_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hex;

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    #[test]
    fn i_block_with_lrc_exact_bytes() {
        // SELECT MF-style command header 80 A4 00 00 02 in the first I-block, N(S) 0, no chaining.
        // LRC by hand: 00 ^ 00 ^ 05 = 05; 05 ^ 80 = 85; 85 ^ A4 = 21; 21 ^ 00 ^ 00 = 21;
        // 21 ^ 02 = 23.
        let block = Block::I {
            ns: 0,
            more: false,
            inf: bytes("80 A4 00 00 02"),
        };
        let encoded = encode(0, &block, Edc::Lrc);
        assert_eq!(encoded, bytes("00 00 05 80 A4 00 00 02 23"));
        assert_eq!(decode(&encoded, Edc::Lrc), Ok((0, block)));
    }

    #[test]
    fn chained_i_block_with_ns_1_exact_bytes() {
        // PCB 0x60 = N(S) 1, M 1. LRC: 60 ^ 02 = 62; 62 ^ 11 = 73; 73 ^ 22 = 51.
        let block = Block::I {
            ns: 1,
            more: true,
            inf: vec![0x11, 0x22],
        };
        assert_eq!(encode(0, &block, Edc::Lrc), bytes("00 60 02 11 22 51"));
    }

    #[test]
    fn s_ifs_request_exact_bytes() {
        // 00 ^ C1 ^ 01 ^ FE = 3E.
        let block = Block::S(SBlock::IfsRequest(0xFE));
        assert_eq!(encode(0, &block, Edc::Lrc), bytes("00 C1 01 FE 3E"));
        assert_eq!(
            decode(&bytes("00 C1 01 FE 3E"), Edc::Lrc),
            Ok((0, block.clone()))
        );
        // The ISO/IEC 13239 CRC of 00 C1 01 FE is 0xABB1 after complement, low byte first.
        assert_eq!(encode(0, &block, Edc::Crc), bytes("00 C1 01 FE B1 AB"));
    }

    #[test]
    fn r_and_s_blocks_exact_bytes() {
        let cases = [
            (Block::R { nr: 0, error: 0 }, "00 80 00 80"),
            (Block::R { nr: 1, error: 0 }, "00 90 00 90"),
            (Block::R { nr: 0, error: 1 }, "00 81 00 81"),
            (Block::R { nr: 1, error: 2 }, "00 92 00 92"),
            (Block::S(SBlock::ResynchRequest), "00 C0 00 C0"),
            (Block::S(SBlock::ResynchResponse), "00 E0 00 E0"),
            (Block::S(SBlock::AbortRequest), "00 C2 00 C2"),
            (Block::S(SBlock::AbortResponse), "00 E2 00 E2"),
            // E3 ^ 01 ^ 05 = E7.
            (Block::S(SBlock::WtxResponse(5)), "00 E3 01 05 E7"),
            (Block::S(SBlock::WtxRequest(5)), "00 C3 01 05 C7"),
            (Block::S(SBlock::IfsResponse(0x20)), "00 E1 01 20 C0"),
        ];
        for (block, text) in cases {
            assert_eq!(encode(0, &block, Edc::Lrc), bytes(text), "{block:?}");
            assert_eq!(decode(&bytes(text), Edc::Lrc), Ok((0, block)));
        }
    }

    #[test]
    fn crc_matches_published_iso_13239_vectors() {
        // ISO/IEC 14443-3 Annex B (CRC_B is the ISO/IEC 13239 CRC), transmission order.
        assert_eq!(crc(&[0x00, 0x00, 0x00]), [0xCC, 0xC6]);
        assert_eq!(crc(&[0x0F, 0xAA, 0xFF]), [0xFC, 0xD1]);
        // CRC-16/ISO-HDLC catalogue check value 0x906E, low byte first.
        assert_eq!(crc(b"123456789"), [0x6E, 0x90]);
    }

    #[test]
    fn crc_block_round_trip_and_residue() {
        let block = Block::I {
            ns: 1,
            more: false,
            inf: (0..=200).collect(),
        };
        let encoded = encode(0x21, &block, Edc::Crc);
        assert_eq!(encoded.len(), 3 + 201 + 2);
        assert_eq!(decode(&encoded, Edc::Crc), Ok((0x21, block)));
        // Property of the ISO/IEC 13239 FCS: the register over data + FCS ends at the
        // constant 0xF0B8, which is 0x0F47 after the final complement.
        assert_eq!(crc(&encoded), 0x0F47u16.to_le_bytes());
    }

    #[test]
    fn every_valid_block_round_trips_with_both_edcs() {
        let mut blocks = vec![
            Block::I {
                ns: 0,
                more: false,
                inf: vec![],
            },
            Block::I {
                ns: 1,
                more: true,
                inf: vec![0xAB; MAX_INF],
            },
        ];
        for nr in 0..2 {
            for error in 0..3 {
                blocks.push(Block::R { nr, error });
            }
        }
        for v in [1, 0x20, 0xFE] {
            blocks.extend([
                Block::S(SBlock::IfsRequest(v)),
                Block::S(SBlock::IfsResponse(v)),
                Block::S(SBlock::WtxRequest(v)),
                Block::S(SBlock::WtxResponse(v)),
            ]);
        }
        blocks.extend([
            Block::S(SBlock::ResynchRequest),
            Block::S(SBlock::ResynchResponse),
            Block::S(SBlock::AbortRequest),
            Block::S(SBlock::AbortResponse),
        ]);
        for edc in [Edc::Lrc, Edc::Crc] {
            for block in &blocks {
                let encoded = encode(0x12, block, edc);
                assert_eq!(decode(&encoded, edc), Ok((0x12, block.clone())));
            }
        }
    }

    #[test]
    fn encode_cuts_an_oversized_inf() {
        let block = Block::I {
            ns: 0,
            more: false,
            inf: vec![7; 300],
        };
        let encoded = encode(0, &block, Edc::Lrc);
        assert_eq!(encoded.len(), 3 + MAX_INF + 1);
        assert_eq!(encoded[2], 0xFE);
        assert!(decode(&encoded, Edc::Lrc).is_ok());
    }

    /// Appends a correct LRC to a hand-written prologue and INF.
    fn sealed(text: &str) -> Vec<u8> {
        let mut out = bytes(text);
        append_edc(&mut out, Edc::Lrc);
        out
    }

    #[test]
    fn length_errors() {
        assert_eq!(decode(&[], Edc::Lrc), Err(BlockError::BadLength));
        assert_eq!(decode(&[0, 0], Edc::Lrc), Err(BlockError::BadLength));
        assert_eq!(decode(&[0, 0, 0], Edc::Lrc), Err(BlockError::BadLength));
        // Valid with LRC, one byte short with CRC.
        assert_eq!(
            decode(&bytes("00 80 00 80"), Edc::Crc),
            Err(BlockError::BadLength)
        );
        // LEN says 2, one byte of INF present.
        assert_eq!(
            decode(&sealed("00 00 02 AA"), Edc::Lrc),
            Err(BlockError::BadLength)
        );
        // LEN says 0, a byte too many.
        assert_eq!(
            decode(&sealed("00 00 00 AA"), Edc::Lrc),
            Err(BlockError::BadLength)
        );
    }

    #[test]
    fn len_ff_is_reserved() {
        let mut block = vec![0, 0x00, 0xFF];
        block.extend(std::iter::repeat_n(0x55, 255));
        append_edc(&mut block, Edc::Lrc);
        assert_eq!(decode(&block, Edc::Lrc), Err(BlockError::BadPcb(0x00)));
    }

    #[test]
    fn edc_errors() {
        assert_eq!(
            decode(&bytes("00 80 00 81"), Edc::Lrc),
            Err(BlockError::BadEdc)
        );
        let mut encoded = encode(0, &Block::R { nr: 1, error: 0 }, Edc::Crc);
        encoded[4] ^= 0x01;
        assert_eq!(decode(&encoded, Edc::Crc), Err(BlockError::BadEdc));
    }

    #[test]
    fn invalid_pcb_codings() {
        let cases = [
            // I-block with a reserved bit.
            ("00 01 01 AA", 0x01),
            ("00 50 00", 0x50),
            // R-block: bit 6 set, bits 4–3 set, error code 3, INF present.
            ("00 A0 00", 0xA0),
            ("00 84 00", 0x84),
            ("00 88 00", 0x88),
            ("00 83 00", 0x83),
            ("00 80 01 00", 0x80),
            // S-block: undefined functions (0xE4 was the withdrawn VPP error), INF mismatches.
            ("00 C4 00", 0xC4),
            ("00 E4 00", 0xE4),
            ("00 D0 00", 0xD0),
            ("00 C1 00", 0xC1),
            ("00 C3 02 01 02", 0xC3),
            ("00 C0 01 00", 0xC0),
            ("00 E2 01 00", 0xE2),
        ];
        for (text, pcb) in cases {
            assert_eq!(
                decode(&sealed(text), Edc::Lrc),
                Err(BlockError::BadPcb(pcb)),
                "{text}"
            );
        }
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes() {
        let mut state: u32 = 0x1234_5678;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 4 && next() % 2 == 0 {
                // Make LEN consistent and the EDC right now and then, to reach the PCB checks.
                data[2] = (len - 4) as u8;
                data.truncate(len - 1);
                append_edc(&mut data, Edc::Lrc);
            }
            for edc in [Edc::Lrc, Edc::Crc] {
                if let Ok((nad, block)) = decode(&data, edc) {
                    assert_eq!(encode(nad, &block, edc), data);
                }
            }
        }
    }
}
