//! The interface device's side of T=1: chaining, error recovery, WTX and IFS, as a state
//! machine. The reader sends each [`Outgoing`] block and feeds back what came back.
//!
//! # Recovery policy (ISO/IEC 7816-3:2006 §11.6.3)
//!
//! * A reply that is missing ([`LinkError::Mute`]), garbled ([`LinkError::Parity`], bad EDC,
//!   bad length, undefined PCB, wrong NAD) or unexpected (wrong sequence number, a block that
//!   does not fit the exchange) is answered with an R-block whose N(R) names the I-block
//!   expected from the card, error code 1 for parity/EDC and 2 for everything else (rule 7.1).
//!   If the last block sent was itself an R-block it is sent again unchanged (rule 7.2); if it
//!   was an S(… request) the request is sent again (rule 7.3).
//! * An R-block from the card whose N(R) equals the N(S) of the pending I-block asks for that
//!   I-block again; it is retransmitted byte for byte, so that an acknowledgement arriving later
//!   always covers exactly the bytes the card holds.
//! * Each step of the exchange (a new block to get across) is transmitted at most three times
//!   in a row without a valid answer: the first transmission and two retries (rule 7.4). On the
//!   next failure the host sends S(RESYNCH request) (rule 6).
//! * S(RESYNCH request) goes out at most three times per exchange, counting every one,
//!   successful or not (rule 6.4 asks for a reset after three failed attempts; counting them
//!   all also bounds an exchange whose faults keep coming back after each resynchronisation).
//!   The exchange then fails with [`T1Error::Unrecoverable`] and the reader must reset the card;
//!   the host is left as [`T1Host::new`] made it.
//! * After S(RESYNCH response) both sequence numbers are 0, IFSC returns to the value given to
//!   [`T1Host::new`] (the card's, from the ATR) and the card's IFSD to 32, the ISO default; the
//!   host does not announce its IFSD again on its own ([`T1Host::start_ifsd`] may be called
//!   between exchanges). The exchange then restarts from its first block, as the standard has
//!   it: the command APDU is sent again from the beginning and any partial response is
//!   dropped, so a card that had already run the command runs it again.
//! * S(ABORT request) from the card is answered with S(ABORT response) (rule 9); whatever
//!   comes back then ends the exchange with [`T1Error::Aborted`], and the next exchange begins
//!   with a resynchronisation, since after an aborted chain the two sides may disagree on which
//!   blocks were acknowledged.
//! * The host accepts information fields up to 254 bytes from the card whatever IFSD it
//!   announced: only the card's information field size limits what the host sends.
//!
//! Response APDUs are delivered whole or not at all: an I-block is appended only when its N(S)
//! is the one expected, so a block the card sends twice is never counted twice.

use tracing::debug;

use super::block::{decode, encode, Block, BlockError, SBlock, MAX_INF};
use crate::atr::Edc;

/// Transmissions of one block without a valid answer before resynchronising (rule 7.4).
const MAX_TRIES: u8 = 3;
/// S(RESYNCH request)s per exchange before giving up (rule 6.4).
const MAX_RESYNCHS: u8 = 3;
/// The information field sizes a link starts with when the ATR says nothing (§11.4.2).
const DEFAULT_IFS: u8 = 32;
/// The largest response APDU: 65 536 data bytes and SW1-SW2. A card chaining beyond it is
/// broken; the exchange fails rather than grow without end.
const MAX_RESPONSE: usize = 65_538;
/// R-block error codes.
const ERR_EDC: u8 = 1;
const ERR_OTHER: u8 = 2;

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
    /// Current parameters; `ifsc` follows the card's S(IFS request)s.
    params: T1Params,
    /// Parameters as given to `new`, restored by a resynchronisation.
    initial: T1Params,
    /// N(S) of the host's next new I-block (or of the pending one).
    ns: u8,
    /// N(S) expected on the card's next I-block.
    nr: u8,
    /// Begin the next exchange with S(RESYNCH request) (after an abort or an abandoned
    /// exchange, when the sequence numbers may disagree).
    resync_first: bool,
    exchange: Option<Exchange>,
}

/// What an exchange is for.
#[derive(Debug, Clone)]
enum Task {
    /// Send a command APDU, collect the response APDU.
    Apdu(Vec<u8>),
    /// Announce IFSD with S(IFS request).
    Ifsd(u8),
}

impl Drop for Task {
    fn drop(&mut self) {
        // The APDU may carry a PIN.
        if let Task::Apdu(apdu) = self {
            zeroize::Zeroize::zeroize(apdu);
        }
    }
}

/// The last block the host sent, which decides how an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// The pending I-block.
    IBlock,
    /// An R-block with this error code (its N(R) is always the host's `nr`).
    RBlock(u8),
    /// S(IFS request) with the host's IFSD.
    IfsRequest(u8),
    /// S(RESYNCH request).
    Resynch,
    /// S(WTX response) or S(IFS response) to a request of the card.
    SResponse,
    /// S(ABORT response): whatever comes back ends the exchange.
    AbortResponse,
}

#[derive(Debug, Clone)]
struct Exchange {
    task: Task,
    /// Start, in the APDU, of the pending (unacknowledged) I-block.
    offset: usize,
    /// INF length of the pending I-block, fixed at its first transmission.
    chunk: usize,
    /// Every I-block of the command is acknowledged; the card is sending the response.
    receiving: bool,
    response: Vec<u8>,
    last: Sent,
    /// Transmissions of the current step so far.
    tries: u8,
    /// S(RESYNCH request)s sent in this exchange.
    resyncs: u8,
}

impl Exchange {
    fn new(task: Task) -> Exchange {
        Exchange {
            task,
            offset: 0,
            chunk: 0,
            receiving: false,
            response: Vec::new(),
            last: Sent::IBlock,
            tries: 1,
            resyncs: 0,
        }
    }
}

/// Keeps an IFS within 1..=254, the values ISO/IEC 7816-3 §11.4.2 allows.
fn sane_ifs(value: u8) -> u8 {
    if value == 0 || usize::from(value) > MAX_INF {
        DEFAULT_IFS
    } else {
        value
    }
}

impl T1Host {
    /// A fresh link (sequence numbers 0, as after reset).
    ///
    /// An `ifsc` or `ifsd` outside 1..=254 (0 and 255 are not valid sizes) is replaced by 32,
    /// the ISO default.
    pub fn new(params: T1Params) -> T1Host {
        let params = T1Params {
            ifsc: sane_ifs(params.ifsc),
            ifsd: sane_ifs(params.ifsd),
            ..params
        };
        T1Host {
            params,
            initial: params,
            ns: 0,
            nr: 0,
            resync_first: false,
            exchange: None,
        }
    }

    /// Current parameters (IFSC changes when the card sends S(IFS request)).
    pub fn params(&self) -> T1Params {
        self.params
    }

    /// Starts the IFSD announcement (S(IFS request) with `params().ifsd`), the first exchange
    /// when the reader does not do it itself. Completes with `Done(vec![])`.
    ///
    /// Errors are handled as for an APDU: the request is sent again (rule 7.3), then the link
    /// is resynchronised and the request sent once more.
    pub fn start_ifsd(&mut self) -> Result<Outgoing, T1Error> {
        if self.exchange.is_some() {
            return Err(T1Error::OutOfOrder);
        }
        let ifsd = self.params.ifsd;
        let mut ex = Exchange::new(Task::Ifsd(ifsd));
        let out = if self.resync_first {
            self.begin_resync(&mut ex)
        } else {
            ex.last = Sent::IfsRequest(ifsd);
            self.out(&Block::S(SBlock::IfsRequest(ifsd)))
        };
        self.exchange = Some(ex);
        Ok(out)
    }

    /// Starts sending an APDU; returns the first block.
    ///
    /// After an aborted or abandoned exchange the first block is S(RESYNCH request); the APDU
    /// follows once the card has answered it.
    pub fn start(&mut self, apdu: &[u8]) -> Result<Outgoing, T1Error> {
        if self.exchange.is_some() {
            return Err(T1Error::OutOfOrder);
        }
        if apdu.is_empty() {
            return Err(T1Error::EmptyApdu);
        }
        let mut ex = Exchange::new(Task::Apdu(apdu.to_vec()));
        let out = if self.resync_first {
            self.begin_resync(&mut ex)
        } else {
            self.new_iblock(&mut ex)
        };
        self.exchange = Some(ex);
        Ok(out)
    }

    /// Feeds back the reader's reply to the last block sent.
    pub fn on_reply(&mut self, reply: Result<&[u8], LinkError>) -> Result<T1Step, T1Error> {
        let Some(mut ex) = self.exchange.take() else {
            return Err(T1Error::OutOfOrder);
        };
        let step = self.step(&mut ex, reply);
        if let Ok(T1Step::Send(_)) = step {
            self.exchange = Some(ex);
        }
        step
    }

    /// Forgets the exchange in progress, for a reader whose transport failed in the middle of
    /// one. Sequence numbers are kept, but the card's state is unknown, so the next exchange
    /// begins with a resynchronisation.
    pub fn abandon(&mut self) {
        if self.exchange.take().is_some() {
            self.resync_first = true;
        }
    }

    /// One reply, with the exchange taken out of `self`.
    fn step(
        &mut self,
        ex: &mut Exchange,
        reply: Result<&[u8], LinkError>,
    ) -> Result<T1Step, T1Error> {
        if ex.last == Sent::AbortResponse {
            // Rule 9: the chain is abandoned whatever the card does next.
            debug!("T=1: the card aborted the exchange; the next one resynchronises first");
            self.resync_first = true;
            return Err(T1Error::Aborted);
        }
        let bytes = match reply {
            Ok(bytes) => bytes,
            Err(LinkError::Mute) => return self.recover(ex, ERR_OTHER, "no answer within BWT"),
            Err(LinkError::Parity) => return self.recover(ex, ERR_EDC, "parity error"),
        };
        let (nad, block) = match decode(bytes, self.params.edc) {
            Ok(decoded) => decoded,
            Err(BlockError::BadEdc) => return self.recover(ex, ERR_EDC, "bad EDC"),
            Err(BlockError::BadLength) => return self.recover(ex, ERR_OTHER, "bad block length"),
            Err(BlockError::BadPcb(_)) => return self.recover(ex, ERR_OTHER, "undefined PCB"),
        };
        if nad & 0x77 != self.card_nad() {
            return self.recover(ex, ERR_OTHER, "wrong NAD");
        }
        match ex.last {
            Sent::Resynch => match block {
                Block::S(SBlock::ResynchResponse) => Ok(T1Step::Send(self.resynchronised(ex))),
                _ => self.recover(ex, ERR_OTHER, "unexpected answer to S(RESYNCH request)"),
            },
            Sent::IfsRequest(ifsd) => match block {
                Block::S(SBlock::IfsResponse(echo)) if echo == ifsd => {
                    debug!(ifsd, "T=1: IFSD announced");
                    Ok(T1Step::Done(Vec::new()))
                }
                _ => self.recover(ex, ERR_OTHER, "unexpected answer to S(IFS request)"),
            },
            _ => self.in_exchange(ex, block),
        }
    }

    /// A valid block while an APDU is being exchanged.
    fn in_exchange(&mut self, ex: &mut Exchange, block: Block) -> Result<T1Step, T1Error> {
        let apdu_len = match &ex.task {
            Task::Apdu(apdu) => apdu.len(),
            Task::Ifsd(_) => return self.recover(ex, ERR_OTHER, "unexpected block"),
        };
        let chaining = ex.offset + ex.chunk < apdu_len;
        match block {
            Block::I { ns, more, inf } => {
                if !ex.receiving {
                    if chaining {
                        return self.recover(ex, ERR_OTHER, "I-block before the chain ended");
                    }
                    if ns != self.nr {
                        return self.recover(ex, ERR_OTHER, "wrong N(S)");
                    }
                    // Rule 2.1: the card's I-block acknowledges the host's last I-block.
                    self.ns ^= 1;
                    ex.receiving = true;
                } else if ns != self.nr {
                    return self.recover(ex, ERR_OTHER, "wrong N(S)");
                }
                if ex.response.len() + inf.len() > MAX_RESPONSE {
                    debug!("T=1: the card chains beyond the largest response APDU");
                    return Err(self.fail());
                }
                self.nr ^= 1;
                ex.response.extend_from_slice(&inf);
                if more {
                    // Rule 5: acknowledge a chained block with R(N(R) = next N(S)).
                    ex.tries = 1;
                    ex.last = Sent::RBlock(0);
                    Ok(T1Step::Send(self.out(&Block::R {
                        nr: self.nr,
                        error: 0,
                    })))
                } else {
                    Ok(T1Step::Done(std::mem::take(&mut ex.response)))
                }
            }
            Block::R { nr, .. } => {
                if ex.receiving {
                    return self.recover(ex, ERR_OTHER, "R-block while receiving");
                }
                if nr == self.ns {
                    // The card asks for the pending I-block again.
                    if ex.tries >= MAX_TRIES {
                        debug!("T=1: the card keeps asking for the same I-block");
                        return self.resync(ex);
                    }
                    debug!(
                        tries = ex.tries,
                        "T=1: the card asked for the I-block again"
                    );
                    ex.tries += 1;
                    ex.last = Sent::IBlock;
                    return Ok(T1Step::Send(self.pending_iblock(ex)));
                }
                if !chaining {
                    return self.recover(ex, ERR_OTHER, "R-block acknowledging the last block");
                }
                // Rules 2.2 and 5: N(R) names the next I-block, the pending one is through.
                self.ns ^= 1;
                ex.offset += ex.chunk;
                Ok(T1Step::Send(self.new_iblock(ex)))
            }
            Block::S(SBlock::WtxRequest(multiplier)) => {
                // Rule 3: the extension holds for the answer to the S(WTX response) only.
                debug!(
                    multiplier,
                    "T=1: the card asked for a waiting time extension"
                );
                ex.tries = 1;
                ex.last = Sent::SResponse;
                let mut out = self.out(&Block::S(SBlock::WtxResponse(multiplier)));
                out.bwt_multiplier = multiplier.max(1);
                Ok(T1Step::Send(out))
            }
            Block::S(SBlock::IfsRequest(ifsc)) if ifsc != 0 && usize::from(ifsc) <= MAX_INF => {
                // Rule 4: the new IFSC holds for the host's following I-blocks.
                debug!(ifsc, "T=1: the card changed its IFSC");
                self.params.ifsc = ifsc;
                ex.tries = 1;
                ex.last = Sent::SResponse;
                Ok(T1Step::Send(self.out(&Block::S(SBlock::IfsResponse(ifsc)))))
            }
            Block::S(SBlock::AbortRequest) => {
                ex.last = Sent::AbortResponse;
                Ok(T1Step::Send(self.out(&Block::S(SBlock::AbortResponse))))
            }
            Block::S(_) => self.recover(ex, ERR_OTHER, "unexpected S-block"),
        }
    }

    /// Answers a missing, invalid or unexpected block (rules 7.1–7.3), or resynchronises when
    /// the step has had its three transmissions (rule 7.4).
    fn recover(
        &mut self,
        ex: &mut Exchange,
        error: u8,
        why: &'static str,
    ) -> Result<T1Step, T1Error> {
        debug!(why, tries = ex.tries, "T=1: recovering from a bad reply");
        if ex.last == Sent::Resynch || ex.tries >= MAX_TRIES {
            return self.resync(ex);
        }
        ex.tries += 1;
        let block = match ex.last {
            Sent::IfsRequest(ifsd) => Block::S(SBlock::IfsRequest(ifsd)),
            Sent::RBlock(previous) => Block::R {
                nr: self.nr,
                error: previous,
            },
            _ => {
                ex.last = Sent::RBlock(error);
                Block::R { nr: self.nr, error }
            }
        };
        Ok(T1Step::Send(self.out(&block)))
    }

    /// Sends S(RESYNCH request) if the exchange has attempts left (rule 6.4).
    fn resync(&mut self, ex: &mut Exchange) -> Result<T1Step, T1Error> {
        if ex.resyncs >= MAX_RESYNCHS {
            debug!("T=1: resynchronisation failed three times; the card must be reset");
            return Err(self.fail());
        }
        debug!(attempt = ex.resyncs + 1, "T=1: resynchronising");
        Ok(T1Step::Send(self.begin_resync(ex)))
    }

    fn begin_resync(&mut self, ex: &mut Exchange) -> Outgoing {
        self.resync_first = false;
        ex.resyncs += 1;
        ex.tries = 1;
        ex.last = Sent::Resynch;
        self.out(&Block::S(SBlock::ResynchRequest))
    }

    /// After S(RESYNCH response): fresh link parameters, the exchange from its first block.
    fn resynchronised(&mut self, ex: &mut Exchange) -> Outgoing {
        debug!("T=1: resynchronised; restarting the exchange");
        self.ns = 0;
        self.nr = 0;
        self.params.ifsc = self.initial.ifsc;
        ex.offset = 0;
        ex.chunk = 0;
        ex.receiving = false;
        ex.response.clear();
        ex.tries = 1;
        match ex.task {
            Task::Apdu(_) => self.new_iblock(ex),
            Task::Ifsd(ifsd) => {
                ex.last = Sent::IfsRequest(ifsd);
                self.out(&Block::S(SBlock::IfsRequest(ifsd)))
            }
        }
    }

    /// Gives up: the card must be reset, which also resets the link.
    fn fail(&mut self) -> T1Error {
        self.ns = 0;
        self.nr = 0;
        self.params = self.initial;
        self.resync_first = false;
        T1Error::Unrecoverable
    }

    /// The next I-block of the command, sized by the current IFSC.
    fn new_iblock(&mut self, ex: &mut Exchange) -> Outgoing {
        let remaining = match &ex.task {
            Task::Apdu(apdu) => apdu.len().saturating_sub(ex.offset),
            Task::Ifsd(_) => 0,
        };
        ex.chunk = remaining.min(usize::from(self.params.ifsc));
        ex.tries = 1;
        ex.last = Sent::IBlock;
        self.pending_iblock(ex)
    }

    /// The pending I-block, as first sent.
    fn pending_iblock(&self, ex: &Exchange) -> Outgoing {
        let (inf, more) = match &ex.task {
            Task::Apdu(apdu) => {
                let end = ex.offset + ex.chunk;
                (
                    apdu.get(ex.offset..end).unwrap_or_default().to_vec(),
                    end < apdu.len(),
                )
            }
            Task::Ifsd(_) => (Vec::new(), false),
        };
        self.out(&Block::I {
            ns: self.ns,
            more,
            inf,
        })
    }

    fn out(&self, block: &Block) -> Outgoing {
        Outgoing {
            block: encode(self.params.nad, block, self.params.edc),
            bwt_multiplier: 1,
        }
    }

    /// The NAD the card answers with: source and destination addresses exchanged (§11.3.2.1).
    fn card_nad(&self) -> u8 {
        let nad = self.params.nad;
        ((nad & 0x07) << 4) | ((nad >> 4) & 0x07)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hex;
    use crate::t1::card::{CardFault, T1Card};

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    fn params(ifsc: u8, edc: Edc) -> T1Params {
        T1Params {
            ifsc,
            ifsd: 254,
            edc,
            nad: 0,
        }
    }

    /// The simulated card application: the response length is in the command's first two
    /// bytes (big-endian, modulo 601), its bytes depend on the whole command, then 90 00.
    fn answer(command: &[u8]) -> Vec<u8> {
        let want = match command {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])) % 601,
            _ => 0,
        };
        let seed = command.iter().fold(0x811C_9DC5u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        });
        let mut out: Vec<u8> = (0..want)
            .map(|i| (seed.wrapping_add((i as u32).wrapping_mul(0x9E37_79B1)) >> 24) as u8)
            .collect();
        out.extend([0x90, 0x00]);
        out
    }

    /// A command of `len` bytes (at least 2) asking for a response of `want` data bytes.
    fn command(len: usize, want: u16, fill: u8) -> Vec<u8> {
        let mut c = want.to_be_bytes().to_vec();
        c.resize(len.max(2), fill);
        c
    }

    /// Carries blocks between a host and a simulated card, recording everything.
    struct Link {
        host: T1Host,
        card: T1Card,
        edc: Edc,
        /// Blocks the host sent in the last exchange.
        sent: Vec<Outgoing>,
        /// The card's replies in the last exchange (`None`: mute).
        replies: Vec<Option<Vec<u8>>>,
        /// Commands the card application ran, over all exchanges.
        executed: Vec<Vec<u8>>,
    }

    impl Link {
        fn new(ifsc: u8, edc: Edc) -> Link {
            Link {
                host: T1Host::new(params(ifsc, edc)),
                card: T1Card::new(ifsc, edc),
                edc,
                sent: Vec::new(),
                replies: Vec::new(),
                executed: Vec::new(),
            }
        }

        fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, T1Error> {
            self.exchange_with(apdu, &[])
        }

        /// Runs one exchange; `schedule` injects a fault just before the host's block number
        /// `step` (0 for the first) reaches the card.
        fn exchange_with(
            &mut self,
            apdu: &[u8],
            schedule: &[(usize, CardFault)],
        ) -> Result<Vec<u8>, T1Error> {
            let first = self.host.start(apdu)?;
            self.drive(first, schedule)
        }

        fn drive(
            &mut self,
            first: Outgoing,
            schedule: &[(usize, CardFault)],
        ) -> Result<Vec<u8>, T1Error> {
            self.sent.clear();
            self.replies.clear();
            let mut out = first;
            for step in 0..10_000 {
                for (_, fault) in schedule.iter().filter(|(at, _)| *at == step) {
                    self.card.inject(*fault);
                }
                let executed = &mut self.executed;
                let mut app = |c: &[u8]| {
                    executed.push(c.to_vec());
                    answer(c)
                };
                let reply = self.card.on_block(&out.block, &mut app);
                self.sent.push(out);
                self.replies.push(reply.clone());
                match self.host.on_reply(reply.as_deref().ok_or(LinkError::Mute)) {
                    Ok(T1Step::Send(next)) => out = next,
                    Ok(T1Step::Done(response)) => return Ok(response),
                    Err(error) => return Err(error),
                }
            }
            panic!("the exchange did not end");
        }

        /// The host's blocks in the last exchange, decoded.
        fn sent_blocks(&self) -> Vec<Block> {
            self.sent
                .iter()
                .map(|o| decode(&o.block, self.edc).unwrap().1)
                .collect()
        }

        /// INF lengths of the host's I-blocks in the last exchange.
        fn i_lengths(&self) -> Vec<usize> {
            self.sent_blocks()
                .into_iter()
                .filter_map(|b| match b {
                    Block::I { inf, .. } => Some(inf.len()),
                    _ => None,
                })
                .collect()
        }

        /// The card's replies in the last exchange, decoded where they decode.
        fn reply_blocks(&self) -> Vec<Option<Block>> {
            self.replies
                .iter()
                .map(|r| {
                    r.as_ref()
                        .and_then(|b| decode(b, self.edc).ok())
                        .map(|(_, b)| b)
                })
                .collect()
        }
    }

    fn i(ns: u8, more: bool, inf: &[u8]) -> Block {
        Block::I {
            ns,
            more,
            inf: inf.to_vec(),
        }
    }

    fn r(nr: u8, error: u8) -> Block {
        Block::R { nr, error }
    }

    const EDCS: [Edc; 2] = [Edc::Lrc, Edc::Crc];

    #[test]
    fn short_apdu() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(5, 4, 0xA4);
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.sent_blocks(), vec![i(0, false, &apdu)]);
            assert_eq!(link.executed, vec![apdu]);
        }
    }

    #[test]
    fn first_block_exact_bytes_and_error_r_blocks() {
        let mut host = T1Host::new(params(32, Edc::Lrc));
        let out = host.start(&bytes("80 A4 00 00 02")).unwrap();
        assert_eq!(out.block, bytes("00 00 05 80 A4 00 00 02 23"));
        assert_eq!(out.bwt_multiplier, 1);
        // Mute: R(N(R) 0, other error).
        let step = host.on_reply(Err(LinkError::Mute)).unwrap();
        assert_eq!(
            step,
            T1Step::Send(Outgoing {
                block: bytes("00 82 00 82"),
                bwt_multiplier: 1
            })
        );
        // Rule 7.2: after an R-block, the same R-block again.
        let step = host.on_reply(Err(LinkError::Parity)).unwrap();
        assert_eq!(
            step,
            T1Step::Send(Outgoing {
                block: bytes("00 82 00 82"),
                bwt_multiplier: 1
            })
        );
        // The card asks for the I-block (R(0)): it goes again, byte for byte... but that was
        // the third transmission of the step already, so the host resynchronises instead.
        let step = host.on_reply(Ok(&bytes("00 80 00 80"))).unwrap();
        assert_eq!(
            step,
            T1Step::Send(Outgoing {
                block: bytes("00 C0 00 C0"),
                bwt_multiplier: 1
            })
        );
    }

    #[test]
    fn parity_and_bad_edc_ask_with_error_1() {
        for reply in [Err(LinkError::Parity), Ok(&bytes("00 00 02 90 00 93")[..])] {
            let mut host = T1Host::new(params(32, Edc::Lrc));
            host.start(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap();
            let T1Step::Send(out) = host.on_reply(reply).unwrap() else {
                panic!("expected a block");
            };
            assert_eq!(out.block, bytes("00 81 00 81"));
            // The card asks for the I-block again: it is retransmitted unchanged.
            let T1Step::Send(out) = host.on_reply(Ok(&bytes("00 80 00 80"))).unwrap() else {
                panic!("expected a block");
            };
            assert_eq!(out.block, bytes("00 00 05 00 B0 00 00 00 B5"));
            assert_eq!(
                host.on_reply(Ok(&bytes("00 00 02 90 00 92"))),
                Ok(T1Step::Done(vec![0x90, 0x00]))
            );
        }
    }

    #[test]
    fn apdu_longer_than_ifsc_is_chained() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(100, 2, 0x5A);
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.i_lengths(), vec![32, 32, 32, 4]);
            let blocks = link.sent_blocks();
            assert_eq!(blocks[0], i(0, true, &apdu[..32]));
            assert_eq!(blocks[1], i(1, true, &apdu[32..64]));
            assert_eq!(blocks[3], i(1, false, &apdu[96..]));
            assert_eq!(
                link.reply_blocks()[..3],
                [Some(r(1, 0)), Some(r(0, 0)), Some(r(1, 0))]
            );
            assert_eq!(link.executed, vec![apdu]);
        }
    }

    #[test]
    fn response_longer_than_ifsd_is_chained() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(5, 300, 0);
            let response = link.exchange(&apdu).unwrap();
            assert_eq!(response, answer(&apdu));
            assert_eq!(response.len(), 302);
            // 302 bytes by the default IFSD of 32: ten blocks, nine acknowledgements.
            let blocks = link.sent_blocks();
            assert_eq!(blocks.len(), 10);
            for (k, block) in blocks.iter().enumerate().skip(1) {
                assert_eq!(*block, r((k % 2) as u8, 0));
            }
        }
    }

    #[test]
    fn ifsd_announcement() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let first = link.host.start_ifsd().unwrap();
            if edc == Edc::Lrc {
                assert_eq!(first.block, bytes("00 C1 01 FE 3E"));
            }
            assert_eq!(link.drive(first, &[]), Ok(vec![]));
            assert_eq!(link.card.ifsd(), 254);
            let apdu = command(5, 300, 1);
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            // 302 bytes by 254: two blocks.
            assert_eq!(link.sent.len(), 2);
            // The IFS exchange used no sequence number.
            assert_eq!(link.sent_blocks()[0], i(0, false, &apdu));
        }
    }

    #[test]
    fn wtx_multiplier_is_reported_once() {
        let mut link = Link::new(32, Edc::Lrc);
        let apdu = command(5, 10, 0);
        link.card.inject(CardFault::Wtx(5));
        assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
        assert_eq!(
            link.sent_blocks(),
            vec![i(0, false, &apdu), Block::S(SBlock::WtxResponse(5))]
        );
        let multipliers: Vec<u8> = link.sent.iter().map(|o| o.bwt_multiplier).collect();
        assert_eq!(multipliers, vec![1, 5]);
        // Back to 1 afterwards, including within a chained exchange with a WTX on the way.
        let apdu = command(80, 100, 0);
        link.card.inject(CardFault::Wtx(2));
        assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
        let multipliers: Vec<u8> = link.sent.iter().map(|o| o.bwt_multiplier).collect();
        assert_eq!(multipliers, vec![1, 1, 1, 2, 1, 1, 1]);
    }

    #[test]
    fn card_ifs_request_changes_the_chaining_size() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(100, 0, 3);
            link.card.inject(CardFault::IfsRequest(16));
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.i_lengths(), vec![32, 16, 16, 16, 16, 4]);
            assert_eq!(link.sent_blocks()[1], Block::S(SBlock::IfsResponse(16)));
            assert_eq!(link.host.params().ifsc, 16);
            assert_eq!(link.executed, vec![apdu]);
        }
    }

    /// A fault at `step` of a chained exchange is recovered without resynchronising.
    fn recovers_in_chain(apdu: &[u8], step: usize, fault: CardFault) {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let result = link.exchange_with(apdu, &[(step, fault)]);
            assert_eq!(result, Ok(answer(apdu)), "{fault:?} at {step}, {edc:?}");
            assert!(
                !link
                    .sent_blocks()
                    .contains(&Block::S(SBlock::ResynchRequest)),
                "{fault:?} at {step}: no resynchronisation needed"
            );
            assert_eq!(link.executed, vec![apdu.to_vec()], "{fault:?} at {step}");
            assert_eq!(link.card.pending_faults(), 0);
        }
    }

    #[test]
    fn lost_blocks_in_a_command_chain() {
        let apdu = command(100, 2, 7);
        for step in 0..4 {
            // The host's block is lost, then the card's answer to it.
            recovers_in_chain(&apdu, step, CardFault::Mute);
            recovers_in_chain(&apdu, step, CardFault::LoseReply);
        }
    }

    #[test]
    fn lost_blocks_in_a_response_chain() {
        let apdu = command(5, 200, 7);
        for step in 0..7 {
            recovers_in_chain(&apdu, step, CardFault::Mute);
            recovers_in_chain(&apdu, step, CardFault::LoseReply);
        }
    }

    #[test]
    fn corrupted_blocks_in_both_directions() {
        for apdu in [command(100, 2, 9), command(5, 200, 9)] {
            for step in 0..5 {
                recovers_in_chain(&apdu, step, CardFault::CorruptEdc);
                recovers_in_chain(&apdu, step, CardFault::CorruptReceived);
                recovers_in_chain(&apdu, step, CardFault::CorruptPcb);
            }
        }
    }

    #[test]
    fn wrong_sequence_number_on_an_i_block_is_caught() {
        let apdu = command(5, 100, 1);
        let mut link = Link::new(32, Edc::Lrc);
        // The card's second response block goes out with the wrong N(S).
        let result = link.exchange_with(&apdu, &[(1, CardFault::WrongSequence)]);
        assert_eq!(result, Ok(answer(&apdu)));
        // Rule 7.2: the host's last block was the R-block acknowledging the first response
        // block, so it goes again unchanged, and the card sends the block it names.
        assert_eq!(link.sent_blocks()[1..3], [r(1, 0), r(1, 0)]);
    }

    #[test]
    fn exhausted_retries_resynchronise_then_succeed() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(5, 4, 0);
            for _ in 0..3 {
                link.card.inject(CardFault::Mute);
            }
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(
                link.sent_blocks(),
                vec![
                    i(0, false, &apdu),
                    r(0, 2),
                    r(0, 2),
                    Block::S(SBlock::ResynchRequest),
                    i(0, false, &apdu),
                ]
            );
            assert_eq!(link.executed, vec![apdu.clone()]);
            // Sequence numbers restarted at 0 and go on from there.
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.sent_blocks(), vec![i(1, false, &apdu)]);
        }
    }

    #[test]
    fn resynchronisation_restarts_the_exchange_without_duplicating_the_response() {
        let mut link = Link::new(32, Edc::Lrc);
        // Chain a command, lose the card's third response block three times.
        let apdu = command(70, 150, 4);
        let schedule = [
            (5, CardFault::LoseReply),
            (6, CardFault::LoseReply),
            (7, CardFault::LoseReply),
        ];
        assert_eq!(link.exchange_with(&apdu, &schedule), Ok(answer(&apdu)));
        let blocks = link.sent_blocks();
        let resynch = blocks
            .iter()
            .position(|b| *b == Block::S(SBlock::ResynchRequest))
            .unwrap();
        assert_eq!(resynch, 8);
        // After the resynchronisation, the command goes again from its first block with N(S) 0.
        assert_eq!(blocks[9], i(0, true, &apdu[..32]));
        // The standard's price: the card ran the command twice.
        assert_eq!(link.executed, vec![apdu.clone(), apdu]);
    }

    #[test]
    fn persistent_faults_are_unrecoverable() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(40, 4, 0);
            for _ in 0..10 {
                link.card.inject(CardFault::Mute);
            }
            assert_eq!(link.exchange(&apdu), Err(T1Error::Unrecoverable));
            assert_eq!(
                link.sent_blocks(),
                vec![
                    i(0, true, &apdu[..32]),
                    r(0, 2),
                    r(0, 2),
                    Block::S(SBlock::ResynchRequest),
                    Block::S(SBlock::ResynchRequest),
                    Block::S(SBlock::ResynchRequest),
                ]
            );
            // The reader resets the card; the host starts over as a fresh link.
            link.card = T1Card::new(32, edc);
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.sent_blocks()[0], i(0, true, &apdu[..32]));
        }
    }

    #[test]
    fn resynchronisations_are_counted_per_exchange() {
        let mut link = Link::new(32, Edc::Lrc);
        let apdu = command(5, 4, 0);
        // Each resynchronisation succeeds, but the block after it keeps failing.
        let mut schedule = Vec::new();
        for step in 0..20 {
            schedule.push((step, CardFault::CorruptEdc));
        }
        let schedule: Vec<(usize, CardFault)> = schedule
            .into_iter()
            .filter(|(step, _)| step % 4 != 3)
            .collect();
        assert_eq!(
            link.exchange_with(&apdu, &schedule),
            Err(T1Error::Unrecoverable)
        );
        let resynchs = link
            .sent_blocks()
            .iter()
            .filter(|b| **b == Block::S(SBlock::ResynchRequest))
            .count();
        assert_eq!(resynchs, 3);
    }

    #[test]
    fn card_abort() {
        for edc in EDCS {
            let mut link = Link::new(32, edc);
            let apdu = command(100, 2, 0);
            assert_eq!(
                link.exchange_with(&apdu, &[(1, CardFault::Abort)]),
                Err(T1Error::Aborted)
            );
            assert_eq!(
                link.sent_blocks().last(),
                Some(&Block::S(SBlock::AbortResponse))
            );
            // The card gave the right to send back with an R-block.
            assert_eq!(link.reply_blocks().last(), Some(&Some(r(1, 0))));
            // The next exchange resynchronises first.
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            let blocks = link.sent_blocks();
            assert_eq!(blocks[0], Block::S(SBlock::ResynchRequest));
            assert_eq!(blocks[1], i(0, true, &apdu[..32]));
            assert_eq!(link.executed, vec![apdu.clone()]);
        }
    }

    #[test]
    fn abort_of_a_response_chain() {
        let mut link = Link::new(32, Edc::Lrc);
        let apdu = command(5, 200, 0);
        assert_eq!(
            link.exchange_with(&apdu, &[(2, CardFault::Abort)]),
            Err(T1Error::Aborted)
        );
        assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
    }

    #[test]
    fn sequence_numbers_alternate_across_exchanges() {
        let mut link = Link::new(32, Edc::Lrc);
        for k in 0..20u8 {
            let apdu = command(5, u16::from(k), k);
            assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
            assert_eq!(link.sent_blocks(), vec![i(k % 2, false, &apdu)]);
            assert_eq!(
                link.reply_blocks(),
                vec![Some(i(k % 2, false, &answer(&apdu)))]
            );
        }
        // Chained exchanges move both numbers by their block counts: two blocks each way here.
        let apdu = command(40, 40, 0);
        assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
        assert_eq!(link.sent_blocks()[0], i(0, true, &apdu[..32]));
        assert_eq!(link.sent_blocks()[1], i(1, false, &apdu[32..]));
        assert_eq!(link.sent_blocks()[2], r(1, 0));
        let apdu = command(5, 0, 0);
        assert_eq!(link.exchange(&apdu), Ok(answer(&apdu)));
        assert_eq!(link.sent_blocks(), vec![i(0, false, &apdu)]);
        assert_eq!(link.reply_blocks(), vec![Some(i(0, false, &[0x90, 0x00]))]);
    }

    #[test]
    fn out_of_order_calls() {
        let mut host = T1Host::new(params(32, Edc::Lrc));
        assert_eq!(
            host.on_reply(Ok(&bytes("00 80 00 80"))),
            Err(T1Error::OutOfOrder)
        );
        assert_eq!(host.start(&[]), Err(T1Error::EmptyApdu));
        host.start(&[1, 2, 3, 4]).unwrap();
        assert_eq!(host.start(&[1]), Err(T1Error::OutOfOrder));
        assert_eq!(host.start_ifsd(), Err(T1Error::OutOfOrder));
        // Abandoning makes the next exchange resynchronise first.
        host.abandon();
        let out = host.start(&[1]).unwrap();
        assert_eq!(out.block, bytes("00 C0 00 C0"));
    }

    #[test]
    fn invalid_sizes_fall_back_to_32() {
        let host = T1Host::new(T1Params {
            ifsc: 0,
            ifsd: 255,
            edc: Edc::Lrc,
            nad: 0,
        });
        assert_eq!(host.params().ifsc, 32);
        assert_eq!(host.params().ifsd, 32);
    }

    #[test]
    fn nad_addresses_are_exchanged_in_replies() {
        let mut host = T1Host::new(T1Params {
            nad: 0x12,
            ..params(32, Edc::Lrc)
        });
        let out = host.start(&[0xCA]).unwrap();
        assert_eq!(out.block[0], 0x12);
        // A reply with the addresses exchanged is accepted.
        let reply = encode(0x21, &i(0, false, &[0x90, 0x00]), Edc::Lrc);
        assert_eq!(
            host.on_reply(Ok(&reply)),
            Ok(T1Step::Done(vec![0x90, 0x00]))
        );
        // One with the host's own NAD is not.
        host.start(&[0xCA]).unwrap();
        let reply = encode(0x12, &i(1, false, &[0x90, 0x00]), Edc::Lrc);
        let T1Step::Send(out) = host.on_reply(Ok(&reply)).unwrap() else {
            panic!("expected an R-block");
        };
        assert_eq!(decode(&out.block, Edc::Lrc).unwrap().1, r(1, 2));
    }

    #[test]
    fn ifs_response_must_echo_the_size() {
        let mut host = T1Host::new(params(32, Edc::Lrc));
        host.start_ifsd().unwrap();
        let wrong = encode(0, &Block::S(SBlock::IfsResponse(0x20)), Edc::Lrc);
        let T1Step::Send(out) = host.on_reply(Ok(&wrong)).unwrap() else {
            panic!("expected the request again");
        };
        // Rule 7.3: the request goes again.
        assert_eq!(out.block, bytes("00 C1 01 FE 3E"));
        let right = encode(0, &Block::S(SBlock::IfsResponse(0xFE)), Edc::Lrc);
        assert_eq!(host.on_reply(Ok(&right)), Ok(T1Step::Done(vec![])));
    }

    #[test]
    fn a_card_that_never_stops_chaining_is_cut_off() {
        let mut host = T1Host::new(params(32, Edc::Lrc));
        host.start(&[0x00, 0xB0, 0x00, 0x00, 0x00]).unwrap();
        let mut ns = 0;
        for _ in 0..1_000 {
            let block = encode(0, &i(ns, true, &[0; 254]), Edc::Lrc);
            ns ^= 1;
            match host.on_reply(Ok(&block)) {
                Ok(T1Step::Send(_)) => {}
                Err(T1Error::Unrecoverable) => return,
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("the host accepted more than a response APDU can hold");
    }

    /// xorshift32: a tiny deterministic generator for fault schedules.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }

        fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }

    fn random_fault(rng: &mut Rng) -> CardFault {
        // WrongSequence is left out: a valid block with the other sequence number can pass for
        // an acknowledgement, which no T=1 implementation can detect.
        match rng.below(9) {
            0 => CardFault::Mute,
            1 => CardFault::CorruptEdc,
            2 => CardFault::LoseReply,
            3 => CardFault::CorruptReceived,
            4 => CardFault::CorruptPcb,
            5 => CardFault::Wtx(1 + rng.below(10) as u8),
            6 => CardFault::IfsRequest(8 + rng.below(247) as u8),
            7 => CardFault::Abort,
            _ => CardFault::Mute,
        }
    }

    /// Thousands of exchanges with random lengths and a pseudo-random fault schedule: each
    /// ends with exactly the card's response or a typed error, never anything else.
    fn fuzz(edc: Edc, seed: u32, exchanges: usize) {
        let mut rng = Rng(seed);
        let ifsc = [16u8, 32, 254, 8 + rng.below(200) as u8][rng.below(4) as usize];
        let mut link = Link::new(ifsc, edc);
        let (mut ok, mut aborted, mut unrecoverable, mut resynchronised) = (0, 0, 0, 0);
        for n in 0..exchanges {
            if n % 97 == 0 {
                let first = link.host.start_ifsd().unwrap();
                match link.drive(first, &[]) {
                    Ok(done) => assert!(done.is_empty()),
                    Err(T1Error::Aborted) => aborted += 1,
                    Err(T1Error::Unrecoverable) => {
                        unrecoverable += 1;
                        link.card = T1Card::new(ifsc, edc);
                    }
                    Err(other) => panic!("exchange {n}: {other:?}"),
                }
            }
            let len = 1 + rng.below(600) as usize;
            let mut apdu: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let Some(first) = apdu.first_mut() {
                *first &= 0x03;
            }
            let mut schedule = Vec::new();
            match rng.below(100) {
                0..=39 => {}
                40..=97 => {
                    for _ in 0..1 + rng.below(4) {
                        schedule.push((rng.below(14) as usize, random_fault(&mut rng)));
                    }
                }
                _ => {
                    // A burst long enough to exhaust retries and maybe resynchronisations.
                    let start = rng.below(6) as usize;
                    for k in 0..6 + rng.below(8) as usize {
                        schedule.push((start + k, CardFault::Mute));
                    }
                }
            }
            match link.exchange_with(&apdu, &schedule) {
                Ok(response) => {
                    assert_eq!(response, answer(&apdu), "exchange {n}: wrong response");
                    ok += 1;
                }
                Err(T1Error::Aborted) => aborted += 1,
                Err(T1Error::Unrecoverable) => {
                    unrecoverable += 1;
                    assert_eq!(link.host.params().ifsc, ifsc);
                    // The reader resets the card.
                    link.card = T1Card::new(ifsc, edc);
                }
                Err(other) => panic!("exchange {n}: {other:?}"),
            }
            if link
                .sent_blocks()
                .contains(&Block::S(SBlock::ResynchRequest))
            {
                resynchronised += 1;
            }
        }
        assert!(ok > exchanges * 8 / 10, "{ok} of {exchanges} succeeded");
        assert!(aborted > 0 && unrecoverable > 0 && resynchronised > 0);
    }

    #[test]
    fn random_fault_schedule_lrc() {
        fuzz(Edc::Lrc, 0x2545_F491, 3_000);
    }

    #[test]
    fn random_fault_schedule_crc() {
        fuzz(Edc::Crc, 0x9E37_79B9, 3_000);
    }
}
