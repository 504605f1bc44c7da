//! Replay: a transport that plays a [`Trace`] back to the driver and checks that the driver
//! makes the same calls, with the same bytes, in the same order.

use super::{Event, Trace, TraceBytes, TraceError, TraceHeader};
use crate::transport::{ControlSetup, TraceNote, TransportError, UsbDeviceInfo, UsbTransport};
use std::time::Duration;

/// Plays a trace back as a transport.
///
/// Each call must match the trace's next event: its kind, endpoint or SETUP fields, and every
/// byte the driver sends (a redacted `..` byte accepts any value). IN calls get the recorded data
/// (a redacted byte reads as 0x00) or the recorded failure; OUT calls and claims get the
/// recorded outcome. The first disagreement is returned as [`TransportError::Replay`], naming the
/// trace line, and every later call returns it again. Notes are checked against the `apdu` and
/// `atr` lines too; since a note cannot fail, a disagreement there is returned by the next call.
#[derive(Debug, Clone)]
pub struct ReplayTransport {
    header: TraceHeader,
    /// The events with their trace line numbers.
    events: Vec<(usize, Event)>,
    next: usize,
    failure: Option<TransportError>,
}

impl ReplayTransport {
    /// Replays `trace`.
    pub fn new(trace: &Trace) -> ReplayTransport {
        ReplayTransport {
            header: trace.header.clone(),
            events: trace
                .events()
                .map(|(line, event)| (line, event.clone()))
                .collect(),
            next: 0,
            failure: None,
        }
    }

    /// Replays the trace written in `text`.
    pub fn from_text(text: &str) -> Result<ReplayTransport, TraceError> {
        Ok(ReplayTransport::new(&Trace::parse(text)?))
    }

    /// The trace's header.
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// Checks that the replay went through: no disagreement, and every event consumed.
    pub fn finish(&self) -> Result<(), TransportError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        match self.events.get(self.next) {
            None => Ok(()),
            Some((line, event)) => Err(TransportError::Replay(format!(
                "trace line {line} (`{}`) and {} later events were not replayed",
                heading(event),
                self.events.len() - self.next - 1
            ))),
        }
    }

    fn fail(&mut self, message: String) -> TransportError {
        let failure = TransportError::Replay(message);
        self.failure = Some(failure.clone());
        failure
    }

    /// Consumes the next event if it is the same kind, with the same addressing, as `call`.
    fn expect(&mut self, call: &Event) -> Result<(usize, Event), TransportError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let wanted = heading(call);
        let Some((line, event)) = self.events.get(self.next).cloned() else {
            return Err(self.fail(format!(
                "the trace has no more events, but the driver called `{wanted}`"
            )));
        };
        if heading(&event) != wanted {
            return Err(self.mismatch(line, &event, call));
        }
        self.next += 1;
        Ok((line, event))
    }

    /// Fails because the trace's event on `line` is not the call the driver made.
    fn mismatch(&mut self, line: usize, recorded: &Event, call: &Event) -> TransportError {
        self.fail(format!(
            "trace line {line}: expected `{}`, but the driver called `{}`",
            heading(recorded),
            heading(call)
        ))
    }

    /// Checks the bytes the driver sent (or noted) against the recorded ones.
    fn compare(
        &mut self,
        line: usize,
        event: &Event,
        recorded: &TraceBytes,
        sent: &[u8],
        verb: &str,
    ) -> Result<(), TransportError> {
        let Some(offset) = first_difference(recorded, sent) else {
            return Ok(());
        };
        let expected = match recorded.0.get(offset) {
            Some(Some(byte)) => format!("0x{byte:02X}"),
            Some(None) => "a (redacted) byte".to_string(),
            None => "no more bytes".to_string(),
        };
        let actual = match sent.get(offset) {
            Some(byte) => format!("0x{byte:02X}"),
            None => "nothing more".to_string(),
        };
        Err(self.fail(format!(
            "trace line {line}: `{}` byte {offset}: expected {expected}, {verb} {actual} \
             ({} bytes recorded, {} {verb})",
            heading(event),
            recorded.len(),
            sent.len()
        )))
    }

    /// An OUT transfer: the bytes sent must be the recorded ones; returns the recorded outcome.
    fn out_transfer(&mut self, call: &Event, sent: &[u8]) -> Result<(), TransportError> {
        match self.expect(call)? {
            (
                line,
                Event::ControlOut { data, result, .. } | Event::BulkOut { data, result, .. },
            ) => {
                self.compare(line, call, &data, sent, "sent")?;
                result
            }
            // `expect` matched the kind already; this arm only completes the match.
            (line, event) => Err(self.mismatch(line, &event, call)),
        }
    }

    /// The recorded data of an IN transfer, if it fits what the driver asked for.
    fn in_data(
        &mut self,
        line: usize,
        event: &Event,
        result: Result<TraceBytes, TransportError>,
        max_length: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let data = result?;
        if data.len() > max_length {
            return Err(self.fail(format!(
                "trace line {line}: `{}` has {} bytes, but the driver asked for at most {max_length}",
                heading(event),
                data.len()
            )));
        }
        Ok(data.to_bytes())
    }
}

/// An event's marker, kind and addressing: what a call must match.
fn heading(event: &Event) -> String {
    format!("{} {}", event.marker(), event.describe())
}

/// The first offset where the sent bytes differ from the recorded ones (a redacted byte matches
/// any value), if any.
fn first_difference(recorded: &TraceBytes, sent: &[u8]) -> Option<usize> {
    let same_prefix = recorded
        .0
        .iter()
        .zip(sent)
        .position(|(expected, actual)| expected.is_some_and(|byte| byte != *actual));
    match same_prefix {
        Some(offset) => Some(offset),
        None if recorded.len() == sent.len() => None,
        None => Some(recorded.len().min(sent.len())),
    }
}

/// A placeholder result: calls are described as events to compare them with recorded ones.
fn no_data() -> Result<TraceBytes, TransportError> {
    Ok(TraceBytes::default())
}

impl UsbTransport for ReplayTransport {
    fn device_info(&self) -> UsbDeviceInfo {
        self.header.device
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        let call = Event::Claim {
            interface,
            alternate,
            result: Ok(()),
        };
        match self.expect(&call)? {
            (_, Event::Claim { result, .. }) => result,
            // `expect` matched the kind already; this arm only completes the match.
            (line, event) => Err(self.mismatch(line, &event, &call)),
        }
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        let call = Event::ControlIn {
            setup,
            length,
            result: no_data(),
        };
        match self.expect(&call)? {
            (line, Event::ControlIn { result, .. }) => {
                self.in_data(line, &call, result, usize::from(length))
            }
            // `expect` matched the kind already; this arm only completes the match.
            (line, event) => Err(self.mismatch(line, &event, &call)),
        }
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let call = Event::ControlOut {
            setup,
            data: TraceBytes::default(),
            result: Ok(()),
        };
        self.out_transfer(&call, data)
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        let call = Event::BulkOut {
            endpoint,
            data: TraceBytes::default(),
            result: Ok(()),
        };
        self.out_transfer(&call, data)
    }

    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        _timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let call = Event::BulkIn {
            endpoint,
            result: no_data(),
        };
        match self.expect(&call)? {
            (line, Event::BulkIn { result, .. }) => self.in_data(line, &call, result, max_length),
            // `expect` matched the kind already; this arm only completes the match.
            (line, event) => Err(self.mismatch(line, &event, &call)),
        }
    }

    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        _timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let call = Event::InterruptIn {
            endpoint,
            result: no_data(),
        };
        match self.expect(&call)? {
            (line, Event::InterruptIn { result, .. }) => {
                self.in_data(line, &call, result, max_length)
            }
            // `expect` matched the kind already; this arm only completes the match.
            (line, event) => Err(self.mismatch(line, &event, &call)),
        }
    }

    fn note(&mut self, note: TraceNote<'_>) {
        let (call, noted, verb) = match note {
            TraceNote::CommandApdu(apdu) => {
                (Event::CommandApdu(TraceBytes::default()), apdu, "sent")
            }
            TraceNote::ResponseApdu(apdu) => {
                (Event::ResponseApdu(TraceBytes::default()), apdu, "noted")
            }
            TraceNote::Atr(atr) => (Event::Atr(TraceBytes::default()), atr, "noted"),
        };
        // A failure is kept for the next call to return.
        let Ok((line, event)) = self.expect(&call) else {
            return;
        };
        if let Event::CommandApdu(recorded) | Event::ResponseApdu(recorded) | Event::Atr(recorded) =
            &event
        {
            let _ = self.compare(line, &call, recorded, noted, verb);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::hex;
    use crate::trace::fake::{FakeReader, EZ100PU};
    use crate::trace::RecordingTransport;
    use futures_executor::block_on;

    const WAIT: Duration = Duration::from_secs(1);

    const TRACE: &str = "\
# CCID trace v1
device: 0CA6:0010 bcdDevice 1.00
reader: test reader
atr: 3B 00
redacted: no

< control-in 80 06 0200 0000 00FF: 09 02
= claim 0 0
> bulk-out 02: 62 00 00 00 00 00 01 00 00 00
< bulk-in 82: 80 02 00 00 00 00 01 00 00 00 3B 00
< atr: 3B 00
# the card is slow
< bulk-in 82: timeout
< interrupt-in 83: 50 ..
> apdu: 80 20 00 01 02 .. ..
> bulk-out 02: 6F 07 00 00 00 00 02 00 00 00 80 20 00 01 02 .. ..
< bulk-in 82: 80 02 00 00 00 00 02 00 00 00 90 00
< apdu: 90 00
> control-out 21 01 0100 0000: ! stall
";

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    fn setup(request_type: u8, request: u8, value: u16) -> ControlSetup {
        ControlSetup {
            request_type,
            request,
            value,
            index: 0,
        }
    }

    /// The calls a driver makes for `TRACE`, up to the point given; with its own PIN.
    async fn drive(replay: &mut ReplayTransport, pin: [u8; 2]) -> Result<(), TransportError> {
        assert_eq!(
            replay.control_in(setup(0x80, 0x06, 0x0200), 0xFF).await?,
            [0x09, 0x02]
        );
        replay.claim_interface(0, 0).await?;
        replay
            .bulk_out(0x02, &bytes("62 00 00 00 00 00 01 00 00 00"))
            .await?;
        assert_eq!(replay.bulk_in(0x82, 64, WAIT).await?.len(), 12);
        replay.note(TraceNote::Atr(&[0x3B, 0x00]));
        assert_eq!(
            replay.bulk_in(0x82, 64, WAIT).await,
            Err(TransportError::Timeout)
        );
        // The redacted byte reads as 0x00.
        assert_eq!(replay.interrupt_in(0x83, 8, WAIT).await?, [0x50, 0x00]);
        let mut apdu = bytes("80 20 00 01 02");
        apdu.extend_from_slice(&pin);
        replay.note(TraceNote::CommandApdu(&apdu));
        let mut message = bytes("6F 07 00 00 00 00 02 00 00 00");
        message.extend_from_slice(&apdu);
        replay.bulk_out(0x02, &message).await?;
        replay.bulk_in(0x82, 64, WAIT).await?;
        replay.note(TraceNote::ResponseApdu(&[0x90, 0x00]));
        replay.control_out(setup(0x21, 0x01, 0x0100), &[]).await
    }

    #[test]
    fn a_matching_driver_replays_to_the_end() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        assert_eq!(replay.device_info(), EZ100PU);
        assert_eq!(replay.header().reader, "test reader");
        assert_eq!(
            block_on(drive(&mut replay, [0x31, 0x32])),
            Err(TransportError::Stall)
        );
        assert_eq!(replay.finish(), Ok(()));
    }

    #[test]
    fn a_recorded_session_replays() {
        let fake = FakeReader::answering(&[Ok(&[0x80, 0x00]), Err(TransportError::Disconnected)]);
        let mut recorder = RecordingTransport::new(fake);
        let message = bytes("6F 05 00 00 00 00 01 00 00 00 00 A4 04 00 00");
        block_on(async {
            recorder.note(TraceNote::CommandApdu(&message[10..]));
            recorder.bulk_out(0x02, &message).await.unwrap();
            recorder.bulk_in(0x82, 64, WAIT).await.unwrap();
            let _ = recorder.interrupt_in(0x83, 8, WAIT).await;
        });
        let mut replay = ReplayTransport::new(&recorder.trace());
        block_on(async {
            replay.note(TraceNote::CommandApdu(&message[10..]));
            replay.bulk_out(0x02, &message).await.unwrap();
            assert_eq!(replay.bulk_in(0x82, 64, WAIT).await, Ok(vec![0x80, 0x00]));
            assert_eq!(
                replay.interrupt_in(0x83, 8, WAIT).await,
                Err(TransportError::Disconnected)
            );
        });
        assert_eq!(replay.finish(), Ok(()));
    }

    #[test]
    fn a_different_byte_is_named_and_sticks() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let error = block_on(async {
            replay.control_in(setup(0x80, 0x06, 0x0200), 0xFF).await?;
            replay.claim_interface(0, 0).await?;
            replay
                .bulk_out(0x02, &bytes("62 00 00 00 00 00 01 00 03 00"))
                .await
        })
        .unwrap_err();
        assert_eq!(
            error,
            TransportError::Replay(
                "trace line 9: `> bulk-out 02` byte 8: expected 0x00, sent 0x03 \
                 (10 bytes recorded, 10 sent)"
                    .into()
            )
        );
        // Failed for good, whatever comes next.
        assert_eq!(block_on(replay.bulk_in(0x82, 64, WAIT)), Err(error.clone()));
        assert_eq!(replay.finish(), Err(error));
    }

    #[test]
    fn a_shorter_or_longer_transfer_is_named() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let sent = bytes("62 00 00 00 00 00 01 00 00 00 00");
        let error = block_on(async {
            replay.control_in(setup(0x80, 0x06, 0x0200), 0xFF).await?;
            replay.claim_interface(0, 0).await?;
            replay.bulk_out(0x02, &sent).await
        })
        .unwrap_err();
        let TransportError::Replay(message) = error else {
            panic!("{error:?}");
        };
        assert!(
            message.contains("byte 10: expected no more bytes, sent 0x00"),
            "{message}"
        );
    }

    #[test]
    fn a_different_call_is_named() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let result = block_on(replay.control_in(setup(0x80, 0x06, 0x0200), 0x40));
        assert_eq!(
            result,
            Err(TransportError::Replay(
                "trace line 7: expected `< control-in 80 06 0200 0000 00FF`, but the driver \
                 called `< control-in 80 06 0200 0000 0040`"
                    .into()
            ))
        );
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let result = block_on(replay.bulk_in(0x82, 64, WAIT));
        assert!(
            matches!(&result, Err(TransportError::Replay(m)) if m.starts_with("trace line 7: expected `< control-in")),
            "{result:?}"
        );
    }

    #[test]
    fn a_different_note_fails_the_next_call() {
        let text = "\
# CCID trace v1
device: 0CA6:0010 bcdDevice 1.00
reader:
atr: none
redacted: no

> apdu: 80 A4 00 00 02 3F 00
> bulk-out 02: 00
";
        let mut replay = ReplayTransport::from_text(text).unwrap();
        replay.note(TraceNote::CommandApdu(&bytes("80 A4 00 00 02 3F 01")));
        let expected = TransportError::Replay(
            "trace line 7: `> apdu` byte 6: expected 0x00, sent 0x01 (7 bytes recorded, 7 sent)"
                .into(),
        );
        assert_eq!(block_on(replay.bulk_out(0x02, &[0])), Err(expected.clone()));
        assert_eq!(replay.finish(), Err(expected));

        // A note where the trace has a transfer.
        let mut replay = ReplayTransport::from_text(text).unwrap();
        replay.note(TraceNote::ResponseApdu(&[0x90, 0x00]));
        let result = block_on(replay.bulk_out(0x02, &[0]));
        assert_eq!(
            result,
            Err(TransportError::Replay(
                "trace line 7: expected `> apdu`, but the driver called `< apdu`".into()
            ))
        );
    }

    #[test]
    fn leftover_and_missing_events_are_reported() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        block_on(replay.control_in(setup(0x80, 0x06, 0x0200), 0xFF)).unwrap();
        assert_eq!(
            replay.finish(),
            Err(TransportError::Replay(
                "trace line 8 (`= claim 0 0`) and 10 later events were not replayed".into()
            ))
        );

        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let _ = block_on(drive(&mut replay, [0, 0]));
        assert_eq!(
            block_on(replay.bulk_in(0x82, 64, WAIT)),
            Err(TransportError::Replay(
                "the trace has no more events, but the driver called `< bulk-in 82`".into()
            ))
        );
    }

    #[test]
    fn more_data_than_the_driver_asked_for_is_a_mismatch() {
        let mut replay = ReplayTransport::from_text(TRACE).unwrap();
        let result = block_on(async {
            replay.control_in(setup(0x80, 0x06, 0x0200), 0xFF).await?;
            replay.claim_interface(0, 0).await?;
            replay
                .bulk_out(0x02, &bytes("62 00 00 00 00 00 01 00 00 00"))
                .await?;
            replay.bulk_in(0x82, 10, WAIT).await
        });
        assert_eq!(
            result,
            Err(TransportError::Replay(
                "trace line 10: `< bulk-in 82` has 12 bytes, but the driver asked for at most 10"
                    .into()
            ))
        );
    }
}
