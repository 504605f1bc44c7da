//! The card's file system: where the card number, the version string and the four certificate
//! slots live, and how they are read and written.
//!
//! ```text
//! MF 3F00
//! ├── DF 0900
//! │   ├── EF 0903  card number, 16 ASCII characters (2 letters + 14 digits)
//! │   └── EF 0905  version string (e.g. "CHT V32N")
//! └── DF 5030
//!     └── EF 08F2  certificates, four 0x700-byte slots:
//!                  0x0000 root CA · 0x0700 issuing CA ·
//!                  0x0E00 user certificate 1 (encryption) · 0x1500 user certificate 2 (signature)
//! ```
//!
//! A slot holds one DER certificate from its first byte; its length comes from the DER header.
//! Reading a slot asks first for as much as one response carries (the DER header and, on most
//! channels, much or all of the certificate), then for the rest in the largest chunks the
//! channel carries, so a short-APDU reader needs ⌈length / 256⌉ READ BINARY commands per slot
//! and an extended-APDU one needs one.

use std::fmt;

use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::channel::{exchange, ApduChannel, ChannelLimits};
use crate::command::{Command, KeyRole};
use crate::error::CardError;
use crate::status::Meaning;

pub use terms::{CardNumber, CardNumberError, CARD_NUMBER_LENGTH};

/// The master file.
pub const MF: u16 = 0x3F00;
/// The directory of the card's own data.
pub const DF_CARD_DATA: u16 = 0x0900;
/// The card number.
pub const EF_CARD_NUMBER: u16 = 0x0903;
/// The version string.
pub const EF_VERSION: u16 = 0x0905;
/// The directory of the certificates.
pub const DF_CERTIFICATES: u16 = 0x5030;
/// The certificate file.
pub const EF_CERTIFICATES: u16 = 0x08F2;

/// Path to the card number.
pub const CARD_NUMBER_PATH: [u16; 3] = [MF, DF_CARD_DATA, EF_CARD_NUMBER];
/// Path to the version string.
pub const VERSION_PATH: [u16; 3] = [MF, DF_CARD_DATA, EF_VERSION];
/// Path to the certificate file.
pub const CERTIFICATES_PATH: [u16; 3] = [MF, DF_CERTIFICATES, EF_CERTIFICATES];

/// The size of one certificate slot.
pub const SLOT_SIZE: usize = 0x700;
/// The size of the certificate file (four slots).
pub const CERTIFICATE_FILE_SIZE: usize = 4 * SLOT_SIZE;

/// The smallest first read of a slot: enough for any DER header.
const MIN_FIRST_READ: usize = 16;

/// One of the four certificate slots of EF 08F2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// `0x0000`: the root CA certificate.
    RootCa,
    /// `0x0700`: the issuing CA certificate.
    IssuingCa,
    /// `0x0E00`: user certificate 1, for the encryption key (01).
    Encryption,
    /// `0x1500`: user certificate 2, for the signature key (02).
    Signature,
}

impl Slot {
    /// All four, in file order.
    pub const ALL: [Slot; 4] = [
        Slot::RootCa,
        Slot::IssuingCa,
        Slot::Encryption,
        Slot::Signature,
    ];

    /// The slot's offset in EF 08F2.
    pub fn offset(self) -> u16 {
        match self {
            Slot::RootCa => 0x0000,
            Slot::IssuingCa => 0x0700,
            Slot::Encryption => 0x0E00,
            Slot::Signature => 0x1500,
        }
    }

    /// The role of the card key whose certificate this slot holds (user certificates only).
    pub fn role(self) -> Option<KeyRole> {
        match self {
            Slot::Encryption => Some(KeyRole::Encryption),
            Slot::Signature => Some(KeyRole::Signature),
            Slot::RootCa | Slot::IssuingCa => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Slot::RootCa => 0,
            Slot::IssuingCa => 1,
            Slot::Encryption => 2,
            Slot::Signature => 3,
        }
    }
}

/// The slot of a key's certificate.
impl From<KeyRole> for Slot {
    fn from(role: KeyRole) -> Slot {
        match role {
            KeyRole::Encryption => Slot::Encryption,
            KeyRole::Signature => Slot::Signature,
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Slot::RootCa => "root CA certificate",
            Slot::IssuingCa => "issuing CA certificate",
            Slot::Encryption | Slot::Signature => "user certificate",
        };
        match self.role() {
            Some(role) => write!(f, "{name} {} ({})", role.user_certificate(), role.as_str()),
            None => f.write_str(name),
        }
    }
}

/// A certificate read from a slot: its DER bytes and their decoding.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    der: Vec<u8>,
    certificate: Box<Certificate>,
}

impl StoredCertificate {
    /// Decodes one DER certificate.
    pub fn from_der(der: Vec<u8>) -> Result<StoredCertificate, der::Error> {
        let certificate = Box::new(Certificate::from_der(&der)?);
        Ok(StoredCertificate { der, certificate })
    }

    /// The DER bytes, exactly as stored.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
}

impl fmt::Debug for StoredCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCertificate")
            .field(
                "subject",
                &self.certificate.tbs_certificate().subject().to_string(),
            )
            .field("length", &self.der.len())
            .finish()
    }
}

/// Why a slot's bytes are not a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorruptSlot {
    /// The slot does not start with a DER SEQUENCE header.
    #[error("the slot does not start with a DER certificate (first bytes {first_bytes:02X?})")]
    NotDer {
        /// Up to four first bytes.
        first_bytes: Vec<u8>,
    },
    /// The DER header announces more than the slot holds.
    #[error("the DER header announces {length} bytes, more than the slot's {SLOT_SIZE}")]
    LengthBeyondSlot {
        /// The announced length, header included.
        length: usize,
    },
    /// The bytes are DER of the announced length but do not decode as a certificate.
    #[error("the slot's {length} bytes do not decode as a certificate: {reason}")]
    NotACertificate {
        /// The DER length.
        length: usize,
        /// The decoder's words.
        reason: String,
    },
}

/// What a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotContent {
    /// A certificate.
    Certificate(StoredCertificate),
    /// Nothing: the slot is all `FF` or all `00` where a header would be.
    Empty,
    /// Something that is not a certificate.
    Corrupt(CorruptSlot),
}

impl SlotContent {
    /// The certificate, if the slot holds one.
    pub fn certificate(&self) -> Option<&StoredCertificate> {
        match self {
            SlotContent::Certificate(certificate) => Some(certificate),
            _ => None,
        }
    }
}

/// The contents of the four slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificates {
    slots: [SlotContent; 4],
}

impl Certificates {
    /// From the four slots' contents, in [`Slot::ALL`] order.
    pub fn new(slots: [SlotContent; 4]) -> Certificates {
        Certificates { slots }
    }

    /// What `slot` holds.
    pub fn get(&self, slot: Slot) -> &SlotContent {
        &self.slots[slot.index()]
    }

    /// The certificate in `slot`, if it holds one.
    pub fn certificate(&self, slot: Slot) -> Option<&StoredCertificate> {
        self.get(slot).certificate()
    }

    /// Every slot with its content, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &SlotContent)> {
        Slot::ALL.into_iter().zip(self.slots.iter())
    }
}

/// The total length (header included) a DER SEQUENCE at the start of `bytes` announces.
pub fn der_length(bytes: &[u8]) -> Result<usize, CorruptSlot> {
    let not_der = || CorruptSlot::NotDer {
        first_bytes: bytes.iter().take(4).copied().collect(),
    };
    // Only a constructed SEQUENCE is looked at further: other first bytes are not a
    // certificate, whatever a general decoder would make of them.
    if bytes.first() != Some(&0x30) {
        return Err(not_der());
    }
    let reader = der::SliceReader::new(bytes).map_err(|_| not_der())?;
    let header = der::Header::peek(&reader).map_err(|_| not_der())?;
    let total =
        (header.encoded_len().map_err(|_| not_der())? + header.length()).map_err(|_| not_der())?;
    usize::try_from(total).map_err(|_| not_der())
}

/// Whether a slot's first bytes say it was never written or was erased.
pub fn is_blank(bytes: &[u8]) -> bool {
    !bytes.is_empty() && (bytes.iter().all(|&b| b == 0xFF) || bytes.iter().all(|&b| b == 0x00))
}

/// Selects each file of `path` in turn, from the master file down.
pub async fn select_path<C: ApduChannel + ?Sized>(
    channel: &mut C,
    path: &[u16],
) -> Result<(), CardError> {
    for &fid in path {
        let command = Command::select(fid);
        let response = exchange(channel, &command).await?;
        match response.status.meaning() {
            Meaning::Success => {}
            Meaning::FileNotFound => return Err(CardError::FileNotFound { fid }),
            _ => return Err(CardError::from_status(command.name(), response.status)),
        }
    }
    Ok(())
}

/// One READ BINARY of up to `length` bytes of the current file from `offset`. A card that
/// answers `6Cxx` (wrong Le) is asked again for `xx` bytes; `6282` (end of file) returns what
/// there was.
pub async fn read_binary<C: ApduChannel + ?Sized>(
    channel: &mut C,
    offset: u16,
    length: usize,
) -> Result<Vec<u8>, CardError> {
    let mut command = Command::read_binary(offset, length);
    let mut response = exchange(channel, &command).await?;
    if let Meaning::WrongLe(available) = response.status.meaning() {
        command = Command::read_binary(
            offset,
            if available == 0 {
                256
            } else {
                usize::from(available)
            },
        );
        response = exchange(channel, &command).await?;
    }
    match response.status.meaning() {
        Meaning::Success | Meaning::EndOfFile => Ok(response.data),
        _ => Err(CardError::from_status(command.name(), response.status)),
    }
}

/// Reads `length` bytes from `offset` in the largest chunks `limits` allow.
pub async fn read_exact<C: ApduChannel + ?Sized>(
    channel: &mut C,
    offset: usize,
    length: usize,
    limits: ChannelLimits,
    what: &'static str,
) -> Result<Vec<u8>, CardError> {
    let mut bytes = Vec::with_capacity(length);
    while bytes.len() < length {
        let chunk = (length - bytes.len()).min(limits.max_response_data.max(1));
        let part = read_binary(channel, file_offset(offset + bytes.len())?, chunk).await?;
        if part.is_empty() {
            return Err(CardError::UnexpectedLength {
                what,
                expected: length,
                got: bytes.len(),
            });
        }
        bytes.extend_from_slice(&part);
    }
    bytes.truncate(length);
    Ok(bytes)
}

fn file_offset(offset: usize) -> Result<u16, CardError> {
    u16::try_from(offset)
        .ok()
        .filter(|&offset| offset < 0x8000)
        .ok_or(CardError::OffsetOutOfRange { offset })
}

/// Reads one slot of the selected certificate file: the first read carries the DER header
/// (and as much after it as one response carries), the rest follows in the largest chunks.
pub async fn read_slot<C: ApduChannel + ?Sized>(
    channel: &mut C,
    slot: Slot,
    limits: ChannelLimits,
) -> Result<SlotContent, CardError> {
    let offset = usize::from(slot.offset());
    let first_read = limits.max_response_data.clamp(MIN_FIRST_READ, SLOT_SIZE);
    let mut bytes = read_binary(channel, slot.offset(), first_read).await?;
    if is_blank(&bytes) {
        return Ok(SlotContent::Empty);
    }
    let length = match der_length(&bytes) {
        Ok(length) => length,
        Err(corrupt) => return Ok(SlotContent::Corrupt(corrupt)),
    };
    if length > SLOT_SIZE {
        return Ok(SlotContent::Corrupt(CorruptSlot::LengthBeyondSlot {
            length,
        }));
    }
    if bytes.len() < length {
        let rest = read_exact(
            channel,
            offset + bytes.len(),
            length - bytes.len(),
            limits,
            "certificate",
        )
        .await?;
        bytes.extend_from_slice(&rest);
    }
    bytes.truncate(length);
    Ok(match StoredCertificate::from_der(bytes) {
        Ok(certificate) => SlotContent::Certificate(certificate),
        Err(error) => SlotContent::Corrupt(CorruptSlot::NotACertificate {
            length,
            reason: error.to_string(),
        }),
    })
}

/// Checks that `der` is exactly one DER certificate that fits `slot`.
pub fn check_writable(slot: Slot, der: &[u8]) -> Result<(), CardError> {
    if der.len() > SLOT_SIZE {
        return Err(CardError::CertificateTooLarge {
            slot,
            length: der.len(),
            max: SLOT_SIZE,
        });
    }
    let length = der_length(der).map_err(|e| CardError::NotACertificate(e.to_string()))?;
    if length != der.len() {
        return Err(CardError::NotACertificate(format!(
            "the DER header announces {length} bytes but {} were given",
            der.len()
        )));
    }
    Certificate::from_der(der)
        .map(|_| ())
        .map_err(|e| CardError::NotACertificate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_sit_where_the_card_keeps_them() {
        let offsets: Vec<u16> = Slot::ALL.iter().map(|s| s.offset()).collect();
        assert_eq!(offsets, [0x0000, 0x0700, 0x0E00, 0x1500]);
        assert_eq!(
            usize::from(Slot::Signature.offset()) + SLOT_SIZE,
            CERTIFICATE_FILE_SIZE
        );
        assert_eq!(
            Slot::from(KeyRole::Signature).role(),
            Some(KeyRole::Signature)
        );
    }

    #[test]
    fn der_headers_give_the_length_and_blank_slots_are_blank() {
        assert_eq!(der_length(&[0x30, 0x82, 0x03, 0x10, 0xAA]), Ok(0x314));
        assert_eq!(der_length(&[0x30, 0x81, 0x90]), Ok(0x93));
        assert_eq!(der_length(&[0x30, 0x05]), Ok(7));
        assert!(matches!(
            der_length(&[0x31, 0x05]),
            Err(CorruptSlot::NotDer { .. })
        ));
        assert!(matches!(
            der_length(&[0x30, 0x80]),
            Err(CorruptSlot::NotDer { .. })
        ));
        assert!(matches!(
            der_length(&[0xFF, 0xFF]),
            Err(CorruptSlot::NotDer { .. })
        ));
        assert!(is_blank(&[0xFF; 16]) && is_blank(&[0x00; 16]));
        assert!(!is_blank(&[0xFF, 0x00]) && !is_blank(&[]));
    }
}
