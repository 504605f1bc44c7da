//! The transmission protocols this driver runs with a card: T=0 and T=1 (ISO/IEC 7816-3 §10,
//! §11).
//!
//! An ATR may indicate other protocol numbers (T=2…T=14); those stay plain numbers
//! ([`atr::ProtocolNumber`](crate::atr::ProtocolNumber)) until [`Protocol::from_number`] says
//! whether the driver can run them.

use std::fmt;

/// A transmission protocol the driver runs with a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// T=0: character-oriented, half duplex, with the `61xx`/`6Cxx` procedure.
    T0,
    /// T=1: block-oriented, with chaining, error recovery and waiting-time extensions.
    T1,
}

impl Protocol {
    /// The protocol `T=number`, if the driver runs it.
    pub fn from_number(number: u8) -> Option<Protocol> {
        match number {
            0 => Some(Protocol::T0),
            1 => Some(Protocol::T1),
            _ => None,
        }
    }

    /// The protocol's number, as ATR, PPS0 and `bProtocolNum` carry it.
    pub fn number(self) -> u8 {
        match self {
            Protocol::T0 => 0,
            Protocol::T1 => 1,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T={}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_others_are_unknown() {
        for protocol in [Protocol::T0, Protocol::T1] {
            assert_eq!(Protocol::from_number(protocol.number()), Some(protocol));
        }
        for number in 2..=15 {
            assert_eq!(Protocol::from_number(number), None, "T={number}");
        }
        assert_eq!(Protocol::T1.to_string(), "T=1");
    }
}
