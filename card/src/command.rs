//! Command APDUs of the reference profile, each built by a small named constructor, and their
//! encoding in short or extended form (ISO/IEC 7816-4 §5.1).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::pin::Pin;

/// Every command of the first-generation card and the reference profile uses this class.
pub const CLA: u8 = 0x80;

/// Instruction bytes of the profile.
pub mod ins {
    /// SELECT (by file identifier).
    pub const SELECT: u8 = 0xA4;
    /// READ BINARY.
    pub const READ_BINARY: u8 = 0xB0;
    /// UPDATE BINARY.
    pub const UPDATE_BINARY: u8 = 0xD6;
    /// VERIFY (PIN), also the tries-left query without data.
    pub const VERIFY: u8 = 0x20;
    /// The private-key operation, one 128-byte half per command.
    pub const PRIVATE_KEY_OPERATION: u8 = 0xEA;
    /// Fetches the private-key operation's result.
    pub const GET_RESULT: u8 = 0xC1;
}

/// P1 of the private-key operation's first half (more follows).
pub const P1_FIRST_HALF: u8 = 0x82;
/// P1 of its last half.
pub const P1_LAST_HALF: u8 = 0x02;
/// P2 of VERIFY: the card holder's PIN.
pub const PIN_REFERENCE: u8 = 0x01;
/// The length a PIN is padded to with `FF`.
pub const PADDED_PIN_LENGTH: usize = 8;
/// The length of each half of the private-key operation's input.
pub const HALF_BLOCK: usize = 128;

/// The card's two RSA keys, by role: the encryption key is reference `01`, the signature key
/// `02` ([`KeyRole::key_reference`]).
pub use terms::KeyRole;

/// A command APDU. Its data is wiped when it is dropped, since a VERIFY carries the PIN.
#[derive(PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Command {
    /// CLA.
    pub cla: u8,
    /// INS.
    pub ins: u8,
    /// P1.
    pub p1: u8,
    /// P2.
    pub p2: u8,
    data: Vec<u8>,
    /// Ne: the most response bytes expected (`None` for cases 1 and 3).
    pub ne: Option<usize>,
}

impl Command {
    fn new(ins: u8, p1: u8, p2: u8, data: Vec<u8>, ne: Option<usize>) -> Command {
        Command {
            cla: CLA,
            ins,
            p1,
            p2,
            data,
            ne,
        }
    }

    /// `80 A4 00 00 02 <FID>`: select a file by identifier, from the current directory (or the
    /// master file for `3F00`).
    pub fn select(fid: u16) -> Command {
        Command::new(ins::SELECT, 0x00, 0x00, fid.to_be_bytes().to_vec(), None)
    }

    /// `80 B0 <offset> <Le>`: read `length` bytes (1 to 65536; more than 256 needs an extended
    /// APDU) of the current file from `offset` (below 0x8000: P1's top bit would mean a short
    /// file identifier).
    pub fn read_binary(offset: u16, length: usize) -> Command {
        let [hi, lo] = (offset & 0x7FFF).to_be_bytes();
        Command::new(ins::READ_BINARY, hi, lo, Vec::new(), Some(length))
    }

    /// `80 D6 <offset> <Lc> <data>`: write `data` into the current file at `offset`.
    pub fn update_binary(offset: u16, data: &[u8]) -> Command {
        let [hi, lo] = (offset & 0x7FFF).to_be_bytes();
        Command::new(ins::UPDATE_BINARY, hi, lo, data.to_vec(), None)
    }

    /// `80 20 00 01`: VERIFY without data, which asks how many PIN tries are left.
    pub fn pin_tries() -> Command {
        Command::new(ins::VERIFY, 0x00, PIN_REFERENCE, Vec::new(), None)
    }

    /// `80 20 00 01 08 <PIN padded with FF>`.
    pub fn verify_pin(pin: &Pin) -> Command {
        let padded = pin.padded();
        Command::new(ins::VERIFY, 0x00, PIN_REFERENCE, padded.to_vec(), None)
    }

    /// `80 EA 82 <key> 80 <first 128 bytes>`.
    pub fn private_key_first_half(key: KeyRole, half: &[u8; HALF_BLOCK]) -> Command {
        Command::new(
            ins::PRIVATE_KEY_OPERATION,
            P1_FIRST_HALF,
            key.key_reference(),
            half.to_vec(),
            None,
        )
    }

    /// `80 EA 02 <key> 80 <last 128 bytes>`.
    pub fn private_key_last_half(key: KeyRole, half: &[u8; HALF_BLOCK]) -> Command {
        Command::new(
            ins::PRIVATE_KEY_OPERATION,
            P1_LAST_HALF,
            key.key_reference(),
            half.to_vec(),
            None,
        )
    }

    /// `80 C1 00 00 00`: fetch the private-key operation's 256-byte result.
    pub fn get_result() -> Command {
        Command::new(ins::GET_RESULT, 0x00, 0x00, Vec::new(), Some(256))
    }

    /// The command data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Lc.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The command's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self.ins {
            ins::SELECT => "SELECT",
            ins::READ_BINARY => "READ BINARY",
            ins::UPDATE_BINARY => "UPDATE BINARY",
            ins::VERIFY if self.data.is_empty() => "VERIFY (tries left)",
            ins::VERIFY => "VERIFY",
            ins::PRIVATE_KEY_OPERATION => "PRIVATE KEY OPERATION",
            ins::GET_RESULT => "GET RESULT",
            _ => "command",
        }
    }

    /// The encoded APDU: short when Lc ≤ 255 and Ne ≤ 256, else extended. Wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let lc = self.data.len();
        let extended = lc > 255 || self.ne.is_some_and(|ne| ne > 256);
        let mut bytes = Zeroizing::new(Vec::with_capacity(lc + 9));
        bytes.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if lc > 0 {
            if extended {
                // lc ≤ 65535 here: the card logic never builds more.
                let [hi, lo] = u16::try_from(lc).unwrap_or(u16::MAX).to_be_bytes();
                bytes.extend_from_slice(&[0x00, hi, lo]);
            } else {
                bytes.push(lc as u8);
            }
            bytes.extend_from_slice(&self.data);
        }
        if let Some(ne) = self.ne {
            if extended {
                // 65536 is encoded as 0000.
                let [hi, lo] = ((ne.min(65536) & 0xFFFF) as u16).to_be_bytes();
                if lc == 0 {
                    bytes.push(0x00);
                }
                bytes.extend_from_slice(&[hi, lo]);
            } else {
                // 256 is encoded as 00.
                bytes.push((ne & 0xFF) as u8);
            }
        }
        bytes
    }
}

impl fmt::Debug for Command {
    // Never the data: a VERIFY carries the PIN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({} {:02X} {:02X} {:02X} {:02X}, Lc {}, Ne {:?})",
            self.name(),
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.ne
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commands_are_the_bytes_of_the_reference_profile() {
        assert_eq!(
            Command::select(0x3F00).to_bytes()[..],
            [0x80, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]
        );
        assert_eq!(
            Command::read_binary(0x0E00, 256).to_bytes()[..],
            [0x80, 0xB0, 0x0E, 0x00, 0x00]
        );
        assert_eq!(
            Command::read_binary(0x0003, 16).to_bytes()[..],
            [0x80, 0xB0, 0x00, 0x03, 0x10]
        );
        assert_eq!(
            Command::read_binary(0x0700, 0x700).to_bytes()[..],
            [0x80, 0xB0, 0x07, 0x00, 0x00, 0x07, 0x00]
        );
        assert_eq!(
            Command::read_binary(0, 65536).to_bytes()[..],
            [0x80, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            Command::pin_tries().to_bytes()[..],
            [0x80, 0x20, 0x00, 0x01]
        );
        let pin = Pin::new("A12345").unwrap();
        assert_eq!(
            Command::verify_pin(&pin).to_bytes()[..],
            [0x80, 0x20, 0x00, 0x01, 0x08, b'A', b'1', b'2', b'3', b'4', b'5', 0xFF, 0xFF]
        );
        let half = [0x5A; HALF_BLOCK];
        let first = Command::private_key_first_half(KeyRole::Signature, &half).to_bytes();
        assert_eq!(first[..5], [0x80, 0xEA, 0x82, 0x02, 0x80]);
        assert_eq!(first.len(), 5 + 128);
        let last = Command::private_key_last_half(KeyRole::Encryption, &half).to_bytes();
        assert_eq!(last[..5], [0x80, 0xEA, 0x02, 0x01, 0x80]);
        assert_eq!(
            Command::get_result().to_bytes()[..],
            [0x80, 0xC1, 0x00, 0x00, 0x00]
        );
        let update = Command::update_binary(0x1500, &[1, 2, 3]).to_bytes();
        assert_eq!(update[..], [0x80, 0xD6, 0x15, 0x00, 0x03, 1, 2, 3]);
        let long = Command::update_binary(0x0E00, &[7; 300]).to_bytes();
        assert_eq!(long[..7], [0x80, 0xD6, 0x0E, 0x00, 0x00, 0x01, 0x2C]);
        assert_eq!(long.len(), 7 + 300);
    }

    #[test]
    fn a_verify_command_never_shows_the_pin() {
        let pin = Pin::new("A12345").unwrap();
        let text = format!("{:?}", Command::verify_pin(&pin));
        assert!(!text.contains("12345") && !text.contains("31"), "{text}");
        assert!(text.contains("VERIFY"));
    }
}
