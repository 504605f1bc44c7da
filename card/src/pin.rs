//! The card holder's PIN and what the card says about it.
//!
//! A [`Pin`] exists only to be sent to the card: it cannot be printed (Debug and Display show
//! `***`), cloned or read back as text, and its bytes are wiped when it is dropped. Errors about
//! a PIN's form say what is wrong with it, never what it is.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::command::PADDED_PIN_LENGTH;

/// The fewest characters a PIN has.
pub const MIN_PIN_LENGTH: usize = 6;
/// The most characters a PIN has.
pub const MAX_PIN_LENGTH: usize = 8;

/// A PIN of 6 to 8 ASCII letters or digits (MOICA's rule).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Pin {
    bytes: [u8; MAX_PIN_LENGTH],
    length: usize,
}

/// Why text is not a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Fewer than 6 characters.
    #[error("a PIN has at least 6 characters; this one has {0}")]
    TooShort(usize),
    /// More than 8 characters.
    #[error("a PIN has at most 8 characters; this one has {0}")]
    TooLong(usize),
    /// A character other than an ASCII letter or digit.
    #[error("a PIN has only letters A–Z, a–z and digits 0–9")]
    NotAlphanumeric,
}

impl Pin {
    /// Checks `text` and keeps it as a PIN. The caller should wipe its own copy.
    pub fn new(text: &str) -> Result<Pin, PinError> {
        let characters = text.chars().count();
        if characters < MIN_PIN_LENGTH {
            return Err(PinError::TooShort(characters));
        }
        if characters > MAX_PIN_LENGTH {
            return Err(PinError::TooLong(characters));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PinError::NotAlphanumeric);
        }
        let mut pin = Pin {
            bytes: [0; MAX_PIN_LENGTH],
            length: text.len(),
        };
        for (slot, byte) in pin.bytes.iter_mut().zip(text.bytes()) {
            *slot = byte;
        }
        Ok(pin)
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Always false: a PIN has at least six characters.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The PIN as VERIFY carries it: ASCII padded with `FF` to 8 bytes. Wiped on drop.
    pub fn padded(&self) -> Zeroizing<[u8; PADDED_PIN_LENGTH]> {
        let mut padded = Zeroizing::new([0xFF; PADDED_PIN_LENGTH]);
        for (slot, byte) in padded.iter_mut().zip(&self.bytes[..self.length]) {
            *slot = *byte;
        }
        padded
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The PIN's state, as the tries-left query (VERIFY without data) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinState {
    /// Verified in this session (`9000`).
    Verified,
    /// Not verified; this many tries left (`63Cx`).
    TriesLeft(u8),
    /// Blocked (`6983`); only the issuer can unblock it.
    Locked,
}

/// What a PIN verification came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The PIN is right; the private-key operation and writes are open until the card is reset.
    Verified,
    /// The PIN is wrong; this many tries are left (at least one).
    Wrong {
        /// Tries left.
        tries_left: u8,
    },
    /// The PIN is blocked, by this attempt or before it.
    Locked,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_pin_is_six_to_eight_letters_or_digits() {
        assert_eq!(Pin::new("12345").err(), Some(PinError::TooShort(5)));
        assert_eq!(Pin::new("123456789").err(), Some(PinError::TooLong(9)));
        assert_eq!(Pin::new("12345!").err(), Some(PinError::NotAlphanumeric));
        assert_eq!(Pin::new("12 456").err(), Some(PinError::NotAlphanumeric));
        assert_eq!(
            Pin::new("１２３４５６").err(),
            Some(PinError::NotAlphanumeric)
        );
        assert_eq!(Pin::new("600101").unwrap().len(), 6);
        assert_eq!(Pin::new("Ab345678").unwrap().len(), 8);
    }

    #[test]
    fn a_pin_is_never_shown() {
        let pin = Pin::new("600101").unwrap();
        assert_eq!(format!("{pin:?}"), "***");
        assert_eq!(format!("{pin}"), "***");
        assert_eq!(
            *pin.padded(),
            [b'6', b'0', b'0', b'1', b'0', b'1', 0xFF, 0xFF]
        );
        let error = Pin::new("60010!").unwrap_err().to_string();
        assert!(!error.contains("6001"), "{error}");
    }
}
