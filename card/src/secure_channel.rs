//! The hook for the steps that, on a real card, need the card maker's secrets.
//!
//! On a real first-generation card, PIN verification and the private-key operation are
//! protected by secure messaging whose keys exist only in the card maker's middleware (and
//! perhaps certificate writes too). Those keys are not public and are **never** part of this
//! repository. Everything that needs them goes through one trait, [`SecureChannel`]; the
//! card logic in [`CitizenCard`](crate::CitizenCard) never sends those commands itself.
//!
//! [`Plain`] is the default: the plain commands of the reference profile (`shared/CARD.md`),
//! which the virtual card speaks. Its steps are also free functions in [`plain`], for an
//! implementation that wraps only some of them.
//!
//! # Plugging in the real one
//! An operator with the maker's authority does this, outside this repository:
//!
//! 1. In its own (private) crate, implement [`SecureChannel`] for a type that runs the maker's
//!    secure messaging: open the session (mutual authentication, session keys), wrap each
//!    command (MAC, encrypted data) before [`ApduChannel::transmit`] and unwrap each response,
//!    then report the card's answer in this crate's terms — [`PinState`], [`VerifyOutcome`],
//!    the 256-byte result, or a [`CardError`] (use [`CardError::from_status`] for refusals).
//!    Keys belong in a hardware security module reached over the network (the page is
//!    public WebAssembly; anything in it can be read), so the implementation's futures may
//!    call the operator's server: futures need not be `Send`.
//! 2. Override the default methods too if the real card needs secure messaging for them:
//!    [`SecureChannel::pin_state`], [`SecureChannel::update_binary`], and
//!    [`SecureChannel::max_update_data`] (wrapping adds bytes, so chunks must shrink).
//!    [`SecureChannel::reset`] is called when the card was reset and session keys are void.
//! 3. Build the card with it: `CitizenCard::with_secure_channel(channel, generation, theirs)`
//!    instead of `CitizenCard::new(channel, generation)`. Nothing else changes: callers use
//!    the same `CitizenCard` methods, outcomes and errors. The app names its card type once
//!    (`CitizenCard<C, S>` with `S` chosen at that one place, e.g. by a cargo feature of the
//!    operator's build), so no call site is touched.
//!
//! The reads (card number, version, certificates) need no secret and never go through this
//! trait.

use crate::channel::{exchange, ApduChannel, ChannelLimits};
use crate::command::{Command, KeyRole, HALF_BLOCK};
use crate::error::CardError;
use crate::pin::{Pin, PinState, VerifyOutcome};
use crate::signature::BLOCK_LENGTH;
use crate::status::Meaning;

/// The secret-dependent steps of the card: PIN and private-key operation (required), PIN
/// state and writes (plain by default). See the [module documentation](self) for how the
/// real one is plugged in.
#[allow(async_fn_in_trait)]
pub trait SecureChannel {
    /// Verifies the PIN (`VERIFY` with the PIN).
    async fn verify_pin<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
        pin: &Pin,
    ) -> Result<VerifyOutcome, CardError>;

    /// Runs the card's private-key operation with `key` on a 256-byte block the host padded,
    /// and returns the card's 256-byte result.
    async fn private_key_operation<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
        key: KeyRole,
        block: &[u8; BLOCK_LENGTH],
    ) -> Result<Vec<u8>, CardError>;

    /// Asks how many PIN tries are left (`VERIFY` without data).
    async fn pin_state<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
    ) -> Result<PinState, CardError> {
        plain::pin_state(channel).await
    }

    /// Writes `data` at `offset` of the current file (`UPDATE BINARY`).
    async fn update_binary<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
        offset: u16,
        data: &[u8],
    ) -> Result<(), CardError> {
        plain::update_binary(channel, offset, data).await
    }

    /// The most data one [`SecureChannel::update_binary`] call may carry on a channel with
    /// these limits.
    fn max_update_data(&self, limits: ChannelLimits) -> usize {
        limits.max_command_data
    }

    /// The card was reset or powered off: any session (verified PIN, session keys) is gone.
    fn reset(&mut self) {}
}

/// The plain commands of the reference profile; no secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain;

impl SecureChannel for Plain {
    async fn verify_pin<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
        pin: &Pin,
    ) -> Result<VerifyOutcome, CardError> {
        plain::verify_pin(channel, pin).await
    }

    async fn private_key_operation<C: ApduChannel + ?Sized>(
        &mut self,
        channel: &mut C,
        key: KeyRole,
        block: &[u8; BLOCK_LENGTH],
    ) -> Result<Vec<u8>, CardError> {
        plain::private_key_operation(channel, key, block).await
    }
}

/// The reference profile's steps, one function each.
pub mod plain {
    use super::*;

    /// `80 20 00 01`: `9000` verified, `63Cx` x tries left, `6983` (or `63C0`) locked.
    pub async fn pin_state<C: ApduChannel + ?Sized>(
        channel: &mut C,
    ) -> Result<PinState, CardError> {
        let command = Command::pin_tries();
        let response = exchange(channel, &command).await?;
        match response.status.meaning() {
            Meaning::Success => Ok(PinState::Verified),
            Meaning::WrongPin { tries_left: 0 } | Meaning::PinLocked => Ok(PinState::Locked),
            Meaning::WrongPin { tries_left } => Ok(PinState::TriesLeft(tries_left)),
            _ => Err(CardError::from_status(command.name(), response.status)),
        }
    }

    /// `80 20 00 01 08 <PIN padded FF>`: `9000`, `63Cx`, `6983`.
    pub async fn verify_pin<C: ApduChannel + ?Sized>(
        channel: &mut C,
        pin: &Pin,
    ) -> Result<VerifyOutcome, CardError> {
        let command = Command::verify_pin(pin);
        let response = exchange(channel, &command).await?;
        match response.status.meaning() {
            Meaning::Success => Ok(VerifyOutcome::Verified),
            Meaning::WrongPin { tries_left: 0 } | Meaning::PinLocked => Ok(VerifyOutcome::Locked),
            Meaning::WrongPin { tries_left } => Ok(VerifyOutcome::Wrong { tries_left }),
            _ => Err(CardError::from_status(command.name(), response.status)),
        }
    }

    /// `80 EA 82 <key> 80 <first half>`, `80 EA 02 <key> 80 <last half>`, `80 C1 00 00 00`.
    pub async fn private_key_operation<C: ApduChannel + ?Sized>(
        channel: &mut C,
        key: KeyRole,
        block: &[u8; BLOCK_LENGTH],
    ) -> Result<Vec<u8>, CardError> {
        let (first, last) = block.split_at(HALF_BLOCK);
        let halves = [
            Command::private_key_first_half(key, &half(first)),
            Command::private_key_last_half(key, &half(last)),
        ];
        for command in &halves {
            let response = exchange(channel, command).await?;
            if !response.status.is_success() {
                return Err(CardError::from_status(command.name(), response.status));
            }
        }
        let command = Command::get_result();
        let response = exchange(channel, &command).await?;
        if !response.status.is_success() {
            return Err(CardError::from_status(command.name(), response.status));
        }
        if response.data.len() != BLOCK_LENGTH {
            return Err(CardError::UnexpectedLength {
                what: "private-key operation result",
                expected: BLOCK_LENGTH,
                got: response.data.len(),
            });
        }
        Ok(response.data)
    }

    /// `80 D6 <offset> <Lc> <data>`: `9000`; `6982` without a verified PIN.
    pub async fn update_binary<C: ApduChannel + ?Sized>(
        channel: &mut C,
        offset: u16,
        data: &[u8],
    ) -> Result<(), CardError> {
        let command = Command::update_binary(offset, data);
        let response = exchange(channel, &command).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(CardError::from_status(command.name(), response.status))
        }
    }

    fn half(bytes: &[u8]) -> [u8; HALF_BLOCK] {
        let mut half = [0; HALF_BLOCK];
        for (slot, byte) in half.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        half
    }
}
