//! The page's entry point: Trunk builds this binary for the browser (`www/index.html`).

#[cfg(target_arch = "wasm32")]
fn main() {
    use app::controller::start_flow;
    use app::pages::Shell;
    use app::platform::{self, webusb::BrowserReaderChooser};
    use leptos::prelude::*;

    leptos::mount::mount_to_body(|| {
        let kiosk = platform::kiosk_settings();
        let flow = start_flow(
            BrowserReaderChooser,
            platform::authority(),
            platform::browser_environment(),
        );
        view! { <Shell flow=flow kiosk=kiosk /> }
    });
}

/// Natively there is no page to show; the flow is tested natively through the library.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "The renewal page runs in a browser: build it with `trunk build --release` and open \
         dist/index.html from the authority or demo server."
    );
}
