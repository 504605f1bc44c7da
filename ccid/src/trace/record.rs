//! Recording: a transport that wraps another, forwards every call unchanged and writes each one
//! (and each note from the driver) into a [`Trace`].

use super::redact::{self, BulkOutReassembly};
use super::{Event, Trace, TraceBytes, TraceHeader, TraceLine};
use crate::quirks::{self, Dialect};
use crate::transport::{ControlSetup, TraceNote, TransportError, UsbDeviceInfo, UsbTransport};
use std::time::Duration;

/// Wraps a transport and records every transfer, its outcome and every note.
///
/// In export mode ([`RecordingTransport::new_export`]) PIN data is redacted as it is recorded
/// (see [`redact`]); the wrapped transport still gets the real bytes.
#[derive(Debug)]
pub struct RecordingTransport<T: UsbTransport> {
    inner: T,
    export: bool,
    /// How to read bulk-OUT message lengths when looking for PINs.
    dialect: Dialect,
    reader_summary: String,
    atr: Option<Vec<u8>>,
    lines: Vec<TraceLine>,
    reassembly: BulkOutReassembly,
}

impl<T: UsbTransport> RecordingTransport<T> {
    /// Records everything as it is.
    pub fn new(inner: T) -> RecordingTransport<T> {
        let device = inner.device_info();
        let dialect = quirks::lookup(device.vendor_id, device.product_id, device.bcd_device)
            .map_or(Dialect::Standard, |quirk| quirk.dialect);
        RecordingTransport {
            inner,
            export: false,
            dialect,
            reader_summary: String::new(),
            atr: None,
            lines: Vec::new(),
            reassembly: BulkOutReassembly::default(),
        }
    }

    /// Records for a support file: PIN data is redacted.
    pub fn new_export(inner: T) -> RecordingTransport<T> {
        RecordingTransport {
            export: true,
            ..RecordingTransport::new(inner)
        }
    }

    /// Reads bulk-OUT messages in `dialect` instead of the one the quirk table gives the
    /// device (export mode needs message lengths to find PINs).
    pub fn with_dialect(self, dialect: Dialect) -> RecordingTransport<T> {
        RecordingTransport { dialect, ..self }
    }

    /// Sets the one-line reader summary for the trace's header.
    pub fn set_reader_summary(&mut self, summary: impl Into<String>) {
        self.reader_summary = summary.into();
    }

    /// Adds a `#` comment line to the trace (a line break in `text` becomes a space).
    pub fn comment(&mut self, text: &str) {
        self.lines.push(TraceLine::Comment(text.to_string()));
    }

    /// Whether PIN data is being redacted.
    pub fn is_export(&self) -> bool {
        self.export
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The trace so far.
    pub fn trace(&self) -> Trace {
        Trace {
            header: self.header(),
            lines: self.lines.clone(),
        }
    }

    /// Ends recording: the wrapped transport and the trace.
    pub fn into_parts(self) -> (T, Trace) {
        let header = self.header();
        (
            self.inner,
            Trace {
                header,
                lines: self.lines,
            },
        )
    }

    fn header(&self) -> TraceHeader {
        TraceHeader {
            device: self.inner.device_info(),
            reader: self.reader_summary.clone(),
            atr: self.atr.clone(),
            redacted: self.export,
            comments: Vec::new(),
        }
    }

    fn push(&mut self, event: Event) {
        self.lines.push(TraceLine::Event(event));
    }

    /// Records a transfer other than bulk-OUT; it ends any message being reassembled.
    fn push_breaking(&mut self, event: Event) {
        self.reassembly.abandon();
        self.push(event);
    }

    fn record_bulk_out(&mut self, endpoint: u8, data: &[u8], result: &Result<(), TransportError>) {
        let line = self.lines.len();
        self.push(Event::BulkOut {
            endpoint,
            data: TraceBytes::exact(data),
            result: result.clone(),
        });
        if !self.export {
            return;
        }
        for (line, offset) in self.reassembly.push(self.dialect, endpoint, line, data) {
            if let Some(TraceLine::Event(Event::BulkOut { data, .. })) = self.lines.get_mut(line) {
                data.redact(offset);
            }
        }
        if result.is_err() {
            // The driver will resend the whole message, if anything.
            self.reassembly.abandon();
        }
    }
}

fn in_result(result: &Result<Vec<u8>, TransportError>) -> Result<TraceBytes, TransportError> {
    match result {
        Ok(data) => Ok(TraceBytes::exact(data)),
        Err(failure) => Err(failure.clone()),
    }
}

impl<T: UsbTransport> UsbTransport for RecordingTransport<T> {
    fn device_info(&self) -> UsbDeviceInfo {
        self.inner.device_info()
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        let result = self.inner.claim_interface(interface, alternate).await;
        self.push_breaking(Event::Claim {
            interface,
            alternate,
            result: result.clone(),
        });
        result
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.control_in(setup, length).await;
        self.push_breaking(Event::ControlIn {
            setup,
            length,
            result: in_result(&result),
        });
        result
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let result = self.inner.control_out(setup, data).await;
        self.push_breaking(Event::ControlOut {
            setup,
            data: TraceBytes::exact(data),
            result: result.clone(),
        });
        result
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        let result = self.inner.bulk_out(endpoint, data).await;
        self.record_bulk_out(endpoint, data, &result);
        result
    }

    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.bulk_in(endpoint, max_length, timeout).await;
        self.push_breaking(Event::BulkIn {
            endpoint,
            result: in_result(&result),
        });
        result
    }

    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let result = self.inner.interrupt_in(endpoint, max_length, timeout).await;
        // Slot-change notifications may arrive between the transfers of one message, so they do
        // not end its reassembly.
        self.push(Event::InterruptIn {
            endpoint,
            result: in_result(&result),
        });
        result
    }

    fn note(&mut self, note: TraceNote<'_>) {
        self.inner.note(note);
        let event = match note {
            TraceNote::CommandApdu(apdu) if self.export => {
                Event::CommandApdu(redact::redact_command_apdu(apdu))
            }
            TraceNote::CommandApdu(apdu) => Event::CommandApdu(TraceBytes::exact(apdu)),
            TraceNote::ResponseApdu(apdu) => Event::ResponseApdu(TraceBytes::exact(apdu)),
            TraceNote::Atr(atr) => {
                if self.atr.is_none() {
                    self.atr = Some(atr.to_vec());
                }
                Event::Atr(TraceBytes::exact(atr))
            }
        };
        self.push(event);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::hex;
    use crate::message::{Command, PinVerify};
    use crate::trace::fake::{FakeReader, EZ100PU};
    use crate::trace::ReplayTransport;
    use futures_executor::block_on;

    const WAIT: Duration = Duration::from_secs(1);
    const ATR: &str = "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5";
    /// "492817" padded with FF: no two consecutive PIN bytes occur elsewhere in these tests.
    const PIN: [u8; 8] = [0x34, 0x39, 0x32, 0x38, 0x31, 0x37, 0xFF, 0xFF];

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    fn verify_apdu() -> Vec<u8> {
        let mut apdu = bytes("80 20 00 01 08");
        apdu.extend_from_slice(&PIN);
        apdu
    }

    fn setup(request_type: u8, request: u8, value: u16) -> ControlSetup {
        ControlSetup {
            request_type,
            request,
            value,
            index: 0,
        }
    }

    #[test]
    fn records_every_call_and_forwards_it() {
        let fake = FakeReader::answering(&[
            Ok(&[0x09, 0x02, 0x5D, 0x00]),
            Ok(&bytes("80 02 00 00 00 00 01 00 00 00 3B B8")),
            Err(TransportError::Timeout),
            Ok(&[0x50, 0x03]),
        ]);
        let mut recorder = RecordingTransport::new(fake);
        recorder.inner.out_outcomes = [Ok(()), Ok(()), Err(TransportError::Stall)].into();
        recorder.set_reader_summary("EZ100PU, APDU level");
        block_on(async {
            assert_eq!(
                recorder.control_in(setup(0x80, 0x06, 0x0200), 0xFF).await,
                Ok(vec![0x09, 0x02, 0x5D, 0x00])
            );
            assert_eq!(recorder.claim_interface(0, 0).await, Ok(()));
            recorder.comment("power on");
            assert_eq!(
                recorder
                    .bulk_out(0x02, &bytes("62 00 00 00 00 00 01 00 00 00"))
                    .await,
                Ok(())
            );
            assert_eq!(
                recorder.bulk_in(0x82, 64, WAIT).await,
                Ok(bytes("80 02 00 00 00 00 01 00 00 00 3B B8"))
            );
            recorder.note(TraceNote::Atr(&bytes(ATR)));
            recorder.note(TraceNote::Atr(&[0x3B, 0x00]));
            assert_eq!(
                recorder.bulk_in(0x82, 64, WAIT).await,
                Err(TransportError::Timeout)
            );
            assert_eq!(
                recorder.interrupt_in(0x83, 8, WAIT).await,
                Ok(vec![0x50, 0x03])
            );
            assert_eq!(
                recorder.control_out(setup(0x21, 0x01, 0x0100), &[]).await,
                Err(TransportError::Stall)
            );
            recorder.note(TraceNote::CommandApdu(&verify_apdu()));
            recorder.note(TraceNote::ResponseApdu(&[0x90, 0x00]));
        });
        assert_eq!(recorder.inner().sent.len(), 2);
        assert_eq!(recorder.inner().notes, 4);
        let expected = format!(
            "\
# CCID trace v1
device: 0CA6:0010 bcdDevice 1.00
reader: EZ100PU, APDU level
atr: {ATR}
redacted: no

< control-in 80 06 0200 0000 00FF: 09 02 5D 00
= claim 0 0
# power on
> bulk-out 02: 62 00 00 00 00 00 01 00 00 00
< bulk-in 82: 80 02 00 00 00 00 01 00 00 00 3B B8
< atr: {ATR}
< atr: 3B 00
< bulk-in 82: timeout
< interrupt-in 83: 50 03
> control-out 21 01 0100 0000: ! stall
> apdu: 80 20 00 01 08 34 39 32 38 31 37 FF FF
< apdu: 90 00
"
        );
        assert_eq!(recorder.trace().to_text(), expected);
        let (fake, trace) = recorder.into_parts();
        assert!(fake.answers.is_empty());
        assert_eq!(Trace::parse(&expected), Ok(trace));
    }

    /// Sends each message in transfers of at most `chunk` bytes, with the APDU noted first and a
    /// status reply read after each; returns the exported trace's text.
    fn export(dialect: Dialect, chunk: usize, exchanges: &[(Vec<u8>, Vec<u8>)]) -> String {
        let replies: Vec<Result<&[u8], TransportError>> = exchanges
            .iter()
            .map(|_| Ok(&[0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0][..]))
            .collect();
        let mut recorder =
            RecordingTransport::new_export(FakeReader::answering(&replies)).with_dialect(dialect);
        block_on(async {
            for (apdu, message) in exchanges {
                recorder.note(TraceNote::CommandApdu(apdu));
                for piece in message.chunks(chunk) {
                    recorder.bulk_out(0x02, piece).await.unwrap();
                }
                recorder.bulk_in(0x82, 64, WAIT).await.unwrap();
            }
        });
        // The reader got the real bytes.
        let sent: Vec<u8> = recorder.inner().sent.concat();
        let messages: Vec<u8> = exchanges.iter().flat_map(|(_, m)| m.clone()).collect();
        assert_eq!(sent, messages);
        let trace = recorder.trace();
        assert!(trace.header.redacted);
        trace.to_text()
    }

    fn xfr_block(data: Vec<u8>, dialect: Dialect) -> Vec<u8> {
        Command::XfrBlock {
            bwi: 0,
            level: 0,
            data,
        }
        .encode(0, 1, dialect)
    }

    fn out_lines(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|line| line.starts_with("> bulk-out"))
            .collect()
    }

    fn assert_no_pin(text: &str) {
        let ascii: String = PIN.iter().take(6).map(|&b| char::from(b)).collect();
        assert!(!text.contains(&ascii), "{text}");
        for pair in PIN.windows(2).take(5) {
            assert!(!text.contains(&hex::format(pair)), "{pair:02X?} in {text}");
        }
    }

    #[test]
    fn verify_in_an_apdu_level_xfr_block() {
        let text = export(
            Dialect::Standard,
            64,
            &[(verify_apdu(), xfr_block(verify_apdu(), Dialect::Standard))],
        );
        assert_eq!(
            out_lines(&text),
            ["> bulk-out 02: 6F 0D 00 00 00 00 01 00 00 00 80 20 00 01 08 .. .. .. .. .. .. .. .."]
        );
        assert!(text.contains("> apdu: 80 20 00 01 08 .. .. .. .. .. .. .. ..\n"));
        assert!(text.contains("redacted: yes\n"));
        assert_no_pin(&text);
    }

    #[test]
    fn verify_in_t1_blocks_loses_pin_and_edc() {
        let mut block = vec![0x00, 0x40, 0x0D];
        block.extend_from_slice(&verify_apdu());
        let lrc = block.iter().fold(0, |lrc, byte| lrc ^ byte);
        let mut with_lrc = block.clone();
        with_lrc.push(lrc);
        let mut with_crc = block;
        with_crc.extend_from_slice(&[0x5A, 0xC3]);
        let text = export(
            Dialect::Standard,
            64,
            &[
                (verify_apdu(), xfr_block(with_lrc, Dialect::Standard)),
                (verify_apdu(), xfr_block(with_crc, Dialect::Standard)),
            ],
        );
        assert_eq!(
            out_lines(&text),
            [
                "> bulk-out 02: 6F 11 00 00 00 00 01 00 00 00 00 40 0D 80 20 00 01 08 .. .. .. .. .. .. .. .. ..",
                "> bulk-out 02: 6F 12 00 00 00 00 01 00 00 00 00 40 0D 80 20 00 01 08 .. .. .. .. .. .. .. .. .. .."
            ]
        );
        assert_no_pin(&text);
    }

    #[test]
    fn verify_split_over_ez100pu_transfers() {
        // Also an R-block before it: messages that carry no PIN are left whole.
        let r_block = xfr_block(vec![0x00, 0x90, 0x00, 0x90], Dialect::Ez100pu);
        let mut block = vec![0x00, 0x00, 0x0D];
        block.extend_from_slice(&verify_apdu());
        let lrc = block.iter().fold(0, |lrc, byte| lrc ^ byte);
        block.push(lrc);
        let text = export(
            Dialect::Ez100pu,
            16,
            &[
                (vec![], r_block),
                (verify_apdu(), xfr_block(block, Dialect::Ez100pu)),
            ],
        );
        assert_eq!(
            out_lines(&text),
            [
                "> bulk-out 02: 6F 00 00 00 04 00 01 00 00 00 00 90 00 90",
                "> bulk-out 02: 6F 00 00 00 11 00 01 00 00 00 00 00 0D 80 20 00",
                "> bulk-out 02: 01 08 .. .. .. .. .. .. .. .. ..",
            ]
        );
        assert_no_pin(&text);

        // Read as standard, the big-endian length is absurd and nothing is found: the dialect
        // matters, which is why the recorder takes it from the quirk table or the caller.
        let plain = xfr_block(verify_apdu(), Dialect::Ez100pu);
        let misread = export(Dialect::Standard, 16, &[(vec![], plain.clone())]);
        assert!(misread.contains("39 32 38"));
        let text = export(Dialect::Ez100pu, 16, &[(vec![], plain)]);
        assert_eq!(
            out_lines(&text),
            [
                "> bulk-out 02: 6F 00 00 00 0D 00 01 00 00 00 80 20 00 01 08 ..",
                "> bulk-out 02: .. .. .. .. .. .. ..",
            ]
        );
    }

    #[test]
    fn verify_template_in_a_secure_message() {
        let mut template = bytes("80 20 00 01 08");
        template.extend_from_slice(&PIN);
        let verify = PinVerify {
            timeout: 30,
            format_string: 0x82,
            pin_block_string: 0x08,
            pin_length_format: 0,
            min_max_digits: 0x0408,
            entry_validation: 0x02,
            number_message: 1,
            lang_id: 0x0404,
            msg_index: 0,
            teo_prologue: [0; 3],
            apdu: template,
        };
        let message = Command::Secure {
            bwi: 0,
            level: 0,
            data: verify.to_secure_data(),
        }
        .encode(0, 1, Dialect::Standard);
        let text = export(Dialect::Standard, 64, &[(vec![], message)]);
        assert_eq!(
            out_lines(&text),
            ["> bulk-out 02: 69 1C 00 00 00 00 01 00 00 00 00 1E 82 08 00 08 04 02 01 04 04 00 00 00 00 80 20 00 01 08 .. .. .. .. .. .. .. .."]
        );
        assert_no_pin(&text);
    }

    #[test]
    fn other_commands_are_untouched() {
        let select = bytes("80 A4 00 00 02 3F 00");
        let get_response = bytes("00 C0 00 00 20");
        let messages = [
            (select.clone(), xfr_block(select, Dialect::Standard)),
            (
                get_response.clone(),
                xfr_block(get_response, Dialect::Standard),
            ),
            (
                vec![],
                Command::GetSlotStatus.encode(0, 1, Dialect::Standard),
            ),
        ];
        let text = export(Dialect::Standard, 64, &messages);
        assert!(!text.contains(".."), "{text}");
        assert!(text.contains("> apdu: 80 A4 00 00 02 3F 00\n"));
    }

    #[test]
    fn a_failed_transfer_ends_the_message() {
        let message = xfr_block(verify_apdu(), Dialect::Ez100pu);
        let mut recorder =
            RecordingTransport::new_export(FakeReader::default()).with_dialect(Dialect::Ez100pu);
        recorder.inner.out_outcomes = [Err(TransportError::Timeout)].into();
        block_on(async {
            let _ = recorder.bulk_out(0x02, &message[..16]).await;
            recorder.bulk_out(0x02, &message).await.unwrap();
        });
        let text = recorder.trace().to_text();
        // The PIN byte already known at the failure is hidden, and the resent message is read
        // from its own header, not as the continuation of the failed one.
        assert_eq!(
            out_lines(&text),
            [
                "> bulk-out 02: 6F 00 00 00 0D 00 01 00 00 00 80 20 00 01 08 .. ! timeout",
                "> bulk-out 02: 6F 00 00 00 0D 00 01 00 00 00 80 20 00 01 08 .. .. .. .. .. .. .. ..",
            ]
        );
    }

    #[test]
    fn an_exported_trace_replays() {
        let message = xfr_block(verify_apdu(), Dialect::Ez100pu);
        let text = export(Dialect::Ez100pu, 16, &[(verify_apdu(), message.clone())]);
        let mut replay = ReplayTransport::from_text(&text).unwrap();
        assert_eq!(replay.device_info(), EZ100PU);
        // A different PIN replays too: the redacted bytes accept anything.
        let mut other = verify_apdu();
        other[6] = 0x30;
        let mut other_message = message;
        other_message[16] = 0x30;
        block_on(async {
            replay.note(TraceNote::CommandApdu(&other));
            for piece in other_message.chunks(16) {
                replay.bulk_out(0x02, piece).await.unwrap();
            }
            replay.bulk_in(0x82, 64, WAIT).await.unwrap();
        });
        assert_eq!(replay.finish(), Ok(()));
    }
}
