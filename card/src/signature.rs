//! Signatures with the card's keys: the host pads, the card does raw RSA, the host checks.
//!
//! The card's private-key operation takes a 256-byte block and returns it raised to the
//! private exponent. The host builds the block as EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of a SHA-256
//! digest, so the result is a PKCS#1 v1.5 signature, and (with the `verify-signatures` feature,
//! on by default) verifies it with the certificate's public key before anyone relies on it: a
//! card that answers with garbage, or a certificate that belongs to another key, is caught here
//! and not at the authority. Without the feature only the key's size and the signature's length
//! are checked, and the party the signature is for must verify it (the authority does).

use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::command::HALF_BLOCK;
use crate::error::CardError;

/// The modulus length the card's keys have (RSA-2048), and so the block length.
pub const BLOCK_LENGTH: usize = 2 * HALF_BLOCK;
/// The length of a SHA-256 digest.
pub const SHA256_LENGTH: usize = 32;
/// The DER of `DigestInfo { sha256, NULL }` up to the digest (RFC 8017 §9.2, note 1).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// A PKCS#1 v1.5 signature made by the card and checked against its certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// The signature bytes (256 for RSA-2048).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The signature bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({} bytes)", self.0.len())
    }
}

/// SHA-256 of `message`.
pub fn sha256(message: &[u8]) -> [u8; SHA256_LENGTH] {
    Sha256::digest(message).into()
}

/// EMSA-PKCS1-v1_5 encoding of a SHA-256 digest for a 2048-bit modulus:
/// `00 01 FF…FF 00 DigestInfo(sha256, digest)` (RFC 8017 §9.2, steps 2 to 5).
pub fn pkcs1_v1_5_block(digest: &[u8; SHA256_LENGTH]) -> [u8; BLOCK_LENGTH] {
    let t_length = SHA256_DIGEST_INFO_PREFIX.len() + SHA256_LENGTH;
    // PS is k − tLen − 3 bytes of FF: 202 here, well above the 8 the RFC requires.
    let ps_end = BLOCK_LENGTH - t_length - 1;
    let mut block = [0xFF; BLOCK_LENGTH];
    block[0] = 0x00;
    block[1] = 0x01;
    block[ps_end] = 0x00;
    block[ps_end + 1..ps_end + 1 + SHA256_DIGEST_INFO_PREFIX.len()]
        .copy_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    block[BLOCK_LENGTH - SHA256_LENGTH..].copy_from_slice(digest);
    block
}

/// The certificate's RSA public key, which must be 2048 bits (the private-key operation takes
/// two 128-byte halves).
#[cfg(feature = "verify-signatures")]
pub fn certificate_public_key(certificate: &Certificate) -> Result<rsa::PublicKey, CardError> {
    use der::Encode;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;

    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CardError::UnsupportedKey(e.to_string()))?;
    let key = rsa::PublicKey::from_public_key_der(&spki)
        .map_err(|e| CardError::UnsupportedKey(format!("not an RSA key ({e})")))?;
    check_key_size(key.size())?;
    Ok(key)
}

/// The length of the certificate's RSA modulus, which must be 2048 bits (the private-key
/// operation takes two 128-byte halves).
#[cfg(not(feature = "verify-signatures"))]
pub fn certificate_public_key(certificate: &Certificate) -> Result<usize, CardError> {
    use der::asn1::UintRef;
    use der::Decode;

    let info = certificate.tbs_certificate().subject_public_key_info();
    if info.algorithm.oid != pkcs1::ALGORITHM_OID {
        return Err(CardError::UnsupportedKey(format!(
            "not an RSA key ({})",
            info.algorithm.oid
        )));
    }
    let bytes = info.subject_public_key.as_bytes().ok_or_else(|| {
        CardError::UnsupportedKey("the key's bit string is not whole bytes".into())
    })?;
    let key = pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(bytes)
        .map_err(|e| CardError::UnsupportedKey(format!("not an RSA key ({e})")))?;
    let size = key.modulus.as_bytes().len();
    check_key_size(size)?;
    Ok(size)
}

fn check_key_size(bytes: usize) -> Result<(), CardError> {
    if bytes != BLOCK_LENGTH {
        return Err(CardError::UnsupportedKey(format!(
            "an RSA key of {} bits; the card's keys have 2048",
            bytes * 8
        )));
    }
    Ok(())
}

/// Whether `signature` is a valid PKCS#1 v1.5 SHA-256 signature of `digest` under `key`.
#[cfg(feature = "verify-signatures")]
pub fn verifies(key: &rsa::PublicKey, digest: &[u8; SHA256_LENGTH], signature: &[u8]) -> bool {
    key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature)
        .is_ok()
}

/// Whether `signature` has the modulus's length (the one check possible without the key's
/// arithmetic; see the module's documentation).
#[cfg(not(feature = "verify-signatures"))]
pub fn verifies(modulus_length: &usize, _digest: &[u8; SHA256_LENGTH], signature: &[u8]) -> bool {
    signature.len() == *modulus_length
}

/// Wraps card output that verified.
pub(crate) fn checked(bytes: Vec<u8>) -> Signature {
    Signature(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_emsa_pkcs1_v1_5_of_the_digest_info() {
        let digest = sha256(b"abc");
        let block = pkcs1_v1_5_block(&digest);
        assert_eq!(block[..2], [0x00, 0x01]);
        assert!(block[2..204].iter().all(|&b| b == 0xFF));
        assert_eq!(block[204], 0x00);
        assert_eq!(block[205..224], SHA256_DIGEST_INFO_PREFIX);
        assert_eq!(block[224..], digest);
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(digest[..4], [0xBA, 0x78, 0x16, 0xBF]);
    }
}
