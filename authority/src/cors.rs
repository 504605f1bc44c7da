//! Which other origins may call the API from a browser: none unless told. The page served by
//! the authority itself needs no CORS; an Isolated Web App (`isolated-app://<ID>`) is another
//! origin and is allowed by name (`serve --allow-origin`), nothing wider.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// One web origin, `scheme://host[:port]`, exactly as a browser sends it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin(String);

/// Why a text is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a web origin (scheme://host[:port], nothing after it): {reason}")]
pub struct OriginError {
    text: String,
    reason: &'static str,
}

impl FromStr for AllowedOrigin {
    type Err = OriginError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |reason| OriginError {
            text: text.to_owned(),
            reason,
        };
        let (scheme, host) = text.split_once("://").ok_or_else(|| refuse("no `://`"))?;
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && scheme
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return Err(refuse(
                "the scheme must be lowercase letters, digits, + - .",
            ));
        }
        if host.is_empty() {
            return Err(refuse("no host"));
        }
        // A browser's Origin never has a path, query, user or wildcard; `*` would allow all.
        if !host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:[]".contains(c))
        {
            return Err(refuse(
                "the host may hold only lowercase letters, digits, - . : [ ] (no path, no *)",
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `router` answering CORS (preflight and responses) for exactly `origins`; unchanged when
/// there are none.
pub fn allow_origins(router: Router, origins: &[AllowedOrigin]) -> Router {
    let values: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(&origin.0).ok())
        .collect();
    if values.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::ACCEPT])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_as_browsers_send_them() {
        for good in [
            "isolated-app://amfcf7c4bmpbjbmq4h4yptcobves56hfdyr7tm3doxqvfmsk5ss6maacai",
            "https://renew.example.gov.tw",
            "http://127.0.0.1:8080",
        ] {
            assert_eq!(
                good.parse::<AllowedOrigin>().map(|o| o.to_string()),
                Ok(good.into())
            );
        }
        for bad in [
            "*",
            "isolated-app://",
            "https://renew.example.gov.tw/",
            "https://renew.example.gov.tw/path",
            "HTTPS://renew.example.gov.tw",
            "https://*.example.gov.tw",
            "renew.example.gov.tw",
            "https://user@renew.example.gov.tw",
        ] {
            assert!(bad.parse::<AllowedOrigin>().is_err(), "{bad}");
        }
    }

    const APP: &str = "isolated-app://amfcf7c4bmpbjbmq4h4yptcobves56hfdyr7tm3doxqvfmsk5ss6maacai";

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    async fn preflight(
        router: Router,
        origin: &str,
    ) -> TestResult<axum::http::Response<axum::body::Body>> {
        use tower::ServiceExt;
        let request = axum::http::Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/v1/verdict")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(axum::body::Body::empty())?;
        Ok(router.oneshot(request).await?)
    }

    fn router() -> Router {
        Router::new().route("/api/v1/verdict", axum::routing::post(|| async { "{}" }))
    }

    fn allowed(response: &axum::http::Response<axum::body::Body>) -> Option<&str> {
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .and_then(|value| value.to_str().ok())
    }

    #[tokio::test]
    async fn only_the_named_origin_is_answered() -> TestResult {
        let origins: Vec<AllowedOrigin> = APP.parse().into_iter().collect();
        let answer = preflight(allow_origins(router(), &origins), APP).await?;
        assert_eq!(allowed(&answer), Some(APP));
        let methods = answer.headers().get(header::ACCESS_CONTROL_ALLOW_METHODS);
        assert!(methods
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.contains("POST")));
        let other = "isolated-app://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let refused = preflight(allow_origins(router(), &origins), other).await?;
        assert_eq!(allowed(&refused), None);
        let public = preflight(allow_origins(router(), &origins), "https://evil.example").await?;
        assert_eq!(allowed(&public), None);
        Ok(())
    }

    #[tokio::test]
    async fn no_origins_means_no_cors() -> TestResult {
        let answer = preflight(allow_origins(router(), &[]), APP).await?;
        assert_eq!(allowed(&answer), None);
        Ok(())
    }
}
