//! Certificates in the MOICA end-entity profile (`CARD.md`), built with `x509-cert` and signed
//! by the CA with `ring`.
//!
//! A renewed certificate keeps the original's subject, public key and notBefore; its notAfter
//! is `renewal::rules::renewed_validity`'s; its serial is fresh. Its extensions are our profile's,
//! rebuilt for the role: the subject directory attributes carrying MOICA's certificate type and
//! the holder's last 4 ID digits (as `renewal::certificate` reads them), key usage per role,
//! the MOICA certificate policy, basic constraints, the subject key identifier, and the
//! authority key identifier, which is our CA's subject key identifier.

use std::time::SystemTime;

use const_oid::db::rfc4519;
use der::asn1::{Any, ObjectIdentifier, SetOfVec};
use der::{Decode, Encode, Tag};
use renewal::certificate::oid;
use renewal::{CertificateSerial, CitizenCertificate, KeyRole, Validity};
use ring::rand::{SecureRandom, SystemRandom};
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::builder::{self, Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, KeyUsage, KeyUsages,
    SubjectDirectoryAttributes, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity as X509Validity};

use crate::ca::CertificateAuthority;
use crate::error::AuthorityError;
use crate::signer::RsaSignature;

/// Bytes of a fresh certificate serial (RFC 5280 allows up to 20).
pub const SERIAL_LENGTH: usize = 16;

/// A new certificate to issue for a holder: everything the profile needs.
#[derive(Debug, Clone)]
pub struct CertificateOrder {
    /// The subject, `C=TW, CN=<name>, serialNumber=<16 digits>`.
    pub subject: Name,
    /// The holder's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Signature or encryption.
    pub role: KeyRole,
    /// The last 4 digits of the holder's national ID number.
    pub id_last_four: String,
    /// The validity period.
    pub validity: Validity,
}

/// The subject of a citizen certificate: `C=TW, CN=<name>, serialNumber=<16 digits>`.
pub fn citizen_subject(
    holder_name: &str,
    subject_serial_number: &str,
) -> Result<Name, AuthorityError> {
    name(&[
        (rfc4519::COUNTRY_NAME, Tag::PrintableString, "TW"),
        (rfc4519::COMMON_NAME, Tag::Utf8String, holder_name),
        (
            rfc4519::SERIAL_NUMBER,
            Tag::PrintableString,
            subject_serial_number,
        ),
    ])
}

/// A distinguished name from (attribute, string type, text) in order.
pub fn name(attributes: &[(ObjectIdentifier, Tag, &str)]) -> Result<Name, AuthorityError> {
    let mut rdns = RdnSequence::default();
    for (oid, tag, text) in attributes {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: Any::new(*tag, text.as_bytes())?,
        };
        rdns.push(RelativeDistinguishedName::try_from(vec![atv])?);
    }
    // A Name is an RDNSequence on the wire.
    Ok(Name::from_der(&rdns.to_der()?)?)
}

/// A fresh random serial: 16 bytes, positive, without a leading zero byte.
pub fn random_serial(random: &SystemRandom) -> Result<Vec<u8>, AuthorityError> {
    let mut bytes = [0u8; SERIAL_LENGTH];
    random
        .fill(&mut bytes)
        .map_err(|_| AuthorityError::Random)?;
    // High bit clear (positive without a sign byte), second-highest set (no leading zero).
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    Ok(bytes.to_vec())
}

/// An x509 time for an instant (UTCTime before 2050, GeneralizedTime from then on).
pub fn x509_time(instant: time::OffsetDateTime) -> Result<Time, AuthorityError> {
    Ok(Time::try_from(SystemTime::from(instant))?)
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its serial (known from building it: no need to parse the DER back).
    pub serial: CertificateSerial,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// Issues a certificate for `order` with a fresh serial, signed by `ca`; returns its DER.
pub fn issue(
    ca: &CertificateAuthority,
    order: &CertificateOrder,
) -> Result<Vec<u8>, AuthorityError> {
    Ok(issue_with_serial(ca, order)?.der)
}

/// Issues a certificate for `order` with a fresh serial, signed by `ca`; its serial and DER.
pub fn issue_with_serial(
    ca: &CertificateAuthority,
    order: &CertificateOrder,
) -> Result<Issued, AuthorityError> {
    let serial_bytes = random_serial(ca.random())?;
    let serial = SerialNumber::new(&serial_bytes)?;
    let validity = X509Validity::new(
        x509_time(order.validity.not_before)?,
        x509_time(order.validity.not_after)?,
    );
    let profile = CitizenProfile {
        issuer: ca.subject().clone(),
        subject: order.subject.clone(),
        role: order.role,
        id_last_four: order.id_last_four.clone(),
    };
    let certificate = CertificateBuilder::new(profile, serial, validity, order.public_key.clone())?
        .build::<_, RsaSignature>(ca.signer())?;
    Ok(Issued {
        serial: CertificateSerial::from_der_integer_bytes(&serial_bytes),
        der: certificate.to_der()?,
    })
}

/// The renewed certificate for `original`: same subject, key and notBefore, `validity` (the
/// renewed one), a fresh serial, our profile's extensions for the same role.
pub fn renew(
    ca: &CertificateAuthority,
    original: &CitizenCertificate,
    validity: Validity,
) -> Result<Issued, AuthorityError> {
    let role = original.key_role().ok_or_else(|| {
        AuthorityError::Certificate(
            "the original is neither a signature nor an encryption certificate".into(),
        )
    })?;
    let id_last_four = original.id_last_four().ok_or_else(|| {
        AuthorityError::Certificate("the original carries no last 4 ID digits".into())
    })?;
    let tbs = original.x509().tbs_certificate();
    let order = CertificateOrder {
        subject: tbs.subject().clone(),
        public_key: tbs.subject_public_key_info().clone(),
        role,
        id_last_four: id_last_four.to_owned(),
        validity,
    };
    issue_with_serial(ca, &order)
}

/// Our end-entity profile for `x509-cert`'s builder.
struct CitizenProfile {
    issuer: Name,
    subject: Name,
    role: KeyRole,
    id_last_four: String,
}

impl builder::profile::BuilderProfile for CitizenProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        // RFC 5280 method 1 on both sides, as the CA computed its own subject key identifier.
        let aki = AuthorityKeyIdentifier::try_from(issuer_spk)?;
        extensions.push((&aki).to_extension(subject, &extensions)?);
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push((&ski).to_extension(subject, &extensions)?);
        let usage = match self.role {
            KeyRole::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            KeyRole::Encryption => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        };
        extensions.push((&KeyUsage(usage)).to_extension(subject, &extensions)?);
        let policies = CertificatePolicies(vec![PolicyInformation {
            policy_identifier: oid::MOICA_POLICY,
            policy_qualifiers: None,
        }]);
        extensions.push((&policies).to_extension(subject, &extensions)?);
        let directory = SubjectDirectoryAttributes(vec![
            single_valued(
                oid::MOICA_CERTIFICATE_TYPE,
                Any::encode_from(&oid::CITIZEN_CERTIFICATE)?,
            )?,
            single_valued(
                oid::MOICA_ID_LAST_FOUR,
                Any::new(Tag::PrintableString, self.id_last_four.as_bytes())?,
            )?,
        ]);
        extensions.push((&directory).to_extension(subject, &extensions)?);
        let constraints = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        extensions.push((&constraints).to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}

fn single_valued(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}
