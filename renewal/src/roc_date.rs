//! Dates of the Republic of China (民國) calendar, and how we show dates and times.
//!
//! ROC year = Gregorian year − 1911: 民國1年 is 1912, 民國107年 is 2018. Months and days are
//! the Gregorian ones. Official texts write `民國107年5月1日` or `107/05/01`; forms and PIN hints
//! use the compact `1070501`.
//!
//! Display follows the reader: zh-TW puts the ROC date first and the Gregorian one in brackets,
//! English the other way round. Times are always Taiwan time (UTC+8).

use std::fmt;

use thiserror::Error;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::calendar::{in_taiwan, TAIWAN_OFFSET};
use crate::language::Language;
use crate::text::fold_typed;

/// Gregorian year of ROC year 0 (the year before 民國1年).
pub const ROC_YEAR_OFFSET: i32 = 1911;

/// Why a text or a date is not an ROC date.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RocDateError {
    /// Nothing was given.
    #[error("the date is empty")]
    Empty,
    /// The text matches none of the accepted forms.
    #[error(
        "{0:?} is not an ROC date; write 民國107年5月1日, 107/05/01 or 1070501 (an optional time \
         23:59:59 may follow)"
    )]
    Format(String),
    /// ROC year 0 does not exist (the calendar starts at 民國1年 = 1912).
    #[error("ROC year 0 does not exist; the ROC calendar starts at year 1 (1912)")]
    YearZero,
    /// The year, month and day do not name a day of the calendar (13th month, 30 February…).
    #[error("ROC {year}/{month}/{day} is not a date")]
    NoSuchDate {
        /// ROC year as given.
        year: u32,
        /// Month as given.
        month: u32,
        /// Day as given.
        day: u32,
    },
    /// The time of day is not a time (25:00, 12:61…).
    #[error("{0:?} is not a time of day; write 23:59:59")]
    NoSuchTime(String),
    /// The date is before 民國1年 (1912), so it has no ROC form.
    #[error("{0} is before the ROC era (1912-01-01)")]
    BeforeRocEra(Date),
}

/// A day of the ROC calendar: 民國 `year` 年 `month` 月 `day` 日, always a real day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RocDate {
    /// Kept as the Gregorian date: it is the same day, and comparisons come for free.
    gregorian: Date,
}

impl RocDate {
    /// The ROC date `year`/`month`/`day`, checked against the calendar.
    pub fn new(year: u32, month: u32, day: u32) -> Result<Self, RocDateError> {
        if year == 0 {
            return Err(RocDateError::YearZero);
        }
        let no_such_date = RocDateError::NoSuchDate { year, month, day };
        let gregorian_year = i32::try_from(year)
            .ok()
            .and_then(|y| y.checked_add(ROC_YEAR_OFFSET))
            .ok_or_else(|| no_such_date.clone())?;
        let month_value = u8::try_from(month).map_err(|_| no_such_date.clone())?;
        let day_value = u8::try_from(day).map_err(|_| no_such_date.clone())?;
        let month_enum = Month::try_from(month_value).map_err(|_| no_such_date.clone())?;
        let gregorian = Date::from_calendar_date(gregorian_year, month_enum, day_value)
            .map_err(|_| no_such_date)?;
        Ok(Self { gregorian })
    }

    /// The ROC date of a Gregorian date from 1912-01-01 on.
    pub fn from_gregorian(date: Date) -> Result<Self, RocDateError> {
        if date.year() <= ROC_YEAR_OFFSET {
            return Err(RocDateError::BeforeRocEra(date));
        }
        Ok(Self { gregorian: date })
    }

    /// The same day in the Gregorian calendar.
    pub fn to_gregorian(self) -> Date {
        self.gregorian
    }

    /// The ROC year (民國 year), 1 or more.
    pub fn year(self) -> u32 {
        // From 1912 on, so the difference is positive.
        u32::try_from(self.gregorian.year() - ROC_YEAR_OFFSET).unwrap_or(0)
    }

    /// The month, 1–12.
    pub fn month(self) -> u8 {
        u8::from(self.gregorian.month())
    }

    /// The day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.gregorian.day()
    }

    /// Reads `民國107年5月1日`, `107年5月1日`, `107/05/01` (or `107/5/1`) and the compact
    /// `1070501` (exactly 7 digits). Full-width digits and surrounding spaces are accepted.
    pub fn parse(text: &str) -> Result<Self, RocDateError> {
        let folded = fold_typed(text);
        if folded.is_empty() {
            return Err(RocDateError::Empty);
        }
        let (year, month, day) =
            split_roc_date(&folded).ok_or_else(|| RocDateError::Format(text.to_owned()))?;
        Self::new(year, month, day)
    }

    /// `107/05/01`: the form official forms print.
    pub fn to_slash_form(self) -> String {
        format!("{:03}/{:02}/{:02}", self.year(), self.month(), self.day())
    }

    /// `1070501`: the compact form (also the card's initial PIN is its last six digits).
    pub fn to_compact_form(self) -> String {
        format!("{:03}{:02}{:02}", self.year(), self.month(), self.day())
    }
}

impl fmt::Display for RocDate {
    /// `民國107年5月1日`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "民國{}年{}月{}日", self.year(), self.month(), self.day())
    }
}

/// Year, month and day of one of the accepted ROC forms, unchecked.
fn split_roc_date(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.strip_prefix("民國").unwrap_or(text).trim();
    if let Some((year, rest)) = text.split_once('年') {
        let (month, rest) = rest.split_once('月')?;
        let day = rest.strip_suffix('日')?;
        return Some((
            number(year, 1, 3)?,
            number(month, 1, 2)?,
            number(day, 1, 2)?,
        ));
    }
    if text.contains('/') {
        let mut parts = text.split('/');
        let year = number(parts.next()?, 1, 3)?;
        let month = number(parts.next()?, 1, 2)?;
        let day = number(parts.next()?, 1, 2)?;
        return parts.next().is_none().then_some((year, month, day));
    }
    if text.len() == 7 && text.bytes().all(|b| b.is_ascii_digit()) {
        let (year, rest) = text.split_at(3);
        let (month, day) = rest.split_at(2);
        return Some((
            number(year, 3, 3)?,
            number(month, 2, 2)?,
            number(day, 2, 2)?,
        ));
    }
    None
}

/// A run of `min..=max` ASCII digits (spaces around it allowed) as a number.
fn number(text: &str, min: usize, max: usize) -> Option<u32> {
    let text = text.trim();
    if !(min..=max).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads an ROC date with an optional Taiwan time of day (`民國110年5月1日 23:59:59`,
/// `110/05/01 08:30`) as an instant. Without a time it is the start of that day in Taiwan.
pub fn parse_taiwan_date_time(text: &str) -> Result<OffsetDateTime, RocDateError> {
    let folded = fold_typed(text);
    let (date_part, time_part) = match folded.rsplit_once(' ') {
        Some((date, time)) if time.contains(':') => (date.trim(), Some(time)),
        _ => (folded.as_str(), None),
    };
    let date = RocDate::parse(date_part)?.to_gregorian();
    let time_of_day = match time_part {
        None => Time::MIDNIGHT,
        Some(time) => {
            parse_time_of_day(time).ok_or_else(|| RocDateError::NoSuchTime(time.to_owned()))?
        }
    };
    Ok(PrimitiveDateTime::new(date, time_of_day).assume_offset(TAIWAN_OFFSET))
}

fn parse_time_of_day(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let hour = number(parts.next()?, 1, 2)?;
    let minute = number(parts.next()?, 2, 2)?;
    let second = match parts.next() {
        Some(second) => number(second, 2, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()
}

const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn english_month(month: Month) -> &'static str {
    let index = usize::from(u8::from(month)).saturating_sub(1);
    ENGLISH_MONTHS.get(index).copied().unwrap_or("")
}

fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A calendar date for display in both calendars:
/// zh-TW `民國110年5月1日（2021-05-01）`, English `1 May 2021 (ROC 110/05/01)`.
/// Dates before 1912 have no ROC form and show only the Gregorian date.
pub fn format_date(date: Date, language: Language) -> String {
    let roc = RocDate::from_gregorian(date).ok();
    match (language, roc) {
        (Language::ZhTw, Some(roc)) => format!("{roc}（{}）", iso_date(date)),
        (Language::ZhTw, None) => format!(
            "西元{}年{}月{}日",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        (Language::En, Some(roc)) => format!(
            "{} {} {} (ROC {})",
            date.day(),
            english_month(date.month()),
            date.year(),
            roc.to_slash_form()
        ),
        (Language::En, None) => {
            format!(
                "{} {} {}",
                date.day(),
                english_month(date.month()),
                date.year()
            )
        }
    }
}

/// An instant for display as Taiwan date and time, in both calendars:
/// zh-TW `民國110年5月1日 23:59:59（2021-05-01）`,
/// English `1 May 2021, 23:59:59 Taiwan time (ROC 110/05/01)`.
pub fn format_instant(instant: OffsetDateTime, language: Language) -> String {
    let Some(local) = in_taiwan(instant) else {
        // Only the last hours of the year 9999 cannot be moved to Taiwan time.
        return format!("{instant}");
    };
    let date = local.date();
    let clock = format!(
        "{:02}:{:02}:{:02}",
        local.hour(),
        local.minute(),
        local.second()
    );
    let roc = RocDate::from_gregorian(date).ok();
    match (language, roc) {
        (Language::ZhTw, Some(roc)) => format!("{roc} {clock}（{}）", iso_date(date)),
        (Language::ZhTw, None) => format!("{} {clock}", format_date(date, language)),
        (Language::En, Some(roc)) => format!(
            "{} {} {}, {clock} Taiwan time (ROC {})",
            date.day(),
            english_month(date.month()),
            date.year(),
            roc.to_slash_form()
        ),
        (Language::En, None) => format!(
            "{} {} {}, {clock} Taiwan time",
            date.day(),
            english_month(date.month()),
            date.year()
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn notice_example_dates_convert_both_ways() {
        let expiry = RocDate::new(107, 5, 1).unwrap();
        assert_eq!(expiry.to_gregorian(), date!(2018 - 05 - 01));
        assert_eq!(
            RocDate::from_gregorian(date!(2021 - 05 - 01)).unwrap(),
            RocDate::new(110, 5, 1).unwrap()
        );
        assert_eq!(expiry.to_string(), "民國107年5月1日");
        assert_eq!(expiry.to_slash_form(), "107/05/01");
        assert_eq!(expiry.to_compact_form(), "1070501");
        // The renewal service opened on 民國97年3月1日.
        assert_eq!(
            RocDate::new(97, 3, 1).unwrap().to_gregorian(),
            date!(2008 - 03 - 01)
        );
    }

    #[test]
    fn parses_every_written_form() {
        let expected = RocDate::new(107, 5, 1).unwrap();
        for text in [
            "民國107年5月1日",
            "107年05月01日",
            "民國 107 年 5 月 1 日",
            "107/05/01",
            "107/5/1",
            "1070501",
            "１０７／０５／０１",
        ] {
            assert_eq!(RocDate::parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        assert_eq!(RocDate::parse(""), Err(RocDateError::Empty));
        assert_eq!(RocDate::parse("0/01/01"), Err(RocDateError::YearZero));
        assert_eq!(RocDate::parse("0000101"), Err(RocDateError::YearZero));
        assert_eq!(
            RocDate::parse("113/02/30"),
            Err(RocDateError::NoSuchDate {
                year: 113,
                month: 2,
                day: 30
            })
        );
        assert!(matches!(
            RocDate::parse("107-05-01"),
            Err(RocDateError::Format(_))
        ));
        assert!(RocDate::parse("1070501 ").is_ok());
        assert!(matches!(
            RocDate::parse("107/05/01/01"),
            Err(RocDateError::Format(_))
        ));
        assert_eq!(
            RocDate::from_gregorian(date!(1911 - 12 - 31)),
            Err(RocDateError::BeforeRocEra(date!(1911 - 12 - 31)))
        );
        // 民國113年 (2024) is a leap year, 民國112年 is not.
        assert!(RocDate::new(113, 2, 29).is_ok());
        assert!(RocDate::new(112, 2, 29).is_err());
    }

    #[test]
    fn reads_dates_with_taiwan_time() {
        assert_eq!(
            parse_taiwan_date_time("民國110年5月1日 23:59:59").unwrap(),
            datetime!(2021-05-01 15:59:59 UTC)
        );
        assert_eq!(
            parse_taiwan_date_time("110/05/01").unwrap(),
            datetime!(2021-04-30 16:00:00 UTC)
        );
        assert!(matches!(
            parse_taiwan_date_time("110/05/01 24:00:00"),
            Err(RocDateError::NoSuchTime(_))
        ));
    }

    #[test]
    fn formats_in_both_languages() {
        let expiry = datetime!(2021-05-01 15:59:59 UTC);
        assert_eq!(
            format_instant(expiry, Language::ZhTw),
            "民國110年5月1日 23:59:59（2021-05-01）"
        );
        assert_eq!(
            format_instant(expiry, Language::En),
            "1 May 2021, 23:59:59 Taiwan time (ROC 110/05/01)"
        );
        assert_eq!(
            format_date(date!(2018 - 05 - 01), Language::ZhTw),
            "民國107年5月1日（2018-05-01）"
        );
        assert_eq!(
            format_date(date!(2018 - 05 - 01), Language::En),
            "1 May 2018 (ROC 107/05/01)"
        );
        assert_eq!(
            format_date(date!(1911 - 10 - 10), Language::En),
            "10 October 1911"
        );
    }
}
