//! RSA with `ring`: the CA's signer for `x509-cert`'s certificate builder, the check of a
//! card's proof-of-possession signature, and RSA-2048 key generation.
//!
//! Issuance signs with `ring` because it is several times faster than the RustCrypto `rsa`
//! crate (`authority-tools bench` prints the figure), and every renewal signs two certificates.
//! `ring` cannot generate RSA keys, so new keys (the CA's, demo cards') come from the `rsa`
//! crate as PKCS#8 and are loaded into `ring`.

use const_oid::db::rfc5912::{RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION};
use der::asn1::{Any, BitString, Null};
use der::{Decode, Encode};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use signature::{Keypair, Signer};
use spki::{
    AlgorithmIdentifier, AlgorithmIdentifierOwned, Document, EncodePublicKey,
    SignatureAlgorithmIdentifier, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
};

use crate::error::AuthorityError;

/// Bits of every RSA key this authority makes (the CA's and the virtual cards').
pub const RSA_KEY_BITS: usize = 2048;

/// An RSA private key held by `ring`, signing RSASSA-PKCS1-v1_5 with SHA-256.
pub struct RsaSigner {
    key_pair: RsaKeyPair,
    public_key: RsaVerifyingKey,
    random: SystemRandom,
}

impl std::fmt::Debug for RsaSigner {
    // Never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("modulus_bits", &(self.key_pair.public().modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// Loads a PKCS#8 (DER) RSA private key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, AuthorityError> {
        let key_pair = RsaKeyPair::from_pkcs8(pkcs8)
            .map_err(|rejected| AuthorityError::Key(format!("RSA key rejected: {rejected}")))?;
        let public_key = RsaVerifyingKey::from_rsa_public_key(key_pair.public().as_ref())?;
        Ok(Self {
            key_pair,
            public_key,
            random: SystemRandom::new(),
        })
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign_pkcs1_sha256(&self, message: &[u8]) -> Result<Vec<u8>, AuthorityError> {
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &self.random,
                message,
                &mut signature,
            )
            .map_err(|_| AuthorityError::Signing)?;
        Ok(signature)
    }

    /// The public key as a SubjectPublicKeyInfo.
    pub fn public_key(&self) -> &RsaVerifyingKey {
        &self.public_key
    }
}

/// An RSA public key as its SubjectPublicKeyInfo (DER): what `x509-cert` asks of a signer's
/// verifying key, to name the issuer's key in the authority key identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaVerifyingKey {
    spki_der: Vec<u8>,
}

impl RsaVerifyingKey {
    /// From an RSAPublicKey (PKCS#1, DER), as `ring` gives it.
    pub fn from_rsa_public_key(rsa_public_key: &[u8]) -> Result<Self, AuthorityError> {
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::from(Null)),
            },
            subject_public_key: BitString::from_bytes(rsa_public_key)?,
        };
        Ok(Self {
            spki_der: spki.to_der()?,
        })
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The SubjectPublicKeyInfo, decoded.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, AuthorityError> {
        Ok(SubjectPublicKeyInfoOwned::from_der(&self.spki_der)?)
    }
}

impl EncodePublicKey for RsaVerifyingKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::from_der(&self.spki_der)?)
    }
}

/// A PKCS#1 v1.5 signature, as the certificate's signature BIT STRING wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaSignature(pub Vec<u8>);

impl SignatureBitStringEncoding for RsaSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl Signer<RsaSignature> for RsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<RsaSignature, signature::Error> {
        self.sign_pkcs1_sha256(message)
            .map(RsaSignature)
            .map_err(|_| signature::Error::new())
    }
}

impl Keypair for RsaSigner {
    type VerifyingKey = RsaVerifyingKey;

    fn verifying_key(&self) -> RsaVerifyingKey {
        self.public_key.clone()
    }
}

impl SignatureAlgorithmIdentifier for RsaSigner {
    type Params = Null;
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Null> = AlgorithmIdentifier {
        oid: SHA_256_WITH_RSA_ENCRYPTION,
        parameters: Some(Null),
    };
}

/// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature over `message` by the
/// RSA key (`modulus`, `exponent`, big-endian).
pub fn verify_pkcs1_sha256(
    modulus: &[u8],
    exponent: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    RsaPublicKeyComponents {
        n: modulus,
        e: exponent,
    }
    .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
    .is_ok()
}

/// A new RSA-2048 private key, PKCS#8 DER. Slow (hundreds of milliseconds): make keys once.
pub fn generate_rsa_key() -> Result<Vec<u8>, AuthorityError> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, RSA_KEY_BITS)
        .map_err(|error| AuthorityError::Key(format!("RSA key generation: {error}")))?;
    key.to_pkcs8_der()
        .map(|document| document.as_bytes().to_vec())
        .map_err(|error| AuthorityError::Key(format!("PKCS#8 encoding: {error}")))
}
