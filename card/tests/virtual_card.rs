//! The virtual card on its own: every status word of the reference profile, the raw RSA
//! operation, and saving and loading its state.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use card::signature::{pkcs1_v1_5_block, sha256};
use card::virtual_card::{VirtualCard, VirtualCardError, VirtualCardState};
use card::{Pin, Slot};
use ccid::sim::IccCard;
use common::{fixture, virtual_card, CARD_NUMBER, PIN};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

fn sw(response: &[u8]) -> u16 {
    let [.., sw1, sw2] = response else {
        panic!("no status word: {response:02X?}");
    };
    u16::from_be_bytes([*sw1, *sw2])
}

fn select(card: &mut VirtualCard, path: &[u16]) {
    for fid in path {
        let [hi, lo] = fid.to_be_bytes();
        assert_eq!(
            sw(&card.process_apdu(&[0x80, 0xA4, 0x00, 0x00, 0x02, hi, lo])),
            0x9000
        );
    }
}

fn verify(card: &mut VirtualCard, pin: &str) -> u16 {
    let mut apdu = vec![0x80, 0x20, 0x00, 0x01, 0x08];
    apdu.extend_from_slice(&Pin::new(pin).unwrap().padded()[..]);
    sw(&card.process_apdu(&apdu))
}

fn halves(key: u8, block: &[u8; 256]) -> [Vec<u8>; 2] {
    let mut first = vec![0x80, 0xEA, 0x82, key, 0x80];
    first.extend_from_slice(&block[..128]);
    let mut last = vec![0x80, 0xEA, 0x02, key, 0x80];
    last.extend_from_slice(&block[128..]);
    [first, last]
}

#[test]
fn the_file_system_answers_as_the_profile_says() {
    let mut card = virtual_card();
    // READ BINARY before any file is selected.
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xB0, 0x00, 0x00, 0x10])),
        0x6986
    );
    select(&mut card, &[0x3F00, 0x0900, 0x0903]);
    let response = card.process_apdu(&[0x80, 0xB0, 0x00, 0x00, 0x10]);
    assert_eq!(&response[..16], CARD_NUMBER.as_bytes());
    assert_eq!(sw(&response), 0x9000);
    // A sibling EF from the same directory; then one that does not exist.
    select(&mut card, &[0x0905]);
    let response = card.process_apdu(&[0x80, 0xB0, 0x00, 0x00, 0x00]);
    assert_eq!(&response[..response.len() - 2], b"REF V1.0");
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xA4, 0x00, 0x00, 0x02, 0x12, 0x34])),
        0x6A82
    );
    // Offset beyond the file.
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xB0, 0x00, 0x10, 0x01])),
        0x6B00
    );
    // The certificate file, one whole slot in one extended READ BINARY.
    select(&mut card, &[0x3F00, 0x5030, 0x08F2]);
    let response = card.process_apdu(&[0x80, 0xB0, 0x15, 0x00, 0x00, 0x07, 0x00]);
    assert_eq!(response.len(), 0x700 + 2);
    assert_eq!(
        &response[..fixture().signature.len()],
        &fixture().signature[..]
    );
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xB0, 0x1C, 0x00, 0x01])),
        0x6B00
    );
    // Class, instruction and length errors.
    assert_eq!(
        sw(&card.process_apdu(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00])),
        0x6E00
    );
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0x84, 0x00, 0x00, 0x08])),
        0x6D00
    );
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xA4, 0x00, 0x00, 0x03, 0x3F])),
        0x6700
    );
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xA4, 0x00, 0x00, 0x01, 0x3F])),
        0x6700
    );
}

#[test]
fn pin_tries_and_the_private_key_operation() {
    let mut card = virtual_card();
    let block = pkcs1_v1_5_block(&sha256(b"challenge"));
    let [first, last] = halves(0x02, &block);
    // Without the PIN: 6982 for the operation and for writes; 6985 with nothing pending.
    assert_eq!(sw(&card.process_apdu(&first)), 0x6982);
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xC1, 0x00, 0x00, 0x00])),
        0x6985
    );
    select(&mut card, &[0x3F00, 0x5030, 0x08F2]);
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xD6, 0x00, 0x00, 0x01, 0xAA])),
        0x6982
    );
    // Tries: 63C3, a wrong PIN 63C2, the right one 9000 and tries back to 3.
    assert_eq!(sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01])), 0x63C3);
    assert_eq!(verify(&mut card, "999999"), 0x63C2);
    assert_eq!(sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01])), 0x63C2);
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01, 0x04, 1, 2, 3, 4])),
        0x6700
    );
    assert_eq!(verify(&mut card, PIN), 0x9000);
    assert_eq!(sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01])), 0x9000);
    assert_eq!(card.tries_left(), 3);
    // The last half first, an unknown key, a short half: refused.
    assert_eq!(sw(&card.process_apdu(&last)), 0x6985);
    let [bad_key, _] = halves(0x03, &block);
    assert_eq!(sw(&card.process_apdu(&bad_key)), 0x6A88);
    assert_eq!(sw(&card.process_apdu(&first[..100])), 0x6700);
    // Both halves, then the result: raw RSA of the padded block is a PKCS#1 v1.5 signature.
    assert_eq!(sw(&card.process_apdu(&first)), 0x9000);
    assert_eq!(sw(&card.process_apdu(&last)), 0x9000);
    let response = card.process_apdu(&[0x80, 0xC1, 0x00, 0x00, 0x00]);
    assert_eq!(sw(&response), 0x9000);
    let signature = Signature::try_from(&response[..256]).unwrap();
    VerifyingKey::<Sha256>::new(fixture().signature_key.to_public_key())
        .verify(b"challenge", &signature)
        .unwrap();
    // Fetched once.
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xC1, 0x00, 0x00, 0x00])),
        0x6985
    );
    // Writes: the certificate file after the PIN; never the card number.
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xD6, 0x1B, 0xFF, 0x01, 0xAA])),
        0x9000
    );
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xD6, 0x1B, 0xFF, 0x02, 0xAA, 0xBB])),
        0x6700
    );
    select(&mut card, &[0x3F00, 0x0900, 0x0903]);
    assert_eq!(
        sw(&card.process_apdu(&[0x80, 0xD6, 0x00, 0x00, 0x01, b'X'])),
        0x6985
    );
    // Reset ends the session.
    card.reset();
    assert!(!card.pin_verified());
    assert_eq!(sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01])), 0x63C3);
    // Three wrong: 63C2, 63C1, 6983, and locked from then on.
    assert_eq!(verify(&mut card, "999999"), 0x63C2);
    assert_eq!(verify(&mut card, "999999"), 0x63C1);
    assert_eq!(verify(&mut card, "999999"), 0x6983);
    assert_eq!(verify(&mut card, PIN), 0x6983);
    assert_eq!(sw(&card.process_apdu(&[0x80, 0x20, 0x00, 0x01])), 0x6983);
    assert_eq!(sw(&card.process_apdu(&first)), 0x6982);
}

#[test]
fn the_state_saves_and_loads() {
    let mut card = virtual_card();
    // Change it first: a try spent, a slot rewritten.
    assert_eq!(verify(&mut card, "999999"), 0x63C2);
    card.set_slot_bytes(Slot::IssuingCa, &[]).unwrap();
    let json = serde_json::to_string_pretty(&card).unwrap();
    assert!(json.contains("\"3F00/5030/08F2\""), "paths are readable");
    let mut loaded: VirtualCard = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded.state(), card.state());
    assert_eq!(loaded.tries_left(), 2);
    assert!(loaded
        .slot_bytes(Slot::IssuingCa)
        .iter()
        .all(|&b| b == 0xFF));
    assert_eq!(
        loaded.slot_bytes(Slot::Signature),
        card.slot_bytes(Slot::Signature)
    );
    assert_eq!(loaded.atr(), card.atr());
    // The loaded keys work.
    assert_eq!(verify(&mut loaded, PIN), 0x9000);
    let block = pkcs1_v1_5_block(&sha256(b"after loading"));
    let [first, last] = halves(0x01, &block);
    loaded.process_apdu(&first);
    loaded.process_apdu(&last);
    let response = loaded.process_apdu(&[0x80, 0xC1, 0x00, 0x00, 0x00]);
    let signature = Signature::try_from(&response[..256]).unwrap();
    VerifyingKey::<Sha256>::new(fixture().encryption_key.to_public_key())
        .verify(b"after loading", &signature)
        .unwrap();
    // The state type alone round-trips too.
    let state: VirtualCardState = serde_json::from_str(&json).unwrap();
    assert_eq!(&state, card.state());
    // A broken state is a typed error, not a panic.
    let broken = json.replace("\"tries_left\": 2", "\"tries_left\": 9");
    assert!(serde_json::from_str::<VirtualCard>(&broken).is_err());
    let mut state = card.state().clone();
    state.signature_key.truncate(10);
    assert!(matches!(
        VirtualCard::from_state(state),
        Err(VirtualCardError::Key { .. })
    ));
}

#[test]
fn the_pin_and_keys_stay_out_of_debug_output() {
    let card = virtual_card();
    let text = format!("{card:?}");
    let pin_hex = terms::hex::lower(PIN.as_bytes());
    assert!(!text.contains(PIN) && !text.contains(&pin_hex), "{text}");
    assert!(!text.contains("signature_key"), "{text}");
}

#[test]
fn bad_construction_is_refused() {
    let f = fixture();
    let pin = Pin::new(PIN).unwrap();
    let certificates = card::virtual_card::CardCertificates::default();
    assert!(matches!(
        VirtualCard::new(
            "TP0300000000123",
            &pin,
            &f.encryption_key,
            &f.signature_key,
            &certificates
        ),
        Err(VirtualCardError::CardNumber(_))
    ));
    let too_big = vec![0x30; 0x701];
    let certificates = card::virtual_card::CardCertificates {
        root_ca: Some(&too_big),
        ..Default::default()
    };
    assert!(matches!(
        VirtualCard::new(
            CARD_NUMBER,
            &pin,
            &f.encryption_key,
            &f.signature_key,
            &certificates
        ),
        Err(VirtualCardError::TooLarge {
            slot: Slot::RootCa,
            length: 0x701
        })
    ));
}
