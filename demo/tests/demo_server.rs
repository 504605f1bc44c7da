//! The `demo` binary over real HTTP and WebSocket on loopback, with a temporary data directory
//! and a tiny stand-in for Trunk's output: its start line, the page with the injection, the
//! dist files' content types, the authority's API, the demo cards, the `ccid` driver and the
//! `card` crate reading a demo card through the bridge, card states kept across a restart, and
//! `removeCardAfter`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use authority_tools::demo::{load_index, DemoCardEntry, DemoCase};
use card::{identify, CitizenCard, Pin, PinState, Slot, VerifyOutcome};
use ccid::{CardEvent, Reader};
use common::{BridgeTransport, Client};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

const INDEX_HTML: &str = "<!DOCTYPE html>\n<html lang=\"zh-Hant-TW\">\n  <head>\n    \
    <meta charset=\"utf-8\">\n    <title>自然人憑證線上展期</title>\n    \
    <script type=\"module\">import init from '/app-1234.js'; init('/app-1234_bg.wasm');</script>\n  \
    </head>\n  <body></body>\n</html>\n";
const WASM: &[u8] = b"\0asm\x01\0\0\0";

/// A running `demo` process.
struct Server {
    child: Child,
    url: String,
    address: SocketAddr,
}

impl Server {
    async fn start(data_dir: &Path, dist: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--address", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--dist")
            .arg(dist)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the demo binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .expect("the start line within two minutes")
            .unwrap()
            .expect("a start line");
        let url = first
            .strip_prefix("demo server at ")
            .unwrap_or_else(|| panic!("the start line: {first:?}"))
            .to_string();
        let address: SocketAddr = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(address.port(), 0, "the real port is printed");
        let mut guidance = Vec::new();
        for _ in 0..2 {
            guidance.push(lines.next_line().await.unwrap().unwrap());
        }
        assert!(
            guidance.iter().any(|line| line.contains("PIN 690115")),
            "{guidance:?}"
        );
        // Whatever else it prints is drained, so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            url,
            address,
        }
    }

    /// Ctrl-C, and a clean exit.
    async fn interrupt(mut self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the server stops within 20 s")
            .unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

/// Demo data made once per test run by the binary itself (its first start), copied for each
/// test: making the cards' RSA keys takes seconds.
async fn template() -> &'static Path {
    static TEMPLATE: OnceCell<TempDir> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let root = tempfile::Builder::new()
                .prefix("demo-template")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap();
            let dist = fake_dist();
            let data = root.path().join("data");
            let server = Server::start(&data, dist.path()).await;
            server.interrupt().await;
            assert!(data.join("cards/index.json").is_file());
            root
        })
        .await
        .path()
}

async fn data_dir() -> TempDir {
    let source = template().await.join("data");
    let copy = TempDir::new().unwrap();
    copy_dir(&source, copy.path());
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fake_dist() -> TempDir {
    let dist = TempDir::new().unwrap();
    let files: [(&str, &[u8]); 5] = [
        ("index.html", INDEX_HTML.as_bytes()),
        ("app-1234_bg.wasm", WASM),
        ("app-1234.js", b"export default function init() {}\n"),
        ("style-5678.css", b"body { margin: 0 }\n"),
        ("offices.json", b"[]\n"),
    ];
    for (name, bytes) in files {
        std::fs::write(dist.path().join(name), bytes).unwrap();
    }
    dist
}

fn index_of(data_dir: &Path) -> Vec<DemoCardEntry> {
    load_index(&data_dir.join("cards")).unwrap()
}

/// The content security policy `path` is served with.
async fn response_policy(base: &str, path: &str) -> String {
    get(format!("{base}{path}"))
        .await
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn get(url: String) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_injected_page_the_files_the_api_and_the_cards() {
    let data = data_dir().await;
    let dist = fake_dist();
    let server = Server::start(data.path(), dist.path()).await;
    let base = server.url.clone();

    for path in ["", "index.html", "renew/step-2"] {
        let response = get(format!("{base}{path}")).await;
        assert_eq!(response.status(), 200, "/{path}");
        assert!(content_type(&response).starts_with("text/html"), "/{path}");
        let html = response.text().await.unwrap();
        let after_head = html.split_once("<head>").unwrap().1.trim_start();
        assert!(
            after_head.starts_with("<script src=\"/demo-mode.js\"></script>"),
            "/{path}: {after_head}"
        );
        // Held to the production page's policy: every script is a file.
        let policy = response_policy(&base, path).await;
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{policy}"
        );
        for needle in [
            "<script src=\"/demo-mode.js\"></script>",
            "<script src=\"/usb-standin.js\"></script>",
            "<link rel=\"stylesheet\" href=\"/demo-panel.css\">",
            "<script src=\"/demo-panel.js\" defer></script>",
        ] {
            let at = html
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in /{path}"));
            assert!(
                at < html.find("<title>").unwrap(),
                "{needle} before the page's own"
            );
        }
    }
    // The mode script chooses the stand-in's mode from the page's query.
    let mode = get(format!("{base}demo-mode.js")).await;
    assert!(content_type(&mode).starts_with("text/javascript"));
    let mode = mode.text().await.unwrap();
    assert!(mode.contains("window.USB_STANDIN") && mode.contains("'protected-class'"));
    // The build on disk is untouched.
    assert_eq!(
        std::fs::read_to_string(dist.path().join("index.html")).unwrap(),
        INDEX_HTML
    );

    for (path, expected) in [
        ("app-1234_bg.wasm", "application/wasm"),
        ("app-1234.js", "text/javascript"),
        ("style-5678.css", "text/css"),
        ("offices.json", "application/json"),
        ("usb-standin.js", "text/javascript"),
        ("demo-panel.js", "text/javascript"),
        ("demo-panel.css", "text/css"),
        ("demo/cards.json", "application/json"),
    ] {
        let response = get(format!("{base}{path}")).await;
        assert_eq!(response.status(), 200, "/{path}");
        assert!(
            content_type(&response).starts_with(expected),
            "/{path}: {}",
            content_type(&response)
        );
    }
    let wasm = get(format!("{base}app-1234_bg.wasm")).await.bytes().await;
    assert_eq!(&wasm.unwrap()[..], WASM);
    assert_eq!(get(format!("{base}missing-file.js")).await.status(), 404);

    let info = get(format!("{base}api/v1/server-info")).await;
    assert_eq!(info.status(), 200);
    assert!(content_type(&info).starts_with("application/json"));
    let info: Value = info.json().await.unwrap();
    assert!(info.is_object(), "{info}");
    assert_eq!(
        get(format!("{base}api/v1/nothing-here")).await.status(),
        404
    );

    // The holders' sheet is the authority's demo data.
    let sheets: Value = get(format!("{base}demo/cards.json"))
        .await
        .json()
        .await
        .unwrap();
    let sheets = sheets.as_array().unwrap();
    let index = index_of(data.path());
    assert_eq!(sheets.len(), 8);
    for (sheet, entry) in sheets.iter().zip(&index) {
        assert_eq!(sheet["name"], json!(entry.case_name()));
        assert_eq!(
            sheet["holder"]["nationalId"],
            json!(entry.holder.national_id)
        );
        assert_eq!(sheet["holder"]["birthday"], json!(entry.holder.birthday));
        assert!(sheet["holder"]["birthdayRoc"]
            .as_str()
            .unwrap()
            .starts_with("民國"));
        assert_eq!(sheet["holder"]["pin"], json!(entry.holder.pin));
    }
    assert_eq!(sheets[0]["description"], json!("陳可展 — 可展期 in window"));

    // The bridge: three empty readers, eight cards out.
    let client = Client::connect(server.address).await;
    let devices = client.call(json!({"op": "listDevices"})).await.unwrap();
    let ids: Vec<&str> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ez100pu", "tpdu-t1", "extended-apdu"]);
    let classes: Vec<&Value> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["configurations"][0]["interfaces"][0]["alternates"][0]["interfaceClass"])
        .collect();
    assert_eq!(classes, [&json!(0x00), &json!(0x0B), &json!(0x0B)]);
    let cards = client.call(json!({"op": "listCards"})).await.unwrap();
    let cards = cards["cards"].as_array().unwrap();
    let names: Vec<&str> = cards.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let expected: Vec<&str> = DemoCase::ALL.iter().map(|case| case.name()).collect();
    assert_eq!(names, expected);
    for (card, entry) in cards.iter().zip(&index) {
        assert!(card["description"]
            .as_str()
            .unwrap()
            .starts_with(&entry.holder.name));
        assert_eq!(card["inReader"], Value::Null);
    }
    server.interrupt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_reads_a_demo_card_through_the_bridge() {
    let data = data_dir().await;
    let dist = fake_dist();
    let server = Server::start(data.path(), dist.path()).await;
    let entry = index_of(data.path())
        .into_iter()
        .find(|entry| entry.case == DemoCase::InWindow)
        .unwrap();

    let panel = Client::connect(server.address).await;
    panel
        .call(json!({"op": "insertCard", "deviceId": "ez100pu", "card": "in_window"}))
        .await
        .unwrap();
    let event = panel.unsolicited(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        event,
        json!({"event": "card", "deviceId": "ez100pu", "card": "in_window"})
    );

    let page = Client::connect(server.address).await;
    let transport = BridgeTransport::open(&page, "ez100pu").await;
    let mut reader = Reader::open(transport).await.unwrap();
    let atr = reader.power_on().await.unwrap();
    let generation = identify(atr.bytes()).unwrap();
    let mut card = CitizenCard::new(&mut reader, generation);
    let number = card.read_card_number().await.unwrap();
    assert_eq!(number.as_str(), entry.holder.card_number);
    let certificates = card.read_certificates().await.unwrap();
    let serial = |slot: Slot| {
        let der = certificates.certificate(slot).unwrap().der().to_vec();
        renewal::CitizenCertificate::from_der(&der)
            .unwrap()
            .serial()
            .to_hex()
    };
    assert_eq!(serial(Slot::Signature), entry.signature_certificate_serial);
    assert_eq!(
        serial(Slot::Encryption),
        entry.encryption_certificate_serial
    );
    assert_eq!(card.pin_state().await.unwrap(), PinState::TriesLeft(3));
    server.interrupt().await;
}

/// Connects a driver to a reader holding a card and powers it.
async fn powered(client: &Client, device: &str) -> Reader<BridgeTransport> {
    let transport = BridgeTransport::open(client, device).await;
    let mut reader = Reader::open(transport).await.unwrap();
    reader.power_on().await.unwrap();
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_card_is_saved_and_is_the_same_after_a_restart() {
    let data = data_dir().await;
    let dist = fake_dist();
    let index = index_of(data.path());
    let in_window = index.iter().find(|e| e.case == DemoCase::InWindow).unwrap();

    let server = Server::start(data.path(), dist.path()).await;
    let client = Client::connect(server.address).await;
    // One wrong PIN on `too_early`, left in its reader at the stop.
    client
        .call(json!({"op": "insertCard", "deviceId": "tpdu-t1", "card": "too_early"}))
        .await
        .unwrap();
    let mut reader = powered(&client, "tpdu-t1").await;
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    let wrong = Pin::new("000000").unwrap();
    assert_eq!(
        card.verify_pin(&wrong).await.unwrap(),
        VerifyOutcome::Wrong { tries_left: 2 }
    );
    // On `in_window`: its signature certificate written over the encryption one, then the card
    // taken out (kept by the server) before the stop.
    client
        .call(json!({"op": "insertCard", "deviceId": "extended-apdu", "card": "in_window"}))
        .await
        .unwrap();
    let mut reader = powered(&client, "extended-apdu").await;
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    let signature = card
        .read_certificate(Slot::Signature)
        .await
        .unwrap()
        .certificate()
        .unwrap()
        .der()
        .to_vec();
    let pin = Pin::new(&in_window.holder.pin).unwrap();
    assert_eq!(
        card.verify_pin(&pin).await.unwrap(),
        VerifyOutcome::Verified
    );
    card.write_certificate(Slot::Encryption, &signature)
        .await
        .unwrap();
    client
        .call(json!({"op": "removeCard", "deviceId": "extended-apdu"}))
        .await
        .unwrap();
    client.close();
    server.interrupt().await;

    let saved: Value =
        serde_json::from_slice(&std::fs::read(data.path().join("cards/too_early.json")).unwrap())
            .unwrap();
    assert_eq!(saved["tries_left"], json!(2));
    // Written as a whole, never left half: no temporary file remains.
    let leftovers: Vec<PathBuf> = std::fs::read_dir(data.path().join("cards"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e != "json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let server = Server::start(data.path(), dist.path()).await;
    let client = Client::connect(server.address).await;
    for (device, name) in [("tpdu-t1", "too_early"), ("ez100pu", "in_window")] {
        client
            .call(json!({"op": "insertCard", "deviceId": device, "card": name}))
            .await
            .unwrap();
    }
    let mut reader = powered(&client, "tpdu-t1").await;
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    assert_eq!(card.pin_state().await.unwrap(), PinState::TriesLeft(2));
    let mut reader = powered(&client, "ez100pu").await;
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    let encryption = card.read_certificate(Slot::Encryption).await.unwrap();
    assert_eq!(encryption.certificate().unwrap().der(), &signature[..]);
    assert_eq!(card.pin_state().await.unwrap(), PinState::TriesLeft(3));
    server.interrupt().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_card_after_pulls_the_card_at_the_chosen_command() {
    let data = data_dir().await;
    let dist = fake_dist();
    let server = Server::start(data.path(), dist.path()).await;
    let panel = Client::connect(server.address).await;
    let page = Client::connect(server.address).await;

    let empty = panel
        .call(json!({"op": "removeCardAfter", "deviceId": "extended-apdu", "commands": 1}))
        .await
        .unwrap_err();
    assert_eq!(empty.name, "InvalidStateError");
    let unknown = panel
        .call(json!({"op": "removeCardAfter", "deviceId": "nope", "commands": 1}))
        .await
        .unwrap_err();
    assert_eq!(unknown.name, "NotFoundError");
    let malformed = panel
        .call(json!({"op": "removeCardAfter", "deviceId": "extended-apdu", "commands": -1}))
        .await
        .unwrap_err();
    assert_eq!(malformed.name, "TypeError");

    panel
        .call(json!({"op": "insertCard", "deviceId": "extended-apdu", "card": "in_window"}))
        .await
        .unwrap();
    let transport = BridgeTransport::open(&page, "extended-apdu").await;
    let mut reader = Reader::open(transport).await.unwrap();
    // The insertion's notification, if the driver has not taken it already.
    let _ = reader
        .wait_card_event(Duration::from_millis(300))
        .await
        .unwrap();
    reader.power_on().await.unwrap();
    assert_eq!(
        panel.unsolicited(Duration::from_secs(2)).await.unwrap()["card"],
        json!("in_window")
    );
    // Two more commands reach the card (one APDU each at this reader's level); the third
    // finds the slot empty.
    panel
        .call(json!({"op": "removeCardAfter", "deviceId": "extended-apdu", "commands": 2}))
        .await
        .unwrap();
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    assert_eq!(card.pin_state().await.unwrap(), PinState::TriesLeft(3));
    let wrong = Pin::new("000000").unwrap();
    assert_eq!(
        card.verify_pin(&wrong).await.unwrap(),
        VerifyOutcome::Wrong { tries_left: 2 }
    );
    let pulled = card.pin_state().await.unwrap_err();
    assert!(
        matches!(pulled, card::CardError::Channel(ref error) if error.kind() == card::ChannelErrorKind::CardRemoved),
        "{pulled:?}"
    );
    assert_eq!(
        panel.unsolicited(Duration::from_secs(2)).await.unwrap(),
        json!({"event": "card", "deviceId": "extended-apdu", "card": null})
    );
    assert_eq!(
        reader
            .wait_card_event(Duration::from_secs(2))
            .await
            .unwrap(),
        Some(CardEvent::Removed)
    );
    let cards = panel.call(json!({"op": "listCards"})).await.unwrap();
    assert_eq!(cards["cards"][0]["inReader"], Value::Null);

    // The card came out with its state: the wrong PIN still counts.
    panel
        .call(json!({"op": "insertCard", "deviceId": "extended-apdu", "card": "in_window"}))
        .await
        .unwrap();
    assert_eq!(
        reader
            .wait_card_event(Duration::from_secs(2))
            .await
            .unwrap(),
        Some(CardEvent::Inserted)
    );
    reader.power_on().await.unwrap();
    let mut card = CitizenCard::new(&mut reader, card::Generation::First);
    assert_eq!(card.pin_state().await.unwrap(), PinState::TriesLeft(2));
    server.interrupt().await;
}

#[tokio::test]
async fn fresh_wipes_only_a_demo_data_directory() {
    let foreign = TempDir::new().unwrap();
    std::fs::write(foreign.path().join("notes.txt"), "mine").unwrap();
    let error = demo::data::prepare(foreign.path(), true).await.unwrap_err();
    assert!(matches!(error, demo::DemoError::DataDir { .. }), "{error}");
    assert!(foreign.path().join("notes.txt").is_file());
    let error = demo::data::prepare(foreign.path(), false)
        .await
        .unwrap_err();
    assert!(matches!(error, demo::DemoError::DataDir { .. }), "{error}");
}
