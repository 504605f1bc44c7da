//! Serves the USB bridge alone, with simulated readers holding test cards, for trying the page's
//! stand-in (`www/usb-standin.js`) by hand or from a test script:
//!
//! ```sh
//! cargo run -p demo --example usb_bridge -- 127.0.0.1:8091
//! ```
//!
//! A page served from elsewhere loads `http://127.0.0.1:8091/usb-standin.js` after setting
//! `window.USB_STANDIN = {url: 'ws://127.0.0.1:8091/usb-bridge'}`.

use ccid::sim::{SimReaderConfig, TestCard};
use demo::bridge::{Bridge, CardCatalogue, DemoReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8091".to_string());
    let cards = CardCatalogue::new()
        .with("test", "a T=1 test card", || Box::new(TestCard::new()))
        .with(
            "second-generation",
            "a test card with the second-generation ATR",
            || Box::new(TestCard::second_generation_atr()),
        )
        .with("t0", "a T=0 test card", || Box::new(TestCard::t0()));
    let readers = vec![
        DemoReader::new("tpdu", SimReaderConfig::tpdu()).with_card("test"),
        DemoReader::new("ez100pu", SimReaderConfig::ez100pu())
            .named("Castles Technology", "EZ100PU")
            .with_card("second-generation"),
        DemoReader::new("extended", SimReaderConfig::extended_apdu()),
    ];
    let bridge = Bridge::start(readers, cards)?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "USB bridge on ws://{}{}",
        listener.local_addr()?,
        demo::bridge::PATH
    );
    axum::serve(listener, bridge.router()).await?;
    Ok(())
}
