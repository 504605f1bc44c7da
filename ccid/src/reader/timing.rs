//! Card timing: USB timeouts that follow the card's waiting times and transmission rate.

use std::time::Duration;

use crate::atr::Atr;
use crate::protocol::Protocol;
use crate::transport::UsbTransport;

use super::{Reader, MIN_CARD_TIMEOUT};

/// Card timing, for USB timeouts that follow the card's own waiting times.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    clock_khz: u32,
    fi: u32,
    di: u32,
    /// The card's waiting time for one block (T=1 BWT) or character (T=0 WT), in ms.
    wait_ms: u64,
}

impl Timing {
    /// `protocol` is `None` when an APDU-level reader runs the card with a protocol neither it
    /// nor the ATR names as T=0 or T=1.
    pub(super) fn new(atr: &Atr, fi_di: u8, protocol: Option<Protocol>, clock_khz: u32) -> Timing {
        let clock_khz = clock_khz.max(1);
        let fi = crate::atr::fi_from_index(fi_di >> 4).map_or(372, u32::from);
        let di = crate::atr::di_from_index(fi_di & 0x0F).map_or(1, u32::from);
        // BWT = 11 etu + 2^BWI × 960 × 372 / f (ISO 7816-3 §11.4.3).
        let block_wait = (1u64 << atr.bwi().min(9)) * 960 * 372 / u64::from(clock_khz);
        // WT = WI × 960 × Fi / f (§10.2).
        let character_wait = u64::from(atr.t0_wi()) * 960 * u64::from(fi) / u64::from(clock_khz);
        let wait_ms = match protocol {
            Some(Protocol::T1) => block_wait,
            Some(Protocol::T0) => character_wait,
            // Not knowing which the card waits by, allow the longer.
            None => block_wait.max(character_wait),
        };
        Timing {
            clock_khz,
            fi,
            di,
            wait_ms,
        }
    }

    /// The USB timeout for an exchange moving `bytes` each way with the waiting time multiplied.
    pub(super) fn timeout(&self, bytes: usize, multiplier: u8) -> Duration {
        // One character is 12 etu at most; etu = Fi / (Di × f).
        let transfer_ms = bytes as u64 * 2 * 12 * u64::from(self.fi)
            / (u64::from(self.di) * u64::from(self.clock_khz));
        let wait = self.wait_ms * u64::from(multiplier.max(1));
        Duration::from_millis(2 * (wait + transfer_ms) + 1000).max(MIN_CARD_TIMEOUT)
    }
}

impl<T: UsbTransport> Reader<T> {
    pub(super) fn card_timeout(&self, bytes: usize, multiplier: u8) -> Duration {
        self.card.as_ref().map_or(MIN_CARD_TIMEOUT, |card| {
            card.timing.timeout(bytes, multiplier)
        })
    }
}
