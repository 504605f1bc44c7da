//! Taiwan time and calendar-year arithmetic.
//!
//! Every rule that speaks of dates ("5 years", "3 years later", "107年5月1日") means calendar
//! dates in Taiwan, which keeps UTC+8 all year (no daylight saving since 1979). Instants are
//! stored in UTC; this module moves them to Taiwan time and back.

use time::{Date, Month, OffsetDateTime, UtcOffset};

/// Taiwan's offset from UTC (UTC+8), fixed all year.
pub const TAIWAN_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The instant seen on a clock in Taiwan; `None` when that leaves the supported years
/// (9999-12-31 16:00 UTC and later: "never expires" certificates use 9999-12-31 23:59:59).
pub fn in_taiwan(instant: OffsetDateTime) -> Option<OffsetDateTime> {
    instant.checked_to_offset(TAIWAN_OFFSET)
}

/// The calendar date in Taiwan at this instant; `None` past the supported years.
pub fn taiwan_date(instant: OffsetDateTime) -> Option<Date> {
    in_taiwan(instant).map(OffsetDateTime::date)
}

/// The same month and day `years` later; 29 February becomes 28 February in a common year
/// (RULES.md decision). `None` when the year leaves the supported range (±9999).
pub fn add_calendar_years(date: Date, years: i32) -> Option<Date> {
    let year = date.year().checked_add(years)?;
    let day =
        if date.month() == Month::February && date.day() == 29 && !time::util::is_leap_year(year) {
            28
        } else {
            date.day()
        };
    Date::from_calendar_date(year, date.month(), day).ok()
}

/// The instant `years` calendar years later in Taiwan time, time of day kept; 29 February
/// becomes 28 February. `None` when the year leaves the supported range.
pub fn add_calendar_years_taiwan(instant: OffsetDateTime, years: i32) -> Option<OffsetDateTime> {
    let local = in_taiwan(instant)?;
    let date = add_calendar_years(local.date(), years)?;
    local.replace_date(date).checked_to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn leap_day_becomes_28_february() {
        assert_eq!(
            add_calendar_years(date!(2024 - 02 - 29), 3),
            Some(date!(2027 - 02 - 28))
        );
        assert_eq!(
            add_calendar_years(date!(2024 - 02 - 29), 4),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(
            add_calendar_years(date!(2023 - 03 - 01), 1),
            Some(date!(2024 - 03 - 01))
        );
    }

    #[test]
    fn years_are_counted_in_taiwan_time() {
        // 28 Feb 16:00 UTC is already 29 Feb in Taiwan: the leap-day rule applies.
        let instant = datetime!(2024-02-28 16:00:00 UTC);
        assert_eq!(
            add_calendar_years_taiwan(instant, 3),
            Some(datetime!(2027-02-27 16:00:00 UTC))
        );
    }

    #[test]
    fn out_of_range_years_give_none() {
        assert_eq!(add_calendar_years(date!(9999 - 01 - 01), 3), None);
        assert_eq!(in_taiwan(datetime!(9999-12-31 23:59:59 UTC)), None);
        assert_eq!(
            add_calendar_years_taiwan(datetime!(9999-12-31 23:59:59 UTC), -3),
            None
        );
    }
}
