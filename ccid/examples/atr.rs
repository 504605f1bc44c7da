//! Prints a parsed ATR as JSON.
//!
//! `cargo run -p ccid --example atr -- 3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5`
//! (the hex may also be one quoted argument, or have no spaces). On bad input it prints
//! `{"error": "…"}` and exits with status 1.

use ccid::atr::{Atr, CardClass, Convention, Edc};
use ccid::hex;
use serde_json::{json, Map, Value};

fn main() {
    let text = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let (report, status) = match describe(&text) {
        Ok(report) => (report, 0),
        Err(error) => (json!({ "error": error }), 1),
    };
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(error) => {
            eprintln!("cannot format the report: {error}");
            std::process::exit(2);
        }
    }
    std::process::exit(status);
}

fn describe(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err("no ATR given: pass its hex bytes, e.g. 3B B8 13 …".to_string());
    }
    let bytes = hex::parse(text).map_err(|error| format!("the ATR is not hex: {error}"))?;
    let atr = Atr::parse(&bytes).map_err(|error| error.to_string())?;

    let mut report = Map::new();
    report.insert("atr".into(), json!(hex::format(atr.bytes())));
    let convention = match atr.convention() {
        Convention::Direct => "direct",
        Convention::Inverse => "inverse",
    };
    report.insert("convention".into(), json!(convention));
    report.insert("protocols".into(), json!(atr.protocols()));
    report.insert("fi".into(), json!(atr.fi()));
    report.insert("di".into(), json!(atr.di()));
    report.insert("f_max_khz".into(), json!(atr.f_max_khz()));
    for (number, group) in (1..).zip(atr.interface_groups()) {
        for (name, byte) in [
            ("TA", group.ta),
            ("TB", group.tb),
            ("TC", group.tc),
            ("TD", group.td),
        ] {
            if let Some(byte) = byte {
                report.insert(format!("{name}{number}"), json!(format!("{byte:02X}")));
            }
        }
    }
    report.insert("ifsc".into(), json!(atr.ifsc()));
    report.insert("bwi".into(), json!(atr.bwi()));
    report.insert("cwi".into(), json!(atr.cwi()));
    let edc = match atr.t1_edc() {
        Edc::Lrc => "LRC",
        Edc::Crc => "CRC",
    };
    report.insert("edc".into(), json!(edc));
    report.insert("n".into(), json!(atr.extra_guard_time()));
    if let Some(mode) = atr.specific_mode() {
        report.insert(
            "specific_mode".into(),
            json!({
                "protocol": mode.protocol,
                "can_change": mode.can_change,
                "implicit_parameters": mode.implicit_parameters,
            }),
        );
    }
    let classes = atr.classes();
    if !classes.is_empty() {
        let names: Vec<&str> = classes
            .iter()
            .map(|class| match class {
                CardClass::A => "A",
                CardClass::B => "B",
                CardClass::C => "C",
            })
            .collect();
        report.insert("classes".into(), json!(names));
    }
    // A parsed ATR's TCK is always right: a wrong one is refused as an error.
    report.insert(
        "tck".into(),
        json!(atr.tck().map(|tck| format!("{tck:02X}"))),
    );
    report.insert("tck_valid".into(), json!(atr.tck().map(|_| true)));
    let historical = atr.historical_bytes();
    report.insert("historical_bytes".into(), json!(hex::format(historical)));
    let printable = !historical.is_empty() && historical.iter().all(|b| (0x20..0x7F).contains(b));
    let ascii = printable.then(|| String::from_utf8_lossy(historical).into_owned());
    report.insert("historical_ascii".into(), json!(ascii));
    Ok(Value::Object(report))
}
