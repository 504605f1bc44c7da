//! The interface device's side of T=1: chaining, error recovery, WTX and IFS, as a state
//! machine. The reader sends each [`Outgoing`] block and feeds back what came back.

use crate::atr::Edc;

/// Link parameters (from the ATR, and the host's choice of IFSD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct T1Params {
    /// The card's information field size: the largest INF the host may send.
    pub ifsc: u8,
    /// The host's information field size: the largest INF the card may send.
    pub ifsd: u8,
    /// Error detection code.
    pub edc: Edc,
    /// Node address byte to send (0 unless the reader accepts others).
    pub nad: u8,
}

/// A block for the reader to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The block's bytes.
    pub block: Vec<u8>,
    /// Block waiting time multiplier for the answer (1 unless the card asked for WTX).
    pub bwt_multiplier: u8,
}

/// The reader's account of a failed block exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The card did not answer within the block waiting time (CCID `ICC_MUTE`).
    Mute,
    /// The reader saw a parity error or overrun while receiving (CCID `XFR_PARITY_ERROR`,
    /// `XFR_OVERRUN`).
    Parity,
}

/// What to do after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum T1Step {
    /// Send this block next.
    Send(Outgoing),
    /// The exchange is complete: the whole response APDU.
    Done(Vec<u8>),
}

/// Why the exchange failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum T1Error {
    /// Retransmissions and three RESYNCH attempts failed: the card must be reset.
    #[error("T=1 communication with the card failed and could not be resynchronised")]
    Unrecoverable,
    /// The card aborted the chain (S(ABORT request)).
    #[error("the card aborted the T=1 exchange")]
    Aborted,
    /// `start` while an exchange is in progress, or `on_reply` with none.
    #[error("T=1 exchange called out of order")]
    OutOfOrder,
    /// An empty APDU was given.
    #[error("an empty APDU cannot be sent")]
    EmptyApdu,
}

/// The host side of a T=1 link; keeps sequence numbers across exchanges.
#[derive(Debug, Clone)]
pub struct T1Host {
    params: T1Params,
}

impl T1Host {
    /// A fresh link (sequence numbers 0, as after reset).
    pub fn new(params: T1Params) -> T1Host {
        T1Host { params }
    }

    /// Current parameters (IFSC changes when the card sends S(IFS request)).
    pub fn params(&self) -> T1Params {
        self.params
    }

    /// Starts the IFSD announcement (S(IFS request) with `params().ifsd`), the first exchange
    /// when the reader does not do it itself. Completes with `Done(vec![])`.
    pub fn start_ifsd(&mut self) -> Result<Outgoing, T1Error> {
        todo!()
    }

    /// Starts sending an APDU; returns the first block.
    pub fn start(&mut self, apdu: &[u8]) -> Result<Outgoing, T1Error> {
        let _ = apdu;
        todo!()
    }

    /// Feeds back the reader's reply to the last block sent.
    pub fn on_reply(&mut self, reply: Result<&[u8], LinkError>) -> Result<T1Step, T1Error> {
        let _ = reply;
        todo!()
    }
}
