//! Hex text as people write it in traces, ATR lists and command lines: `3B B8 13`, `3bb813`,
//! `3B:B8:13`.

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

/// Parses hex bytes. Spaces, tabs, colons and dashes separate groups; each group has an even
/// number of digits.
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
        let digit = character.to_digit(16).ok_or(HexError::BadDigit {
            character,
            position,
        })? as u8;
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

/// Formats bytes as upper-case hex pairs separated by single spaces.
pub fn format(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&std::format!("{byte:02X}"));
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
        assert_eq!(parse(&format(&bytes)), Ok(bytes.to_vec()));
    }
}
