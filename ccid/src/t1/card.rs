//! The card's side of T=1, for the simulated reader and for tests: answers host blocks, chains
//! long responses, and misbehaves on request (lost blocks, bad EDC, WTX, IFS requests).

use crate::atr::Edc;

/// A misbehaviour to apply to the card's next reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFault {
    /// Do not answer the next block (the reader reports the card mute).
    Mute,
    /// Answer the next block with a corrupted EDC.
    CorruptEdc,
    /// Before the next response I-block, ask for a waiting time extension of this multiplier.
    Wtx(u8),
    /// Before the next response I-block, ask the host to accept this IFSC.
    IfsRequest(u8),
}

/// The card's T=1 link state.
#[derive(Debug, Clone)]
pub struct T1Card {
    edc: Edc,
}

impl T1Card {
    /// A card that receives up to `ifsc` bytes per block and uses `edc`.
    pub fn new(ifsc: u8, edc: Edc) -> T1Card {
        let _ = ifsc;
        T1Card { edc }
    }

    /// Queues a fault for the card's next reply (faults apply in order).
    pub fn inject(&mut self, fault: CardFault) {
        let _ = fault;
        todo!()
    }

    /// The size the card currently sends at most (the host's IFSD, 32 until an IFS request).
    pub fn ifsd(&self) -> u8 {
        todo!()
    }

    /// Handles one block from the host. `apdu` runs a complete command APDU and returns the
    /// response APDU. `None` means the card stays silent (mute).
    pub fn on_block(
        &mut self,
        block: &[u8],
        apdu: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) -> Option<Vec<u8>> {
        let _ = (block, apdu, self.edc);
        todo!()
    }
}
