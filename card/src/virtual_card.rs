//! A virtual citizen card that speaks the reference profile of `shared/CARD.md` exactly
//! (feature `sim`), for `ccid`'s simulated reader, the demo and the tests.
//!
//! | step | command | answers |
//! | --- | --- | --- |
//! | select | `80 A4 00 00 02 <FID>` | `9000`; `6A82` not found |
//! | read | `80 B0 <off hi> <off lo> <Le>` | data `9000`; `6B00` offset beyond file |
//! | tries left | `80 20 00 01` | `63Cx`; `6983` locked; `9000` already verified |
//! | verify PIN | `80 20 00 01 08 <PIN padded FF>` | `9000`; `63Cx`; `6983` |
//! | private-key op | `80 EA 82 <key> 80 <128 B>`, `80 EA 02 <key> 80 <128 B>` | `9000`; `6982` |
//! | get result | `80 C1 00 00 00` | 256 bytes `9000`; `6985` nothing pending |
//! | write | `80 D6 <off hi> <off lo> <Lc> <data>` | `9000`; `6982` PIN not verified |
//!
//! Any class but `80` is answered `6E00`, an unknown instruction `6D00`, a malformed APDU or
//! a wrong Lc `6700`, wrong P1-P2 `6A86`, an unknown key `6A88`, a READ or UPDATE without a
//! current file `6986`, a write to a read-only file `6985`. Three PIN tries; a wrong PIN ends
//! the verified session; a verified PIN lasts until [`IccCard::reset`]. The private-key
//! operation is raw RSA on the 256-byte block the host padded. Extended APDUs are accepted
//! unless the card is made [without them](VirtualCard::without_extended_apdus).
//!
//! The card's whole state — files, PIN, tries, keys (PKCS#8 DER) — is a [`VirtualCardState`]
//! that serialises with serde (bytes as hex), so demo cards can be saved and loaded;
//! `VirtualCard` itself serialises as that state. The session (selection, verified PIN,
//! pending operation) is not part of it: a loaded card starts as if just powered.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::rc::Rc;

use ccid::apdu::CommandApdu;
use ccid::sim::IccCard;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey};
use serde::{Deserialize, Serialize};

use crate::command::{ins, KeyRole, CLA, HALF_BLOCK, P1_FIRST_HALF, P1_LAST_HALF};
use crate::command::{PADDED_PIN_LENGTH, PIN_REFERENCE};
use crate::files::{
    CardNumber, CardNumberError, Slot, CARD_NUMBER_PATH, CERTIFICATES_PATH, CERTIFICATE_FILE_SIZE,
    MF, SLOT_SIZE, VERSION_PATH,
};
use crate::pin::Pin;
use crate::signature::BLOCK_LENGTH;
use crate::status::StatusWord;

/// The first-generation card's ATR: T=1, TA1 0x13, IFSC 250, BWI 5 / CWI 2, "CHTMOICA".
pub const FIRST_GENERATION_ATR: [u8; 17] = [
    0x3B, 0xB8, 0x13, 0x00, 0x81, 0x31, 0xFA, 0x52, 0x43, 0x48, 0x54, 0x4D, 0x4F, 0x49, 0x43, 0x41,
    0xA5,
];
/// The second-generation card's ATR ("CHTGPKIJ").
pub const SECOND_GENERATION_ATR: [u8; 19] = [
    0x3B, 0xD8, 0x96, 0x00, 0x81, 0xB1, 0xFE, 0x45, 0x1F, 0x07, 0x43, 0x48, 0x54, 0x47, 0x50, 0x4B,
    0x49, 0x4A, 0xDD,
];
/// PIN tries of a fresh card.
pub const PIN_TRIES: u8 = 3;
/// The version string a virtual card reports unless told otherwise.
pub const DEFAULT_VERSION: &str = "REF V1.0";

/// Why a virtual card cannot be built or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VirtualCardError {
    /// The card number is not 2 capital letters and 14 digits.
    #[error("invalid card number: {0}")]
    CardNumber(CardNumberError),
    /// A key is not an RSA-2048 key, or its PKCS#8 encoding is broken.
    #[error("the {key} is unusable: {reason}")]
    Key {
        /// Which key.
        key: KeyRole,
        /// What is wrong.
        reason: String,
    },
    /// Bytes for a slot are longer than the slot.
    #[error("{length} bytes do not fit the {slot} slot of {SLOT_SIZE} bytes")]
    TooLarge {
        /// The slot.
        slot: Slot,
        /// The bytes' length.
        length: usize,
    },
    /// A saved state is inconsistent.
    #[error("the saved card state is invalid: {0}")]
    State(String),
}

/// An elementary file: its path from the master file, its bytes, and whether UPDATE BINARY may
/// change it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualFile {
    /// File identifiers from the master file, e.g. `3F00/5030/08F2`.
    pub path: FilePath,
    /// Whether UPDATE BINARY (after the PIN) may change it.
    pub writable: bool,
    /// The contents.
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl fmt::Debug for VirtualFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualFile")
            .field("path", &self.path)
            .field("writable", &self.writable)
            .field("length", &self.data.len())
            .finish()
    }
}

/// A path of file identifiers, written `3F00/0900/0903`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FilePath(pub Vec<u16>);

impl fmt::Debug for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from(self.clone()))
    }
}

impl From<FilePath> for String {
    fn from(path: FilePath) -> String {
        path.0
            .iter()
            .map(|fid| format!("{fid:04X}"))
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl TryFrom<String> for FilePath {
    type Error = String;

    fn try_from(text: String) -> Result<FilePath, String> {
        text.split('/')
            .map(|part| u16::from_str_radix(part, 16).map_err(|e| format!("{part}: {e}")))
            .collect::<Result<Vec<u16>, String>>()
            .map(FilePath)
    }
}

/// Everything a virtual card keeps across power cycles.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualCardState {
    /// The answer to reset.
    #[serde(with = "hex_bytes")]
    pub atr: Vec<u8>,
    /// The elementary files.
    pub files: Vec<VirtualFile>,
    /// The PIN as VERIFY carries it (ASCII padded with FF to 8 bytes).
    #[serde(with = "hex_bytes")]
    pub pin: Vec<u8>,
    /// PIN tries left (0: locked).
    pub tries_left: u8,
    /// The encryption key (01), PKCS#8 DER.
    #[serde(with = "hex_bytes")]
    pub encryption_key: Vec<u8>,
    /// The signature key (02), PKCS#8 DER.
    #[serde(with = "hex_bytes")]
    pub signature_key: Vec<u8>,
    /// Whether the card takes extended APDUs (when not, it answers them `6700`, as a card
    /// without them would).
    #[serde(default = "yes")]
    pub extended_apdus: bool,
}

fn yes() -> bool {
    true
}

impl fmt::Debug for VirtualCardState {
    // Neither the PIN nor the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCardState")
            .field("atr", &self.atr)
            .field("files", &self.files)
            .field("tries_left", &self.tries_left)
            .finish_non_exhaustive()
    }
}

/// The certificates a virtual card starts with (DER); a `None` slot is left empty (all FF).
#[derive(Debug, Clone, Copy, Default)]
pub struct CardCertificates<'a> {
    /// Root CA certificate.
    pub root_ca: Option<&'a [u8]>,
    /// Issuing CA certificate.
    pub issuing_ca: Option<&'a [u8]>,
    /// User certificate 1, for the encryption key.
    pub encryption: Option<&'a [u8]>,
    /// User certificate 2, for the signature key.
    pub signature: Option<&'a [u8]>,
}

/// What a first half of the private-key operation left, or its result.
#[derive(Clone)]
enum Pending {
    Nothing,
    FirstHalf {
        key: KeyRole,
        half: Box<[u8; HALF_BLOCK]>,
    },
    Result(Vec<u8>),
}

/// What lasts until reset.
#[derive(Clone)]
struct Session {
    /// The current directory's path.
    directory: Vec<u16>,
    /// The current elementary file (index into the files).
    file: Option<usize>,
    verified: bool,
    pending: Pending,
}

impl Session {
    fn new() -> Session {
        Session {
            directory: vec![MF],
            file: None,
            verified: false,
            pending: Pending::Nothing,
        }
    }
}

/// The virtual card. It serialises as its [`VirtualCardState`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "VirtualCardState", into = "VirtualCardState")]
pub struct VirtualCard {
    state: VirtualCardState,
    encryption_key: PrivateKey,
    signature_key: PrivateKey,
    session: Session,
}

impl fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCard")
            .field("state", &self.state)
            .field("verified", &self.session.verified)
            .finish_non_exhaustive()
    }
}

impl From<VirtualCard> for VirtualCardState {
    fn from(card: VirtualCard) -> VirtualCardState {
        card.state
    }
}

impl TryFrom<VirtualCardState> for VirtualCard {
    type Error = VirtualCardError;

    fn try_from(state: VirtualCardState) -> Result<VirtualCard, VirtualCardError> {
        VirtualCard::from_state(state)
    }
}

fn key_error(key: KeyRole, reason: impl fmt::Display) -> VirtualCardError {
    VirtualCardError::Key {
        key,
        reason: reason.to_string(),
    }
}

fn check_key(key: KeyRole, private: &PrivateKey) -> Result<(), VirtualCardError> {
    if private.size() == BLOCK_LENGTH {
        Ok(())
    } else {
        Err(key_error(
            key,
            format!("{} bits where 2048 are due", private.size() * 8),
        ))
    }
}

impl VirtualCard {
    /// A first-generation card with `card_number`, `pin`, the two key pairs and the
    /// certificates. The keys are the caller's (generate them once; it is slow).
    pub fn new(
        card_number: &str,
        pin: &Pin,
        encryption_key: &PrivateKey,
        signature_key: &PrivateKey,
        certificates: &CardCertificates<'_>,
    ) -> Result<VirtualCard, VirtualCardError> {
        let number = CardNumber::from_card_bytes(card_number.as_bytes())
            .map_err(VirtualCardError::CardNumber)?;
        let pkcs8 = |key: KeyRole, private: &PrivateKey| {
            check_key(key, private)?;
            private
                .to_pkcs8_der()
                .map(|document| document.as_bytes().to_vec())
                .map_err(|e| key_error(key, e))
        };
        let mut certificate_file = vec![0xFF; CERTIFICATE_FILE_SIZE];
        let slots = [
            (Slot::RootCa, certificates.root_ca),
            (Slot::IssuingCa, certificates.issuing_ca),
            (Slot::Encryption, certificates.encryption),
            (Slot::Signature, certificates.signature),
        ];
        for (slot, der) in slots {
            if let Some(der) = der {
                put_slot(&mut certificate_file, slot, der)?;
            }
        }
        let state = VirtualCardState {
            atr: FIRST_GENERATION_ATR.to_vec(),
            files: vec![
                VirtualFile {
                    path: FilePath(CARD_NUMBER_PATH.to_vec()),
                    writable: false,
                    data: number.as_bytes().to_vec(),
                },
                VirtualFile {
                    path: FilePath(VERSION_PATH.to_vec()),
                    writable: false,
                    data: DEFAULT_VERSION.as_bytes().to_vec(),
                },
                VirtualFile {
                    path: FilePath(CERTIFICATES_PATH.to_vec()),
                    writable: true,
                    data: certificate_file,
                },
            ],
            pin: pin.padded().to_vec(),
            tries_left: PIN_TRIES,
            encryption_key: pkcs8(KeyRole::Encryption, encryption_key)?,
            signature_key: pkcs8(KeyRole::Signature, signature_key)?,
            extended_apdus: true,
        };
        VirtualCard::from_state(state)
    }

    /// A card from a saved state.
    pub fn from_state(state: VirtualCardState) -> Result<VirtualCard, VirtualCardError> {
        let load = |key: KeyRole, der: &[u8]| {
            let private = PrivateKey::from_pkcs8_der(der).map_err(|e| key_error(key, e))?;
            check_key(key, &private)?;
            Ok::<PrivateKey, VirtualCardError>(private)
        };
        let encryption_key = load(KeyRole::Encryption, &state.encryption_key)?;
        let signature_key = load(KeyRole::Signature, &state.signature_key)?;
        if state.pin.len() != PADDED_PIN_LENGTH {
            return Err(VirtualCardError::State(format!(
                "the PIN record has {} bytes where {PADDED_PIN_LENGTH} are due",
                state.pin.len()
            )));
        }
        if state.tries_left > PIN_TRIES {
            return Err(VirtualCardError::State(format!(
                "{} PIN tries left, more than {PIN_TRIES}",
                state.tries_left
            )));
        }
        if state
            .files
            .iter()
            .any(|file| file.path.0.first() != Some(&MF))
        {
            return Err(VirtualCardError::State(
                "every file path starts at the master file 3F00".into(),
            ));
        }
        Ok(VirtualCard {
            state,
            encryption_key,
            signature_key,
            session: Session::new(),
        })
    }

    /// The same card with another ATR (e.g. [`SECOND_GENERATION_ATR`]).
    pub fn with_atr(mut self, atr: &[u8]) -> VirtualCard {
        self.state.atr = atr.to_vec();
        self
    }

    /// The same card refusing extended APDUs with `6700`.
    pub fn without_extended_apdus(mut self) -> VirtualCard {
        self.state.extended_apdus = false;
        self
    }

    /// The same card with another version string.
    pub fn with_version(mut self, version: &str) -> VirtualCard {
        if let Some(file) = self.file_mut(&VERSION_PATH) {
            file.data = version.as_bytes().to_vec();
        }
        self
    }

    /// The saved state.
    pub fn state(&self) -> &VirtualCardState {
        &self.state
    }

    /// PIN tries left.
    pub fn tries_left(&self) -> u8 {
        self.state.tries_left
    }

    /// Whether the PIN is verified in this session.
    pub fn pin_verified(&self) -> bool {
        self.session.verified
    }

    /// The 0x700 bytes of a certificate slot.
    pub fn slot_bytes(&self, slot: Slot) -> &[u8] {
        let start = usize::from(slot.offset());
        self.file(&CERTIFICATES_PATH)
            .and_then(|file| file.data.get(start..start + SLOT_SIZE))
            .unwrap_or(&[])
    }

    /// Puts raw bytes at the start of a slot and fills the rest with FF — for corrupt or
    /// empty slots in tests and demos.
    pub fn set_slot_bytes(&mut self, slot: Slot, bytes: &[u8]) -> Result<(), VirtualCardError> {
        let Some(file) = self.file_mut(&CERTIFICATES_PATH) else {
            return Err(VirtualCardError::State("no certificate file".into()));
        };
        put_slot(&mut file.data, slot, bytes)
    }

    fn file(&self, path: &[u16]) -> Option<&VirtualFile> {
        self.state.files.iter().find(|file| file.path.0 == path)
    }

    fn file_mut(&mut self, path: &[u16]) -> Option<&mut VirtualFile> {
        self.state.files.iter_mut().find(|file| file.path.0 == path)
    }

    fn key(&self, key: KeyRole) -> &PrivateKey {
        match key {
            KeyRole::Encryption => &self.encryption_key,
            KeyRole::Signature => &self.signature_key,
        }
    }

    fn select(&mut self, command: &CommandApdu<'_>) -> StatusWord {
        let [_, _, p1, p2] = command.header;
        if (p1, p2) != (0x00, 0x00) {
            return StatusWord::WRONG_PARAMETERS;
        }
        let Ok(fid) = <[u8; 2]>::try_from(command.data).map(u16::from_be_bytes) else {
            return StatusWord::WRONG_LENGTH;
        };
        if fid == MF {
            self.session.directory = vec![MF];
            self.session.file = None;
            return StatusWord::SUCCESS;
        }
        let mut child = self.session.directory.clone();
        child.push(fid);
        if let Some(index) = self
            .state
            .files
            .iter()
            .position(|file| file.path.0 == child)
        {
            self.session.file = Some(index);
            return StatusWord::SUCCESS;
        }
        let is_directory = self
            .state
            .files
            .iter()
            .any(|file| file.path.0.len() > child.len() && file.path.0.starts_with(&child));
        if is_directory {
            self.session.directory = child;
            self.session.file = None;
            return StatusWord::SUCCESS;
        }
        StatusWord::FILE_NOT_FOUND
    }

    fn read_binary(&self, command: &CommandApdu<'_>) -> Vec<u8> {
        let [_, _, p1, p2] = command.header;
        if p1 & 0x80 != 0 {
            // Short file identifiers are not part of the profile.
            return status(StatusWord::WRONG_PARAMETERS);
        }
        if !command.data.is_empty() {
            return status(StatusWord::WRONG_LENGTH);
        }
        // Over T=0, P3 = 00 can reach the card without Le; READ BINARY always answers data,
        // so that means 256 bytes (ISO/IEC 7816-3 §12.2.2).
        let wanted = command.ne.unwrap_or(256);
        let Some(file) = self.session.file.and_then(|i| self.state.files.get(i)) else {
            return status(StatusWord::COMMAND_NOT_ALLOWED);
        };
        let offset = usize::from(u16::from_be_bytes([p1, p2]));
        if offset >= file.data.len() {
            return status(StatusWord::WRONG_OFFSET);
        }
        let end = (offset + wanted).min(file.data.len());
        success(file.data[offset..end].to_vec())
    }

    fn update_binary(&mut self, command: &CommandApdu<'_>) -> StatusWord {
        let [_, _, p1, p2] = command.header;
        if !self.session.verified {
            return StatusWord::SECURITY_NOT_SATISFIED;
        }
        if p1 & 0x80 != 0 {
            return StatusWord::WRONG_PARAMETERS;
        }
        if command.data.is_empty() {
            return StatusWord::WRONG_LENGTH;
        }
        let Some(file) = self
            .session
            .file
            .and_then(|index| self.state.files.get_mut(index))
        else {
            return StatusWord::COMMAND_NOT_ALLOWED;
        };
        if !file.writable {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        }
        let offset = usize::from(u16::from_be_bytes([p1, p2]));
        if offset >= file.data.len() {
            return StatusWord::WRONG_OFFSET;
        }
        let Some(target) = file.data.get_mut(offset..offset + command.data.len()) else {
            return StatusWord::WRONG_LENGTH;
        };
        target.copy_from_slice(command.data);
        StatusWord::SUCCESS
    }

    fn verify(&mut self, command: &CommandApdu<'_>) -> StatusWord {
        let [_, _, p1, p2] = command.header;
        if (p1, p2) != (0x00, PIN_REFERENCE) {
            return StatusWord::WRONG_PARAMETERS;
        }
        if self.state.tries_left == 0 {
            self.session.verified = false;
            return StatusWord::PIN_LOCKED;
        }
        if command.data.is_empty() {
            return if self.session.verified {
                StatusWord::SUCCESS
            } else {
                StatusWord::wrong_pin(self.state.tries_left)
            };
        }
        if command.data.len() != PADDED_PIN_LENGTH {
            return StatusWord::WRONG_LENGTH;
        }
        if command.data == self.state.pin.as_slice() {
            self.state.tries_left = PIN_TRIES;
            self.session.verified = true;
            return StatusWord::SUCCESS;
        }
        self.session.verified = false;
        self.session.pending = Pending::Nothing;
        self.state.tries_left -= 1;
        if self.state.tries_left == 0 {
            StatusWord::PIN_LOCKED
        } else {
            StatusWord::wrong_pin(self.state.tries_left)
        }
    }

    fn private_key_operation(&mut self, command: &CommandApdu<'_>) -> StatusWord {
        let [_, _, p1, p2] = command.header;
        if !self.session.verified {
            self.session.pending = Pending::Nothing;
            return StatusWord::SECURITY_NOT_SATISFIED;
        }
        let Some(key) = KeyRole::from_key_reference(p2) else {
            return StatusWord::REFERENCE_NOT_FOUND;
        };
        let Ok(half) = <[u8; HALF_BLOCK]>::try_from(command.data) else {
            return StatusWord::WRONG_LENGTH;
        };
        match p1 {
            P1_FIRST_HALF => {
                self.session.pending = Pending::FirstHalf {
                    key,
                    half: Box::new(half),
                };
                StatusWord::SUCCESS
            }
            P1_LAST_HALF => {
                let pending = std::mem::replace(&mut self.session.pending, Pending::Nothing);
                let Pending::FirstHalf {
                    key: first_key,
                    half: first,
                } = pending
                else {
                    return StatusWord::CONDITIONS_NOT_SATISFIED;
                };
                if first_key != key {
                    return StatusWord::CONDITIONS_NOT_SATISFIED;
                }
                let mut block = Vec::with_capacity(BLOCK_LENGTH);
                block.extend_from_slice(&first[..]);
                block.extend_from_slice(&half);
                match raw_rsa(self.key(key), &block) {
                    Some(result) => {
                        self.session.pending = Pending::Result(result);
                        StatusWord::SUCCESS
                    }
                    None => StatusWord::WRONG_DATA,
                }
            }
            _ => StatusWord::WRONG_PARAMETERS,
        }
    }

    fn get_result(&mut self, command: &CommandApdu<'_>) -> Vec<u8> {
        let [_, _, p1, p2] = command.header;
        if (p1, p2) != (0x00, 0x00) {
            return status(StatusWord::WRONG_PARAMETERS);
        }
        if command.ne.is_some_and(|ne| ne < BLOCK_LENGTH) {
            return status(StatusWord::WRONG_LENGTH);
        }
        match std::mem::replace(&mut self.session.pending, Pending::Nothing) {
            Pending::Result(result) => success(result),
            other => {
                self.session.pending = other;
                status(StatusWord::CONDITIONS_NOT_SATISFIED)
            }
        }
    }
}

impl IccCard for VirtualCard {
    fn atr(&self) -> Vec<u8> {
        self.state.atr.clone()
    }

    fn reset(&mut self) {
        self.session = Session::new();
    }

    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Ok(command) = CommandApdu::parse(apdu) else {
            return status(StatusWord::WRONG_LENGTH);
        };
        let [cla, instruction, _, _] = command.header;
        if cla != CLA {
            return status(StatusWord::CLASS_NOT_SUPPORTED);
        }
        if command.extended && !self.state.extended_apdus {
            return status(StatusWord::WRONG_LENGTH);
        }
        match instruction {
            ins::SELECT => status(self.select(&command)),
            ins::READ_BINARY => self.read_binary(&command),
            ins::UPDATE_BINARY => status(self.update_binary(&command)),
            ins::VERIFY => status(self.verify(&command)),
            ins::PRIVATE_KEY_OPERATION => status(self.private_key_operation(&command)),
            ins::GET_RESULT => self.get_result(&command),
            _ => status(StatusWord::INSTRUCTION_NOT_SUPPORTED),
        }
    }
}

/// A virtual card shared between a simulated reader and whoever wants to look at it (a test,
/// the demo server saving its state).
#[derive(Debug, Clone)]
pub struct SharedVirtualCard(Rc<RefCell<VirtualCard>>);

impl SharedVirtualCard {
    /// Shares `card`.
    pub fn new(card: VirtualCard) -> SharedVirtualCard {
        SharedVirtualCard(Rc::new(RefCell::new(card)))
    }

    /// Looks at the card (not while the reader is using it).
    pub fn borrow(&self) -> Ref<'_, VirtualCard> {
        self.0.borrow()
    }

    /// Changes the card (not while the reader is using it).
    pub fn borrow_mut(&self) -> RefMut<'_, VirtualCard> {
        self.0.borrow_mut()
    }
}

impl IccCard for SharedVirtualCard {
    fn atr(&self) -> Vec<u8> {
        self.0.borrow().atr()
    }

    fn reset(&mut self) {
        self.0.borrow_mut().reset();
    }

    fn process_apdu(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.0.borrow_mut().process_apdu(apdu)
    }
}

/// Raw RSA: `block` to the private exponent, as 256 big-endian bytes; `None` when the block
/// is not below the modulus.
fn raw_rsa(key: &PrivateKey, block: &[u8]) -> Option<Vec<u8>> {
    let precision = key.n_bits_precision();
    let input = BoxedUint::from_be_slice(block, precision).ok()?;
    let output = rsa::hazmat::rsa_decrypt_and_check(key, None::<&mut NoRng>, &input).ok()?;
    let bytes = output.to_be_bytes();
    // Left-pad to the block length should the precision be wider than the modulus.
    let start = bytes.len().checked_sub(BLOCK_LENGTH)?;
    Some(bytes[start..].to_vec())
}

/// The RNG type `rsa_decrypt_and_check` names when no blinding is wanted (a virtual card has
/// no side channels to guard); it is never called.
struct NoRng;

#[derive(Debug)]
struct NoRandomness;

impl fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the virtual card uses no randomness")
    }
}

impl std::error::Error for NoRandomness {}

impl rsa::rand_core::TryRng for NoRng {
    type Error = NoRandomness;

    fn try_next_u32(&mut self) -> Result<u32, NoRandomness> {
        Err(NoRandomness)
    }

    fn try_next_u64(&mut self) -> Result<u64, NoRandomness> {
        Err(NoRandomness)
    }

    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), NoRandomness> {
        Err(NoRandomness)
    }
}

impl rsa::rand_core::TryCryptoRng for NoRng {}

fn put_slot(file: &mut [u8], slot: Slot, bytes: &[u8]) -> Result<(), VirtualCardError> {
    if bytes.len() > SLOT_SIZE {
        return Err(VirtualCardError::TooLarge {
            slot,
            length: bytes.len(),
        });
    }
    let start = usize::from(slot.offset());
    let Some(target) = file.get_mut(start..start + SLOT_SIZE) else {
        return Err(VirtualCardError::State(
            "the certificate file is too short".into(),
        ));
    };
    target.fill(0xFF);
    for (slot_byte, byte) in target.iter_mut().zip(bytes) {
        *slot_byte = *byte;
    }
    Ok(())
}

fn status(status: StatusWord) -> Vec<u8> {
    status.to_bytes().to_vec()
}

fn success(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&StatusWord::SUCCESS.to_bytes());
    data
}

/// Bytes as a lower-case hex string in the saved state.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    use terms::hex;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::lower(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_read_and_write_as_text() {
        let path = FilePath::try_from("3F00/5030/08F2".to_string());
        assert_eq!(path, Ok(FilePath(vec![0x3F00, 0x5030, 0x08F2])));
        assert_eq!(
            String::from(FilePath(CARD_NUMBER_PATH.to_vec())),
            "3F00/0900/0903"
        );
        assert!(FilePath::try_from("3F00/XYZ".to_string()).is_err());
    }
}
