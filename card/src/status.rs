//! Status words (ISO/IEC 7816-4 §5.1.3) with the meanings the citizen card gives them, and the
//! response APDU they end.

use std::fmt;

/// What a status word means, for the ones the citizen card's profile uses; anything else is
/// [`Meaning::Other`] and keeps its bytes in the [`StatusWord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Meaning {
    /// `9000`: done.
    Success,
    /// `61xx`: more response bytes wait for GET RESPONSE (a T=0 reader driver handles it).
    MoreData(u8),
    /// `6282`: the file ended before the bytes asked for.
    EndOfFile,
    /// `63Cx`: wrong PIN, `x` tries left (`63C0` is the last try spent).
    WrongPin {
        /// Tries left.
        tries_left: u8,
    },
    /// `6581`: the card's memory failed (a write did not take).
    MemoryFailure,
    /// `6700`: Lc or Le is wrong for this command.
    WrongLength,
    /// `6982`: security status not satisfied — the PIN was not verified in this session.
    SecurityNotSatisfied,
    /// `6983`: the PIN is blocked (no tries left).
    PinLocked,
    /// `6985`: conditions of use not satisfied (e.g. GET RESULT with nothing pending).
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (e.g. no current elementary file).
    CommandNotAllowed,
    /// `6A80`: the data field is wrong.
    WrongData,
    /// `6A81`: function not supported.
    FunctionNotSupported,
    /// `6A82`: file not found.
    FileNotFound,
    /// `6A86`: P1-P2 are wrong.
    WrongParameters,
    /// `6A88`: the referenced data (e.g. a key) is not found.
    ReferenceNotFound,
    /// `6B00`: the offset is beyond the file.
    WrongOffset,
    /// `6Cxx`: wrong Le; the card has `xx` bytes.
    WrongLe(u8),
    /// `6D00`: the instruction is not supported.
    InstructionNotSupported,
    /// `6E00`: the class byte is not supported (the first generation answers this to CLA 00).
    ClassNotSupported,
    /// `6F00`: the card failed without saying why.
    Unknown,
    /// Any other status word.
    Other,
}

/// SW1-SW2 of a response APDU.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// `6982`.
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// `6983`.
    pub const PIN_LOCKED: StatusWord = StatusWord(0x6983);
    /// `6985`.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// `6986`.
    pub const COMMAND_NOT_ALLOWED: StatusWord = StatusWord(0x6986);
    /// `6700`.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// `6A80`.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// `6A82`.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// `6A86`.
    pub const WRONG_PARAMETERS: StatusWord = StatusWord(0x6A86);
    /// `6A88`.
    pub const REFERENCE_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// `6B00`.
    pub const WRONG_OFFSET: StatusWord = StatusWord(0x6B00);
    /// `6D00`.
    pub const INSTRUCTION_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// `6E00`.
    pub const CLASS_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);

    /// From SW1 and SW2.
    pub fn new(sw1: u8, sw2: u8) -> StatusWord {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// `63Cx`: wrong PIN with `x` tries left.
    pub fn wrong_pin(tries_left: u8) -> StatusWord {
        StatusWord::new(0x63, 0xC0 | (tries_left & 0x0F))
    }

    /// SW1 and SW2.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// Whether the command succeeded (`9000`).
    pub fn is_success(self) -> bool {
        self == StatusWord::SUCCESS
    }

    /// The meaning this status word has for the citizen card.
    pub fn meaning(self) -> Meaning {
        let [sw1, sw2] = self.to_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Meaning::Success,
            (0x61, n) => Meaning::MoreData(n),
            (0x62, 0x82) => Meaning::EndOfFile,
            (0x63, n) if n & 0xF0 == 0xC0 => Meaning::WrongPin {
                tries_left: n & 0x0F,
            },
            (0x65, 0x81) => Meaning::MemoryFailure,
            (0x67, 0x00) => Meaning::WrongLength,
            (0x69, 0x82) => Meaning::SecurityNotSatisfied,
            (0x69, 0x83) => Meaning::PinLocked,
            (0x69, 0x85) => Meaning::ConditionsNotSatisfied,
            (0x69, 0x86) => Meaning::CommandNotAllowed,
            (0x6A, 0x80) => Meaning::WrongData,
            (0x6A, 0x81) => Meaning::FunctionNotSupported,
            (0x6A, 0x82) => Meaning::FileNotFound,
            (0x6A, 0x86) => Meaning::WrongParameters,
            (0x6A, 0x88) => Meaning::ReferenceNotFound,
            (0x6B, 0x00) => Meaning::WrongOffset,
            (0x6C, n) => Meaning::WrongLe(n),
            (0x6D, 0x00) => Meaning::InstructionNotSupported,
            (0x6E, 0x00) => Meaning::ClassNotSupported,
            (0x6F, 0x00) => Meaning::Unknown,
            _ => Meaning::Other,
        }
    }

    fn description(self) -> String {
        match self.meaning() {
            Meaning::Success => "success".into(),
            Meaning::MoreData(n) => format!("{n} more response bytes available"),
            Meaning::EndOfFile => "end of file reached before the bytes asked for".into(),
            Meaning::WrongPin { tries_left } => format!("wrong PIN, {tries_left} tries left"),
            Meaning::MemoryFailure => "memory failure".into(),
            Meaning::WrongLength => "wrong length".into(),
            Meaning::SecurityNotSatisfied => "PIN not verified".into(),
            Meaning::PinLocked => "PIN locked".into(),
            Meaning::ConditionsNotSatisfied => "conditions of use not satisfied".into(),
            Meaning::CommandNotAllowed => "command not allowed (no current file)".into(),
            Meaning::WrongData => "wrong data".into(),
            Meaning::FunctionNotSupported => "function not supported".into(),
            Meaning::FileNotFound => "file not found".into(),
            Meaning::WrongParameters => "wrong parameters P1-P2".into(),
            Meaning::ReferenceNotFound => "referenced data not found".into(),
            Meaning::WrongOffset => "offset beyond the file".into(),
            Meaning::WrongLe(n) => format!("wrong Le, {n} bytes available"),
            Meaning::InstructionNotSupported => "instruction not supported".into(),
            Meaning::ClassNotSupported => "class not supported".into(),
            Meaning::Unknown => "unknown card error".into(),
            Meaning::Other => "unknown status".into(),
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X} {:?})", self.0, self.meaning())
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.description())
    }
}

/// A response APDU: the data field and the status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The data field (may be empty).
    pub data: Vec<u8>,
    /// SW1-SW2.
    pub status: StatusWord,
}

impl Response {
    /// Splits response bytes into data and status word; `None` when there is no status word.
    pub fn parse(mut bytes: Vec<u8>) -> Option<Response> {
        let data_length = bytes.len().checked_sub(2)?;
        let sw = bytes.split_off(data_length);
        let [sw1, sw2] = <[u8; 2]>::try_from(sw).ok()?;
        Some(Response {
            data: bytes,
            status: StatusWord::new(sw1, sw2),
        })
    }
}

impl fmt::Debug for Response {
    // The data may be a certificate or a signature; logs get its length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data_length", &self.data.len())
            .field("status", &self.status)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_of_the_profile_have_named_meanings() {
        let table = [
            (0x9000, Meaning::Success),
            (0x6A82, Meaning::FileNotFound),
            (0x6B00, Meaning::WrongOffset),
            (0x63C2, Meaning::WrongPin { tries_left: 2 }),
            (0x63C0, Meaning::WrongPin { tries_left: 0 }),
            (0x6983, Meaning::PinLocked),
            (0x6985, Meaning::ConditionsNotSatisfied),
            (0x6982, Meaning::SecurityNotSatisfied),
            (0x6E00, Meaning::ClassNotSupported),
            (0x6D00, Meaning::InstructionNotSupported),
            (0x6700, Meaning::WrongLength),
            (0x6C10, Meaning::WrongLe(0x10)),
            (0x6310, Meaning::Other),
        ];
        for (sw, meaning) in table {
            assert_eq!(StatusWord(sw).meaning(), meaning, "{sw:04X}");
        }
        assert_eq!(StatusWord::wrong_pin(1), StatusWord(0x63C1));
        assert_eq!(StatusWord(0x6982).to_string(), "6982 (PIN not verified)");
    }

    #[test]
    fn a_response_needs_a_status_word() {
        assert_eq!(Response::parse(vec![0x90]), None);
        let response = Response::parse(vec![1, 2, 0x90, 0x00]);
        assert_eq!(
            response,
            Some(Response {
                data: vec![1, 2],
                status: StatusWord::SUCCESS
            })
        );
    }
}
