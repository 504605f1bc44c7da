//! Mutated certificates never panic: every mutation of the corpus certificates either parses or
//! gives a `CertificateError`, and whatever parses can be asked every question without panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use renewal::roc_date::format_instant;
use renewal::{
    decide, CertificateStatus, CertificateView, CitizenCertificate, Language, RenewalRecord,
};
use time::macros::datetime;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = match std::env::var_os("MOICA_SHARED_DIR") {
        Some(shared) => PathBuf::from(shared).join("corpora/moica"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpora/moica"
        )),
    };
    let mut certificates = Vec::new();
    for dir in [root.clone(), root.join("ee")] {
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
                certificates.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    certificates.sort();
    assert!(!certificates.is_empty(), "no certificates in the corpus");
    certificates
}

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound.max(1)).unwrap()).unwrap()
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

fn mutate(rng: &mut XorShift, der: &[u8]) -> Vec<u8> {
    let mut bytes = der.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len());
        match rng.below(7) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes[at] = rng.byte(),
            2 => bytes.truncate(at),
            3 => bytes.insert(at, rng.byte()),
            4 if !bytes.is_empty() => {
                bytes.remove(at);
            }
            // Length bytes are the interesting ones: make one huge, zero or indefinite.
            5 => bytes[at] = [0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF][rng.below(7)],
            _ => {
                let end = (at + rng.below(64)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let to = rng.below(bytes.len());
                bytes.splice(to..to, copy);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
    bytes
}

fn ask_everything(certificate: &CitizenCertificate) {
    let _ = certificate.holder();
    let _ = certificate.issuer();
    let _ = certificate.subject();
    let _ = certificate.key_role();
    let _ = certificate.subject_public_key_info_der();
    let _ = certificate.rsa_public_key().map(|key| key.modulus_bits());
    let _ = certificate.serial().to_hex();
    let validity = certificate.validity();
    let _ = format_instant(validity.not_after, Language::ZhTw);
    let _ = format_instant(validity.not_before, Language::En);
    for status in [CertificateStatus::Valid, CertificateStatus::Suspended] {
        let _ = decide(
            &validity,
            status,
            RenewalRecord::NotRenewed,
            datetime!(2024-06-01 0:00 UTC),
        );
    }
}

#[test]
fn mutated_certificates_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut refused) = (0usize, 0usize);
    for (_, der) in corpus() {
        for _ in 0..2_000 {
            let mutated = mutate(&mut rng, &der);
            // The page's lighter reading never panics either, and agrees wherever the full
            // reading succeeds (it may accept what the full one refuses for an extension).
            let view = CertificateView::from_der(&mutated);
            match CitizenCertificate::from_der(&mutated) {
                Ok(certificate) => {
                    ask_everything(&certificate);
                    let view = view.expect("the view reads what the full reading reads");
                    assert_eq!(view.holder_name(), certificate.holder_name());
                    assert_eq!(view.validity(), certificate.validity());
                    assert_eq!(view.serial(), certificate.serial());
                    assert_eq!(
                        view.subject_public_key_info_der().ok(),
                        certificate.subject_public_key_info_der().ok()
                    );
                    parsed += 1;
                }
                Err(error) => {
                    let _ = error.to_string();
                    refused += 1;
                }
            }
        }
    }
    println!("{parsed} mutated certificates parsed, {refused} refused");
    assert!(refused > 0);
}

#[test]
fn every_prefix_is_refused_without_panic() {
    for (name, der) in corpus() {
        for length in 0..der.len() {
            assert!(
                CitizenCertificate::from_der(&der[..length]).is_err(),
                "{name} cut at {length}"
            );
            assert!(
                CertificateView::from_der(&der[..length]).is_err(),
                "{name} cut at {length}"
            );
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(
            CitizenCertificate::from_der(&trailing).is_err(),
            "{name} with a trailing byte"
        );
    }
}
