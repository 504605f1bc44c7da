//! The browser's reader chooser (`navigator.usb.requestDevice`, filtered to smart-card readers
//! and the readers of the driver's quirk table) over `ccid`'s WebUSB transport.

use ccid::webusb::{WebUsbError, WebUsbTransport};

use crate::flow::{ChooseError, ReaderChooser};

/// The chooser of the page in the browser.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserReaderChooser;

/// The transport the page drives readers with.
pub type BrowserTransport = WebUsbTransport;

impl ReaderChooser for BrowserReaderChooser {
    type Transport = BrowserTransport;

    async fn choose_reader(&mut self) -> Result<BrowserTransport, ChooseError> {
        let device = WebUsbTransport::request().await.map_err(choose_error)?;
        // Claiming happens when the driver opens the reader: a protected interface class comes
        // back from there as `TransportError::AccessDenied`, which the flow turns into guidance.
        WebUsbTransport::open(device).await.map_err(choose_error)
    }
}

fn choose_error(error: WebUsbError) -> ChooseError {
    match error {
        WebUsbError::NoDeviceChosen => ChooseError::NothingChosen,
        WebUsbError::NotSupported | WebUsbError::InsecureContext | WebUsbError::NotAllowed(_) => {
            ChooseError::WebUsbUnavailable(error.to_string())
        }
        WebUsbError::Transport(transport) => ChooseError::Failed(transport.to_string()),
    }
}
