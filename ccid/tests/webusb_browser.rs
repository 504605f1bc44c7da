//! `WebUsbTransport` in a real browser, through the page-side stand-in for `navigator.usb`
//! (`www/usb-standin.js`) to the demo's simulated readers. It needs the bridge running and
//! headless Chromium with chromedriver:
//!
//! ```sh
//! cargo run -p demo --example usb_bridge -- 127.0.0.1:8091 &
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test -p ccid --features webusb --target wasm32-unknown-unknown --test webusb_browser
//! ```
//!
//! `USB_BRIDGE_URL` at build time points it at another bridge. The readers are the example's:
//! `tpdu` (class 0x0B, test card), `ez100pu` (second-generation card), `extended` (empty).
#![cfg(all(target_arch = "wasm32", feature = "webusb"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use ccid::webusb::{webusb_available, Denial, WebUsbError, WebUsbTransport};
use ccid::{CardEvent, Error, Reader, SlotStatus, TransportError};
use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const BRIDGE_URL: &str = match option_env!("USB_BRIDGE_URL") {
    Some(url) => url,
    None => "ws://127.0.0.1:8091/usb-bridge",
};

/// Loads the stand-in in `mode` (replacing any loaded before).
fn install_standin(mode: &str) {
    let config = js_sys::Object::new();
    Reflect::set(&config, &"mode".into(), &mode.into()).unwrap();
    Reflect::set(&config, &"url".into(), &BRIDGE_URL.into()).unwrap();
    Reflect::set(&config, &"grantAll".into(), &JsValue::TRUE).unwrap();
    Reflect::set(&js_sys::global(), &"USB_STANDIN".into(), &config).unwrap();
    let script = Function::new_no_args(include_str!("../../www/usb-standin.js"));
    script.call0(&JsValue::NULL).unwrap();
}

/// Calls a method of `window.usbStandin` and awaits its result.
async fn standin(method: &str, args: &[&str]) -> JsValue {
    let handle = Reflect::get(&js_sys::global(), &"usbStandin".into()).unwrap();
    let function: Function = Reflect::get(&handle, &method.into())
        .unwrap()
        .unchecked_into();
    let args: js_sys::Array = args.iter().map(|arg| JsValue::from_str(arg)).collect();
    let result = function.apply(&handle, &args).unwrap();
    JsFuture::from(js_sys::Promise::resolve(&result))
        .await
        .unwrap_or_else(|error| panic!("usbStandin.{method}: {error:?} (is the bridge running?)"))
}

async fn permitted(device_id: &str) -> web_sys::UsbDevice {
    WebUsbTransport::permitted()
        .await
        .unwrap()
        .into_iter()
        .find(|device| {
            Reflect::get(device, &"deviceId".into()).ok() == Some(JsValue::from_str(device_id))
        })
        .unwrap_or_else(|| panic!("no permitted device {device_id}"))
}

#[wasm_bindgen_test]
async fn webusb_transport_through_the_standin() {
    install_standin("normal");
    webusb_available().unwrap();

    // The chooser (the stand-in picks the first match) finds the class 0x0B reader.
    let device = WebUsbTransport::request().await.unwrap();
    let transport = WebUsbTransport::open(device).await.unwrap();
    let mut reader = Reader::open(transport).await.unwrap();
    reader.power_on().await.unwrap();
    let name = reader
        .transmit(&[0x80, 0xCA, 0x00, 0x00, 0x00])
        .await
        .unwrap();
    assert_eq!(name, b"CCID TEST CARD\x90\x00");
    reader.into_transport().close().await.unwrap();

    // The quirk table's filter lets the chooser offer the EZ100PU; 16-byte packets, and the
    // transport asks for whole packets.
    standin("choose", &["ez100pu"]).await;
    let device = WebUsbTransport::request().await.unwrap();
    let mut reader = Reader::open(WebUsbTransport::open(device).await.unwrap())
        .await
        .unwrap();
    reader.power_on().await.unwrap();
    let data = reader
        .transmit(&[0x00, 0xB0, 0x00, 0x00, 0x40])
        .await
        .unwrap();
    assert_eq!(data.len(), 0x42);
    assert_eq!(data[0x40..], [0x90, 0x00]);
    reader.into_transport().close().await.unwrap();

    // A cancelled chooser.
    standin("choose", &["no such reader"]).await;
    assert_eq!(
        WebUsbTransport::request().await.unwrap_err(),
        WebUsbError::NoDeviceChosen
    );

    // A quiet wait leaves its interrupt transfer pending in the browser; the card inserted
    // afterwards reaches the driver through that same transfer.
    let transport = WebUsbTransport::open(permitted("extended").await)
        .await
        .unwrap();
    let mut reader = Reader::open(transport).await.unwrap();
    assert_eq!(reader.slot_status().await.unwrap(), SlotStatus::Empty);
    let quiet = reader
        .wait_card_event(Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(quiet, None);
    standin("insertCard", &["extended", "t0"]).await;
    let event = reader
        .wait_card_event(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(event, Some(CardEvent::Inserted));
    reader.power_on().await.unwrap();
    standin("removeCard", &["extended"]).await;
    let event = reader
        .wait_card_event(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(event, Some(CardEvent::Removed));

    // Unplugged: the disconnect event names this device, and its transfers fail so.
    let unplugged = js_sys::Promise::new(&mut |resolve, _reject| {
        let usb = webusb_available().unwrap();
        let listener =
            Function::new_with_args("resolve", "return (event) => resolve(event.device);")
                .call1(&JsValue::NULL, &resolve)
                .unwrap();
        let add: Function = Reflect::get(&usb, &"addEventListener".into())
            .unwrap()
            .unchecked_into();
        add.call2(&usb, &"disconnect".into(), &listener).unwrap();
    });
    standin("unplugReader", &["extended"]).await;
    let gone: web_sys::UsbDevice = JsFuture::from(unplugged).await.unwrap().unchecked_into();
    assert!(reader.transport_mut().is_device(&gone));
    let error = reader.slot_status().await.unwrap_err();
    assert_eq!(error, Error::Transport(TransportError::Disconnected));
    standin("plugReader", &["extended"]).await;

    // An ordinary tab: the smart-card class is protected, the EZ100PU's interface is not.
    install_standin("protected-class");
    let transport = WebUsbTransport::open(permitted("tpdu").await)
        .await
        .unwrap();
    let error = Reader::open(transport).await.unwrap_err();
    let Error::Transport(denied) = error else {
        panic!("not a transport error: {error:?}");
    };
    assert_eq!(
        Denial::of(&denied),
        Some(Denial::ProtectedClass),
        "{denied}"
    );
    let transport = WebUsbTransport::open(permitted("ez100pu").await)
        .await
        .unwrap();
    let mut reader = Reader::open(transport).await.unwrap();
    reader.power_on().await.unwrap();
    reader.into_transport().close().await.unwrap();

    // Firefox and Safari.
    install_standin("no-webusb");
    assert_eq!(webusb_available().unwrap_err(), WebUsbError::NotSupported);
    assert!(matches!(
        WebUsbTransport::request().await,
        Err(WebUsbError::NotSupported)
    ));
}
