//! A small card for exercising readers: it answers a handful of APDUs with predictable data.
//!
//! | command | answer |
//! | --- | --- |
//! | `xx A4 …` SELECT | `90 00` |
//! | `xx CA 00 00 Le` GET DATA | `CCID TEST CARD` (at most Le bytes) `90 00` |
//! | `xx B0 off off Le` READ BINARY | Le bytes of a 4096-byte pattern file; `6B 00` beyond it |
//! | `xx EE 00 00 Lc data [Le]` ECHO | the data `90 00` |
//! | `xx 20 00 01` VERIFY, no data | `63 Cx` tries left, `90 00` when verified, `69 83` locked |
//! | `xx 20 00 01 08 PIN` VERIFY | `90 00` for `123456` padded with FF; else `63 Cx` / `69 83` |
//! | anything else | `6D 00` |

use super::IccCard;
use crate::apdu::CommandApdu;

/// The size of READ BINARY's file.
pub const PATTERN_FILE_SIZE: usize = 4096;
/// The PIN the test card accepts (ASCII, padded with FF to 8 bytes).
pub const TEST_PIN: &[u8; 8] = b"123456\xFF\xFF";

/// The byte at `offset` of READ BINARY's file.
pub fn pattern_byte(offset: usize) -> u8 {
    (offset.wrapping_mul(7).wrapping_add(3) & 0xFF) as u8
}

/// A card answering the commands in the module documentation.
#[derive(Debug, Clone)]
pub struct TestCard {
    atr: Vec<u8>,
    tries_left: u8,
    verified: bool,
}

impl TestCard {
    /// A T=1 card shaped like a first-generation citizen card (TA1 0x13, IFSC 250, BWI 5,
    /// CWI 2), with historical bytes "TESTCARD".
    pub fn new() -> TestCard {
        TestCard::with_atr(with_tck(&[
            0x3B, 0xB8, 0x13, 0x00, 0x81, 0x31, 0xFA, 0x52, b'T', b'E', b'S', b'T', b'C', b'A',
            b'R', b'D',
        ]))
    }

    /// A T=1 card with the second-generation citizen card's ATR (TA1 0x96: Fi 512, Di 32).
    pub fn second_generation_atr() -> TestCard {
        TestCard::with_atr(vec![
            0x3B, 0xD8, 0x96, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x07, 0x43, 0x48, 0x54, 0x47,
            0x50, 0x4B, 0x49, 0x4A, 0xDD,
        ])
    }

    /// A T=0-only card with TA1 0x96, historical bytes "T0CARD01".
    pub fn t0() -> TestCard {
        TestCard::with_atr(vec![
            0x3B, 0x18, 0x96, b'T', b'0', b'C', b'A', b'R', b'D', b'0', b'1',
        ])
    }

    /// A card with any ATR.
    pub fn with_atr(atr: Vec<u8>) -> TestCard {
        TestCard {
            atr,
            tries_left: 3,
            verified: false,
        }
    }

    fn verify(&mut self, data: &[u8]) -> Vec<u8> {
        if self.tries_left == 0 {
            return vec![0x69, 0x83];
        }
        if data.is_empty() {
            return if self.verified {
                vec![0x90, 0x00]
            } else {
                vec![0x63, 0xC0 | self.tries_left]
            };
        }
        if data == TEST_PIN {
            self.tries_left = 3;
            self.verified = true;
            return vec![0x90, 0x00];
        }
        self.verified = false;
        self.tries_left -= 1;
        if self.tries_left == 0 {
            vec![0x69, 0x83]
        } else {
            vec![0x63, 0xC0 | self.tries_left]
        }
    }
}

impl Default for TestCard {
    fn default() -> TestCard {
        TestCard::new()
    }
}

/// Appends TCK so the XOR of T0..TCK is zero.
fn with_tck(atr: &[u8]) -> Vec<u8> {
    let tck = atr.iter().skip(1).fold(0, |x, b| x ^ b);
    let mut bytes = atr.to_vec();
    bytes.push(tck);
    bytes
}

fn ok(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&[0x90, 0x00]);
    data
}

impl IccCard for TestCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn reset(&mut self) {
        self.verified = false;
    }

    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Ok(command) = CommandApdu::parse(apdu) else {
            return vec![0x67, 0x00];
        };
        let [_, ins, p1, p2] = command.header;
        match ins {
            0xA4 => vec![0x90, 0x00],
            0xCA => {
                let mut data = b"CCID TEST CARD".to_vec();
                data.truncate(command.ne.unwrap_or(data.len()));
                ok(data)
            }
            0xB0 => {
                let offset = usize::from(u16::from_be_bytes([p1, p2]));
                let wanted = command.ne.unwrap_or(256);
                if offset >= PATTERN_FILE_SIZE {
                    return vec![0x6B, 0x00];
                }
                let end = (offset + wanted).min(PATTERN_FILE_SIZE);
                ok((offset..end).map(pattern_byte).collect())
            }
            0xEE => ok(command.data.to_vec()),
            0x20 => self.verify(command.data),
            _ => vec![0x6D, 0x00],
        }
    }
}
