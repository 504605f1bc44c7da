//! The page-side stand-in for `navigator.usb` (`www/usb-standin.js`), run by Node against a
//! bridge on loopback: the same protocol from the other end, and its three modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standin_drives_the_bridge_as_a_page_would() {
    let (_bridge, address) = common::serve().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standin/usb-standin.mjs");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            // Node 20 has WebSocket behind this flag; later versions accept it.
            .args(["--experimental-websocket", script, &address.to_string()])
            .output()
    })
    .await
    .unwrap();
    let output = match run {
        Ok(output) => output,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("node is not available ({error}); the stand-in test did not run");
            return;
        }
        Err(error) => panic!("node is needed for the stand-in test: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for mode in ["normal", "protected-class", "no-webusb"] {
        assert!(
            stdout.contains(&format!("{mode} mode ok")),
            "{stdout}\n{stderr}"
        );
    }
}
