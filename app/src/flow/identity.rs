//! What the user types, checked as they type: a message that names the wrong part, or how a
//! correct birthday was read. The same rules as the authority's (`renewal`), never our own.

use card::PinError;
use renewal::national_id::NATIONAL_ID_LENGTH;
use renewal::{Birthday, BirthdayError, NationalId, NationalIdError};

use crate::i18n::{Arg, Key, Message};

/// How far the user is with a field: messages about a missing part wait until the field is
/// left or the form is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    /// Still typing: only mistakes already made are shown.
    InProgress,
    /// Left the field or sent the form: everything is checked.
    Finished,
}

/// The message for a refused national ID number.
pub fn national_id_error_message(error: &NationalIdError) -> Message {
    match error {
        NationalIdError::Length { found: 0 } => Message::new(Key::IdEmpty),
        NationalIdError::Length { found } => {
            Message::new(Key::IdLength).with("found", Arg::Number(count(*found)))
        }
        NationalIdError::FirstLetter { found } => {
            Message::new(Key::IdFirstLetter).with("found", Arg::Text(found.to_string()))
        }
        NationalIdError::SecondDigit { found } => {
            Message::new(Key::IdSecondDigit).with("found", Arg::Text(found.to_string()))
        }
        NationalIdError::Digit { position, found } => Message::new(Key::IdDigit)
            .with("position", Arg::Number(count(*position)))
            .with("found", Arg::Text(found.to_string())),
        NationalIdError::Checksum => Message::new(Key::IdChecksum),
    }
}

fn count(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// What is wrong with a typed national ID number, if anything.
///
/// While typing, a number that is merely short is not wrong yet: it is checked as if the
/// missing digits were there, so a wrong letter or a letter among the digits shows at once.
pub fn check_national_id(typed: &str, typing: Typing) -> Option<Message> {
    let trimmed = typed.trim();
    let error = match NationalId::parse(trimmed) {
        Ok(_) => return None,
        Err(error) => error,
    };
    if typing == Typing::Finished {
        return Some(national_id_error_message(&error));
    }
    let typed_characters = trimmed.chars().count();
    if typed_characters == 0 {
        // Nothing typed yet is nothing wrong yet.
        return None;
    }
    if typed_characters >= NATIONAL_ID_LENGTH {
        return Some(national_id_error_message(&error));
    }
    // Complete the number with digits to see whether what is there already breaks a rule.
    let completed = format!(
        "{trimmed}{}",
        "0".repeat(NATIONAL_ID_LENGTH - typed_characters)
    );
    match NationalId::parse(&completed) {
        Err(
            error @ (NationalIdError::FirstLetter { .. } | NationalIdError::SecondDigit { .. }),
        ) => Some(national_id_error_message(&error)),
        Err(error @ NationalIdError::Digit { position, .. }) if position <= typed_characters => {
            Some(national_id_error_message(&error))
        }
        _ => None,
    }
}

/// The message for a refused birthday.
pub fn birthday_error_message(error: &BirthdayError) -> Message {
    match error {
        BirthdayError::Empty => Message::new(Key::BirthdayEmpty),
        BirthdayError::Format(_) => Message::new(Key::BirthdayFormat),
        BirthdayError::RocYearZero => Message::new(Key::BirthdayRocYearZero),
        BirthdayError::NoSuchDate {
            calendar,
            year,
            month,
            day,
        } => {
            let key = if *calendar == "ROC" {
                Key::BirthdayNoSuchRocDate
            } else {
                Key::BirthdayNoSuchDate
            };
            Message::new(key)
                .with("year", Arg::Number(i64::from(*year)))
                .with("month", Arg::Number(i64::from(*month)))
                .with("day", Arg::Number(i64::from(*day)))
        }
    }
}

/// What a typed birthday says: `Ok` with how it was read (both calendars), so the user sees
/// that 0790101 is 1 January 1990; `Err` with what is wrong. `None` while there is nothing to
/// say yet.
pub fn check_birthday(typed: &str, typing: Typing) -> Option<Result<Message, Message>> {
    match Birthday::parse(typed) {
        Ok(birthday) => Some(Ok(
            Message::new(Key::BirthdayReadAs).with("date", Arg::Date(birthday.date()))
        )),
        Err(BirthdayError::Empty | BirthdayError::Format(_)) if typing == Typing::InProgress => {
            None
        }
        Err(error) => Some(Err(birthday_error_message(&error))),
    }
}

/// The message for a PIN that is not 6 to 8 letters or digits.
pub fn pin_error_message(error: &PinError) -> Message {
    match error {
        PinError::TooShort(0) => Message::new(Key::PinEmpty),
        PinError::TooShort(found) => {
            Message::new(Key::PinTooShort).with("found", Arg::Number(count(*found)))
        }
        PinError::TooLong(found) => {
            Message::new(Key::PinTooLong).with("found", Arg::Number(count(*found)))
        }
        PinError::NotAlphanumeric => Message::new(Key::PinNotAlphanumeric),
    }
}

/// The message after a wrong PIN.
pub fn wrong_pin_message(tries_left: u8) -> Message {
    let key = if tries_left == 1 {
        Key::PinWrongLastTry
    } else {
        Key::PinWrong
    };
    Message::new(key).with("n", Arg::Number(i64::from(tries_left)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_number_is_not_wrong_while_typing() {
        assert_eq!(check_national_id("", Typing::InProgress), None);
        assert_eq!(check_national_id("  ", Typing::InProgress), None);
        assert_eq!(
            check_national_id("", Typing::Finished).map(|m| m.key),
            Some(Key::IdEmpty)
        );
        assert_eq!(check_national_id("A12", Typing::InProgress), None);
        assert_eq!(
            check_national_id("A12", Typing::Finished).map(|m| m.key),
            Some(Key::IdLength)
        );
        assert_eq!(
            check_national_id("A3", Typing::InProgress).map(|m| m.key),
            Some(Key::IdSecondDigit)
        );
        assert_eq!(
            check_national_id("1", Typing::InProgress).map(|m| m.key),
            Some(Key::IdFirstLetter)
        );
        assert_eq!(
            check_national_id("A12x", Typing::InProgress).map(|m| m.key),
            Some(Key::IdDigit)
        );
        assert_eq!(check_national_id("A123456789", Typing::InProgress), None);
        assert_eq!(
            check_national_id("A123456788", Typing::InProgress).map(|m| m.key),
            Some(Key::IdChecksum)
        );
    }

    #[test]
    fn a_birthday_is_read_back_in_both_calendars() {
        let Some(Ok(reading)) = check_birthday("0790101", Typing::InProgress) else {
            unreachable!("0790101 is a birthday");
        };
        assert_eq!(
            reading.render(crate::i18n::Language::ZhTw),
            "讀作 民國79年1月1日（1990-01-01）"
        );
        assert_eq!(check_birthday("079", Typing::InProgress), None);
        assert!(matches!(
            check_birthday("079", Typing::Finished),
            Some(Err(message)) if message.key == Key::BirthdayFormat
        ));
        assert!(matches!(
            check_birthday("79/02/30", Typing::InProgress),
            Some(Err(message)) if message.key == Key::BirthdayNoSuchRocDate
        ));
    }
}
