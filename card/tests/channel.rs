//! Other channels and other secure channels behind the same card logic: a scripted channel that
//! replays a trace of APDUs, a channel that damages a write, and a secure channel plugged in
//! without changing callers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "sim")]
mod common;

use std::collections::VecDeque;

use card::{
    ApduChannel, CardError, ChannelError, ChannelErrorKind, ChannelLimits, CitizenCard, Generation,
    Meaning, PinState,
};
use futures_executor::block_on;

/// Replays a trace: each command must be the next one expected; its response is given back.
struct Script {
    exchanges: VecDeque<(Vec<u8>, Vec<u8>)>,
    limits: ChannelLimits,
}

impl Script {
    fn new(exchanges: &[(&[u8], &[u8])]) -> Script {
        Script {
            exchanges: exchanges
                .iter()
                .map(|(command, response)| (command.to_vec(), response.to_vec()))
                .collect(),
            limits: ChannelLimits::SHORT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the script expected another command")]
struct Mismatch;

impl ApduChannel for Script {
    async fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ChannelError> {
        match self.exchanges.pop_front() {
            Some((expected, response)) if expected == command => Ok(response),
            Some((expected, _)) => {
                panic!("expected {expected:02X?}, got {command:02X?}")
            }
            None => Err(ChannelError::new(ChannelErrorKind::Failed, Mismatch)),
        }
    }

    fn limits(&self) -> ChannelLimits {
        self.limits
    }
}

const SELECT_MF: &[u8] = &[0x80, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00];
const SELECT_0900: &[u8] = &[0x80, 0xA4, 0x00, 0x00, 0x02, 0x09, 0x00];
const SELECT_0903: &[u8] = &[0x80, 0xA4, 0x00, 0x00, 0x02, 0x09, 0x03];
const SELECT_0905: &[u8] = &[0x80, 0xA4, 0x00, 0x00, 0x02, 0x09, 0x05];
const OK: &[u8] = &[0x90, 0x00];

#[test]
fn a_replayed_trace_reads_the_card_number_and_version() {
    let mut number = b"TP03000000001234".to_vec();
    number.extend_from_slice(OK);
    let mut version = b"CHT V32N".to_vec();
    version.extend_from_slice(OK);
    let script = Script::new(&[
        (SELECT_MF, OK),
        (SELECT_0900, OK),
        (SELECT_0903, OK),
        (&[0x80, 0xB0, 0x00, 0x00, 0x10], &number),
        (SELECT_MF, OK),
        (SELECT_0900, OK),
        (SELECT_0905, OK),
        // A card that wants the exact length gets asked again.
        (&[0x80, 0xB0, 0x00, 0x00, 0x00], &[0x6C, 0x08]),
        (&[0x80, 0xB0, 0x00, 0x00, 0x08], &version),
    ]);
    let mut card = CitizenCard::new(script, Generation::First);
    assert_eq!(
        block_on(card.read_card_number()).unwrap().as_str(),
        "TP03000000001234"
    );
    assert_eq!(block_on(card.read_version()).unwrap(), "CHT V32N");
    assert!(card.channel_mut().exchanges.is_empty());
}

#[test]
fn card_answers_that_are_not_answers_are_typed_errors() {
    // No file, a malformed number, an answer without status word, an unknown PIN status.
    let script = Script::new(&[
        (SELECT_MF, &[0x6A, 0x82]),
        (SELECT_MF, OK),
        (SELECT_0900, OK),
        (SELECT_0903, OK),
        (&[0x80, 0xB0, 0x00, 0x00, 0x10], b"TP0300000000123X\x90\x00"),
        (SELECT_MF, &[0x90]),
        (&[0x80, 0x20, 0x00, 0x01], &[0x6A, 0x86]),
    ]);
    let mut card = CitizenCard::new(script, Generation::First);
    assert!(matches!(
        block_on(card.read_card_number()),
        Err(CardError::FileNotFound { fid: 0x3F00 })
    ));
    assert!(matches!(
        block_on(card.read_card_number()),
        Err(CardError::InvalidCardNumber(_))
    ));
    assert!(matches!(
        block_on(card.read_version()),
        Err(CardError::MalformedResponse { length: 1, .. })
    ));
    let error = block_on(card.pin_state()).unwrap_err();
    assert_eq!(
        error.status().map(|status| status.meaning()),
        Some(Meaning::WrongParameters)
    );
    // The script is over: the channel's own error comes through with its kind.
    let error = block_on(card.read_version()).unwrap_err();
    let CardError::Channel(channel) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(channel.kind(), ChannelErrorKind::Failed);
    assert!(channel.cause_as::<Mismatch>().is_some());
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn pin_states_from_status_words() {
    let script = Script::new(&[
        (&[0x80, 0x20, 0x00, 0x01], &[0x63, 0xC3]),
        (&[0x80, 0x20, 0x00, 0x01], &[0x90, 0x00]),
        (&[0x80, 0x20, 0x00, 0x01], &[0x69, 0x83]),
        (&[0x80, 0x20, 0x00, 0x01], &[0x63, 0xC0]),
    ]);
    let mut card = CitizenCard::new(script, Generation::First);
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::TriesLeft(3));
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Verified);
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Locked);
    assert_eq!(block_on(card.pin_state()).unwrap(), PinState::Locked);
}

#[cfg(feature = "sim")]
mod with_the_virtual_card {
    use super::*;
    use card::command::KeyRole;
    use card::secure_channel::{plain, SecureChannel};
    use card::signature::BLOCK_LENGTH;
    use card::virtual_card::VirtualCard;
    use card::{Pin, Slot, VerifyOutcome};
    use ccid::sim::IccCard;

    use crate::common;

    /// The virtual card straight behind a channel, no reader; can damage one UPDATE BINARY.
    struct Direct {
        card: VirtualCard,
        damage_next_write: bool,
        limits: ChannelLimits,
    }

    impl ApduChannel for Direct {
        async fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, ChannelError> {
            let mut command = command.to_vec();
            if self.damage_next_write && command.get(1) == Some(&0xD6) {
                self.damage_next_write = false;
                if let Some(last) = command.last_mut() {
                    *last ^= 0x01;
                }
            }
            Ok(self.card.process_apdu(&command))
        }

        fn limits(&self) -> ChannelLimits {
            self.limits
        }
    }

    fn direct() -> Direct {
        Direct {
            card: common::virtual_card(),
            damage_next_write: false,
            limits: ChannelLimits::EXTENDED,
        }
    }

    #[test]
    fn a_write_that_reads_back_differently_can_be_written_again() {
        let f = common::fixture();
        let mut card = CitizenCard::new(direct(), Generation::First);
        let pin = Pin::new(common::PIN).unwrap();
        assert_eq!(
            block_on(card.verify_pin(&pin)).unwrap(),
            VerifyOutcome::Verified
        );
        card.channel_mut().damage_next_write = true;
        let error =
            block_on(card.write_certificate(Slot::Encryption, &f.renewed_signature)).unwrap_err();
        assert!(error.is_recoverable(), "{error:?}");
        assert!(matches!(
            error,
            CardError::ReadBackMismatch { slot: Slot::Encryption, offset } if offset == f.renewed_signature.len() - 1
        ));
        block_on(card.write_certificate(Slot::Encryption, &f.renewed_signature)).unwrap();
        assert_eq!(
            block_on(card.read_certificate(Slot::Encryption))
                .unwrap()
                .certificate()
                .unwrap()
                .der(),
            &f.renewed_signature[..]
        );
    }

    /// What an operator's secure channel looks like from the outside: its own type, the same
    /// trait. This one counts and delegates to the plain profile, with smaller write chunks
    /// as secure messaging would need.
    #[derive(Default)]
    struct Counting {
        verifies: usize,
        operations: usize,
        writes: usize,
        resets: usize,
    }

    impl SecureChannel for Counting {
        async fn verify_pin<C: ApduChannel + ?Sized>(
            &mut self,
            channel: &mut C,
            pin: &Pin,
        ) -> Result<VerifyOutcome, CardError> {
            self.verifies += 1;
            plain::verify_pin(channel, pin).await
        }

        async fn private_key_operation<C: ApduChannel + ?Sized>(
            &mut self,
            channel: &mut C,
            key: KeyRole,
            block: &[u8; BLOCK_LENGTH],
        ) -> Result<Vec<u8>, CardError> {
            self.operations += 1;
            plain::private_key_operation(channel, key, block).await
        }

        async fn update_binary<C: ApduChannel + ?Sized>(
            &mut self,
            channel: &mut C,
            offset: u16,
            data: &[u8],
        ) -> Result<(), CardError> {
            self.writes += 1;
            plain::update_binary(channel, offset, data).await
        }

        fn max_update_data(&self, limits: ChannelLimits) -> usize {
            limits.max_command_data.min(200)
        }

        fn reset(&mut self) {
            self.resets += 1;
        }
    }

    /// A caller written once against `CitizenCard<C, S>`.
    async fn renew<C: ApduChannel, S: SecureChannel>(
        card: &mut CitizenCard<C, S>,
        der: &[u8],
    ) -> Result<(), CardError> {
        let certificates = card.read_certificates().await?;
        let certificate = certificates
            .certificate(Slot::Signature)
            .map(|stored| stored.certificate().clone())
            .ok_or(CardError::NotACertificate(
                "no signature certificate".into(),
            ))?;
        let pin = Pin::new(common::PIN).map_err(|e| CardError::NotACertificate(e.to_string()))?;
        if card.verify_pin(&pin).await? != VerifyOutcome::Verified {
            return Err(CardError::PinLocked);
        }
        card.sign(KeyRole::Signature, b"challenge", &certificate)
            .await?;
        card.write_certificate(Slot::Signature, der).await
    }

    #[test]
    fn another_secure_channel_plugs_in_without_changing_callers() {
        let der = &common::fixture().renewed_signature;
        let mut plain_card = CitizenCard::new(direct(), Generation::First);
        block_on(renew(&mut plain_card, der)).unwrap();

        let mut card =
            CitizenCard::with_secure_channel(direct(), Generation::First, Counting::default());
        block_on(renew(&mut card, der)).unwrap();
        card.card_was_reset();
        let counts = card.secure_channel_mut();
        assert_eq!(
            (
                counts.verifies,
                counts.operations,
                counts.writes,
                counts.resets
            ),
            (1, 1, der.len().div_ceil(200), 1)
        );
    }
}
