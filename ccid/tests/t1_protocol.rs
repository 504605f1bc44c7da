//! T=1 through the public API: a host and a simulated card joined by a loop that carries each
//! block across, as a CCID reader does with PC_to_RDR_XfrBlock.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ccid::atr::Edc;
use ccid::t1::block::{decode, Block, SBlock};
use ccid::t1::{CardFault, LinkError, Outgoing, T1Card, T1Error, T1Host, T1Params, T1Step};

/// The card application: the first byte of the command gives the response length in units of
/// 10 bytes, the bytes count down from the command's last byte, then 90 00.
fn answer(command: &[u8]) -> Vec<u8> {
    let want = usize::from(command.first().copied().unwrap_or(0)) * 10;
    let last = command.last().copied().unwrap_or(0);
    let mut out: Vec<u8> = (0..want).map(|k| last.wrapping_sub(k as u8)).collect();
    out.extend([0x90, 0x00]);
    out
}

struct Link {
    host: T1Host,
    card: T1Card,
    edc: Edc,
    sent: Vec<Outgoing>,
    runs: usize,
}

impl Link {
    fn new(ifsc: u8, edc: Edc) -> Link {
        Link {
            host: T1Host::new(T1Params {
                ifsc,
                ifsd: 254,
                edc,
                nad: 0,
            }),
            card: T1Card::new(ifsc, edc),
            edc,
            sent: Vec::new(),
            runs: 0,
        }
    }

    fn run(&mut self, first: Outgoing, faults: &[(usize, CardFault)]) -> Result<Vec<u8>, T1Error> {
        self.sent.clear();
        let mut out = first;
        for step in 0..10_000 {
            for (_, fault) in faults.iter().filter(|(at, _)| *at == step) {
                self.card.inject(*fault);
            }
            let runs = &mut self.runs;
            let mut app = |c: &[u8]| {
                *runs += 1;
                answer(c)
            };
            let reply = self.card.on_block(&out.block, &mut app);
            self.sent.push(out);
            match self.host.on_reply(reply.as_deref().ok_or(LinkError::Mute)) {
                Ok(T1Step::Send(next)) => out = next,
                Ok(T1Step::Done(response)) => return Ok(response),
                Err(error) => return Err(error),
            }
        }
        panic!("the exchange did not end");
    }

    fn transmit(&mut self, apdu: &[u8], faults: &[(usize, CardFault)]) -> Result<Vec<u8>, T1Error> {
        let first = self.host.start(apdu)?;
        self.run(first, faults)
    }

    fn blocks(&self) -> Vec<Block> {
        self.sent
            .iter()
            .map(|o| decode(&o.block, self.edc).unwrap().1)
            .collect()
    }
}

#[test]
fn short_apdu_exact_bytes() {
    let mut link = Link::new(32, Edc::Lrc);
    let apdu = [0x00, 0xA4, 0x00, 0x00, 0x02];
    let first = link.host.start(&apdu).unwrap();
    // 00 ^ 00 ^ 05 ^ 00 ^ A4 ^ 00 ^ 00 ^ 02 = A3.
    assert_eq!(
        first.block,
        [0x00, 0x00, 0x05, 0x00, 0xA4, 0x00, 0x00, 0x02, 0xA3]
    );
    assert_eq!(link.run(first, &[]), Ok(vec![0x90, 0x00]));
}

#[test]
fn chaining_both_ways_with_lrc_and_crc() {
    for edc in [Edc::Lrc, Edc::Crc] {
        let mut link = Link::new(32, edc);
        let mut apdu = vec![30];
        apdu.extend((0..=250).map(|b: u8| b));
        assert_eq!(link.transmit(&apdu, &[]), Ok(answer(&apdu)));
        // 252 command bytes by 32, 302 response bytes by 32.
        let i_blocks = link
            .blocks()
            .iter()
            .filter(|b| matches!(b, Block::I { .. }))
            .count();
        assert_eq!(i_blocks, 8);
        assert_eq!(link.sent.len(), 8 + 9);
        // After the IFSD announcement the card sends 254 bytes per block.
        let first = link.host.start_ifsd().unwrap();
        assert_eq!(link.run(first, &[]), Ok(vec![]));
        assert_eq!(link.card.ifsd(), 254);
        assert_eq!(link.transmit(&apdu, &[]), Ok(answer(&apdu)));
        assert_eq!(link.sent.len(), 8 + 1);
    }
}

#[test]
fn wtx_and_ifs_request() {
    let mut link = Link::new(64, Edc::Crc);
    let apdu = vec![1; 200];
    link.card.inject(CardFault::IfsRequest(20));
    link.card.inject(CardFault::Wtx(9));
    assert_eq!(link.transmit(&apdu, &[]), Ok(answer(&apdu)));
    assert_eq!(link.host.params().ifsc, 20);
    let wtx: Vec<u8> = link.sent.iter().map(|o| o.bwt_multiplier).collect();
    assert_eq!(wtx.iter().filter(|m| **m == 9).count(), 1);
    assert!(wtx.iter().all(|m| *m == 1 || *m == 9));
    assert!(link.blocks().contains(&Block::S(SBlock::WtxResponse(9))));
}

#[test]
fn recovers_from_lost_and_corrupted_blocks() {
    let faults = [
        CardFault::Mute,
        CardFault::LoseReply,
        CardFault::CorruptEdc,
        CardFault::CorruptReceived,
        CardFault::CorruptPcb,
    ];
    for edc in [Edc::Lrc, Edc::Crc] {
        for fault in faults {
            for step in 0..8 {
                let mut link = Link::new(32, edc);
                let apdu = vec![12; 90];
                assert_eq!(
                    link.transmit(&apdu, &[(step, fault)]),
                    Ok(answer(&apdu)),
                    "{fault:?} at {step}"
                );
                assert_eq!(link.runs, 1);
            }
        }
    }
}

#[test]
fn resynchronisation_unrecoverable_and_abort() {
    let mut link = Link::new(32, Edc::Lrc);
    let apdu = vec![2, 0xB0, 0x00, 0x00, 0x14];
    let three_lost: Vec<(usize, CardFault)> = (0..3).map(|k| (k, CardFault::Mute)).collect();
    assert_eq!(link.transmit(&apdu, &three_lost), Ok(answer(&apdu)));
    assert!(link.blocks().contains(&Block::S(SBlock::ResynchRequest)));

    let all_lost: Vec<(usize, CardFault)> = (0..20).map(|k| (k, CardFault::Mute)).collect();
    assert_eq!(link.transmit(&apdu, &all_lost), Err(T1Error::Unrecoverable));
    link.card = T1Card::new(32, Edc::Lrc);

    assert_eq!(
        link.transmit(&apdu, &[(0, CardFault::Abort)]),
        Err(T1Error::Aborted)
    );
    assert_eq!(link.transmit(&apdu, &[]), Ok(answer(&apdu)));
}

#[test]
fn random_faults_never_give_a_wrong_response() {
    let mut state: u32 = 0xC0FF_EE11;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut link = Link::new(32, Edc::Crc);
    let mut ok = 0;
    for n in 0..1_500 {
        let len = 1 + (next() % 600) as usize;
        let mut apdu: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        apdu[0] %= 60;
        let faults: Vec<(usize, CardFault)> = (0..next() % 4)
            .map(|_| {
                let fault = match next() % 6 {
                    0 => CardFault::Mute,
                    1 => CardFault::LoseReply,
                    2 => CardFault::CorruptEdc,
                    3 => CardFault::CorruptReceived,
                    4 => CardFault::Wtx(3),
                    _ => CardFault::IfsRequest(1 + (next() % 254) as u8),
                };
                ((next() % 12) as usize, fault)
            })
            .collect();
        match link.transmit(&apdu, &faults) {
            Ok(response) => {
                assert_eq!(response, answer(&apdu), "exchange {n}");
                ok += 1;
            }
            Err(T1Error::Unrecoverable) => link.card = T1Card::new(32, Edc::Crc),
            Err(other) => panic!("exchange {n}: {other:?}"),
        }
    }
    assert!(ok > 1_400, "{ok}");
}
