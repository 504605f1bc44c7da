//! The driver against simulated readers, printing every USB transfer and APDU.
//!
//! ```text
//! cargo run -p ccid --features sim --example demo                       # print the exchanges
//! cargo run -p ccid --features sim --example demo -- --record tests/traces   # write the traces
//! ```
//!
//! Five readers, one session each: power on, SELECT, GET DATA, VERIFY (tries left, then the
//! PIN), READ BINARY, a long ECHO, power off. Recorded traces are in export mode: the PIN is
//! `..` in them, and they still replay (`ccid/tests/trace_replay.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use ccid::sim::{IccCard, SimReader, SimReaderConfig, TestCard, TEST_PIN};
use ccid::trace::RecordingTransport;
use ccid::{hex, Reader};

struct Scenario {
    name: &'static str,
    what: &'static str,
    config: fn() -> SimReaderConfig,
    card: fn() -> TestCard,
    /// The reader and protocol carry extended APDUs.
    extended: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "extended-apdu",
        what: "extended APDU reader; long command and response chained over wLevelParameter",
        config: SimReaderConfig::extended_apdu,
        card: TestCard::new,
        extended: true,
    },
    Scenario {
        name: "short-apdu",
        what: "short APDU reader",
        config: SimReaderConfig::short_apdu,
        card: TestCard::new,
        extended: false,
    },
    Scenario {
        name: "tpdu-t1",
        what: "TPDU reader, T=1 card: PPS, SetParameters, IFSD request, chained blocks",
        config: SimReaderConfig::tpdu,
        card: TestCard::new,
        extended: true,
    },
    Scenario {
        name: "tpdu-t0",
        what: "TPDU reader, T=0 card: PPS, 6Cxx and 61xx/GET RESPONSE",
        config: SimReaderConfig::tpdu,
        card: TestCard::t0,
        extended: false,
    },
    Scenario {
        name: "ez100pu",
        what: "Castles EZ100PU dialect: big-endian lengths, 16-byte packets, rate stepped down",
        config: SimReaderConfig::ez100pu,
        card: TestCard::second_generation_atr,
        extended: true,
    },
];

fn commands(extended: bool) -> Vec<(&'static str, Vec<u8>)> {
    let mut verify = vec![0x80, 0x20, 0x00, 0x01, 0x08];
    verify.extend_from_slice(TEST_PIN);
    let echo_length: usize = if extended { 300 } else { 200 };
    let mut echo = vec![0x80, 0xEE, 0x00, 0x00];
    let data = (0..echo_length).map(|i| (i % 256) as u8);
    if extended {
        echo.extend_from_slice(&[0x00, 0x01, 0x2C]);
        echo.extend(data);
        echo.extend_from_slice(&[0x00, 0x00]);
    } else {
        echo.push(echo_length as u8);
        echo.extend(data);
        echo.push(0x00);
    }
    let mut list = vec![
        ("SELECT MF", vec![0x80, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]),
        ("GET DATA", vec![0x80, 0xCA, 0x00, 0x00, 0x00]),
        ("VERIFY: tries left", vec![0x80, 0x20, 0x00, 0x01]),
        ("VERIFY the PIN", verify),
        ("READ BINARY 256 bytes", vec![0x80, 0xB0, 0x00, 0x00, 0x00]),
        ("ECHO", echo),
    ];
    if extended {
        list.push((
            "READ BINARY 1000 bytes (extended Le)",
            vec![0x80, 0xB0, 0x00, 0x00, 0x00, 0x03, 0xE8],
        ));
    }
    list
}

async fn run(scenario: &Scenario) -> Result<ccid::trace::Trace, ccid::Error> {
    let device = SimReader::new((scenario.config)());
    let card: Box<dyn IccCard> = Box::new((scenario.card)());
    device.insert(card);
    let mut reader = Reader::open(RecordingTransport::new_export(device.transport())).await?;
    let summary = reader.summary();
    reader.transport_mut().set_reader_summary(summary);
    reader.transport_mut().comment(scenario.what);
    let atr = reader.power_on().await?;
    if let Some(link) = reader.link_info() {
        let note = format!(
            "ATR historical bytes {:?}; {} at Fi/Di 0x{:02X} ({} bps){}",
            String::from_utf8_lossy(atr.historical_bytes()),
            link.protocol
                .map_or("an unnamed protocol".to_string(), |protocol| protocol
                    .to_string()),
            link.fi_di,
            link.baud_rate
                .map_or("?".to_string(), |rate| rate.to_string()),
            if link.host_pps {
                ", PPS by the host"
            } else {
                ""
            },
        );
        reader.transport_mut().comment(&note);
    }
    for (what, apdu) in commands(scenario.extended) {
        reader.transport_mut().comment(what);
        reader.transmit(&apdu).await?;
    }
    reader.power_off().await?;
    let (_, trace) = reader.into_transport().into_parts();
    Ok(trace)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let record_dir = match args.as_slice() {
        [] => None,
        [flag, dir] if flag == "--record" => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("usage: demo [--record <directory>]");
            return ExitCode::from(2);
        }
    };
    for scenario in SCENARIOS {
        let trace = match futures_executor::block_on(run(scenario)) {
            Ok(trace) => trace,
            Err(error) => {
                eprintln!("{}: {error}", scenario.name);
                return ExitCode::FAILURE;
            }
        };
        match &record_dir {
            Some(dir) => {
                let path = dir.join(format!("{}.trace", scenario.name));
                if let Err(error) = std::fs::write(&path, trace.to_text()) {
                    eprintln!("cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            None => {
                println!("━━━ {} — {}", scenario.name, scenario.what);
                println!("{}", trace.to_text());
            }
        }
    }
    if record_dir.is_none() {
        println!(
            "The test card's PIN is {} (shown as .. in the traces above).",
            hex::format(TEST_PIN)
        );
    }
    ExitCode::SUCCESS
}
