//! The browser's reader chooser (`navigator.usb.requestDevice`), filtered to smart-card
//! readers, and the one integration point with `ccid`'s WebUSB transport.

use ccid::{ControlSetup, TransportError, UsbDeviceInfo, UsbTransport};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, UsbDevice, UsbDeviceFilter, UsbDeviceRequestOptions};

use crate::flow::{ChooseError, ReaderChooser};

/// The USB interface class of smart-card readers (CCID).
const SMART_CARD_CLASS: u8 = 0x0B;

/// The chooser of the page in the browser.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserReaderChooser;

impl ReaderChooser for BrowserReaderChooser {
    type Transport = BrowserTransport;

    async fn choose_reader(&mut self) -> Result<BrowserTransport, ChooseError> {
        let device = request_reader().await?;
        open_transport(device).await
    }
}

/// The transport the page drives readers with.
///
/// INTEGRATION POINT (WebUSB): this becomes `ccid::webusb::WebUsbTransport` once `ccid`'s
/// feature `webusb` is merged (and `app/Cargo.toml` enables it for `wasm32`).
pub type BrowserTransport = WebUsbTransportNotMerged;

/// Stands where `ccid::webusb::WebUsbTransport` goes until it is merged: a type with no
/// values, so no code can pretend to hold a reader through it.
#[derive(Debug)]
pub enum WebUsbTransportNotMerged {}

/// INTEGRATION POINT (WebUSB): open the chosen device as a transport. With `ccid`'s WebUSB
/// transport merged this is `WebUsbTransport::open(device).await`, its errors mapped to
/// [`ChooseError::Failed`]; `claimInterface`'s `SecurityError` must come out of the transport
/// as `TransportError::AccessDenied`, which the flow turns into the protected-class guidance.
pub async fn open_transport(device: UsbDevice) -> Result<BrowserTransport, ChooseError> {
    Err(ChooseError::Failed(format!(
        "{} ({:04X}:{:04X}) was chosen, but this build of the page has no WebUSB transport",
        device.product_name().unwrap_or_default(),
        device.vendor_id(),
        device.product_id()
    )))
}

/// The chooser's filters: every smart-card-class interface, and the readers of the driver's
/// quirk table that sit outside the class (such as the EZ100PU), which are the ones an
/// ordinary tab can use.
fn reader_filters() -> Vec<UsbDeviceFilter> {
    let class = UsbDeviceFilter::new();
    class.set_class_code(SMART_CARD_CLASS);
    let mut filters = vec![class];
    for quirk in ccid::quirks::QUIRKS {
        let filter = UsbDeviceFilter::new();
        filter.set_vendor_id(quirk.vendor_id);
        filter.set_product_id(quirk.product_id);
        filters.push(filter);
    }
    filters
}

/// Shows the browser's chooser and waits for the user's reader.
pub async fn request_reader() -> Result<UsbDevice, ChooseError> {
    let window = web_sys::window()
        .ok_or_else(|| ChooseError::WebUsbUnavailable("no browser window".into()))?;
    let navigator = window.navigator();
    let has_usb = js_sys::Reflect::has(&navigator, &JsValue::from_str("usb")).unwrap_or(false);
    if !has_usb {
        return Err(ChooseError::WebUsbUnavailable(
            "navigator.usb is missing".into(),
        ));
    }
    let options = UsbDeviceRequestOptions::new(&reader_filters());
    JsFuture::from(navigator.usb().request_device(&options))
        .await
        .map_err(|error| match error.dyn_ref::<DomException>() {
            // The user closed the chooser, or no reader matched.
            Some(exception) if exception.name() == "NotFoundError" => ChooseError::NothingChosen,
            // A permissions policy forbids WebUSB here.
            Some(exception) if exception.name() == "SecurityError" => {
                ChooseError::WebUsbUnavailable(exception.message())
            }
            Some(exception) => {
                ChooseError::Failed(format!("{}: {}", exception.name(), exception.message()))
            }
            None => ChooseError::Failed(format!("{error:?}")),
        })
}

impl UsbTransport for WebUsbTransportNotMerged {
    fn device_info(&self) -> UsbDeviceInfo {
        match *self {}
    }

    async fn claim_interface(
        &mut self,
        _interface: u8,
        _alternate: u8,
    ) -> Result<(), TransportError> {
        match *self {}
    }

    async fn control_in(
        &mut self,
        _setup: ControlSetup,
        _length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        match *self {}
    }

    async fn control_out(
        &mut self,
        _setup: ControlSetup,
        _data: &[u8],
    ) -> Result<(), TransportError> {
        match *self {}
    }

    async fn bulk_out(&mut self, _endpoint: u8, _data: &[u8]) -> Result<(), TransportError> {
        match *self {}
    }

    async fn bulk_in(
        &mut self,
        _endpoint: u8,
        _max_length: usize,
        _timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TransportError> {
        match *self {}
    }

    async fn interrupt_in(
        &mut self,
        _endpoint: u8,
        _max_length: usize,
        _timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TransportError> {
        match *self {}
    }
}
