//! Command APDU structure (ISO/IEC 7816-3 §12.1, 7816-4 §5.1): the four cases, short and
//! extended. The reader needs it to carry a command over T=0 and to refuse what a reader cannot
//! carry; it never changes the bytes.

/// Why bytes are not a command APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than the four header bytes.
    #[error("a command APDU needs at least 4 bytes (CLA INS P1 P2); this one has {0}")]
    TooShort(usize),
    /// The length fields do not match the number of bytes.
    #[error("the command APDU's length fields do not match its {0} bytes")]
    BadLength(usize),
}

/// The structure of a command APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandApdu<'a> {
    /// CLA INS P1 P2.
    pub header: [u8; 4],
    /// The command data field (empty in cases 1 and 2).
    pub data: &'a [u8],
    /// Ne, the maximum response length expected (cases 2 and 4); `Some(256)` for a short Le of
    /// 0x00, `Some(65536)` for an extended Le of 0x0000.
    pub ne: Option<usize>,
    /// Lc/Le are in extended form.
    pub extended: bool,
}

impl<'a> CommandApdu<'a> {
    /// Reads the structure of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<CommandApdu<'a>, ApduError> {
        let (&[cla, ins, p1, p2], body) = match bytes.split_first_chunk::<4>() {
            Some(split) => split,
            None => return Err(ApduError::TooShort(bytes.len())),
        };
        let header = [cla, ins, p1, p2];
        let bad = ApduError::BadLength(bytes.len());
        let short_ne = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let extended_ne = |hi: u8, lo: u8| match usize::from(u16::from_be_bytes([hi, lo])) {
            0 => 65536,
            n => n,
        };
        let apdu = match *body {
            // Case 1.
            [] => CommandApdu {
                header,
                data: &[],
                ne: None,
                extended: false,
            },
            // Case 2S.
            [le] => CommandApdu {
                header,
                data: &[],
                ne: Some(short_ne(le)),
                extended: false,
            },
            // Case 2E: 00 Le1 Le2.
            [0, hi, lo] => CommandApdu {
                header,
                data: &[],
                ne: Some(extended_ne(hi, lo)),
                extended: true,
            },
            // Extended Lc: 00 Lc1 Lc2 data [Le1 Le2].
            [0, hi, lo, ref rest @ ..] if u16::from_be_bytes([hi, lo]) != 0 => {
                let lc = usize::from(u16::from_be_bytes([hi, lo]));
                match rest.len().checked_sub(lc) {
                    Some(0) => CommandApdu {
                        header,
                        data: rest,
                        ne: None,
                        extended: true,
                    },
                    Some(2) => CommandApdu {
                        header,
                        data: rest.get(..lc).ok_or(bad.clone())?,
                        ne: Some(extended_ne(
                            *rest.get(lc).ok_or(bad.clone())?,
                            *rest.get(lc + 1).ok_or(bad.clone())?,
                        )),
                        extended: true,
                    },
                    _ => {
                        // Not extended: it may still be a short case 3/4 whose Lc is 0x00…
                        // which short Lc forbids, so it is malformed.
                        return Err(bad);
                    }
                }
            }
            // Short Lc: Lc data [Le].
            [lc, ref rest @ ..] if lc != 0 => {
                let lc = usize::from(lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => CommandApdu {
                        header,
                        data: rest,
                        ne: None,
                        extended: false,
                    },
                    Some(1) => CommandApdu {
                        header,
                        data: rest.get(..lc).ok_or(bad.clone())?,
                        ne: Some(short_ne(*rest.get(lc).ok_or(bad.clone())?)),
                        extended: false,
                    },
                    _ => return Err(bad),
                }
            }
            _ => return Err(bad),
        };
        Ok(apdu)
    }

    /// INS.
    pub fn ins(&self) -> u8 {
        self.header[1]
    }
}

/// Status word SW1-SW2 at the end of a response, if the response has one.
pub fn status_word(response: &[u8]) -> Option<(u8, u8)> {
    match response {
        [.., sw1, sw2] => Some((*sw1, *sw2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_four_cases_short_and_extended() {
        let case = |bytes: &[u8]| {
            let apdu = CommandApdu::parse(bytes).unwrap();
            (apdu.data.len(), apdu.ne, apdu.extended)
        };
        assert_eq!(case(&[0x80, 0x20, 0x00, 0x01]), (0, None, false));
        assert_eq!(case(&[0x80, 0xB0, 0x00, 0x00, 0x10]), (0, Some(16), false));
        assert_eq!(case(&[0x80, 0xB0, 0x00, 0x00, 0x00]), (0, Some(256), false));
        assert_eq!(case(&[0x80, 0xA4, 0, 0, 2, 0x3F, 0x00]), (2, None, false));
        assert_eq!(
            case(&[0x80, 0xA4, 0, 0, 2, 0x3F, 0x00, 0x00]),
            (2, Some(256), false)
        );
        assert_eq!(
            case(&[0x80, 0xC1, 0, 0, 0, 0x01, 0x00]),
            (0, Some(256), true)
        );
        assert_eq!(case(&[0x80, 0xC1, 0, 0, 0, 0, 0]), (0, Some(65536), true));
        let mut long = vec![0x80, 0xD6, 0, 0, 0, 0x01, 0x00];
        long.extend_from_slice(&[0xAB; 256]);
        assert_eq!(case(&long), (256, None, true));
        long.extend_from_slice(&[0x00, 0x00]);
        assert_eq!(case(&long), (256, Some(65536), true));
    }

    #[test]
    fn malformed_lengths_are_refused() {
        assert_eq!(
            CommandApdu::parse(&[0x80, 0x20]),
            Err(ApduError::TooShort(2))
        );
        for bytes in [
            &[0x80, 0xA4, 0, 0, 2, 0x3F][..],
            &[0x80, 0xA4, 0, 0, 2, 0x3F, 0, 0, 0],
            &[0x80, 0xA4, 0, 0, 0, 0x3F],
            &[0x80, 0xA4, 0, 0, 0, 0, 2, 0x3F],
        ] {
            assert_eq!(
                CommandApdu::parse(bytes),
                Err(ApduError::BadLength(bytes.len())),
                "{bytes:02X?}"
            );
        }
    }
}
