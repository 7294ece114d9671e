//! HTTP channels: [`ChatWebhookChannel`] (Slack-compatible) and [`JsonWebhookChannel`].
//!
//! Both POST JSON with reqwest (rustls), follow no redirects, and classify the answer alike:
//!
//! | what happened | result |
//! |---|---|
//! | HTTP 2xx | delivered |
//! | HTTP 408, 429, 5xx | `Transient`, code `http-<status>` |
//! | any other HTTP status (4xx, 3xx, 1xx) | `Permanent`, code `http-<status>` |
//! | the request timed out | `Transient`, `timeout` |
//! | no connection could be made (refused, DNS, TLS) | `Transient`, `connect` |
//! | the connection broke after sending | `Transient`, `http` |
//!
//! The URL is a secret (a Slack webhook URL is its own credential): it is kept in a
//! [`SecretString`], and logs, errors and `Debug` show only [`redact_url`]'s
//! `scheme://host[:port]`. reqwest errors are stripped of their URL before use.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use url::Url;

use crate::{Channel, Message, SendError};

/// Default timeout of one webhook request (connect through reading the answer).
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest part of an error answer's body kept in a [`SendError`] message, in characters.
const MAX_BODY_CHARS: usize = 200;

/// `scheme://host[:port]` of `url`, without user, password, path or query: what may be
/// logged of a secret URL. `[unparsable URL]` when it is not a URL.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            (None, _) => format!("{}://", u.scheme()),
        },
        Err(_) => "[unparsable URL]".to_owned(),
    }
}

/// Why a webhook channel could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    /// The URL is not an absolute `http`/`https` URL with a host. `url` is redacted.
    #[error("webhook URL {url} is not usable: {reason}")]
    Url {
        /// The URL as [`redact_url`] shows it.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The timeout is zero.
    #[error("webhook timeout must be greater than zero")]
    ZeroTimeout,
    /// The HTTP client could not be built (TLS back-end initialisation).
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

/// The validated URL and client shared by both channels.
#[derive(Clone)]
struct Endpoint {
    url: SecretString,
    shown: String,
    http: reqwest::Client,
}

impl Endpoint {
    fn new(url: SecretString, timeout: Duration) -> Result<Self, WebhookConfigError> {
        let shown = redact_url(url.expose_secret());
        let bad = |reason: &str| WebhookConfigError::Url {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        if timeout.is_zero() {
            return Err(WebhookConfigError::ZeroTimeout);
        }
        let parsed = Url::parse(url.expose_secret().trim())
            .map_err(|e| bad(&format!("not an absolute URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("scheme must be http or https"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("outdial-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookConfigError::HttpClient(reqwest_chain(e)))?;
        Ok(Self {
            url: SecretString::from(url.expose_secret().trim()),
            shown,
            http,
        })
    }

    /// POSTs `body` as JSON (with `Authorization: Bearer` when `token` is set) and
    /// classifies the answer (see the module table).
    async fn post(&self, body: &Value, token: Option<&SecretString>) -> Result<(), SendError> {
        let mut req = self.http.post(self.url.expose_secret()).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose_secret());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| classify_transport(e, &self.shown))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let excerpt: String = text.trim().chars().take(MAX_BODY_CHARS).collect();
        let message = if excerpt.is_empty() {
            format!("{} answered HTTP {status}", self.shown)
        } else {
            format!("{} answered HTTP {status}: {excerpt}", self.shown)
        };
        Err(classify_status(status, message))
    }
}

/// HTTP 408/429/5xx → transient; anything else that is not 2xx → permanent.
fn classify_status(status: StatusCode, message: String) -> SendError {
    let code = format!("http-{}", status.as_u16());
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        SendError::transient(code, message)
    } else {
        SendError::permanent(code, message)
    }
}

/// A reqwest transport error (its URL removed) → a transient [`SendError`].
fn classify_transport(e: reqwest::Error, shown: &str) -> SendError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    let text = reqwest_chain(e);
    let code = if timeout {
        "timeout"
    } else if connect {
        "connect"
    } else {
        "http"
    };
    SendError::transient(code, format!("{shown}: {text}"))
}

/// Display of a reqwest error without its URL, and its sources.
fn reqwest_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
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

/// Escapes `&`, `<`, `>` as Slack's message formatting requires
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chat payload of `msg`: `{"text": "*subject*\nbody"}` (Slack mrkdwn, `&<>` escaped).
pub(crate) fn chat_payload(msg: &Message) -> Value {
    json!({
        "text": format!("*{}*\n{}", slack_escape(msg.subject.trim()), slack_escape(&msg.body)),
    })
}

/// POSTs each [`Message`] to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat,
/// Google Chat accept the same body) as `{"text": "*subject*\nbody"}`; `fields` are not sent.
/// Failures: see the module table.
#[derive(Clone)]
pub struct ChatWebhookChannel {
    name: String,
    endpoint: Endpoint,
}

impl fmt::Debug for ChatWebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatWebhookChannel")
            .field("name", &self.name)
            .field("url", &self.endpoint.shown)
            .finish_non_exhaustive()
    }
}

impl ChatWebhookChannel {
    /// A channel named `name` posting to `url` (a secret), each request bounded by `timeout`
    /// ([`DEFAULT_WEBHOOK_TIMEOUT`] is a sensible value).
    ///
    /// Errors: [`WebhookConfigError::Url`] (not an absolute http/https URL with a host),
    /// [`WebhookConfigError::ZeroTimeout`], [`WebhookConfigError::HttpClient`].
    pub fn new(
        name: impl Into<String>,
        url: SecretString,
        timeout: Duration,
    ) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            name: name.into(),
            endpoint: Endpoint::new(url, timeout)?,
        })
    }
}

#[async_trait]
impl Channel for ChatWebhookChannel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let result = self.endpoint.post(&chat_payload(msg), None).await;
        match &result {
            Ok(()) => {
                tracing::info!(channel = %self.name, url = %self.endpoint.shown, "chat message sent")
            }
            Err(e) => {
                tracing::warn!(channel = %self.name, error = %e, "chat message not sent")
            }
        }
        result
    }
}

/// The JSON payload of `msg`: `{"subject": …, "body": …, "fields": …}`.
pub(crate) fn json_payload(msg: &Message) -> Value {
    json!({
        "subject": msg.subject,
        "body": msg.body,
        "fields": msg.fields,
    })
}

/// POSTs each [`Message`] as JSON to an HTTP endpoint (a CRM, an automation tool):
/// the whole message, `{"subject": "…", "body": "…", "fields": {…}}` (`fields` is `null`
/// when the message has none), with `Content-Type: application/json` and, when a token is
/// set, `Authorization: Bearer <token>`. The envelope is always the same shape, so a
/// receiver can rely on `subject` and `body` and read its data under `fields`.
/// Failures: see the module table.
#[derive(Clone)]
pub struct JsonWebhookChannel {
    name: String,
    endpoint: Endpoint,
    bearer_token: Option<SecretString>,
}

impl fmt::Debug for JsonWebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonWebhookChannel")
            .field("name", &self.name)
            .field("url", &self.endpoint.shown)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl JsonWebhookChannel {
    /// A channel named `name` posting to `url` (treated as a secret) with an optional bearer
    /// token, each request bounded by `timeout`.
    ///
    /// Errors: as [`ChatWebhookChannel::new`].
    pub fn new(
        name: impl Into<String>,
        url: SecretString,
        bearer_token: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, WebhookConfigError> {
        Ok(Self {
            name: name.into(),
            endpoint: Endpoint::new(url, timeout)?,
            bearer_token: bearer_token.filter(|t| !t.expose_secret().trim().is_empty()),
        })
    }
}

#[async_trait]
impl Channel for JsonWebhookChannel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let result = self
            .endpoint
            .post(&json_payload(msg), self.bearer_token.as_ref())
            .await;
        match &result {
            Ok(()) => {
                tracing::info!(channel = %self.name, url = %self.endpoint.shown, "JSON notification sent")
            }
            Err(e) => {
                tracing::warn!(channel = %self.name, error = %e, "JSON notification not sent")
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XXXXSECRET"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/x?token=abc"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(redact_url("not a url with secret"), "[unparsable URL]");
    }

    #[test]
    fn bad_urls_are_refused_without_leaking_them() {
        for url in [
            "ftp://example.com/SECRET",
            "hooks/SECRET",
            "https://exa mple.com/SECRET",
        ] {
            let err =
                ChatWebhookChannel::new("chat", SecretString::from(url), DEFAULT_WEBHOOK_TIMEOUT)
                    .unwrap_err();
            assert!(
                matches!(err, WebhookConfigError::Url { .. }),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
        let err = JsonWebhookChannel::new(
            "crm",
            SecretString::from("https://crm.example.com/hook"),
            None,
            Duration::ZERO,
        )
        .unwrap_err();
        assert_eq!(err, WebhookConfigError::ZeroTimeout);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let chat = ChatWebhookChannel::new(
            "chat",
            SecretString::from("https://hooks.slack.com/services/T0/B0/XXXXSECRET"),
            DEFAULT_WEBHOOK_TIMEOUT,
        )
        .unwrap();
        let crm = JsonWebhookChannel::new(
            "crm",
            SecretString::from("https://crm.example.com/hook?key=SECRETKEY"),
            Some(SecretString::from("TOKENSECRET")),
            DEFAULT_WEBHOOK_TIMEOUT,
        )
        .unwrap();
        let d = format!("{chat:?} {crm:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(
            d.contains("hooks.slack.com") && d.contains("crm.example.com"),
            "{d}"
        );
    }

    #[test]
    fn payload_shapes() {
        let msg = Message::new("Dialer stopped", "credentials refused <20003> & more")
            .with_fields(json!({"reason": "auth"}));
        assert_eq!(
            chat_payload(&msg),
            json!({"text": "*Dialer stopped*\ncredentials refused &lt;20003&gt; &amp; more"})
        );
        assert_eq!(
            json_payload(&msg),
            json!({
                "subject": "Dialer stopped",
                "body": "credentials refused <20003> & more",
                "fields": {"reason": "auth"},
            })
        );
    }

    #[test]
    fn statuses_are_classified() {
        let c = |s: u16| classify_status(StatusCode::from_u16(s).unwrap(), String::new());
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(c(s).is_transient(), "{s}");
            assert_eq!(c(s).code(), format!("http-{s}"));
        }
        for s in [400, 401, 403, 404, 410, 301, 302] {
            assert!(!c(s).is_transient(), "{s}");
        }
    }
}
