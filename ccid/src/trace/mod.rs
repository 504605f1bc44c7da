//! USB traces: a text record of every transfer between the driver and a reader, with the APDUs
//! and ATR the driver handled, so a session can be read by a person, attached to a support
//! request ([`redact`] removes PINs) and replayed against the driver ([`ReplayTransport`]).
//!
//! The text format, version 1:
//!
//! ```text
//! # CCID trace v1
//! device: 0CA6:0010 bcdDevice 1.00
//! reader: EZ100PU, T=0/T=1, APDU level
//! atr: 3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5
//! redacted: no
//!
//! < control-in 80 06 0200 0000 00FF: 09 02 5D 00 01 01 00 80 32
//! = claim 0 0
//! > bulk-out 02: 62 00 00 00 00 00 00 00 00 00
//! < bulk-in 82: 80 12 00 00 00 00 00 00 00 00 3B B8
//! < bulk-in 82: timeout
//! < interrupt-in 83: 50 03
//! > control-out 21 01 0100 0000:
//! > bulk-out 02: 6F 0D 00 00 00 00 01 00 00 00 80 20 00 01 08 .. .. .. .. .. .. .. ..
//! > bulk-out 02: 6F 00 00 00 00 00 02 00 00 00 ! stall
//! < atr: 3B B8 13 00
//! > apdu: 80 A4 00 00 02 3F 00
//! < apdu: 90 00
//! # a comment
//! ```
//!
//! - The first line names the format and its version. The header is `key: value` lines (`device`,
//!   `reader`, `atr` — hex or `none` —, `redacted` — `yes` or `no`), all four required, with
//!   `#` comments among them; it ends at the first blank line.
//! - Then one line per event: `>` host to device, `<` device to host, `=` neither (claiming an
//!   interface); `#` starts a comment line; blank lines are kept.
//! - Bytes are upper-case hex pairs; `..` is a byte redacted on export, which replay accepts as
//!   any value (and returns as 0x00 when the device sent it).
//! - A control line shows the SETUP fields in hex: `bmRequestType bRequest wValue wIndex`, and
//!   `wLength` for control-in. Endpoints are addresses in hex; `claim` shows the interface and
//!   alternate setting in decimal.
//! - A transfer from the device records its data or its failure; a transfer to the device (and a
//!   claim) records its data and, when it failed, `!` and the failure. Failures are words:
//!   `timeout`, `stall`, `disconnected`, `access-denied <text>`, `error <text>`,
//!   `replay <text>`.
//! - `> apdu:`, `< apdu:` and `< atr:` are what the driver noted (command, response, ATR).

pub mod record;
pub mod redact;
pub mod replay;

pub use record::RecordingTransport;
pub use replay::ReplayTransport;

use crate::hex;
use crate::transport::{ControlSetup, TransportError, UsbDeviceInfo};
use std::fmt;

/// The first line of every version 1 trace.
pub const FIRST_LINE: &str = "# CCID trace v1";

/// Header lines that are not comments: `device`, `reader`, `atr`, `redacted`.
const HEADER_KEYS: [&str; 4] = ["device", "reader", "atr", "redacted"];

/// Bytes as a trace holds them: each either known or redacted (`..`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceBytes(pub Vec<Option<u8>>);

impl TraceBytes {
    /// Bytes with nothing redacted.
    pub fn exact(bytes: &[u8]) -> TraceBytes {
        TraceBytes(bytes.iter().copied().map(Some).collect())
    }

    /// Number of bytes, redacted ones included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any byte is redacted.
    pub fn is_redacted(&self) -> bool {
        self.0.iter().any(Option::is_none)
    }

    /// Redacts the byte at `offset`; offsets past the end are ignored.
    pub fn redact(&mut self, offset: usize) {
        if let Some(byte) = self.0.get_mut(offset) {
            *byte = None;
        }
    }

    /// The bytes, with 0x00 for each redacted one.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().map(|byte| byte.unwrap_or(0)).collect()
    }

    fn parse(text: &str) -> Result<TraceBytes, TraceErrorKind> {
        let mut bytes = Vec::new();
        for token in text.split_whitespace() {
            if token == ".." {
                bytes.push(None);
                continue;
            }
            let parsed = hex::parse(token).map_err(|_| TraceErrorKind::BadBytes(token.into()))?;
            bytes.extend(parsed.into_iter().map(Some));
        }
        Ok(TraceBytes(bytes))
    }
}

impl fmt::Display for TraceBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match byte {
                Some(byte) => write!(f, "{byte:02X}")?,
                None => f.write_str("..")?,
            }
        }
        Ok(())
    }
}

/// What a trace says about the device and the session, before the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// The device's identity; a replay reports it as its own.
    pub device: UsbDeviceInfo,
    /// A one-line summary of the reader's descriptors (free text).
    pub reader: String,
    /// The first ATR noted in the session.
    pub atr: Option<Vec<u8>>,
    /// Whether PIN data was redacted (export mode).
    pub redacted: bool,
    /// `#` comment lines among the header lines, without the `#`; written after the first line.
    pub comments: Vec<String>,
}

impl TraceHeader {
    /// A header for `device` with an empty summary, no ATR and nothing redacted.
    pub fn new(device: UsbDeviceInfo) -> TraceHeader {
        TraceHeader {
            device,
            reader: String::new(),
            atr: None,
            redacted: false,
            comments: Vec::new(),
        }
    }

    /// Lines the header takes in text, not counting the blank line that ends it.
    fn line_count(&self) -> usize {
        1 + self.comments.len() + HEADER_KEYS.len()
    }
}

/// One recorded event: a USB transfer and its outcome, a claim, or a note from the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `= claim <interface> <alternate>`.
    Claim {
        /// Interface number.
        interface: u8,
        /// Alternate setting.
        alternate: u8,
        /// The outcome.
        result: Result<(), TransportError>,
    },
    /// `< control-in <setup> <wLength>: <data or failure>`.
    ControlIn {
        /// The SETUP fields other than `wLength`.
        setup: ControlSetup,
        /// `wLength`.
        length: u16,
        /// The data read, or the failure.
        result: Result<TraceBytes, TransportError>,
    },
    /// `> control-out <setup>: <data> [! failure]`.
    ControlOut {
        /// The SETUP fields.
        setup: ControlSetup,
        /// The data sent.
        data: TraceBytes,
        /// The outcome.
        result: Result<(), TransportError>,
    },
    /// `> bulk-out <endpoint>: <data> [! failure]`.
    BulkOut {
        /// Endpoint address.
        endpoint: u8,
        /// The data sent.
        data: TraceBytes,
        /// The outcome.
        result: Result<(), TransportError>,
    },
    /// `< bulk-in <endpoint>: <data or failure>`.
    BulkIn {
        /// Endpoint address.
        endpoint: u8,
        /// The data read, or the failure.
        result: Result<TraceBytes, TransportError>,
    },
    /// `< interrupt-in <endpoint>: <data or failure>`.
    InterruptIn {
        /// Endpoint address.
        endpoint: u8,
        /// The data read, or the failure.
        result: Result<TraceBytes, TransportError>,
    },
    /// `> apdu: <bytes>`: the command APDU the driver was asked to send.
    CommandApdu(TraceBytes),
    /// `< apdu: <bytes>`: the response APDU the driver handed back.
    ResponseApdu(TraceBytes),
    /// `< atr: <bytes>`: the ATR of the card just powered.
    Atr(TraceBytes),
}

impl Event {
    /// The direction marker: `>` host to device, `<` device to host, `=` neither.
    pub fn marker(&self) -> char {
        match self {
            Event::Claim { .. } => '=',
            Event::ControlOut { .. } | Event::BulkOut { .. } | Event::CommandApdu(_) => '>',
            Event::ControlIn { .. }
            | Event::BulkIn { .. }
            | Event::InterruptIn { .. }
            | Event::ResponseApdu(_)
            | Event::Atr(_) => '<',
        }
    }

    /// The event's kind and addressing as the trace writes it, e.g. `bulk-in 82`.
    pub fn describe(&self) -> String {
        match self {
            Event::Claim {
                interface,
                alternate,
                ..
            } => format!("claim {interface} {alternate}"),
            Event::ControlIn { setup, length, .. } => {
                format!("control-in {} {length:04X}", format_setup(setup))
            }
            Event::ControlOut { setup, .. } => format!("control-out {}", format_setup(setup)),
            Event::BulkOut { endpoint, .. } => format!("bulk-out {endpoint:02X}"),
            Event::BulkIn { endpoint, .. } => format!("bulk-in {endpoint:02X}"),
            Event::InterruptIn { endpoint, .. } => format!("interrupt-in {endpoint:02X}"),
            Event::CommandApdu(_) | Event::ResponseApdu(_) => "apdu".into(),
            Event::Atr(_) => "atr".into(),
        }
    }

    fn parse(text: &str) -> Result<Event, TraceErrorKind> {
        let mut chars = text.chars();
        let marker = chars.next().unwrap_or(' ');
        let rest = chars.as_str().trim_start();
        let kind_end = rest
            .find(|c: char| c.is_whitespace() || c == ':')
            .unwrap_or(rest.len());
        let (kind, rest) = rest.split_at(kind_end);
        let expected_marker = match kind {
            "claim" => '=',
            "control-out" | "bulk-out" => '>',
            "control-in" | "bulk-in" | "interrupt-in" | "atr" => '<',
            "apdu" if marker == '>' => '>',
            "apdu" => '<',
            _ => return Err(TraceErrorKind::UnknownEvent(text.into())),
        };
        if marker != expected_marker {
            return Err(TraceErrorKind::WrongDirection {
                kind: kind.into(),
                marker,
            });
        }
        if kind == "claim" {
            let (arguments, failure) = match rest.split_once('!') {
                Some((arguments, failure)) => (arguments, Some(failure)),
                None => (rest, None),
            };
            let [interface, alternate] = numbers(arguments, 10)?;
            let result = match failure {
                Some(failure) => Err(parse_failure(failure)?),
                None => Ok(()),
            };
            return Ok(Event::Claim {
                interface: narrow(interface)?,
                alternate: narrow(alternate)?,
                result,
            });
        }
        let (arguments, tail) = rest.split_once(':').ok_or(TraceErrorKind::MissingColon)?;
        Ok(match kind {
            "control-in" => {
                let [request_type, request, value, index, length] = numbers(arguments, 16)?;
                Event::ControlIn {
                    setup: setup(request_type, request, value, index)?,
                    length,
                    result: parse_in_result(tail)?,
                }
            }
            "control-out" => {
                let [request_type, request, value, index] = numbers(arguments, 16)?;
                let (data, result) = parse_out_result(tail)?;
                Event::ControlOut {
                    setup: setup(request_type, request, value, index)?,
                    data,
                    result,
                }
            }
            "bulk-out" => {
                let [endpoint] = numbers(arguments, 16)?;
                let (data, result) = parse_out_result(tail)?;
                Event::BulkOut {
                    endpoint: narrow(endpoint)?,
                    data,
                    result,
                }
            }
            "bulk-in" => {
                let [endpoint] = numbers(arguments, 16)?;
                Event::BulkIn {
                    endpoint: narrow(endpoint)?,
                    result: parse_in_result(tail)?,
                }
            }
            "interrupt-in" => {
                let [endpoint] = numbers(arguments, 16)?;
                Event::InterruptIn {
                    endpoint: narrow(endpoint)?,
                    result: parse_in_result(tail)?,
                }
            }
            _ => {
                let [] = numbers(arguments, 16)?;
                let bytes = TraceBytes::parse(tail)?;
                match (kind, marker) {
                    ("atr", _) => Event::Atr(bytes),
                    (_, '>') => Event::CommandApdu(bytes),
                    _ => Event::ResponseApdu(bytes),
                }
            }
        })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.marker(), self.describe())?;
        match self {
            Event::Claim { result, .. } => write_out_failure(f, result),
            Event::ControlIn { result, .. }
            | Event::BulkIn { result, .. }
            | Event::InterruptIn { result, .. } => match result {
                Ok(data) if data.is_empty() => f.write_str(":"),
                Ok(data) => write!(f, ": {data}"),
                Err(failure) => write!(f, ": {}", format_failure(failure)),
            },
            Event::ControlOut { data, result, .. } | Event::BulkOut { data, result, .. } => {
                f.write_str(":")?;
                if !data.is_empty() {
                    write!(f, " {data}")?;
                }
                write_out_failure(f, result)
            }
            Event::CommandApdu(bytes) | Event::ResponseApdu(bytes) | Event::Atr(bytes) => {
                f.write_str(":")?;
                if !bytes.is_empty() {
                    write!(f, " {bytes}")?;
                }
                Ok(())
            }
        }
    }
}

/// One line of a trace's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceLine {
    /// An event.
    Event(Event),
    /// A `#` comment, without the `#` and the space after it.
    Comment(String),
    /// An empty line.
    Blank,
}

/// A whole trace: header and body lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The header.
    pub header: TraceHeader,
    /// The body, in order.
    pub lines: Vec<TraceLine>,
}

impl Trace {
    /// An empty trace with this header.
    pub fn new(header: TraceHeader) -> Trace {
        Trace {
            header,
            lines: Vec::new(),
        }
    }

    /// Reads a trace from its text.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line));
        match lines.next() {
            Some((_, first)) if first.trim_end() == FIRST_LINE => {}
            Some((number, first)) if first.starts_with("# CCID trace v") => {
                return Err(TraceError::at(
                    number,
                    TraceErrorKind::UnsupportedVersion(first.trim_end().into()),
                ))
            }
            _ => return Err(TraceError::at(1, TraceErrorKind::NotATrace)),
        }

        let mut device = None;
        let mut reader = None;
        let mut atr = None;
        let mut redacted = None;
        let mut comments = Vec::new();
        // Where the header ended, for errors about keys it lacks.
        let mut end_line = 2;
        for (number, line) in lines.by_ref() {
            end_line = number;
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            end_line = number + 1;
            if let Some(comment) = line.strip_prefix('#') {
                comments.push(comment_text(comment));
                continue;
            }
            let at = |kind| TraceError::at(number, kind);
            let (key, value) = line
                .split_once(':')
                .ok_or_else(|| at(TraceErrorKind::NotAHeaderLine(line.into())))?;
            let (key, value) = (key.trim(), value.trim());
            let duplicate = || at(TraceErrorKind::DuplicateHeaderKey(key.into()));
            match key {
                "device" if device.is_none() => device = Some(parse_device(value).map_err(at)?),
                "reader" if reader.is_none() => reader = Some(value.to_string()),
                "atr" if atr.is_none() => atr = Some(parse_atr(value).map_err(at)?),
                "redacted" if redacted.is_none() => {
                    redacted = Some(match value {
                        "yes" => true,
                        "no" => false,
                        _ => return Err(at(TraceErrorKind::BadRedacted(value.into()))),
                    })
                }
                _ if HEADER_KEYS.contains(&key) => return Err(duplicate()),
                _ => return Err(at(TraceErrorKind::UnknownHeaderKey(key.into()))),
            }
        }
        let missing = |key| TraceError::at(end_line, TraceErrorKind::MissingHeaderKey(key));
        let header = TraceHeader {
            device: device.ok_or_else(|| missing("device"))?,
            reader: reader.ok_or_else(|| missing("reader"))?,
            atr: atr.ok_or_else(|| missing("atr"))?,
            redacted: redacted.ok_or_else(|| missing("redacted"))?,
            comments,
        };

        let mut body = Vec::new();
        for (number, line) in lines {
            let line = line.trim_end();
            body.push(if line.trim().is_empty() {
                TraceLine::Blank
            } else if let Some(comment) = line.trim_start().strip_prefix('#') {
                TraceLine::Comment(comment_text(comment))
            } else {
                TraceLine::Event(
                    Event::parse(line.trim_start()).map_err(|kind| TraceError::at(number, kind))?,
                )
            });
        }
        Ok(Trace {
            header,
            lines: body,
        })
    }

    /// The trace as text.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The 1-based text line on which body line `index` is written (and was read, for a parsed
    /// trace).
    pub fn line_number(&self, index: usize) -> usize {
        // The header, the blank line that ends it, then the body.
        self.header.line_count() + 1 + index + 1
    }

    /// The events with the text line each is on.
    pub fn events(&self) -> impl Iterator<Item = (usize, &Event)> {
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(index, line)| match line {
                TraceLine::Event(event) => Some((self.line_number(index), event)),
                _ => None,
            })
    }
}

impl std::str::FromStr for Trace {
    type Err = TraceError;

    fn from_str(text: &str) -> Result<Trace, TraceError> {
        Trace::parse(text)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = &self.header;
        writeln!(f, "{FIRST_LINE}")?;
        for comment in &header.comments {
            write_comment(f, comment)?;
        }
        let device = header.device;
        writeln!(
            f,
            "device: {:04X}:{:04X} bcdDevice {:X}.{:02X}",
            device.vendor_id,
            device.product_id,
            device.bcd_device >> 8,
            device.bcd_device & 0xFF
        )?;
        writeln!(f, "reader: {}", one_line(&header.reader))?;
        match &header.atr {
            Some(atr) => writeln!(f, "atr: {}", hex::format(atr))?,
            None => writeln!(f, "atr: none")?,
        }
        writeln!(
            f,
            "redacted: {}",
            if header.redacted { "yes" } else { "no" }
        )?;
        writeln!(f)?;
        for line in &self.lines {
            match line {
                TraceLine::Event(event) => writeln!(f, "{event}")?,
                TraceLine::Comment(comment) => write_comment(f, comment)?,
                TraceLine::Blank => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// Why text is not a trace: what is wrong, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {kind}")]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub kind: TraceErrorKind,
}

impl TraceError {
    fn at(line: usize, kind: TraceErrorKind) -> TraceError {
        TraceError { line, kind }
    }
}

/// What is wrong with a trace line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceErrorKind {
    /// The first line is not `# CCID trace v1`.
    #[error("this is not a CCID trace (the first line must be `{FIRST_LINE}`)")]
    NotATrace,
    /// A CCID trace of a version this code does not read.
    #[error("unsupported trace version `{0}`")]
    UnsupportedVersion(String),
    /// A header line that is neither `key: value` nor a comment.
    #[error("`{0}` is not a `key: value` header line")]
    NotAHeaderLine(String),
    /// A header key this version does not define.
    #[error("unknown header key `{0}`")]
    UnknownHeaderKey(String),
    /// A header key given twice.
    #[error("header key `{0}` appears twice")]
    DuplicateHeaderKey(String),
    /// A required header key is absent.
    #[error("the header lacks `{0}:`")]
    MissingHeaderKey(&'static str),
    /// The `device:` value is not `VVVV:PPPP bcdDevice M.mm`.
    #[error("`{0}` is not `VVVV:PPPP bcdDevice M.mm`")]
    BadDevice(String),
    /// The `atr:` value is neither hex nor `none`.
    #[error("`{0}` is not an ATR in hex or `none`")]
    BadAtr(String),
    /// The `redacted:` value is neither `yes` nor `no`.
    #[error("`{0}` is neither `yes` nor `no`")]
    BadRedacted(String),
    /// A line that names no known event.
    #[error("`{0}` is not a known event")]
    UnknownEvent(String),
    /// An event marked with the wrong direction.
    #[error("`{kind}` cannot have direction `{marker}`")]
    WrongDirection {
        /// The event kind.
        kind: String,
        /// The marker found.
        marker: char,
    },
    /// The event's fields are not the number (or size) of hex or decimal numbers it needs.
    #[error("`{0}` is not the fields this event needs")]
    BadFields(String),
    /// An event line without the `:` before its data.
    #[error("the event lacks the `:` before its data")]
    MissingColon,
    /// A data token that is neither hex nor `..`.
    #[error("`{0}` is neither hex bytes nor `..`")]
    BadBytes(String),
    /// A failure word this version does not define.
    #[error(
        "`{0}` is not a known failure (timeout, stall, disconnected, access-denied, error, replay)"
    )]
    UnknownFailure(String),
}

const FAILURE_WORDS: [&str; 6] = [
    "timeout",
    "stall",
    "disconnected",
    "access-denied",
    "error",
    "replay",
];

fn format_failure(failure: &TransportError) -> String {
    let with_text = |word: &str, text: &str| {
        let text = one_line(text);
        if text.is_empty() {
            word.to_string()
        } else {
            format!("{word} {text}")
        }
    };
    match failure {
        TransportError::Timeout => "timeout".into(),
        TransportError::Stall => "stall".into(),
        TransportError::Disconnected => "disconnected".into(),
        TransportError::AccessDenied(text) => with_text("access-denied", text),
        TransportError::Other(text) => with_text("error", text),
        TransportError::Replay(text) => with_text("replay", text),
    }
}

fn parse_failure(text: &str) -> Result<TransportError, TraceErrorKind> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim().to_string();
    Ok(match (word, rest.is_empty()) {
        ("timeout", true) => TransportError::Timeout,
        ("stall", true) => TransportError::Stall,
        ("disconnected", true) => TransportError::Disconnected,
        ("access-denied", _) => TransportError::AccessDenied(rest),
        ("error", _) => TransportError::Other(rest),
        ("replay", _) => TransportError::Replay(rest),
        _ => return Err(TraceErrorKind::UnknownFailure(text.into())),
    })
}

fn write_out_failure(
    f: &mut fmt::Formatter<'_>,
    result: &Result<(), TransportError>,
) -> fmt::Result {
    match result {
        Ok(()) => Ok(()),
        Err(failure) => write!(f, " ! {}", format_failure(failure)),
    }
}

/// The tail of a device-to-host line: data, or a failure word.
fn parse_in_result(tail: &str) -> Result<Result<TraceBytes, TransportError>, TraceErrorKind> {
    let first = tail.split_whitespace().next().unwrap_or("");
    if FAILURE_WORDS.contains(&first) {
        Ok(Err(parse_failure(tail)?))
    } else {
        Ok(Ok(TraceBytes::parse(tail)?))
    }
}

/// The tail of a host-to-device line: data, then `!` and a failure if it failed.
fn parse_out_result(
    tail: &str,
) -> Result<(TraceBytes, Result<(), TransportError>), TraceErrorKind> {
    match tail.split_once('!') {
        Some((data, failure)) => Ok((TraceBytes::parse(data)?, Err(parse_failure(failure)?))),
        None => Ok((TraceBytes::parse(tail)?, Ok(()))),
    }
}

/// Exactly `N` numbers in `radix`, each fitting 16 bits.
fn numbers<const N: usize>(text: &str, radix: u32) -> Result<[u16; N], TraceErrorKind> {
    let bad = || TraceErrorKind::BadFields(text.trim().into());
    let mut values = [0u16; N];
    let mut tokens = text.split_whitespace();
    for value in values.iter_mut() {
        let token = tokens.next().ok_or_else(bad)?;
        if !token.chars().all(|c| c.is_digit(radix)) {
            return Err(bad());
        }
        *value = u16::from_str_radix(token, radix).map_err(|_| bad())?;
    }
    if tokens.next().is_some() {
        return Err(bad());
    }
    Ok(values)
}

fn narrow(value: u16) -> Result<u8, TraceErrorKind> {
    u8::try_from(value).map_err(|_| TraceErrorKind::BadFields(format!("{value:X}")))
}

fn setup(
    request_type: u16,
    request: u16,
    value: u16,
    index: u16,
) -> Result<ControlSetup, TraceErrorKind> {
    Ok(ControlSetup {
        request_type: narrow(request_type)?,
        request: narrow(request)?,
        value,
        index,
    })
}

fn format_setup(setup: &ControlSetup) -> String {
    format!(
        "{:02X} {:02X} {:04X} {:04X}",
        setup.request_type, setup.request, setup.value, setup.index
    )
}

fn parse_device(value: &str) -> Result<UsbDeviceInfo, TraceErrorKind> {
    let bad = || TraceErrorKind::BadDevice(value.into());
    let hex16 = |text: &str| {
        if text.is_empty() || text.len() > 4 {
            return Err(bad());
        }
        u16::from_str_radix(text, 16).map_err(|_| bad())
    };
    let mut tokens = value.split_whitespace();
    let (ids, label, release) = (tokens.next(), tokens.next(), tokens.next());
    let (Some(ids), Some("bcdDevice"), Some(release), None) = (ids, label, release, tokens.next())
    else {
        return Err(bad());
    };
    let (vendor, product) = ids.split_once(':').ok_or_else(bad)?;
    let (major, minor) = release.split_once('.').ok_or_else(bad)?;
    if major.len() > 2 || minor.len() != 2 {
        return Err(bad());
    }
    Ok(UsbDeviceInfo {
        vendor_id: hex16(vendor)?,
        product_id: hex16(product)?,
        bcd_device: hex16(major)? << 8 | hex16(minor)?,
    })
}

fn parse_atr(value: &str) -> Result<Option<Vec<u8>>, TraceErrorKind> {
    if value == "none" {
        return Ok(None);
    }
    hex::parse(value)
        .map(Some)
        .map_err(|_| TraceErrorKind::BadAtr(value.into()))
}

/// A comment's text: what follows `#`, without the one space that conventionally separates it.
fn comment_text(after_hash: &str) -> String {
    after_hash
        .strip_prefix(' ')
        .unwrap_or(after_hash)
        .to_string()
}

fn write_comment(f: &mut fmt::Formatter<'_>, comment: &str) -> fmt::Result {
    let comment = one_line(comment);
    if comment.is_empty() {
        writeln!(f, "#")
    } else {
        writeln!(f, "# {comment}")
    }
}

/// Free text made safe for one line: a line break would end the line and corrupt the trace.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// A scripted USB device for the trace tests: answers IN transfers from a queue, logs the rest.
#[cfg(test)]
pub(crate) mod fake {
    use crate::transport::{ControlSetup, TraceNote, TransportError, UsbDeviceInfo, UsbTransport};
    use std::collections::VecDeque;
    use std::time::Duration;

    pub(crate) const EZ100PU: UsbDeviceInfo = UsbDeviceInfo {
        vendor_id: 0x0CA6,
        product_id: 0x0010,
        bcd_device: 0x0100,
    };

    #[derive(Default)]
    pub(crate) struct FakeReader {
        /// Answers for IN transfers (control, bulk, interrupt), in order.
        pub(crate) answers: VecDeque<Result<Vec<u8>, TransportError>>,
        /// Outcomes for OUT transfers and claims, in order; `Ok` once empty.
        pub(crate) out_outcomes: VecDeque<Result<(), TransportError>>,
        /// Every OUT transfer's data.
        pub(crate) sent: Vec<Vec<u8>>,
        pub(crate) notes: usize,
    }

    impl FakeReader {
        pub(crate) fn answering(answers: &[Result<&[u8], TransportError>]) -> FakeReader {
            FakeReader {
                answers: answers
                    .iter()
                    .map(|answer| answer.clone().map(<[u8]>::to_vec))
                    .collect(),
                ..FakeReader::default()
            }
        }

        fn answer(&mut self) -> Result<Vec<u8>, TransportError> {
            self.answers
                .pop_front()
                .unwrap_or(Err(TransportError::Timeout))
        }

        fn outcome(&mut self) -> Result<(), TransportError> {
            self.out_outcomes.pop_front().unwrap_or(Ok(()))
        }
    }

    impl UsbTransport for FakeReader {
        fn device_info(&self) -> UsbDeviceInfo {
            EZ100PU
        }

        async fn claim_interface(&mut self, _: u8, _: u8) -> Result<(), TransportError> {
            self.outcome()
        }

        async fn control_in(&mut self, _: ControlSetup, _: u16) -> Result<Vec<u8>, TransportError> {
            self.answer()
        }

        async fn control_out(
            &mut self,
            _: ControlSetup,
            data: &[u8],
        ) -> Result<(), TransportError> {
            self.sent.push(data.to_vec());
            self.outcome()
        }

        async fn bulk_out(&mut self, _: u8, data: &[u8]) -> Result<(), TransportError> {
            self.sent.push(data.to_vec());
            self.outcome()
        }

        async fn bulk_in(
            &mut self,
            _: u8,
            _: usize,
            _: Duration,
        ) -> Result<Vec<u8>, TransportError> {
            self.answer()
        }

        async fn interrupt_in(
            &mut self,
            _: u8,
            _: usize,
            _: Duration,
        ) -> Result<Vec<u8>, TransportError> {
            self.answer()
        }

        fn note(&mut self, _: TraceNote<'_>) {
            self.notes += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const SAMPLE: &str = "\
# CCID trace v1
# recorded by the tests
device: 0CA6:0010 bcdDevice 1.00
reader: EZ100PU, T=0 and T=1
atr: 3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5
redacted: yes

< control-in 80 06 0200 0000 00FF: 09 02 5D 00 01 01 00 80 32
< control-in A1 02 0000 0000 0040: stall
= claim 0 0
= claim 1 2 ! access-denied protected class: 0x0B
> bulk-out 02: 62 00 00 00 00 00 00 00 00 00
> bulk-out 02: 6F 05 00 00 00 00 01 00 00 00 80 20 00 01 .. ! timeout
< bulk-in 82: 80 12 00 00 00 00 00 00 00 00 3B ..
< bulk-in 82: timeout
< bulk-in 82:
< interrupt-in 83: 50 03
< interrupt-in 83: disconnected
> control-out 21 01 0100 0000:
> control-out 21 01 0100 0000: 01 ! error the platform said no
# a comment in the body

< atr: 3B B8
> apdu: 80 A4 00 00 02 3F 00
< apdu: 90 00
< bulk-in 82: replay trace line 3 differs
";

    #[test]
    fn parses_every_kind_of_line() {
        let trace = Trace::parse(SAMPLE).unwrap();
        assert_eq!(
            trace.header.device,
            UsbDeviceInfo {
                vendor_id: 0x0CA6,
                product_id: 0x0010,
                bcd_device: 0x0100
            }
        );
        assert_eq!(trace.header.reader, "EZ100PU, T=0 and T=1");
        assert_eq!(trace.header.atr.as_ref().map(Vec::len), Some(17));
        assert!(trace.header.redacted);
        assert_eq!(trace.header.comments, vec!["recorded by the tests"]);
        let events: Vec<_> = trace.events().map(|(_, event)| event.clone()).collect();
        assert_eq!(
            events[1],
            Event::ControlIn {
                setup: ControlSetup {
                    request_type: 0xA1,
                    request: 0x02,
                    value: 0,
                    index: 0
                },
                length: 0x40,
                result: Err(TransportError::Stall)
            }
        );
        assert_eq!(
            events[3],
            Event::Claim {
                interface: 1,
                alternate: 2,
                result: Err(TransportError::AccessDenied("protected class: 0x0B".into()))
            }
        );
        let Event::BulkOut { data, result, .. } = &events[5] else {
            panic!("{:?}", events[5]);
        };
        assert_eq!(data.len(), 15);
        assert_eq!(data.0[14], None);
        assert_eq!(result, &Err(TransportError::Timeout));
        assert_eq!(
            events[8],
            Event::BulkIn {
                endpoint: 0x82,
                result: Ok(TraceBytes::default())
            }
        );
        assert_eq!(
            events[12],
            Event::ControlOut {
                setup: ControlSetup {
                    request_type: 0x21,
                    request: 0x01,
                    value: 0x0100,
                    index: 0
                },
                data: TraceBytes::exact(&[1]),
                result: Err(TransportError::Other("the platform said no".into()))
            }
        );
        assert_eq!(events[13], Event::Atr(TraceBytes::exact(&[0x3B, 0xB8])));
        assert_eq!(
            events[14],
            Event::CommandApdu(TraceBytes::exact(&[
                0x80, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00
            ]))
        );
        assert_eq!(
            events[15],
            Event::ResponseApdu(TraceBytes::exact(&[0x90, 0x00]))
        );
    }

    #[test]
    fn writing_then_parsing_gives_the_same_trace() {
        let trace = Trace::parse(SAMPLE).unwrap();
        let text = trace.to_text();
        assert_eq!(text, SAMPLE);
        assert_eq!(Trace::parse(&text), Ok(trace.clone()));
        // A trace built in memory, with an empty ATR field and an odd release number.
        let mut built = Trace::new(TraceHeader::new(UsbDeviceInfo {
            vendor_id: 0xFFFF,
            product_id: 0x0001,
            bcd_device: 0x1299,
        }));
        built.lines.push(TraceLine::Comment(String::new()));
        built.lines.push(TraceLine::Event(Event::BulkIn {
            endpoint: 0x81,
            result: Err(TransportError::AccessDenied(String::new())),
        }));
        built.lines.push(TraceLine::Blank);
        let text = built.to_text();
        assert!(
            text.contains("device: FFFF:0001 bcdDevice 12.99\n"),
            "{text}"
        );
        assert!(text.contains("atr: none\n"), "{text}");
        assert_eq!(Trace::parse(&text), Ok(built));
    }

    #[test]
    fn line_numbers_are_those_of_the_text() {
        let trace = Trace::parse(SAMPLE).unwrap();
        let text_lines: Vec<&str> = SAMPLE.lines().collect();
        for (number, event) in trace.events() {
            assert_eq!(text_lines[number - 1], event.to_string());
        }
        assert_eq!(trace.events().next().map(|(number, _)| number), Some(8));
    }

    #[test]
    fn malformed_text_names_the_line() {
        let body_error = |line: &str| {
            let text = format!("{}{line}\n", &SAMPLE[..SAMPLE.find("\n\n").unwrap() + 2]);
            Trace::parse(&text).unwrap_err()
        };
        let cases: Vec<(&str, TraceErrorKind)> = vec![
            ("< bulk-in 82: 3G", TraceErrorKind::BadBytes("3G".into())),
            ("< bulk-in 82: 3", TraceErrorKind::BadBytes("3".into())),
            (
                "> bulk-in 82: 00",
                TraceErrorKind::WrongDirection {
                    kind: "bulk-in".into(),
                    marker: '>',
                },
            ),
            (
                "< bulk-sideways 82: 00",
                TraceErrorKind::UnknownEvent("< bulk-sideways 82: 00".into()),
            ),
            ("< bulk-in 82 00", TraceErrorKind::MissingColon),
            ("< bulk-in 182: 00", TraceErrorKind::BadFields("182".into())),
            (
                "< control-in 80 06 0200 0000: 00",
                TraceErrorKind::BadFields("80 06 0200 0000".into()),
            ),
            (
                "> bulk-out 02: 00 ! melted",
                TraceErrorKind::UnknownFailure("melted".into()),
            ),
            ("= claim 0 x", TraceErrorKind::BadFields("0 x".into())),
        ];
        for (line, kind) in cases {
            assert_eq!(body_error(line), TraceError { line: 8, kind }, "{line}");
        }

        let header_cases: Vec<(&str, usize, TraceErrorKind)> = vec![
            ("", 1, TraceErrorKind::NotATrace),
            ("CCID trace\n", 1, TraceErrorKind::NotATrace),
            (
                "# CCID trace v2\n",
                1,
                TraceErrorKind::UnsupportedVersion("# CCID trace v2".into()),
            ),
            (
                "# CCID trace v1\ndevice: 0CA6:0010\n",
                2,
                TraceErrorKind::BadDevice("0CA6:0010".into()),
            ),
            (
                "# CCID trace v1\ncolour: blue\n",
                2,
                TraceErrorKind::UnknownHeaderKey("colour".into()),
            ),
            (
                "# CCID trace v1\nreader: a\nreader: b\n",
                3,
                TraceErrorKind::DuplicateHeaderKey("reader".into()),
            ),
            (
                "# CCID trace v1\natr: 3B 8\n",
                2,
                TraceErrorKind::BadAtr("3B 8".into()),
            ),
            (
                "# CCID trace v1\nredacted: maybe\n",
                2,
                TraceErrorKind::BadRedacted("maybe".into()),
            ),
            (
                "# CCID trace v1\njust words\n",
                2,
                TraceErrorKind::NotAHeaderLine("just words".into()),
            ),
            (
                "# CCID trace v1\ndevice: 0CA6:0010 bcdDevice 1.00\nreader: x\natr: none\n\n",
                5,
                TraceErrorKind::MissingHeaderKey("redacted"),
            ),
            (
                "# CCID trace v1\ndevice: 0CA6:0010 bcdDevice 1.00\nreader: x\nredacted: no",
                5,
                TraceErrorKind::MissingHeaderKey("atr"),
            ),
        ];
        for (text, line, kind) in header_cases {
            assert_eq!(Trace::parse(text), Err(TraceError { line, kind }), "{text}");
        }
    }

    #[test]
    fn the_documented_example_parses() {
        // The example in this module's documentation, so the two cannot drift apart.
        let source = include_str!("mod.rs");
        let example: String = source
            .lines()
            .skip_while(|line| *line != "//! ```text")
            .skip(1)
            .take_while(|line| *line != "//! ```")
            .map(|line| format!("{}\n", line.trim_start_matches("//!").trim_start()))
            .collect();
        let trace = Trace::parse(&example).unwrap();
        assert_eq!(trace.events().count(), 12);
        assert_eq!(trace.to_text(), example);
    }

    #[test]
    fn free_text_cannot_break_a_line() {
        let mut header = TraceHeader::new(fake::EZ100PU);
        header.reader = "two\nlines".into();
        let mut trace = Trace::new(header);
        trace.lines.push(TraceLine::Event(Event::BulkIn {
            endpoint: 0x82,
            result: Err(TransportError::Other("bad\r\nthing".into())),
        }));
        let parsed = Trace::parse(&trace.to_text()).unwrap();
        assert_eq!(parsed.header.reader, "two lines");
        assert_eq!(parsed.lines.len(), 1);
    }
}
