//! Export mode: finding the PIN bytes a trace must not carry when it leaves the machine.
//!
//! PINs travel in VERIFY-like command APDUs (INS 0x20, 0x21, 0x24, 0x2C with data, any CLA). They
//! show up in a trace as the driver's `> apdu:` note and inside bulk-OUT CCID messages:
//! PC_to_RDR_XfrBlock carrying the APDU itself (APDU-level readers, or a T=0 TPDU: header and
//! data) or a T=1 I-block around it, and the APDU template of PC_to_RDR_Secure. Only the data
//! field is redacted, and a T=1 block's EDC with it: an LRC is the XOR of the block, so it would
//! give away the XOR of the PIN bytes. Everything else stays as it was, so a redacted trace
//! still shows (and replays) the whole exchange.

use super::TraceBytes;
use crate::message::{command_type, Header, PinVerify, HEADER_LENGTH};
use crate::quirks::Dialect;
use std::ops::Range;

/// Instructions whose command data is a PIN or other reference data: VERIFY (0x20, 0x21),
/// CHANGE REFERENCE DATA (0x24) and RESET RETRY COUNTER (0x2C).
pub const PIN_INSTRUCTIONS: [u8; 4] = [0x20, 0x21, 0x24, 0x2C];

/// Length of a short APDU header: CLA INS P1 P2 Lc.
const APDU_HEADER_LENGTH: usize = 5;

/// T=1 prologue: NAD PCB LEN.
const T1_PROLOGUE_LENGTH: usize = 3;

/// `bPINOperation` values of PC_to_RDR_Secure.
const PIN_VERIFICATION: u8 = 0x00;
const PIN_MODIFICATION: u8 = 0x01;

/// Offset of the PIN modification structure's APDU template when neither optional message
/// index is present; each present one moves it one byte further (CCID §6.1.11.8).
const MODIFY_APDU_OFFSET: usize = 18;

/// The command APDU as an exported trace shows it: the data field of a VERIFY-like command
/// redacted, any other command unchanged.
pub fn redact_command_apdu(apdu: &[u8]) -> TraceBytes {
    let mut bytes = TraceBytes::exact(apdu);
    for offset in note_pin_range(apdu) {
        bytes.redact(offset);
    }
    bytes
}

/// The byte ranges of a bulk-OUT CCID message that carry PIN data, found from as many of the
/// message's first bytes as are known (ranges may reach past them). Asking again with more bytes
/// only ever adds ranges, so a message split over several transfers can be redacted as its
/// transfers arrive.
pub fn message_secrets(known: &[u8], dialect: Dialect) -> Vec<Range<usize>> {
    let Ok(header) = Header::decode(known, dialect) else {
        return Vec::new();
    };
    let length = header.length as usize;
    let data = known.get(HEADER_LENGTH..).unwrap_or_default();
    // Bytes beyond the message belong to the next one.
    let data = data.get(..length).unwrap_or(data);
    let ranges = match header.message_type {
        command_type::XFR_BLOCK => xfr_block_secrets(data, length),
        command_type::SECURE => secure_secrets(data, length).into_iter().collect(),
        _ => Vec::new(),
    };
    ranges
        .into_iter()
        .map(|range| range.start + HEADER_LENGTH..range.end + HEADER_LENGTH)
        .collect()
}

/// Where the PIN sits in a VERIFY-like APDU of `length` bytes of which `known` are the first,
/// if the bytes known so far show it is one; `None` also while they do not tell yet.
fn apdu_pin_range(known: &[u8], length: usize) -> Option<Range<usize>> {
    if !PIN_INSTRUCTIONS.contains(known.get(1)?) {
        return None;
    }
    let short_lc = usize::from(*known.get(4)?);
    if short_lc != 0 {
        // Case 3 (no Le) or case 4 (one Le byte).
        let end = APDU_HEADER_LENGTH + short_lc;
        return (length == end || length == end + 1).then_some(APDU_HEADER_LENGTH..end);
    }
    // Extended length: 00 and a two-byte Lc, then the data and maybe a two-byte Le.
    let lc = usize::from(u16::from_be_bytes([*known.get(5)?, *known.get(6)?]));
    let end = APDU_HEADER_LENGTH + 2 + lc;
    (lc > 0 && (length == end || length == end + 2)).then_some(APDU_HEADER_LENGTH + 2..end)
}

/// The PIN bytes of an APDU the driver noted. The note is known to be one whole APDU, so a
/// VERIFY-like command whose lengths disagree is redacted from its data on, rather than trusted.
fn note_pin_range(apdu: &[u8]) -> Range<usize> {
    if let Some(range) = apdu_pin_range(apdu, apdu.len()) {
        return range;
    }
    let verify_like = apdu
        .get(1)
        .is_some_and(|ins| PIN_INSTRUCTIONS.contains(ins));
    match apdu.get(4) {
        Some(&lc) if verify_like && lc != 0 => APDU_HEADER_LENGTH..apdu.len(),
        Some(_) if verify_like && apdu.len() > APDU_HEADER_LENGTH + 2 => {
            APDU_HEADER_LENGTH + 2..apdu.len()
        }
        _ => 0..0,
    }
}

/// PIN bytes of an XfrBlock's data (`length` bytes, `known` of them so far), under both readings:
/// the APDU itself, and a T=1 I-block around it.
fn xfr_block_secrets(known: &[u8], length: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    if let Some(range) = apdu_pin_range(known, length) {
        ranges.push(range);
    }
    if let (Some(&pcb), Some(&inf_length)) = (known.get(1), known.get(2)) {
        let edc_start = T1_PROLOGUE_LENGTH + usize::from(inf_length);
        let edc_length = length.checked_sub(edc_start);
        let i_block = pcb & 0x80 == 0;
        if i_block && matches!(edc_length, Some(1 | 2)) {
            let inf = known.get(T1_PROLOGUE_LENGTH..).unwrap_or_default();
            if let Some(range) = apdu_pin_range(inf, usize::from(inf_length)) {
                ranges.push(range.start + T1_PROLOGUE_LENGTH..range.end + T1_PROLOGUE_LENGTH);
                ranges.push(edc_start..length);
            }
        }
    }
    ranges
}

/// PIN bytes of a Secure message's data: the data field of its APDU template. The reader
/// inserts the PIN from its keypad, but a host may prefill the template, so it is never exported.
fn secure_secrets(known: &[u8], length: usize) -> Option<Range<usize>> {
    match known.first() {
        Some(&PIN_VERIFICATION) => {
            let data_start = PinVerify::APDU_OFFSET + APDU_HEADER_LENGTH;
            (length > data_start).then_some(data_start..length)
        }
        Some(&PIN_MODIFICATION) => {
            // The optional message indexes make the template's offset uncertain: take the
            // offset whose Lc accounts for the rest of the message.
            let last_candidate = MODIFY_APDU_OFFSET + 2;
            if known.len() < length.min(last_candidate + APDU_HEADER_LENGTH) {
                return None;
            }
            let fits = (MODIFY_APDU_OFFSET..=last_candidate).find(|offset| {
                known.get(offset + 4).is_some_and(|&lc| {
                    offset + APDU_HEADER_LENGTH + usize::from(lc) == length && lc != 0
                })
            });
            match fits {
                Some(offset) => Some(offset + APDU_HEADER_LENGTH..length),
                // No consistent template: hide everything from where a template could start.
                None => (length > MODIFY_APDU_OFFSET).then_some(MODIFY_APDU_OFFSET..length),
            }
        }
        _ => None,
    }
}

/// Reassembles CCID messages from consecutive bulk-OUT transfers, remembering where each byte was
/// recorded, so PIN bytes found in the message can be redacted in the transfers' lines.
#[derive(Debug, Default)]
pub(crate) struct BulkOutReassembly {
    endpoint: Option<u8>,
    /// The unfinished message's bytes so far.
    message: Vec<u8>,
    /// For each byte of `message`: the body line it was recorded on and its offset there.
    origins: Vec<(usize, usize)>,
}

impl BulkOutReassembly {
    /// Adds a bulk-OUT transfer recorded on body line `line`. Returns the (line, offset) of every
    /// PIN byte found so far in the message(s) it belongs to.
    pub(crate) fn push(
        &mut self,
        dialect: Dialect,
        endpoint: u8,
        line: usize,
        data: &[u8],
    ) -> Vec<(usize, usize)> {
        if self.endpoint != Some(endpoint) {
            self.abandon();
            self.endpoint = Some(endpoint);
        }
        self.message.extend_from_slice(data);
        self.origins
            .extend((0..data.len()).map(|offset| (line, offset)));

        let mut secrets = Vec::new();
        while self.message.len() >= HEADER_LENGTH {
            let Ok(header) = Header::decode(&self.message, dialect) else {
                // Not a CCID message: nothing to find, and nothing to align the next one on.
                self.abandon();
                break;
            };
            for range in message_secrets(&self.message, dialect) {
                secrets.extend(range.filter_map(|position| self.origins.get(position).copied()));
            }
            let length = header.message_length();
            if self.message.len() < length {
                break;
            }
            self.message.drain(..length);
            self.origins.drain(..length);
        }
        secrets
    }

    /// Forgets an unfinished message: the driver moved on (it read a reply, or the transfer
    /// failed), so the next bulk-OUT starts a new message.
    pub(crate) fn abandon(&mut self) {
        self.message.clear();
        self.origins.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::hex;

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    #[test]
    fn apdu_notes_lose_the_pin_only() {
        let verify = bytes("80 20 00 01 08 31 32 33 34 35 36 FF FF");
        assert_eq!(
            redact_command_apdu(&verify).to_string(),
            "80 20 00 01 08 .. .. .. .. .. .. .. .."
        );
        let change = bytes("00 24 00 81 04 01 02 03 04 00");
        assert_eq!(
            redact_command_apdu(&change).to_string(),
            "00 24 00 81 04 .. .. .. .. 00"
        );
        let extended = bytes("00 2C 00 01 00 00 02 31 32");
        assert_eq!(
            redact_command_apdu(&extended).to_string(),
            "00 2C 00 01 00 00 02 .. .."
        );
        // Lengths that disagree are still hidden.
        let inconsistent = bytes("80 20 00 01 08 31 32");
        assert_eq!(
            redact_command_apdu(&inconsistent).to_string(),
            "80 20 00 01 08 .. .."
        );
        for untouched in [
            "80 A4 00 00 02 3F 00",
            "80 20 00 01",
            "80 20 00 01 00",
            "00 B0 00 00 08",
        ] {
            assert_eq!(
                redact_command_apdu(&bytes(untouched)).to_string(),
                untouched
            );
        }
    }

    #[test]
    fn secrets_are_found_in_message_prefixes() {
        let message = bytes("6F 0D 00 00 00 00 01 00 00 00 80 20 00 01 08 31 32 33 34 35 36 37 38");
        assert_eq!(message_secrets(&message, Dialect::Standard), vec![15..23]);
        assert!(message_secrets(&message[..14], Dialect::Standard).is_empty());
        assert_eq!(
            message_secrets(&message[..16], Dialect::Standard),
            vec![15..23]
        );
        // Not a VERIFY-like instruction; and a wrong length under either reading.
        let select = bytes("6F 07 00 00 00 00 01 00 00 00 80 A4 00 00 02 3F 00");
        assert!(message_secrets(&select, Dialect::Standard).is_empty());
        let odd = bytes("6F 09 00 00 00 00 01 00 00 00 80 20 00 01 08 31 32 33 34");
        assert!(message_secrets(&odd, Dialect::Standard).is_empty());
    }

    #[test]
    fn pin_modification_templates_are_found() {
        // bPINOperation 1, the 14 fixed structure bytes (no optional message index), bTeoPrologue,
        // then the template.
        let mut data = vec![PIN_MODIFICATION];
        data.extend_from_slice(&[0; 14]);
        data.extend_from_slice(&[0; 3]);
        data.extend_from_slice(&bytes("00 24 00 01 10"));
        data.extend_from_slice(&[0x31; 16]);
        assert_eq!(secure_secrets(&data, data.len()), Some(23..39));
        assert_eq!(secure_secrets(&data[..10], data.len()), None);
        // Lc that fits no candidate: everything from the earliest template offset.
        let last = data.len() - 1;
        data.truncate(last);
        assert_eq!(secure_secrets(&data, data.len()), Some(18..38));
    }
}
