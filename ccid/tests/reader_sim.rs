//! The driver against the simulated reader: every exchange level, the EZ100PU dialect, T=1
//! faults, T=0 procedure, card events, and bad replies.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ccid::message::{Command, PowerSelect, ProtocolParameters};
use ccid::sim::{CardFault, ReaderFault, SimReader, SimReaderConfig, SimTransport, TestCard};
use ccid::t1::T1Error;
use ccid::{CardEvent, Error, Reader};
use futures_executor::block_on;
use std::time::Duration;

fn reader_with(config: SimReaderConfig, card: TestCard) -> (SimReader, Reader<SimTransport>) {
    let device = SimReader::new(config);
    device.insert(Box::new(card));
    let reader = block_on(Reader::open(device.transport())).expect("open");
    (device, reader)
}

fn powered(config: SimReaderConfig, card: TestCard) -> (SimReader, Reader<SimTransport>) {
    let (device, mut reader) = reader_with(config, card);
    block_on(reader.power_on()).expect("power on");
    (device, reader)
}

fn echo(length: usize) -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..length).map(|i| (i * 31 % 251) as u8).collect();
    // Case 4: data in, data out (Le 256 or 65536).
    let mut apdu = vec![0x80, 0xEE, 0x00, 0x00];
    if length > 255 {
        apdu.push(0);
        apdu.extend_from_slice(&(length as u16).to_be_bytes());
        apdu.extend_from_slice(&data);
        apdu.extend_from_slice(&[0x00, 0x00]);
    } else {
        apdu.push(length as u8);
        apdu.extend_from_slice(&data);
        apdu.push(0x00);
    }
    let mut response = data;
    response.extend_from_slice(&[0x90, 0x00]);
    (apdu, response)
}

fn read_binary_response(offset: usize, length: usize) -> Vec<u8> {
    let mut response: Vec<u8> = (offset..offset + length)
        .map(ccid::sim::pattern_byte)
        .collect();
    response.extend_from_slice(&[0x90, 0x00]);
    response
}

fn xfr_levels(device: &SimReader) -> Vec<u16> {
    device
        .commands()
        .into_iter()
        .filter_map(|command| match command {
            Command::XfrBlock { level, .. } => Some(level),
            _ => None,
        })
        .collect()
}

fn xfr_blocks(device: &SimReader) -> Vec<(u8, Vec<u8>)> {
    device
        .commands()
        .into_iter()
        .filter_map(|command| match command {
            Command::XfrBlock { bwi, data, .. } => Some((bwi, data)),
            _ => None,
        })
        .collect()
}

fn set_parameters(device: &SimReader) -> Vec<ProtocolParameters> {
    device
        .commands()
        .into_iter()
        .filter_map(|command| match command {
            Command::SetParameters(parameters) => Some(parameters),
            _ => None,
        })
        .collect()
}

#[test]
fn extended_apdu_reader_chains_commands_and_responses() {
    let (device, mut reader) = powered(SimReaderConfig::extended_apdu(), TestCard::new());
    assert!(!reader.link_info().unwrap().host_pps);
    let (apdu, expected) = echo(600);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    // 600 + 7 bytes in messages of at most 261: begin, continue, end.
    assert_eq!(
        xfr_levels(&device),
        vec![0x0001, 0x0003, 0x0002, 0x0010, 0x0010]
    );
    let read = [0x80, 0xB0, 0x00, 0x10, 0x00, 0x03, 0xE8];
    assert_eq!(
        block_on(reader.transmit(&read)).unwrap(),
        read_binary_response(16, 1000)
    );
}

#[test]
fn short_apdu_reader_refuses_extended_apdus_clearly() {
    let (device, mut reader) = powered(SimReaderConfig::short_apdu(), TestCard::new());
    let (apdu, expected) = echo(200);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let (long, _) = echo(300);
    let before = device.commands().len();
    assert_eq!(
        block_on(reader.transmit(&long)),
        Err(Error::ExtendedApduNotSupported { length: long.len() })
    );
    assert_eq!(device.commands().len(), before, "nothing was sent");
}

#[test]
fn tpdu_t1_reader_negotiates_speed_and_ifsd_then_chains_both_ways() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::new());
    // TA1 0x13 (Fi 372, Di 4) runs at 43 kbps on a 4 MHz reader: PPS, then SetParameters.
    let blocks = xfr_blocks(&device);
    assert_eq!(blocks[0].1, vec![0xFF, 0x11, 0x13, 0xFD], "PPS request");
    assert_eq!(device.card_fi_di(), 0x13);
    let parameters = set_parameters(&device);
    assert!(matches!(
        parameters[..],
        [ProtocolParameters::T1 {
            fi_di: 0x13,
            ifsc: 250,
            waiting_integers: 0x52,
            ..
        }]
    ));
    // The IFSD announcement is the first T=1 block.
    assert_eq!(blocks[1].1, vec![0x00, 0xC1, 0x01, 0xFE, 0x3E]);
    let info = reader.link_info().unwrap();
    assert_eq!(
        (info.protocol, info.fi_di, info.host_pps),
        (Some(ccid::Protocol::T1), 0x13, true)
    );

    let (apdu, expected) = echo(600);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let read = [0x80, 0xB0, 0x00, 0x00, 0x00];
    assert_eq!(
        block_on(reader.transmit(&read)).unwrap(),
        read_binary_response(0, 256)
    );
}

#[test]
fn t1_recovers_from_a_lost_block_a_bad_lrc_and_a_waiting_time_extension() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::new());
    let (apdu, expected) = echo(40);
    for fault in [CardFault::Mute, CardFault::CorruptEdc, CardFault::Wtx(3)] {
        device.inject_card_fault(fault);
        assert_eq!(
            block_on(reader.transmit(&apdu)).unwrap(),
            expected,
            "{fault:?}"
        );
    }
    assert!(
        xfr_blocks(&device).iter().any(|(bwi, _)| *bwi == 3),
        "the block after S(WTX response) waits three times longer"
    );
}

#[test]
fn t1_follows_the_cards_ifs_request_and_chains_its_responses() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::new());
    device.inject_card_fault(CardFault::IfsRequest(20));
    let (apdu, expected) = echo(100);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let (apdu, expected) = echo(100);
    let before = xfr_blocks(&device).len();
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let after = xfr_blocks(&device);
    let i_blocks: Vec<_> = after[before..]
        .iter()
        .filter(|(_, block)| block.get(1).is_some_and(|pcb| pcb & 0x80 == 0))
        .collect();
    assert!(i_blocks.len() >= 6, "105 bytes in blocks of at most 20");
    assert!(i_blocks.iter().all(|(_, block)| block[2] <= 20));
}

#[test]
fn t1_gives_up_with_a_typed_error_when_the_card_stays_mute() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::new());
    for _ in 0..64 {
        device.inject_card_fault(CardFault::Mute);
    }
    let (apdu, _) = echo(10);
    assert_eq!(
        block_on(reader.transmit(&apdu)),
        Err(Error::T1(T1Error::Unrecoverable))
    );
    assert_eq!(block_on(reader.transmit(&apdu)), Err(Error::CardNotPowered));
}

#[test]
fn automatic_tpdu_reader_gets_parameters_and_does_pps_and_ifsd_itself() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu_automatic(), TestCard::new());
    let blocks = xfr_blocks(&device);
    assert!(
        blocks.is_empty(),
        "no PPS and no IFS request from the host: {blocks:02X?}"
    );
    assert_eq!(device.card_fi_di(), 0x13);
    let (apdu, expected) = echo(300);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    assert!(!reader.link_info().unwrap().host_pps);
}

#[test]
fn tpdu_t0_reader_handles_wrong_le_and_get_response() {
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::t0());
    assert_eq!(
        xfr_blocks(&device)[0].1,
        vec![0xFF, 0x10, 0x96, 0x79],
        "PPS to Fi 512 Di 32"
    );
    assert_eq!(device.card_fi_di(), 0x96);
    assert_eq!(
        reader.link_info().unwrap().protocol,
        Some(ccid::Protocol::T0)
    );
    // Case 2 with Le 0: the card answers 6C0E, the driver asks again with Le 14.
    let get_data = block_on(reader.transmit(&[0x00, 0xCA, 0x00, 0x00, 0x00])).unwrap();
    assert_eq!(get_data, b"CCID TEST CARD\x90\x00");
    // Case 4: the card answers 61xx, the driver fetches with GET RESPONSE.
    let (apdu, expected) = echo(200);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let blocks = xfr_blocks(&device);
    assert!(blocks
        .iter()
        .any(|(_, tpdu)| tpdu[..] == [0x80, 0xC0, 0x00, 0x00, 200]));
    // Case 2 with 256 bytes.
    let read = [0x00, 0xB0, 0x00, 0x00, 0x00];
    assert_eq!(
        block_on(reader.transmit(&read)).unwrap(),
        read_binary_response(0, 256)
    );
    // T=0 carries no extended APDU.
    let (long, _) = echo(300);
    assert_eq!(
        block_on(reader.transmit(&long)),
        Err(Error::ExtendedApduNotSupported { length: long.len() })
    );
}

#[test]
fn ez100pu_dialect_steps_the_rate_down_and_moves_16_byte_packets() {
    let (device, mut reader) = powered(
        SimReaderConfig::ez100pu(),
        TestCard::second_generation_atr(),
    );
    assert_eq!(reader.interface().interface_class, 0x00);
    // TA1 0x96 would be 230 kbps at 3.6864 MHz; the reader stops at 115200: Di 32 → 16.
    let blocks = xfr_blocks(&device);
    assert_eq!(blocks[0].1, vec![0xFF, 0x11, 0x95, 0x7B]);
    assert_eq!(device.card_fi_di(), 0x95);
    assert!(matches!(
        set_parameters(&device)[..],
        [ProtocolParameters::T1 {
            fi_di: 0x95,
            ifsc: 254,
            ..
        }]
    ));
    assert_eq!(reader.atr().unwrap().historical_bytes(), b"CHTGPKIJ");
    let (apdu, expected) = echo(300);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    let power = device
        .commands()
        .into_iter()
        .find_map(|command| match command {
            Command::IccPowerOn(select) => Some(select),
            _ => None,
        });
    assert_eq!(power, Some(PowerSelect::V5_0));
}

#[test]
fn reader_time_extensions_are_waited_out() {
    let mut config = SimReaderConfig::tpdu();
    config.time_extensions = 3;
    let (_device, mut reader) = powered(config, TestCard::new());
    let (apdu, expected) = echo(20);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
}

#[test]
fn character_level_readers_are_refused_at_open() {
    let device = SimReader::new(SimReaderConfig::character_level());
    assert_eq!(
        block_on(Reader::open(device.transport())).err(),
        Some(Error::CharacterLevelReader)
    );
}

#[test]
fn card_events_by_interrupt_and_by_polling() {
    for interrupt in [true, false] {
        let mut config = SimReaderConfig::extended_apdu();
        config.interrupt_endpoint = interrupt;
        let device = SimReader::new(config);
        let mut reader = block_on(Reader::open(device.transport())).unwrap();
        let wait = Duration::from_millis(10);
        assert_eq!(block_on(reader.wait_card_event(wait)).unwrap(), None);
        device.insert(Box::new(TestCard::new()));
        assert_eq!(
            block_on(reader.wait_card_event(wait)).unwrap(),
            Some(CardEvent::Inserted)
        );
        assert_eq!(block_on(reader.wait_card_event(wait)).unwrap(), None);
        block_on(reader.power_on()).unwrap();
        device.remove();
        assert_eq!(
            block_on(reader.wait_card_event(wait)).unwrap(),
            Some(CardEvent::Removed)
        );
        assert_eq!(
            block_on(reader.transmit(&[0x80, 0xA4, 0, 0])),
            Err(Error::CardNotPowered)
        );
    }
}

#[test]
fn a_missing_or_pulled_card_is_a_typed_error() {
    let device = SimReader::new(SimReaderConfig::tpdu());
    let mut reader = block_on(Reader::open(device.transport())).unwrap();
    assert_eq!(block_on(reader.power_on()), Err(Error::NoCard));
    assert_eq!(
        block_on(reader.transmit(&[0x80, 0xA4, 0, 0])),
        Err(Error::CardNotPowered)
    );

    device.insert(Box::new(TestCard::new()));
    block_on(reader.power_on()).unwrap();
    device.remove_card_after(1);
    let (apdu, _) = echo(600);
    assert_eq!(block_on(reader.transmit(&apdu)), Err(Error::NoCard));
    assert_eq!(block_on(reader.transmit(&apdu)), Err(Error::CardNotPowered));
}

#[test]
fn bad_replies_are_typed_errors_and_the_reader_stays_usable() {
    use ccid::message::MessageError;
    type Check = fn(&Error) -> bool;
    let cases: Vec<(ReaderFault, Check)> = vec![
        (ReaderFault::NoReply, |e| *e == Error::Timeout),
        (ReaderFault::Truncate(3), |e| *e == Error::Timeout),
        (ReaderFault::Garbage(vec![0x80, 1, 2]), |e| {
            *e == Error::Timeout
        }),
        (
            ReaderFault::Garbage(vec![0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            |e| *e == Error::MalformedReply(MessageError::UnknownMessageType(0x99)),
        ),
        (ReaderFault::WrongSequence, |e| {
            matches!(e, Error::SequenceMismatch { .. })
        }),
        (ReaderFault::WrongSlot, |e| {
            *e == Error::SlotMismatch {
                expected: 0,
                got: 1,
            }
        }),
        (ReaderFault::AbsurdLength, |e| {
            matches!(e, Error::MalformedReply(MessageError::AbsurdLength(_)))
        }),
        (ReaderFault::WrongMessageType, |e| {
            *e == Error::UnexpectedReply {
                expected: 0x80,
                got: 0x81,
            }
        }),
    ];
    for config in [SimReaderConfig::extended_apdu(), SimReaderConfig::ez100pu()] {
        for (fault, expected) in &cases {
            let (device, mut reader) = powered(config.clone(), TestCard::new());
            device.inject_reader_fault(fault.clone());
            let error = block_on(reader.transmit(&[0x80, 0xCA, 0x00, 0x00, 0x00])).unwrap_err();
            assert!(expected(&error), "{fault:?} gave {error:?}");
            // After a timeout the driver aborted the command; the next one works.
            if error == Error::Timeout {
                let response = block_on(reader.transmit(&[0x80, 0xCA, 0x00, 0x00, 0x00]));
                assert_eq!(
                    response.unwrap(),
                    b"CCID TEST CARD\x90\x00",
                    "after {fault:?}"
                );
            }
        }
    }
}

#[test]
fn a_short_apdu_too_big_for_a_small_reader_is_refused_before_sending() {
    let mut config = SimReaderConfig::short_apdu();
    config.descriptor.max_ccid_message_length = 64;
    let (_device, mut reader) = powered(config, TestCard::new());
    let (apdu, _) = echo(100);
    assert_eq!(
        block_on(reader.transmit(&apdu)),
        Err(Error::ApduTooLongForReader {
            length: 106,
            max: 54
        })
    );
    let (apdu, expected) = echo(40);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
}

#[test]
fn t1_cards_asking_for_crc_get_crc_blocks() {
    // TD2 0x71 adds TC3 = 0x01: CRC instead of LRC.
    let mut atr = vec![0x3B, 0xB8, 0x13, 0x00, 0x81, 0x71, 0xFA, 0x52, 0x01];
    atr.extend_from_slice(b"CRC CARD");
    let tck = atr[1..].iter().fold(0, |x, b| x ^ b);
    atr.push(tck);
    let (device, mut reader) = powered(SimReaderConfig::tpdu(), TestCard::with_atr(atr));
    assert!(matches!(
        set_parameters(&device)[..],
        [ProtocolParameters::T1 { tcckst: 0x11, .. }]
    ));
    let (apdu, expected) = echo(400);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    device.inject_card_fault(CardFault::CorruptEdc);
    assert_eq!(block_on(reader.transmit(&apdu)).unwrap(), expected);
    // Every block carries two check bytes: LEN + 5 bytes of prologue and epilogue.
    assert!(xfr_blocks(&device)
        .iter()
        .skip(1)
        .all(|(_, block)| block.len() == usize::from(block[2]) + 5));
}

/// Corrupts, truncates, drops or stretches bulk-IN transfers at random (deterministically).
struct ChaosTransport {
    inner: SimTransport,
    state: u64,
}

impl ChaosTransport {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
}

impl ccid::UsbTransport for ChaosTransport {
    fn device_info(&self) -> ccid::UsbDeviceInfo {
        self.inner.device_info()
    }
    async fn claim_interface(&mut self, i: u8, a: u8) -> Result<(), ccid::TransportError> {
        self.inner.claim_interface(i, a).await
    }
    async fn control_in(
        &mut self,
        setup: ccid::ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, ccid::TransportError> {
        self.inner.control_in(setup, length).await
    }
    async fn control_out(
        &mut self,
        setup: ccid::ControlSetup,
        data: &[u8],
    ) -> Result<(), ccid::TransportError> {
        self.inner.control_out(setup, data).await
    }
    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), ccid::TransportError> {
        self.inner.bulk_out(endpoint, data).await
    }
    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, ccid::TransportError> {
        let mut data = self.inner.bulk_in(endpoint, max_length, timeout).await?;
        let roll = self.next();
        match roll % 16 {
            0 if !data.is_empty() => {
                let at = (roll >> 8) as usize % data.len();
                data[at] ^= (roll >> 32) as u8 | 1;
            }
            1 => data.truncate((roll >> 8) as usize % (data.len() + 1)),
            2 => return Err(ccid::TransportError::Timeout),
            3 => data.extend_from_slice(&roll.to_le_bytes()),
            _ => {}
        }
        Ok(data)
    }
    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, ccid::TransportError> {
        self.inner.interrupt_in(endpoint, max_length, timeout).await
    }
}

#[test]
fn random_damage_to_every_reply_never_panics() {
    let configs = [
        SimReaderConfig::extended_apdu(),
        SimReaderConfig::short_apdu(),
        SimReaderConfig::tpdu(),
        SimReaderConfig::ez100pu(),
    ];
    let mut outcomes = [0usize; 2];
    for (round, config) in configs.iter().cycle().take(200).enumerate() {
        let device = SimReader::new(config.clone());
        device.insert(Box::new(if round % 3 == 0 {
            TestCard::t0()
        } else {
            TestCard::new()
        }));
        let transport = ChaosTransport {
            inner: device.transport(),
            state: 0x9E37_79B9_7F4A_7C15 ^ round as u64,
        };
        block_on(async {
            let Ok(mut reader) = Reader::open(transport).await else {
                return;
            };
            for _ in 0..20 {
                if reader.atr().is_none() && reader.power_on().await.is_err() {
                    outcomes[1] += 1;
                    continue;
                }
                let (apdu, _) = echo(180);
                outcomes[usize::from(reader.transmit(&apdu).await.is_err())] += 1;
            }
        });
    }
    println!(
        "{} exchanges answered, {} failed with a typed error",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 0 && outcomes[1] > 0);
}
