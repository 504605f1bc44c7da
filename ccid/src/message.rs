//! CCID messages (CCID rev 1.1 §6): the bulk-OUT commands, the bulk-IN replies, the
//! interrupt-IN notifications and the class-specific control requests.
//!
//! Every bulk message has a 10-byte header: `bMessageType`, `dwLength` (bytes after the header),
//! `bSlot`, `bSeq` and three message-specific bytes. Encoding and decoding take a [`Dialect`]
//! because some readers send `dwLength` big-endian.

use crate::protocol::Protocol;
use crate::quirks::Dialect;
use crate::transport::ControlSetup;

/// Length of every bulk message header.
pub const HEADER_LENGTH: usize = 10;

/// Message types of commands (PC_to_RDR).
pub mod command_type {
    #![allow(missing_docs)]
    pub const ICC_POWER_ON: u8 = 0x62;
    pub const ICC_POWER_OFF: u8 = 0x63;
    pub const GET_SLOT_STATUS: u8 = 0x65;
    pub const XFR_BLOCK: u8 = 0x6F;
    pub const GET_PARAMETERS: u8 = 0x6C;
    pub const RESET_PARAMETERS: u8 = 0x6D;
    pub const SET_PARAMETERS: u8 = 0x61;
    pub const ESCAPE: u8 = 0x6B;
    pub const ICC_CLOCK: u8 = 0x6E;
    pub const T0_APDU: u8 = 0x6A;
    pub const SECURE: u8 = 0x69;
    pub const MECHANICAL: u8 = 0x71;
    pub const ABORT: u8 = 0x72;
    pub const SET_DATA_RATE_AND_CLOCK: u8 = 0x73;
}

/// Message types of replies (RDR_to_PC) and notifications.
pub mod reply_type {
    #![allow(missing_docs)]
    pub const DATA_BLOCK: u8 = 0x80;
    pub const SLOT_STATUS: u8 = 0x81;
    pub const PARAMETERS: u8 = 0x82;
    pub const ESCAPE: u8 = 0x83;
    pub const DATA_RATE_AND_CLOCK: u8 = 0x84;
    pub const NOTIFY_SLOT_CHANGE: u8 = 0x50;
    pub const HARDWARE_ERROR: u8 = 0x51;
}

/// `bPowerSelect` of PC_to_RDR_IccPowerOn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerSelect {
    /// 0x00: the reader chooses.
    Automatic,
    /// 0x01.
    V5_0,
    /// 0x02.
    V3_0,
    /// 0x03.
    V1_8,
}

impl PowerSelect {
    fn byte(self) -> u8 {
        match self {
            PowerSelect::Automatic => 0,
            PowerSelect::V5_0 => 1,
            PowerSelect::V3_0 => 2,
            PowerSelect::V1_8 => 3,
        }
    }

    fn from_byte(byte: u8) -> Option<PowerSelect> {
        Some(match byte {
            0 => PowerSelect::Automatic,
            1 => PowerSelect::V5_0,
            2 => PowerSelect::V3_0,
            3 => PowerSelect::V1_8,
            _ => return None,
        })
    }
}

/// The protocol data structure of SetParameters / RDR_to_PC_Parameters (CCID §6.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolParameters {
    /// T=0: five bytes.
    T0 {
        /// `bmFindexDindex` (TA1 format).
        fi_di: u8,
        /// `bmTCCKST0`: bit 1 is the convention (1 = inverse).
        tcckst: u8,
        /// `bGuardTimeT0` (TC1).
        guard_time: u8,
        /// `bWaitingIntegerT0` (WI, TC2).
        waiting_integer: u8,
        /// `bClockStop`.
        clock_stop: u8,
    },
    /// T=1: seven bytes.
    T1 {
        /// `bmFindexDindex` (TA1 format).
        fi_di: u8,
        /// `bmTCCKST1`: 0x10 | bit 1 convention | bit 0 CRC.
        tcckst: u8,
        /// `bGuardTimeT1` (TC1).
        guard_time: u8,
        /// `bmWaitingIntegersT1`: BWI in the high nibble, CWI in the low.
        waiting_integers: u8,
        /// `bClockStop`.
        clock_stop: u8,
        /// `bIFSC`.
        ifsc: u8,
        /// `bNadValue`.
        nad: u8,
    },
}

impl ProtocolParameters {
    /// The protocol the structure is for (`bProtocolNum`).
    pub fn protocol(&self) -> Protocol {
        match self {
            ProtocolParameters::T0 { .. } => Protocol::T0,
            ProtocolParameters::T1 { .. } => Protocol::T1,
        }
    }

    /// The Fi/Di index byte.
    pub fn fi_di(&self) -> u8 {
        match *self {
            ProtocolParameters::T0 { fi_di, .. } | ProtocolParameters::T1 { fi_di, .. } => fi_di,
        }
    }

    fn to_bytes(self) -> Vec<u8> {
        match self {
            ProtocolParameters::T0 {
                fi_di,
                tcckst,
                guard_time,
                waiting_integer,
                clock_stop,
            } => vec![fi_di, tcckst, guard_time, waiting_integer, clock_stop],
            ProtocolParameters::T1 {
                fi_di,
                tcckst,
                guard_time,
                waiting_integers,
                clock_stop,
                ifsc,
                nad,
            } => vec![
                fi_di,
                tcckst,
                guard_time,
                waiting_integers,
                clock_stop,
                ifsc,
                nad,
            ],
        }
    }

    /// Reads the structure for `protocol` from its bytes.
    pub fn from_bytes(protocol: u8, data: &[u8]) -> Result<ProtocolParameters, MessageError> {
        match (protocol, data) {
            (0, &[fi_di, tcckst, guard_time, waiting_integer, clock_stop]) => {
                Ok(ProtocolParameters::T0 {
                    fi_di,
                    tcckst,
                    guard_time,
                    waiting_integer,
                    clock_stop,
                })
            }
            (1, &[fi_di, tcckst, guard_time, waiting_integers, clock_stop, ifsc, nad]) => {
                Ok(ProtocolParameters::T1 {
                    fi_di,
                    tcckst,
                    guard_time,
                    waiting_integers,
                    clock_stop,
                    ifsc,
                    nad,
                })
            }
            (0 | 1, _) => Err(MessageError::BadParameters {
                protocol,
                length: data.len(),
            }),
            _ => Err(MessageError::UnknownProtocol(protocol)),
        }
    }
}

/// A command to the reader (PC_to_RDR_*), without slot and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Activates the card and returns its ATR.
    IccPowerOn(PowerSelect),
    /// Deactivates the card.
    IccPowerOff,
    /// Asks for the slot's status.
    GetSlotStatus,
    /// Carries a block (TPDU, APDU, or a part of a chained APDU) to the card.
    XfrBlock {
        /// `bBWI`: multiplies the block waiting time for this transfer (T=1 WTX).
        bwi: u8,
        /// `wLevelParameter`: APDU chaining state for extended-APDU readers, else 0.
        level: u16,
        /// The bytes for the card.
        data: Vec<u8>,
    },
    /// Asks for the current protocol parameters.
    GetParameters,
    /// Returns the parameters to their defaults.
    ResetParameters,
    /// Sets the protocol and its parameters.
    SetParameters(ProtocolParameters),
    /// A vendor-specific command.
    Escape(Vec<u8>),
    /// PIN entry on the reader's keypad; `data` starts with `bPINOperation`.
    Secure {
        /// `bBWI`.
        bwi: u8,
        /// `wLevelParameter`.
        level: u16,
        /// `bPINOperation` and the PIN verification or modification structure.
        data: Vec<u8>,
    },
    /// Ends the command the matching ABORT class request announced.
    Abort,
}

impl Command {
    /// The message type byte.
    pub fn message_type(&self) -> u8 {
        use command_type::*;
        match self {
            Command::IccPowerOn(_) => ICC_POWER_ON,
            Command::IccPowerOff => ICC_POWER_OFF,
            Command::GetSlotStatus => GET_SLOT_STATUS,
            Command::XfrBlock { .. } => XFR_BLOCK,
            Command::GetParameters => GET_PARAMETERS,
            Command::ResetParameters => RESET_PARAMETERS,
            Command::SetParameters(_) => SET_PARAMETERS,
            Command::Escape(_) => ESCAPE,
            Command::Secure { .. } => SECURE,
            Command::Abort => ABORT,
        }
    }

    /// Overwrites the data this command carries (an APDU may hold a PIN) with zeros.
    pub fn wipe(&mut self) {
        use zeroize::Zeroize;
        match self {
            Command::XfrBlock { data, .. }
            | Command::Secure { data, .. }
            | Command::Escape(data) => data.zeroize(),
            _ => {}
        }
    }

    /// The whole message for `slot` with sequence number `seq`.
    pub fn encode(&self, slot: u8, seq: u8, dialect: Dialect) -> Vec<u8> {
        let (specific, data): ([u8; 3], &[u8]) = match self {
            Command::IccPowerOn(power) => ([power.byte(), 0, 0], &[]),
            Command::XfrBlock { bwi, level, data } | Command::Secure { bwi, level, data } => {
                let [lo, hi] = level.to_le_bytes();
                ([*bwi, lo, hi], data)
            }
            Command::Escape(data) => ([0; 3], data),
            Command::SetParameters(params) => {
                let bytes = params.to_bytes();
                return frame(
                    self.message_type(),
                    slot,
                    seq,
                    [params.protocol().number(), 0, 0],
                    &bytes,
                    dialect,
                );
            }
            _ => ([0; 3], &[]),
        };
        frame(self.message_type(), slot, seq, specific, data, dialect)
    }

    /// Reads a command message (the simulated reader's side). Returns slot, sequence number and
    /// the command.
    pub fn decode(bytes: &[u8], dialect: Dialect) -> Result<(u8, u8, Command), MessageError> {
        let (header, data) = split(bytes, dialect)?;
        let level = u16::from_le_bytes([header.specific[1], header.specific[2]]);
        let empty = |command: Command| {
            if data.is_empty() {
                Ok(command)
            } else {
                Err(MessageError::UnexpectedData(header.message_type))
            }
        };
        use command_type::*;
        let command = match header.message_type {
            ICC_POWER_ON => empty(Command::IccPowerOn(
                PowerSelect::from_byte(header.specific[0])
                    .ok_or(MessageError::BadPowerSelect(header.specific[0]))?,
            ))?,
            ICC_POWER_OFF => empty(Command::IccPowerOff)?,
            GET_SLOT_STATUS => empty(Command::GetSlotStatus)?,
            GET_PARAMETERS => empty(Command::GetParameters)?,
            RESET_PARAMETERS => empty(Command::ResetParameters)?,
            ABORT => empty(Command::Abort)?,
            XFR_BLOCK => Command::XfrBlock {
                bwi: header.specific[0],
                level,
                data: data.to_vec(),
            },
            SECURE => Command::Secure {
                bwi: header.specific[0],
                level,
                data: data.to_vec(),
            },
            ESCAPE => Command::Escape(data.to_vec()),
            SET_PARAMETERS => {
                Command::SetParameters(ProtocolParameters::from_bytes(header.specific[0], data)?)
            }
            other => return Err(MessageError::UnknownMessageType(other)),
        };
        Ok((header.slot, header.seq, command))
    }
}

/// `bmICCStatus`: the card's presence and activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IccStatus {
    /// Present and active (powered).
    Active,
    /// Present, not active.
    Inactive,
    /// No card in the slot.
    Absent,
}

/// `bmCommandStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    /// Processed without error.
    Ok,
    /// Failed; `bError` says why.
    Failed,
    /// The reader needs more time; `bError` is the BWT multiplier it asks for.
    TimeExtension,
}

/// The `bStatus` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotState {
    /// The card.
    pub icc: IccStatus,
    /// The command.
    pub command: CommandStatus,
}

impl SlotState {
    /// Reads `bStatus`; the reserved value 3 in either field is a malformed reply.
    pub fn from_byte(byte: u8) -> Result<SlotState, MessageError> {
        let icc = match byte & 0x03 {
            0 => IccStatus::Active,
            1 => IccStatus::Inactive,
            2 => IccStatus::Absent,
            _ => return Err(MessageError::BadStatus(byte)),
        };
        let command = match byte >> 6 {
            0 => CommandStatus::Ok,
            1 => CommandStatus::Failed,
            2 => CommandStatus::TimeExtension,
            _ => return Err(MessageError::BadStatus(byte)),
        };
        if byte & 0x3C != 0 {
            return Err(MessageError::BadStatus(byte));
        }
        Ok(SlotState { icc, command })
    }

    /// `bStatus`.
    pub fn to_byte(self) -> u8 {
        let icc = match self.icc {
            IccStatus::Active => 0,
            IccStatus::Inactive => 1,
            IccStatus::Absent => 2,
        };
        let command = match self.command {
            CommandStatus::Ok => 0,
            CommandStatus::Failed => 1,
            CommandStatus::TimeExtension => 2,
        };
        icc | command << 6
    }
}

/// `bError` of a failed command (CCID §6.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// 0xFF.
    #[error("the command was aborted")]
    CommandAborted,
    /// 0xFE: the card did not answer.
    #[error("the card does not answer (mute)")]
    IccMute,
    /// 0xFD.
    #[error("parity error while talking to the card")]
    ParityError,
    /// 0xFC.
    #[error("the card sent more than expected (overrun)")]
    Overrun,
    /// 0xFB.
    #[error("hardware error in the reader")]
    HardwareError,
    /// 0xF8.
    #[error("the card's ATR has a bad TS")]
    BadAtrTs,
    /// 0xF7.
    #[error("the card's ATR has a bad TCK")]
    BadAtrTck,
    /// 0xF6.
    #[error("the card's protocol is not supported by the reader")]
    ProtocolNotSupported,
    /// 0xF5.
    #[error("the card's class (voltage) is not supported by the reader")]
    ClassNotSupported,
    /// 0xF4.
    #[error("procedure byte conflict (T=0)")]
    ProcedureByteConflict,
    /// 0xF3.
    #[error("the protocol is deactivated")]
    DeactivatedProtocol,
    /// 0xF2.
    #[error("the reader is busy with an automatic sequence")]
    BusyWithAutoSequence,
    /// 0xF0.
    #[error("PIN entry timed out")]
    PinTimeout,
    /// 0xEF.
    #[error("PIN entry was cancelled")]
    PinCancelled,
    /// 0xE0.
    #[error("the slot is busy with another command")]
    SlotBusy,
    /// 0x00.
    #[error("the reader does not support this command")]
    CommandNotSupported,
    /// 1..=127: the command's field at this offset is not acceptable.
    #[error("the reader refused the command's field at offset {0}")]
    BadParameter(u8),
    /// A value the specification reserves or leaves to the vendor.
    #[error("reader error code 0x{0:02X}")]
    Other(u8),
}

impl SlotError {
    /// From `bError`.
    pub fn from_byte(byte: u8) -> SlotError {
        match byte {
            0xFF => SlotError::CommandAborted,
            0xFE => SlotError::IccMute,
            0xFD => SlotError::ParityError,
            0xFC => SlotError::Overrun,
            0xFB => SlotError::HardwareError,
            0xF8 => SlotError::BadAtrTs,
            0xF7 => SlotError::BadAtrTck,
            0xF6 => SlotError::ProtocolNotSupported,
            0xF5 => SlotError::ClassNotSupported,
            0xF4 => SlotError::ProcedureByteConflict,
            0xF3 => SlotError::DeactivatedProtocol,
            0xF2 => SlotError::BusyWithAutoSequence,
            0xF0 => SlotError::PinTimeout,
            0xEF => SlotError::PinCancelled,
            0xE0 => SlotError::SlotBusy,
            0x00 => SlotError::CommandNotSupported,
            1..=0x7F => SlotError::BadParameter(byte),
            other => SlotError::Other(other),
        }
    }

    /// `bError`.
    pub fn to_byte(self) -> u8 {
        match self {
            SlotError::CommandAborted => 0xFF,
            SlotError::IccMute => 0xFE,
            SlotError::ParityError => 0xFD,
            SlotError::Overrun => 0xFC,
            SlotError::HardwareError => 0xFB,
            SlotError::BadAtrTs => 0xF8,
            SlotError::BadAtrTck => 0xF7,
            SlotError::ProtocolNotSupported => 0xF6,
            SlotError::ClassNotSupported => 0xF5,
            SlotError::ProcedureByteConflict => 0xF4,
            SlotError::DeactivatedProtocol => 0xF3,
            SlotError::BusyWithAutoSequence => 0xF2,
            SlotError::PinTimeout => 0xF0,
            SlotError::PinCancelled => 0xEF,
            SlotError::SlotBusy => 0xE0,
            SlotError::CommandNotSupported => 0x00,
            SlotError::BadParameter(offset) | SlotError::Other(offset) => offset,
        }
    }
}

/// The message-specific body of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// RDR_to_PC_DataBlock: the card's bytes and `bChainParameter`.
    DataBlock {
        /// `bChainParameter`: response chaining state on extended-APDU readers.
        chain: u8,
        /// The bytes (ATR, response, block).
        data: Vec<u8>,
    },
    /// RDR_to_PC_SlotStatus and `bClockStatus`.
    SlotStatus {
        /// 0 running, 1/2/3 stopped in state L/H/unknown.
        clock_status: u8,
    },
    /// RDR_to_PC_Parameters. `None` when the reply carries no structure (failed command).
    Parameters(Option<ProtocolParameters>),
    /// RDR_to_PC_Escape.
    Escape(Vec<u8>),
    /// RDR_to_PC_DataRateAndClockFrequency.
    DataRateAndClock {
        /// `dwClockFrequency` in kHz.
        clock_khz: u32,
        /// `dwDataRate` in bps.
        data_rate: u32,
    },
}

/// A reply from the reader (RDR_to_PC_*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `bSlot`.
    pub slot: u8,
    /// `bSeq`, which must equal the command's.
    pub seq: u8,
    /// `bStatus`.
    pub state: SlotState,
    /// `bError` (meaningful when the command failed or asks for a time extension).
    pub error: u8,
    /// The rest.
    pub body: ReplyBody,
}

impl Reply {
    /// The message type byte.
    pub fn message_type(&self) -> u8 {
        use reply_type::*;
        match self.body {
            ReplyBody::DataBlock { .. } => DATA_BLOCK,
            ReplyBody::SlotStatus { .. } => SLOT_STATUS,
            ReplyBody::Parameters(_) => PARAMETERS,
            ReplyBody::Escape(_) => ESCAPE,
            ReplyBody::DataRateAndClock { .. } => DATA_RATE_AND_CLOCK,
        }
    }

    /// Reads a whole reply message.
    pub fn decode(bytes: &[u8], dialect: Dialect) -> Result<Reply, MessageError> {
        let (header, data) = split(bytes, dialect)?;
        let state = SlotState::from_byte(header.specific[0])?;
        let error = header.specific[1];
        let third = header.specific[2];
        use reply_type::*;
        let body = match header.message_type {
            DATA_BLOCK => ReplyBody::DataBlock {
                chain: third,
                data: data.to_vec(),
            },
            SLOT_STATUS => ReplyBody::SlotStatus {
                clock_status: third,
            },
            PARAMETERS if data.is_empty() => ReplyBody::Parameters(None),
            PARAMETERS => ReplyBody::Parameters(Some(ProtocolParameters::from_bytes(third, data)?)),
            ESCAPE => ReplyBody::Escape(data.to_vec()),
            DATA_RATE_AND_CLOCK => match data {
                &[c0, c1, c2, c3, r0, r1, r2, r3] => ReplyBody::DataRateAndClock {
                    clock_khz: u32::from_le_bytes([c0, c1, c2, c3]),
                    data_rate: u32::from_le_bytes([r0, r1, r2, r3]),
                },
                _ => {
                    return Err(MessageError::BadLength {
                        message_type: header.message_type,
                        length: data.len(),
                    })
                }
            },
            other => return Err(MessageError::UnknownMessageType(other)),
        };
        Ok(Reply {
            slot: header.slot,
            seq: header.seq,
            state,
            error,
            body,
        })
    }

    /// The whole message (the simulated reader's side).
    pub fn encode(&self, dialect: Dialect) -> Vec<u8> {
        let status = self.state.to_byte();
        let (third, data): (u8, Vec<u8>) = match &self.body {
            ReplyBody::DataBlock { chain, data } => (*chain, data.clone()),
            ReplyBody::SlotStatus { clock_status } => (*clock_status, Vec::new()),
            ReplyBody::Parameters(None) => (0, Vec::new()),
            ReplyBody::Parameters(Some(params)) => (params.protocol().number(), params.to_bytes()),
            ReplyBody::Escape(data) => (0, data.clone()),
            ReplyBody::DataRateAndClock {
                clock_khz,
                data_rate,
            } => {
                let mut data = clock_khz.to_le_bytes().to_vec();
                data.extend_from_slice(&data_rate.to_le_bytes());
                (0, data)
            }
        };
        frame(
            self.message_type(),
            self.slot,
            self.seq,
            [status, self.error, third],
            &data,
            dialect,
        )
    }
}

/// A message on the interrupt-IN endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// RDR_to_PC_NotifySlotChange: for each slot, (card present, changed since last report).
    SlotChange(Vec<SlotChange>),
    /// RDR_to_PC_HardwareError.
    HardwareError {
        /// `bSlot`.
        slot: u8,
        /// `bSeq` of the command that failed.
        seq: u8,
        /// `bHardwareErrorCode` (1 = overcurrent).
        code: u8,
    },
}

/// One slot's entry in a NotifySlotChange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotChange {
    /// A card is in the slot now.
    pub present: bool,
    /// The presence changed since the last notification.
    pub changed: bool,
}

impl Notification {
    /// Reads an interrupt message.
    pub fn decode(bytes: &[u8]) -> Result<Notification, MessageError> {
        match bytes {
            [reply_type::NOTIFY_SLOT_CHANGE, states @ ..] if !states.is_empty() => {
                Ok(Notification::SlotChange(
                    states
                        .iter()
                        .flat_map(|byte| (0..4).map(move |slot| byte >> (2 * slot)))
                        .map(|bits| SlotChange {
                            present: bits & 1 != 0,
                            changed: bits & 2 != 0,
                        })
                        .collect(),
                ))
            }
            &[reply_type::HARDWARE_ERROR, slot, seq, code] => {
                Ok(Notification::HardwareError { slot, seq, code })
            }
            [] => Err(MessageError::Truncated { have: 0, need: 2 }),
            [message_type @ (reply_type::NOTIFY_SLOT_CHANGE | reply_type::HARDWARE_ERROR), ..] => {
                Err(MessageError::BadLength {
                    message_type: *message_type,
                    length: bytes.len(),
                })
            }
            [other, ..] => Err(MessageError::UnknownMessageType(*other)),
        }
    }

    /// The message bytes (the simulated reader's side).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Notification::SlotChange(slots) => {
                let mut bytes = vec![reply_type::NOTIFY_SLOT_CHANGE];
                for group in slots.chunks(4) {
                    let mut byte = 0u8;
                    for (i, slot) in group.iter().enumerate() {
                        byte |= (u8::from(slot.present) | u8::from(slot.changed) << 1) << (2 * i);
                    }
                    bytes.push(byte);
                }
                bytes
            }
            Notification::HardwareError { slot, seq, code } => {
                vec![reply_type::HARDWARE_ERROR, *slot, *seq, *code]
            }
        }
    }
}

/// Why bytes are not a CCID message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Fewer bytes than the header, or than `dwLength` announces.
    #[error("the reader's message is truncated: {have} bytes of {need}")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// More bytes than the header and `dwLength` account for.
    #[error("the reader's message has {0} bytes beyond its announced length")]
    TrailingBytes(usize),
    /// `dwLength` is larger than any reader may send.
    #[error("the reader announced an absurd message length of {0} bytes")]
    AbsurdLength(u32),
    /// A message type this driver does not know (or not valid in this direction).
    #[error("unknown CCID message type 0x{0:02X}")]
    UnknownMessageType(u8),
    /// `bStatus` uses a reserved value.
    #[error("the reader's status byte 0x{0:02X} is not valid")]
    BadStatus(u8),
    /// A message that carries no data carried some.
    #[error("message type 0x{0:02X} must not carry data")]
    UnexpectedData(u8),
    /// A fixed-size body has the wrong size.
    #[error("message type 0x{message_type:02X} has a body of {length} bytes, which is not valid")]
    BadLength {
        /// The message type.
        message_type: u8,
        /// The body length.
        length: usize,
    },
    /// A protocol parameter structure of the wrong size.
    #[error("the T={protocol} parameter structure is {length} bytes long")]
    BadParameters {
        /// The protocol.
        protocol: u8,
        /// The length found.
        length: usize,
    },
    /// `bProtocolNum` other than 0 or 1.
    #[error("protocol T={0} has no CCID parameter structure")]
    UnknownProtocol(u8),
    /// `bPowerSelect` other than 0..=3.
    #[error("power select 0x{0:02X} is not valid")]
    BadPowerSelect(u8),
}

/// Largest `dwLength` accepted: the largest `dwMaxCCIDMessageLength` of any reader seen in the
/// field is far below this; anything above is a corrupt header, not a big message.
pub const MAX_DATA_LENGTH: u32 = 0x0001_0000 + 64;

/// A message's fixed header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `bMessageType`.
    pub message_type: u8,
    /// `dwLength`.
    pub length: u32,
    /// `bSlot`.
    pub slot: u8,
    /// `bSeq`.
    pub seq: u8,
    /// The three message-specific bytes.
    pub specific: [u8; 3],
}

impl Header {
    /// Reads the header at the start of `bytes` (the rest may not have arrived yet).
    pub fn decode(bytes: &[u8], dialect: Dialect) -> Result<Header, MessageError> {
        let Some(&[message_type, l0, l1, l2, l3, slot, seq, s0, s1, s2]) =
            bytes.get(..HEADER_LENGTH)
        else {
            return Err(MessageError::Truncated {
                have: bytes.len(),
                need: HEADER_LENGTH,
            });
        };
        let length = match dialect {
            Dialect::Standard => u32::from_le_bytes([l0, l1, l2, l3]),
            Dialect::Ez100pu => u32::from_be_bytes([l0, l1, l2, l3]),
        };
        if length > MAX_DATA_LENGTH {
            return Err(MessageError::AbsurdLength(length));
        }
        Ok(Header {
            message_type,
            length,
            slot,
            seq,
            specific: [s0, s1, s2],
        })
    }

    /// Header plus data: the whole message's length.
    pub fn message_length(&self) -> usize {
        HEADER_LENGTH + self.length as usize
    }
}

fn split(bytes: &[u8], dialect: Dialect) -> Result<(Header, &[u8]), MessageError> {
    let header = Header::decode(bytes, dialect)?;
    let need = header.message_length();
    match bytes.len().cmp(&need) {
        std::cmp::Ordering::Less => Err(MessageError::Truncated {
            have: bytes.len(),
            need,
        }),
        std::cmp::Ordering::Greater => Err(MessageError::TrailingBytes(bytes.len() - need)),
        std::cmp::Ordering::Equal => Ok((header, bytes.get(HEADER_LENGTH..).unwrap_or_default())),
    }
}

fn frame(
    message_type: u8,
    slot: u8,
    seq: u8,
    specific: [u8; 3],
    data: &[u8],
    dialect: Dialect,
) -> Vec<u8> {
    // Data lengths come from this crate's own buffers, bounded by the reader's message size.
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let length = match dialect {
        Dialect::Standard => length.to_le_bytes(),
        Dialect::Ez100pu => length.to_be_bytes(),
    };
    let mut message = Vec::with_capacity(HEADER_LENGTH + data.len());
    message.push(message_type);
    message.extend_from_slice(&length);
    message.extend_from_slice(&[slot, seq]);
    message.extend_from_slice(&specific);
    message.extend_from_slice(data);
    message
}

/// Class-specific control requests (CCID §5.3).
pub mod control {
    use super::ControlSetup;

    /// `bmRequestType` for a class request to the interface, host to device.
    const CLASS_INTERFACE_OUT: u8 = 0x21;
    /// `bmRequestType` for a class request to the interface, device to host.
    const CLASS_INTERFACE_IN: u8 = 0xA1;

    /// ABORT: announces a PC_to_RDR_Abort for `slot` and `seq`.
    pub fn abort(interface: u8, slot: u8, seq: u8) -> ControlSetup {
        ControlSetup {
            request_type: CLASS_INTERFACE_OUT,
            request: 0x01,
            value: u16::from(seq) << 8 | u16::from(slot),
            index: u16::from(interface),
        }
    }

    /// GET_CLOCK_FREQUENCIES: the reader's clocks, four bytes (kHz) each.
    pub fn get_clock_frequencies(interface: u8) -> ControlSetup {
        ControlSetup {
            request_type: CLASS_INTERFACE_IN,
            request: 0x02,
            value: 0,
            index: u16::from(interface),
        }
    }

    /// GET_DATA_RATES: the reader's rates, four bytes (bps) each.
    pub fn get_data_rates(interface: u8) -> ControlSetup {
        ControlSetup {
            request_type: CLASS_INTERFACE_IN,
            request: 0x03,
            value: 0,
            index: u16::from(interface),
        }
    }

    /// Standard GET_DESCRIPTOR for configuration descriptor `index`.
    pub fn get_configuration_descriptor(index: u8) -> ControlSetup {
        ControlSetup {
            request_type: 0x80,
            request: 0x06,
            value: 0x0200 | u16::from(index),
            index: 0,
        }
    }
}

/// The PIN verification data structure of a PC_to_RDR_Secure (CCID §6.1.11.7): the reader
/// collects the PIN on its own keypad and inserts it into `apdu`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinVerify {
    /// `bTimeOut` in seconds (0: the reader's default).
    pub timeout: u8,
    /// `bmFormatString`.
    pub format_string: u8,
    /// `bmPINBlockString`.
    pub pin_block_string: u8,
    /// `bmPINLengthFormat`.
    pub pin_length_format: u8,
    /// `wPINMaxExtraDigit`: minimum digits in the high byte, maximum in the low.
    pub min_max_digits: u16,
    /// `bEntryValidationCondition`.
    pub entry_validation: u8,
    /// `bNumberMessage`.
    pub number_message: u8,
    /// `wLangId`.
    pub lang_id: u16,
    /// `bMsgIndex`.
    pub msg_index: u8,
    /// `bTeoPrologue`.
    pub teo_prologue: [u8; 3],
    /// The VERIFY APDU template the reader fills with the PIN.
    pub apdu: Vec<u8>,
}

impl PinVerify {
    /// `bPINOperation` 0 followed by the structure: the data of a PC_to_RDR_Secure.
    pub fn to_secure_data(&self) -> Vec<u8> {
        let mut data = vec![
            0x00,
            self.timeout,
            self.format_string,
            self.pin_block_string,
            self.pin_length_format,
        ];
        data.extend_from_slice(&self.min_max_digits.to_le_bytes());
        data.extend_from_slice(&[self.entry_validation, self.number_message]);
        data.extend_from_slice(&self.lang_id.to_le_bytes());
        data.push(self.msg_index);
        data.extend_from_slice(&self.teo_prologue);
        data.extend_from_slice(&self.apdu);
        data
    }

    /// Offset of the APDU template inside [`PinVerify::to_secure_data`]'s bytes.
    pub const APDU_OFFSET: usize = 15;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::hex;

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    #[test]
    fn commands_encode_as_the_specification_shows() {
        let cases = [
            (
                Command::IccPowerOn(PowerSelect::Automatic),
                "62 00000000 00 07 00 00 00",
            ),
            (
                Command::IccPowerOn(PowerSelect::V1_8),
                "62 00000000 00 07 03 00 00",
            ),
            (Command::IccPowerOff, "63 00000000 00 07 00 00 00"),
            (Command::GetSlotStatus, "65 00000000 00 07 00 00 00"),
            (
                Command::XfrBlock {
                    bwi: 2,
                    level: 0x0010,
                    data: vec![0xAA, 0xBB],
                },
                "6F 02000000 00 07 02 10 00 AA BB",
            ),
            (Command::Abort, "72 00000000 00 07 00 00 00"),
            (Command::Escape(vec![1]), "6B 01000000 00 07 00 00 00 01"),
            (
                Command::SetParameters(ProtocolParameters::T1 {
                    fi_di: 0x13,
                    tcckst: 0x10,
                    guard_time: 0,
                    waiting_integers: 0x52,
                    clock_stop: 0,
                    ifsc: 0xFA,
                    nad: 0,
                }),
                "61 07000000 00 07 01 00 00 13 10 00 52 00 FA 00",
            ),
        ];
        for (command, expected) in cases {
            let encoded = command.encode(0, 7, Dialect::Standard);
            assert_eq!(
                hex::format(&encoded),
                hex::format(&bytes(expected)),
                "{command:?}"
            );
            assert_eq!(
                Command::decode(&encoded, Dialect::Standard),
                Ok((0, 7, command))
            );
        }
    }

    #[test]
    fn ez100pu_lengths_are_big_endian_both_ways() {
        let command = Command::XfrBlock {
            bwi: 0,
            level: 0,
            data: vec![0; 0x0102],
        };
        let encoded = command.encode(0, 1, Dialect::Ez100pu);
        assert_eq!(&encoded[..5], &[0x6F, 0x00, 0x00, 0x01, 0x02]);
        let reply = bytes("80 00000003 00 01 00 00 00 90 00 01");
        let decoded = Reply::decode(&reply, Dialect::Ez100pu).unwrap();
        assert_eq!(
            decoded.body,
            ReplyBody::DataBlock {
                chain: 0,
                data: vec![0x90, 0x00, 0x01]
            }
        );
        // The same bytes read as standard announce 50 MB.
        assert!(Reply::decode(&reply, Dialect::Standard).is_err());
    }

    #[test]
    fn replies_decode_status_and_errors() {
        let reply = Reply::decode(&bytes("81 00000000 00 03 42 FE 00"), Dialect::Standard).unwrap();
        assert_eq!(
            reply.state,
            SlotState {
                icc: IccStatus::Absent,
                command: CommandStatus::Failed
            }
        );
        assert_eq!(SlotError::from_byte(reply.error), SlotError::IccMute);
        let extension =
            Reply::decode(&bytes("80 00000000 00 04 80 05 00"), Dialect::Standard).unwrap();
        assert_eq!(extension.state.command, CommandStatus::TimeExtension);
        assert_eq!(extension.error, 5);
        for byte in 0..=255u8 {
            assert_eq!(SlotError::from_byte(byte).to_byte(), byte);
        }
    }

    #[test]
    fn malformed_replies_are_typed_errors() {
        let cases: [(&str, MessageError); 6] = [
            ("80 0000", MessageError::Truncated { have: 3, need: 10 }),
            (
                "80 02000000 00 01 00 00 00 90",
                MessageError::Truncated { have: 11, need: 12 },
            ),
            (
                "80 00000000 00 01 00 00 00 90",
                MessageError::TrailingBytes(1),
            ),
            (
                "80 FFFFFFFF 00 01 00 00 00",
                MessageError::AbsurdLength(u32::MAX),
            ),
            (
                "99 00000000 00 01 00 00 00",
                MessageError::UnknownMessageType(0x99),
            ),
            ("81 00000000 00 01 C3 00 00", MessageError::BadStatus(0xC3)),
        ];
        for (text, error) in cases {
            assert_eq!(
                Reply::decode(&bytes(text), Dialect::Standard),
                Err(error),
                "{text}"
            );
        }
    }

    #[test]
    fn parameters_round_trip() {
        let reply = Reply {
            slot: 0,
            seq: 9,
            state: SlotState {
                icc: IccStatus::Active,
                command: CommandStatus::Ok,
            },
            error: 0,
            body: ReplyBody::Parameters(Some(ProtocolParameters::T0 {
                fi_di: crate::pps::DEFAULT_FI_DI,
                tcckst: 0,
                guard_time: 0,
                waiting_integer: 10,
                clock_stop: 0,
            })),
        };
        let encoded = reply.encode(Dialect::Standard);
        assert_eq!(
            hex::format(&encoded),
            "82 05 00 00 00 00 09 00 00 00 11 00 00 0A 00"
        );
        assert_eq!(Reply::decode(&encoded, Dialect::Standard), Ok(reply));
    }

    #[test]
    fn notifications() {
        assert_eq!(
            Notification::decode(&[0x50, 0x03]),
            Ok(Notification::SlotChange(vec![
                SlotChange {
                    present: true,
                    changed: true
                },
                SlotChange {
                    present: false,
                    changed: false
                },
                SlotChange {
                    present: false,
                    changed: false
                },
                SlotChange {
                    present: false,
                    changed: false
                },
            ]))
        );
        let absent = Notification::decode(&[0x50, 0x02]).unwrap();
        assert_eq!(absent.encode(), vec![0x50, 0x02]);
        assert!(Notification::decode(&[0x50]).is_err());
        assert!(Notification::decode(&[0x51, 0, 1]).is_err());
        assert_eq!(
            Notification::decode(&[0x51, 0, 4, 1]),
            Ok(Notification::HardwareError {
                slot: 0,
                seq: 4,
                code: 1
            })
        );
    }

    #[test]
    fn abort_request_names_slot_and_sequence() {
        let setup = control::abort(0, 1, 0x22);
        assert_eq!(setup.request_type, 0x21);
        assert_eq!(setup.request, 0x01);
        assert_eq!(setup.value, 0x2201);
    }
}
