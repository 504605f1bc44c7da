//! The HTTP API (`renewal::api`'s paths and bodies) as an axum router over an [`Authority`].
//!
//! Every answer is JSON. A refusal is the code's HTTP status ([`ErrorCode::http_status`]) with
//! an [`ApiError`] body — also for bodies axum itself refuses (not JSON, wrong types, too
//! large), for unknown paths under the API prefix, and for a panic, which is caught and
//! answered `internal` without its message.

use std::any::Any;
use std::net::SocketAddr;
use std::path::Path;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use renewal::api::{
    CompleteRequest, ReceiptRequest, RenewRequest, ResumeRequest, VerdictRequest, API_PREFIX,
    COMPLETE_PATH, RECEIPT_PATH, RENEW_PATH, RESUME_PATH, SERVER_INFO_PATH, VERDICT_PATH,
};
use renewal::{ApiError, ErrorCode};
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::service::Authority;

/// Largest request body accepted: the biggest request (a verdict with a certificate of
/// about 1.5 KB, in base64) is far below it.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// Requests handled at once; more wait their turn. Each renewal signs twice with RSA, so a
/// burst is queued rather than allowed to take all the memory and CPU.
pub const CONCURRENCY_LIMIT: usize = 256;

/// An API refusal as an HTTP response.
#[derive(Debug)]
pub struct ApiFailure(pub ApiError);

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

/// The client's address, when the server records it (`serve` does; an embedding server may
/// not).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip().to_string()),
        ))
    }
}

/// The API router (paths of `renewal::api`), with body limit, concurrency limit and panic
/// catching. Serve it with `into_make_service_with_connect_info::<SocketAddr>()` to audit
/// client addresses.
pub fn api_router(authority: Authority) -> Router {
    Router::new()
        .route(SERVER_INFO_PATH, get(server_info))
        .route(VERDICT_PATH, post(verdict))
        .route(RENEW_PATH, post(renew))
        .route(COMPLETE_PATH, post(complete))
        .route(RESUME_PATH, post(resume))
        .route(RECEIPT_PATH, post(receipt))
        .route(
            &format!("{API_PREFIX}/{{*rest}}"),
            axum::routing::any(unknown_endpoint),
        )
        .method_not_allowed_fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            CONCURRENCY_LIMIT,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(authority)
}

/// The content security policy the page is served with: the Isolated Web App's own (Chromium
/// enforces it on the bundle), narrowed to this origin, so the page is held to one policy
/// wherever it runs — no inline or foreign script, wasm allowed, no markup from strings.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "base-uri 'none'; default-src 'self'; \
     object-src 'none'; frame-src 'self'; connect-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; font-src 'self'; \
     style-src 'self' 'unsafe-inline'; require-trusted-types-for 'script'; \
     trusted-types default; frame-ancestors 'self'";

/// `router` answering with the headers the page is served with, by the authority and by the
/// demo alike: [`PAGE_CONTENT_SECURITY_POLICY`], no MIME sniffing, no referrer.
pub fn with_page_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// The API router plus the built app's static files from `static_dir` (`index.html` for any
/// other path, so the single-page app's own routes load), [`with_page_headers`].
pub fn router_with_static_files(authority: Authority, static_dir: &Path) -> Router {
    let index = static_dir.join("index.html");
    let files = ServeDir::new(static_dir).fallback(ServeFile::new(index));
    api_router(authority).merge(with_page_headers(Router::new().fallback_service(files)))
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic message may hold request data: it is not logged, nor sent.
    tracing::error!("a request handler panicked");
    ApiFailure(ApiError::new(
        ErrorCode::Internal,
        "the authority failed; nothing was changed; try again",
    ))
    .into_response()
}

async fn unknown_endpoint() -> ApiFailure {
    ApiFailure(ApiError::new(
        ErrorCode::UnknownEndpoint,
        "no API endpoint has this path and method",
    ))
}

/// A body axum refused, as our error code.
fn rejection_error(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::RequestTooLarge,
            format!("the request body is larger than {BODY_LIMIT_BYTES} bytes"),
        )
    } else {
        // axum's text names the field and the type expected, never echoes values at length.
        ApiError::new(ErrorCode::MalformedRequest, rejection.body_text())
    }
}

/// Runs an operation on a JSON body, or refuses the body with its audit line.
async fn with_body<Q, R, F, Fut>(
    authority: &Authority,
    action: &str,
    client: ClientAddress,
    body: Result<Json<Q>, JsonRejection>,
    operation: F,
) -> Result<Json<R>, ApiFailure>
where
    F: FnOnce(Q, Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<R, ApiError>>,
    R: Serialize,
{
    match body {
        Ok(Json(request)) => operation(request, client.0)
            .await
            .map(Json)
            .map_err(ApiFailure),
        Err(rejection) => Err(ApiFailure(
            authority
                .refuse_request(action, client.0, rejection_error(&rejection))
                .await,
        )),
    }
}

async fn server_info(State(authority): State<Authority>) -> impl IntoResponse {
    Json(authority.server_info())
}

async fn verdict(
    State(authority): State<Authority>,
    client: ClientAddress,
    body: Result<Json<VerdictRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiFailure> {
    let service = authority.clone();
    with_body(
        &authority,
        "verdict",
        client,
        body,
        move |request, client| async move { service.verdict(&request, client).await },
    )
    .await
}

async fn renew(
    State(authority): State<Authority>,
    client: ClientAddress,
    body: Result<Json<RenewRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiFailure> {
    let service = authority.clone();
    with_body(
        &authority,
        "renew",
        client,
        body,
        move |request, client| async move { service.renew(&request, client).await },
    )
    .await
}

async fn complete(
    State(authority): State<Authority>,
    client: ClientAddress,
    body: Result<Json<CompleteRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiFailure> {
    let service = authority.clone();
    with_body(
        &authority,
        "complete",
        client,
        body,
        move |request, client| async move { service.complete(&request, client).await },
    )
    .await
}

async fn resume(
    State(authority): State<Authority>,
    client: ClientAddress,
    body: Result<Json<ResumeRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiFailure> {
    let service = authority.clone();
    with_body(
        &authority,
        "resume",
        client,
        body,
        move |request, client| async move { service.resume(&request, client).await },
    )
    .await
}

async fn receipt(
    State(authority): State<Authority>,
    client: ClientAddress,
    body: Result<Json<ReceiptRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiFailure> {
    let service = authority.clone();
    with_body(
        &authority,
        "receipt",
        client,
        body,
        move |request, client| async move { service.receipt(&request, client).await },
    )
    .await
}
