//! The proof-of-possession bytes: their exact layout, their independence from how the user typed,
//! and that a card applying its key to our block yields a standard signature the authority
//! verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use renewal::proof::{
    identity_digest, pkcs1_v15_sha256_block, proof_digest, proof_message, ProofError,
    CHALLENGE_LENGTH,
};
use renewal::{Birthday, CertificateSerial, Challenge, NationalId};
use rsa::hazmat::rsa_encrypt;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::BoxedUint;
use sha2::Sha256;
use terms::hex::lower as hex;

const TEST_KEY: &[u8] = include_bytes!("data/test-rsa2048-private.pk8.der");

fn challenge() -> Challenge {
    let mut bytes = [0u8; CHALLENGE_LENGTH];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::try_from(index).unwrap();
    }
    Challenge::new(bytes)
}

fn serial() -> CertificateSerial {
    CertificateSerial::from_hex("88D05A1C8BCD280AC7387EC8F40260D4").unwrap()
}

fn id() -> NationalId {
    NationalId::parse("A123456789").unwrap()
}

fn birthday() -> Birthday {
    Birthday::parse("1990-01-01").unwrap()
}

#[test]
fn message_layout_is_exactly_as_documented() {
    // Computed independently: SHA-256 over the length-prefixed fields.
    assert_eq!(
        hex(&identity_digest(&id(), birthday())),
        "3048e715aff1f4f0e48515e3628075fd5083b142cd85e25c680e27c2e3fab790"
    );
    let message = proof_message(&challenge(), &serial(), &id(), birthday());
    assert_eq!(
        hex(&message),
        concat!(
            "00000014",
            "4d4f4943412d52454e4557414c2d504f502d7631", // MOICA-RENEWAL-POP-v1
            "00000020",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "00000010",
            "88d05a1c8bcd280ac7387ec8f40260d4",
            "00000020",
            "3048e715aff1f4f0e48515e3628075fd5083b142cd85e25c680e27c2e3fab790",
        )
    );
    assert_eq!(
        hex(&proof_digest(&challenge(), &serial(), &id(), birthday())),
        "5524b574b4f5aa39aabcd7fbac6eeacb4ad34da8bb66699937108b7bcebe1638"
    );
}

#[test]
fn the_way_the_user_typed_does_not_change_the_bytes() {
    let expected = proof_message(&challenge(), &serial(), &id(), birthday());
    for (typed_id, typed_birthday) in [
        ("a123456789", "0790101"),
        (" A123456789", "79/01/01"),
        ("Ａ１２３４５６７８９", "民國79年1月1日"),
    ] {
        let message = proof_message(
            &challenge(),
            &serial(),
            &NationalId::parse(typed_id).unwrap(),
            Birthday::parse(typed_birthday).unwrap(),
        );
        assert_eq!(message, expected, "{typed_id} {typed_birthday}");
    }
}

#[test]
fn every_input_changes_the_bytes() {
    let base = proof_message(&challenge(), &serial(), &id(), birthday());
    let mut other_challenge = *challenge().as_bytes();
    other_challenge[31] ^= 1;
    let variants = [
        proof_message(
            &Challenge::new(other_challenge),
            &serial(),
            &id(),
            birthday(),
        ),
        proof_message(
            &challenge(),
            &CertificateSerial::from_hex("88D05A").unwrap(),
            &id(),
            birthday(),
        ),
        proof_message(
            &challenge(),
            &serial(),
            &NationalId::parse("B298765438").unwrap(),
            birthday(),
        ),
        proof_message(
            &challenge(),
            &serial(),
            &id(),
            Birthday::parse("1990-01-02").unwrap(),
        ),
    ];
    for variant in &variants {
        assert_ne!(variant, &base);
    }
    // Lengths are part of the bytes: a serial 01 and a serial 00 01 differ even though a reader
    // without lengths could not tell where the serial ends.
    let short = proof_message(
        &challenge(),
        &CertificateSerial::from_hex("01").unwrap(),
        &id(),
        birthday(),
    );
    let long = proof_message(
        &challenge(),
        &CertificateSerial::from_hex("0001").unwrap(),
        &id(),
        birthday(),
    );
    assert_ne!(short, long);
}

#[test]
fn pkcs1_block_has_the_rfc_8017_digest_info() {
    let digest = proof_digest(&challenge(), &serial(), &id(), birthday());
    let block = pkcs1_v15_sha256_block(&digest, 256).unwrap();
    assert_eq!(block.len(), 256);
    assert_eq!(&block[..2], &[0x00, 0x01]);
    let separator = block.iter().skip(2).position(|&b| b != 0xFF).unwrap() + 2;
    assert_eq!(separator, 256 - 19 - 32 - 1);
    assert_eq!(block[separator], 0x00);
    // RFC 8017 §9.2, note 1: the SHA-256 DigestInfo prefix.
    assert_eq!(
        hex(&block[separator + 1..separator + 20]),
        "3031300d060960864801650304020105000420"
    );
    assert_eq!(&block[separator + 20..], &digest);
    assert_eq!(
        pkcs1_v15_sha256_block(&digest, 61),
        Err(ProofError::ModulusTooShort(61))
    );
    assert_eq!(pkcs1_v15_sha256_block(&digest, 62).unwrap().len(), 62);
}

#[test]
fn a_card_signing_our_block_gives_a_standard_signature() {
    let private_key = rsa::PrivateKey::from_pkcs8_der(TEST_KEY).unwrap();
    let public_key = private_key.to_public_key();
    let message = proof_message(&challenge(), &serial(), &id(), birthday());

    // A standard RSASSA-PKCS1-v1_5 SHA-256 signature over the message, opened with the public
    // key, is exactly the block the page hands the card.
    let signature: Signature = SigningKey::<Sha256>::new(private_key).sign(&message);
    let signature_bytes = signature.to_vec();
    let opened = rsa_encrypt(
        &public_key,
        &BoxedUint::from_be_slice(&signature_bytes, 2048).unwrap(),
    )
    .unwrap()
    .to_be_bytes();
    let digest = proof_digest(&challenge(), &serial(), &id(), birthday());
    assert_eq!(
        opened.as_ref(),
        pkcs1_v15_sha256_block(&digest, 256).unwrap().as_slice()
    );

    // The authority recomputes the message from its records and verifies.
    let verifier = VerifyingKey::<Sha256>::new(public_key);
    assert!(verifier.verify(&message, &signature).is_ok());
    let wrong_birthday = proof_message(
        &challenge(),
        &serial(),
        &id(),
        Birthday::parse("0790102").unwrap(),
    );
    assert!(verifier.verify(&wrong_birthday, &signature).is_err());
}

#[test]
fn challenges_travel_as_base64_of_32_bytes() {
    let json = serde_json::to_string(&challenge()).unwrap();
    assert_eq!(json, "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"");
    assert_eq!(
        serde_json::from_str::<Challenge>(&json).unwrap(),
        challenge()
    );
    assert!(serde_json::from_str::<Challenge>("\"AAEC\"").is_err());
    assert!(serde_json::from_str::<Challenge>("\"not base64!\"").is_err());
    assert_eq!(
        Challenge::from_slice(&[0; 31]),
        Err(ProofError::ChallengeLength(31))
    );
}
