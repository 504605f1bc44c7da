//! The recorded traces in `tests/traces/` replay against the driver byte for byte: every
//! transfer the driver makes must be the one recorded, and every response APDU must come out as
//! recorded. Re-record with `cargo run -p ccid --features sim --example demo -- --record
//! tests/traces` after a deliberate change of the driver's behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ccid::trace::{Event, ReplayTransport, Trace};
use ccid::Reader;
use futures_executor::block_on;

const TRACES: [&str; 5] = [
    "extended-apdu",
    "short-apdu",
    "tpdu-t1",
    "tpdu-t0",
    "ez100pu",
];

fn trace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/traces")
}

/// Replays one trace: open, power on, each recorded command APDU, power off.
fn replay(trace: &Trace) -> Result<usize, String> {
    let transport = ReplayTransport::new(trace);
    block_on(async {
        let mut reader = Reader::open(transport).await.map_err(|e| e.to_string())?;
        let atr = reader.power_on().await.map_err(|e| e.to_string())?;
        if Some(atr.bytes()) != trace.header.atr.as_deref() {
            return Err("the ATR differs from the header's".into());
        }
        let mut events = trace.events().map(|(_, event)| event).peekable();
        let mut apdus = 0;
        while let Some(event) = events.next() {
            let Event::CommandApdu(command) = event else {
                continue;
            };
            // Redacted PIN bytes replay as any value.
            let response = reader
                .transmit(&command.to_bytes())
                .await
                .map_err(|e| format!("APDU {apdus}: {e}"))?;
            let recorded = events
                .find_map(|event| match event {
                    Event::ResponseApdu(response) => Some(response.to_bytes()),
                    _ => None,
                })
                .ok_or("a command APDU without a recorded response")?;
            if response != recorded {
                return Err(format!("APDU {apdus}: response differs from the recording"));
            }
            apdus += 1;
        }
        reader.power_off().await.map_err(|e| e.to_string())?;
        reader
            .into_transport()
            .finish()
            .map_err(|e| e.to_string())?;
        Ok(apdus)
    })
}

#[test]
fn every_recorded_trace_replays() {
    for name in TRACES {
        let path = trace_dir().join(format!("{name}.trace"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let trace = Trace::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            trace.header.redacted,
            "{name}: checked-in traces are exported (PIN redacted)"
        );
        let apdus = replay(&trace).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "{name}: replayed {apdus} APDUs, {} trace lines",
            trace.lines.len()
        );
        assert!(apdus >= 6, "{name}: the session is all there");
    }
}

#[test]
fn a_changed_byte_is_caught_with_its_line() {
    let path = trace_dir().join("tpdu-t1.trace");
    let text = std::fs::read_to_string(&path).unwrap();
    // Change the PPS request the driver must send: the replay stops right there.
    let altered = text.replacen("FF 11 13 FD", "FF 11 12 FC", 1);
    assert_ne!(altered, text, "the trace holds the PPS request");
    let error = replay(&Trace::parse(&altered).unwrap()).unwrap_err();
    assert!(error.contains("trace line"), "{error}");
}
