//! A bridge on a loopback port, a WebSocket client for it, and a `UsbTransport` over that
//! client: the same work `www/usb-standin.js` and `ccid::webusb` do in a browser, in Rust.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ccid::sim::{SimReaderConfig, TestCard};
use ccid::{ControlSetup, TransportError, UsbDeviceInfo, UsbTransport};
use demo::bridge::protocol::ErrorBody;
use demo::bridge::{Bridge, CardCatalogue, DemoReader};
use futures_util::{SinkExt, StreamExt};
use renewal::api::Base64Bytes;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// The three readers every test gets: a TPDU reader with a T=1 test card, the EZ100PU with a
/// second-generation-ATR test card, and an empty extended-APDU reader.
pub fn readers() -> Vec<DemoReader> {
    vec![
        DemoReader::new("tpdu", SimReaderConfig::tpdu()).with_card("test"),
        DemoReader::new("ez100pu", SimReaderConfig::ez100pu())
            .named("Castles Technology", "EZ100PU")
            .with_card("second-generation"),
        DemoReader::new("extended", SimReaderConfig::extended_apdu()),
    ]
}

pub fn cards() -> CardCatalogue {
    CardCatalogue::new()
        .with("test", "a T=1 test card", || Box::new(TestCard::new()))
        .with(
            "second-generation",
            "a test card with the second-generation ATR",
            || Box::new(TestCard::second_generation_atr()),
        )
        .with("t0", "a T=0 test card", || Box::new(TestCard::t0()))
}

/// Serves a bridge on 127.0.0.1 on a free port.
pub async fn serve() -> (Bridge, SocketAddr) {
    let bridge = Bridge::start(readers(), cards()).expect("bridge");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = bridge.router();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (bridge, address)
}

/// One WebSocket connection to the bridge. Clones share it.
#[derive(Clone)]
pub struct Client {
    outgoing: mpsc::UnboundedSender<Message>,
    waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    unsolicited: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>>,
    next_id: Arc<AtomicU64>,
}

impl Client {
    pub async fn connect(address: SocketAddr) -> Client {
        let url = format!("ws://{address}{}", demo::bridge::PATH);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
        let (events, unsolicited) = mpsc::unbounded_channel();
        let dispatch = Arc::clone(&waiting);
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                let waiter = frame["id"]
                    .as_u64()
                    .and_then(|id| dispatch.lock().unwrap().remove(&id));
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(frame);
                    }
                    None => {
                        let _ = events.send(frame);
                    }
                }
            }
        });
        Client {
            outgoing,
            waiting,
            unsolicited: Arc::new(tokio::sync::Mutex::new(unsolicited)),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Sends a request and returns the receiver of its whole response frame.
    pub fn start(&self, mut request: Value) -> oneshot::Receiver<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        request["id"] = json!(id);
        let (answer, response) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id, answer);
        self.send_raw(request.to_string());
        response
    }

    /// Sends a request and waits (at most five seconds) for its result or error.
    pub async fn call(&self, request: Value) -> Result<Value, ErrorBody> {
        let response = tokio::time::timeout(Duration::from_secs(5), self.start(request))
            .await
            .expect("a response within five seconds")
            .expect("the connection stays up");
        outcome(response)
    }

    pub fn send_raw(&self, text: String) {
        self.outgoing
            .send(Message::Text(text.into()))
            .expect("connection open");
    }

    pub fn send_binary(&self, bytes: Vec<u8>) {
        self.outgoing
            .send(Message::Binary(bytes.into()))
            .expect("connection open");
    }

    /// The next event or id-less response, if one comes within `wait`.
    pub async fn unsolicited(&self, wait: Duration) -> Option<Value> {
        let mut frames = self.unsolicited.lock().await;
        tokio::time::timeout(wait, frames.recv())
            .await
            .ok()
            .flatten()
    }

    /// Closes the connection.
    pub fn close(&self) {
        let _ = self.outgoing.send(Message::Close(None));
    }
}

/// A response frame's result, or its error.
pub fn outcome(response: Value) -> Result<Value, ErrorBody> {
    if response["ok"] == json!(true) {
        Ok(response["result"].clone())
    } else {
        Err(serde_json::from_value(response["error"].clone()).expect("an error body"))
    }
}

pub fn b64(bytes: &[u8]) -> String {
    match serde_json::to_value(Base64Bytes(bytes.to_vec())).expect("base64") {
        Value::String(text) => text,
        other => panic!("base64 bytes are a string, not {other}"),
    }
}

pub fn unb64(value: &Value) -> Vec<u8> {
    serde_json::from_value::<Base64Bytes>(value.clone())
        .expect("base64 string")
        .0
}

/// `ccid::UsbTransport` over the bridge, as `ccid::webusb::WebUsbTransport` is over WebUSB: an
/// IN transfer that outlives its timeout is kept and answers the next IN call on its endpoint.
pub struct BridgeTransport {
    client: Client,
    device_id: String,
    info: UsbDeviceInfo,
    kept_in: HashMap<u8, oneshot::Receiver<Value>>,
}

impl BridgeTransport {
    /// Opens `device_id` through `client`.
    pub async fn open(client: &Client, device_id: &str) -> BridgeTransport {
        let devices = client.call(json!({"op": "listDevices"})).await.unwrap();
        let device = devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["deviceId"] == json!(device_id))
            .expect("the device is listed")
            .clone();
        client
            .call(json!({"op": "open", "deviceId": device_id}))
            .await
            .unwrap();
        let byte = |key: &str| device[key].as_u64().unwrap() as u16;
        BridgeTransport {
            client: client.clone(),
            device_id: device_id.to_string(),
            info: UsbDeviceInfo {
                vendor_id: byte("vendorId"),
                product_id: byte("productId"),
                bcd_device: byte("deviceVersionMajor") << 8
                    | byte("deviceVersionMinor") << 4
                    | byte("deviceVersionSubminor"),
            },
            kept_in: HashMap::new(),
        }
    }

    async fn call(&self, mut request: Value) -> Result<Value, TransportError> {
        request["deviceId"] = json!(self.device_id);
        self.client.call(request).await.map_err(transport_error)
    }

    async fn transfer_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let mut response = match self.kept_in.remove(&endpoint) {
            Some(kept) => kept,
            None => self.client.start(json!({
                "op": "transferIn",
                "deviceId": self.device_id,
                "endpointNumber": endpoint & 0x0F,
                "length": max_length,
            })),
        };
        let frame = match tokio::time::timeout(timeout, &mut response).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(_)) => return Err(TransportError::Disconnected),
            Err(_) => {
                self.kept_in.insert(endpoint, response);
                return Err(TransportError::Timeout);
            }
        };
        let result = outcome(frame).map_err(transport_error)?;
        match result["status"].as_str() {
            Some("ok") => Ok(unb64(&result["data"])),
            Some("stall") => Err(TransportError::Stall),
            other => Err(TransportError::Other(format!("status {other:?}"))),
        }
    }
}

fn transport_error(error: ErrorBody) -> TransportError {
    match error.name.as_str() {
        "NotFoundError" | "NetworkError" | "AbortError" => TransportError::Disconnected,
        "SecurityError" => TransportError::AccessDenied(error.message),
        _ => TransportError::Other(format!("{}: {}", error.name, error.message)),
    }
}

fn setup_json(setup: ControlSetup) -> Value {
    let request_type =
        ["standard", "class", "vendor", "reserved"][usize::from(setup.request_type >> 5 & 3)];
    let recipient =
        ["device", "interface", "endpoint", "other"][usize::from(setup.request_type & 3)];
    json!({
        "requestType": request_type,
        "recipient": recipient,
        "request": setup.request,
        "value": setup.value,
        "index": setup.index,
    })
}

impl UsbTransport for BridgeTransport {
    fn device_info(&self) -> UsbDeviceInfo {
        self.info
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        self.call(json!({"op": "claimInterface", "interfaceNumber": interface}))
            .await?;
        if alternate != 0 {
            self.call(json!({
                "op": "selectAlternateInterface",
                "interfaceNumber": interface,
                "alternateSetting": alternate,
            }))
            .await?;
        }
        Ok(())
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        let result = self
            .call(json!({"op": "controlTransferIn", "setup": setup_json(setup), "length": length}))
            .await?;
        match result["status"].as_str() {
            Some("ok") => Ok(unb64(&result["data"])),
            Some("stall") => Err(TransportError::Stall),
            other => Err(TransportError::Other(format!("status {other:?}"))),
        }
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let result = self
            .call(
                json!({"op": "controlTransferOut", "setup": setup_json(setup), "data": b64(data)}),
            )
            .await?;
        match result["status"].as_str() {
            Some("ok") => Ok(()),
            Some("stall") => Err(TransportError::Stall),
            other => Err(TransportError::Other(format!("status {other:?}"))),
        }
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        let number = endpoint & 0x0F;
        let result = self
            .call(json!({"op": "transferOut", "endpointNumber": number, "data": b64(data)}))
            .await?;
        match result["status"].as_str() {
            Some("ok") => Ok(()),
            Some("stall") => {
                self.call(json!({"op": "clearHalt", "direction": "out", "endpointNumber": number}))
                    .await?;
                Err(TransportError::Stall)
            }
            other => Err(TransportError::Other(format!("status {other:?}"))),
        }
    }

    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.transfer_in(endpoint, max_length, timeout).await
    }

    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.transfer_in(endpoint, max_length, timeout).await
    }
}
