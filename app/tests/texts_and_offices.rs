//! The catalogue has every text in both languages, and the office list parses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use app::i18n::{blanks, Key};
use app::offices::parse_offices;

fn has_cjk(text: &str) -> bool {
    text.chars()
        .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3000}'..='\u{303F}').contains(&c))
}

/// Texts that name the other language on purpose (the language switch).
const NAMES_THE_OTHER_LANGUAGE: [Key; 2] = [Key::LanguageSwitch, Key::LanguageSwitchLabel];

#[test]
fn every_text_has_both_languages_with_the_same_blanks() {
    assert!(Key::ALL.len() > 100, "{} texts", Key::ALL.len());
    for &key in Key::ALL {
        let (zh, en) = (key.zh_tw(), key.en());
        assert!(!zh.trim().is_empty(), "{key:?} has no zh-TW text");
        assert!(!en.trim().is_empty(), "{key:?} has no English text");
        let mut zh_blanks = blanks(zh);
        let mut en_blanks = blanks(en);
        zh_blanks.sort_unstable();
        en_blanks.sort_unstable();
        assert_eq!(zh_blanks, en_blanks, "{key:?}: blanks differ");
        if key != Key::LanguageSwitch {
            assert!(has_cjk(zh), "{key:?}: the zh-TW text is not Chinese: {zh}");
        }
        if !NAMES_THE_OTHER_LANGUAGE.contains(&key) {
            assert!(!has_cjk(en), "{key:?}: the English text has Chinese: {en}");
        }
    }
}

#[test]
fn the_official_wording_is_used() {
    assert_eq!(Key::DoneTitle.zh_tw(), "展期作業成功");
    assert!(Key::PrintReceipt.zh_tw().contains("收執聯"));
    assert!(Key::DoNotRemoveCard.zh_tw().contains("請勿將卡片抽出"));
    assert!(Key::InfoFree.zh_tw().contains("不收取費用"));
    assert!(Key::InfoHours
        .zh_tw()
        .contains("上午8:30至12:00、下午1:30至5:00"));
}

#[test]
fn the_office_list_is_the_notices_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/offices.json");
    let json = std::fs::read_to_string(path).unwrap();
    let list = parse_offices(&json).unwrap();
    let rows: Vec<(&str, &str, &str)> = list
        .offices
        .iter()
        .map(|o| (o.name.as_str(), o.address.as_str(), o.phone.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "中和區戶政事務所",
                "新北市中和區南山路236號四樓",
                "02-29495759"
            ),
            (
                "中和區戶政事務所員山辦事處",
                "新北市中和區中正路1163號三、四樓",
                "02-22259730"
            ),
            (
                "永和區戶政事務所",
                "新北市永和區竹林路200-1號",
                "02-29291276"
            ),
        ]
    );
    assert_eq!(list.offices[0].phone_link(), "tel:0229495759");
    assert!(parse_offices(r#"{"offices": []}"#).is_err());
    assert!(parse_offices("<html>").is_err());
}
