//! The certification authority: its RSA key (signing with `ring`) and its self-signed
//! certificate, kept in the data directory.
//!
//! The CA's name is MOICA's issuer name (`C=TW, O=行政院, OU=內政部憑證管理中心`), so the page
//! reads our certificates by the same code path as real ones; the key, and so the key
//! identifier, is our own, which tells our certificates from the operator's. A certificate is
//! ours when its issuer name and authority key identifier are our CA's and its signature
//! verifies with our key.

use std::path::Path;

use const_oid::db::rfc4519;
use der::{Encode, Tag};
use ring::rand::SystemRandom;
use spki::SubjectPublicKeyInfoRef;
use time::macros::datetime;
use x509_cert::builder::{self, Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity as X509Validity;

use renewal::{CitizenCertificate, Validity};

use crate::error::AuthorityError;
use crate::files;
use crate::issuance::{name, random_serial, x509_time};
use crate::signer::{generate_rsa_key, verify_pkcs1_sha256, RsaSignature, RsaSigner};

/// The CA's private key in the data directory (PKCS#8 DER, mode 0600).
pub const CA_KEY_FILE: &str = "ca-key.pk8";
/// The CA's certificate in the data directory (DER).
pub const CA_CERTIFICATE_FILE: &str = "ca-certificate.der";

/// The CA's validity: wide enough for every demo certificate, from long expired ones to
/// renewed ones ending years from now.
const CA_VALIDITY: Validity = Validity {
    not_before: datetime!(2008-03-01 00:00:00 UTC),
    not_after: datetime!(2049-12-31 15:59:59 UTC),
};

/// MOICA's issuer name, `C=TW, O=行政院, OU=內政部憑證管理中心`.
pub fn moica_issuer_name() -> Result<Name, AuthorityError> {
    name(&[
        (rfc4519::COUNTRY_NAME, Tag::PrintableString, "TW"),
        (rfc4519::ORGANIZATION_NAME, Tag::Utf8String, "行政院"),
        (
            rfc4519::ORGANIZATIONAL_UNIT_NAME,
            Tag::Utf8String,
            "內政部憑證管理中心",
        ),
    ])
}

/// The CA: key, certificate and name.
#[derive(Debug)]
pub struct CertificateAuthority {
    signer: RsaSigner,
    certificate: CitizenCertificate,
    subject: Name,
    key_id: Vec<u8>,
    random: SystemRandom,
}

impl CertificateAuthority {
    /// A CA with this key (PKCS#8 DER) and a new self-signed certificate.
    pub fn create(key_pkcs8: &[u8]) -> Result<Self, AuthorityError> {
        let signer = RsaSigner::from_pkcs8(key_pkcs8)?;
        let random = SystemRandom::new();
        let subject = moica_issuer_name()?;
        let serial = SerialNumber::new(&random_serial(&random)?)?;
        let validity = X509Validity::new(
            x509_time(CA_VALIDITY.not_before)?,
            x509_time(CA_VALIDITY.not_after)?,
        );
        let profile = CaProfile {
            subject: subject.clone(),
        };
        let certificate =
            CertificateBuilder::new(profile, serial, validity, signer.public_key().spki()?)?
                .build::<_, RsaSignature>(&signer)?;
        Self::from_parts(signer, &certificate.to_der()?)
    }

    /// The CA from its key and certificate (DER).
    pub fn from_parts(signer: RsaSigner, certificate_der: &[u8]) -> Result<Self, AuthorityError> {
        let certificate = CitizenCertificate::from_der(certificate_der)
            .map_err(|error| AuthorityError::Certificate(format!("CA certificate: {error}")))?;
        if certificate.subject_public_key_info_der().ok().as_deref()
            != Some(signer.public_key().spki_der())
        {
            return Err(AuthorityError::Key(
                "the CA certificate is not for the CA key".into(),
            ));
        }
        let key_id = certificate
            .subject_key_id()
            .ok_or_else(|| {
                AuthorityError::Certificate("the CA certificate has no key identifier".into())
            })?
            .to_vec();
        let subject = certificate.x509().tbs_certificate().subject().clone();
        Ok(Self {
            signer,
            certificate,
            subject,
            key_id,
            random: SystemRandom::new(),
        })
    }

    /// Loads the CA from `data_dir`, or makes a new one there (key file mode 0600).
    pub fn load_or_create(data_dir: &Path) -> Result<Self, AuthorityError> {
        let key_path = data_dir.join(CA_KEY_FILE);
        let certificate_path = data_dir.join(CA_CERTIFICATE_FILE);
        if key_path.exists() {
            let key = files::read(&key_path)?;
            let certificate = files::read(&certificate_path)?;
            return Self::from_parts(RsaSigner::from_pkcs8(&key)?, &certificate);
        }
        let key = generate_rsa_key()?;
        let ca = Self::create(&key)?;
        files::write_private(&key_path, &key)?;
        files::write_public(&certificate_path, ca.certificate_der())?;
        Ok(ca)
    }

    /// The CA's signer.
    pub fn signer(&self) -> &RsaSigner {
        &self.signer
    }

    /// The CA's name: the issuer of every certificate it signs.
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The CA certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        self.certificate.der()
    }

    /// The CA's key identifier (its certificates' authority key identifier).
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The random source for serials.
    pub fn random(&self) -> &SystemRandom {
        &self.random
    }

    /// Whether this CA issued `certificate`: issuer name, authority key identifier and
    /// signature all ours.
    pub fn issued(&self, certificate: &CitizenCertificate) -> bool {
        let x509 = certificate.x509();
        if x509.tbs_certificate().issuer() != &self.subject
            || certificate.authority_key_id() != Some(self.key_id.as_slice())
        {
            return false;
        }
        let Some(key) = self.certificate.rsa_public_key() else {
            return false;
        };
        let (Ok(tbs), Some(signature)) =
            (x509.tbs_certificate().to_der(), x509.signature().as_bytes())
        else {
            return false;
        };
        // Only the one algorithm we sign with.
        x509.signature_algorithm().oid == const_oid::db::rfc5912::SHA_256_WITH_RSA_ENCRYPTION
            && verify_pkcs1_sha256(&key.modulus, &key.exponent, &tbs, signature)
    }
}

/// The self-signed CA's profile.
struct CaProfile {
    subject: Name,
}

impl builder::profile::BuilderProfile for CaProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push((&ski).to_extension(subject, &extensions)?);
        let constraints = BasicConstraints {
            ca: true,
            path_len_constraint: Some(0),
        };
        extensions.push((&constraints).to_extension(subject, &extensions)?);
        let usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        extensions.push((&usage).to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}
