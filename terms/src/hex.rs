//! Hex text: as people write it in traces, ATR lists and command lines (`3B B8 13`,
//! `3bb813`, `3B:B8:13`), and compact (`3BB813`) as serials, identifiers and saved states
//! carry it.

/// Why text is not hex bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character that is neither a hex digit nor a separator.
    #[error("'{character}' at position {position} is not a hex digit")]
    BadDigit {
        /// The character.
        character: char,
        /// Its character index in the text.
        position: usize,
    },
    /// A byte was cut in half by a separator or the end of the text.
    #[error("odd number of hex digits in a group ending at position {0}")]
    OddDigits(usize),
}

/// Parses hex bytes, upper or lower case. Spaces, tabs, colons and dashes separate groups;
/// each group has an even number of digits.
pub fn parse(text: &str) -> Result<Vec<u8>, HexError> {
    let mut bytes = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (position, character) in text.chars().enumerate() {
        if matches!(character, ' ' | '\t' | ':' | '-') {
            if high.is_some() {
                return Err(HexError::OddDigits(position));
            }
            continue;
        }
        let digit = character
            .to_digit(16)
            .and_then(|digit| u8::try_from(digit).ok())
            .ok_or(HexError::BadDigit {
                character,
                position,
            })?;
        match high.take() {
            Some(h) => bytes.push(h << 4 | digit),
            None => high = Some(digit),
        }
    }
    if high.is_some() {
        return Err(HexError::OddDigits(text.chars().count()));
    }
    Ok(bytes)
}

/// Upper-case hex pairs separated by single spaces: `3B B8 13`.
pub fn format(bytes: &[u8]) -> String {
    write(bytes, UPPER, Some(' '))
}

/// Upper-case hex without separators: `3BB813`.
pub fn upper(bytes: &[u8]) -> String {
    write(bytes, UPPER, None)
}

/// Lower-case hex without separators: `3bb813`.
pub fn lower(bytes: &[u8]) -> String {
    write(bytes, LOWER, None)
}

const UPPER: &[u8; 16] = b"0123456789ABCDEF";
const LOWER: &[u8; 16] = b"0123456789abcdef";

fn write(bytes: &[u8], digits: &[u8; 16], separator: Option<char>) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, &byte) in bytes.iter().enumerate() {
        if let Some(separator) = separator.filter(|_| i > 0) {
            text.push(separator);
        }
        for nibble in [byte >> 4, byte & 0x0F] {
            text.push(char::from(digits[usize::from(nibble)]));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!(parse("3B B8 13"), Ok(vec![0x3B, 0xB8, 0x13]));
        assert_eq!(parse("3bb813"), Ok(vec![0x3B, 0xB8, 0x13]));
        assert_eq!(parse("3B:B8-13\t"), Ok(vec![0x3B, 0xB8, 0x13]));
        assert_eq!(parse(""), Ok(vec![]));
    }

    #[test]
    fn refuses_what_is_not_hex() {
        assert_eq!(
            parse("3G"),
            Err(HexError::BadDigit {
                character: 'G',
                position: 1
            })
        );
        assert_eq!(parse("3 B"), Err(HexError::OddDigits(1)));
        assert_eq!(parse("3BB"), Err(HexError::OddDigits(3)));
    }

    #[test]
    fn formats_round_trip() {
        let bytes = [0x00, 0x0A, 0xFF];
        assert_eq!(format(&bytes), "00 0A FF");
        assert_eq!(upper(&bytes), "000AFF");
        assert_eq!(lower(&bytes), "000aff");
        assert_eq!(format(&[]), "");
        for text in [format(&bytes), upper(&bytes), lower(&bytes)] {
            assert_eq!(parse(&text), Ok(bytes.to_vec()));
        }
    }
}
