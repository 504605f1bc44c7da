//! The bridge's messages, as `docs/usb-bridge.md` describes them: requests from the page's
//! stand-in, responses echoing their `id`, and events pushed by the server. Bytes travel as
//! standard base64 with padding, as the renewal API carries them ([`Base64Bytes`]).

use renewal::api::Base64Bytes;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// `USBRequestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestType {
    /// Standard request.
    Standard,
    /// Class request.
    Class,
    /// Vendor request.
    Vendor,
}

/// `USBRecipient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipient {
    /// The device.
    Device,
    /// An interface (`index` low byte).
    Interface,
    /// An endpoint (`index` low byte).
    Endpoint,
    /// Other.
    Other,
}

/// `USBDirection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Device to host.
    In,
    /// Host to device.
    Out,
}

/// `USBEndpointType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointType {
    /// Bulk.
    Bulk,
    /// Interrupt.
    Interrupt,
    /// Isochronous.
    Isochronous,
}

/// `USBControlTransferParameters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Setup {
    /// Standard, class or vendor.
    pub request_type: RequestType,
    /// Device, interface, endpoint or other.
    pub recipient: Recipient,
    /// `bRequest`.
    pub request: u8,
    /// `wValue`.
    pub value: u16,
    /// `wIndex`.
    pub index: u16,
}

impl Setup {
    /// `bmRequestType` for a transfer in `direction`.
    pub fn request_type_byte(&self, direction: Direction) -> u8 {
        let direction = match direction {
            Direction::In => 0x80,
            Direction::Out => 0x00,
        };
        let kind = match self.request_type {
            RequestType::Standard => 0,
            RequestType::Class => 1,
            RequestType::Vendor => 2,
        };
        let recipient = match self.recipient {
            Recipient::Device => 0,
            Recipient::Interface => 1,
            Recipient::Endpoint => 2,
            Recipient::Other => 3,
        };
        direction | kind << 5 | recipient
    }
}

/// One request from the page, without its `id`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "op",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Request {
    /// Every plugged device, described.
    ListDevices,
    /// `USBDevice.open()`.
    Open {
        /// The device.
        device_id: String,
    },
    /// `USBDevice.close()`.
    Close {
        /// The device.
        device_id: String,
    },
    /// `USBDevice.selectConfiguration()`.
    SelectConfiguration {
        /// The device.
        device_id: String,
        /// `bConfigurationValue`.
        configuration_value: u8,
    },
    /// `USBDevice.claimInterface()`.
    ClaimInterface {
        /// The device.
        device_id: String,
        /// `bInterfaceNumber`.
        interface_number: u8,
    },
    /// `USBDevice.releaseInterface()`.
    ReleaseInterface {
        /// The device.
        device_id: String,
        /// `bInterfaceNumber`.
        interface_number: u8,
    },
    /// `USBDevice.selectAlternateInterface()`.
    SelectAlternateInterface {
        /// The device.
        device_id: String,
        /// `bInterfaceNumber`.
        interface_number: u8,
        /// `bAlternateSetting`.
        alternate_setting: u8,
    },
    /// `USBDevice.controlTransferIn()`.
    ControlTransferIn {
        /// The device.
        device_id: String,
        /// The SETUP fields.
        setup: Setup,
        /// `wLength`.
        length: u16,
    },
    /// `USBDevice.controlTransferOut()`.
    ControlTransferOut {
        /// The device.
        device_id: String,
        /// The SETUP fields.
        setup: Setup,
        /// The data stage (absent: none).
        #[serde(default)]
        data: Base64Bytes,
    },
    /// `USBDevice.transferIn()`.
    TransferIn {
        /// The device.
        device_id: String,
        /// The endpoint number (1–15), without the direction bit.
        endpoint_number: u8,
        /// The most bytes to return.
        length: u32,
    },
    /// `USBDevice.transferOut()`.
    TransferOut {
        /// The device.
        device_id: String,
        /// The endpoint number (1–15).
        endpoint_number: u8,
        /// The bytes to send.
        data: Base64Bytes,
    },
    /// `USBDevice.clearHalt()`.
    ClearHalt {
        /// The device.
        device_id: String,
        /// The endpoint's direction.
        direction: Direction,
        /// The endpoint number (1–15).
        endpoint_number: u8,
    },
    /// Demo: the cards on offer and where each is.
    ListCards,
    /// Demo: put a card into a reader.
    InsertCard {
        /// The reader.
        device_id: String,
        /// The card's name.
        card: String,
        /// Start from a new card instead of the one kept since it was last removed.
        #[serde(default)]
        fresh: bool,
    },
    /// Demo: take the card out of a reader.
    RemoveCard {
        /// The reader.
        device_id: String,
    },
    /// Demo: pull the card out of a reader after this many more commands reach it (to cut a
    /// write short at a chosen point).
    RemoveCardAfter {
        /// The reader.
        device_id: String,
        /// CCID commands the card still answers (power-on and exchange blocks); the next one
        /// finds the slot empty.
        commands: u32,
    },
    /// Demo: unplug a reader (its transfers fail; `disconnect` is pushed).
    UnplugReader {
        /// The reader.
        device_id: String,
    },
    /// Demo: plug a reader back in (`connect` is pushed).
    PlugReader {
        /// The reader.
        device_id: String,
    },
}

impl Request {
    /// The operation's name, for logs (which never carry the bytes: they may hold a PIN).
    pub fn op(&self) -> &'static str {
        match self {
            Request::ListDevices => "listDevices",
            Request::Open { .. } => "open",
            Request::Close { .. } => "close",
            Request::SelectConfiguration { .. } => "selectConfiguration",
            Request::ClaimInterface { .. } => "claimInterface",
            Request::ReleaseInterface { .. } => "releaseInterface",
            Request::SelectAlternateInterface { .. } => "selectAlternateInterface",
            Request::ControlTransferIn { .. } => "controlTransferIn",
            Request::ControlTransferOut { .. } => "controlTransferOut",
            Request::TransferIn { .. } => "transferIn",
            Request::TransferOut { .. } => "transferOut",
            Request::ClearHalt { .. } => "clearHalt",
            Request::ListCards => "listCards",
            Request::InsertCard { .. } => "insertCard",
            Request::RemoveCard { .. } => "removeCard",
            Request::RemoveCardAfter { .. } => "removeCardAfter",
            Request::UnplugReader { .. } => "unplugReader",
            Request::PlugReader { .. } => "plugReader",
        }
    }
}

/// A failed request, as the stand-in rejects it: a `DOMException` name and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The `DOMException` name (`NotFoundError`, `InvalidStateError`, `NetworkError`,
    /// `AbortError`, `TypeError`, …).
    pub name: String,
    /// What happened.
    pub message: String,
}

impl ErrorBody {
    /// An error with this name and message.
    pub fn new(name: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            name: name.to_string(),
            message: message.into(),
        }
    }

    /// The device is unplugged (as Chromium words it).
    pub fn disconnected() -> ErrorBody {
        ErrorBody::new("NotFoundError", "The device was disconnected.")
    }

    /// A request the bridge does not understand.
    pub fn malformed(detail: impl std::fmt::Display) -> ErrorBody {
        ErrorBody::new("TypeError", format!("malformed bridge request: {detail}"))
    }
}

/// The result of an IN transfer (`controlTransferIn`, `transferIn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InResult {
    /// `ok`, `stall` or `babble`.
    pub status: TransferStatus,
    /// The bytes received.
    pub data: Base64Bytes,
}

impl InResult {
    /// The device sent `data`.
    pub fn received(data: Vec<u8>) -> InResult {
        InResult {
            status: TransferStatus::Ok,
            data: Base64Bytes(data),
        }
    }

    /// The endpoint or request stalled: no data.
    pub fn stalled() -> InResult {
        InResult {
            status: TransferStatus::Stall,
            data: Base64Bytes::default(),
        }
    }
}

/// The result of an OUT transfer (`controlTransferOut`, `transferOut`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutResult {
    /// `ok` or `stall`.
    pub status: TransferStatus,
    /// The bytes the device took.
    pub bytes_written: usize,
}

impl OutResult {
    /// The device took all `bytes_written` bytes.
    pub fn written(bytes_written: usize) -> OutResult {
        OutResult {
            status: TransferStatus::Ok,
            bytes_written,
        }
    }

    /// The endpoint or request stalled: nothing taken.
    pub fn stalled() -> OutResult {
        OutResult {
            status: TransferStatus::Stall,
            bytes_written: 0,
        }
    }
}

/// `USBTransferStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferStatus {
    /// Completed.
    Ok,
    /// The endpoint stalled.
    Stall,
    /// The device sent more than asked.
    Babble,
}

/// Everything the stand-in needs to build a `USBDevice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDescription {
    /// The bridge's name for the device, stable across restarts.
    pub device_id: String,
    /// `bcdUSB` major.
    pub usb_version_major: u8,
    /// `bcdUSB` minor (one BCD digit).
    pub usb_version_minor: u8,
    /// `bcdUSB` subminor (one BCD digit).
    pub usb_version_subminor: u8,
    /// `bDeviceClass`.
    pub device_class: u8,
    /// `bDeviceSubClass`.
    pub device_subclass: u8,
    /// `bDeviceProtocol`.
    pub device_protocol: u8,
    /// `idVendor`.
    pub vendor_id: u16,
    /// `idProduct`.
    pub product_id: u16,
    /// `bcdDevice` high byte.
    pub device_version_major: u8,
    /// `bcdDevice` bits 7–4.
    pub device_version_minor: u8,
    /// `bcdDevice` bits 3–0.
    pub device_version_subminor: u8,
    /// The manufacturer string.
    pub manufacturer_name: Option<String>,
    /// The product string.
    pub product_name: Option<String>,
    /// The serial number string.
    pub serial_number: Option<String>,
    /// The selected `bConfigurationValue`, or `None` when unconfigured.
    pub configuration_value: Option<u8>,
    /// Every configuration.
    pub configurations: Vec<ConfigurationDescription>,
}

/// `USBConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationDescription {
    /// `bConfigurationValue`.
    pub configuration_value: u8,
    /// The configuration string.
    pub configuration_name: Option<String>,
    /// Its interfaces.
    pub interfaces: Vec<InterfaceDescription>,
}

/// `USBInterface`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InterfaceDescription {
    /// `bInterfaceNumber`.
    pub interface_number: u8,
    /// Its alternate settings.
    pub alternates: Vec<AlternateDescription>,
}

/// `USBAlternateInterface`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlternateDescription {
    /// `bAlternateSetting`.
    pub alternate_setting: u8,
    /// `bInterfaceClass`.
    pub interface_class: u8,
    /// `bInterfaceSubClass`.
    pub interface_subclass: u8,
    /// `bInterfaceProtocol`.
    pub interface_protocol: u8,
    /// The interface string.
    pub interface_name: Option<String>,
    /// Its endpoints.
    pub endpoints: Vec<EndpointDescription>,
}

/// `USBEndpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointDescription {
    /// The endpoint number (1–15).
    pub endpoint_number: u8,
    /// In or out.
    pub direction: Direction,
    /// Bulk, interrupt or isochronous.
    #[serde(rename = "type")]
    pub endpoint_type: EndpointType,
    /// `wMaxPacketSize`.
    pub packet_size: u16,
}

/// A demo card on offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardListing {
    /// Its name, for `insertCard`.
    pub name: String,
    /// One line for the demo panel.
    pub description: String,
    /// The reader it is in, if any.
    pub in_reader: Option<String>,
}

/// `{}`: the request was carried out and has nothing to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// `listDevices`' result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// Every plugged-in reader.
    pub devices: Vec<DeviceDescription>,
}

/// `listCards`' result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardList {
    /// Every card on offer.
    pub cards: Vec<CardListing>,
}

/// `removeCard`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedCard {
    /// The card taken out, or `None` if the slot was empty.
    pub card: Option<String>,
}

/// The result of a request that succeeded: each request kind has one of these shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// Most operations: `{}`.
    Done(Done),
    /// `listDevices`.
    Devices(DeviceList),
    /// `controlTransferIn`, `transferIn`.
    In(InResult),
    /// `controlTransferOut`, `transferOut`.
    Out(OutResult),
    /// `listCards`.
    Cards(CardList),
    /// `removeCard`.
    RemovedCard(RemovedCard),
}

/// A response frame: `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error"}`.
struct Response<'a> {
    id: &'a Value,
    outcome: &'a Result<Answer, ErrorBody>,
}

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut frame = serializer.serialize_struct("Response", 3)?;
        frame.serialize_field("id", self.id)?;
        match self.outcome {
            Ok(result) => {
                frame.serialize_field("ok", &true)?;
                frame.serialize_field("result", result)?;
            }
            Err(error) => {
                frame.serialize_field("ok", &false)?;
                frame.serialize_field("error", error)?;
            }
        }
        frame.end()
    }
}

/// A message the server pushes unasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Event {
    /// A reader was plugged in.
    Connect {
        /// The reader.
        device: DeviceDescription,
    },
    /// A reader was unplugged.
    Disconnect {
        /// The reader.
        device_id: String,
    },
    /// A card was inserted or removed (the demo panel's view; the driver learns it on the
    /// interrupt endpoint).
    Card {
        /// The reader.
        device_id: String,
        /// The card now in it, if any.
        card: Option<String>,
    },
}

/// A response: the request's `id`, and a result or an error.
pub fn response(id: &Value, outcome: &Result<Answer, ErrorBody>) -> String {
    frame(&Response { id, outcome })
}

/// An event frame.
pub fn event(event: &Event) -> String {
    frame(event)
}

/// A frame's text. Serialising these types cannot fail: they hold no maps with non-string
/// keys and no custom serialisers that refuse.
fn frame(message: &impl Serialize) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// Splits a frame into its `id` and its request; a frame without a usable `id` answers with
/// `id: null`.
pub fn parse_frame(frame: &str) -> (Value, Result<Request, ErrorBody>) {
    let mut value: Value = match serde_json::from_str(frame) {
        Ok(value) => value,
        Err(error) => return (Value::Null, Err(ErrorBody::malformed(error))),
    };
    let Some(object) = value.as_object_mut() else {
        return (
            Value::Null,
            Err(ErrorBody::malformed("a request is a JSON object")),
        );
    };
    let id = object.remove("id").unwrap_or(Value::Null);
    if !(id.is_number() || id.is_string()) {
        return (
            Value::Null,
            Err(ErrorBody::malformed(
                "a request needs an `id` (number or string)",
            )),
        );
    }
    let request = Request::deserialize(value).map_err(ErrorBody::malformed);
    (id, request)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn requests_parse_from_the_documented_shapes() {
        let (id, request) = parse_frame(
            r#"{"id":7,"op":"transferOut","deviceId":"tpdu","endpointNumber":2,"data":"YQ=="}"#,
        );
        assert_eq!(id, serde_json::json!(7));
        assert_eq!(
            request.unwrap(),
            Request::TransferOut {
                device_id: "tpdu".into(),
                endpoint_number: 2,
                data: Base64Bytes(b"a".to_vec()),
            }
        );
        let (_, request) = parse_frame(
            r#"{"id":"x","op":"controlTransferIn","deviceId":"d","length":9,
                "setup":{"requestType":"standard","recipient":"device","request":6,
                         "value":512,"index":0}}"#,
        );
        let Request::ControlTransferIn { setup, length, .. } = request.unwrap() else {
            unreachable!()
        };
        assert_eq!((setup.request_type_byte(Direction::In), length), (0x80, 9));
    }

    #[test]
    fn malformed_frames_are_type_errors() {
        for frame in [
            "not json",
            "[1,2]",
            r#"{"op":"listDevices"}"#,
            r#"{"id":1,"op":"fly"}"#,
            r#"{"id":1,"op":"open"}"#,
            r#"{"id":1,"op":"transferOut","deviceId":"d","endpointNumber":2,"data":"!!"}"#,
            r#"{"id":1,"op":"transferIn","deviceId":"d","endpointNumber":300,"length":1}"#,
            r#"{"id":1,"op":"removeCardAfter","deviceId":"d","commands":-1}"#,
            r#"{"id":1,"op":"removeCardAfter","deviceId":"d"}"#,
        ] {
            let (_, request) = parse_frame(frame);
            assert_eq!(request.unwrap_err().name, "TypeError", "{frame}");
        }
    }

    #[test]
    fn events_carry_their_name() {
        let frame = event(&Event::Disconnect {
            device_id: "ez".into(),
        });
        assert_eq!(frame, r#"{"event":"disconnect","deviceId":"ez"}"#);
    }
}
