//! [`UsbTransport`] over the browser's WebUSB (`navigator.usb`), for pages compiled to wasm32
//! (feature `webusb`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ccid::webusb::WebUsbTransport;
//!
//! ccid::webusb::webusb_available()?;
//! // Call this from a click handler: the chooser needs the user's gesture.
//! let device = WebUsbTransport::request().await?;
//! let transport = WebUsbTransport::open(device).await?;
//! let mut reader = ccid::Reader::open(transport).await?;
//! let atr = reader.power_on().await?;
//! # let _ = atr; Ok(()) }
//! ```
//!
//! # What the browser does differently from a native USB stack
//! - **No timeouts.** A WebUSB transfer waits until the device answers or goes away. Each IN
//!   transfer here races a timer. A `transferIn` that loses the race cannot be cancelled: it
//!   stays pending in the browser and will take the next data the device sends on that
//!   endpoint. So it is kept, and the next IN call on the same endpoint awaits it instead of
//!   issuing a second `transferIn` (which would queue behind it and leave that data to the old,
//!   forgotten transfer). This matters to the CCID driver: after a bulk-IN timeout it aborts the
//!   command and then reads the reader's answer, which arrives through the kept transfer.
//! - **Whole packets.** A `transferIn` shorter than the packet the device sends fails with
//!   `babble`. IN transfers therefore ask for whole packets; bytes beyond what the caller asked
//!   for are kept and handed to the next IN call on that endpoint.
//! - **Protected classes.** An ordinary page cannot claim an interface of class 0x0B (smart
//!   card): `claimInterface` rejects with `SecurityError`, which becomes
//!   [`TransportError::AccessDenied`]; [`Denial::of`] tells the cases apart for the page's
//!   guidance.
//! - **Disconnection.** Transfers on a device that was unplugged reject; they map to
//!   [`TransportError::Disconnected`]. The page learns of it sooner from `navigator.usb`'s
//!   `disconnect` event: compare its `device` with [`WebUsbTransport::is_device`].
//! - **Object identity.** Every object is used through its properties and methods only, never
//!   checked with `instanceof`, so a page-side stand-in for `navigator.usb` (the demo's and the
//!   browser tests') works as the real one does.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Usb, UsbControlTransferParameters, UsbDevice, UsbDeviceFilter, UsbDeviceRequestOptions,
    UsbDirection, UsbInTransferResult, UsbOutTransferResult, UsbRecipient, UsbRequestType,
    UsbTransferStatus,
};

use crate::quirks::QUIRKS;
use crate::transport::{ControlSetup, TransportError, UsbDeviceInfo, UsbTransport};

/// The smart-card interface class (CCID), protected from ordinary pages by WebUSB.
pub const SMART_CARD_CLASS: u8 = 0x0B;
/// The vendor-specific class, where some readers put their CCID interface.
pub const VENDOR_CLASS: u8 = 0xFF;

/// Control transfers and OUT transfers get no deadline from the driver; a device that never
/// completes one would otherwise hang the page for good.
const CONTROL_AND_OUT_TIMEOUT: Duration = Duration::from_secs(5);
/// `setTimeout` fires at once for delays above 2³¹ − 1 ms.
const MAX_TIMER_MS: u128 = i32::MAX as u128;

/// Message start of the [`TransportError::AccessDenied`] for a protected interface class.
const DENIED_PROTECTED_CLASS: &str = "the interface class is protected";
/// Message start when another driver or program holds the interface.
const DENIED_HELD: &str = "another driver or program holds the interface";
/// Message start when the operating system refuses to open the device.
const DENIED_BY_SYSTEM: &str = "the operating system refused access to the device";

/// Why WebUSB cannot be used, or no reader was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUsbError {
    /// This browser has no `navigator.usb` (Firefox, Safari, or WebUSB switched off).
    #[error("this browser has no WebUSB; Chromium-based browsers (Chrome, Edge) have it")]
    NotSupported,
    /// The page is not a secure context, where browsers hide WebUSB.
    #[error("WebUSB needs a secure page (https, or http on localhost)")]
    InsecureContext,
    /// The person closed the chooser without picking a reader, or no reader is plugged in.
    #[error("no reader was chosen")]
    NoDeviceChosen,
    /// The browser would not show the chooser or list devices: the call did not come from a
    /// click, or a permissions policy (e.g. in a cross-origin frame) disallows WebUSB. The
    /// browser's words follow.
    #[error("the browser did not allow WebUSB here: {0}")]
    NotAllowed(String),
    /// Opening the chosen device failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// The reasons a [`TransportError::AccessDenied`] from this module can have, for the page's
/// guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The interface is of a class WebUSB protects (0x0B): use a kiosk, an Isolated Web App, or
    /// a reader with a vendor-class interface.
    ProtectedClass,
    /// Another driver or program holds the interface (the OS smart-card service, `pcscd`).
    HeldByAnotherDriver,
    /// The operating system refused to open the device (Windows without WinUSB bound, Linux
    /// without a udev rule).
    OperatingSystem,
}

impl Denial {
    /// Which denial `error` reports, if it is one this module raised.
    pub fn of(error: &TransportError) -> Option<Denial> {
        let TransportError::AccessDenied(message) = error else {
            return None;
        };
        [
            (DENIED_PROTECTED_CLASS, Denial::ProtectedClass),
            (DENIED_HELD, Denial::HeldByAnotherDriver),
            (DENIED_BY_SYSTEM, Denial::OperatingSystem),
        ]
        .into_iter()
        .find(|(start, _)| message.starts_with(start))
        .map(|(_, denial)| denial)
    }
}

/// `navigator.usb`, or why there is none. Call it first to show browsers without WebUSB the
/// other ways to renew.
pub fn webusb_available() -> Result<Usb, WebUsbError> {
    let global = js_sys::global();
    let secure = Reflect::get(&global, &JsValue::from_str("isSecureContext"))
        .ok()
        .and_then(|value| value.as_bool());
    let usb = Reflect::get(&global, &JsValue::from_str("navigator"))
        .ok()
        .filter(JsValue::is_object)
        .and_then(|navigator| Reflect::get(&navigator, &JsValue::from_str("usb")).ok())
        .filter(JsValue::is_object);
    match (usb, secure) {
        (Some(usb), _) => Ok(usb.unchecked_into()),
        (None, Some(false)) => Err(WebUsbError::InsecureContext),
        (None, _) => Err(WebUsbError::NotSupported),
    }
}

/// The chooser's filters: interfaces of the smart-card and vendor classes, and every reader
/// the quirk table knows (such as the Castles EZ100PU, whose interface is neither).
pub fn reader_filters() -> Vec<UsbDeviceFilter> {
    let by_class = [SMART_CARD_CLASS, VENDOR_CLASS].map(|class| {
        let filter = UsbDeviceFilter::new();
        filter.set_class_code(class);
        filter
    });
    let by_id = QUIRKS.iter().map(|quirk| {
        let filter = UsbDeviceFilter::new();
        filter.set_vendor_id(quirk.vendor_id);
        filter.set_product_id(quirk.product_id);
        filter
    });
    by_class.into_iter().chain(by_id).collect()
}

/// Whether a device may be a reader: the quirk table knows it, or one of its interfaces (in any
/// configuration) is of the smart-card or vendor class.
pub fn is_plausible_reader(device: &UsbDevice) -> bool {
    let (vendor_id, product_id) = (device.vendor_id(), device.product_id());
    if QUIRKS
        .iter()
        .any(|quirk| quirk.vendor_id == vendor_id && quirk.product_id == product_id)
    {
        return true;
    }
    if device.device_class() == SMART_CARD_CLASS {
        return true;
    }
    device.configurations().iter().any(|configuration| {
        configuration.interfaces().iter().any(|interface| {
            interface.alternates().iter().any(|alternate| {
                matches!(alternate.interface_class(), SMART_CARD_CLASS | VENDOR_CLASS)
            })
        })
    })
}

/// A CCID reader opened through WebUSB.
pub struct WebUsbTransport {
    device: UsbDevice,
    info: UsbDeviceInfo,
    /// IN transfers that outlived their caller's timeout, by endpoint address; see the module
    /// documentation.
    pending_in: HashMap<u8, JsFuture<UsbInTransferResult>>,
    /// Bytes received beyond what the caller asked for, by endpoint address.
    surplus_in: HashMap<u8, Vec<u8>>,
    claimed: Vec<u8>,
}

impl std::fmt::Debug for WebUsbTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebUsbTransport")
            .field("device", &self.info)
            .field("claimed", &self.claimed)
            .field("pending_in", &self.pending_in.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WebUsbTransport {
    /// Shows the browser's chooser, filtered to readers ([`reader_filters`]), and returns the
    /// device picked. Must run in response to a user gesture (a click).
    pub async fn request() -> Result<UsbDevice, WebUsbError> {
        let usb = webusb_available()?;
        let options = UsbDeviceRequestOptions::new(&reader_filters());
        match JsFuture::from(usb.request_device(&options)).await {
            Ok(device) => Ok(device),
            Err(error) => Err(match error_name(&error).as_str() {
                // The chooser closed without a choice (or found nothing).
                "NotFoundError" => WebUsbError::NoDeviceChosen,
                // No user gesture, or a permissions policy.
                "SecurityError" => WebUsbError::NotAllowed(describe(&error)),
                _ => WebUsbError::Transport(other_error("requestDevice", &error)),
            }),
        }
    }

    /// The devices this site was already allowed to use (`navigator.usb.getDevices()`) that
    /// may be readers, so a returning user is not shown the chooser again.
    pub async fn permitted() -> Result<Vec<UsbDevice>, WebUsbError> {
        let usb = webusb_available()?;
        let devices = JsFuture::from(usb.get_devices())
            .await
            .map_err(|error| match error_name(&error).as_str() {
                "SecurityError" => WebUsbError::NotAllowed(describe(&error)),
                _ => WebUsbError::Transport(other_error("getDevices", &error)),
            })?;
        Ok(devices.iter().filter(is_plausible_reader).collect())
    }

    /// Opens `device` and selects its first configuration if none is selected.
    pub async fn open(device: UsbDevice) -> Result<WebUsbTransport, WebUsbError> {
        if !device.opened() {
            JsFuture::from(device.open())
                .await
                .map_err(|error| map_error("open", &error))?;
        }
        if device.configuration().is_none() {
            JsFuture::from(device.select_configuration(1))
                .await
                .map_err(|error| map_error("selectConfiguration", &error))?;
        }
        let bcd = |major: u8, minor: u8, subminor: u8| {
            u16::from(major) << 8 | u16::from(minor & 0x0F) << 4 | u16::from(subminor & 0x0F)
        };
        let info = UsbDeviceInfo {
            vendor_id: device.vendor_id(),
            product_id: device.product_id(),
            bcd_device: bcd(
                device.device_version_major(),
                device.device_version_minor(),
                device.device_version_subminor(),
            ),
        };
        Ok(WebUsbTransport {
            device,
            info,
            pending_in: HashMap::new(),
            surplus_in: HashMap::new(),
            claimed: Vec::new(),
        })
    }

    /// The WebUSB device.
    pub fn device(&self) -> &UsbDevice {
        &self.device
    }

    /// The product name the device reports, if any.
    pub fn product_name(&self) -> Option<String> {
        self.device.product_name()
    }

    /// Whether `device` is this transport's device: pass the `device` of a `disconnect` event
    /// from `navigator.usb` to learn that this reader was unplugged.
    pub fn is_device(&self, device: &UsbDevice) -> bool {
        Object::is(&self.device, device)
    }

    /// Releases the claimed interfaces and closes the device. A transfer still pending is
    /// abandoned (the browser rejects it).
    pub async fn close(mut self) -> Result<(), TransportError> {
        self.pending_in.clear();
        for interface in std::mem::take(&mut self.claimed) {
            if let Err(error) = JsFuture::from(self.device.release_interface(interface)).await {
                tracing::debug!(
                    interface,
                    error = %describe(&error),
                    "releaseInterface failed while closing"
                );
            }
        }
        JsFuture::from(self.device.close())
            .await
            .map(|_| ())
            .map_err(|error| map_error("close", &error))
    }

    /// The largest packet of the IN endpoint at `address` in the current configuration.
    fn packet_size(&self, address: u8) -> Option<usize> {
        let configuration = self.device.configuration()?;
        let number = address & 0x0F;
        // Every alternate setting, not `alternate`: older Chromium gives null for an interface
        // not claimed, and a null would trap here.
        configuration
            .interfaces()
            .iter()
            .flat_map(|interface| interface.alternates().to_vec())
            .flat_map(|alternate| alternate.endpoints().to_vec())
            .find(|endpoint| {
                endpoint.endpoint_number() == number && endpoint.direction() == UsbDirection::In
            })
            .and_then(|endpoint| usize::try_from(endpoint.packet_size()).ok())
            .filter(|&size| size > 0)
    }

    /// One IN transfer on the bulk or interrupt endpoint at `address`; see the module
    /// documentation for the kept transfer and the surplus bytes.
    async fn transfer_in(
        &mut self,
        address: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        if let Some(surplus) = self.surplus_in.get_mut(&address) {
            if !surplus.is_empty() {
                let rest = surplus.split_off(max_length.min(surplus.len()));
                return Ok(std::mem::replace(surplus, rest));
            }
        }
        let number = address & 0x0F;
        let transfer = match self.pending_in.remove(&address) {
            Some(kept) => kept,
            None => {
                let length = self
                    .packet_size(address)
                    .map_or(max_length, |packet| max_length.div_ceil(packet) * packet)
                    .max(1);
                let length = u32::try_from(length).unwrap_or(u32::MAX);
                JsFuture::from(self.device.transfer_in(number, length))
            }
        };
        let result = match select(transfer, timer(timeout)).await {
            Either::Left((result, _)) => result,
            Either::Right(((), transfer)) => {
                self.pending_in.insert(address, transfer);
                return Err(TransportError::Timeout);
            }
        };
        let result = result.map_err(|error| map_error("transferIn", &error))?;
        match result.status() {
            UsbTransferStatus::Ok => {}
            UsbTransferStatus::Stall => {
                self.clear_halt(UsbDirection::In, number).await;
                return Err(TransportError::Stall);
            }
            UsbTransferStatus::Babble => {
                return Err(TransportError::Other(
                    "transferIn: babble (the device sent more than the transfer asked for)".into(),
                ))
            }
            status => {
                return Err(TransportError::Other(format!(
                    "transferIn: transfer status {status:?}"
                )))
            }
        }
        let mut data = result
            .data()
            .map(|view| data_view_bytes(&view))
            .unwrap_or_default();
        if data.len() > max_length {
            let surplus = data.split_off(max_length);
            self.surplus_in.insert(address, surplus);
        }
        Ok(data)
    }

    /// Clears a halted endpoint so the next transfer on it works; failure is only logged, as
    /// the stall is what the caller hears about.
    async fn clear_halt(&self, direction: UsbDirection, number: u8) {
        if let Err(error) = JsFuture::from(self.device.clear_halt(direction, number)).await {
            tracing::debug!(
                endpoint = number,
                error = %describe(&error),
                "clearHalt after a stall failed"
            );
        }
    }
}

impl UsbTransport for WebUsbTransport {
    fn device_info(&self) -> UsbDeviceInfo {
        self.info
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        if let Err(error) = JsFuture::from(self.device.claim_interface(interface)).await {
            return Err(match error_name(&error).as_str() {
                "SecurityError" => TransportError::AccessDenied(format!(
                    "{DENIED_PROTECTED_CLASS}: this page may not claim interface {interface} \
                     ({})",
                    describe(&error)
                )),
                // Chromium's "Unable to claim interface": the OS smart-card stack has it.
                "NetworkError" => TransportError::AccessDenied(format!(
                    "{DENIED_HELD}: claiming interface {interface} failed ({})",
                    describe(&error)
                )),
                _ => map_error("claimInterface", &error),
            });
        }
        if !self.claimed.contains(&interface) {
            self.claimed.push(interface);
        }
        if alternate != 0 {
            JsFuture::from(self.device.select_alternate_interface(interface, alternate))
                .await
                .map_err(|error| map_error("selectAlternateInterface", &error))?;
        }
        Ok(())
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        let parameters = control_parameters(setup)?;
        let transfer = JsFuture::from(self.device.control_transfer_in(&parameters, length));
        let result = match select(transfer, timer(CONTROL_AND_OUT_TIMEOUT)).await {
            Either::Left((result, _)) => {
                result.map_err(|error| map_error("controlTransferIn", &error))?
            }
            Either::Right(_) => return Err(TransportError::Timeout),
        };
        check_status("controlTransferIn", result.status())?;
        Ok(result
            .data()
            .map(|view| data_view_bytes(&view))
            .unwrap_or_default())
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        let parameters = control_parameters(setup)?;
        let promise = self
            .device
            .control_transfer_out_with_u8_slice(&parameters, data)
            .map_err(|error| map_error("controlTransferOut", &error))?;
        let result = out_result("controlTransferOut", promise).await?;
        check_status("controlTransferOut", result.status())
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        let number = endpoint & 0x0F;
        let promise = self
            .device
            .transfer_out_with_u8_slice(number, data)
            .map_err(|error| map_error("transferOut", &error))?;
        let result = out_result("transferOut", promise).await?;
        match result.status() {
            UsbTransferStatus::Stall => {
                self.clear_halt(UsbDirection::Out, number).await;
                Err(TransportError::Stall)
            }
            status => check_status("transferOut", status),
        }?;
        let written = usize::try_from(result.bytes_written()).unwrap_or(usize::MAX);
        if written < data.len() {
            return Err(TransportError::Other(format!(
                "transferOut: the device took {written} of {} bytes",
                data.len()
            )));
        }
        Ok(())
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

async fn out_result(
    operation: &str,
    promise: js_sys::Promise<UsbOutTransferResult>,
) -> Result<UsbOutTransferResult, TransportError> {
    match select(JsFuture::from(promise), timer(CONTROL_AND_OUT_TIMEOUT)).await {
        Either::Left((result, _)) => result.map_err(|error| map_error(operation, &error)),
        Either::Right(_) => Err(TransportError::Timeout),
    }
}

fn timer(duration: Duration) -> TimeoutFuture {
    let millis = duration.as_millis().min(MAX_TIMER_MS);
    TimeoutFuture::new(u32::try_from(millis).unwrap_or(u32::MAX))
}

fn check_status(operation: &str, status: UsbTransferStatus) -> Result<(), TransportError> {
    match status {
        UsbTransferStatus::Ok => Ok(()),
        UsbTransferStatus::Stall => Err(TransportError::Stall),
        UsbTransferStatus::Babble => Err(TransportError::Other(format!(
            "{operation}: babble (the device sent more than the transfer asked for)"
        ))),
        status => Err(TransportError::Other(format!(
            "{operation}: transfer status {status:?}"
        ))),
    }
}

/// The WebUSB form of a SETUP packet; `bmRequestType`'s direction bit is implied by the call.
fn control_parameters(setup: ControlSetup) -> Result<UsbControlTransferParameters, TransportError> {
    let request_type = match (setup.request_type >> 5) & 0x03 {
        0 => UsbRequestType::Standard,
        1 => UsbRequestType::Class,
        2 => UsbRequestType::Vendor,
        _ => {
            return Err(TransportError::Other(format!(
                "bmRequestType 0x{:02X} has the reserved request type",
                setup.request_type
            )))
        }
    };
    let recipient = match setup.request_type & 0x1F {
        0 => UsbRecipient::Device,
        1 => UsbRecipient::Interface,
        2 => UsbRecipient::Endpoint,
        3 => UsbRecipient::Other,
        _ => {
            return Err(TransportError::Other(format!(
                "bmRequestType 0x{:02X} has a reserved recipient",
                setup.request_type
            )))
        }
    };
    Ok(UsbControlTransferParameters::new(
        setup.index,
        recipient,
        setup.request,
        request_type,
        setup.value,
    ))
}

fn data_view_bytes(view: &js_sys::DataView) -> Vec<u8> {
    let offset = u32::try_from(view.byte_offset()).unwrap_or(u32::MAX);
    let length = u32::try_from(view.byte_length()).unwrap_or(0);
    Uint8Array::new_with_byte_offset_and_length(&view.buffer(), offset, length).to_vec()
}

/// A rejected WebUSB promise as a transport error, by the `DOMException`'s name.
fn map_error(operation: &str, error: &JsValue) -> TransportError {
    let words = describe(error);
    match error_name(error).as_str() {
        // NotFoundError: "The device was disconnected."; NetworkError: the transfer failed at
        // the USB level, which is how an unplugged device shows up mid-transfer; AbortError:
        // the device was closed or reset under the transfer. To the driver all three mean the
        // device is gone.
        "NotFoundError" | "NetworkError" | "AbortError" => {
            tracing::debug!(operation, error = %words, "the device is gone");
            TransportError::Disconnected
        }
        // open() rejects with SecurityError "Access denied." when the OS will not hand the
        // device over.
        "SecurityError" => TransportError::AccessDenied(format!("{DENIED_BY_SYSTEM} ({words})")),
        _ => TransportError::Other(format!("{operation}: {words}")),
    }
}

fn other_error(operation: &str, error: &JsValue) -> TransportError {
    TransportError::Other(format!("{operation}: {}", describe(error)))
}

/// The `name` of a rejection reason (a `DOMException` or any `Error`), or "".
fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|name| name.as_string())
        .unwrap_or_default()
}

/// "Name: message" of a rejection reason, for logs and error messages.
fn describe(error: &JsValue) -> String {
    let field = |key: &str| {
        Reflect::get(error, &JsValue::from_str(key))
            .ok()
            .and_then(|value| value.as_string())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (None, Some(message)) => message,
        _ => error
            .as_string()
            .unwrap_or_else(|| "an unknown error".to_string()),
    }
}
