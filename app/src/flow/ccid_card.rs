//! The real [`CardPort`]: a citizen card ([`card::CitizenCard`]) in a CCID reader
//! ([`ccid::Reader`]) over any [`UsbTransport`] — WebUSB in the browser, the simulated reader in
//! the tests.

use std::time::Duration;

use card::{
    CardError, ChannelErrorKind, ChannelLimits, CitizenCard, Generation, KeyRole, Pin, PinState,
    Slot, SlotContent, StoredCertificate, VerifyOutcome,
};
use ccid::{CardEvent, Reader, SlotStatus, TransportError, UsbTransport};
use renewal::CardNumber;

use super::ports::{CardChange, CardPort, CardPortError, UserCertificates};

/// Writes whose read-back differs are made again this many times in all: the card crate says
/// such a write may simply be repeated, and a second failure means something is really wrong.
const WRITE_ATTEMPTS: usize = 2;

/// What is known about the powered card.
#[derive(Debug, Clone, Copy)]
struct Session {
    generation: Generation,
    /// The command sizes the card accepted so far (a card refusing extended APDUs is kept to
    /// short ones for the rest of the session).
    limits: Option<ChannelLimits>,
}

/// A citizen card in a CCID reader.
#[derive(Debug)]
pub struct CcidCard<T: UsbTransport> {
    reader: Reader<T>,
    session: Option<Session>,
}

impl<T: UsbTransport> CcidCard<T> {
    /// The card port over an opened reader.
    pub fn new(reader: Reader<T>) -> Self {
        Self {
            reader,
            session: None,
        }
    }

    /// The reader, for diagnostics.
    pub fn reader(&self) -> &Reader<T> {
        &self.reader
    }

    /// Runs `operation` on the powered card and keeps what it learnt about command sizes.
    async fn with_card<R>(
        &mut self,
        operation: impl AsyncFnOnce(&mut CitizenCard<&mut Reader<T>>) -> Result<R, CardError>,
    ) -> Result<R, CardPortError> {
        let Some(session) = self.session else {
            return Err(CardPortError::CardRemoved);
        };
        let mut card = CitizenCard::new(&mut self.reader, session.generation);
        if let Some(limits) = session.limits {
            card.restrict_limits(limits);
        }
        let result = operation(&mut card).await;
        let limits = card.limits();
        if let Some(session) = self.session.as_mut() {
            session.limits = Some(limits);
        }
        let result = result.map_err(card_error);
        if matches!(
            result,
            Err(CardPortError::CardRemoved | CardPortError::ReaderGone)
        ) {
            self.session = None;
        }
        result
    }
}

impl<T: UsbTransport> CardPort for CcidCard<T> {
    async fn card_present(&mut self) -> Result<bool, CardPortError> {
        let status = self.reader.slot_status().await.map_err(driver_error)?;
        if status == SlotStatus::Empty {
            self.session = None;
        }
        Ok(status != SlotStatus::Empty)
    }

    async fn power_on(&mut self) -> Result<(), CardPortError> {
        self.session = None;
        let atr = self.reader.power_on().await.map_err(driver_error)?;
        let generation = card::identify(atr.bytes())
            .map_err(|error| CardPortError::NotCitizenCard(error.to_string()))?;
        if !generation.renewal_supported() {
            return Err(CardPortError::RenewalNotSupported);
        }
        self.session = Some(Session {
            generation,
            limits: None,
        });
        Ok(())
    }

    async fn power_off(&mut self) -> Result<(), CardPortError> {
        self.session = None;
        self.reader.power_off().await.map_err(driver_error)
    }

    async fn read_card_number(&mut self) -> Result<CardNumber, CardPortError> {
        self.with_card(async |card| card.read_card_number().await)
            .await
    }

    async fn read_user_certificates(&mut self) -> Result<UserCertificates, CardPortError> {
        let certificates = self
            .with_card(async |card| card.read_certificates().await)
            .await?;
        let der = |role: KeyRole| match certificates.get(Slot::from(role)) {
            SlotContent::Certificate(stored) => Ok(stored.der().to_vec()),
            SlotContent::Empty => Err(CardPortError::CertificateMissing {
                slot: role,
                detail: "the slot is empty".into(),
            }),
            SlotContent::Corrupt(corrupt) => Err(CardPortError::CertificateMissing {
                slot: role,
                detail: corrupt.to_string(),
            }),
        };
        Ok(UserCertificates {
            signature: der(KeyRole::Signature)?,
            encryption: der(KeyRole::Encryption)?,
        })
    }

    async fn pin_state(&mut self) -> Result<PinState, CardPortError> {
        self.with_card(async |card| card.pin_state().await).await
    }

    async fn verify_pin(&mut self, pin: &Pin) -> Result<VerifyOutcome, CardPortError> {
        self.with_card(async |card| card.verify_pin(pin).await)
            .await
    }

    async fn sign(
        &mut self,
        message: &[u8],
        signature_certificate: &[u8],
    ) -> Result<Vec<u8>, CardPortError> {
        let certificate =
            StoredCertificate::from_der(signature_certificate.to_vec()).map_err(|error| {
                CardPortError::CertificateMissing {
                    slot: KeyRole::Signature,
                    detail: error.to_string(),
                }
            })?;
        let signature = self
            .with_card(async |card| {
                card.sign(KeyRole::Signature, message, certificate.certificate())
                    .await
            })
            .await?;
        Ok(signature.into_bytes())
    }

    async fn write_certificate(&mut self, slot: KeyRole, der: &[u8]) -> Result<(), CardPortError> {
        let card_slot = Slot::from(slot);
        let mut attempt = 1;
        loop {
            let result = self
                .with_card(async |card| card.write_certificate(card_slot, der).await)
                .await;
            match result {
                Err(CardPortError::ReadBackMismatch) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(?slot, attempt, "read-back differed; writing again");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn wait_card_change(
        &mut self,
        wait: Duration,
    ) -> Result<Option<CardChange>, CardPortError> {
        let event = self
            .reader
            .wait_card_event(wait)
            .await
            .map_err(driver_error)?;
        Ok(event.map(|event| match event {
            CardEvent::Inserted => {
                self.session = None;
                CardChange::Inserted
            }
            CardEvent::Removed => {
                self.session = None;
                CardChange::Removed
            }
        }))
    }
}

/// What a driver error means for the user.
fn driver_error(error: ccid::Error) -> CardPortError {
    match error {
        ccid::Error::NoCard | ccid::Error::CardNotPowered => CardPortError::CardRemoved,
        ccid::Error::Transport(TransportError::Disconnected) => CardPortError::ReaderGone,
        ccid::Error::CardMute | ccid::Error::Atr(_) => {
            CardPortError::NotCitizenCard(error.to_string())
        }
        other => CardPortError::Failed(other.to_string()),
    }
}

/// What a card error means for the user.
fn card_error(error: CardError) -> CardPortError {
    match error {
        CardError::Channel(channel) => match channel.kind() {
            ChannelErrorKind::CardRemoved => CardPortError::CardRemoved,
            ChannelErrorKind::ReaderGone => CardPortError::ReaderGone,
            ChannelErrorKind::TooLong | ChannelErrorKind::Failed => {
                CardPortError::Failed(channel.to_string())
            }
        },
        CardError::PinNotVerified { .. } => CardPortError::PinNotVerified,
        CardError::PinLocked => CardPortError::PinLocked,
        CardError::RenewalNotSupported(_) => CardPortError::RenewalNotSupported,
        CardError::BadSignature { .. } => CardPortError::BadSignature,
        CardError::ReadBackMismatch { .. } => CardPortError::ReadBackMismatch,
        CardError::FileNotFound { .. } | CardError::InvalidCardNumber(_) => {
            CardPortError::NotCitizenCard(error.to_string())
        }
        other => CardPortError::Failed(other.to_string()),
    }
}
