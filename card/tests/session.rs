//! Whole card sessions through `ccid`'s simulated reader holding the virtual card: a T=1 TPDU
//! reader, an extended-APDU reader and a short-APDU reader; the other generation, other cards,
//! broken slots and a card pulled out mid-read.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use card::files::SLOT_SIZE;
use card::virtual_card::{SharedVirtualCard, VirtualCard, SECOND_GENERATION_ATR};
use card::{
    identify, CardError, ChannelErrorKind, ChannelLimits, CitizenCard, CorruptSlot, Generation,
    IdentifyError, KeyRole, Pin, PinState, Slot, SlotContent, VerifyOutcome,
};
use ccid::sim::{IccCard, SimReader, SimReaderConfig, SimTransport, TestCard};
use ccid::Reader;
use common::{count_ins, fixture, virtual_card, Framing, CARD_NUMBER, PIN, WRONG_PIN};
use futures_executor::block_on;
use rsa::pkcs1v15::{Signature as RsaSignature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

const READ_BINARY: u8 = 0xB0;
const UPDATE_BINARY: u8 = 0xD6;

type SimCard = CitizenCard<Reader<SimTransport>>;

/// A reader of `config` holding `card`, powered, identified, wrapped.
fn open(config: SimReaderConfig, card: Box<dyn IccCard>) -> (SimReader, SimCard) {
    let device = SimReader::new(config);
    device.insert(card);
    let mut reader = block_on(Reader::open(device.transport())).unwrap();
    let atr = block_on(reader.power_on()).unwrap();
    let generation = identify(atr.bytes()).unwrap();
    (device, CitizenCard::new(reader, generation))
}

/// READ BINARY commands for all four slots of the fixture's card on a channel with `limits`:
/// one per slot when a response carries a whole slot, else ⌈length / chunk⌉.
fn expected_certificate_reads(limits: ChannelLimits) -> usize {
    let f = fixture();
    [&f.root_ca, &f.issuing_ca, &f.encryption, &f.signature]
        .iter()
        .map(|der| {
            let chunk = limits.max_response_data.min(SLOT_SIZE);
            der.len().div_ceil(chunk)
        })
        .sum()
}

fn read_path(card: &mut SimCard, device: &SimReader, framing: Framing) -> usize {
    let f = fixture();
    assert_eq!(card.generation(), Generation::First);
    assert_eq!(
        block_on(card.read_card_number()).unwrap().as_str(),
        CARD_NUMBER
    );
    assert_eq!(block_on(card.read_version()).unwrap(), "REF V1.0");

    let before = count_ins(device, framing, READ_BINARY);
    let certificates = block_on(card.read_certificates()).unwrap();
    let reads = count_ins(device, framing, READ_BINARY) - before;
    for (slot, der) in [
        (Slot::RootCa, &f.root_ca),
        (Slot::IssuingCa, &f.issuing_ca),
        (Slot::Encryption, &f.encryption),
        (Slot::Signature, &f.signature),
    ] {
        let stored = certificates.certificate(slot).expect("a certificate");
        assert_eq!(stored.der(), &der[..], "{slot}");
    }
    let holder = certificates
        .certificate(Slot::Signature)
        .unwrap()
        .certificate()
        .tbs_certificate()
        .subject()
        .to_string();
    assert!(
        holder.contains("王小明") && holder.contains("1234567890123456"),
        "{holder}"
    );
    assert_eq!(reads, expected_certificate_reads(card.limits()));
    reads
}

/// The whole renewal-side session: identify, read, PIN, sign, write, lock.
fn full_session(config: SimReaderConfig, framing: Framing, limits: ChannelLimits) -> usize {
    let f = fixture();
    let shared = SharedVirtualCard::new(virtual_card());
    let (device, mut card) = open(config, Box::new(shared.clone()));
    assert_eq!(card.limits(), limits);
    let reads = read_path(&mut card, &device, framing);
    let certificates = block_on(card.read_certificates()).unwrap();
    let signature_certificate = certificates
        .certificate(Slot::Signature)
        .unwrap()
        .certificate();
    let encryption_certificate = certificates
        .certificate(Slot::Encryption)
        .unwrap()
        .certificate();

    // PIN: 3 tries, a wrong one leaves 2, the right one verifies.
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::TriesLeft(3));
    let wrong = Pin::new(WRONG_PIN).unwrap();
    let right = Pin::new(PIN).unwrap();
    assert_eq!(
        block_on(card.verify_pin(&wrong)).unwrap(),
        VerifyOutcome::Wrong { tries_left: 2 }
    );
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::TriesLeft(2));
    assert_eq!(
        block_on(card.verify_pin(&right)).unwrap(),
        VerifyOutcome::Verified
    );
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Verified);

    // Sign with both keys; check independently of the crate, with the fixture's keys.
    let challenge = b"authority challenge 2025-01-01T00:00:00Z";
    let signature =
        block_on(card.sign(KeyRole::Signature, challenge, signature_certificate)).unwrap();
    let verifying = VerifyingKey::<Sha256>::new(f.signature_key.to_public_key());
    let rsa_signature = RsaSignature::try_from(signature.as_bytes()).unwrap();
    verifying.verify(challenge, &rsa_signature).unwrap();
    block_on(card.sign(KeyRole::Encryption, challenge, encryption_certificate)).unwrap();
    // The signature key checked against the encryption certificate: a typed error.
    assert!(matches!(
        block_on(card.sign(KeyRole::Signature, challenge, encryption_certificate)),
        Err(CardError::BadSignature {
            key: KeyRole::Signature
        })
    ));

    // Write a renewed certificate and read it back.
    let updates_before = count_ins(&device, framing, UPDATE_BINARY);
    block_on(card.write_certificate(Slot::Signature, &f.renewed_signature)).unwrap();
    let updates = count_ins(&device, framing, UPDATE_BINARY) - updates_before;
    assert_eq!(
        updates,
        f.renewed_signature.len().div_ceil(limits.max_command_data)
    );
    let renewed = block_on(card.read_certificate(Slot::Signature)).unwrap();
    assert_eq!(
        renewed.certificate().unwrap().der(),
        &f.renewed_signature[..]
    );
    assert_eq!(
        &shared.borrow().slot_bytes(Slot::Signature)[..f.renewed_signature.len()],
        &f.renewed_signature[..]
    );

    // Three wrong PINs lock the card; then every PIN, key and write operation is refused.
    assert_eq!(
        block_on(card.verify_pin(&wrong)).unwrap(),
        VerifyOutcome::Wrong { tries_left: 2 }
    );
    assert_eq!(
        block_on(card.verify_pin(&wrong)).unwrap(),
        VerifyOutcome::Wrong { tries_left: 1 }
    );
    assert_eq!(
        block_on(card.verify_pin(&wrong)).unwrap(),
        VerifyOutcome::Locked
    );
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Locked);
    assert_eq!(
        block_on(card.verify_pin(&right)).unwrap(),
        VerifyOutcome::Locked
    );
    assert!(matches!(
        block_on(card.sign(KeyRole::Signature, challenge, signature_certificate)),
        Err(CardError::PinNotVerified { .. })
    ));
    assert!(matches!(
        block_on(card.write_certificate(Slot::Signature, &f.signature)),
        Err(CardError::PinNotVerified { .. })
    ));
    assert_eq!(shared.borrow().tries_left(), 0);
    // Reads still work on a locked card.
    assert_eq!(
        block_on(card.read_card_number()).unwrap().as_str(),
        CARD_NUMBER
    );
    reads
}

#[test]
fn full_session_on_a_t1_tpdu_reader() {
    let reads = full_session(
        SimReaderConfig::tpdu(),
        Framing::T1,
        ChannelLimits::EXTENDED,
    );
    assert_eq!(reads, 4, "one READ BINARY per slot");
    eprintln!("T=1 TPDU reader: {reads} READ BINARY for four certificates");
}

#[test]
fn full_session_on_an_extended_apdu_reader() {
    let reads = full_session(
        SimReaderConfig::extended_apdu(),
        Framing::Apdu,
        ChannelLimits::EXTENDED,
    );
    assert_eq!(reads, 4, "one READ BINARY per slot");
    eprintln!("extended APDU reader: {reads} READ BINARY for four certificates");
}

#[test]
fn full_session_on_a_short_apdu_reader() {
    let reads = full_session(
        SimReaderConfig::short_apdu(),
        Framing::Apdu,
        ChannelLimits::SHORT,
    );
    let f = fixture();
    let lengths = [&f.root_ca, &f.issuing_ca, &f.encryption, &f.signature].map(|der| der.len());
    eprintln!("short APDU reader: {reads} READ BINARY for four certificates of {lengths:?} bytes");
}

#[test]
fn the_short_apdu_read_path_uses_256_byte_reads() {
    let (device, mut card) = open(SimReaderConfig::short_apdu(), Box::new(virtual_card()));
    assert_eq!(card.limits(), ChannelLimits::SHORT);
    let reads = read_path(&mut card, &device, Framing::Apdu);
    let f = fixture();
    let by_hand: usize = [&f.root_ca, &f.issuing_ca, &f.encryption, &f.signature]
        .iter()
        .map(|der| der.len().div_ceil(256))
        .sum();
    assert_eq!(reads, by_hand);
    // No READ BINARY asked for more than a short APDU carries.
    let apdus = common::sent_apdus(&device, Framing::Apdu);
    assert!(apdus
        .iter()
        .filter(|apdu| apdu.get(1) == Some(&READ_BINARY))
        .all(|apdu| apdu.len() == 5));
}

#[test]
fn restricting_to_short_apdus_on_an_extended_reader() {
    let (device, mut card) = open(SimReaderConfig::extended_apdu(), Box::new(virtual_card()));
    card.restrict_limits(ChannelLimits::SHORT);
    assert_eq!(card.limits(), ChannelLimits::SHORT);
    read_path(&mut card, &device, Framing::Apdu);
}

#[test]
fn the_pin_session_lasts_until_the_card_is_reset() {
    let (_device, mut card) = open(SimReaderConfig::tpdu(), Box::new(virtual_card()));
    let pin = Pin::new(PIN).unwrap();
    assert_eq!(
        block_on(card.verify_pin(&pin)).unwrap(),
        VerifyOutcome::Verified
    );
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Verified);
    block_on(card.channel_mut().power_on()).unwrap();
    card.card_was_reset();
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::TriesLeft(3));
    let f = fixture();
    let certificate = <x509_cert::Certificate as der::Decode>::from_der(&f.signature).unwrap();
    assert!(matches!(
        block_on(card.sign(KeyRole::Signature, b"x", &certificate)),
        Err(CardError::PinNotVerified { .. })
    ));
}

#[test]
fn a_second_generation_card_is_read_but_not_renewed() {
    let card = virtual_card().with_atr(&SECOND_GENERATION_ATR);
    let (_device, mut card) = open(SimReaderConfig::ez100pu(), Box::new(card));
    assert_eq!(card.generation(), Generation::Second);
    // What can be read is read.
    assert_eq!(
        block_on(card.read_card_number()).unwrap().as_str(),
        CARD_NUMBER
    );
    assert!(block_on(card.read_certificates())
        .unwrap()
        .certificate(Slot::Signature)
        .is_some());
    // Renewal is refused, clearly and before anything is sent.
    let pin = Pin::new(PIN).unwrap();
    for outcome in [
        block_on(card.pin_state()).map(|_| ()),
        block_on(card.verify_pin(&pin)).map(|_| ()),
        block_on(card.write_certificate(Slot::Signature, &fixture().signature)),
    ] {
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, CardError::RenewalNotSupported(Generation::Second)),
            "{error:?}"
        );
        assert!(error.to_string().contains("not supported yet"), "{error}");
    }
    assert!(matches!(
        card.check_renewal_supported(),
        Err(CardError::RenewalNotSupported(Generation::Second))
    ));
}

#[test]
fn other_cards_are_not_citizen_cards() {
    let device = SimReader::new(SimReaderConfig::tpdu());
    device.insert(Box::new(TestCard::new()));
    let mut reader = block_on(Reader::open(device.transport())).unwrap();
    let atr = block_on(reader.power_on()).unwrap();
    let error = identify(atr.bytes()).unwrap_err();
    assert_eq!(
        error,
        IdentifyError::NotCitizenCard {
            historical_bytes: b"TESTCARD".to_vec()
        }
    );
    assert!(error.to_string().contains("not a citizen"), "{error}");
}

#[test]
fn an_empty_and_a_corrupt_slot_are_reported_per_slot() {
    let mut card = virtual_card();
    // Empty: erased to FF. Corrupt: a header announcing more than the slot, and a SEQUENCE of
    // the right length that is no certificate, and bytes that are no DER at all.
    card.set_slot_bytes(Slot::RootCa, &[]).unwrap();
    card.set_slot_bytes(Slot::IssuingCa, &[0x30, 0x82, 0x08, 0x00, 0x01])
        .unwrap();
    let mut not_a_certificate = vec![0x30, 0x82, 0x01, 0x00];
    not_a_certificate.extend_from_slice(&[0x04; 0x100]);
    card.set_slot_bytes(Slot::Encryption, &not_a_certificate)
        .unwrap();
    card.set_slot_bytes(Slot::Signature, b"garbage").unwrap();
    let (_device, mut citizen) = open(SimReaderConfig::extended_apdu(), Box::new(card));
    let certificates = block_on(citizen.read_certificates()).unwrap();
    assert_eq!(certificates.get(Slot::RootCa), &SlotContent::Empty);
    assert_eq!(
        certificates.get(Slot::IssuingCa),
        &SlotContent::Corrupt(CorruptSlot::LengthBeyondSlot { length: 0x804 })
    );
    assert!(matches!(
        certificates.get(Slot::Encryption),
        SlotContent::Corrupt(CorruptSlot::NotACertificate { length: 0x104, .. })
    ));
    assert!(matches!(
        certificates.get(Slot::Signature),
        SlotContent::Corrupt(CorruptSlot::NotDer { .. })
    ));

    // A slot of zeros is empty too, on a short reader.
    let mut card = virtual_card();
    card.set_slot_bytes(Slot::Encryption, &[0x00; SLOT_SIZE])
        .unwrap();
    let (_device, mut citizen) = open(SimReaderConfig::short_apdu(), Box::new(card));
    let certificates = block_on(citizen.read_certificates()).unwrap();
    assert_eq!(certificates.get(Slot::Encryption), &SlotContent::Empty);
    assert!(certificates.certificate(Slot::Signature).is_some());
}

#[test]
fn a_card_pulled_out_mid_read_is_a_typed_error() {
    for (config, after) in [
        (SimReaderConfig::extended_apdu(), 5),
        (SimReaderConfig::tpdu(), 6),
        (SimReaderConfig::short_apdu(), 7),
    ] {
        let (device, mut card) = open(config.clone(), Box::new(virtual_card()));
        device.remove_card_after(after);
        let error = block_on(card.read_certificates()).unwrap_err();
        let CardError::Channel(channel) = &error else {
            panic!("{config:?}: {error:?}");
        };
        assert_eq!(channel.kind(), ChannelErrorKind::CardRemoved);
        assert_eq!(
            channel.cause_as::<ccid::Error>(),
            Some(&ccid::Error::NoCard)
        );
        assert!(error.to_string().contains("removed"), "{error}");
        // Later commands fail the same way, without panics.
        let again = block_on(card.read_card_number()).unwrap_err();
        assert!(matches!(
            again,
            CardError::Channel(ref e) if e.kind() == ChannelErrorKind::CardRemoved
        ));
    }
}

#[test]
fn a_certificate_larger_than_its_slot_is_refused() {
    let (_device, mut card) = open(SimReaderConfig::extended_apdu(), Box::new(virtual_card()));
    let pin = Pin::new(PIN).unwrap();
    block_on(card.verify_pin(&pin)).unwrap();
    let too_big = vec![0x30; SLOT_SIZE + 1];
    assert!(matches!(
        block_on(card.write_certificate(Slot::Signature, &too_big)),
        Err(CardError::CertificateTooLarge {
            slot: Slot::Signature,
            length: 0x701,
            max: SLOT_SIZE
        })
    ));
    assert!(matches!(
        block_on(card.write_certificate(Slot::Signature, b"not DER")),
        Err(CardError::NotACertificate(_))
    ));
}

#[test]
fn class_00_is_refused_by_the_virtual_card() {
    let (_device, mut card) = open(SimReaderConfig::tpdu(), Box::new(virtual_card()));
    let response = block_on(
        card.channel_mut()
            .transmit(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00]),
    )
    .unwrap();
    assert_eq!(response, [0x6E, 0x00]);
    let mut direct: VirtualCard = virtual_card();
    assert_eq!(
        direct.process_apdu(&[0x00, 0xB0, 0x00, 0x00, 0x10]),
        [0x6E, 0x00]
    );
}

#[test]
fn full_session_on_a_t0_tpdu_reader() {
    // The same card speaking T=0 only (TA1 0x96), with the first generation's historical bytes.
    let atr = [
        0x3B, 0x18, 0x96, b'C', b'H', b'T', b'M', b'O', b'I', b'C', b'A',
    ];
    let shared = SharedVirtualCard::new(virtual_card().with_atr(&atr));
    let (_device, mut card) = open(SimReaderConfig::tpdu(), Box::new(shared));
    assert_eq!(
        card.channel_mut().link_info().unwrap().protocol,
        Some(ccid::Protocol::T0)
    );
    assert_eq!(card.limits(), ChannelLimits::SHORT);
    let certificates = block_on(card.read_certificates()).unwrap();
    let certificate = certificates
        .certificate(Slot::Signature)
        .unwrap()
        .certificate()
        .clone();
    let pin = Pin::new(PIN).unwrap();
    assert_eq!(
        block_on(card.verify_pin(&pin)).unwrap(),
        VerifyOutcome::Verified
    );
    block_on(card.sign(KeyRole::Signature, b"over T=0", &certificate)).unwrap();
    block_on(card.write_certificate(Slot::Signature, &fixture().renewed_signature)).unwrap();
}

#[test]
fn a_card_without_extended_apdus_is_read_and_written_with_short_ones() {
    let card = virtual_card().without_extended_apdus();
    let (device, mut card) = open(SimReaderConfig::extended_apdu(), Box::new(card));
    assert_eq!(card.limits(), ChannelLimits::EXTENDED);
    let certificates = block_on(card.read_certificates()).unwrap();
    assert!(certificates
        .iter()
        .all(|(_, content)| content.certificate().is_some()));
    // The first extended READ BINARY was refused; the card logic kept to short ones after.
    assert_eq!(card.limits(), ChannelLimits::SHORT);
    let reads = count_ins(&device, Framing::Apdu, READ_BINARY);
    assert_eq!(reads, 1 + expected_certificate_reads(ChannelLimits::SHORT));
    let pin = Pin::new(PIN).unwrap();
    block_on(card.verify_pin(&pin)).unwrap();
    block_on(card.write_certificate(Slot::Signature, &fixture().renewed_signature)).unwrap();
}

#[test]
fn an_extended_write_refused_falls_back_to_short_writes() {
    let card = virtual_card().without_extended_apdus();
    let (device, mut card) = open(SimReaderConfig::tpdu(), Box::new(card));
    let pin = Pin::new(PIN).unwrap();
    block_on(card.verify_pin(&pin)).unwrap();
    let der = &fixture().renewed_signature;
    block_on(card.write_certificate(Slot::Signature, der)).unwrap();
    assert_eq!(card.limits(), ChannelLimits::SHORT);
    // One refused extended UPDATE BINARY, then the certificate in 255-byte chunks.
    assert_eq!(
        count_ins(&device, Framing::T1, UPDATE_BINARY),
        1 + der.len().div_ceil(255)
    );
    let read = block_on(card.read_certificate(Slot::Signature)).unwrap();
    assert_eq!(read.certificate().unwrap().der(), &der[..]);
}
