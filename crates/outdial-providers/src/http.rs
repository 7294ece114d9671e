//! HTTP helpers shared by the adapters: the API-base check, the client builder, transport
//! error classification, `Retry-After`, and an error's display with its sources.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use url::Url;

use crate::PlaceError;

/// Parses a configured REST base URL: absolute `http`/`https`, no query, fragment or
/// credentials; a trailing `/` is ignored. The error says what is wrong (not the value).
pub(crate) fn parse_api_base(api_base: &str) -> Result<Url, String> {
    let base = Url::parse(api_base.trim_end_matches('/')).map_err(|e| e.to_string())?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(base)
}

/// A client with `request_timeout` for a whole request, connecting bounded by half of it (at
/// most 10 s, so an unreachable host is a connect error, not a timeout), redirects never
/// followed, and outdial's user agent.
pub(crate) fn build_client(
    request_timeout: Duration,
    default_headers: HeaderMap,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout((request_timeout / 2).min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("outdial/", env!("CARGO_PKG_VERSION")))
        .default_headers(default_headers)
        .build()
        .map_err(|e| error_chain(&e))
}

/// A transport error of a create request: `NotSent` when no connection was made (or the
/// request could not even be built), `Ambiguous` otherwise.
pub(crate) fn classify_send_error(e: &reqwest::Error) -> PlaceError {
    let message = error_chain(e);
    if e.is_connect() || e.is_builder() {
        PlaceError::NotSent { message }
    } else {
        PlaceError::Ambiguous { message }
    }
}

/// `Retry-After` as delay-seconds (the HTTP-date form is ignored).
pub(crate) fn retry_after_seconds(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// Display of an error and its sources, `: `-separated.
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

/// A JSON number or numeric string as `u64`.
pub(crate) fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `base` with `segments` appended to its path (each one percent-encoded segment; an empty
/// trailing segment of `base` dropped).
pub(crate) fn join_path(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("api_base validated as an http(s) URL")
        .pop_if_empty()
        .extend(segments);
    url
}

/// Sends `req` and reads the whole body. A transport failure, or a failure reading the body,
/// is [`crate::FetchError::Unavailable`] (callers log it).
pub(crate) async fn send_read(
    req: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), crate::FetchError> {
    let resp = req
        .send()
        .await
        .map_err(|e| crate::FetchError::Unavailable(error_chain(&e)))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| {
        crate::FetchError::Unavailable(format!("reading the response body: {}", error_chain(&e)))
    })?;
    Ok((status, body.to_vec()))
}

/// A create request's answer: HTTP status, `Retry-After` seconds, and the whole body.
pub(crate) struct CreateAnswer {
    pub status: reqwest::StatusCode,
    pub retry_after_s: Option<u64>,
    pub body: Vec<u8>,
}

/// Sends a create request and reads its answer. A transport failure is classified by
/// [`classify_send_error`]; a failure reading the body after the status arrived is
/// `Ambiguous` (the provider may have created the call). Callers log the error.
pub(crate) async fn send_create(req: reqwest::RequestBuilder) -> Result<CreateAnswer, PlaceError> {
    let resp = req.send().await.map_err(|e| classify_send_error(&e))?;
    let status = resp.status();
    let retry_after_s = retry_after_seconds(resp.headers());
    let body = resp.bytes().await.map_err(|e| PlaceError::Ambiguous {
        message: format!(
            "HTTP {status}, then reading the body failed: {}",
            error_chain(&e)
        ),
    })?;
    Ok(CreateAnswer {
        status,
        retry_after_s,
        body: body.to_vec(),
    })
}
