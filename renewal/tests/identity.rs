//! What the user types: national ID numbers and birthdays, accepted and refused with reasons.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use renewal::national_id::letter_code;
use renewal::{Birthday, BirthdayError, ErrorCode, NationalId, NationalIdError};
use time::macros::date;

#[test]
fn letter_codes_follow_the_official_table() {
    // Alphabetical from A=10 to H=17, then J=18 … V=29 skipping I and O; X=30, Y=31, W=32,
    // Z=33, I=34, O=35 (letters added later got the next codes).
    let table = "A10 B11 C12 D13 E14 F15 G16 H17 I34 J18 K19 L20 M21 N22 O35 P23 Q24 R25 S26 \
                 T27 U28 V29 W32 X30 Y31 Z33";
    for entry in table.split_whitespace() {
        let letter = entry.chars().next().unwrap();
        let code: u32 = entry.get(1..).unwrap().parse().unwrap();
        assert_eq!(letter_code(letter), Some(code), "{letter}");
    }
    assert_eq!(letter_code('a'), None);
    assert_eq!(letter_code('1'), None);
}

#[test]
fn valid_numbers_for_several_letters() {
    for id in [
        "A123456789", // the textbook example
        "B298765438",
        "I123456781", // I = 34
        "O223456784", // O = 35
        "W111111113", // W = 32
        "Z200000004", // Z = 33
        "Y135792468",
        "F812345676", // new-format resident number, second digit 8
        "A900000007", // new-format resident number, second digit 9
        "K824697536",
    ] {
        let parsed = NationalId::parse(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.as_str(), id);
    }
}

#[test]
fn typed_forms_are_normalised() {
    let expected = NationalId::parse("A123456789").unwrap();
    for typed in [
        "a123456789",
        " A123456789 ",
        "Ａ１２３４５６７８９",
        "\u{3000}a123456789",
    ] {
        assert_eq!(
            NationalId::parse(typed).as_ref(),
            Ok(&expected),
            "{typed:?}"
        );
    }
    assert_eq!(expected.last_four(), "6789");
}

#[test]
fn each_kind_of_mistake_has_its_reason() {
    use NationalIdError::*;
    let cases: &[(&str, NationalIdError)] = &[
        ("", Length { found: 0 }),
        ("A12345678", Length { found: 9 }),
        ("A1234567890", Length { found: 11 }),
        ("1123456789", FirstLetter { found: '1' }),
        ("É123456789", FirstLetter { found: 'É' }),
        ("A323456789", SecondDigit { found: '3' }),
        ("A023456789", SecondDigit { found: '0' }),
        ("AB23456789", SecondDigit { found: 'B' }),
        (
            "A12345678X",
            Digit {
                position: 10,
                found: 'X',
            },
        ),
        (
            "A1234-6789",
            Digit {
                position: 6,
                found: '-',
            },
        ),
        ("A123456788", Checksum),
        ("I123456789", Checksum), // valid only if I were 18 (alphabetical)
        ("F812345677", Checksum),
    ];
    for (typed, reason) in cases {
        assert_eq!(NationalId::parse(typed).as_ref(), Err(reason), "{typed:?}");
    }
    assert_eq!(ErrorCode::from(&Checksum), ErrorCode::NationalIdChecksum);
    assert_eq!(
        ErrorCode::from(&Length { found: 0 }),
        ErrorCode::NationalIdLength
    );
}

#[test]
fn birthdays_in_all_three_forms() {
    for typed in [
        "0790101",
        "79/01/01",
        "79/1/1",
        "1990-01-01",
        "民國79年1月1日",
        "１９９０－０１－０１",
    ] {
        let birthday = Birthday::parse(typed).unwrap_or_else(|e| panic!("{typed}: {e}"));
        assert_eq!(birthday.date(), date!(1990 - 01 - 01), "{typed}");
        assert_eq!(birthday.normalized(), "1990-01-01");
        assert_eq!(birthday.roc().unwrap().to_compact_form(), "0790101");
    }
    // Three-digit ROC years.
    assert_eq!(
        Birthday::parse("1000228").unwrap().date(),
        date!(2011 - 02 - 28)
    );
    assert_eq!(
        Birthday::parse("100/12/31").unwrap().date(),
        date!(2011 - 12 - 31)
    );
    // Leap days exist only in leap years: 民國89年 (2000) is one.
    assert_eq!(
        Birthday::parse("89/02/29").unwrap().date(),
        date!(2000 - 02 - 29)
    );
}

#[test]
fn invalid_birthdays_say_why() {
    use BirthdayError::*;
    assert_eq!(Birthday::parse(""), Err(Empty));
    assert_eq!(Birthday::parse("   "), Err(Empty));
    assert_eq!(
        Birthday::parse("79/02/30"),
        Err(NoSuchDate {
            calendar: "ROC",
            year: 79,
            month: 2,
            day: 30
        })
    );
    assert_eq!(
        Birthday::parse("0790230"),
        Err(NoSuchDate {
            calendar: "ROC",
            year: 79,
            month: 2,
            day: 30
        })
    );
    assert_eq!(
        Birthday::parse("1990-02-30"),
        Err(NoSuchDate {
            calendar: "Gregorian",
            year: 1990,
            month: 2,
            day: 30
        })
    );
    assert_eq!(
        Birthday::parse("1990-13-01"),
        Err(NoSuchDate {
            calendar: "Gregorian",
            year: 1990,
            month: 13,
            day: 1
        })
    );
    assert_eq!(
        Birthday::parse("90/02/29"),
        Err(NoSuchDate {
            calendar: "ROC",
            year: 90,
            month: 2,
            day: 29
        })
    );
    assert_eq!(Birthday::parse("0/01/01"), Err(RocYearZero));
    assert_eq!(Birthday::parse("0000101"), Err(RocYearZero));
    assert_eq!(Birthday::parse("民國0年1月1日"), Err(RocYearZero));
    for typed in [
        "abc",
        "790101",
        "79-01-01",
        "1990.01.01",
        "19900101",
        "79/01",
    ] {
        assert!(matches!(Birthday::parse(typed), Err(Format(_))), "{typed}");
    }
    assert_eq!(
        ErrorCode::from(&RocYearZero),
        ErrorCode::BirthdayRocYearZero
    );
}
