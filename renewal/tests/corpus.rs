//! The real certificates in the shared corpus (`shared/corpora/moica`) parse: CA certificates as
//! CAs, the test end-entity certificates with their holder fields.
//!
//! The corpus sits beside the project root (`../shared` from the workspace); set
//! `MOICA_SHARED_DIR` to the `shared` folder to read it from elsewhere. A missing corpus fails
//! the test: it is part of what the tests check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use renewal::certificate::{CertificateType, ProfileError};
use renewal::{CitizenCertificate, KeyRole};
use terms::hex::upper as hex;
use time::macros::datetime;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("MOICA_SHARED_DIR") {
        Some(shared) => PathBuf::from(shared).join("corpora/moica"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpora/moica"
        )),
    }
}

fn read(name: &str) -> CitizenCertificate {
    let path = corpus_dir().join(name);
    let der = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the MOICA certificate corpus is missing at {} ({e}); it belongs beside the project \
             root, or set MOICA_SHARED_DIR to the `shared` folder",
            path.display()
        )
    });
    CitizenCertificate::from_der(&der).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_certificate_in_the_corpus_parses() {
    let mut count = 0;
    for dir in [corpus_dir(), corpus_dir().join("ee")] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "the MOICA certificate corpus is missing at {} ({e}); set MOICA_SHARED_DIR to \
                 the `shared` folder",
                dir.display()
            )
        });
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "cer") {
                let der = std::fs::read(&path).unwrap();
                CitizenCertificate::from_der(&der)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                count += 1;
            }
        }
    }
    println!("{count} corpus certificates parsed");
    assert!(
        count >= 11,
        "expected the 11 corpus certificates, found {count}"
    );
}

#[test]
fn ca_certificates_parse_as_cas() {
    // (file, subject key identifier prefix)
    let cas = [
        ("GRCA.cer", "CCCCEFCC"),
        ("GRCA2.cer", "D5671DE0"),
        ("GRCA-G3.cer", "3A908EE7"),
        ("GRCA2-cross-signed-by-GRCA.cer", "D5671DE0"),
        ("MOICA.cer", "B620C8CF"),
        ("MOICA2.cer", "FA9B3467"),
        ("MOICA-G3.cer", "4720A3B1"),
        ("ee/synthetic-pse-test-ca.cer", "24E8293C"),
    ];
    for (name, ski) in cas {
        let certificate = read(name);
        assert!(certificate.is_ca(), "{name}");
        assert_eq!(certificate.key_role(), None, "{name}");
        assert_eq!(
            certificate.holder(),
            Err(ProfileError::CertificateAuthority),
            "{name}"
        );
        assert!(
            hex(certificate.subject_key_id().unwrap()).starts_with(ski),
            "{name}"
        );
        assert!(certificate.rsa_public_key().is_some(), "{name}");
    }
}

#[test]
fn moica_generations_share_a_subject_and_differ_by_key_identifier() {
    let g1 = read("MOICA.cer");
    let g2 = read("MOICA2.cer");
    let g3 = read("MOICA-G3.cer");
    for certificate in [&g1, &g2, &g3] {
        assert_eq!(
            certificate.subject(),
            "C=TW, O=行政院, OU=內政部憑證管理中心"
        );
        assert_eq!(certificate.holder_name(), None);
    }
    assert_eq!(
        g2.issuer(),
        "C=TW, O=Government Root Certification Authority"
    );
    assert_eq!(
        g3.issuer(),
        "C=TW, O=行政院, CN=Government Root Certification Authority - G3"
    );
    assert_eq!(
        hex(g1.authority_key_id().unwrap()),
        "CCCCEFCC2960A43BB192B63CFA32628FAC25153B"
    );
    assert_eq!(g2.serial().to_hex(), "51C3B5C1A9A1588609222231D61AC0AD");
    assert_eq!(g2.validity().not_before, datetime!(2014-01-02 06:31:04 UTC));
    assert_eq!(g2.validity().not_after, datetime!(2034-01-02 06:31:04 UTC));
    assert_eq!(g2.rsa_public_key().unwrap().modulus_bits(), 2048);
    assert_eq!(g3.rsa_public_key().unwrap().modulus_bits(), 4096);
    assert_eq!(g3.validity().not_after, datetime!(2044-01-23 15:59:59 UTC));
    let usage = g3.key_usage().unwrap();
    assert!(usage.key_cert_sign && usage.crl_sign && usage.digital_signature);
}

#[test]
fn test_end_entity_certificates_give_holder_fields() {
    let first = read("ee/test-MOICA-testCA-encryption-1.cer");
    let holder = first.holder().unwrap();
    assert_eq!(holder.name, "測試人");
    assert_eq!(holder.subject_serial_number, "1061720472004809");
    assert_eq!(holder.id_last_four, "2116");
    assert_eq!(first.certificate_type(), Some(&CertificateType::Citizen));
    assert!(first.is_mobile());
    assert!(!first.is_ca());
    assert_eq!(first.key_role(), Some(KeyRole::Encryption));
    assert_eq!(first.serial().to_hex(), "88D05A1C8BCD280AC7387EC8F40260D4");
    assert_eq!(
        first.issuer(),
        "C=TW, O=行政院, OU=(測試用) 內政部憑證管理中心"
    );
    assert_eq!(
        first.subject(),
        "C=TW, CN=測試人, serialNumber=1061720472004809"
    );
    assert_eq!(
        hex(first.authority_key_id().unwrap()),
        "EA7A4AAB78C2DA9228E0511AE3DB704F8C01B558"
    );
    assert_eq!(
        hex(first.subject_key_id().unwrap()),
        "4E26E85FC8D46A36BE89F4F5EFE1DA6CF48155AF"
    );
    assert_eq!(
        first.validity().not_before,
        datetime!(2024-07-08 03:21:43 UTC)
    );
    assert_eq!(
        first.validity().not_after,
        datetime!(2024-09-08 15:59:59 UTC)
    );
    let key = first.rsa_public_key().unwrap();
    assert_eq!(key.modulus_bits(), 2048);
    assert_eq!(key.exponent, vec![0x01, 0x00, 0x01]);
    assert!(hex(&key.modulus).starts_with("8479A57E8B5B8264"));

    let second = read("ee/test-MOICA-testCA-encryption-2.cer");
    assert_eq!(second.holder_name(), Some("測試人"));
    assert_eq!(second.subject_serial_number(), Some("1282000269404504"));
    assert_eq!(second.id_last_four(), Some("9945"));
    let other_type = "2.16.886.1.100.3.1.9".parse().unwrap();
    assert_eq!(
        second.certificate_type(),
        Some(&CertificateType::Other(other_type))
    );
    assert_eq!(
        second.holder(),
        Err(ProfileError::NotCitizenType(
            "2.16.886.1.100.3.1.9".to_owned()
        ))
    );
}

#[test]
fn synthetic_user_certificate_has_no_moica_attributes() {
    let user = read("ee/synthetic-pse-test-user.cer");
    // DER order: serialNumber, CN, C.
    assert_eq!(
        user.subject(),
        "serialNumber=0000000000000000, CN=Test User, C=TW"
    );
    assert_eq!(user.holder_name(), Some("Test User"));
    assert_eq!(user.subject_serial_number(), Some("0000000000000000"));
    assert_eq!(user.id_last_four(), None);
    assert_eq!(user.certificate_type(), None);
    assert!(!user.is_ca());
    assert_eq!(user.key_role(), Some(KeyRole::Signature));
    assert_eq!(
        user.serial().to_hex(),
        "5E4FAD0A7C6DD854BE121E7A00733B212C1AED8A"
    );
    assert_eq!(
        user.holder(),
        Err(ProfileError::NotCitizenType("absent".to_owned()))
    );
}
