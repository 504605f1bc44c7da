//! A session with a virtual card in a simulated T=1 reader: identify, read, PIN, and the card's
//! saved state. Run with `cargo run -p card --features sim --example virtual_session`.
//!
//! The card holds no certificates here (its slots read as empty); the tests show certificates,
//! signatures and writes.

use card::virtual_card::{CardCertificates, VirtualCard};
use card::{identify, CitizenCard, Pin, VerifyOutcome};
use ccid::sim::{SimReader, SimReaderConfig};
use ccid::Reader;
use rsa::PrivateKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Key generation is the caller's: the card crate itself needs no randomness.
    let encryption_key = PrivateKey::new(&mut getrandom::SysRng, 2048)?;
    let signature_key = PrivateKey::new(&mut getrandom::SysRng, 2048)?;
    let virtual_card = VirtualCard::new(
        "AB12345678901234",
        &Pin::new("600101")?,
        &encryption_key,
        &signature_key,
        &CardCertificates::default(),
    )?;
    let device = SimReader::new(SimReaderConfig::tpdu());
    device.insert(Box::new(virtual_card.clone()));

    futures_executor::block_on(async {
        let mut reader = Reader::open(device.transport()).await?;
        let atr = reader.power_on().await?;
        let generation = identify(atr.bytes())?;
        println!("{generation}");
        let mut card = CitizenCard::new(reader, generation);
        println!("limits: {:?}", card.limits());
        println!("card number: {}", card.read_card_number().await?);
        println!("version: {}", card.read_version().await?);
        for (slot, content) in card.read_certificates().await?.iter() {
            println!("{slot}: {content:?}");
        }
        println!("PIN: {:?}", card.pin_state().await?);
        let outcome = card.verify_pin(&Pin::new("600101")?).await?;
        assert_eq!(outcome, VerifyOutcome::Verified);
        println!("PIN verified: {:?}", card.pin_state().await?);
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;

    let saved = serde_json::to_string(&virtual_card)?;
    println!("saved state: {} bytes of JSON", saved.len());
    Ok(())
}
