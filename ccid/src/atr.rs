//! The answer to reset (ISO/IEC 7816-3 §8): parsing and the parameters derived from it.
//!
//! SKELETON: bodies are filled in by the ATR work; signatures are the contract with the rest of
//! the crate.

/// A transmission protocol `T=n` as the ATR offers it (TD's low nibble).
pub type Protocol = u8;

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
    pub protocol: Protocol,
    /// Bit 8: the card can change to negotiable mode (after a warm reset).
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
    /// TCK is present and the XOR of T0..TCK is not zero.
    #[error("the check byte TCK is wrong (XOR of T0..TCK is 0x{0:02X}, not 0x00)")]
    BadTck(u8),
}

/// A parsed answer to reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atr {
    raw: Vec<u8>,
}

impl Atr {
    /// Parses an ATR (TS first, nothing before it).
    pub fn parse(bytes: &[u8]) -> Result<Atr, AtrError> {
        let _ = bytes;
        todo!("ATR parser")
    }

    /// The ATR's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.raw
    }

    /// From TS.
    pub fn convention(&self) -> Convention {
        todo!()
    }

    /// The interface-byte groups in order (group 0 holds TA1, TB1, TC1, TD1).
    pub fn interface_groups(&self) -> &[InterfaceGroup] {
        todo!()
    }

    /// The historical bytes (T0's low nibble gives their count).
    pub fn historical_bytes(&self) -> &[u8] {
        todo!()
    }

    /// TCK, if present (it is present unless only T=0 is offered).
    pub fn tck(&self) -> Option<u8> {
        todo!()
    }

    /// The protocols offered, in order of the TD bytes, without T=15; `[0]` when no TD1.
    pub fn protocols(&self) -> Vec<Protocol> {
        todo!()
    }

    /// The protocol used when no PPS is made: the specific mode's, else the first offered.
    pub fn default_protocol(&self) -> Protocol {
        todo!()
    }

    /// TA1, if present.
    pub fn ta1(&self) -> Option<u8> {
        todo!()
    }

    /// The rate index byte to use: TA1, or 0x11 (Fi 372, Di 1) when absent.
    pub fn fi_di_index(&self) -> u8 {
        todo!()
    }

    /// Clock rate conversion integer Fi (372 when TA1 is absent). `None` for a reserved index.
    pub fn fi(&self) -> Option<u16> {
        todo!()
    }

    /// Maximum clock frequency in kHz for Fi's index (5000 when TA1 is absent).
    pub fn f_max_khz(&self) -> Option<u32> {
        todo!()
    }

    /// Baud rate adjustment integer Di (1 when TA1 is absent). `None` for a reserved index.
    pub fn di(&self) -> Option<u8> {
        todo!()
    }

    /// Extra guard time integer N (TC1, 0 when absent).
    pub fn extra_guard_time(&self) -> u8 {
        todo!()
    }

    /// Waiting time integer WI for T=0 (TC2, 10 when absent).
    pub fn t0_wi(&self) -> u8 {
        todo!()
    }

    /// TA2's specific mode, if present.
    pub fn specific_mode(&self) -> Option<SpecificMode> {
        todo!()
    }

    /// Information field size of the card for T=1 (first TA after a TD announcing T=1; 32 when
    /// absent).
    pub fn ifsc(&self) -> u8 {
        todo!()
    }

    /// Block waiting integer for T=1 (high nibble of the first TB for T=1; 4 when absent).
    pub fn bwi(&self) -> u8 {
        todo!()
    }

    /// Character waiting integer for T=1 (low nibble of the first TB for T=1; 13 when absent).
    pub fn cwi(&self) -> u8 {
        todo!()
    }

    /// Error detection code for T=1 (first TC for T=1, bit 1; LRC when absent).
    pub fn t1_edc(&self) -> Edc {
        todo!()
    }

    /// Classes (voltages) the card accepts, from the first TA for T=15; empty when absent.
    pub fn classes(&self) -> Vec<CardClass> {
        todo!()
    }
}

/// Fi for a TA1 high nibble (ISO 7816-3 Table 7); `None` for reserved values.
pub fn fi_from_index(index: u8) -> Option<u16> {
    let _ = index;
    todo!()
}

/// f(max) in kHz for a TA1 high nibble; `None` for reserved values.
pub fn f_max_khz_from_index(index: u8) -> Option<u32> {
    let _ = index;
    todo!()
}

/// Di for a TA1 low nibble (ISO 7816-3 Table 8); `None` for reserved values.
pub fn di_from_index(index: u8) -> Option<u8> {
    let _ = index;
    todo!()
}
