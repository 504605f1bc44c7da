//! Protocol and parameters selection (ISO/IEC 7816-3 §9), and the choice of transmission rate.
//!
//! A PPS exchange is PPSS (0xFF), PPS0, up to three parameter bytes and PCK; the card either
//! echoes the request or answers with a subset of it (§9.3). [`select_fi_di`] picks the Fi/Di
//! index to ask for from the card's TA1 and what the reader can clock.

use crate::atr::{di_from_index, fi_from_index};
use crate::protocol::Protocol;

/// PPSS, the first byte of every PPS request and response.
pub const PPSS: u8 = 0xFF;

/// The default Fi/Di index byte (Fd = 372, Dd = 1), which every card and reader runs.
pub const DEFAULT_FI_DI: u8 = 0x11;

/// PPS0 bits announcing PPS1, PPS2 and PPS3.
const HAS_PPS1: u8 = 0x10;
const HAS_PPS2: u8 = 0x20;
const HAS_PPS3: u8 = 0x40;

/// A PPS request: PPSS (0xFF), PPS0, optional PPS1..PPS3, PCK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpsRequest {
    /// The protocol asked for (PPS0 low nibble).
    pub protocol: Protocol,
    /// PPS1: the Fi/Di index byte (TA1 format), if a rate other than the default is asked.
    pub fi_di: Option<u8>,
    /// PPS2 (SPU), rarely used.
    pub pps2: Option<u8>,
    /// PPS3 (reserved), rarely used.
    pub pps3: Option<u8>,
}

/// Why a PPS exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PpsError {
    /// The reply is shorter than its PPS0 announces, or empty.
    #[error("the PPS response is truncated")]
    Truncated,
    /// The reply does not start with PPSS 0xFF.
    #[error("the PPS response does not start with 0xFF")]
    BadPpss,
    /// PCK does not make the XOR of all bytes zero.
    #[error("the PPS response check byte is wrong")]
    BadPck,
    /// The card answered another protocol, or a PPS1 that is neither the request's nor absent:
    /// ISO 7816-3 treats that as a failed PPS exchange.
    #[error("the card refused the PPS request")]
    Refused,
    /// Bytes follow the PCK.
    #[error("the PPS response has trailing bytes")]
    TrailingBytes,
    /// PPS0 names a protocol other than T=0 and T=1.
    #[error("the PPS names protocol T={0}, which this driver does not run")]
    UnknownProtocol(u8),
}

/// What the card agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpsOutcome {
    /// The protocol now in use.
    pub protocol: Protocol,
    /// The Fi/Di index now in use ([`DEFAULT_FI_DI`] when the card left PPS1 out of its answer).
    pub fi_di: u8,
}

impl PpsRequest {
    /// The request's bytes, PCK included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut pps0 = self.protocol.number();
        let mut bytes = vec![PPSS, 0];
        for (bit, byte) in [
            (HAS_PPS1, self.fi_di),
            (HAS_PPS2, self.pps2),
            (HAS_PPS3, self.pps3),
        ] {
            if let Some(byte) = byte {
                pps0 |= bit;
                bytes.push(byte);
            }
        }
        if let Some(slot) = bytes.get_mut(1) {
            *slot = pps0;
        }
        let pck = bytes.iter().fold(0, |acc, byte| acc ^ byte);
        bytes.push(pck);
        bytes
    }

    /// Parses a PPS request (the card side of the exchange uses this).
    ///
    /// PPS0's bit 8 is reserved; it is ignored.
    pub fn parse(bytes: &[u8]) -> Result<PpsRequest, PpsError> {
        let (&ppss, rest) = bytes.split_first().ok_or(PpsError::Truncated)?;
        if ppss != PPSS {
            return Err(PpsError::BadPpss);
        }
        let &pps0 = rest.first().ok_or(PpsError::Truncated)?;
        let announced = [HAS_PPS1, HAS_PPS2, HAS_PPS3]
            .iter()
            .filter(|&&bit| pps0 & bit != 0)
            .count();
        // PPSS, PPS0, the announced bytes, PCK.
        let len = 2 + announced + 1;
        if bytes.len() < len {
            return Err(PpsError::Truncated);
        }
        if bytes.len() > len {
            return Err(PpsError::TrailingBytes);
        }
        if bytes.iter().fold(0, |acc, byte| acc ^ byte) != 0 {
            return Err(PpsError::BadPck);
        }
        let mut parameters = bytes.iter().skip(2).copied();
        let mut take = |bit: u8| {
            if pps0 & bit != 0 {
                parameters.next()
            } else {
                None
            }
        };
        let number = pps0 & 0x0F;
        Ok(PpsRequest {
            protocol: Protocol::from_number(number).ok_or(PpsError::UnknownProtocol(number))?,
            fi_di: take(HAS_PPS1),
            pps2: take(HAS_PPS2),
            pps3: take(HAS_PPS3),
        })
    }

    /// Checks the card's answer against this request (ISO 7816-3 §9.3).
    ///
    /// Success is an answer that echoes the protocol and, for each of PPS1..PPS3, either
    /// echoes the request's byte or leaves it out. PPS1 left out means the default rate,
    /// [`DEFAULT_FI_DI`].
    /// A well-formed answer of any other content is [`PpsError::Refused`].
    pub fn check_response(&self, response: &[u8]) -> Result<PpsOutcome, PpsError> {
        let answer = match PpsRequest::parse(response) {
            // An answer naming a protocol the request cannot have named is another protocol.
            Err(PpsError::UnknownProtocol(_)) => return Err(PpsError::Refused),
            other => other?,
        };
        let echoed_or_absent =
            |asked: Option<u8>, answered: Option<u8>| answered.is_none() || answered == asked;
        if answer.protocol != self.protocol
            || !echoed_or_absent(self.fi_di, answer.fi_di)
            || !echoed_or_absent(self.pps2, answer.pps2)
            || !echoed_or_absent(self.pps3, answer.pps3)
        {
            return Err(PpsError::Refused);
        }
        Ok(PpsOutcome {
            protocol: answer.protocol,
            fi_di: answer.fi_di.unwrap_or(DEFAULT_FI_DI),
        })
    }
}

/// The rates a reader can run a card at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderRates {
    /// The clock the reader gives the card, in kHz (`dwDefaultClock`).
    pub clock_khz: u32,
    /// The fastest rate in bps (`dwMaxDataRate`).
    pub max_data_rate: u32,
    /// The rates the reader lists (GET_DATA_RATES); empty means any rate up to the maximum.
    pub data_rates: Vec<u32>,
}

/// The rate in bps for a Fi/Di index byte at a clock, `None` for reserved indices.
///
/// Rate = clock × Di / Fi, rounded to the nearest bps; `None` also if it overflows `u32`.
pub fn baud_rate(fi_di: u8, clock_khz: u32) -> Option<u32> {
    let fi = u64::from(fi_from_index(fi_di >> 4)?);
    let di = u64::from(di_from_index(fi_di & 0x0F)?);
    let numerator = u64::from(clock_khz) * 1000 * di;
    u32::try_from((numerator + fi / 2) / fi).ok()
}

/// The fastest Fi/Di index byte that both the card (its TA1, `card_fi_di`) and the reader
/// allow: the card's own if the reader can run it, else the same Fi with the next lower Di that
/// the reader can run, down to [`DEFAULT_FI_DI`] (which every reader runs).
///
/// "Lower" is by Di's value (Table 8 lists Di 12 and 20 after 64). A candidate no faster than
/// the default at the reader's clock is not worth a PPS, so the default is chosen instead. A
/// reserved index in `card_fi_di` also gives the default.
pub fn select_fi_di(card_fi_di: u8, reader: &ReaderRates) -> u8 {
    let fi_index = card_fi_di >> 4;
    let Some(card_di) = di_from_index(card_fi_di & 0x0F) else {
        return DEFAULT_FI_DI;
    };
    let Some(default_rate) = baud_rate(DEFAULT_FI_DI, reader.clock_khz) else {
        return DEFAULT_FI_DI;
    };
    // The fastest candidate the reader runs (Di values are distinct).
    (0x1..=0xF)
        .filter_map(|di_index| Some((di_from_index(di_index)?, di_index)))
        .filter(|&(di, _)| di <= card_di)
        .map(|(di, di_index)| (di, fi_index << 4 | di_index))
        .filter(|&(_, index)| {
            baud_rate(index, reader.clock_khz)
                .is_some_and(|rate| rate > default_rate && reader.runs(rate))
        })
        .max_by_key(|&(di, _)| di)
        .map_or(DEFAULT_FI_DI, |(_, index)| index)
}

impl ReaderRates {
    /// Whether the reader can run `rate` bps: at most its maximum and, when it lists rates,
    /// within 2 % of one of them (cards and readers round their clock dividers differently).
    pub fn runs(&self, rate: u32) -> bool {
        if rate > self.max_data_rate {
            return false;
        }
        self.data_rates.is_empty()
            || self
                .data_rates
                .iter()
                .any(|&listed| u64::from(rate.abs_diff(listed)) * 50 <= u64::from(listed))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> Vec<u8> {
        crate::hex::parse(text).unwrap()
    }

    fn request(protocol: Protocol, fi_di: Option<u8>) -> PpsRequest {
        PpsRequest {
            protocol,
            fi_di,
            pps2: None,
            pps3: None,
        }
    }

    #[test]
    fn requests_encode_and_parse_back() {
        let cases = [
            (request(Protocol::T0, None), "FF 00 FF"),
            (request(Protocol::T1, None), "FF 01 FE"),
            (request(Protocol::T1, Some(0x13)), "FF 11 13 FD"),
            (request(Protocol::T1, Some(0x96)), "FF 11 96 78"),
            (
                PpsRequest {
                    protocol: Protocol::T1,
                    fi_di: Some(0x95),
                    pps2: Some(0x00),
                    pps3: Some(0x00),
                },
                "FF 71 95 00 00 1B",
            ),
            (
                PpsRequest {
                    protocol: Protocol::T0,
                    fi_di: None,
                    pps2: Some(0x01),
                    pps3: None,
                },
                "FF 20 01 DE",
            ),
        ];
        for (request, text) in cases {
            assert_eq!(request.to_bytes(), bytes(text), "{request:?}");
            assert_eq!(PpsRequest::parse(&bytes(text)), Ok(request), "{text}");
        }
    }

    #[test]
    fn malformed_pps_is_refused() {
        let cases = [
            ("", PpsError::Truncated),
            ("FF", PpsError::Truncated),
            ("FF 11 96", PpsError::Truncated),
            ("FF 71 95 00 00", PpsError::Truncated),
            ("00 11 96 78", PpsError::BadPpss),
            ("FF 11 96 79", PpsError::BadPck),
            ("FF 11 96 78 00", PpsError::TrailingBytes),
            ("FF 02 FD", PpsError::UnknownProtocol(2)),
        ];
        for (text, error) in cases {
            assert_eq!(PpsRequest::parse(&bytes(text)), Err(error), "{text}");
        }
    }

    #[test]
    fn responses_per_iso_7816_3_9_3() {
        let asked = request(Protocol::T1, Some(0x96));
        let cases = [
            // The echo: success at the asked rate.
            ("FF 11 96 78", Ok((Protocol::T1, 0x96))),
            // PPS1 left out: success at the default rate.
            ("FF 01 FE", Ok((Protocol::T1, DEFAULT_FI_DI))),
            // Another protocol.
            ("FF 10 96 79", Err(PpsError::Refused)),
            ("FF 12 96 7B", Err(PpsError::Refused)),
            // Another rate.
            ("FF 11 95 7B", Err(PpsError::Refused)),
            // A PPS2 the request did not have.
            ("FF 31 96 00 58", Err(PpsError::Refused)),
            // Malformed answers.
            ("", Err(PpsError::Truncated)),
            ("FF 11 96", Err(PpsError::Truncated)),
            ("FE 11 96 78", Err(PpsError::BadPpss)),
            ("FF 11 96 77", Err(PpsError::BadPck)),
            ("FF 11 96 78 78", Err(PpsError::TrailingBytes)),
        ];
        for (text, expected) in cases {
            let outcome = asked
                .check_response(&bytes(text))
                .map(|o| (o.protocol, o.fi_di));
            assert_eq!(outcome, expected, "{text}");
        }
        // PPS2 asked and left out of the answer: success.
        let with_pps2 = PpsRequest {
            pps2: Some(0x01),
            ..asked
        };
        assert_eq!(with_pps2.to_bytes(), bytes("FF 31 96 01 59"));
        assert_eq!(
            with_pps2.check_response(&bytes("FF 11 96 78")),
            Ok(PpsOutcome {
                protocol: Protocol::T1,
                fi_di: 0x96
            })
        );
        // No PPS1 asked, so none may come back.
        assert_eq!(
            request(Protocol::T1, None).check_response(&bytes("FF 11 96 78")),
            Err(PpsError::Refused)
        );
    }

    #[test]
    fn baud_rates() {
        let cases = [
            // clock × Di / Fi, rounded.
            (DEFAULT_FI_DI, 3_571, Some(9_599)),
            (DEFAULT_FI_DI, 3_686, Some(9_909)),
            (0x13, 3_571, Some(38_398)),
            (0x95, 3_686, Some(115_188)),
            (0x96, 3_686, Some(230_375)),
            (0x96, 4_800, Some(300_000)),
            (0x18, 4_000, Some(129_032)),
            // Reserved Fi index 7, reserved Di index 0.
            (0x71, 4_000, None),
            (0x10, 4_000, None),
            // Too fast for u32.
            (0x17, u32::MAX, None),
        ];
        for (fi_di, clock_khz, rate) in cases {
            assert_eq!(
                baud_rate(fi_di, clock_khz),
                rate,
                "{fi_di:02X} at {clock_khz} kHz"
            );
        }
    }

    #[test]
    fn rate_selection() {
        let reader = |clock_khz, max_data_rate, data_rates: &[u32]| ReaderRates {
            clock_khz,
            max_data_rate,
            data_rates: data_rates.to_vec(),
        };
        let ez100pu = reader(3_686, 115_200, &[]);
        let standard_rates = [9_600, 19_200, 38_400, 57_600, 115_200];
        let cases = [
            // Castles EZ100PU: 0x96 is 230375 bps, too fast; 0x95 is 115188 bps.
            (0x96, ez100pu.clone(), 0x95),
            // Listed rates: 115188 is within 2 % of 115200.
            (0x96, reader(3_686, 115_200, &standard_rates), 0x95),
            // Only slow rates listed: nothing faster than the default fits.
            (
                0x96,
                reader(3_686, 115_200, &[9_600, 19_200, 38_400]),
                DEFAULT_FI_DI,
            ),
            // ACS reader at 4.8 MHz, up to 826000 bps: 0x96 is 300000 bps.
            (0x96, reader(4_800, 826_000, &[]), 0x96),
            // MOICA first generation on a 9600 bps reader: 0x13 and 0x12 are too fast.
            (0x13, reader(3_571, 9_600, &[]), DEFAULT_FI_DI),
            (0x13, reader(3_571, 38_400, &[]), 0x13),
            (0x13, reader(3_571, 20_000, &[]), 0x12),
            // Di steps down by value: Di 12 (index 8) too fast, Di 8 (index 4) fits, not Di 64
            // (index 7).
            (0x18, reader(4_000, 200_000, &[]), 0x18),
            (0x18, reader(4_000, 100_000, &[]), 0x14),
            // Reserved indices in TA1.
            (0x70, ez100pu.clone(), DEFAULT_FI_DI),
            (0x1A, ez100pu.clone(), DEFAULT_FI_DI),
            // The default stays the default.
            (DEFAULT_FI_DI, ez100pu.clone(), DEFAULT_FI_DI),
            // Slower than the default is not worth a PPS.
            (0x91, ez100pu, DEFAULT_FI_DI),
        ];
        for (card, reader, chosen) in cases {
            assert_eq!(
                select_fi_di(card, &reader),
                chosen,
                "{card:02X} on {reader:?}"
            );
        }
    }
}
