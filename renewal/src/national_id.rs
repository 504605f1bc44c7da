//! The national ID number (身分證字號): one letter, then `1`/`2` (sex) — or `8`/`9` for the
//! resident-certificate numbers issued since 2021 — then 8 digits, the last one a check digit.
//!
//! The check: the letter becomes a two-digit code from the official table (alphabetical up to H,
//! then not: I=34, O=35, W=32, Z=33 were added after the others), the code's two digits and the
//! nine digits that follow are weighted 1,9,8,7,6,5,4,3,2,1,1, and the sum must be a multiple
//! of 10. A refusal names the part that is wrong, so the user knows what to retype.

use std::fmt;

use thiserror::Error;

use crate::text::fold_typed;

/// Number of characters in a national ID number.
pub const NATIONAL_ID_LENGTH: usize = 10;

/// Why a typed text is not a national ID number, checked in reading order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NationalIdError {
    /// Not 10 characters (after trimming spaces).
    #[error("a national ID number has 10 characters, this one has {found}")]
    Length {
        /// Characters found.
        found: usize,
    },
    /// The first character is not a letter A–Z.
    #[error("a national ID number starts with a letter A–Z, not {found:?}")]
    FirstLetter {
        /// The character found.
        found: char,
    },
    /// The second character is not 1, 2, 8 or 9.
    #[error("the second character of a national ID number is 1, 2, 8 or 9, not {found:?}")]
    SecondDigit {
        /// The character found.
        found: char,
    },
    /// A character after the second is not a digit.
    #[error("character {position} of the national ID number is {found:?}, not a digit")]
    Digit {
        /// Position of the character, counted from 1.
        position: usize,
        /// The character found.
        found: char,
    },
    /// Well formed, but the check digit does not match: a character was mistyped.
    #[error("the national ID number's check digit does not match; a character is mistyped")]
    Checksum,
}

impl NationalIdError {
    /// The part that is wrong, as a stable English word: `length`, `first_letter`,
    /// `second_digit`, `digit` or `checksum`.
    pub fn reason(&self) -> &'static str {
        match self {
            NationalIdError::Length { .. } => "length",
            NationalIdError::FirstLetter { .. } => "first_letter",
            NationalIdError::SecondDigit { .. } => "second_digit",
            NationalIdError::Digit { .. } => "digit",
            NationalIdError::Checksum => "checksum",
        }
    }
}

/// A national ID number that passed every check; upper-case ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalId(String);

impl NationalId {
    /// Checks a typed number. Lower-case letters, full-width characters and surrounding spaces
    /// are accepted and normalised.
    pub fn parse(typed: &str) -> Result<Self, NationalIdError> {
        let folded = fold_typed(typed).to_ascii_uppercase();
        let chars: Vec<char> = folded.chars().collect();
        if chars.len() != NATIONAL_ID_LENGTH {
            return Err(NationalIdError::Length { found: chars.len() });
        }
        let mut sum = 0u32;
        for (index, &found) in chars.iter().enumerate() {
            match index {
                0 => {
                    let code = letter_code(found).ok_or(NationalIdError::FirstLetter { found })?;
                    sum += code / 10 + (code % 10) * 9;
                }
                1 if !matches!(found, '1' | '2' | '8' | '9') => {
                    return Err(NationalIdError::SecondDigit { found });
                }
                _ => {
                    let digit = found.to_digit(10).ok_or(NationalIdError::Digit {
                        position: index + 1,
                        found,
                    })?;
                    // Weights 8,7,…,1 for the 2nd to 9th characters, 1 for the check digit.
                    let weight = u32::try_from(NATIONAL_ID_LENGTH - 1 - index)
                        .unwrap_or(0)
                        .max(1);
                    sum += digit * weight;
                }
            }
        }
        if !sum.is_multiple_of(10) {
            return Err(NationalIdError::Checksum);
        }
        Ok(Self(folded))
    }

    /// The number, upper-case (`A123456789`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits: what a MOICA certificate carries (attribute 2.16.886.1.100.2.51).
    pub fn last_four(&self) -> &str {
        self.0.get(NATIONAL_ID_LENGTH - 4..).unwrap_or("")
    }
}

impl fmt::Display for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The official two-digit code of a national ID number's first letter.
pub fn letter_code(letter: char) -> Option<u32> {
    Some(match letter {
        'A' => 10,
        'B' => 11,
        'C' => 12,
        'D' => 13,
        'E' => 14,
        'F' => 15,
        'G' => 16,
        'H' => 17,
        'I' => 34,
        'J' => 18,
        'K' => 19,
        'L' => 20,
        'M' => 21,
        'N' => 22,
        'O' => 35,
        'P' => 23,
        'Q' => 24,
        'R' => 25,
        'S' => 26,
        'T' => 27,
        'U' => 28,
        'V' => 29,
        'W' => 32,
        'X' => 30,
        'Y' => 31,
        'Z' => 33,
        _ => return None,
    })
}
