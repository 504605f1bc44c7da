//! The answer to reset (ISO/IEC 7816-3 §8): parsing and the parameters derived from it.
//!
//! [`Atr::parse`] checks the structure (TS, T0, the TAi/TBi/TCi/TDi chain, historical bytes,
//! TCK) and keeps the bytes; the accessors derive the parameters ISO 7816-3 defines, with the
//! standard's defaults when a byte is absent.

use crate::pps::DEFAULT_FI_DI;
use crate::protocol::Protocol;

/// A transmission protocol number `T=n` as the ATR indicates it (TD's low nibble); the ones the
/// driver runs are [`Protocol`]s.
pub type ProtocolNumber = u8;

/// Bit order and polarity, from TS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// TS = 0x3B.
    Direct,
    /// TS = 0x3F.
    Inverse,
}

/// The T=1 error detection code chosen by TC for T=1 (bit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edc {
    /// Longitudinal redundancy check: one XOR byte (the default).
    #[default]
    Lrc,
    /// Cyclic redundancy check: two bytes (ISO/IEC 13239, as ISO 7816-3 names it).
    Crc,
}

/// One group of interface bytes TAi, TBi, TCi, TDi (i = 1, 2, 3 …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InterfaceGroup {
    /// TAi, if present.
    pub ta: Option<u8>,
    /// TBi, if present.
    pub tb: Option<u8>,
    /// TCi, if present.
    pub tc: Option<u8>,
    /// TDi, if present.
    pub td: Option<u8>,
}

/// TA2: the card runs in specific mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecificMode {
    /// The protocol the card runs (TA2's low nibble).
    pub protocol: ProtocolNumber,
    /// Bit 8 clear: the card can change to negotiable mode (after a warm reset); bit 8 set means
    /// it cannot.
    pub can_change: bool,
    /// Bit 5: Fi/Di are implicit (not those of TA1).
    pub implicit_parameters: bool,
}

/// Operating conditions a card accepts (class indicator of the first TA for T=15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardClass {
    /// Class A, 5 V.
    A,
    /// Class B, 3 V.
    B,
    /// Class C, 1.8 V.
    C,
}

/// Why bytes are not a valid ATR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtrError {
    /// Fewer than the two mandatory bytes (TS, T0).
    #[error("the ATR is empty or shorter than TS and T0")]
    TooShort,
    /// TS is neither 0x3B nor 0x3F.
    #[error("TS is 0x{0:02X}; it must be 0x3B (direct) or 0x3F (inverse)")]
    BadTs(u8),
    /// The bytes end before the interface bytes, historical bytes or TCK that T0/TDi announce.
    #[error("the ATR ends after {have} bytes, but its structure announces at least {need}")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes the structure requires.
        need: usize,
    },
    /// More bytes than the structure announces.
    #[error("the ATR has {extra} byte(s) after its end")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// An ATR is at most 33 bytes.
    #[error("the ATR is {0} bytes long; at most 33 are allowed")]
    TooLong(usize),
    /// A protocol other than T=0 is indicated, so TCK must follow the historical bytes, but
    /// the bytes end there.
    #[error("the ATR indicates a protocol other than T=0 but lacks the check byte TCK")]
    MissingTck,
    /// TCK is present and the XOR of T0..TCK is not zero.
    #[error("the check byte TCK is wrong (XOR of T0..TCK is 0x{0:02X}, not 0x00)")]
    BadTck(u8),
}

/// A parsed answer to reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    raw: Vec<u8>,
    groups: Vec<InterfaceGroup>,
    historical: std::ops::Range<usize>,
    tck: Option<u8>,
}

/// The longest ATR ISO 7816-3 allows: TS plus 32 characters.
pub const MAX_ATR_LEN: usize = 33;

/// Protocol number that marks global interface bytes, not a transmission protocol.
const T15: ProtocolNumber = 15;

impl Atr {
    /// Parses an ATR (TS first, nothing before it).
    ///
    /// The structure (T0 and the TDi chain) decides how many bytes there must be; the bytes
    /// must match it exactly, TCK included when a protocol other than T=0 is indicated.
    pub fn parse(bytes: &[u8]) -> Result<Atr, AtrError> {
        let have = bytes.len();
        let (&ts, rest) = bytes.split_first().ok_or(AtrError::TooShort)?;
        if ts != 0x3B && ts != 0x3F {
            return Err(AtrError::BadTs(ts));
        }
        let &t0 = rest.first().ok_or(AtrError::TooShort)?;
        let historical_len = usize::from(t0 & 0x0F);

        let mut groups = Vec::new();
        // Y1 comes from T0; each TDi then carries Y(i+1).
        let mut y = t0 >> 4;
        let mut pos = 2;
        let mut needs_tck = false;
        loop {
            let announced = y.count_ones() as usize;
            let need = pos + announced + historical_len + usize::from(needs_tck);
            if have < pos + announced {
                return Err(AtrError::Truncated { have, need });
            }
            let mut take = |present: bool| -> Option<u8> {
                if !present {
                    return None;
                }
                let byte = bytes.get(pos).copied();
                pos += 1;
                byte
            };
            let group = InterfaceGroup {
                ta: take(y & 0x1 != 0),
                tb: take(y & 0x2 != 0),
                tc: take(y & 0x4 != 0),
                td: take(y & 0x8 != 0),
            };
            groups.push(group);
            match group.td {
                Some(td) => {
                    needs_tck |= td & 0x0F != 0;
                    y = td >> 4;
                }
                None => break,
            }
        }

        let historical = pos..pos + historical_len;
        let end = historical.end + usize::from(needs_tck);
        if have < end {
            if needs_tck && have == historical.end {
                return Err(AtrError::MissingTck);
            }
            return Err(AtrError::Truncated { have, need: end });
        }
        if have > end {
            return Err(AtrError::TrailingBytes { extra: have - end });
        }
        if have > MAX_ATR_LEN {
            return Err(AtrError::TooLong(have));
        }
        let tck = if needs_tck {
            let check = bytes.iter().skip(1).fold(0u8, |acc, byte| acc ^ byte);
            if check != 0 {
                return Err(AtrError::BadTck(check));
            }
            bytes.last().copied()
        } else {
            None
        };
        Ok(Atr {
            raw: bytes.to_vec(),
            groups,
            historical,
            tck,
        })
    }

    /// The ATR's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.raw
    }

    /// From TS.
    pub fn convention(&self) -> Convention {
        match self.raw.first() {
            Some(0x3F) => Convention::Inverse,
            _ => Convention::Direct,
        }
    }

    /// The interface-byte groups in order (group 0 holds TA1, TB1, TC1, TD1).
    ///
    /// There is always at least group 0, possibly with no byte present.
    pub fn interface_groups(&self) -> &[InterfaceGroup] {
        &self.groups
    }

    /// The historical bytes (T0's low nibble gives their count).
    pub fn historical_bytes(&self) -> &[u8] {
        self.raw.get(self.historical.clone()).unwrap_or(&[])
    }

    /// TCK, if present (it is present unless only T=0 is offered).
    pub fn tck(&self) -> Option<u8> {
        self.tck
    }

    /// The protocols offered, in order of the TD bytes, without T=15; `[0]` when no TD1.
    ///
    /// Each protocol appears once. When the TD bytes indicate nothing but T=15 (which ISO
    /// 7816-3 forbids in TD1), T=0 is the offer, as if TD1 were absent.
    pub fn protocols(&self) -> Vec<ProtocolNumber> {
        let mut protocols = Vec::new();
        for protocol in self.groups.iter().filter_map(|g| g.td).map(|td| td & 0x0F) {
            if protocol != T15 && !protocols.contains(&protocol) {
                protocols.push(protocol);
            }
        }
        if protocols.is_empty() {
            protocols.push(0);
        }
        protocols
    }

    /// Whether the ATR offers `protocol`.
    pub fn offers(&self, protocol: Protocol) -> bool {
        self.protocols().contains(&protocol.number())
    }

    /// The protocol used when no PPS is made: the specific mode's, else the first offered.
    pub fn default_protocol(&self) -> ProtocolNumber {
        match self.specific_mode() {
            Some(mode) => mode.protocol,
            None => self.protocols().first().copied().unwrap_or(0),
        }
    }

    /// TA1, if present.
    pub fn ta1(&self) -> Option<u8> {
        self.global(0, |g| g.ta)
    }

    /// The rate index byte to use: TA1, or [`DEFAULT_FI_DI`] (Fi 372, Di 1) when absent.
    pub fn fi_di_index(&self) -> u8 {
        self.ta1().unwrap_or(DEFAULT_FI_DI)
    }

    /// Clock rate conversion integer Fi (372 when TA1 is absent). `None` for a reserved index.
    ///
    /// This is TA1's value even in specific mode with implicit parameters
    /// ([`SpecificMode::implicit_parameters`]); the caller decides what that mode means.
    pub fn fi(&self) -> Option<u16> {
        fi_from_index(self.fi_di_index() >> 4)
    }

    /// Maximum clock frequency in kHz for Fi's index (5000 when TA1 is absent).
    pub fn f_max_khz(&self) -> Option<u32> {
        f_max_khz_from_index(self.fi_di_index() >> 4)
    }

    /// Baud rate adjustment integer Di (1 when TA1 is absent). `None` for a reserved index.
    pub fn di(&self) -> Option<u8> {
        di_from_index(self.fi_di_index() & 0x0F)
    }

    /// Extra guard time integer N (TC1, 0 when absent).
    pub fn extra_guard_time(&self) -> u8 {
        self.global(0, |g| g.tc).unwrap_or(0)
    }

    /// Waiting time integer WI for T=0 (TC2, 10 when absent).
    ///
    /// TC2 = 0x00 is reserved by ISO 7816-3 and would mean no waiting time at all, so it is
    /// read as the default 10 too.
    pub fn t0_wi(&self) -> u8 {
        match self.global(1, |g| g.tc) {
            Some(wi) if wi != 0 => wi,
            _ => 10,
        }
    }

    /// TA2's specific mode, if present.
    pub fn specific_mode(&self) -> Option<SpecificMode> {
        self.global(1, |g| g.ta).map(|ta2| SpecificMode {
            protocol: ta2 & 0x0F,
            can_change: ta2 & 0x80 == 0,
            implicit_parameters: ta2 & 0x10 != 0,
        })
    }

    /// Information field size of the card for T=1 (first TA after a TD announcing T=1; 32 when
    /// absent).
    ///
    /// Only groups 3 and later carry protocol-specific bytes (groups 1 and 2 are global), so
    /// the byte is the first TAi, i > 2, whose TD(i-1) indicates T=1. The reserved values 0x00
    /// and 0xFF also give the default 32.
    pub fn ifsc(&self) -> u8 {
        match self.specific(1, |g| g.ta) {
            Some(ifsc) if ifsc != 0x00 && ifsc != 0xFF => ifsc,
            _ => 32,
        }
    }

    /// Block waiting integer for T=1 (high nibble of the first TB for T=1; 4 when absent).
    ///
    /// Values above 9 are reserved by ISO 7816-3; they are returned as the card sent them.
    pub fn bwi(&self) -> u8 {
        self.specific(1, |g| g.tb).map_or(4, |tb| tb >> 4)
    }

    /// Character waiting integer for T=1 (low nibble of the first TB for T=1; 13 when absent).
    pub fn cwi(&self) -> u8 {
        self.specific(1, |g| g.tb).map_or(13, |tb| tb & 0x0F)
    }

    /// Error detection code for T=1 (first TC for T=1, bit 1; LRC when absent).
    pub fn t1_edc(&self) -> Edc {
        match self.specific(1, |g| g.tc) {
            Some(tc) if tc & 0x01 != 0 => Edc::Crc,
            _ => Edc::Lrc,
        }
    }

    /// Classes (voltages) the card accepts, from the first TA for T=15; empty when absent.
    pub fn classes(&self) -> Vec<CardClass> {
        let Some(ta) = self.specific(T15, |g| g.ta) else {
            return Vec::new();
        };
        [
            (0x01, CardClass::A),
            (0x02, CardClass::B),
            (0x04, CardClass::C),
        ]
        .into_iter()
        .filter(|(bit, _)| ta & bit != 0)
        .map(|(_, class)| class)
        .collect()
    }

    /// A byte of global group `index` (0 for TA1…TD1, 1 for TA2…TD2).
    fn global(&self, index: usize, byte: impl Fn(&InterfaceGroup) -> Option<u8>) -> Option<u8> {
        self.groups.get(index).and_then(byte)
    }

    /// The first byte `byte` picks among the groups specific to `protocol`: group i (i > 2, so
    /// index ≥ 2) whose preceding TD(i-1) indicates that protocol.
    fn specific(
        &self,
        protocol: ProtocolNumber,
        byte: impl Fn(&InterfaceGroup) -> Option<u8>,
    ) -> Option<u8> {
        self.groups.windows(2).skip(1).find_map(|pair| match pair {
            [before, group] if before.td.map(|td| td & 0x0F) == Some(protocol) => byte(group),
            _ => None,
        })
    }
}

/// Fi for a TA1 high nibble (ISO 7816-3 Table 7); `None` for reserved values.
///
/// `index` is the nibble itself (0..=15); larger values are `None`.
pub fn fi_from_index(index: u8) -> Option<u16> {
    Some(match index {
        0x0 | 0x1 => 372,
        0x2 => 558,
        0x3 => 744,
        0x4 => 1116,
        0x5 => 1488,
        0x6 => 1860,
        0x9 => 512,
        0xA => 768,
        0xB => 1024,
        0xC => 1536,
        0xD => 2048,
        _ => return None,
    })
}

/// f(max) in kHz for a TA1 high nibble; `None` for reserved values.
pub fn f_max_khz_from_index(index: u8) -> Option<u32> {
    Some(match index {
        0x0 => 4_000,
        0x1 | 0x9 => 5_000,
        0x2 => 6_000,
        0x3 => 8_000,
        0x4 => 12_000,
        0x5 => 16_000,
        0x6 | 0xD => 20_000,
        0xA => 7_500,
        0xB => 10_000,
        0xC => 15_000,
        _ => return None,
    })
}

/// Di for a TA1 low nibble (ISO 7816-3 Table 8); `None` for reserved values.
pub fn di_from_index(index: u8) -> Option<u8> {
    Some(match index {
        0x1 => 1,
        0x2 => 2,
        0x3 => 4,
        0x4 => 8,
        0x5 => 16,
        0x6 => 32,
        0x7 => 64,
        0x8 => 12,
        0x9 => 20,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Atr, AtrError> {
        Atr::parse(&crate::hex::parse(text).unwrap())
    }

    fn ok(text: &str) -> Atr {
        parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    /// Appends the TCK that makes T0..TCK XOR to zero.
    fn with_tck(mut bytes: Vec<u8>) -> Vec<u8> {
        let tck = bytes.iter().skip(1).fold(0, |acc, b| acc ^ b);
        bytes.push(tck);
        bytes
    }

    const MOICA_GEN1: &str = "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5";
    const MOICA_GEN2: &str = "3B D8 96 00 81 B1 FE 45 1F 07 43 48 54 47 50 4B 49 4A DD";

    #[test]
    fn moica_first_generation() {
        // T0 B8: TA1 TB1 TD1, 8 historical bytes. TD1 81: TD2, T=1. TD2 31: TA3 TB3, T=1.
        let atr = ok(MOICA_GEN1);
        assert_eq!(atr.convention(), Convention::Direct);
        assert_eq!(
            atr.interface_groups(),
            &[
                InterfaceGroup {
                    ta: Some(0x13),
                    tb: Some(0x00),
                    tc: None,
                    td: Some(0x81)
                },
                InterfaceGroup {
                    td: Some(0x31),
                    ..InterfaceGroup::default()
                },
                InterfaceGroup {
                    ta: Some(0xFA),
                    tb: Some(0x52),
                    ..InterfaceGroup::default()
                },
            ]
        );
        assert_eq!(atr.protocols(), vec![1]);
        assert_eq!(atr.default_protocol(), 1);
        assert_eq!(atr.fi_di_index(), 0x13);
        assert_eq!(
            (atr.fi(), atr.di(), atr.f_max_khz()),
            (Some(372), Some(4), Some(5_000))
        );
        assert_eq!(atr.extra_guard_time(), 0);
        assert_eq!(atr.specific_mode(), None);
        assert_eq!((atr.ifsc(), atr.bwi(), atr.cwi()), (250, 5, 2));
        assert_eq!(atr.t1_edc(), Edc::Lrc);
        assert_eq!(atr.classes(), vec![]);
        assert_eq!(atr.historical_bytes(), b"CHTMOICA");
        assert_eq!(atr.tck(), Some(0xA5));
    }

    #[test]
    fn moica_second_generation() {
        // T0 D8: TA1 TC1 TD1. TD1 81: TD2, T=1. TD2 B1: TA3 TB3 TD3, T=1. TD3 1F: TA4, T=15.
        let atr = ok(MOICA_GEN2);
        assert_eq!(atr.protocols(), vec![1]);
        assert_eq!(atr.default_protocol(), 1);
        assert_eq!(
            (atr.fi(), atr.di(), atr.f_max_khz()),
            (Some(512), Some(32), Some(5_000))
        );
        assert_eq!(atr.extra_guard_time(), 0);
        assert_eq!((atr.ifsc(), atr.bwi(), atr.cwi()), (254, 4, 5));
        assert_eq!(atr.t1_edc(), Edc::Lrc);
        assert_eq!(
            atr.classes(),
            vec![CardClass::A, CardClass::B, CardClass::C]
        );
        assert_eq!(atr.historical_bytes(), b"CHTGPKIJ");
        assert_eq!(atr.tck(), Some(0xDD));
    }

    #[test]
    fn structure_and_derived_values() {
        struct Case {
            atr: &'static str,
            protocols: &'static [ProtocolNumber],
            default_protocol: ProtocolNumber,
            tck: Option<u8>,
            historical: &'static [u8],
        }
        let cases = [
            // No TD1: only T=0, so no TCK.
            Case {
                atr: "3B 02 14 50",
                protocols: &[0],
                default_protocol: 0,
                tck: None,
                historical: &[0x14, 0x50],
            },
            // Inverse convention, TB1 TC1, five historical bytes.
            Case {
                atr: "3F 65 25 00 2C 09 69 90 00",
                protocols: &[0],
                default_protocol: 0,
                tck: None,
                historical: &[0x2C, 0x09, 0x69, 0x90, 0x00],
            },
            // TD1 T=0 then TD2 T=1: both offered, T=0 first; TCK present.
            Case {
                atr: "3B 80 80 01 01",
                protocols: &[0, 1],
                default_protocol: 0,
                tck: Some(0x01),
                historical: &[],
            },
            // Only T=0 and T=15: T=15 is no protocol, but it still requires TCK.
            Case {
                atr: "3B 80 80 1F 03 1C",
                protocols: &[0],
                default_protocol: 0,
                tck: Some(0x1C),
                historical: &[],
            },
            // TD1 90: TA2 and TD2, T=0; TA2 01: specific mode T=1; TD2 01: T=1. The specific
            // mode goes before the first offer.
            Case {
                atr: "3B 80 90 01 01 10",
                protocols: &[0, 1],
                default_protocol: 1,
                tck: Some(0x10),
                historical: &[],
            },
        ];
        for case in cases {
            let atr = ok(case.atr);
            assert_eq!(atr.protocols(), case.protocols, "{}", case.atr);
            assert_eq!(
                atr.default_protocol(),
                case.default_protocol,
                "{}",
                case.atr
            );
            assert_eq!(atr.tck(), case.tck, "{}", case.atr);
            assert_eq!(atr.historical_bytes(), case.historical, "{}", case.atr);
        }
        assert_eq!(
            ok("3F 65 25 00 2C 09 69 90 00").convention(),
            Convention::Inverse
        );
    }

    #[test]
    fn defaults_when_bytes_are_absent() {
        let atr = ok("3B 00");
        assert_eq!(atr.interface_groups(), &[InterfaceGroup::default()]);
        assert_eq!(atr.ta1(), None);
        assert_eq!(atr.fi_di_index(), DEFAULT_FI_DI);
        assert_eq!(
            (atr.fi(), atr.di(), atr.f_max_khz()),
            (Some(372), Some(1), Some(5_000))
        );
        assert_eq!(atr.extra_guard_time(), 0);
        assert_eq!(atr.t0_wi(), 10);
        assert_eq!(atr.specific_mode(), None);
        assert_eq!((atr.ifsc(), atr.bwi(), atr.cwi()), (32, 4, 13));
        assert_eq!(atr.t1_edc(), Edc::Lrc);
        assert_eq!(atr.classes(), vec![]);
        assert_eq!(atr.historical_bytes(), b"");
        assert_eq!(atr.tck(), None);
    }

    #[test]
    fn global_bytes() {
        // TC1 FF: N = 255.
        assert_eq!(ok("3B 40 FF").extra_guard_time(), 255);
        // TD1 40: TC2 = 14, WI 20 for T=0.
        assert_eq!(ok("3B 80 40 14").t0_wi(), 20);
        // TC2 = 00 is reserved: the default.
        assert_eq!(ok("3B 80 40 00").t0_wi(), 10);
        // TA1 70: reserved Fi index 7 and Di index 0.
        let reserved = ok("3B 10 70");
        assert_eq!(
            (reserved.fi(), reserved.di(), reserved.f_max_khz()),
            (None, None, None)
        );
    }

    #[test]
    fn specific_mode_from_ta2() {
        let cases: [(&str, SpecificMode); 2] = [
            // TA2 81: bit 8 set, cannot change; parameters from TA1.
            (
                "3B 90 96 11 81 96",
                SpecificMode {
                    protocol: 1,
                    can_change: false,
                    implicit_parameters: false,
                },
            ),
            // TA2 10: bit 8 clear, can change; bit 5 set, implicit parameters; T=0.
            (
                "3B 80 10 10",
                SpecificMode {
                    protocol: 0,
                    can_change: true,
                    implicit_parameters: true,
                },
            ),
        ];
        for (text, mode) in cases {
            assert_eq!(ok(text).specific_mode(), Some(mode), "{text}");
        }
    }

    #[test]
    fn t1_bytes_come_from_groups_after_a_td_indicating_t1_from_group_3_on() {
        // TD1 91: TA2 (specific mode, not IFSC) and TD2, T=1. TD2 11: TA3 = 80, IFSC 128.
        let atr = ok("3B 80 91 01 11 80 81");
        assert_eq!(atr.ifsc(), 128);
        assert_eq!(atr.specific_mode().map(|m| m.protocol), Some(1));
        // TD2 41: TC3 = 01, CRC.
        assert_eq!(ok("3B 80 81 41 01 41").t1_edc(), Edc::Crc);
        // Bytes after a TD for T=0 or T=15 are not T=1's: TD2 10 (TA3 for T=0).
        assert_eq!(ok("3B 80 81 10 FE EF").ifsc(), 32);
        // Reserved IFSC values give the default.
        assert_eq!(ok("3B 80 81 11 FF EF").ifsc(), 32);
        assert_eq!(ok("3B 80 81 11 00 10").ifsc(), 32);
        // The first TA for T=1 may be in a later T=1 group: TD2 81 (no TA3), TD3 11: TA4 = 40.
        assert_eq!(ok("3B 80 81 81 11 40 D1").ifsc(), 64);
    }

    #[test]
    fn classes_from_the_first_ta_for_t15() {
        let cases: [(&str, &[CardClass]); 4] = [
            ("3B 80 80 1F 01 1E", &[CardClass::A]),
            ("3B 80 80 1F 02 1D", &[CardClass::B]),
            ("3B 80 80 1F 06 19", &[CardClass::B, CardClass::C]),
            // Clock stop bits (7, 8) are no class.
            ("3B 80 80 1F C4 DB", &[CardClass::C]),
        ];
        for (text, classes) in cases {
            assert_eq!(ok(text).classes(), classes, "{text}");
        }
    }

    #[test]
    fn refusals() {
        let cases: [(&str, AtrError); 13] = [
            ("", AtrError::TooShort),
            ("3B", AtrError::TooShort),
            ("3F", AtrError::TooShort),
            ("00 00", AtrError::BadTs(0x00)),
            // The inverse TS read in direct convention.
            ("03 00", AtrError::BadTs(0x03)),
            // TD1 announced, absent.
            ("3B 80", AtrError::Truncated { have: 2, need: 3 }),
            // Fifteen historical bytes announced, one present.
            ("3B 0F 00", AtrError::Truncated { have: 3, need: 17 }),
            // MOICA cut inside its historical bytes.
            (
                "3B B8 13 00 81 31 FA 52 43 48",
                AtrError::Truncated { have: 10, need: 17 },
            ),
            // MOICA without TCK.
            (
                "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41",
                AtrError::MissingTck,
            ),
            // MOICA with a wrong TCK.
            (
                "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A4",
                AtrError::BadTck(0x01),
            ),
            // A T=0-only ATR has no TCK, so a byte after its historical bytes is extra.
            ("3B 00 00", AtrError::TrailingBytes { extra: 1 }),
            ("3B 02 14 50 11", AtrError::TrailingBytes { extra: 1 }),
            (
                "3B B8 13 00 81 31 FA 52 43 48 54 4D 4F 49 43 41 A5 00 00",
                AtrError::TrailingBytes { extra: 2 },
            ),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text), Err(error), "{text}");
        }
    }

    #[test]
    fn at_most_33_bytes() {
        // TS T0 (all of group 1, 15 historical bytes), groups 2 and 3 full for T=1, group 4
        // full ending the chain: 2 + 16 + 15 + TCK = 34 bytes.
        let mut bytes = vec![0x3B, 0xFF, 0x11, 0x00, 0x00, 0xF1, 0xFE, 0x45, 0x00, 0xF1];
        bytes.extend([0x00, 0x00, 0x00, 0xF1, 0x00, 0x00, 0x00, 0x01]);
        bytes.extend([0x41; 15]);
        let bytes = with_tck(bytes);
        assert_eq!(bytes.len(), 34);
        assert_eq!(Atr::parse(&bytes), Err(AtrError::TooLong(34)));
        // Without group 4 (TD3 = 01, no bytes after it) it is 30 bytes, and fine.
        let mut bytes = vec![0x3B, 0xFF, 0x11, 0x00, 0x00, 0xF1, 0xFE, 0x45, 0x00, 0xF1];
        bytes.extend([0x00, 0x00, 0x00, 0x01]);
        bytes.extend([0x41; 15]);
        let bytes = with_tck(bytes);
        assert_eq!(bytes.len(), 30);
        assert!(Atr::parse(&bytes).is_ok());
    }

    #[test]
    fn rate_tables() {
        // Index → (Fi, f(max) kHz), ISO 7816-3 Table 7.
        let fi: [(u8, Option<(u16, u32)>); 17] = [
            (0x0, Some((372, 4_000))),
            (0x1, Some((372, 5_000))),
            (0x2, Some((558, 6_000))),
            (0x3, Some((744, 8_000))),
            (0x4, Some((1116, 12_000))),
            (0x5, Some((1488, 16_000))),
            (0x6, Some((1860, 20_000))),
            (0x7, None),
            (0x8, None),
            (0x9, Some((512, 5_000))),
            (0xA, Some((768, 7_500))),
            (0xB, Some((1024, 10_000))),
            (0xC, Some((1536, 15_000))),
            (0xD, Some((2048, 20_000))),
            (0xE, None),
            (0xF, None),
            (0x10, None),
        ];
        for (index, expected) in fi {
            let got = fi_from_index(index).zip(f_max_khz_from_index(index));
            assert_eq!(got, expected, "Fi index {index:X}");
            assert_eq!(fi_from_index(index).is_some(), expected.is_some());
            assert_eq!(f_max_khz_from_index(index).is_some(), expected.is_some());
        }
        // Index → Di, Table 8.
        let di: [(u8, Option<u8>); 17] = [
            (0x0, None),
            (0x1, Some(1)),
            (0x2, Some(2)),
            (0x3, Some(4)),
            (0x4, Some(8)),
            (0x5, Some(16)),
            (0x6, Some(32)),
            (0x7, Some(64)),
            (0x8, Some(12)),
            (0x9, Some(20)),
            (0xA, None),
            (0xB, None),
            (0xC, None),
            (0xD, None),
            (0xE, None),
            (0xF, None),
            (0x10, None),
        ];
        for (index, expected) in di {
            assert_eq!(di_from_index(index), expected, "Di index {index:X}");
        }
    }
}
