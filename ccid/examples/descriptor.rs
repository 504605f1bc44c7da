//! Classifies the reader a libccid `parse` dump describes, as this driver sees it.
//!
//! ```text
//! cargo run -p ccid --features corpus --example descriptor -- ../shared/corpora/ccid-readers/ACR122U.txt
//! ```
//!
//! Prints pretty JSON: per interface, the identity, how the interface is recognised, what the
//! class descriptor says, and whether this driver can drive it. On an unreadable or malformed
//! file it prints `{"error": "..."}` and exits with status 1.

use std::process::ExitCode;

use ccid::descriptor::{CcidClassDescriptor, CcidInterface, ExchangeLevel, InterfaceKind, Voltage};
use ccid::libccid_dump::{self, DumpInterface};
use ccid::quirks::{self, Dialect};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        print_json(&json!({ "error": "usage: descriptor <libccid parse dump file>" }));
        return ExitCode::from(2);
    };
    match classify(&path) {
        Ok(report) => {
            print_json(&report);
            ExitCode::SUCCESS
        }
        Err(error) => {
            print_json(&json!({ "error": error }));
            ExitCode::from(1)
        }
    }
}

fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        // A `Value` always serialises; say so rather than print nothing if it ever did not.
        Err(error) => println!("{{\"error\": \"cannot format the report: {error}\"}}"),
    }
}

fn classify(path: &str) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let blocks = libccid_dump::parse_bytes(&bytes)
        .map_err(|e| format!("{path} is not a libccid parse dump: {e}"))?;

    // The driver's own interface finding, device by device (a dump may hold several readers),
    // over the configuration each device would send.
    let interfaces: Vec<Value> = libccid_dump::devices(&blocks)
        .iter()
        .flat_map(|device| {
            device
                .blocks
                .iter()
                .map(|block| describe(block, device.interface_for(block)))
        })
        .collect();
    Ok(json!({ "file": path, "interfaces": interfaces }))
}

fn describe(block: &DumpInterface, interface: Option<&CcidInterface>) -> Value {
    // The descriptor the driver would use; the dump's own fields when the driver found nothing.
    let descriptor: CcidClassDescriptor = interface
        .map(|i| i.descriptor.clone())
        .unwrap_or_else(|| block.descriptor.clone());
    let quirk = quirks::lookup(block.vendor_id, block.product_id, block.bcd_device);
    let dialect = interface.map_or_else(
        || quirk.map_or(Dialect::Standard, |q| q.dialect),
        CcidInterface::dialect,
    );
    let pin = descriptor.pin_support();
    let automatic = descriptor.automatic();
    let protocols: Vec<&str> = [
        (descriptor.supports_t0(), "T=0"),
        (descriptor.supports_t1(), "T=1"),
    ]
    .into_iter()
    .filter_map(|(yes, name)| yes.then_some(name))
    .collect();

    json!({
        "vendor_id": format!("0x{:04X}", block.vendor_id),
        "product_id": format!("0x{:04X}", block.product_id),
        "bcd_device": format!("0x{:04X}", block.bcd_device),
        "manufacturer": block.manufacturer,
        "product": block.product,
        "interface_number": block.interface_number,
        "alternate_setting": block.alternate_setting,
        "class": format!("0x{:02X}", block.interface_class),
        "interface_protocol": interface_protocol(block.interface_protocol),
        "kind": interface.map(|i| kind(i.kind)),
        "exchange_level": exchange_level(descriptor.exchange_level()),
        "protocols": protocols,
        "slots": descriptor.slot_count(),
        "pin_support": { "verify": pin.verify, "modify": pin.modify },
        "max_message_length": descriptor.max_message_length(),
        "max_ifsd": descriptor.max_ifsd,
        "voltages": descriptor.voltages().into_iter().map(voltage).collect::<Vec<_>>(),
        "automatic": {
            "parameters_from_atr": automatic.parameters_from_atr,
            "activation": automatic.activation,
            "voltage": automatic.voltage,
            "clock": automatic.clock,
            "baud_rate": automatic.baud_rate,
            "negotiation": automatic.negotiation,
            "pps": automatic.pps,
            "ifsd_exchange": automatic.ifsd_exchange,
        },
        "dialect": match dialect {
            Dialect::Standard => "standard",
            Dialect::Ez100pu => "ez100pu",
        },
        "quirk": quirk.map(|q| q.name),
        "supported": supported(block, interface, &descriptor),
    })
}

/// `true`, or why this driver cannot drive the interface.
fn supported(
    block: &DumpInterface,
    interface: Option<&CcidInterface>,
    descriptor: &CcidClassDescriptor,
) -> Value {
    let reason = match (block.interface_protocol, interface) {
        (1, _) => "ICCD version A: the reader is driven by control transfers, not bulk CCID",
        (2, _) => "ICCD version B: the reader is driven by control transfers, not bulk CCID",
        (_, None) => "no usable CCID interface (not a CCID class or no bulk endpoint pair)",
        _ if descriptor.exchange_level() == ExchangeLevel::Character => {
            "character level exchange: the host would have to drive every character"
        }
        _ => return Value::Bool(true),
    };
    Value::String(reason.to_string())
}

fn interface_protocol(protocol: u8) -> String {
    match protocol {
        0 => "ccid".to_string(),
        1 => "iccd_a".to_string(),
        2 => "iccd_b".to_string(),
        other => format!("unknown ({other})"),
    }
}

fn kind(kind: InterfaceKind) -> &'static str {
    match kind {
        InterfaceKind::SmartCardClass => "smart_card_class",
        InterfaceKind::VendorClass => "vendor_class",
        InterfaceKind::Quirk => "quirk",
    }
}

fn exchange_level(level: ExchangeLevel) -> &'static str {
    match level {
        ExchangeLevel::Character => "character",
        ExchangeLevel::Tpdu => "tpdu",
        ExchangeLevel::ShortApdu => "short_apdu",
        ExchangeLevel::ExtendedApdu => "extended_apdu",
    }
}

fn voltage(voltage: Voltage) -> &'static str {
    match voltage {
        Voltage::V1_8 => "1.8V",
        Voltage::V3_0 => "3.0V",
        Voltage::V5_0 => "5.0V",
    }
}
