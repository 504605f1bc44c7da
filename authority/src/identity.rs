//! The holder's identity as the authority keeps it: the national ID number only as a keyed
//! hash (HMAC-SHA256 with a secret in the data directory), so a copy of the database alone
//! does not give the numbers away, while a typed number can still be matched.
//!
//! The key is made on first start (or by `authority-tools init-demo`) as `identity-key` (32
//! random bytes, mode 0600). Losing it makes every holder record unmatchable: back it up with
//! the database.

use std::path::Path;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use renewal::{Birthday, NationalId};

use crate::error::AuthorityError;
use crate::files;

/// The identity key's file in the data directory.
pub const IDENTITY_KEY_FILE: &str = "identity-key";
/// Bytes of the identity key.
const KEY_LENGTH: usize = 32;

/// Domain-separation labels: the one key hashes ID numbers and request fingerprints, and the
/// two must never collide.
const NATIONAL_ID_LABEL: &[u8] = b"national-id-v1\0";
const FINGERPRINT_LABEL: &[u8] = b"request-fingerprint-v1\0";

/// The keyed hash of national ID numbers.
#[derive(Clone)]
pub struct IdentityKey(hmac::Key);

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

impl IdentityKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthorityError> {
        if bytes.len() != KEY_LENGTH {
            return Err(AuthorityError::Key(format!(
                "the identity key has {} bytes where {KEY_LENGTH} are due",
                bytes.len()
            )));
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    /// Loads the key from `data_dir`, or makes one there (mode 0600).
    pub fn load_or_create(data_dir: &Path) -> Result<Self, AuthorityError> {
        let path = data_dir.join(IDENTITY_KEY_FILE);
        if path.exists() {
            return Self::from_bytes(&files::read(&path)?);
        }
        let mut bytes = [0u8; KEY_LENGTH];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| AuthorityError::Random)?;
        files::write_private(&path, &bytes)?;
        Self::from_bytes(&bytes)
    }

    /// The keyed hash of a national ID number (upper-case, as [`NationalId`] normalises it).
    pub fn national_id_hash(&self, national_id: &NationalId) -> Vec<u8> {
        self.tag(NATIONAL_ID_LABEL, &[national_id.as_str().as_bytes()])
    }

    /// A keyed fingerprint of a request's parts, to tell a retried request from another one
    /// without storing what it carried.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.tag(FINGERPRINT_LABEL, parts)
    }

    fn tag(&self, label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(label);
        for part in parts {
            // Length-prefixed, so no two different lists of parts give the same input.
            context.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            context.update(part);
        }
        context.sign().as_ref().to_vec()
    }

    /// Whether the typed identity is the holder's on record, comparing in constant time.
    pub fn matches(
        &self,
        national_id: &NationalId,
        birthday: Birthday,
        recorded_hash: &[u8],
        recorded_birthday: Birthday,
    ) -> bool {
        let id_matches = constant_time_equal(&self.national_id_hash(national_id), recorded_hash);
        let birthday_matches = birthday == recorded_birthday;
        id_matches & birthday_matches
    }
}

/// Equality that takes the same time wherever the first difference is, so response times do
/// not reveal how much of a guessed hash was right.
fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(0u8, |difference, (x, y)| difference | (x ^ y))
            == 0
}
