//! The date of birth as the user types it: ROC compact (`0790101`), ROC with slashes
//! (`79/01/01`), ROC written out (`民國79年1月1日`) or Gregorian (`1990-01-01`, `1990/01/01`).
//!
//! A year of 4 digits is Gregorian; 1 to 3 digits is an ROC year. No one typing today has a
//! 4-digit ROC year (民國1000年 is 2911), so the two never collide.

use std::fmt;

use thiserror::Error;
use time::{Date, Month};

use crate::roc_date::{RocDate, RocDateError};
use crate::text::fold_typed;

/// Why a typed text is not a birthday.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BirthdayError {
    /// Nothing was typed.
    #[error("the birthday is empty")]
    Empty,
    /// The text matches none of the accepted forms.
    #[error(
        "{0:?} is not a birthday form we read; type 0790101, 79/01/01 (ROC) or 1990-01-01 \
         (Gregorian)"
    )]
    Format(String),
    /// ROC year 0 does not exist.
    #[error("ROC year 0 does not exist; the ROC calendar starts at year 1 (1912)")]
    RocYearZero,
    /// The numbers do not name a day (month 13, 30 February, 29 February of a common year…).
    #[error("{year}/{month}/{day} ({calendar}) is not a date")]
    NoSuchDate {
        /// `ROC` or `Gregorian`.
        calendar: &'static str,
        /// Year as typed.
        year: u32,
        /// Month as typed.
        month: u32,
        /// Day as typed.
        day: u32,
    },
}

impl BirthdayError {
    /// What is wrong, as a stable English word: `empty`, `format`, `roc_year_zero` or
    /// `no_such_date`.
    pub fn reason(&self) -> &'static str {
        match self {
            BirthdayError::Empty => "empty",
            BirthdayError::Format(_) => "format",
            BirthdayError::RocYearZero => "roc_year_zero",
            BirthdayError::NoSuchDate { .. } => "no_such_date",
        }
    }
}

/// A date of birth (a Gregorian date; the ROC form is derived for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Birthday(Date);

impl Birthday {
    /// Reads a typed birthday in any of the accepted forms. Full-width characters and
    /// surrounding spaces are accepted.
    pub fn parse(typed: &str) -> Result<Self, BirthdayError> {
        let folded = fold_typed(typed);
        if folded.is_empty() {
            return Err(BirthdayError::Empty);
        }
        if let Some(date) = gregorian(&folded) {
            return date.map(Self);
        }
        RocDate::parse(&folded)
            .map(|roc| Self(roc.to_gregorian()))
            .map_err(|error| match error {
                RocDateError::Empty => BirthdayError::Empty,
                RocDateError::YearZero => BirthdayError::RocYearZero,
                RocDateError::NoSuchDate { year, month, day } => BirthdayError::NoSuchDate {
                    calendar: "ROC",
                    year,
                    month,
                    day,
                },
                RocDateError::Format(_)
                | RocDateError::NoSuchTime(_)
                | RocDateError::BeforeRocEra(_) => BirthdayError::Format(typed.to_owned()),
            })
    }

    /// The birthday as a Gregorian date.
    pub fn date(self) -> Date {
        self.0
    }

    /// The ROC date, if the birthday is from 1912 on.
    pub fn roc(self) -> Option<RocDate> {
        RocDate::from_gregorian(self.0).ok()
    }

    /// The normalised form, `YYYY-MM-DD` (Gregorian): what the proof of possession hashes and
    /// what the authority compares.
    pub fn normalized(self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl From<Date> for Birthday {
    fn from(date: Date) -> Self {
        Self(date)
    }
}

impl fmt::Display for Birthday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized())
    }
}

/// `YYYY-MM-DD` or `YYYY/MM/DD` with a 4-digit year; `None` when the text is not of that shape.
fn gregorian(text: &str) -> Option<Result<Date, BirthdayError>> {
    let separator = if text.contains('-') { '-' } else { '/' };
    let mut parts = text.split(separator);
    let year_text = parts.next()?;
    if year_text.len() != 4 {
        return None;
    }
    let fields = [Some(year_text), parts.next(), parts.next()];
    let shape_error = || Some(Err(BirthdayError::Format(text.to_owned())));
    if parts.next().is_some() {
        return shape_error();
    }
    let mut numbers = [0u32; 3];
    for (slot, field) in numbers.iter_mut().zip(fields) {
        let field = field?.trim();
        if field.is_empty() || field.len() > 4 || !field.bytes().all(|b| b.is_ascii_digit()) {
            return shape_error();
        }
        *slot = field.parse().ok()?;
    }
    let [year, month, day] = numbers;
    let no_such_date = BirthdayError::NoSuchDate {
        calendar: "Gregorian",
        year,
        month,
        day,
    };
    let date = i32::try_from(year)
        .ok()
        .zip(
            u8::try_from(month)
                .ok()
                .and_then(|m| Month::try_from(m).ok()),
        )
        .zip(u8::try_from(day).ok())
        .and_then(|((year, month), day)| Date::from_calendar_date(year, month, day).ok());
    Some(date.ok_or(no_such_date))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn reads_each_form() {
        for text in [
            "0790101",
            "79/01/01",
            "79/1/1",
            "079/01/01",
            "民國79年1月1日",
            "1990-01-01",
            "1990/1/1",
            "１９９０－０１－０１",
        ] {
            assert_eq!(
                Birthday::parse(text).map(Birthday::date),
                Ok(date!(1990 - 01 - 01)),
                "{text}"
            );
        }
        assert_eq!(
            Birthday::parse(" 0790101 ").unwrap().normalized(),
            "1990-01-01"
        );
    }

    #[test]
    fn gregorian_bad_shapes_are_format_errors() {
        assert!(matches!(
            Birthday::parse("1990-01"),
            Err(BirthdayError::Format(_))
        ));
        assert!(matches!(
            Birthday::parse("1990-01-01-01"),
            Err(BirthdayError::Format(_))
        ));
        assert!(matches!(
            Birthday::parse("1990-aa-01"),
            Err(BirthdayError::Format(_))
        ));
    }
}
