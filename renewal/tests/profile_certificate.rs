//! A certificate built in our profile (the MOICA end-entity profile of CARD.md) with
//! `x509-cert`'s builder parses back with every field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use der::asn1::{Any, ObjectIdentifier, SetOfVec, UtcTime};
use der::{Decode, Encode, Tag};
use renewal::certificate::{oid, CertificateError, CertificateType};
use renewal::rules::{classify_term, Term};
use renewal::{decide, CertificateStatus, CitizenCertificate, KeyRole, RenewalRecord, Validity};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use time::macros::datetime;
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

const TEST_KEY: &[u8] = include_bytes!("data/test-rsa2048-private.pk8.der");

const COUNTRY: ObjectIdentifier = const_oid::db::rfc4519::COUNTRY_NAME;
const ORGANIZATION: ObjectIdentifier = const_oid::db::rfc4519::ORGANIZATION_NAME;
const UNIT: ObjectIdentifier = const_oid::db::rfc4519::ORGANIZATIONAL_UNIT_NAME;
const COMMON_NAME: ObjectIdentifier = const_oid::db::rfc4519::COMMON_NAME;
const SERIAL_NUMBER: ObjectIdentifier = const_oid::db::rfc4519::SERIAL_NUMBER;

/// How the holder's name is encoded in the subject.
#[derive(Clone, Copy, Debug)]
enum NameString {
    Utf8,
    Bmp,
    Printable,
}

fn string_value(tag: Tag, text: &str) -> Any {
    let bytes: Vec<u8> = match tag {
        Tag::BmpString => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        _ => text.as_bytes().to_vec(),
    };
    Any::new(tag, bytes).unwrap()
}

fn name(attributes: &[(ObjectIdentifier, Tag, &str)]) -> Name {
    let mut rdns = RdnSequence::default();
    for (oid, tag, text) in attributes {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: string_value(*tag, text),
        };
        rdns.push(RelativeDistinguishedName::try_from(vec![atv]).unwrap());
    }
    // A Name is an RDNSequence on the wire.
    Name::from_der(&rdns.to_der().unwrap()).unwrap()
}

/// The MOICA end-entity profile: subject `C=TW, CN=…, serialNumber=…`, AKI, SKI, critical key
/// usage, MOICA policy, and the subject directory attributes (type and last 4 ID digits).
struct MoicaEndEntity {
    issuer: Name,
    subject: Name,
    role: KeyRole,
    id_last_four: &'static str,
}

impl builder::Profile for MoicaEndEntity {
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
        let attribute = |oid, value: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![value]).unwrap(),
        };
        let directory = SubjectDirectoryAttributes(vec![
            attribute(
                oid::MOICA_CERTIFICATE_TYPE,
                Any::encode_from(&oid::CITIZEN_CERTIFICATE).unwrap(),
            ),
            attribute(
                oid::MOICA_ID_LAST_FOUR,
                string_value(Tag::Utf8String, self.id_last_four),
            ),
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

fn utc(unix_seconds: i64) -> Time {
    UtcTime::from_unix_duration(Duration::from_secs(u64::try_from(unix_seconds).unwrap()))
        .unwrap()
        .into()
}

struct Built {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    issuer_key_id: Vec<u8>,
}

fn build(holder: &str, encoding: NameString, role: KeyRole) -> Built {
    build_with_last_four(holder, encoding, role, "6789")
}

fn build_with_last_four(
    holder: &str,
    encoding: NameString,
    role: KeyRole,
    id_last_four: &'static str,
) -> Built {
    let private_key = rsa::PrivateKey::from_pkcs8_der(TEST_KEY).unwrap();
    let public_key = private_key.to_public_key();
    let signer = SigningKey::<Sha256>::new(private_key);
    let spki_der = public_key.to_public_key_der().unwrap().as_bytes().to_vec();
    let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der).unwrap();

    let holder_tag = match encoding {
        NameString::Utf8 => Tag::Utf8String,
        NameString::Bmp => Tag::BmpString,
        NameString::Printable => Tag::PrintableString,
    };
    let profile = MoicaEndEntity {
        issuer: name(&[
            (COUNTRY, Tag::PrintableString, "TW"),
            (ORGANIZATION, Tag::Utf8String, "行政院"),
            (UNIT, Tag::Utf8String, "內政部憑證管理中心"),
        ]),
        subject: name(&[
            (COUNTRY, Tag::PrintableString, "TW"),
            (COMMON_NAME, holder_tag, holder),
            (SERIAL_NUMBER, Tag::PrintableString, "1234567890123456"),
        ]),
        role,
        id_last_four,
    };
    let validity = X509Validity::new(
        utc(datetime!(2019-01-12 02:47:35 UTC).unix_timestamp()),
        utc(datetime!(2024-01-12 15:59:59 UTC).unix_timestamp()),
    );
    // A 16-byte serial with its high bit set: DER adds a sign byte, the model drops it.
    let serial = SerialNumber::new(&[
        0x88, 0xD0, 0x5A, 0x1C, 0x8B, 0xCD, 0x28, 0x0A, 0xC7, 0x38, 0x7E, 0xC8, 0xF4, 0x02, 0x60,
        0xD4,
    ])
    .unwrap();
    let certificate = CertificateBuilder::new(profile, serial, validity, spki)
        .unwrap()
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .unwrap();

    // RFC 5280 method (1): SHA-1 of the subjectPublicKey bits.
    let key_bits = SubjectPublicKeyInfoOwned::from_der(&spki_der).unwrap();
    let issuer_key_id = sha1_of(key_bits.subject_public_key.raw_bytes());
    Built {
        der: certificate.to_der().unwrap(),
        spki_der,
        modulus: public_key.n().to_be_bytes_trimmed_vartime().to_vec(),
        exponent: public_key.e().to_be_bytes_trimmed_vartime().to_vec(),
        issuer_key_id,
    }
}

fn sha1_of(bytes: &[u8]) -> Vec<u8> {
    use sha1::Sha1;
    Sha1::digest(bytes).to_vec()
}

#[test]
fn our_profile_parses_back_with_every_field() {
    let built = build("王小明", NameString::Utf8, KeyRole::Signature);
    let certificate = CitizenCertificate::from_der(&built.der).unwrap();

    let holder = certificate.holder().unwrap();
    assert_eq!(holder.name, "王小明");
    assert_eq!(holder.subject_serial_number, "1234567890123456");
    assert_eq!(holder.id_last_four, "6789");
    assert_eq!(
        certificate.certificate_type(),
        Some(&CertificateType::Citizen)
    );
    assert!(!certificate.is_mobile());
    assert_eq!(
        certificate.subject(),
        "C=TW, CN=王小明, serialNumber=1234567890123456"
    );
    assert_eq!(
        certificate.issuer(),
        "C=TW, O=行政院, OU=內政部憑證管理中心"
    );
    assert_eq!(
        certificate.serial().to_hex(),
        "88D05A1C8BCD280AC7387EC8F40260D4"
    );
    let validity = certificate.validity();
    assert_eq!(
        validity,
        Validity {
            not_before: datetime!(2019-01-12 02:47:35 UTC),
            not_after: datetime!(2024-01-12 15:59:59 UTC),
        }
    );
    assert_eq!(classify_term(&validity), Term::Original);
    assert!(decide(
        &validity,
        CertificateStatus::Valid,
        RenewalRecord::NotRenewed,
        datetime!(2024-01-01 0:00 UTC)
    )
    .is_eligible());
    // Self-signed with the test key: AKI and SKI are both the key's identifier.
    assert_eq!(
        certificate.authority_key_id(),
        Some(built.issuer_key_id.as_slice())
    );
    assert_eq!(
        certificate.subject_key_id(),
        Some(built.issuer_key_id.as_slice())
    );
    assert_eq!(
        certificate.subject_public_key_info_der().unwrap(),
        built.spki_der
    );
    let key = certificate.rsa_public_key().unwrap();
    assert_eq!(key.modulus, built.modulus);
    assert_eq!(key.exponent, built.exponent);
    assert_eq!(key.modulus_bits(), 2048);
    let usage = certificate.key_usage().unwrap();
    assert!(usage.digital_signature && usage.non_repudiation && !usage.key_encipherment);
    assert_eq!(certificate.key_role(), Some(KeyRole::Signature));
    assert!(!certificate.is_ca());
    assert_eq!(certificate.der(), built.der.as_slice());
}

#[test]
fn holder_names_read_from_every_string_type() {
    let cases = [
        ("陳大文", NameString::Bmp, KeyRole::Encryption),
        ("CHEN TA WEN", NameString::Printable, KeyRole::Encryption),
    ];
    for (holder, encoding, role) in cases {
        let built = build(holder, encoding, role);
        let certificate = CitizenCertificate::from_der(&built.der).unwrap();
        assert_eq!(certificate.holder_name(), Some(holder), "{encoding:?}");
        assert_eq!(certificate.key_role(), Some(KeyRole::Encryption));
        assert!(certificate.key_usage().unwrap().encrypts());
    }
}

#[test]
fn malformed_last_four_digits_are_a_typed_error() {
    for bad in ["21a6", "211", "21160"] {
        let built = build_with_last_four("王小明", NameString::Utf8, KeyRole::Signature, bad);
        assert_eq!(
            CitizenCertificate::from_der(&built.der).unwrap_err(),
            CertificateError::IdLastFour(bad.to_owned())
        );
    }
}
