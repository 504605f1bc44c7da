//! The USB bridge over a real WebSocket on loopback: the listing, WebUSB's rules, CCID through
//! it byte by byte, transfers that wait for data, card events, errors, and the `ccid` driver
//! itself over a transport built on the protocol alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use ccid::sim::{IccCard, ReaderFault, TestCard};
use ccid::{CardEvent, Error, Reader, SlotStatus, TransportError};
use common::{b64, outcome, serve, unb64, BridgeTransport, Client};
use serde_json::{json, Value};

const BULK_OUT: u8 = 2;
const BULK_IN: u8 = 2;
const INTERRUPT_IN: u8 = 3;

fn get_configuration_descriptor(length: u16) -> Value {
    json!({
        "op": "controlTransferIn",
        "deviceId": "tpdu",
        "setup": {"requestType": "standard", "recipient": "device", "request": 6,
                  "value": 0x0200, "index": 0},
        "length": length,
    })
}

fn transfer_out(device: &str, data: &[u8]) -> Value {
    json!({"op": "transferOut", "deviceId": device, "endpointNumber": BULK_OUT, "data": b64(data)})
}

fn transfer_in(device: &str, endpoint: u8, length: usize) -> Value {
    json!({"op": "transferIn", "deviceId": device, "endpointNumber": endpoint, "length": length})
}

/// Opens the reader and claims its interface.
async fn claimed(client: &Client, device: &str) {
    client
        .call(json!({"op": "open", "deviceId": device}))
        .await
        .unwrap();
    client
        .call(json!({"op": "claimInterface", "deviceId": device, "interfaceNumber": 0}))
        .await
        .unwrap();
}

/// Drains the card-present notification a reader holds from its start card.
async fn drain_interrupt(client: &Client, device: &str) {
    let result = client
        .call(transfer_in(device, INTERRUPT_IN, 8))
        .await
        .unwrap();
    assert_eq!(unb64(&result["data"]), [0x50, 0x03]);
}

/// GET DATA for the test card's name, and the name with its status word.
const GET_NAME: [u8; 5] = [0x80, 0xCA, 0x00, 0x00, 0x00];
const TEST_CARD_NAME: &[u8] = b"CCID TEST CARD\x90\x00";

/// The driver over the bridge, on `device`.
async fn reader_on(client: &Client, device: &str) -> Reader<BridgeTransport> {
    let transport = BridgeTransport::open(client, device).await;
    Reader::open(transport).await.unwrap()
}

/// What the card in `reader` answers to [`GET_NAME`].
async fn card_name(reader: &mut Reader<BridgeTransport>) -> Vec<u8> {
    reader.transmit(&GET_NAME).await.unwrap()
}

#[tokio::test]
async fn a_ccid_exchange_through_the_bridge() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;

    let listing = client.call(json!({"op": "listDevices"})).await.unwrap();
    let devices = listing["devices"].as_array().unwrap();
    let ids: Vec<&str> = devices
        .iter()
        .map(|d| d["deviceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tpdu", "ez100pu", "extended"]);
    let tpdu = &devices[0];
    assert_eq!(
        (tpdu["vendorId"].clone(), tpdu["productId"].clone()),
        (json!(0xF1D0), json!(3))
    );
    assert_eq!(tpdu["deviceVersionMajor"], json!(1));
    assert_eq!(tpdu["serialNumber"], json!("SIM-tpdu"));
    assert_eq!(tpdu["configurationValue"], json!(1));
    let alternate = &tpdu["configurations"][0]["interfaces"][0]["alternates"][0];
    assert_eq!(alternate["interfaceClass"], json!(0x0B));
    assert_eq!(
        alternate["endpoints"],
        json!([
            {"endpointNumber": 2, "direction": "out", "type": "bulk", "packetSize": 64},
            {"endpointNumber": 2, "direction": "in", "type": "bulk", "packetSize": 64},
            {"endpointNumber": 3, "direction": "in", "type": "interrupt", "packetSize": 8},
        ])
    );
    let ez100pu = &devices[1];
    assert_eq!(ez100pu["productName"], json!("EZ100PU"));
    assert_eq!(
        ez100pu["configurations"][0]["interfaces"][0]["alternates"][0]["interfaceClass"],
        json!(0)
    );

    claimed(&client, "tpdu").await;
    let head = client.call(get_configuration_descriptor(9)).await.unwrap();
    assert_eq!(head["status"], json!("ok"));
    let head = unb64(&head["data"]);
    assert_eq!(head[..2], [0x09, 0x02]);
    let total = u16::from_le_bytes([head[2], head[3]]);
    let whole = client
        .call(get_configuration_descriptor(total))
        .await
        .unwrap();
    let whole = unb64(&whole["data"]);
    assert_eq!(whole.len(), usize::from(total));
    // The CCID class descriptor follows the interface descriptor.
    assert_eq!(whole[18..20], [0x36, 0x21]);

    // PC_to_RDR_IccPowerOn, slot 0, seq 1, 5 V → RDR_to_PC_DataBlock with the ATR.
    let power_on = [0x62, 0, 0, 0, 0, 0, 1, 0x01, 0, 0];
    let sent = client.call(transfer_out("tpdu", &power_on)).await.unwrap();
    assert_eq!(sent, json!({"status": "ok", "bytesWritten": 10}));
    let reply = client
        .call(transfer_in("tpdu", BULK_IN, 512))
        .await
        .unwrap();
    let reply = unb64(&reply["data"]);
    assert_eq!(reply[0], 0x80);
    assert_eq!(
        u32::from_le_bytes([reply[1], reply[2], reply[3], reply[4]]),
        17
    );
    assert_eq!((reply[5], reply[6], reply[7], reply[8]), (0, 1, 0x00, 0));
    assert_eq!(reply[10..], TestCard::new().atr());

    // PC_to_RDR_GetSlotStatus, seq 2 → RDR_to_PC_SlotStatus: card present and active.
    let get_slot_status = [0x65, 0, 0, 0, 0, 0, 2, 0, 0, 0];
    client
        .call(transfer_out("tpdu", &get_slot_status))
        .await
        .unwrap();
    let reply = client
        .call(transfer_in("tpdu", BULK_IN, 512))
        .await
        .unwrap();
    assert_eq!(unb64(&reply["data"]), [0x81, 0, 0, 0, 0, 0, 2, 0x00, 0, 0]);

    // A class request the simulated reader does not support stalls, as a control status.
    let stalled = client
        .call(json!({
            "op": "controlTransferIn", "deviceId": "tpdu", "length": 4,
            "setup": {"requestType": "class", "recipient": "interface", "request": 2,
                      "value": 0, "index": 0},
        }))
        .await
        .unwrap();
    assert_eq!(stalled, json!({"status": "stall", "data": ""}));
}

#[tokio::test]
async fn a_transfer_in_waits_for_data_instead_of_timing_out() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    claimed(&client, "tpdu").await;

    let mut waiting = client.start(transfer_in("tpdu", BULK_IN, 512));
    let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
    assert!(early.is_err(), "no data yet, so no answer yet: {early:?}");

    // Other requests are answered meanwhile, and the OUT transfer gives the IN one its data.
    let get_slot_status = [0x65, 0, 0, 0, 0, 0, 7, 0, 0, 0];
    client
        .call(transfer_out("tpdu", &get_slot_status))
        .await
        .unwrap();
    let reply = outcome(waiting.await.unwrap()).unwrap();
    assert_eq!(reply["status"], json!("ok"));
    // Card present, not powered (bmICCStatus 1).
    assert_eq!(unb64(&reply["data"]), [0x81, 0, 0, 0, 0, 0, 7, 0x01, 0, 0]);
}

#[tokio::test]
async fn transfers_on_one_endpoint_complete_in_order_and_in_pieces() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    claimed(&client, "ez100pu").await;

    // The EZ100PU moves 16 bytes per transfer: two waiting transfers take the first 16 bytes
    // of the answer and the rest, oldest first.
    let first = client.start(transfer_in("ez100pu", BULK_IN, 64));
    let second = client.start(transfer_in("ez100pu", BULK_IN, 64));
    // IccPowerOn in the EZ100PU's big-endian dialect.
    let power_on = [0x62, 0, 0, 0, 0, 0, 1, 0x01, 0, 0];
    client
        .call(transfer_out("ez100pu", &power_on))
        .await
        .unwrap();
    let first = unb64(&outcome(first.await.unwrap()).unwrap()["data"]);
    let second = unb64(&outcome(second.await.unwrap()).unwrap()["data"]);
    assert_eq!(first.len(), 16);
    assert_eq!(first[0], 0x80);
    let length = u32::from_be_bytes([first[1], first[2], first[3], first[4]]) as usize;
    assert_eq!(first.len() + second.len(), 10 + length);
    // One 0x00 before the ATR's TS.
    assert_eq!(first[10..12], [0x00, 0x3B]);
}

#[tokio::test]
async fn card_insertion_and_removal_arrive_on_the_interrupt_endpoint() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    let panel = Client::connect(address).await;
    claimed(&client, "tpdu").await;
    drain_interrupt(&client, "tpdu").await;

    let cards = panel.call(json!({"op": "listCards"})).await.unwrap();
    assert_eq!(
        cards["cards"][0],
        json!({"name": "test", "description": "a T=1 test card", "inReader": "tpdu"})
    );

    let waiting = client.start(transfer_in("tpdu", INTERRUPT_IN, 8));
    let removed = panel
        .call(json!({"op": "removeCard", "deviceId": "tpdu"}))
        .await
        .unwrap();
    assert_eq!(removed, json!({"card": "test"}));
    let notification = outcome(waiting.await.unwrap()).unwrap();
    // NotifySlotChange: slot 0 changed, now empty.
    assert_eq!(unb64(&notification["data"]), [0x50, 0x02]);
    for watcher in [&client, &panel] {
        let event = watcher.unsolicited(Duration::from_secs(2)).await.unwrap();
        assert_eq!(
            event,
            json!({"event": "card", "deviceId": "tpdu", "card": null})
        );
    }

    let waiting = client.start(transfer_in("tpdu", INTERRUPT_IN, 8));
    panel
        .call(json!({"op": "insertCard", "deviceId": "tpdu", "card": "t0"}))
        .await
        .unwrap();
    let notification = outcome(waiting.await.unwrap()).unwrap();
    assert_eq!(unb64(&notification["data"]), [0x50, 0x03]);
    let event = client.unsolicited(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        event,
        json!({"event": "card", "deviceId": "tpdu", "card": "t0"})
    );

    // The card is where the panel says; one card cannot be in two readers.
    let error = panel
        .call(json!({"op": "insertCard", "deviceId": "extended", "card": "t0"}))
        .await
        .unwrap_err();
    assert_eq!(error.name, "InvalidStateError");
    let error = panel
        .call(json!({"op": "insertCard", "deviceId": "extended", "card": "no such card"}))
        .await
        .unwrap_err();
    assert_eq!(error.name, "NotFoundError");
}

#[tokio::test]
async fn malformed_requests_get_errors_and_the_bridge_keeps_serving() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;

    // Frames the bridge cannot attribute to a request are answered with id null.
    for frame in [
        "not json",
        "[]",
        r#"{"op":"listDevices"}"#,
        r#"{"id":[1],"op":"listDevices"}"#,
    ] {
        client.send_raw(frame.to_string());
        let answer = client.unsolicited(Duration::from_secs(2)).await.unwrap();
        assert_eq!(answer["id"], Value::Null, "{frame}");
        assert_eq!(answer["ok"], json!(false), "{frame}");
        assert_eq!(answer["error"]["name"], json!("TypeError"), "{frame}");
    }
    client.send_binary(vec![0xFF; 32]);
    let answer = client.unsolicited(Duration::from_secs(2)).await.unwrap();
    assert_eq!(answer["error"]["name"], json!("TypeError"));

    let cases = [
        (json!({"op": "fly"}), "TypeError"),
        (json!({"op": "open"}), "TypeError"),
        (json!({"op": "open", "deviceId": 7}), "TypeError"),
        (
            json!({"op": "open", "deviceId": "tpdu", "extra": 1}),
            "TypeError",
        ),
        (
            json!({"op": "transferOut", "deviceId": "tpdu", "endpointNumber": 2, "data": "%%"}),
            "TypeError",
        ),
        (
            json!({"op": "transferIn", "deviceId": "tpdu", "endpointNumber": -1, "length": 1}),
            "TypeError",
        ),
        (
            json!({"op": "transferIn", "deviceId": "tpdu", "endpointNumber": 2, "length": 1e99}),
            "TypeError",
        ),
        (
            json!({"op": "controlTransferIn", "deviceId": "tpdu", "length": 9,
                "setup": {"requestType": "standard"}}),
            "TypeError",
        ),
        (
            json!({"op": "open", "deviceId": "nowhere"}),
            "NotFoundError",
        ),
        // WebUSB's order of things: open, then claim, then transfer.
        (transfer_in("tpdu", BULK_IN, 64), "InvalidStateError"),
        (
            json!({"op": "claimInterface", "deviceId": "tpdu", "interfaceNumber": 0}),
            "InvalidStateError",
        ),
    ];
    for (request, name) in cases {
        let error = client.call(request.clone()).await.unwrap_err();
        assert_eq!(error.name, name, "{request}");
    }
    client
        .call(json!({"op": "open", "deviceId": "tpdu"}))
        .await
        .unwrap();
    let after_open = [
        (transfer_in("tpdu", BULK_IN, 64), "NotFoundError"),
        (
            json!({"op": "claimInterface", "deviceId": "tpdu", "interfaceNumber": 4}),
            "NotFoundError",
        ),
        (
            json!({"op": "selectConfiguration", "deviceId": "tpdu", "configurationValue": 2}),
            "NotFoundError",
        ),
    ];
    for (request, name) in after_open {
        let error = client.call(request.clone()).await.unwrap_err();
        assert_eq!(error.name, name, "{request}");
    }
    claimed(&client, "tpdu").await;
    let cases = [
        // The bulk-OUT endpoint is not an IN endpoint, and there is no endpoint 9.
        (
            json!({"op": "transferIn", "deviceId": "tpdu", "endpointNumber": 9, "length": 8}),
            "NotFoundError",
        ),
        (
            json!({"op": "transferOut", "deviceId": "tpdu", "endpointNumber": 3, "data": ""}),
            "NotFoundError",
        ),
        (
            json!({"op": "selectAlternateInterface", "deviceId": "tpdu", "interfaceNumber": 0,
                "alternateSetting": 1}),
            "NotFoundError",
        ),
    ];
    for (request, name) in cases {
        let error = client.call(request.clone()).await.unwrap_err();
        assert_eq!(error.name, name, "{request}");
    }
    // Garbage on the bulk pipe is the simulated reader's problem, handled as a reader would.
    client
        .call(transfer_out("tpdu", &[0xAB; 300]))
        .await
        .unwrap();

    // Still serving, on this connection and on new ones.
    let listing = client.call(json!({"op": "listDevices"})).await.unwrap();
    assert_eq!(listing["devices"].as_array().unwrap().len(), 3);
    let another = Client::connect(address).await;
    another.call(json!({"op": "listCards"})).await.unwrap();
}

#[tokio::test]
async fn a_claimed_interface_belongs_to_one_connection_until_it_goes() {
    let (_bridge, address) = serve().await;
    let first = Client::connect(address).await;
    let second = Client::connect(address).await;
    claimed(&first, "tpdu").await;
    second
        .call(json!({"op": "open", "deviceId": "tpdu"}))
        .await
        .unwrap();
    let claim = json!({"op": "claimInterface", "deviceId": "tpdu", "interfaceNumber": 0});
    let error = second.call(claim.clone()).await.unwrap_err();
    assert_eq!(error.name, "NetworkError");

    // A waiting transfer of the first connection ends when it closes the device.
    let waiting = first.start(transfer_in("tpdu", BULK_IN, 64));
    first
        .call(json!({"op": "close", "deviceId": "tpdu"}))
        .await
        .unwrap();
    let aborted = outcome(waiting.await.unwrap()).unwrap_err();
    assert_eq!(aborted.name, "AbortError");
    second.call(claim.clone()).await.unwrap();

    // A connection that goes away gives its claims back.
    second.close();
    tokio::time::sleep(Duration::from_millis(200)).await;
    first
        .call(json!({"op": "open", "deviceId": "tpdu"}))
        .await
        .unwrap();
    first.call(claim).await.unwrap();
}

#[tokio::test]
async fn unplugging_a_reader_fails_its_transfers_and_tells_every_page() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    claimed(&client, "extended").await;
    let waiting = client.start(transfer_in("extended", BULK_IN, 64));
    client
        .call(json!({"op": "unplugReader", "deviceId": "extended"}))
        .await
        .unwrap();
    let error = outcome(waiting.await.unwrap()).unwrap_err();
    assert_eq!(error.name, "NotFoundError");
    let event = client.unsolicited(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        event,
        json!({"event": "disconnect", "deviceId": "extended"})
    );
    let listing = client.call(json!({"op": "listDevices"})).await.unwrap();
    assert_eq!(listing["devices"].as_array().unwrap().len(), 2);
    let error = client
        .call(json!({"op": "open", "deviceId": "extended"}))
        .await
        .unwrap_err();
    assert_eq!(error.name, "NotFoundError");

    client
        .call(json!({"op": "plugReader", "deviceId": "extended"}))
        .await
        .unwrap();
    let event = client.unsolicited(Duration::from_secs(2)).await.unwrap();
    assert_eq!(event["event"], json!("connect"));
    assert_eq!(event["device"]["deviceId"], json!("extended"));
    // Plugged in again, it must be opened and claimed again.
    let error = client
        .call(transfer_in("extended", BULK_IN, 64))
        .await
        .unwrap_err();
    assert_eq!(error.name, "InvalidStateError");
    claimed(&client, "extended").await;
}

#[tokio::test]
async fn the_driver_runs_over_the_bridge_protocol() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    for device in ["tpdu", "ez100pu"] {
        let mut reader = reader_on(&client, device).await;
        reader.power_on().await.unwrap();
        assert_eq!(card_name(&mut reader).await, TEST_CARD_NAME, "{device}");
        // A READ BINARY long enough to take several transfers on the EZ100PU.
        let data = reader
            .transmit(&[0x00, 0xB0, 0x00, 0x10, 0xF0])
            .await
            .unwrap();
        let expected: Vec<u8> = (0x10..0x10 + 0xF0).map(ccid::sim::pattern_byte).collect();
        assert_eq!(data[..0xF0], expected[..], "{device}");
        assert_eq!(data[0xF0..], [0x90, 0x00], "{device}");
    }

    // The extended-APDU reader starts empty: the driver hears the insertion on the interrupt
    // endpoint.
    let mut reader = reader_on(&client, "extended").await;
    assert_eq!(reader.slot_status().await.unwrap(), SlotStatus::Empty);
    let quiet = reader
        .wait_card_event(Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(quiet, None);
    let panel = Client::connect(address).await;
    panel
        .call(json!({"op": "insertCard", "deviceId": "extended", "card": "t0"}))
        .await
        .unwrap();
    // The interrupt transfer kept from the quiet wait brings the notification.
    let event = reader
        .wait_card_event(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(event, Some(CardEvent::Inserted));
    reader.power_on().await.unwrap();
    let echo = reader
        .transmit(&[0x80, 0xEE, 0x00, 0x00, 0x03, 1, 2, 3, 0x00])
        .await
        .unwrap();
    assert_eq!(echo, [1, 2, 3, 0x90, 0x00]);
    panel
        .call(json!({"op": "removeCard", "deviceId": "extended"}))
        .await
        .unwrap();
    let event = reader
        .wait_card_event(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(event, Some(CardEvent::Removed));
}

#[tokio::test]
async fn after_a_timeout_the_driver_reads_the_abort_answer_through_the_kept_transfer() {
    let (bridge, address) = serve().await;
    let client = Client::connect(address).await;
    let mut reader = reader_on(&client, "tpdu").await;

    // The reader ignores the next command: the driver's bulk-IN times out, it aborts the
    // command, and the answer to PC_to_RDR_Abort arrives through the transferIn that was
    // left waiting in the bridge (no second transferIn was issued to steal it).
    bridge
        .with_reader("tpdu", |sim| {
            sim.unwrap().inject_reader_fault(ReaderFault::NoReply)
        })
        .await
        .unwrap();
    let error = reader.slot_status().await.unwrap_err();
    assert_eq!(error, Error::Timeout);
    assert_eq!(
        reader.slot_status().await.unwrap(),
        SlotStatus::CardInactive
    );
    reader.power_on().await.unwrap();
    assert_eq!(card_name(&mut reader).await, TEST_CARD_NAME);

    // Unplugged, the reader is gone for the driver too.
    client
        .call(json!({"op": "unplugReader", "deviceId": "tpdu"}))
        .await
        .unwrap();
    let error = reader.slot_status().await.unwrap_err();
    assert_eq!(error, Error::Transport(TransportError::Disconnected));
}

#[tokio::test]
async fn the_router_serves_the_standin_script() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_bridge, address) = serve().await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        demo::bridge::STANDIN_PATH
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response
        .to_ascii_lowercase()
        .contains("content-type: text/javascript"));
    assert!(response.ends_with(demo::bridge::STANDIN_SCRIPT));
}

#[tokio::test]
async fn a_card_pulled_by_remove_card_after_keeps_its_state_and_is_announced() {
    let (_bridge, address) = serve().await;
    let page = Client::connect(address).await;
    let panel = Client::connect(address).await;
    let mut reader = reader_on(&page, "tpdu").await;
    reader.power_on().await.unwrap();
    panel
        .call(json!({"op": "removeCardAfter", "deviceId": "tpdu", "commands": 1}))
        .await
        .unwrap();
    assert_eq!(card_name(&mut reader).await, TEST_CARD_NAME);
    let gone = reader.transmit(&GET_NAME).await;
    assert!(matches!(gone, Err(Error::NoCard)), "{gone:?}");
    assert_eq!(
        panel.unsolicited(Duration::from_secs(2)).await.unwrap(),
        json!({"event": "card", "deviceId": "tpdu", "card": null})
    );
    let cards = panel.call(json!({"op": "listCards"})).await.unwrap();
    assert_eq!(cards["cards"][0]["inReader"], Value::Null);
    // The pulled card is kept, and goes back in (into another reader, too).
    panel
        .call(json!({"op": "insertCard", "deviceId": "extended", "card": "test"}))
        .await
        .unwrap();
    // A removeCard after a pull that never came calls it off for the next card.
    panel
        .call(json!({"op": "removeCardAfter", "deviceId": "extended", "commands": 0}))
        .await
        .unwrap();
    panel
        .call(json!({"op": "removeCard", "deviceId": "extended"}))
        .await
        .unwrap();
    panel
        .call(json!({"op": "insertCard", "deviceId": "extended", "card": "test"}))
        .await
        .unwrap();
    let mut reader = reader_on(&page, "extended").await;
    reader.power_on().await.unwrap();
    assert_eq!(card_name(&mut reader).await, TEST_CARD_NAME);
}
