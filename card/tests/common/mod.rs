//! Test fixtures: RSA keys generated once per test binary, certificates in MOICA's profile made
//! with `x509-cert`'s builder, a virtual card holding them, and helpers that read what the
//! simulated reader saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use card::pin::Pin;
use card::virtual_card::{CardCertificates, VirtualCard};
use ccid::atr::Edc;
use ccid::message::Command;
use ccid::sim::SimReader;
use ccid::t1::block::{self, Block};
use der::Encode;
use rsa::pkcs1v15::SigningKey;
use rsa::PrivateKey;
use sha2::Sha256;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;
use x509_cert::TbsCertificate;

pub const CARD_NUMBER: &str = "TP03000000001234";
pub const PIN: &str = "600101";
pub const WRONG_PIN: &str = "A00000";
pub const HOLDER: &str = "王小明";
pub const HOLDER_SERIAL: &str = "1234567890123456";

pub struct Fixture {
    pub ca_key: PrivateKey,
    pub encryption_key: PrivateKey,
    pub signature_key: PrivateKey,
    pub root_ca: Vec<u8>,
    pub issuing_ca: Vec<u8>,
    pub encryption: Vec<u8>,
    pub signature: Vec<u8>,
    /// A renewed signature certificate (same key, new serial and validity).
    pub renewed_signature: Vec<u8>,
}

/// Keys and certificates, made once per test binary (RSA key generation is slow).
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = || PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let ca_key = key();
        let encryption_key = key();
        let signature_key = key();
        let root_name = Name::from_str("C=TW,O=Test,CN=Test Root CA").unwrap();
        let issuing_name = Name::from_str("C=TW,O=行政院,OU=內政部憑證管理中心").unwrap();
        let holder =
            Name::from_str(&format!("C=TW,CN={HOLDER},serialNumber={HOLDER_SERIAL}")).unwrap();
        let root_ca = certificate(&ca_key, &root_name, &root_name, &ca_key, 1);
        let issuing_ca = certificate(&ca_key, &root_name, &issuing_name, &ca_key, 2);
        let encryption = certificate(&ca_key, &issuing_name, &holder, &encryption_key, 3);
        let signature = certificate(&ca_key, &issuing_name, &holder, &signature_key, 4);
        let renewed_signature = certificate(&ca_key, &issuing_name, &holder, &signature_key, 5);
        Fixture {
            ca_key,
            encryption_key,
            signature_key,
            root_ca,
            issuing_ca,
            encryption,
            signature,
            renewed_signature,
        }
    })
}

struct Profile {
    issuer: Name,
    subject: Name,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// An RSA-2048 sha256WithRSAEncryption certificate for `subject_key`, signed by `issuer_key`.
fn certificate(
    issuer_key: &PrivateKey,
    issuer: &Name,
    subject: &Name,
    subject_key: &PrivateKey,
    serial: u8,
) -> Vec<u8> {
    let profile = Profile {
        issuer: issuer.clone(),
        subject: subject.clone(),
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(subject_key.as_public_key()).unwrap();
    let validity = Validity::from_now(Duration::from_secs(8 * 365 * 24 * 3600)).unwrap();
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(&[serial]).unwrap(),
        validity,
        spki,
    )
    .unwrap();
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    let certificate = builder
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .unwrap();
    certificate.to_der().unwrap()
}

/// A first-generation virtual card with all four certificates.
pub fn virtual_card() -> VirtualCard {
    let f = fixture();
    VirtualCard::new(
        CARD_NUMBER,
        &Pin::new(PIN).unwrap(),
        &f.encryption_key,
        &f.signature_key,
        &CardCertificates {
            root_ca: Some(&f.root_ca),
            issuing_ca: Some(&f.issuing_ca),
            encryption: Some(&f.encryption),
            signature: Some(&f.signature),
        },
    )
    .unwrap()
}

/// How a simulated reader carries APDUs in its XfrBlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// APDU level: the APDU itself, chained over `wLevelParameter`.
    Apdu,
    /// TPDU level with T=1: I-blocks, chained by their M bit.
    T1,
}

/// Every command APDU the reader carried to the card, reassembled from its XfrBlocks.
pub fn sent_apdus(device: &SimReader, framing: Framing) -> Vec<Vec<u8>> {
    let mut apdus = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    for command in device.commands() {
        let Command::XfrBlock { level, data, .. } = command else {
            continue;
        };
        match framing {
            Framing::Apdu => match level {
                0x0000 => apdus.push(data),
                0x0001 | 0x0003 => partial.extend_from_slice(&data),
                0x0002 => {
                    partial.extend_from_slice(&data);
                    apdus.push(std::mem::take(&mut partial));
                }
                _ => {}
            },
            Framing::T1 => {
                // The PPS exchange before the T=1 link is not a block.
                let Ok((_, Block::I { more, inf, .. })) = block::decode(&data, Edc::Lrc) else {
                    continue;
                };
                partial.extend_from_slice(&inf);
                if !more {
                    apdus.push(std::mem::take(&mut partial));
                }
            }
        }
    }
    apdus
}

/// How many carried APDUs have instruction `ins`.
pub fn count_ins(device: &SimReader, framing: Framing, ins: u8) -> usize {
    sent_apdus(device, framing)
        .iter()
        .filter(|apdu| apdu.get(1) == Some(&ins))
        .count()
}
