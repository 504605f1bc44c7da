//! The page as the demo server serves it: the release build from `--dist`, with the stand-in
//! for `navigator.usb` and the demo panel injected into `index.html` (only here: the build
//! itself carries none of it), the panel's files, and the demo cards' sheet.

use std::path::PathBuf;
use std::sync::Arc;

use authority::routes::with_page_headers;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::services::ServeDir;

use crate::cards::CardSheet;

/// Where the demo panel's script is served.
pub const PANEL_SCRIPT_PATH: &str = "/demo-panel.js";
/// Where the demo panel's stylesheet is served.
pub const PANEL_STYLE_PATH: &str = "/demo-panel.css";
/// Where the demo cards' holders (ID number, birthday, PIN) are served, as JSON.
pub const CARDS_PATH: &str = "/demo/cards.json";

/// The demo panel (`www/demo-panel.js`).
pub const PANEL_SCRIPT: &str = include_str!("../../www/demo-panel.js");
/// The demo panel's styles (`www/demo-panel.css`).
pub const PANEL_STYLE: &str = include_str!("../../www/demo-panel.css");

/// Where the script choosing the stand-in's mode is served.
pub const MODE_SCRIPT_PATH: &str = "/demo-mode.js";

/// Chooses the stand-in's mode from the page's own query (`?usb=…&choose=…`), so one static
/// `index.html` serves every mode. An ordinary Chromium tab is the default. A file, not inline:
/// the demo page is held to the production page's content security policy.
const MODE_SCRIPT: &str = "(() => {
  const query = new URLSearchParams(location.search);
  const modes = ['protected-class', 'normal', 'no-webusb'];
  const asked = query.get('usb');
  const options = { mode: modes.includes(asked) ? asked : 'protected-class' };
  const choose = query.get('choose');
  if (choose) options.choose = choose;
  window.USB_STANDIN = options;
})();
";

/// What goes right after `<head>`: the mode, the stand-in (before the app's own scripts, so
/// the app finds `navigator.usb` replaced), and the panel.
pub fn injection() -> String {
    format!(
        "\n<script src=\"{MODE_SCRIPT_PATH}\"></script>\n<script src=\"{}\"></script>\n\
         <link rel=\"stylesheet\" href=\"{PANEL_STYLE_PATH}\">\n\
         <script src=\"{PANEL_SCRIPT_PATH}\" defer></script>\n",
        crate::bridge::STANDIN_PATH
    )
}

/// `html` with [`injection`] right after its `<head>` tag (at the very start if it has none).
pub fn inject(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let head_end = lower
        .match_indices("<head")
        // `<header>` is not `<head>`.
        .find(|(at, _)| {
            matches!(
                lower.as_bytes().get(at + 5),
                Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')
            )
        })
        .and_then(|(at, _)| lower[at..].find('>').map(|end| at + end + 1));
    match head_end {
        Some(at) => format!("{}{}{}", &html[..at], injection(), &html[at..]),
        None => format!("{}{html}", injection()),
    }
}

struct Pages {
    dist: PathBuf,
    sheets: Vec<CardSheet>,
}

/// The page's routes: `index.html` (injected) at `/`, `/index.html` and any app route, the
/// other files of `dist` with their content types, the panel, and [`CARDS_PATH`].
pub fn router(dist: PathBuf, sheets: Vec<CardSheet>) -> Router {
    let pages = Arc::new(Pages {
        dist: dist.clone(),
        sheets,
    });
    let not_a_file = app_route.with_state(Arc::clone(&pages));
    let router = Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route(MODE_SCRIPT_PATH, get(mode_script))
        .route(PANEL_SCRIPT_PATH, get(panel_script))
        .route(PANEL_STYLE_PATH, get(panel_style))
        .route(CARDS_PATH, get(cards))
        .fallback_service(ServeDir::new(dist).fallback(not_a_file))
        .with_state(pages);
    // The production page's headers: what the tests see here is what a citizen gets.
    with_page_headers(router)
}

async fn mode_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        MODE_SCRIPT,
    )
}

async fn index(State(pages): State<Arc<Pages>>) -> Response {
    let path = pages.dist.join("index.html");
    match tokio::fs::read_to_string(&path).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The app's files are hashed by Trunk; the page itself must be fetched anew.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            inject(&html),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "no built page to serve");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!(
                    "<!doctype html><meta charset=\"utf-8\"><title>demo</title>\
                     <p>The page is not built: no <code>{}</code>. Run <code>trunk build \
                     --release</code> (it writes <code>dist/</code>), or start the demo server \
                     with <code>--dist</code> naming Trunk's output, then reload.</p>",
                    path.display()
                ),
            )
                .into_response()
        }
    }
}

/// A path that is no file of `dist`: an app route gets the page, a missing file a 404.
async fn app_route(State(pages): State<Arc<Pages>>, request: Request) -> Response {
    let last = request.uri().path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    index(State(pages)).await
}

async fn panel_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PANEL_SCRIPT,
    )
}

async fn panel_style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PANEL_STYLE,
    )
}

async fn cards(State(pages): State<Arc<Pages>>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(pages.sheets.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_injection_goes_right_after_head() {
        let page = "<!DOCTYPE html><html><HEAD lang=x><title>t</title></head><body></body></html>";
        let injected = inject(page);
        let at = injected.find("<HEAD lang=x>").unwrap_or(usize::MAX) + "<HEAD lang=x>".len();
        assert_eq!(injected.get(at..at + 1), Some("\n"));
        assert!(injected[at..]
            .trim_start()
            .starts_with("<script src=\"/demo-mode.js\">"));
        assert!(injected.ends_with("<title>t</title></head><body></body></html>"));
        let order: Vec<usize> = [
            "/demo-mode.js",
            "/usb-standin.js",
            "/demo-panel.css",
            "/demo-panel.js",
            "<title>",
        ]
        .iter()
        .map(|needle| injected.find(needle).unwrap_or(usize::MAX))
        .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{order:?}");
    }

    #[test]
    fn a_header_element_is_not_the_head() {
        let injected = inject("<header>x</header>");
        assert!(injected.starts_with("\n<script src="));
        assert!(injected.ends_with("<header>x</header>"));
    }
}
