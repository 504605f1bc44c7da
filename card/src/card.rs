//! The citizen card over an APDU channel: what a renewal does with it, one method per step.

use x509_cert::Certificate;

use crate::channel::{ApduChannel, ChannelLimits};
use crate::command::KeyRole;
use crate::error::CardError;
use crate::files::{
    self, CardNumber, Certificates, Slot, SlotContent, CARD_NUMBER_LENGTH, CARD_NUMBER_PATH,
    CERTIFICATES_PATH, VERSION_PATH,
};
use crate::identify::Generation;
use crate::pin::{Pin, PinState, VerifyOutcome};
use crate::secure_channel::{Plain, SecureChannel};
use crate::signature::{self, Signature, SHA256_LENGTH};
use crate::status::StatusWord;

/// The longest version string read.
const VERSION_READ: usize = 256;

/// A citizen card reached over `C`, with `S` for the secret-dependent steps ([`Plain`], the
/// reference profile, unless an operator plugs in the real secure messaging).
///
/// ```no_run
/// # async fn run(mut reader: ccid::Reader<impl ccid::UsbTransport>) -> Result<(), Box<dyn std::error::Error>> {
/// use card::{identify, CitizenCard, Pin, Slot, VerifyOutcome};
///
/// let atr = reader.power_on().await?;
/// let generation = identify(atr.bytes())?;
/// let mut card = CitizenCard::new(&mut reader, generation);
/// println!("card {}", card.read_card_number().await?);
/// let certificates = card.read_certificates().await?;
/// let pin = Pin::new("600101")?;
/// if card.verify_pin(&pin).await? == VerifyOutcome::Verified {
///     if let Some(user) = certificates.certificate(Slot::Signature) {
///         let signature = card
///             .sign(card::KeyRole::Signature, b"challenge", user.certificate())
///             .await?;
///         # let _ = signature;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CitizenCard<C: ApduChannel, S: SecureChannel = Plain> {
    channel: C,
    generation: Generation,
    secure: S,
    limits: Option<ChannelLimits>,
}

impl<C: ApduChannel> CitizenCard<C, Plain> {
    /// The card of `generation` (from [`identify`](crate::identify())) on `channel`, with the
    /// plain reference profile.
    pub fn new(channel: C, generation: Generation) -> Self {
        CitizenCard::with_secure_channel(channel, generation, Plain)
    }
}

impl<C: ApduChannel, S: SecureChannel> CitizenCard<C, S> {
    /// The card with `secure` for PIN, private-key operation and writes.
    pub fn with_secure_channel(channel: C, generation: Generation, secure: S) -> Self {
        CitizenCard {
            channel,
            generation,
            secure,
            limits: None,
        }
    }

    /// Which generation the card is.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// The channel.
    pub fn channel_mut(&mut self) -> &mut C {
        &mut self.channel
    }

    /// Gives the channel back.
    pub fn into_channel(self) -> C {
        self.channel
    }

    /// The secure channel.
    pub fn secure_channel_mut(&mut self) -> &mut S {
        &mut self.secure
    }

    /// Keeps commands within `limits` as well as the channel's own (e.g.
    /// [`ChannelLimits::SHORT`] for a card that takes no extended APDUs). The virtual card
    /// takes extended APDUs; whether every real first-generation card does is not publicly
    /// documented, so an app meeting a real card that answers `6700` to a long READ BINARY
    /// can fall back to short APDUs here.
    pub fn restrict_limits(&mut self, limits: ChannelLimits) {
        self.limits = Some(limits);
    }

    /// The command and response sizes in use.
    pub fn limits(&self) -> ChannelLimits {
        let channel = self.channel.limits();
        self.limits.map_or(channel, |limits| channel.min(limits))
    }

    /// Tells the card logic that the card was reset or powered again: the PIN must be
    /// verified again and any secure-messaging session is gone.
    pub fn card_was_reset(&mut self) {
        self.secure.reset();
    }

    /// `Ok` for a generation this crate can renew; the typed "not supported yet" otherwise.
    pub fn check_renewal_supported(&self) -> Result<(), CardError> {
        if self.generation.renewal_supported() {
            Ok(())
        } else {
            Err(CardError::RenewalNotSupported(self.generation))
        }
    }

    /// Reads the card number (EF 0900/0903).
    pub async fn read_card_number(&mut self) -> Result<CardNumber, CardError> {
        files::select_path(&mut self.channel, &CARD_NUMBER_PATH).await?;
        let bytes = files::read_binary(&mut self.channel, 0, CARD_NUMBER_LENGTH).await?;
        CardNumber::from_card_bytes(&bytes).map_err(CardError::InvalidCardNumber)
    }

    /// Reads the version string (EF 0900/0905), without trailing padding.
    pub async fn read_version(&mut self) -> Result<String, CardError> {
        files::select_path(&mut self.channel, &VERSION_PATH).await?;
        let limit = VERSION_READ.min(self.limits().max_response_data);
        let bytes = files::read_binary(&mut self.channel, 0, limit).await?;
        let end = bytes
            .iter()
            .rposition(|&b| !matches!(b, 0x00 | 0xFF | b' '))
            .map_or(0, |last| last + 1);
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }

    /// Reads one certificate slot.
    pub async fn read_certificate(&mut self, slot: Slot) -> Result<SlotContent, CardError> {
        files::select_path(&mut self.channel, &CERTIFICATES_PATH).await?;
        self.read_selected_slot(slot).await
    }

    /// Reads all four certificate slots. An empty or corrupt slot is reported in its place;
    /// only a failing channel or a refusing card fails the whole read.
    pub async fn read_certificates(&mut self) -> Result<Certificates, CardError> {
        files::select_path(&mut self.channel, &CERTIFICATES_PATH).await?;
        let root_ca = self.read_selected_slot(Slot::RootCa).await?;
        let issuing_ca = self.read_selected_slot(Slot::IssuingCa).await?;
        let encryption = self.read_selected_slot(Slot::Encryption).await?;
        let signature = self.read_selected_slot(Slot::Signature).await?;
        Ok(Certificates::new([
            root_ca, issuing_ca, encryption, signature,
        ]))
    }

    async fn read_selected_slot(&mut self, slot: Slot) -> Result<SlotContent, CardError> {
        let limits = self.limits();
        match files::read_slot(&mut self.channel, slot, limits).await {
            Err(error) if self.fall_back_to_short(&error, limits) => {
                let limits = self.limits();
                files::read_slot(&mut self.channel, slot, limits).await
            }
            result => result,
        }
    }

    /// After a card refused an extended APDU with `6700`, keeps to short ones from then on
    /// and says so; `false` when `error` is something else.
    fn fall_back_to_short(&mut self, error: &CardError, limits: ChannelLimits) -> bool {
        if !limits.carries_extended() || error.status() != Some(StatusWord::WRONG_LENGTH) {
            return false;
        }
        tracing::debug!("the card refused an extended APDU; using short APDUs from now on");
        self.limits = Some(self.limits.map_or(ChannelLimits::SHORT, |limits| {
            limits.min(ChannelLimits::SHORT)
        }));
        true
    }

    /// How many PIN tries are left, or whether the PIN is verified or locked.
    pub async fn pin_state(&mut self) -> Result<PinState, CardError> {
        self.check_renewal_supported()?;
        self.secure.pin_state(&mut self.channel).await
    }

    /// Verifies the PIN. A wrong PIN and a locked card are outcomes, not errors.
    pub async fn verify_pin(&mut self, pin: &Pin) -> Result<VerifyOutcome, CardError> {
        self.check_renewal_supported()?;
        self.secure.verify_pin(&mut self.channel, pin).await
    }

    /// Signs a SHA-256 `digest` with `key` (PKCS#1 v1.5) and checks the signature with the
    /// public key of `certificate` (the key's certificate) before returning it.
    pub async fn sign_digest(
        &mut self,
        key: KeyRole,
        digest: &[u8; SHA256_LENGTH],
        certificate: &Certificate,
    ) -> Result<Signature, CardError> {
        self.check_renewal_supported()?;
        // Checked first, so a certificate that cannot verify costs no card operation.
        let public_key = signature::certificate_public_key(certificate)?;
        let block = signature::pkcs1_v1_5_block(digest);
        let result = self
            .secure
            .private_key_operation(&mut self.channel, key, &block)
            .await?;
        if !signature::verifies(&public_key, digest, &result) {
            return Err(CardError::BadSignature { key });
        }
        Ok(signature::checked(result))
    }

    /// Signs `message` (hashed with SHA-256) with `key`; see [`CitizenCard::sign_digest`].
    pub async fn sign(
        &mut self,
        key: KeyRole,
        message: &[u8],
        certificate: &Certificate,
    ) -> Result<Signature, CardError> {
        let digest = signature::sha256(message);
        self.sign_digest(key, &digest, certificate).await
    }

    /// Writes a DER certificate into `slot` in chunks the channel carries, then reads it back
    /// and compares. [`CardError::ReadBackMismatch`] means the same call may simply be made
    /// again. Needs a verified PIN.
    pub async fn write_certificate(&mut self, slot: Slot, der: &[u8]) -> Result<(), CardError> {
        self.check_renewal_supported()?;
        files::check_writable(slot, der)?;
        files::select_path(&mut self.channel, &CERTIFICATES_PATH).await?;
        let limits = self.limits();
        match self.write_and_compare(slot, der, limits).await {
            // Everything is written again, so a part written before the refusal is no matter.
            Err(error) if self.fall_back_to_short(&error, limits) => {
                let limits = self.limits();
                self.write_and_compare(slot, der, limits).await
            }
            result => result,
        }
    }

    async fn write_and_compare(
        &mut self,
        slot: Slot,
        der: &[u8],
        limits: ChannelLimits,
    ) -> Result<(), CardError> {
        let chunk = self.secure.max_update_data(limits).max(1);
        let base = usize::from(slot.offset());
        for (index, part) in der.chunks(chunk).enumerate() {
            let offset = base + index * chunk;
            let offset =
                u16::try_from(offset).map_err(|_| CardError::OffsetOutOfRange { offset })?;
            self.secure
                .update_binary(&mut self.channel, offset, part)
                .await?;
        }
        let written =
            files::read_exact(&mut self.channel, base, der.len(), limits, "certificate").await?;
        match written.iter().zip(der).position(|(a, b)| a != b) {
            Some(offset) => Err(CardError::ReadBackMismatch { slot, offset }),
            None => Ok(()),
        }
    }
}
