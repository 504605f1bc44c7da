//! The browser's side of the page: what the browser offers, the authority over HTTP, timers,
//! printing, and the WebUSB reader chooser.
//!
//! Everything here calls browser APIs and so only works in WebAssembly; it compiles natively
//! too (the calls are never made there), except the WebUSB chooser, whose `web-sys` types exist
//! only for `wasm32` with `web_sys_unstable_apis`.

mod http;
#[cfg(target_arch = "wasm32")]
pub mod webusb;

use std::time::Duration;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::flow::{BrowserEnvironment, Deployment};
use crate::kiosk::KioskSettings;

pub use http::HttpAuthority;

/// What this browser offers: WebUSB, a secure context, and whether the page may use any
/// reader (an Isolated Web App or kiosk granted `usb-unrestricted`).
pub fn browser_environment() -> BrowserEnvironment {
    let Some(window) = web_sys::window() else {
        return BrowserEnvironment {
            webusb: false,
            secure_context: false,
            deployment: Deployment::OrdinaryTab,
        };
    };
    let navigator = window.navigator();
    let webusb = js_sys::Reflect::get(&navigator, &JsValue::from_str("usb"))
        .map(|usb| !usb.is_undefined() && !usb.is_null())
        .unwrap_or(false);
    BrowserEnvironment {
        webusb,
        secure_context: window.is_secure_context(),
        deployment: deployment(&window),
    }
}

/// Whether the document's permissions policy allows `usb-unrestricted` (granted only to
/// Isolated Web Apps and configured kiosks): `document.permissionsPolicy`, or its older name
/// `document.featurePolicy`, where the browser has either.
fn deployment(window: &web_sys::Window) -> Deployment {
    let allows = |policy_name: &str| {
        let document = window.document()?;
        let policy = js_sys::Reflect::get(&document, &JsValue::from_str(policy_name)).ok()?;
        let allows = js_sys::Reflect::get(&policy, &JsValue::from_str("allowsFeature")).ok()?;
        let allows = allows.dyn_into::<js_sys::Function>().ok()?;
        allows
            .call1(&policy, &JsValue::from_str("usb-unrestricted"))
            .ok()?
            .as_bool()
    };
    let allowed = allows("permissionsPolicy").or_else(|| allows("featurePolicy"));
    let deployment = if allowed == Some(true) {
        Deployment::Unrestricted
    } else {
        Deployment::OrdinaryTab
    };
    // Said on the document for staff, kiosk checks and the browser tests.
    if let Some(root) = window
        .document()
        .and_then(|document| document.document_element())
    {
        let name = match deployment {
            Deployment::Unrestricted => "unrestricted",
            Deployment::OrdinaryTab => "ordinary-tab",
        };
        let _ = root.set_attribute("data-deployment", name);
    }
    deployment
}

/// The authority this page talks to: the address in `<meta name="renewal-authority">` (an
/// Isolated Web App has no authority on its own origin; `scripts/iwa` writes it), or else the
/// origin that served the page.
pub fn authority() -> HttpAuthority {
    let configured = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| {
            document
                .query_selector("meta[name=renewal-authority]")
                .ok()
                .flatten()
        })
        .and_then(|meta| meta.get_attribute("content"))
        .map(|address| address.trim().trim_end_matches('/').to_owned())
        .filter(|address| !address.is_empty());
    match configured {
        Some(address) => HttpAuthority::at(address),
        None => HttpAuthority::same_origin(),
    }
}

/// Kiosk mode's settings when the page's address asks for it (`?kiosk`, see [`crate::kiosk`]);
/// the document is then marked `class="kiosk"` for the touch layout.
pub fn kiosk_settings() -> Option<KioskSettings> {
    let window = web_sys::window()?;
    let settings = KioskSettings::from_query(&window.location().search().ok()?)?;
    if let Some(root) = window
        .document()
        .and_then(|document| document.document_element())
    {
        let _ = root.class_list().add_1("kiosk");
    }
    Some(settings)
}

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_millis() -> f64 {
    js_sys::Date::now()
}

/// Waits `duration` (a `setTimeout`), without blocking the page.
pub async fn sleep(duration: Duration) {
    let millis = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let scheduled = web_sys::window().map(|window| {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis)
        });
        if !matches!(scheduled, Some(Ok(_))) {
            // No timer to wait on: go on at once rather than never.
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Opens the browser's print dialog (the receipt has its own print stylesheet).
pub fn print_page() {
    if let Some(window) = web_sys::window() {
        if let Err(error) = window.print() {
            tracing::warn!(?error, "printing failed");
        }
    }
}

/// Loads the page again (after an update of the page or the authority).
pub fn reload_page() {
    if let Some(window) = web_sys::window() {
        if let Err(error) = window.location().reload() {
            tracing::warn!(?error, "reloading failed");
        }
    }
}

/// Fetches a text file beside the page (the office list).
pub async fn fetch_text(path: &str) -> Result<String, String> {
    http::fetch_text(path).await
}
