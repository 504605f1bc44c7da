//! Every kind of frame the bridge sends, whole: the answer to each request kind (result and
//! error envelopes), the `id: null` answers, and the pushed events. These pin the wire format
//! of `docs/usb-bridge.md`, which the stand-in in `www/usb-standin.js` reads.
//!
//! Frames are compared as JSON values: the order of an object's keys carries no meaning (and
//! differs between builds that do and do not enable `serde_json/preserve_order`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{b64, serve, Client};
use serde_json::{json, Value};

/// Sends `request` and returns its whole answer frame, after checking the frame echoes the
/// request's `id` (the client numbers requests itself).
async fn answer(client: &Client, request: Value) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), client.start(request))
        .await
        .expect("an answer within five seconds")
        .expect("the connection stays up");
    assert!(frame["id"].is_u64(), "{frame}");
    frame
}

/// The frame of a successful answer to the request numbered as `frame` is.
fn success(frame: &Value, result: Value) -> Value {
    json!({"id": frame["id"], "ok": true, "result": result})
}

/// The frame of a failed answer to the request numbered as `frame` is.
fn failure(frame: &Value, name: &str, message: &str) -> Value {
    json!({"id": frame["id"], "ok": false, "error": {"name": name, "message": message}})
}

/// Asserts `request` is answered with `result`.
async fn assert_result(client: &Client, request: Value, result: Value) {
    let frame = answer(client, request.clone()).await;
    assert_eq!(frame, success(&frame, result), "{request}");
}

/// Asserts `request` fails with this `DOMException` name and message.
async fn assert_error(client: &Client, request: Value, name: &str, message: &str) {
    let frame = answer(client, request.clone()).await;
    assert_eq!(frame, failure(&frame, name, message), "{request}");
}

/// Asserts each request fails with its `DOMException` name and message, in order.
async fn assert_errors<const N: usize>(client: &Client, cases: [(Value, &str, &str); N]) {
    for (request, name, message) in cases {
        assert_error(client, request, name, message).await;
    }
}

/// The next pushed frame.
async fn pushed(client: &Client) -> Value {
    client
        .unsolicited(Duration::from_secs(2))
        .await
        .expect("a pushed frame")
}

/// A simulated reader as `listDevices` and `connect` describe it: one configuration, one
/// interface, bulk OUT 2, bulk IN 2 and interrupt IN 3.
fn device(
    device_id: &str,
    (vendor_id, product_id): (u16, u16),
    (manufacturer, product): (&str, &str),
    interface_class: u8,
    bulk_packet_size: u16,
) -> Value {
    json!({
        "deviceId": device_id,
        "usbVersionMajor": 2, "usbVersionMinor": 0, "usbVersionSubminor": 0,
        "deviceClass": 0, "deviceSubclass": 0, "deviceProtocol": 0,
        "vendorId": vendor_id, "productId": product_id,
        "deviceVersionMajor": 1, "deviceVersionMinor": 0, "deviceVersionSubminor": 0,
        "manufacturerName": manufacturer, "productName": product,
        "serialNumber": format!("SIM-{device_id}"),
        "configurationValue": 1,
        "configurations": [{
            "configurationValue": 1, "configurationName": null,
            "interfaces": [{
                "interfaceNumber": 0,
                "alternates": [{
                    "alternateSetting": 0,
                    "interfaceClass": interface_class, "interfaceSubclass": 0,
                    "interfaceProtocol": 0,
                    "interfaceName": null,
                    "endpoints": [
                        {"endpointNumber": 2, "direction": "out", "type": "bulk",
                         "packetSize": bulk_packet_size},
                        {"endpointNumber": 2, "direction": "in", "type": "bulk",
                         "packetSize": bulk_packet_size},
                        {"endpointNumber": 3, "direction": "in", "type": "interrupt",
                         "packetSize": 8},
                    ]
                }]
            }]
        }]
    })
}

fn tpdu() -> Value {
    device(
        "tpdu",
        (0xF1D0, 3),
        ("Simulated", "Simulated CCID reader (tpdu)"),
        0x0B,
        64,
    )
}

fn ez100pu() -> Value {
    device(
        "ez100pu",
        (0x0CA6, 0x0010),
        ("Castles Technology", "EZ100PU"),
        0x00,
        16,
    )
}

fn extended() -> Value {
    device(
        "extended",
        (0xF1D0, 1),
        ("Simulated", "Simulated CCID reader (extended)"),
        0x0B,
        64,
    )
}

fn setup(request_type: &str, recipient: &str, request: u8, value: u16) -> Value {
    json!({"requestType": request_type, "recipient": recipient, "request": request,
           "value": value, "index": 0})
}

fn on(op: &str, device_id: &str) -> Value {
    json!({"op": op, "deviceId": device_id})
}

/// `request` with `fields` added.
fn with(mut request: Value, fields: Value) -> Value {
    let (Value::Object(request_fields), Value::Object(extra)) = (&mut request, fields) else {
        panic!("requests and fields are objects");
    };
    request_fields.extend(extra);
    request
}

#[tokio::test]
async fn device_listing_and_device_operations_answer_the_documented_frames() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    let done = json!({});

    assert_result(
        &client,
        json!({"op": "listDevices"}),
        json!({"devices": [tpdu(), ez100pu(), extended()]}),
    )
    .await;

    let get_slot_status = [0x65, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    let steps = [
        (on("open", "tpdu"), done.clone()),
        (
            with(
                on("selectConfiguration", "tpdu"),
                json!({"configurationValue": 1}),
            ),
            done.clone(),
        ),
        (
            with(on("claimInterface", "tpdu"), json!({"interfaceNumber": 0})),
            done.clone(),
        ),
        (
            with(
                on("selectAlternateInterface", "tpdu"),
                json!({"interfaceNumber": 0, "alternateSetting": 0}),
            ),
            done.clone(),
        ),
        // The configuration descriptor's first nine bytes: 93 bytes in all, one interface.
        (
            with(
                on("controlTransferIn", "tpdu"),
                json!({"setup": setup("standard", "device", 6, 0x0200), "length": 9}),
            ),
            json!({"status": "ok", "data": b64(&[0x09, 0x02, 93, 0, 1, 1, 0, 0x80, 50])}),
        ),
        // GET_DATA_RATES on a reader that lists none stalls.
        (
            with(
                on("controlTransferIn", "tpdu"),
                json!({"setup": setup("class", "interface", 3, 0), "length": 4}),
            ),
            json!({"status": "stall", "data": ""}),
        ),
        // ABORT is taken; any other class request stalls.
        (
            with(
                on("controlTransferOut", "tpdu"),
                json!({"setup": setup("class", "interface", 1, 0x0100)}),
            ),
            json!({"status": "ok", "bytesWritten": 0}),
        ),
        (
            with(
                on("controlTransferOut", "tpdu"),
                json!({"setup": setup("class", "interface", 2, 0), "data": b64(&[1, 2])}),
            ),
            json!({"status": "stall", "bytesWritten": 0}),
        ),
        // The start card's NotifySlotChange waits on the interrupt endpoint.
        (
            with(
                on("transferIn", "tpdu"),
                json!({"endpointNumber": 3, "length": 8}),
            ),
            json!({"status": "ok", "data": b64(&[0x50, 0x03])}),
        ),
        // PC_to_RDR_GetSlotStatus, then its answer: card present, not powered.
        (
            with(
                on("transferOut", "tpdu"),
                json!({"endpointNumber": 2, "data": b64(&get_slot_status)}),
            ),
            json!({"status": "ok", "bytesWritten": 10}),
        ),
        (
            with(
                on("transferIn", "tpdu"),
                json!({"endpointNumber": 2, "length": 64}),
            ),
            json!({"status": "ok", "data": b64(&[0x81, 0, 0, 0, 0, 0, 1, 0x01, 0, 0])}),
        ),
        (
            with(
                on("clearHalt", "tpdu"),
                json!({"direction": "in", "endpointNumber": 2}),
            ),
            done.clone(),
        ),
        // The EZ100PU moves 16 bytes per transfer: a longer bulk-OUT transfer stalls.
        (on("open", "ez100pu"), done.clone()),
        (
            with(
                on("claimInterface", "ez100pu"),
                json!({"interfaceNumber": 0}),
            ),
            done.clone(),
        ),
        (
            with(
                on("transferOut", "ez100pu"),
                json!({"endpointNumber": 2, "data": b64(&[0; 17])}),
            ),
            json!({"status": "stall", "bytesWritten": 0}),
        ),
    ];
    for (request, result) in steps {
        assert_result(&client, request, result).await;
    }

    // Releasing or closing ends a waiting transfer.
    let waiting = client.start(with(
        on("transferIn", "tpdu"),
        json!({"endpointNumber": 2, "length": 64}),
    ));
    assert_result(
        &client,
        with(
            on("releaseInterface", "tpdu"),
            json!({"interfaceNumber": 0}),
        ),
        done.clone(),
    )
    .await;
    let aborted = waiting.await.unwrap();
    assert_eq!(
        aborted,
        failure(&aborted, "AbortError", "The transfer was cancelled.")
    );
    let waiting = client.start(with(
        on("transferIn", "ez100pu"),
        json!({"endpointNumber": 2, "length": 64}),
    ));
    assert_result(&client, on("close", "ez100pu"), done.clone()).await;
    let aborted = waiting.await.unwrap();
    assert_eq!(
        aborted,
        failure(&aborted, "AbortError", "The transfer was cancelled.")
    );
    assert_result(&client, on("close", "tpdu"), done).await;
}

#[tokio::test]
async fn device_operation_errors_answer_the_documented_frames() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;

    let unclaimed_endpoint =
        "The specified endpoint is not part of a claimed and selected alternate interface.";
    let before_open = [
        (
            on("open", "nowhere"),
            "NotFoundError",
            "no device \"nowhere\"",
        ),
        (
            with(on("claimInterface", "tpdu"), json!({"interfaceNumber": 0})),
            "InvalidStateError",
            "The device must be opened first.",
        ),
    ];
    assert_errors(&client, before_open).await;
    client.call(on("open", "tpdu")).await.unwrap();
    let before_claim = [
        (
            with(
                on("selectConfiguration", "tpdu"),
                json!({"configurationValue": 2}),
            ),
            "NotFoundError",
            "The configuration value provided is not supported by the device.",
        ),
        (
            with(on("claimInterface", "tpdu"), json!({"interfaceNumber": 4})),
            "NotFoundError",
            "The interface number provided is not supported by the device in its current \
             configuration.",
        ),
        (
            with(
                on("selectAlternateInterface", "tpdu"),
                json!({"interfaceNumber": 0, "alternateSetting": 0}),
            ),
            "InvalidStateError",
            "The specified interface has not been claimed.",
        ),
        (
            with(
                on("controlTransferIn", "tpdu"),
                json!({"setup": setup("class", "interface", 3, 0), "length": 4}),
            ),
            "InvalidStateError",
            "The specified interface or endpoint has not been claimed.",
        ),
        (
            with(
                on("transferIn", "tpdu"),
                json!({"endpointNumber": 2, "length": 64}),
            ),
            "NotFoundError",
            unclaimed_endpoint,
        ),
    ];
    assert_errors(&client, before_claim).await;
    client
        .call(with(
            on("claimInterface", "tpdu"),
            json!({"interfaceNumber": 0}),
        ))
        .await
        .unwrap();
    let claimed = [
        (
            with(
                on("selectAlternateInterface", "tpdu"),
                json!({"interfaceNumber": 0, "alternateSetting": 1}),
            ),
            "NotFoundError",
            "The alternate setting provided is not supported by the device in its current \
             configuration.",
        ),
        (
            with(
                on("clearHalt", "tpdu"),
                json!({"direction": "out", "endpointNumber": 3}),
            ),
            "NotFoundError",
            unclaimed_endpoint,
        ),
    ];
    assert_errors(&client, claimed).await;

    // Another page holds the interface.
    let other = Client::connect(address).await;
    other.call(on("open", "tpdu")).await.unwrap();
    assert_error(
        &other,
        with(on("claimInterface", "tpdu"), json!({"interfaceNumber": 0})),
        "NetworkError",
        "Unable to claim interface.",
    )
    .await;

    // Unplugged: the waiting transfer and later requests find the device gone.
    let waiting = client.start(with(
        on("transferIn", "tpdu"),
        json!({"endpointNumber": 2, "length": 64}),
    ));
    assert_result(&client, on("unplugReader", "tpdu"), json!({})).await;
    let gone = waiting.await.unwrap();
    assert_eq!(
        gone,
        failure(&gone, "NotFoundError", "The device was disconnected.")
    );
    assert_error(
        &client,
        on("open", "tpdu"),
        "NotFoundError",
        "The device was disconnected.",
    )
    .await;
}

#[tokio::test]
async fn demo_operations_answer_the_documented_frames() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;
    let done = json!({});
    let listing = |test_in: Value, t0_in: Value| {
        json!({"cards": [
            {"name": "test", "description": "a T=1 test card", "inReader": test_in},
            {"name": "second-generation",
             "description": "a test card with the second-generation ATR",
             "inReader": "ez100pu"},
            {"name": "t0", "description": "a T=0 test card", "inReader": t0_in},
        ]})
    };

    assert_result(
        &client,
        json!({"op": "listCards"}),
        listing(json!("tpdu"), Value::Null),
    )
    .await;
    assert_result(&client, on("removeCard", "tpdu"), json!({"card": "test"})).await;
    assert_eq!(
        pushed(&client).await,
        json!({"event": "card", "deviceId": "tpdu", "card": null})
    );
    assert_result(&client, on("removeCard", "tpdu"), json!({"card": null})).await;
    assert_result(
        &client,
        with(
            on("insertCard", "extended"),
            json!({"card": "t0", "fresh": true}),
        ),
        done.clone(),
    )
    .await;
    assert_eq!(
        pushed(&client).await,
        json!({"event": "card", "deviceId": "extended", "card": "t0"})
    );
    assert_result(
        &client,
        json!({"op": "listCards"}),
        listing(Value::Null, json!("extended")),
    )
    .await;
    assert_result(
        &client,
        with(on("removeCardAfter", "extended"), json!({"commands": 3})),
        done.clone(),
    )
    .await;

    let refused = [
        (
            with(on("insertCard", "tpdu"), json!({"card": "t0"})),
            "InvalidStateError",
            "the card \"t0\" is in reader \"extended\"",
        ),
        (
            with(on("insertCard", "extended"), json!({"card": "test"})),
            "InvalidStateError",
            "the reader already holds the card \"t0\"; remove it first",
        ),
        (
            with(on("insertCard", "tpdu"), json!({"card": "joker"})),
            "NotFoundError",
            "no demo card \"joker\"",
        ),
        (
            with(on("removeCardAfter", "tpdu"), json!({"commands": 0})),
            "InvalidStateError",
            "the reader holds no card",
        ),
    ];
    assert_errors(&client, refused).await;

    assert_result(&client, on("unplugReader", "extended"), done.clone()).await;
    assert_eq!(
        pushed(&client).await,
        json!({"event": "disconnect", "deviceId": "extended"})
    );
    assert_result(
        &client,
        json!({"op": "listDevices"}),
        json!({"devices": [tpdu(), ez100pu()]}),
    )
    .await;
    assert_error(
        &client,
        on("removeCard", "extended"),
        "NotFoundError",
        "The device was disconnected.",
    )
    .await;
    assert_result(&client, on("plugReader", "extended"), done.clone()).await;
    assert_eq!(
        pushed(&client).await,
        json!({"event": "connect", "device": extended()})
    );
    // Plugging in a plugged reader changes nothing and pushes nothing.
    assert_result(&client, on("plugReader", "extended"), done).await;
    assert_eq!(client.unsolicited(Duration::from_millis(200)).await, None);
    assert_error(
        &client,
        on("plugReader", "nowhere"),
        "NotFoundError",
        "no device \"nowhere\"",
    )
    .await;
}

#[tokio::test]
async fn ids_are_echoed_and_unattributable_frames_answer_with_id_null() {
    let (_bridge, address) = serve().await;
    let client = Client::connect(address).await;

    client.send_raw(r#"{"id":"panel-1","op":"removeCard","deviceId":"extended"}"#.into());
    assert_eq!(
        pushed(&client).await,
        json!({"id": "panel-1", "ok": true, "result": {"card": null}})
    );
    client.send_raw(r#"{"id":-2.5,"op":"open","deviceId":"nowhere"}"#.into());
    assert_eq!(
        pushed(&client).await,
        json!({"id": -2.5, "ok": false,
               "error": {"name": "NotFoundError", "message": "no device \"nowhere\""}})
    );

    let malformed = |message: &str| {
        json!({"id": null, "ok": false,
               "error": {"name": "TypeError",
                         "message": format!("malformed bridge request: {message}")}})
    };
    client.send_raw("[]".into());
    assert_eq!(
        pushed(&client).await,
        malformed("a request is a JSON object")
    );
    client.send_raw(r#"{"op":"listDevices"}"#.into());
    assert_eq!(
        pushed(&client).await,
        malformed("a request needs an `id` (number or string)")
    );
    client.send_binary(vec![0xFF; 4]);
    assert_eq!(pushed(&client).await, malformed("frames are JSON text"));
    client.send_raw("{".into());
    let unparsed = pushed(&client).await;
    assert_eq!(unparsed["id"], Value::Null);
    assert_eq!(unparsed["ok"], json!(false));
    assert_eq!(unparsed["error"]["name"], json!("TypeError"));

    // A request with an id but a bad body keeps its id.
    client.send_raw(r#"{"id":9,"op":"fly"}"#.into());
    let bad_op = pushed(&client).await;
    assert_eq!(bad_op["id"], json!(9));
    assert_eq!(bad_op["ok"], json!(false));
    assert_eq!(bad_op["error"]["name"], json!("TypeError"));
}
