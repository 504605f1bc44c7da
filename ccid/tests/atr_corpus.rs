//! The ATR parser against the public ATR list (`smartcard_list.txt`, pcsc-tools) kept in the
//! project's `shared` folder, and against inputs meant to make it panic.
//!
//! The list lives beside the project: `shared/corpora/atr/smartcard_list.txt`. Set
//! `MOICA_SHARED_DIR` to the `shared` folder to read it from elsewhere. Run with
//! `cargo test -p ccid --test atr_corpus -- --nocapture` to see the counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use ccid::atr::{Atr, AtrError, CardClass, Convention, Edc};
use ccid::hex;
use ccid::pps::PpsRequest;

/// Entries the list holds (the version in `shared`).
const LIST_ENTRIES: usize = 5_070;

/// The MOICA ATRs the project meets, as the list spells them.
const MOICA_GEN1: &str = "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5";
const MOICA_GEN2: &str = "3B D8 96 00 81 B1 FE 45 1F 07 43 48 54 47 50 4B 49 4A DD";

fn list_path() -> PathBuf {
    match std::env::var_os("MOICA_SHARED_DIR") {
        Some(shared) => PathBuf::from(shared).join("corpora/atr/smartcard_list.txt"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpora/atr/smartcard_list.txt"
        )),
    }
}

/// One entry of the list: its ATR line and the description lines under it.
struct Entry {
    line_number: usize,
    atr: String,
    descriptions: Vec<String>,
}

impl Entry {
    /// A plain ATR is hex bytes and spaces only; anything else (`..`, `[`, `*`, `\` …) is a
    /// regular expression standing for many ATRs.
    fn is_plain(&self) -> bool {
        self.atr.chars().all(|c| c.is_ascii_hexdigit() || c == ' ')
    }
}

/// Reads the list: `#` lines are comments, an ATR line starts an entry, tab-indented lines
/// describe it, a blank line ends it. (One entry has a blank line inside its description; the
/// indented lines after it still describe that entry.)
fn read_list() -> Vec<Entry> {
    let path = list_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read the ATR list {}: {error}. It belongs in shared/corpora/atr/ beside the \
             project root; set MOICA_SHARED_DIR to the `shared` folder if it is elsewhere.",
            path.display()
        )
    });
    let mut entries: Vec<Entry> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') || line.starts_with(' ') {
            let entry = entries
                .last_mut()
                .unwrap_or_else(|| panic!("line {}: a description before any ATR", index + 1));
            entry.descriptions.push(line.trim().to_string());
        } else {
            entries.push(Entry {
                line_number: index + 1,
                atr: line.trim_end().to_string(),
                descriptions: Vec::new(),
            });
        }
    }
    entries
}

fn reason(error: &AtrError) -> &'static str {
    match error {
        AtrError::TooShort => "TooShort",
        AtrError::BadTs(_) => "BadTs",
        AtrError::Truncated { .. } => "Truncated",
        AtrError::TrailingBytes { .. } => "TrailingBytes",
        AtrError::TooLong(_) => "TooLong",
        AtrError::MissingTck => "MissingTck",
        AtrError::BadTck(_) => "BadTck",
    }
}

#[test]
fn every_plain_atr_of_the_list_parses_or_is_refused_for_a_stated_reason() {
    let entries = read_list();
    let mut plain = 0;
    let mut parsed = 0;
    let mut patterns = 0;
    let mut refused: BTreeMap<&'static str, usize> = BTreeMap::new();
    for entry in &entries {
        if !entry.is_plain() {
            patterns += 1;
            continue;
        }
        plain += 1;
        let bytes = hex::parse(&entry.atr).unwrap_or_else(|error| {
            panic!(
                "line {}: {:?} is not hex: {error}",
                entry.line_number, entry.atr
            )
        });
        match Atr::parse(&bytes) {
            Ok(atr) => {
                parsed += 1;
                assert_eq!(atr.bytes(), bytes.as_slice());
            }
            Err(error) => *refused.entry(reason(&error)).or_default() += 1,
        }
    }
    let refused_total: usize = refused.values().sum();

    println!("ATR list {}", list_path().display());
    println!("entries: {}", entries.len());
    println!("plain hex: {plain}");
    println!("parsed: {parsed}");
    for (reason, count) in &refused {
        println!("refused, {reason}: {count}");
    }
    println!("refused in all: {refused_total}");
    println!("skipped (pattern, not one ATR): {patterns}");

    assert_eq!(entries.len(), LIST_ENTRIES, "the list's entry count");
    assert_eq!(plain + patterns, entries.len());
    assert_eq!(parsed + refused_total, plain);
    assert!(
        parsed * 100 >= plain * 95,
        "only {parsed} of {plain} plain ATRs parse; at least 95 % should"
    );
}

/// The list's own line for an ATR, with its description.
fn list_atr(atr: &str) -> (Atr, Vec<String>) {
    let entries = read_list();
    let entry = entries
        .iter()
        .find(|entry| entry.atr == atr)
        .unwrap_or_else(|| panic!("the list has no entry {atr}"));
    let bytes = hex::parse(&entry.atr).unwrap();
    let parsed =
        Atr::parse(&bytes).unwrap_or_else(|error| panic!("line {}: {error}", entry.line_number));
    (parsed, entry.descriptions.clone())
}

#[test]
fn moica_first_generation_from_the_list() {
    let (atr, descriptions) = list_atr(MOICA_GEN1);
    assert!(descriptions.iter().any(|d| d.contains("moica.nat.gov.tw")));
    assert_eq!(atr.convention(), Convention::Direct);
    assert_eq!(atr.protocols(), vec![1]);
    assert_eq!(atr.default_protocol(), 1);
    assert_eq!(atr.ta1(), Some(0x13));
    assert_eq!(
        (atr.fi(), atr.di(), atr.f_max_khz()),
        (Some(372), Some(4), Some(5_000))
    );
    assert_eq!(atr.extra_guard_time(), 0);
    assert_eq!(atr.specific_mode(), None);
    assert_eq!(atr.ifsc(), 250);
    assert_eq!((atr.bwi(), atr.cwi()), (5, 2));
    assert_eq!(atr.t1_edc(), Edc::Lrc);
    assert_eq!(atr.classes(), vec![]);
    assert_eq!(atr.historical_bytes(), b"CHTMOICA");
    assert_eq!(atr.tck(), Some(0xA5));
}

#[test]
fn moica_second_generation_from_the_list() {
    let (atr, descriptions) = list_atr(MOICA_GEN2);
    assert!(descriptions.iter().any(|d| d.contains("moica.nat.gov.tw")));
    assert_eq!(atr.protocols(), vec![1]);
    assert_eq!(atr.default_protocol(), 1);
    assert_eq!(atr.ta1(), Some(0x96));
    assert_eq!(
        (atr.fi(), atr.di(), atr.f_max_khz()),
        (Some(512), Some(32), Some(5_000))
    );
    assert_eq!(atr.extra_guard_time(), 0);
    // TD2 = B1: TA3 = FE, TB3 = 45 for T=1; TD3 = 1F: TA4 = 07 for T=15.
    assert_eq!(atr.ifsc(), 254);
    assert_eq!((atr.bwi(), atr.cwi()), (4, 5));
    assert_eq!(atr.t1_edc(), Edc::Lrc);
    assert_eq!(
        atr.classes(),
        vec![CardClass::A, CardClass::B, CardClass::C]
    );
    assert_eq!(atr.historical_bytes(), b"CHTGPKIJ");
    assert_eq!(atr.tck(), Some(0xDD));
}

/// Exercises every accessor, so that a panic anywhere in them shows.
fn touch(atr: &Atr) {
    let _ = (atr.bytes(), atr.convention(), atr.interface_groups());
    let _ = (atr.historical_bytes(), atr.tck(), atr.protocols());
    let _ = (atr.default_protocol(), atr.ta1(), atr.fi_di_index());
    let _ = (atr.fi(), atr.f_max_khz(), atr.di(), atr.extra_guard_time());
    let _ = (atr.t0_wi(), atr.specific_mode(), atr.ifsc(), atr.bwi());
    let _ = (atr.cwi(), atr.t1_edc(), atr.classes());
}

#[test]
fn no_prefix_of_a_listed_atr_panics() {
    let mut prefixes = 0;
    for entry in read_list().iter().filter(|entry| entry.is_plain()) {
        let bytes = hex::parse(&entry.atr).unwrap();
        for end in 0..=bytes.len() {
            prefixes += 1;
            if let Ok(atr) = Atr::parse(&bytes[..end]) {
                touch(&atr);
            }
        }
    }
    println!("prefixes tried: {prefixes}");
}

/// xorshift32: deterministic bytes without a dependency.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

#[test]
fn no_pseudo_random_bytes_panic() {
    let mut rng = XorShift(0x4D4F_4943);
    let mut parsed = 0;
    for round in 0..20_000 {
        let len = (rng.next() % 48) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Most rounds get a valid TS so the parser goes past the first byte.
        if let Some(first) = bytes.first_mut() {
            if round % 4 != 0 {
                *first = if round % 2 == 0 { 0x3B } else { 0x3F };
            }
        }
        // Some rounds also get a right TCK, to reach the accessors.
        if round % 3 == 0 && bytes.len() > 2 {
            let check = bytes[1..bytes.len() - 1].iter().fold(0, |acc, b| acc ^ b);
            if let Some(last) = bytes.last_mut() {
                *last = check;
            }
        }
        if let Ok(atr) = Atr::parse(&bytes) {
            parsed += 1;
            touch(&atr);
        }
        let _ = PpsRequest::parse(&bytes);
        let request = PpsRequest {
            protocol: if rng.byte() & 1 == 0 {
                ccid::Protocol::T0
            } else {
                ccid::Protocol::T1
            },
            fi_di: Some(rng.byte()).filter(|b| b & 1 == 0),
            pps2: None,
            pps3: None,
        };
        let _ = request.check_response(&bytes);
    }
    println!("pseudo-random inputs that parse as ATRs: {parsed}");
}
