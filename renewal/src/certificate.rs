//! The citizen certificate as this project reads it: an X.509 certificate of the MOICA profile
//! (`CARD.md`), decoded with typed ASN.1 (`x509-cert`), never by byte offsets.
//!
//! A MOICA end-entity certificate names its holder in the subject (`C=TW, CN=<name>,
//! serialNumber=<16 digits>`) and carries, in the subject directory attributes extension
//! (2.5.29.9), the last 4 digits of the holder's national ID number and the certificate type.
//! The CA certificates of the same hierarchy parse into the same type, without a holder.
//!
//! Parsing never panics: anything malformed is a [`CertificateError`].

use std::fmt;

use const_oid::db::{rfc4519, rfc5912};
use const_oid::AssociatedOid;
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef, PrintableStringRef, UintRef};
use der::{Decode, Encode, Sequence};
use serde::{Deserialize, Serialize};
use spki::SubjectPublicKeyInfoOwned;
use terms::hex;
use thiserror::Error;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::DirectoryString;
use x509_cert::ext::pkix::{
    BasicConstraints, KeyUsage as X509KeyUsage, SubjectDirectoryAttributes, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::rules::Validity;
use crate::KeyRole;

/// Object identifiers of the MOICA profile (Taiwan's arc 2.16.886).
pub mod oid {
    use der::asn1::ObjectIdentifier;

    /// Subject directory attribute: the certificate type; its value is an OID such as
    /// [`CITIZEN_CERTIFICATE`].
    pub const MOICA_CERTIFICATE_TYPE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.886.1.100.2.1");
    /// Subject directory attribute present on mobile (TW FidO) certificates (`mobile`).
    pub const MOICA_MOBILE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.886.1.100.2.2");
    /// Subject directory attribute: the last 4 digits of the holder's national ID number.
    pub const MOICA_ID_LAST_FOUR: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.886.1.100.2.51");
    /// Certificate type value: a citizen (natural person) certificate.
    pub const CITIZEN_CERTIFICATE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("2.16.886.1.100.3.1.1");
    /// Certificate policy of MOICA certificates.
    pub const MOICA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.886.101.0.3.3");
    /// The subject directory attributes extension (2.5.29.9).
    pub const SUBJECT_DIRECTORY_ATTRIBUTES: ObjectIdentifier =
        const_oid::db::rfc5280::ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES;
}

/// Why bytes are not a certificate we can read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertificateError {
    /// The bytes are not a DER X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Der(der::Error),
    /// A subject attribute we read (CN, serialNumber) is not a directory string.
    #[error("the subject's {attribute} is not a directory string: {source}")]
    SubjectAttribute {
        /// Which attribute.
        attribute: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// An extension we read is malformed or appears twice.
    #[error("the {extension} extension is malformed or repeated: {source}")]
    Extension {
        /// Which extension.
        extension: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// A MOICA subject directory attribute has a value of the wrong kind.
    #[error("the subject directory attribute {attribute} is malformed")]
    DirectoryAttribute {
        /// The attribute's OID, dotted.
        attribute: String,
    },
    /// The last-4-digits attribute is not four ASCII digits.
    #[error("the last-4-ID-digits attribute is {0:?}, not four digits")]
    IdLastFour(String),
    /// The key is declared RSA but its body is not an RSAPublicKey.
    #[error("the RSA public key is malformed: {0}")]
    RsaPublicKey(der::Error),
    /// A validity time is out of the range we can represent.
    #[error("the certificate's {0} time is out of range")]
    Time(&'static str),
}

/// Why a readable certificate is not a citizen certificate a holder can renew.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    /// It is a CA certificate.
    #[error("this is a certification authority's certificate, not a citizen's")]
    CertificateAuthority,
    /// The subject has no common name (the holder's name).
    #[error("the certificate names no holder (no CN)")]
    MissingHolderName,
    /// The subject has no serialNumber.
    #[error("the certificate's subject has no serialNumber")]
    MissingSubjectSerialNumber,
    /// No last-4-ID-digits attribute.
    #[error("the certificate carries no last 4 digits of the national ID number")]
    MissingIdLastFour,
    /// The certificate type is missing or not the citizen type.
    #[error("the certificate type is {0}, not a citizen certificate (2.16.886.1.100.3.1.1)")]
    NotCitizenType(String),
}

/// A certificate serial number: the bytes of the positive integer, without the sign-padding
/// zero DER adds before a high bit (so `88D05A…`, as `openssl` prints it). Written as upper-case
/// hex without separators; read from hex with or without `:`/spaces, any case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateSerial(Vec<u8>);

/// Why a text is not a certificate serial.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SerialError {
    /// Empty, odd length, or not hex.
    #[error("{0:?} is not a certificate serial in hex")]
    NotHex(String),
}

impl CertificateSerial {
    /// From the content bytes of the DER INTEGER.
    pub fn from_der_integer_bytes(bytes: &[u8]) -> Self {
        let canonical = match bytes {
            [0, next, ..] if *next >= 0x80 => bytes.get(1..).unwrap_or(bytes),
            _ => bytes,
        };
        Self(canonical.to_vec())
    }

    /// The serial's bytes, big-endian, without sign padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case hex (`88D05A1C…`).
    pub fn to_hex(&self) -> String {
        hex::upper(&self.0)
    }

    /// Reads hex ([`terms::hex::parse`]: `:` or spaces may separate bytes); a sign-padding `00`
    /// before a byte of 80 or more is ignored (`00:88:D0…` as some tools print it is `88D0…`).
    pub fn from_hex(text: &str) -> Result<Self, SerialError> {
        match hex::parse(text) {
            Ok(bytes) if !bytes.is_empty() => Ok(Self::from_der_integer_bytes(&bytes)),
            _ => Err(SerialError::NotHex(text.to_owned())),
        }
    }
}

impl fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl TryFrom<String> for CertificateSerial {
    type Error = SerialError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_hex(&text)
    }
}

impl From<CertificateSerial> for String {
    fn from(serial: CertificateSerial) -> Self {
        serial.to_hex()
    }
}

/// The certificate type attribute (2.16.886.1.100.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateType {
    /// 2.16.886.1.100.3.1.1: a citizen certificate.
    Citizen,
    /// Another type (for example 2.16.886.1.100.3.1.9, seen on a test certificate).
    Other(ObjectIdentifier),
}

impl fmt::Display for CertificateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateType::Citizen => write!(f, "{}", oid::CITIZEN_CERTIFICATE),
            CertificateType::Other(other) => write!(f, "{other}"),
        }
    }
}

/// The key usage bits a certificate asserts (RFC 5280 §4.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)] // the field names are RFC 5280's bits
pub struct KeyUsage {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub data_encipherment: bool,
    pub key_agreement: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

impl KeyUsage {
    /// The key signs (digitalSignature or nonRepudiation).
    pub fn signs(&self) -> bool {
        self.digital_signature || self.non_repudiation
    }

    /// The key encrypts (keyEncipherment or dataEncipherment).
    pub fn encrypts(&self) -> bool {
        self.key_encipherment || self.data_encipherment
    }
}

/// An RSA public key's integers, big-endian without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The modulus n.
    pub modulus: Vec<u8>,
    /// The public exponent e.
    pub exponent: Vec<u8>,
}

impl RsaPublicKey {
    /// The modulus length in bits (2048 for MOICA citizen keys).
    pub fn modulus_bits(&self) -> usize {
        match self.modulus.first() {
            None => 0,
            Some(first) => {
                self.modulus.len() * 8 - usize::try_from(first.leading_zeros()).unwrap_or(0)
            }
        }
    }
}

/// What a renewal needs to know about the holder, present on every citizen certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder<'a> {
    /// The holder's name (the subject CN).
    pub name: &'a str,
    /// The subject serialNumber (16 digits; not the ID number).
    pub subject_serial_number: &'a str,
    /// The last 4 digits of the national ID number.
    pub id_last_four: &'a str,
}

/// A certificate read from DER for what a renewal shows and compares: holder name, subject
/// serialNumber, validity, serial and public key. Its extensions are not decoded, so the page
/// carries no code for them (about 9 KB of brotli-compressed WebAssembly); the authority, which
/// checks the profile, reads a [`CitizenCertificate`].
#[derive(Debug, Clone)]
pub struct CertificateView {
    der: Vec<u8>,
    x509: Certificate,
    holder_name: Option<String>,
    subject_serial_number: Option<String>,
    validity: Validity,
    serial: CertificateSerial,
}

impl CertificateView {
    /// Reads a DER certificate (exactly one, no trailing bytes).
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let x509 = Certificate::from_der(der).map_err(CertificateError::Der)?;
        let tbs = x509.tbs_certificate();
        let subject = tbs.subject();
        let holder_name = directory_string(subject, rfc4519::COMMON_NAME, "CN")?;
        let subject_serial_number =
            directory_string(subject, rfc4519::SERIAL_NUMBER, "serialNumber")?;
        let validity = Validity {
            not_before: instant(tbs.validity().not_before, "notBefore")?,
            not_after: instant(tbs.validity().not_after, "notAfter")?,
        };
        let serial = CertificateSerial::from_der_integer_bytes(tbs.serial_number().as_bytes());
        Ok(Self {
            der: der.to_vec(),
            x509,
            holder_name,
            subject_serial_number,
            validity,
            serial,
        })
    }

    /// The certificate's DER bytes, as read.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded X.509 structure, for anything this type does not surface.
    pub fn x509(&self) -> &Certificate {
        &self.x509
    }

    /// The holder's name (subject CN), decoded from UTF8String, BMPString, PrintableString or
    /// TeletexString as it occurs. CA certificates have none.
    pub fn holder_name(&self) -> Option<&str> {
        self.holder_name.as_deref()
    }

    /// The subject serialNumber (16 digits on MOICA certificates; not the ID number).
    pub fn subject_serial_number(&self) -> Option<&str> {
        self.subject_serial_number.as_deref()
    }

    /// notBefore and notAfter.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// The certificate's serial number.
    pub fn serial(&self) -> &CertificateSerial {
        &self.serial
    }

    /// The SubjectPublicKeyInfo, DER-encoded: the renewed certificate must carry the same.
    pub fn subject_public_key_info_der(&self) -> Result<Vec<u8>, CertificateError> {
        self.x509
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(CertificateError::Der)
    }
}

/// A certificate of the MOICA hierarchy, read from DER with the extensions the profile uses:
/// a citizen's or a CA's.
#[derive(Debug, Clone)]
pub struct CitizenCertificate {
    view: CertificateView,
    id_last_four: Option<String>,
    certificate_type: Option<CertificateType>,
    mobile: bool,
    authority_key_id: Option<Vec<u8>>,
    subject_key_id: Option<Vec<u8>>,
    key_usage: Option<KeyUsage>,
    is_ca: bool,
    rsa_public_key: Option<RsaPublicKey>,
}

impl CitizenCertificate {
    /// Reads a DER certificate (exactly one, no trailing bytes); a malformed or repeated
    /// extension of those the profile uses is an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let view = CertificateView::from_der(der)?;
        let tbs = view.x509.tbs_certificate();
        let directory = read_directory_attributes(tbs)?;
        let authority_key_id = extension::<AuthorityKeyId<'_>>(tbs, "authority key identifier")?
            .and_then(|aki| aki.key_identifier)
            .map(|id| id.as_bytes().to_vec());
        let subject_key_id = extension::<SubjectKeyIdentifier>(tbs, "subject key identifier")?
            .map(|ski| ski.0.as_bytes().to_vec());
        let key_usage = extension::<X509KeyUsage>(tbs, "key usage")?.map(|usage| KeyUsage {
            digital_signature: usage.digital_signature(),
            non_repudiation: usage.non_repudiation(),
            key_encipherment: usage.key_encipherment(),
            data_encipherment: usage.data_encipherment(),
            key_agreement: usage.key_agreement(),
            key_cert_sign: usage.key_cert_sign(),
            crl_sign: usage.crl_sign(),
        });
        let is_ca = extension::<BasicConstraints>(tbs, "basic constraints")?
            .is_some_and(|constraints| constraints.ca);
        let rsa_public_key = read_rsa_public_key(tbs.subject_public_key_info())?;
        Ok(Self {
            id_last_four: directory.id_last_four,
            certificate_type: directory.certificate_type,
            mobile: directory.mobile,
            authority_key_id,
            subject_key_id,
            key_usage,
            is_ca,
            rsa_public_key,
            view,
        })
    }

    /// What every certificate has, without the profile's extensions.
    pub fn view(&self) -> &CertificateView {
        &self.view
    }

    /// The certificate's DER bytes, as read.
    pub fn der(&self) -> &[u8] {
        self.view.der()
    }

    /// The decoded X.509 structure, for anything this type does not surface.
    pub fn x509(&self) -> &Certificate {
        self.view.x509()
    }

    /// The holder's name (subject CN), decoded from UTF8String, BMPString, PrintableString or
    /// TeletexString as it occurs. CA certificates have none.
    pub fn holder_name(&self) -> Option<&str> {
        self.view.holder_name()
    }

    /// The subject serialNumber (16 digits on MOICA certificates; not the ID number).
    pub fn subject_serial_number(&self) -> Option<&str> {
        self.view.subject_serial_number()
    }

    /// The last 4 digits of the holder's national ID number (attribute 2.16.886.1.100.2.51).
    pub fn id_last_four(&self) -> Option<&str> {
        self.id_last_four.as_deref()
    }

    /// The certificate type attribute (2.16.886.1.100.2.1), if present.
    pub fn certificate_type(&self) -> Option<&CertificateType> {
        self.certificate_type.as_ref()
    }

    /// Whether the certificate is marked `mobile` (attribute 2.16.886.1.100.2.2).
    pub fn is_mobile(&self) -> bool {
        self.mobile
    }

    /// notBefore and notAfter.
    pub fn validity(&self) -> Validity {
        self.view.validity()
    }

    /// The issuer, as `C=TW, O=行政院, OU=內政部憑證管理中心` (attributes in DER order).
    pub fn issuer(&self) -> String {
        name_to_string(self.x509().tbs_certificate().issuer())
    }

    /// The subject, as `C=TW, CN=王小明, serialNumber=…` (attributes in DER order).
    pub fn subject(&self) -> String {
        name_to_string(self.x509().tbs_certificate().subject())
    }

    /// The certificate's serial number.
    pub fn serial(&self) -> &CertificateSerial {
        self.view.serial()
    }

    /// The authority key identifier's keyIdentifier: tells MOICA G1, G2 and G3 apart.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The subject key identifier.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }

    /// The SubjectPublicKeyInfo, DER-encoded: the renewed certificate must carry the same.
    pub fn subject_public_key_info_der(&self) -> Result<Vec<u8>, CertificateError> {
        self.view.subject_public_key_info_der()
    }

    /// The RSA public key, if the key is RSA.
    pub fn rsa_public_key(&self) -> Option<&RsaPublicKey> {
        self.rsa_public_key.as_ref()
    }

    /// The key usage bits, if the extension is present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// Whether basic constraints mark this certificate as a CA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Which of the card's two user certificates this is, by its key usage: signature only or
    /// encryption only. `None` for a CA (basic constraints, certificate or CRL signing), a key
    /// that does both, or no key usage.
    pub fn key_role(&self) -> Option<KeyRole> {
        let usage = self.key_usage?;
        if self.is_ca || usage.key_cert_sign || usage.crl_sign {
            return None;
        }
        match (usage.signs(), usage.encrypts()) {
            (true, false) => Some(KeyRole::Signature),
            (false, true) => Some(KeyRole::Encryption),
            (true, true) | (false, false) => None,
        }
    }

    /// The holder's name, subject serialNumber and last 4 ID digits, or why this is not a
    /// citizen certificate a holder could renew.
    pub fn holder(&self) -> Result<Holder<'_>, ProfileError> {
        if self.is_ca {
            return Err(ProfileError::CertificateAuthority);
        }
        match &self.certificate_type {
            Some(CertificateType::Citizen) => {}
            Some(other) => return Err(ProfileError::NotCitizenType(other.to_string())),
            None => return Err(ProfileError::NotCitizenType("absent".to_owned())),
        }
        Ok(Holder {
            name: self.holder_name().ok_or(ProfileError::MissingHolderName)?,
            subject_serial_number: self
                .subject_serial_number()
                .ok_or(ProfileError::MissingSubjectSerialNumber)?,
            id_last_four: self.id_last_four().ok_or(ProfileError::MissingIdLastFour)?,
        })
    }
}

/// An AuthorityKeyIdentifier (RFC 5280 § 4.2.1.1), read for its key identifier. The issuer
/// name and serial alternative, which MOICA certificates do not carry, is checked for shape
/// but its general names are left undecoded: x509-cert's decoding of every `GeneralName`
/// choice is about 15 KB of the page's WebAssembly.
#[derive(Sequence)]
struct AuthorityKeyId<'a> {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    key_identifier: Option<&'a OctetStringRef>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    authority_cert_issuer: Option<Vec<AnyRef<'a>>>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    authority_cert_serial_number: Option<UintRef<'a>>,
}

impl AssociatedOid for AuthorityKeyId<'_> {
    const OID: ObjectIdentifier = const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER;
}

/// An extension decoded as `T`; a malformed or repeated one is an error.
fn extension<'a, T>(
    tbs: &'a TbsCertificate,
    name: &'static str,
) -> Result<Option<T>, CertificateError>
where
    T: Decode<'a, Error = der::Error> + AssociatedOid,
{
    tbs.get_extension::<T>()
        .map(|found| found.map(|(_critical, value)| value))
        .map_err(|source| CertificateError::Extension {
            extension: name,
            source,
        })
}

/// What MOICA puts in the subject directory attributes extension.
#[derive(Default)]
struct DirectoryAttributes {
    id_last_four: Option<String>,
    certificate_type: Option<CertificateType>,
    mobile: bool,
}

fn read_directory_attributes(
    tbs: &TbsCertificate,
) -> Result<DirectoryAttributes, CertificateError> {
    let mut found = DirectoryAttributes::default();
    let attributes = extension::<SubjectDirectoryAttributes>(tbs, "subject directory attributes")?;
    for attribute in attributes
        .map(|attributes| attributes.0)
        .unwrap_or_default()
    {
        let malformed = || CertificateError::DirectoryAttribute {
            attribute: attribute.oid.to_string(),
        };
        // Each MOICA attribute carries one value.
        let value = attribute.values.iter().next();
        if attribute.oid == oid::MOICA_ID_LAST_FOUR {
            let digits = value
                .and_then(|value| DirectoryString::try_from(value).ok())
                .ok_or_else(malformed)?
                .value()
                .into_owned();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CertificateError::IdLastFour(digits));
            }
            found.id_last_four = Some(digits);
        } else if attribute.oid == oid::MOICA_CERTIFICATE_TYPE {
            let kind = value
                .and_then(|value| value.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(malformed)?;
            found.certificate_type = Some(if kind == oid::CITIZEN_CERTIFICATE {
                CertificateType::Citizen
            } else {
                CertificateType::Other(kind)
            });
        } else if attribute.oid == oid::MOICA_MOBILE {
            found.mobile = true;
        }
    }
    Ok(found)
}

/// The RSA integers of an rsaEncryption key; `None` for other algorithms.
fn read_rsa_public_key(
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<Option<RsaPublicKey>, CertificateError> {
    if spki.algorithm.oid != rfc5912::RSA_ENCRYPTION {
        return Ok(None);
    }
    // The key is a whole number of bytes; unused bits would make it malformed.
    let body = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CertificateError::RsaPublicKey(der::Tag::BitString.value_error().into()))?;
    let key = pkcs1::RsaPublicKey::<UintRef<'_>>::from_der(body)
        .map_err(CertificateError::RsaPublicKey)?;
    Ok(Some(RsaPublicKey {
        modulus: key.modulus.as_bytes().to_vec(),
        exponent: key.public_exponent.as_bytes().to_vec(),
    }))
}

/// The first value of `attribute` in `name`, as text.
fn directory_string(
    name: &Name,
    attribute: ObjectIdentifier,
    label: &'static str,
) -> Result<Option<String>, CertificateError> {
    name.iter()
        .find(|atv| atv.oid == attribute)
        .map(|atv| {
            DirectoryString::try_from(&atv.value)
                .map(|value| value.value().into_owned())
                .map_err(|source| CertificateError::SubjectAttribute {
                    attribute: label,
                    source,
                })
        })
        .transpose()
}

fn instant(time: Time, label: &'static str) -> Result<time::OffsetDateTime, CertificateError> {
    i64::try_from(time.to_unix_duration().as_secs())
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .ok_or(CertificateError::Time(label))
}

/// A distinguished name for people: `C=TW, O=行政院, OU=內政部憑證管理中心`.
fn name_to_string(name: &Name) -> String {
    name.iter()
        .map(attribute_to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn attribute_to_string(atv: &AttributeTypeAndValue) -> String {
    let label = match atv.oid {
        oid if oid == rfc4519::COUNTRY_NAME => "C".to_owned(),
        oid if oid == rfc4519::ORGANIZATION_NAME => "O".to_owned(),
        oid if oid == rfc4519::ORGANIZATIONAL_UNIT_NAME => "OU".to_owned(),
        oid if oid == rfc4519::COMMON_NAME => "CN".to_owned(),
        oid if oid == rfc4519::SERIAL_NUMBER => "serialNumber".to_owned(),
        oid if oid == rfc4519::LOCALITY_NAME => "L".to_owned(),
        oid if oid == rfc4519::ST => "ST".to_owned(),
        other => other.to_string(),
    };
    let value = DirectoryString::try_from(&atv.value)
        .map(|value| value.value().into_owned())
        .or_else(|_| {
            atv.value
                .decode_as::<PrintableStringRef<'_>>()
                .map(|s| s.to_string())
        })
        .unwrap_or_else(|_| format!("#{}", hex::upper(atv.value.value())));
    format!("{label}={value}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use der::asn1::OctetString;
    use der::{Decode, Encode};
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::AuthorityKeyIdentifier;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;

    use super::AuthorityKeyId;

    /// The narrow reading agrees with x509-cert's full one, whichever fields are present.
    #[test]
    fn authority_key_id_reads_the_key_identifier_beside_any_issuer_and_serial() {
        let key_id = OctetString::new(vec![0x5A; 20]).unwrap();
        let issuer: Name = "CN=Root,O=Example,C=TW".parse().unwrap();
        let cases = [
            AuthorityKeyIdentifier {
                key_identifier: Some(key_id.clone()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            AuthorityKeyIdentifier {
                key_identifier: Some(key_id.clone()),
                authority_cert_issuer: Some(vec![GeneralName::DirectoryName(issuer.clone())]),
                authority_cert_serial_number: Some(SerialNumber::new(&[0x01, 0x02]).unwrap()),
            },
            AuthorityKeyIdentifier {
                key_identifier: None,
                authority_cert_issuer: Some(vec![
                    GeneralName::DirectoryName(issuer),
                    GeneralName::DnsName(der::asn1::Ia5String::new("ca.example").unwrap()),
                ]),
                authority_cert_serial_number: Some(SerialNumber::new(&[0x7F]).unwrap()),
            },
        ];
        for full in cases {
            let der = full.to_der().unwrap();
            let narrow = AuthorityKeyId::from_der(&der).unwrap();
            assert_eq!(
                narrow.key_identifier.map(|id| id.as_bytes().to_vec()),
                full.key_identifier.map(|id| id.as_bytes().to_vec())
            );
            assert_eq!(
                narrow.authority_cert_issuer.map(|names| names.len()),
                full.authority_cert_issuer.map(|names| names.len())
            );
        }
        // Not an AuthorityKeyIdentifier: refused, as before.
        assert!(AuthorityKeyId::from_der(&[0x30, 0x03, 0x80, 0x05, 0x00]).is_err());
        assert!(AuthorityKeyId::from_der(&[0x04, 0x00]).is_err());
    }
}
