//! The card's side of T=1, for the simulated reader and for tests: answers host blocks, chains
//! long responses, and misbehaves on request (lost blocks, bad EDC, WTX, IFS requests).
//!
//! The card follows ISO/IEC 7816-3:2006 §11.6 as a card does: it never counts retries (the
//! interface device does), it answers every block it receives, and it keeps its last I-block
//! so it can send it again when the host's R-block names it.

use std::collections::VecDeque;

use tracing::debug;

use super::block::{append_edc, decode, edc_len, encode, Block, BlockError, SBlock, MAX_INF};
use crate::atr::Edc;

/// The information field sizes of a fresh link: the host's IFSD until it sends S(IFS
/// request), and the fallback for an invalid IFSC (§11.4.2).
const DEFAULT_IFS: u8 = 32;

/// A misbehaviour to apply to the card's next reply.
///
/// Faults queue up and apply strictly in order: the first queued fault waits for the first
/// reply it fits (a [`CardFault::Wtx`] waits for the response, a [`CardFault::WrongSequence`]
/// for an I- or R-block), and the faults behind it wait their turn. At most one fault applies
/// to each block the card receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFault {
    /// The host's next block is lost on its way: the card neither sees nor answers it (the
    /// reader reports the card mute).
    Mute,
    /// Answer the next block with a corrupted EDC.
    CorruptEdc,
    /// Before the next response I-block (the first one after running a command), ask for a
    /// waiting time extension of this multiplier and wait for the host's S(WTX response).
    Wtx(u8),
    /// Before the next I- or R-block reply, ask the host to accept this IFSC with
    /// S(IFS request) and wait for the S(IFS response); the card's IFSC then becomes this value.
    IfsRequest(u8),
    /// The card handles the next block but its reply is lost (the reader reports the card
    /// mute); the card's state moves on as if the reply had arrived.
    LoseReply,
    /// The host's next block arrives corrupted, as if a bit flipped on the line: the card sees
    /// a bad EDC and answers with an R-block reporting it.
    CorruptReceived,
    /// The next reply's PCB is an undefined coding (a reserved bit set), with a correct EDC.
    CorruptPcb,
    /// The next I- or R-block reply carries the other sequence number, with a correct EDC
    /// (the card's own state is unaffected). T=1 cannot always tell this from a legitimate
    /// block: on an R-block it can pass for an acknowledgement.
    WrongSequence,
    /// Instead of handling the next block, the card aborts the chain: S(ABORT request), and
    /// after the host's S(ABORT response) an R-block giving the host the right to send
    /// (rule 9). The command or response in progress is dropped.
    Abort,
}

/// The last I-block the card sent, kept for retransmission.
#[derive(Debug, Clone)]
struct SentI {
    ns: u8,
    more: bool,
    block: Block,
}

/// What the card does once the host answers its S(… request).
#[derive(Debug, Clone)]
enum Then {
    /// Send the reply the request was put before.
    Reply(Block),
    /// Drop the exchange and hand the right to send back with an R-block.
    Abort,
}

/// An S(… request) of the card waiting for the host's response.
#[derive(Debug, Clone)]
struct Awaiting {
    request: SBlock,
    then: Then,
}

/// The card's T=1 link state.
#[derive(Debug, Clone)]
pub struct T1Card {
    edc: Edc,
    /// IFSC as constructed, restored by RESYNCH.
    initial_ifsc: u8,
    /// The largest INF the card accepts.
    ifsc: u8,
    /// The largest INF the card sends.
    ifsd: u8,
    /// N(S) of the card's next new I-block.
    ns: u8,
    /// N(S) expected on the host's next I-block.
    nr: u8,
    /// NAD for replies: the host's with source and destination exchanged.
    nad: u8,
    faults: VecDeque<CardFault>,
    /// Command APDU being reassembled from chained I-blocks.
    command: Vec<u8>,
    /// Response APDU being sent, and how much of it has gone out.
    response: Vec<u8>,
    response_sent: usize,
    /// The card's last I-block of the current response.
    sent_i: Option<SentI>,
    awaiting: Option<Awaiting>,
}

impl T1Card {
    /// A card that receives up to `ifsc` bytes per block and uses `edc`.
    ///
    /// An `ifsc` outside 1..=254 is taken as 32, the ISO default.
    pub fn new(ifsc: u8, edc: Edc) -> T1Card {
        let ifsc = if ifsc == 0 || usize::from(ifsc) > MAX_INF {
            DEFAULT_IFS
        } else {
            ifsc
        };
        T1Card {
            edc,
            initial_ifsc: ifsc,
            ifsc,
            ifsd: DEFAULT_IFS,
            ns: 0,
            nr: 0,
            nad: 0,
            faults: VecDeque::new(),
            command: Vec::new(),
            response: Vec::new(),
            response_sent: 0,
            sent_i: None,
            awaiting: None,
        }
    }

    /// Queues a fault for the card's next reply (faults apply in order).
    pub fn inject(&mut self, fault: CardFault) {
        self.faults.push_back(fault);
    }

    /// Faults queued and not yet applied.
    pub fn pending_faults(&self) -> usize {
        self.faults.len()
    }

    /// The size the card currently sends at most (the host's IFSD, 32 until an IFS request).
    pub fn ifsd(&self) -> u8 {
        self.ifsd
    }

    /// The size the card currently accepts (as constructed, or as its last S(IFS request)
    /// set it).
    pub fn ifsc(&self) -> u8 {
        self.ifsc
    }

    /// Handles one block from the host. `apdu` runs a complete command APDU and returns the
    /// response APDU. `None` means the card stays silent (mute).
    pub fn on_block(
        &mut self,
        block: &[u8],
        apdu: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) -> Option<Vec<u8>> {
        let mut fault_used = false;
        let mut garbled = None;
        match self.faults.front() {
            Some(CardFault::Mute) => {
                self.faults.pop_front();
                debug!("T=1 card: the host's block is lost");
                return None;
            }
            Some(CardFault::CorruptReceived) => {
                self.faults.pop_front();
                fault_used = true;
                let mut copy = block.to_vec();
                if let Some(last) = copy.last_mut() {
                    *last ^= 0x01;
                }
                garbled = Some(copy);
            }
            _ => {}
        }
        let received = decode(garbled.as_deref().unwrap_or(block), self.edc);
        if let Ok((nad, _)) = &received {
            self.nad = ((nad & 0x07) << 4) | ((nad >> 4) & 0x07);
        }
        let reply = self.respond(received, apdu, &mut fault_used);
        self.emit(&reply, fault_used)
    }

    /// The reply to a received block, before any fault on the way out.
    fn respond(
        &mut self,
        received: Result<(u8, Block), BlockError>,
        apdu: &mut dyn FnMut(&[u8]) -> Vec<u8>,
        fault_used: &mut bool,
    ) -> Block {
        // Rule 6: RESYNCH is honoured in every state.
        if let Ok((_, Block::S(SBlock::ResynchRequest))) = received {
            self.resynch();
            return Block::S(SBlock::ResynchResponse);
        }
        if let Some(awaiting) = self.awaiting.take() {
            return self.on_awaited(awaiting, received);
        }
        if !*fault_used && self.faults.front() == Some(&CardFault::Abort) {
            self.faults.pop_front();
            *fault_used = true;
            debug!("T=1 card: aborting the chain");
            return self.request(SBlock::AbortRequest, Then::Abort);
        }
        let (reply, fresh_response) = self.handle(received, apdu);
        if !*fault_used {
            match self.faults.front().copied() {
                Some(CardFault::Wtx(multiplier)) if fresh_response => {
                    self.faults.pop_front();
                    *fault_used = true;
                    return self.request(SBlock::WtxRequest(multiplier), Then::Reply(reply));
                }
                Some(CardFault::IfsRequest(ifsc))
                    if matches!(reply, Block::I { .. } | Block::R { .. }) =>
                {
                    self.faults.pop_front();
                    *fault_used = true;
                    return self.request(SBlock::IfsRequest(ifsc), Then::Reply(reply));
                }
                _ => {}
            }
        }
        reply
    }

    fn request(&mut self, request: SBlock, then: Then) -> Block {
        self.awaiting = Some(Awaiting { request, then });
        Block::S(request)
    }

    /// A block while an S(… request) of the card waits for its response.
    fn on_awaited(
        &mut self,
        awaiting: Awaiting,
        received: Result<(u8, Block), BlockError>,
    ) -> Block {
        let answered = match (&awaiting.request, &received) {
            (SBlock::WtxRequest(m), Ok((_, Block::S(SBlock::WtxResponse(echo))))) => m == echo,
            (SBlock::IfsRequest(n), Ok((_, Block::S(SBlock::IfsResponse(echo))))) => {
                if n == echo {
                    self.ifsc = *n;
                }
                n == echo
            }
            (SBlock::AbortRequest, Ok((_, Block::S(SBlock::AbortResponse)))) => true,
            _ => false,
        };
        if !answered {
            // Rule 7.3: the request goes again until the host answers it.
            let request = awaiting.request;
            self.awaiting = Some(awaiting);
            return Block::S(request);
        }
        match awaiting.then {
            Then::Reply(reply) => reply,
            Then::Abort => {
                self.drop_exchange();
                Block::R {
                    nr: self.nr,
                    error: 0,
                }
            }
        }
    }

    /// The reply to a block in the card's ordinary state, and whether it is the first block
    /// of a fresh response.
    fn handle(
        &mut self,
        received: Result<(u8, Block), BlockError>,
        apdu: &mut dyn FnMut(&[u8]) -> Vec<u8>,
    ) -> (Block, bool) {
        let block = match received {
            Ok((_, block)) => block,
            Err(error) => {
                // Rule 7.1: ask for the expected I-block, saying what went wrong.
                let code = if error == BlockError::BadEdc { 1 } else { 2 };
                debug!(code, "T=1 card: invalid block from the host");
                return (self.r_block(code), false);
            }
        };
        match block {
            Block::I { ns, more, inf } => {
                if ns != self.nr || inf.len() > usize::from(self.ifsc) {
                    debug!("T=1 card: I-block out of sequence or longer than IFSC");
                    return (self.r_block(2), false);
                }
                self.nr ^= 1;
                // A new command I-block ends whatever response came before.
                self.sent_i = None;
                self.response.clear();
                self.response_sent = 0;
                self.command.extend_from_slice(&inf);
                if more {
                    return (self.r_block(0), false);
                }
                let command = std::mem::take(&mut self.command);
                self.response = apdu(&command);
                (self.next_chunk(), true)
            }
            Block::R { nr, .. } => match &self.sent_i {
                Some(sent) if sent.ns == nr => (sent.block.clone(), false),
                Some(sent) if sent.more => (self.next_chunk(), false),
                _ => (self.r_block(0), false),
            },
            Block::S(SBlock::IfsRequest(ifsd)) if ifsd != 0 && usize::from(ifsd) <= MAX_INF => {
                self.ifsd = ifsd;
                (Block::S(SBlock::IfsResponse(ifsd)), false)
            }
            Block::S(SBlock::AbortRequest) => {
                self.drop_exchange();
                (Block::S(SBlock::AbortResponse), false)
            }
            Block::S(_) => (self.r_block(2), false),
        }
    }

    fn r_block(&self, error: u8) -> Block {
        Block::R { nr: self.nr, error }
    }

    /// The next I-block of the response, sized by IFSD.
    fn next_chunk(&mut self) -> Block {
        let rest = self.response.get(self.response_sent..).unwrap_or_default();
        let len = rest.len().min(usize::from(self.ifsd));
        let inf = rest.get(..len).unwrap_or_default().to_vec();
        self.response_sent += len;
        let more = self.response_sent < self.response.len();
        let block = Block::I {
            ns: self.ns,
            more,
            inf,
        };
        self.sent_i = Some(SentI {
            ns: self.ns,
            more,
            block: block.clone(),
        });
        self.ns ^= 1;
        block
    }

    fn drop_exchange(&mut self) {
        self.command.clear();
        self.response.clear();
        self.response_sent = 0;
        self.sent_i = None;
    }

    /// S(RESYNCH request): sequence numbers and sizes as after the ATR.
    fn resynch(&mut self) {
        debug!("T=1 card: resynchronised");
        self.ns = 0;
        self.nr = 0;
        self.ifsc = self.initial_ifsc;
        self.ifsd = DEFAULT_IFS;
        self.awaiting = None;
        self.drop_exchange();
    }

    /// Encodes a reply and applies the first queued fault on the way out, if it fits.
    fn emit(&mut self, reply: &Block, fault_used: bool) -> Option<Vec<u8>> {
        let mut bytes = encode(self.nad, reply, self.edc);
        if fault_used {
            return Some(bytes);
        }
        let sequenced = matches!(reply, Block::I { .. } | Block::R { .. });
        match self.faults.front().copied() {
            Some(CardFault::CorruptEdc) => {
                self.faults.pop_front();
                if let Some(last) = bytes.last_mut() {
                    *last ^= 0xFF;
                }
            }
            Some(CardFault::LoseReply) => {
                self.faults.pop_front();
                debug!("T=1 card: the reply is lost");
                return None;
            }
            Some(CardFault::CorruptPcb) => {
                self.faults.pop_front();
                let reserved = match reply {
                    Block::I { .. } => 0x01,
                    Block::R { .. } => 0x08,
                    Block::S(_) => 0x10,
                };
                self.reseal(&mut bytes, |pcb| pcb | reserved);
            }
            Some(CardFault::WrongSequence) if sequenced => {
                self.faults.pop_front();
                let bit = if matches!(reply, Block::I { .. }) {
                    0x40
                } else {
                    0x10
                };
                self.reseal(&mut bytes, |pcb| pcb ^ bit);
            }
            _ => {}
        }
        Some(bytes)
    }

    /// Changes the PCB of encoded bytes and recomputes the EDC.
    fn reseal(&self, bytes: &mut Vec<u8>, change: impl Fn(u8) -> u8) {
        if let Some(pcb) = bytes.get_mut(1) {
            *pcb = change(*pcb);
        }
        bytes.truncate(bytes.len().saturating_sub(edc_len(self.edc)));
        append_edc(bytes, self.edc);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hex;

    fn bytes(text: &str) -> Vec<u8> {
        hex::parse(text).unwrap()
    }

    fn enc(block: Block) -> Vec<u8> {
        encode(0, &block, Edc::Lrc)
    }

    fn dec(bytes: Option<Vec<u8>>) -> Block {
        decode(&bytes.expect("the card answered"), Edc::Lrc)
            .unwrap()
            .1
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

    /// A card application that answers the command reversed, then 90 00.
    fn reverse(command: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = command.iter().rev().copied().collect();
        out.extend([0x90, 0x00]);
        out
    }

    #[test]
    fn answers_a_short_command() {
        let mut card = T1Card::new(32, Edc::Lrc);
        let reply = card.on_block(&bytes("00 00 05 80 A4 00 00 02 23"), &mut reverse);
        // LRC: 07 ^ 02 = 05; 05 ^ A4 = A1; A1 ^ 80 = 21; 21 ^ 90 = B1 (the zeros change nothing).
        assert_eq!(reply, Some(bytes("00 00 07 02 00 00 A4 80 90 00 B1")));
    }

    #[test]
    fn reassembles_a_chained_command_and_chains_the_response() {
        let mut card = T1Card::new(4, Edc::Lrc);
        let mut seen = Vec::new();
        let mut app = |c: &[u8]| {
            seen.push(c.to_vec());
            vec![0xAB; 70]
        };
        assert_eq!(
            dec(card.on_block(&enc(i(0, true, &[1, 2, 3, 4])), &mut app)),
            r(1, 0)
        );
        assert_eq!(
            dec(card.on_block(&enc(i(1, true, &[5, 6, 7, 8])), &mut app)),
            r(0, 0)
        );
        assert_eq!(
            dec(card.on_block(&enc(i(0, false, &[9])), &mut app)),
            i(0, true, &[0xAB; 32])
        );
        assert_eq!(
            dec(card.on_block(&enc(r(1, 0)), &mut app)),
            i(1, true, &[0xAB; 32])
        );
        // The host asks for block 1 again.
        assert_eq!(
            dec(card.on_block(&enc(r(1, 1)), &mut app)),
            i(1, true, &[0xAB; 32])
        );
        assert_eq!(
            dec(card.on_block(&enc(r(0, 0)), &mut app)),
            i(0, false, &[0xAB; 6])
        );
        assert_eq!(seen, vec![(1..=9).collect::<Vec<u8>>()]);
    }

    #[test]
    fn rejects_bad_blocks_with_r_blocks() {
        let mut card = T1Card::new(4, Edc::Lrc);
        let mut app = reverse;
        // Bad EDC: R(0) with error 1.
        assert_eq!(
            card.on_block(&bytes("00 00 01 AA 00"), &mut app),
            Some(bytes("00 81 00 81"))
        );
        // Longer than IFSC: R(0) with error 2.
        assert_eq!(
            dec(card.on_block(&enc(i(0, false, &[1; 5])), &mut app)),
            r(0, 2)
        );
        // Wrong N(S).
        assert_eq!(
            dec(card.on_block(&enc(i(1, false, &[1])), &mut app)),
            r(0, 2)
        );
        // Too short to be a block.
        assert_eq!(dec(card.on_block(&[0x00], &mut app)), r(0, 2));
        // An S-response nobody asked for.
        assert_eq!(
            dec(card.on_block(&enc(Block::S(SBlock::WtxResponse(2))), &mut app)),
            r(0, 2)
        );
    }

    #[test]
    fn ifs_request_from_the_host_and_resynch() {
        let mut card = T1Card::new(32, Edc::Lrc);
        let mut app = reverse;
        assert_eq!(card.ifsd(), 32);
        assert_eq!(
            card.on_block(&bytes("00 C1 01 FE 3E"), &mut app),
            Some(bytes("00 E1 01 FE 1E"))
        );
        assert_eq!(card.ifsd(), 0xFE);
        assert_eq!(
            dec(card.on_block(&enc(i(0, false, &[1])), &mut app)),
            i(0, false, &[1, 0x90, 0])
        );
        assert_eq!(
            card.on_block(&bytes("00 C0 00 C0"), &mut app),
            Some(bytes("00 E0 00 E0"))
        );
        assert_eq!(card.ifsd(), 32);
        // Sequence numbers are back to 0.
        assert_eq!(
            dec(card.on_block(&enc(i(0, false, &[2])), &mut app)),
            i(0, false, &[2, 0x90, 0])
        );
    }

    #[test]
    fn faults_in_order() {
        let mut card = T1Card::new(32, Edc::Lrc);
        let mut app = reverse;
        card.inject(CardFault::Mute);
        card.inject(CardFault::CorruptEdc);
        card.inject(CardFault::Wtx(7));
        card.inject(CardFault::IfsRequest(16));
        assert_eq!(card.on_block(&enc(i(0, false, &[1])), &mut app), None);
        // The block was lost: N(S) 0 is still expected. The reply has a bad EDC.
        let reply = card.on_block(&enc(i(0, false, &[1])), &mut app).unwrap();
        assert_eq!(decode(&reply, Edc::Lrc), Err(BlockError::BadEdc));
        // Retransmitted on request.
        assert_eq!(
            dec(card.on_block(&enc(r(0, 1)), &mut app)),
            i(0, false, &[1, 0x90, 0])
        );
        // Next command: WTX first, then the response.
        assert_eq!(
            dec(card.on_block(&enc(i(1, false, &[2])), &mut app)),
            Block::S(SBlock::WtxRequest(7))
        );
        // A wrong echo gets the request again (rule 7.3).
        assert_eq!(
            dec(card.on_block(&enc(Block::S(SBlock::WtxResponse(6))), &mut app)),
            Block::S(SBlock::WtxRequest(7))
        );
        assert_eq!(
            dec(card.on_block(&enc(Block::S(SBlock::WtxResponse(7))), &mut app)),
            i(1, false, &[2, 0x90, 0])
        );
        // IFS request before the next reply.
        assert_eq!(
            dec(card.on_block(&enc(i(0, true, &[3])), &mut app)),
            Block::S(SBlock::IfsRequest(16))
        );
        assert_eq!(card.ifsc(), 32);
        assert_eq!(
            dec(card.on_block(&enc(Block::S(SBlock::IfsResponse(16))), &mut app)),
            r(1, 0)
        );
        assert_eq!(card.ifsc(), 16);
        assert_eq!(card.pending_faults(), 0);
    }

    #[test]
    fn pcb_and_sequence_faults_keep_a_valid_edc() {
        let mut card = T1Card::new(32, Edc::Crc);
        let mut app = reverse;
        card.inject(CardFault::CorruptPcb);
        card.inject(CardFault::WrongSequence);
        let block = encode(0, &i(0, false, &[1]), Edc::Crc);
        let reply = card.on_block(&block, &mut app).unwrap();
        assert_eq!(decode(&reply, Edc::Crc), Err(BlockError::BadPcb(0x01)));
        let again = encode(0, &r(0, 2), Edc::Crc);
        let reply = card.on_block(&again, &mut app).unwrap();
        assert_eq!(
            decode(&reply, Edc::Crc).unwrap().1,
            i(1, false, &[1, 0x90, 0])
        );
    }

    #[test]
    fn lost_reply_and_corrupted_reception() {
        let mut card = T1Card::new(32, Edc::Lrc);
        let mut app = reverse;
        card.inject(CardFault::LoseReply);
        assert_eq!(card.on_block(&enc(i(0, true, &[1])), &mut app), None);
        // The block was taken: the card now expects N(S) 1 and says so.
        assert_eq!(dec(card.on_block(&enc(r(0, 2)), &mut app)), r(1, 0));
        card.inject(CardFault::CorruptReceived);
        assert_eq!(
            dec(card.on_block(&enc(i(1, false, &[2])), &mut app)),
            r(1, 1)
        );
        assert_eq!(
            dec(card.on_block(&enc(i(1, false, &[2])), &mut app)),
            i(0, false, &[2, 1, 0x90, 0])
        );
    }

    #[test]
    fn abort_drops_the_chain() {
        let mut card = T1Card::new(32, Edc::Lrc);
        let mut app = reverse;
        assert_eq!(
            dec(card.on_block(&enc(i(0, true, &[1])), &mut app)),
            r(1, 0)
        );
        card.inject(CardFault::Abort);
        assert_eq!(
            dec(card.on_block(&enc(i(1, true, &[2])), &mut app)),
            Block::S(SBlock::AbortRequest)
        );
        // Anything but the response repeats the request.
        assert_eq!(
            dec(card.on_block(&enc(r(0, 2)), &mut app)),
            Block::S(SBlock::AbortRequest)
        );
        assert_eq!(
            dec(card.on_block(&enc(Block::S(SBlock::AbortResponse)), &mut app)),
            r(1, 0)
        );
        // The dropped chain is gone: a new command starts clean.
        assert_eq!(
            dec(card.on_block(&enc(i(1, false, &[9])), &mut app)),
            i(0, false, &[9, 0x90, 0])
        );
    }
}
