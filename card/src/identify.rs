//! Which card is in the reader, from the historical bytes of its answer to reset.
//!
//! | historical bytes | card | this crate |
//! | --- | --- | --- |
//! | `CHTMOICA` | first generation (HiCOS "T7S") | the whole reference profile |
//! | `CHTGPKIJ` | second generation (GlobalPlatform applet) | reads are tried; renewal is not supported yet |
//! | anything else | not a citizen card | [`IdentifyError::NotCitizenCard`] |

use std::fmt;

/// The first generation's historical bytes.
pub const FIRST_GENERATION_MARKER: &[u8] = b"CHTMOICA";
/// The second generation's historical bytes.
pub const SECOND_GENERATION_MARKER: &[u8] = b"CHTGPKIJ";

/// A citizen card generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// "CHTMOICA": the file layout and commands of the reference profile.
    First,
    /// "CHTGPKIJ": a GlobalPlatform applet whose login needs the maker's SCP03 keys. Reading is
    /// attempted with the first generation's commands; renewing it is not supported yet.
    Second,
}

impl Generation {
    /// Whether this crate can renew this generation's certificates (PIN, private-key
    /// operation, certificate write).
    pub fn renewal_supported(self) -> bool {
        self == Generation::First
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Generation::First => f.write_str("first-generation citizen card (CHTMOICA)"),
            Generation::Second => f.write_str("second-generation citizen card (CHTGPKIJ)"),
        }
    }
}

/// Why a card is not one this crate works with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    /// The ATR is well formed but names another card.
    #[error("this is not a citizen digital certificate card (historical bytes {})", bytes_or_none(.historical_bytes))]
    NotCitizenCard {
        /// The card's historical bytes.
        historical_bytes: Vec<u8>,
    },
    /// The ATR is too short for the structure its format byte announces.
    #[error("the card's answer to reset is malformed: {0}")]
    MalformedAtr(&'static str),
}

fn bytes_or_none(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "none".into();
    }
    terms::hex::format(bytes)
}

/// Identifies the card from its historical bytes.
pub fn identify_historical_bytes(historical_bytes: &[u8]) -> Result<Generation, IdentifyError> {
    let contains = |marker: &[u8]| historical_bytes.windows(marker.len()).any(|w| w == marker);
    if contains(FIRST_GENERATION_MARKER) {
        Ok(Generation::First)
    } else if contains(SECOND_GENERATION_MARKER) {
        Ok(Generation::Second)
    } else {
        Err(IdentifyError::NotCitizenCard {
            historical_bytes: historical_bytes.to_vec(),
        })
    }
}

/// Identifies the card from its whole answer to reset.
pub fn identify(atr: &[u8]) -> Result<Generation, IdentifyError> {
    identify_historical_bytes(historical_bytes(atr)?)
}

/// The historical bytes of an ATR (ISO/IEC 7816-3 §8.2): after TS, T0 and the interface
/// bytes that T0 and each TDi announce; K of them, K being T0's low nibble.
pub fn historical_bytes(atr: &[u8]) -> Result<&[u8], IdentifyError> {
    let Some(&t0) = atr.get(1) else {
        return Err(IdentifyError::MalformedAtr("shorter than TS and T0"));
    };
    let count = usize::from(t0 & 0x0F);
    let mut position = 2;
    let mut indicator = t0;
    loop {
        // Bits 5 to 8 announce TAi, TBi, TCi and TDi.
        let present = usize::from(indicator >> 4);
        let td_present = present & 0x8 != 0;
        position += present.count_ones() as usize;
        if !td_present {
            break;
        }
        let Some(&td) = atr.get(position - 1) else {
            return Err(IdentifyError::MalformedAtr("an interface byte is missing"));
        };
        indicator = td;
    }
    atr.get(position..position + count)
        .ok_or(IdentifyError::MalformedAtr("historical bytes are missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: [u8; 17] = [
        0x3B, 0xB8, 0x13, 0x00, 0x81, 0x31, 0xFA, 0x52, 0x43, 0x48, 0x54, 0x4D, 0x4F, 0x49, 0x43,
        0x41, 0xA5,
    ];
    const SECOND: [u8; 19] = [
        0x3B, 0xD8, 0x96, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x07, 0x43, 0x48, 0x54, 0x47, 0x50,
        0x4B, 0x49, 0x4A, 0xDD,
    ];

    #[test]
    fn the_two_generations_are_told_apart_by_their_historical_bytes() {
        assert_eq!(historical_bytes(&FIRST), Ok(&b"CHTMOICA"[..]));
        assert_eq!(historical_bytes(&SECOND), Ok(&b"CHTGPKIJ"[..]));
        assert_eq!(identify(&FIRST), Ok(Generation::First));
        assert_eq!(identify(&SECOND), Ok(Generation::Second));
        assert!(Generation::First.renewal_supported());
        assert!(!Generation::Second.renewal_supported());
    }

    #[test]
    fn other_cards_and_broken_atrs_are_typed() {
        // A Yubikey-like ATR.
        let other = [
            0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0,
            0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
        ];
        assert!(matches!(
            identify(&other),
            Err(IdentifyError::NotCitizenCard { .. })
        ));
        assert!(matches!(
            identify(&FIRST[..10]),
            Err(IdentifyError::MalformedAtr(_))
        ));
        assert!(matches!(
            identify(&[0x3B]),
            Err(IdentifyError::MalformedAtr(_))
        ));
        assert_eq!(
            identify(&[0x3B, 0x00]),
            Err(IdentifyError::NotCitizenCard {
                historical_bytes: vec![]
            })
        );
    }
}
