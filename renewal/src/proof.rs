//! The bytes the card signs to prove it holds the certificate's private key, defined once for
//! the page and the authority.
//!
//! ```text
//! identity = SHA-256( field("MOICA-RENEWAL-IDENTITY-v1")
//!                   ‖ field(national ID, upper-case ASCII, e.g. "A123456789")
//!                   ‖ field(birthday, Gregorian "YYYY-MM-DD") )
//! message  = field("MOICA-RENEWAL-POP-v1")
//!          ‖ field(challenge, the authority's 32 random bytes)
//!          ‖ field(serial of the signature certificate, big-endian, no sign padding)
//!          ‖ field(identity)
//! field(x) = length of x as 4 bytes big-endian ‖ x
//! ```
//!
//! The card signs `message` with its signature key (reference `02`) as RSASSA-PKCS1-v1_5 with
//! SHA-256: the host hashes `message`, builds the padded block with [`pkcs1_v15_sha256_block`]
//! and has the card apply its private key to it.
//!
//! Why this shape:
//! - the context string keeps this signature from ever being valid for another purpose (and a
//!   future version of the format from being confused with this one);
//! - every field carries its length, so no two different inputs give the same bytes;
//! - the challenge makes each signature fresh and single-use;
//! - the serial binds the proof to the certificate being renewed;
//! - the typed identity is hashed so the signed bytes (and any log of them) do not carry the
//!   ID number and birthday in the clear, while the authority, which knows them from its
//!   records, can recompute the digest; a wrong ID or birthday makes the signature fail.

use der::asn1::{AnyRef, OctetStringRef};
use der::{Encode, Sequence};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierRef;
use thiserror::Error;

use crate::api::Base64Bytes;
use crate::birthday::Birthday;
use crate::certificate::CertificateSerial;
use crate::national_id::NationalId;

/// Context string opening every proof-of-possession message.
pub const PROOF_CONTEXT: &str = "MOICA-RENEWAL-POP-v1";
/// Context string opening the identity digest.
pub const IDENTITY_CONTEXT: &str = "MOICA-RENEWAL-IDENTITY-v1";
/// Bytes in an authority challenge.
pub const CHALLENGE_LENGTH: usize = 32;

/// Why proof-of-possession input is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// A challenge must be exactly [`CHALLENGE_LENGTH`] bytes.
    #[error("a challenge has {CHALLENGE_LENGTH} bytes, this one has {0}")]
    ChallengeLength(usize),
    /// The RSA modulus is too short for a PKCS#1 v1.5 SHA-256 block.
    #[error("a {0}-byte RSA modulus is too short for a PKCS#1 v1.5 SHA-256 signature")]
    ModulusTooShort(usize),
    /// DER encoding of the DigestInfo failed.
    #[error("encoding the DigestInfo failed: {0}")]
    Encoding(der::Error),
}

/// The authority's fresh random challenge; base64 on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Base64Bytes", into = "Base64Bytes")]
pub struct Challenge([u8; CHALLENGE_LENGTH]);

impl Challenge {
    /// A challenge from the authority's random bytes.
    pub fn new(bytes: [u8; CHALLENGE_LENGTH]) -> Self {
        Self(bytes)
    }

    /// A challenge from bytes of any length (checked).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ProofError> {
        <[u8; CHALLENGE_LENGTH]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ProofError::ChallengeLength(bytes.len()))
    }

    /// The challenge's bytes.
    pub fn as_bytes(&self) -> &[u8; CHALLENGE_LENGTH] {
        &self.0
    }
}

impl TryFrom<Base64Bytes> for Challenge {
    type Error = ProofError;
    fn try_from(bytes: Base64Bytes) -> Result<Self, Self::Error> {
        Self::from_slice(&bytes.0)
    }
}

impl From<Challenge> for Base64Bytes {
    fn from(challenge: Challenge) -> Self {
        Base64Bytes(challenge.0.to_vec())
    }
}

/// Appends `field` with its length as 4 bytes big-endian.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Every field here is far below 4 GiB; saturating keeps the function total.
    let length = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(field);
}

/// SHA-256 of the typed identity: the national ID (upper-case) and the birthday (normalised).
pub fn identity_digest(national_id: &NationalId, birthday: Birthday) -> [u8; 32] {
    let mut input = Vec::new();
    push_field(&mut input, IDENTITY_CONTEXT.as_bytes());
    push_field(&mut input, national_id.as_str().as_bytes());
    push_field(&mut input, birthday.normalized().as_bytes());
    Sha256::digest(&input).into()
}

/// The exact bytes the card signs (see the module documentation).
pub fn proof_message(
    challenge: &Challenge,
    signature_certificate_serial: &CertificateSerial,
    national_id: &NationalId,
    birthday: Birthday,
) -> Vec<u8> {
    let mut message = Vec::new();
    push_field(&mut message, PROOF_CONTEXT.as_bytes());
    push_field(&mut message, challenge.as_bytes());
    push_field(&mut message, signature_certificate_serial.as_bytes());
    push_field(&mut message, &identity_digest(national_id, birthday));
    message
}

/// SHA-256 of [`proof_message`]: what the PKCS#1 v1.5 signature covers.
pub fn proof_digest(
    challenge: &Challenge,
    signature_certificate_serial: &CertificateSerial,
    national_id: &NationalId,
    birthday: Birthday,
) -> [u8; 32] {
    Sha256::digest(proof_message(
        challenge,
        signature_certificate_serial,
        national_id,
        birthday,
    ))
    .into()
}

/// DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
/// (RFC 8017 §9.2).
#[derive(Sequence)]
struct DigestInfo<'a> {
    algorithm: AlgorithmIdentifierRef<'a>,
    digest: &'a OctetStringRef,
}

/// The EMSA-PKCS1-v1_5 encoded block for a SHA-256 digest and a modulus of `modulus_length`
/// bytes: `00 01 FF…FF 00 DigestInfo(sha256, digest)`. The card applies its private key to this
/// block (the reference card takes it in two 128-byte halves).
pub fn pkcs1_v15_sha256_block(
    digest: &[u8; 32],
    modulus_length: usize,
) -> Result<Vec<u8>, ProofError> {
    let digest_info = DigestInfo {
        algorithm: AlgorithmIdentifierRef {
            oid: const_oid::db::rfc5912::ID_SHA_256,
            parameters: Some(AnyRef::NULL),
        },
        digest: OctetStringRef::new(digest).map_err(ProofError::Encoding)?,
    }
    .to_der()
    .map_err(ProofError::Encoding)?;
    // At least 8 bytes of FF padding (RFC 8017 §9.2 step 3).
    let padding = modulus_length
        .checked_sub(digest_info.len() + 3)
        .filter(|padding| *padding >= 8)
        .ok_or(ProofError::ModulusTooShort(modulus_length))?;
    let mut block = Vec::with_capacity(modulus_length);
    block.extend_from_slice(&[0x00, 0x01]);
    block.resize(2 + padding, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&digest_info);
    Ok(block)
}
