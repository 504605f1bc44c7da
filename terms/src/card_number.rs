//! The card number printed on the card and stored in it (EF `0903`): 2 letters and 14 digits.

use std::fmt;

use thiserror::Error;

/// Characters in a card number (and bytes of EF `0903`).
pub const CARD_NUMBER_LENGTH: usize = 16;

/// Why bytes or text are not a card number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CardNumberError {
    /// Not 16 characters.
    #[error("a card number has 16 characters, this one has {0}")]
    Length(usize),
    /// The first two characters are not upper-case letters A–Z.
    #[error("a card number starts with two letters A–Z")]
    Letters,
    /// Characters 3 to 16 are not all digits.
    #[error("a card number ends with 14 digits")]
    Digits,
}

/// A card number such as `TP03000000000123`. With the feature `serde`, a JSON string, checked
/// when read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct CardNumber(String);

impl CardNumber {
    /// Checks a card number's text (surrounding white space is ignored).
    pub fn parse(text: &str) -> Result<Self, CardNumberError> {
        Self::from_card_bytes(text.trim().as_bytes())
    }

    /// Checks the 16 ASCII bytes read from the card.
    pub fn from_card_bytes(bytes: &[u8]) -> Result<Self, CardNumberError> {
        if bytes.len() != CARD_NUMBER_LENGTH {
            return Err(CardNumberError::Length(bytes.len()));
        }
        let (letters, digits) = bytes.split_at(2);
        if !letters.iter().all(u8::is_ascii_uppercase) {
            return Err(CardNumberError::Letters);
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(CardNumberError::Digits);
        }
        // All ASCII, checked above.
        Ok(Self(bytes.iter().map(|&b| char::from(b)).collect()))
    }

    /// The card number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The card number as the card stores it: 16 ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CardNumber {
    type Err = CardNumberError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<String> for CardNumber {
    type Error = CardNumberError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<CardNumber> for String {
    fn from(number: CardNumber) -> Self {
        number.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_shape() {
        assert_eq!(
            CardNumber::parse(" TP03000000000123\n").map(String::from),
            Ok("TP03000000000123".to_owned())
        );
        assert_eq!(
            CardNumber::parse("TP0300000000012"),
            Err(CardNumberError::Length(15))
        );
        assert_eq!(
            CardNumber::parse("Tp03000000000123"),
            Err(CardNumberError::Letters)
        );
        assert_eq!(
            CardNumber::parse("T903000000000123"),
            Err(CardNumberError::Letters)
        );
        assert_eq!(
            CardNumber::parse("TP03000000000A23"),
            Err(CardNumberError::Digits)
        );
        assert_eq!(
            CardNumber::from_card_bytes(&[0xFF; 16]),
            Err(CardNumberError::Letters)
        );
        assert_eq!(
            CardNumber::from_card_bytes(b" TP0300000000012"),
            Err(CardNumberError::Letters)
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn travels_as_a_checked_string() {
        let number = CardNumber::parse("TP03000000000123").ok();
        let json = number.as_ref().and_then(|n| serde_json::to_string(n).ok());
        assert_eq!(json.as_deref(), Some("\"TP03000000000123\""));
        let back = json.as_deref().map(serde_json::from_str::<CardNumber>);
        assert_eq!(back.and_then(Result::ok), number);
        assert!(serde_json::from_str::<CardNumber>("\"TP0300000000012X\"").is_err());
    }
}
