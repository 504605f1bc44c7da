//! The authority over HTTP (`fetch`), exactly as `renewal::api` describes it.

use renewal::api::{
    CompleteRequest, CompleteResponse, ReceiptRequest, ReceiptResponse, RenewRequest,
    RenewResponse, ResumeRequest, ResumeResponse, ServerInfoResponse, VerdictRequest,
    VerdictResponse, COMPLETE_PATH, RECEIPT_PATH, RENEW_PATH, RESUME_PATH, SERVER_INFO_PATH,
    VERDICT_PATH,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCache, RequestInit, Response};

use crate::flow::ports::decode_answer;
use crate::flow::{AuthorityError, AuthorityPort};

/// The authority at `base_url` (empty: the page's own origin, where the authority serves the
/// page).
#[derive(Debug, Clone, Default)]
pub struct HttpAuthority {
    base_url: String,
}

impl HttpAuthority {
    /// The authority that served this page.
    pub fn same_origin() -> Self {
        Self::default()
    }

    /// The authority at `base_url` (`https://renew.example.gov.tw`, no trailing slash).
    pub fn at(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
        }
    }

    async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, AuthorityError> {
        let (status, text) = send("GET", &format!("{}{path}", self.base_url), None).await?;
        decode_answer(status, &text)
    }

    async fn post<Q: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &Q,
    ) -> Result<R, AuthorityError> {
        let body = serde_json::to_string(body)
            .map_err(|error| AuthorityError::BadAnswer(format!("request not encoded: {error}")))?;
        let (status, text) = send("POST", &format!("{}{path}", self.base_url), Some(body)).await?;
        decode_answer(status, &text)
    }
}

fn js_text(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            value
                .dyn_ref::<js_sys::Error>()
                .map(|error| String::from(error.message()))
        })
        .unwrap_or_else(|| format!("{value:?}"))
}

/// One request; `fetch` failing outright (offline, DNS, TLS, CORS) is "unreachable".
async fn send(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), AuthorityError> {
    let unreachable = |value: JsValue| AuthorityError::Unreachable(js_text(&value));
    let init = RequestInit::new();
    init.set_method(method);
    // Verdicts and times must be fresh: never from a cache.
    init.set_cache(RequestCache::NoStore);
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(unreachable)?;
    let headers = request.headers();
    headers
        .set("Accept", "application/json")
        .map_err(unreachable)?;
    if body.is_some() {
        headers
            .set("Content-Type", "application/json")
            .map_err(unreachable)?;
    }
    let window =
        web_sys::window().ok_or_else(|| AuthorityError::Unreachable("no browser window".into()))?;
    let response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(unreachable)?;
    let response: Response = response
        .dyn_into()
        .map_err(|value| AuthorityError::BadAnswer(js_text(&value)))?;
    let text_promise = response.text().map_err(unreachable)?;
    let text = JsFuture::from(text_promise)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default();
    Ok((response.status(), text))
}

/// A text file from the page's origin.
pub(super) async fn fetch_text(path: &str) -> Result<String, String> {
    let (status, text) = send("GET", path, None)
        .await
        .map_err(|error| error.to_string())?;
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(format!("HTTP {status}"))
    }
}

impl AuthorityPort for HttpAuthority {
    async fn server_info(&mut self) -> Result<ServerInfoResponse, AuthorityError> {
        self.get(SERVER_INFO_PATH).await
    }

    async fn verdict(
        &mut self,
        request: &VerdictRequest,
    ) -> Result<VerdictResponse, AuthorityError> {
        self.post(VERDICT_PATH, request).await
    }

    async fn renew(&mut self, request: &RenewRequest) -> Result<RenewResponse, AuthorityError> {
        self.post(RENEW_PATH, request).await
    }

    async fn complete(
        &mut self,
        request: &CompleteRequest,
    ) -> Result<CompleteResponse, AuthorityError> {
        self.post(COMPLETE_PATH, request).await
    }

    async fn resume(&mut self, request: &ResumeRequest) -> Result<ResumeResponse, AuthorityError> {
        self.post(RESUME_PATH, request).await
    }

    async fn receipt(
        &mut self,
        request: &ReceiptRequest,
    ) -> Result<ReceiptResponse, AuthorityError> {
        self.post(RECEIPT_PATH, request).await
    }
}
