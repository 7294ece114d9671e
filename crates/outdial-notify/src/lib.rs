//! # outdial-notify
//!
//! Delivers alerts (the dialer stopped, a job was dead-lettered) and post-call notifications
//! through [`Channel`]s:
//!
//! - [`SmtpChannel`]: a plain-text mail over SMTP (lettre, tokio, rustls);
//! - [`ChatWebhookChannel`]: a Slack-compatible incoming webhook (`{"text": …}`);
//! - [`JsonWebhookChannel`]: a JSON POST to an HTTP endpoint (a CRM), optionally with a bearer
//!   token.
//!
//! Every failure is a [`SendError`], either [`SendError::Transient`] (worth retrying later:
//! SMTP 4xx, HTTP 408/429/5xx, connection failures, timeouts) or [`SendError::Permanent`]
//! (retrying the same message will fail the same way: SMTP 5xx, other HTTP 4xx). A channel
//! never retries by itself; the caller (the durable job runner) owns the retry policy.
//!
//! Secrets (SMTP password, webhook URLs, bearer tokens) are held as
//! [`secrecy::SecretString`]s and never appear in `Debug` output, error messages or logs: a
//! webhook URL is shown as its scheme and host only ([`redact_url`]).

use std::fmt::Debug;

use async_trait::async_trait;

mod smtp;
mod webhook;

pub use smtp::{SmtpChannel, SmtpConfig, SmtpConfigError};
pub use webhook::{
    redact_url, ChatWebhookChannel, JsonWebhookChannel, WebhookConfigError, DEFAULT_WEBHOOK_TIMEOUT,
};

/// One notification, whatever the channel.
///
/// Mail and chat channels send `subject` and `body` as text; JSON receivers also get
/// `fields`, structured data such as `{"lead_id": 7, "disposition": "SALE"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// One line: the mail subject, the bold first line of a chat message.
    pub subject: String,
    /// Plain text, may span lines.
    pub body: String,
    /// Structured data for JSON receivers (`serde_json::Value::Null` when there is none).
    pub fields: serde_json::Value,
}

impl Message {
    /// A message without structured fields (`fields` is `null`).
    pub fn new(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            body: body.into(),
            fields: serde_json::Value::Null,
        }
    }

    /// The same message with `fields` set.
    pub fn with_fields(mut self, fields: serde_json::Value) -> Self {
        self.fields = fields;
        self
    }
}

/// Why a message was not delivered.
///
/// `code` is short and stable, for metrics and logs: `smtp-421`, `smtp-550` (the SMTP reply
/// code), `http-503`, `http-404` (the HTTP status), `connect` (no connection could be made),
/// `timeout`, `tls`, `http` (the connection broke after sending), `smtp-protocol` (an
/// unreadable SMTP reply), `message` (the message could not be built). `message` is a
/// human-readable description that never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: SMTP 4xx, HTTP 408/429/5xx, connection failures, timeouts.
    #[error("transient failure ({code}): {message}")]
    Transient {
        /// Short stable code (`smtp-451`, `http-503`, `connect`, `timeout`, …).
        code: String,
        /// Human-readable description, without secrets.
        message: String,
    },
    /// Retrying the same message will fail the same way: SMTP 5xx, HTTP 4xx other than
    /// 408/429, a message that cannot be built.
    #[error("permanent failure ({code}): {message}")]
    Permanent {
        /// Short stable code (`smtp-550`, `http-404`, `message`, …).
        code: String,
        /// Human-readable description, without secrets.
        message: String,
    },
}

impl SendError {
    /// A [`SendError::Transient`].
    pub fn transient(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Transient {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A [`SendError::Permanent`].
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The short stable code (`smtp-550`, `http-503`, `connect`, `timeout`, …).
    pub fn code(&self) -> &str {
        match self {
            Self::Transient { code, .. } | Self::Permanent { code, .. } => code,
        }
    }

    /// The human-readable description.
    pub fn message(&self) -> &str {
        match self {
            Self::Transient { message, .. } | Self::Permanent { message, .. } => message,
        }
    }

    /// True for [`SendError::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// Somewhere a [`Message`] can be delivered.
#[async_trait]
pub trait Channel: Send + Sync + Debug {
    /// The channel's configured name (for logs and metrics, e.g. `ops-mail`).
    fn name(&self) -> &str;

    /// Delivers `msg` once. Never retries; see [`SendError`] for what to do on failure.
    async fn send(&self, msg: &Message) -> Result<(), SendError>;
}
