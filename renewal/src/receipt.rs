//! The receipt (收執聯) the holder can print after a renewal.
//!
//! It shows the renewal number, the holder's name masked, the card number, the serials of the
//! two renewed certificates (signature and encryption: the ones now on the card), the old and new
//! validity, and the time of renewal.
//!
//! Name masking (**decision**; RULES.md only says "masked"): keep the first and the last
//! character and replace each one between with `○` (U+25CB), the way Taiwanese agencies print
//! names: 王小明 → 王○明, 歐陽娜娜 → 歐○○娜. A two-character name keeps only the first:
//! 王明 → 王○. A one-character name is fully masked: ○. White space is kept and not counted,
//! so a Latin-script name keeps its shape: `JOHN SMITH` → `J○○○ ○○○○H`.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use crate::certificate::CertificateSerial;
use crate::language::Language;
use crate::roc_date::format_instant;
use crate::rules::Validity;
use crate::CardNumber;

/// The character that replaces a masked one.
pub const MASK_CHARACTER: char = '○';
/// Longest renewal number the authority issues.
pub const RENEWAL_NUMBER_MAX_LENGTH: usize = 32;

/// Why a text is not a renewal number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RenewalNumberError {
    /// Empty, too long, or characters other than `A–Z`, `0–9` and `-`.
    #[error("{0:?} is not a renewal number (1–32 of A–Z, 0–9 and -)")]
    Invalid(String),
}

/// The authority's number for one renewal (both certificates of a card), e.g.
/// `R20240712-000123`. Its form is the authority's choice: upper-case letters, digits, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RenewalNumber(String);

impl RenewalNumber {
    /// Checks a renewal number.
    pub fn parse(text: &str) -> Result<Self, RenewalNumberError> {
        let text = text.trim();
        let valid = !text.is_empty()
            && text.len() <= RENEWAL_NUMBER_MAX_LENGTH
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(RenewalNumberError::Invalid(text.to_owned()))
        }
    }

    /// The number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RenewalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RenewalNumber {
    type Error = RenewalNumberError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<RenewalNumber> for String {
    fn from(number: RenewalNumber) -> Self {
        number.0
    }
}

/// Masks a holder's name for the receipt (see the module documentation for the rule).
pub fn mask_holder_name(name: &str) -> String {
    let name = name.trim();
    let counted = name.chars().filter(|c| !c.is_whitespace()).count();
    let mut seen = 0;
    name.chars()
        .map(|c| {
            if c.is_whitespace() {
                return c;
            }
            seen += 1;
            let keep = match counted {
                0 | 1 => false,
                2 => seen == 1,
                _ => seen == 1 || seen == counted,
            };
            if keep {
                c
            } else {
                MASK_CHARACTER
            }
        })
        .collect()
}

/// The receipt of one renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The authority's renewal number.
    pub renewal_number: RenewalNumber,
    /// The holder's name, masked with [`mask_holder_name`].
    pub holder_name_masked: String,
    /// The card's number.
    pub card_number: CardNumber,
    /// Serial of the renewed signature certificate.
    pub signature_certificate_serial: CertificateSerial,
    /// Serial of the renewed encryption certificate.
    pub encryption_certificate_serial: CertificateSerial,
    /// Validity before renewal.
    pub old_validity: Validity,
    /// Validity after renewal.
    pub new_validity: Validity,
    /// When the authority issued the renewed certificates.
    #[serde(with = "time::serde::rfc3339")]
    pub renewed_at: OffsetDateTime,
}

/// One printed line of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    /// What the line is.
    pub label: &'static str,
    /// Its value.
    pub value: String,
}

impl Receipt {
    /// The receipt's title.
    pub fn title(language: Language) -> &'static str {
        match language {
            Language::ZhTw => "自然人憑證展期收執聯",
            Language::En => "Citizen certificate renewal receipt",
        }
    }

    /// The receipt's lines, labelled and formatted for printing.
    pub fn lines(&self, language: Language) -> Vec<ReceiptLine> {
        let zh = language == Language::ZhTw;
        let validity = |validity: &Validity| {
            let separator = if zh { " 至 " } else { " to " };
            format!(
                "{}{separator}{}",
                format_instant(validity.not_before, language),
                format_instant(validity.not_after, language)
            )
        };
        let line = |zh_label, en_label, value| ReceiptLine {
            label: if zh { zh_label } else { en_label },
            value,
        };
        vec![
            line(
                "展期編號",
                "Renewal number",
                self.renewal_number.to_string(),
            ),
            line("姓名", "Name", self.holder_name_masked.clone()),
            line("卡號", "Card number", self.card_number.to_string()),
            line(
                "簽章憑證序號",
                "Signature certificate serial",
                self.signature_certificate_serial.to_hex(),
            ),
            line(
                "加密憑證序號",
                "Encryption certificate serial",
                self.encryption_certificate_serial.to_hex(),
            ),
            line(
                "原有效期間",
                "Validity before renewal",
                validity(&self.old_validity),
            ),
            line(
                "展期後有效期間",
                "Validity after renewal",
                validity(&self.new_validity),
            ),
            line(
                "展期時間",
                "Renewed at",
                format_instant(self.renewed_at, language),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names_of_every_length() {
        assert_eq!(mask_holder_name("王"), "○");
        assert_eq!(mask_holder_name("王明"), "王○");
        assert_eq!(mask_holder_name("王小明"), "王○明");
        assert_eq!(mask_holder_name("歐陽娜娜"), "歐○○娜");
        assert_eq!(mask_holder_name("司馬相如君"), "司○○○君");
        assert_eq!(mask_holder_name("JOHN SMITH"), "J○○○ ○○○○H");
        assert_eq!(mask_holder_name(""), "");
    }

    #[test]
    fn renewal_numbers_are_checked() {
        assert!(RenewalNumber::parse("R20240712-000123").is_ok());
        assert!(RenewalNumber::parse("").is_err());
        assert!(RenewalNumber::parse("r1").is_err());
        assert!(RenewalNumber::parse(&"9".repeat(33)).is_err());
    }
}
