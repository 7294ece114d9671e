//! [`SmtpChannel`]: plain-text mail over SMTP with lettre (tokio, rustls).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::webhook::redact_url;
use crate::{Channel, Message, SendError};

/// Settings of one SMTP channel.
///
/// `Debug` never prints the password, nor a password in `url`.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Server as a connection URL, as lettre's `AsyncSmtpTransport::from_url` reads it:
    /// - `smtp://host:port`: plain SMTP, no TLS (default port 25; local relays and tests);
    /// - `smtp://host:port?tls=required`: STARTTLS required (default port 587);
    /// - `smtp://host:port?tls=opportunistic`: STARTTLS when offered;
    /// - `smtps://host:port`: TLS from the first byte (default port 465).
    ///
    /// A path (`smtp://host/outdial.example`) sets the EHLO name; credentials in the URL
    /// (`smtps://user:pass@host`) are used unless `username`/`password` are set. TLS
    /// certificates are checked against the web PKI roots (webpki-roots).
    pub url: String,
    /// Sender mailbox: `alerts@example.com` or `Outdial <alerts@example.com>`.
    pub from: String,
    /// Recipient mailboxes, at least one, same syntax as `from`.
    pub to: Vec<String>,
    /// SMTP AUTH user name; used only together with `password`.
    pub username: Option<String>,
    /// SMTP AUTH password.
    pub password: Option<SecretString>,
    /// Seconds allowed for each network step (connect, each command) and for the whole send;
    /// greater than zero.
    pub timeout_s: u64,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact_url(&self.url))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("timeout_s", &self.timeout_s)
            .finish()
    }
}

/// Why an [`SmtpChannel`] could not be built from an [`SmtpConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    /// `url` is not a connection URL lettre understands (scheme, `tls` value, host).
    #[error("SMTP URL '{url}' is not usable: {reason}")]
    Url {
        /// The URL, without credentials.
        url: String,
        /// lettre's reason.
        reason: String,
    },
    /// `from` or one of `to` is not a mailbox.
    #[error("SMTP {field} address '{value}' is not a mail address: {reason}")]
    Address {
        /// `from` or `to`.
        field: &'static str,
        /// The value given.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// `to` is empty.
    #[error("SMTP channel needs at least one recipient in 'to'")]
    NoRecipient,
    /// `username` without `password`, or the reverse.
    #[error("SMTP username and password must be given together")]
    PartialCredentials,
    /// `timeout_s` is zero.
    #[error("SMTP timeout_s must be greater than zero")]
    ZeroTimeout,
}

/// Sends each [`Message`] as one plain-text (UTF-8) mail to every configured recipient.
///
/// One connection per message (no pool). Failures are classified from lettre's errors:
///
/// | what happened | result |
/// |---|---|
/// | a 4xx reply (421, 450, 451, 452, …) | `Transient`, code `smtp-4xx` |
/// | a 5xx reply (550, 553, 554, …) | `Permanent`, code `smtp-5xx` |
/// | a step or the whole send took longer than `timeout_s` | `Transient`, `timeout` |
/// | connection refused or dropped, DNS failure | `Transient`, `connect` |
/// | TLS handshake or certificate failure | `Transient`, `tls` |
/// | an unreadable reply | `Transient`, `smtp-protocol` |
/// | the message cannot be built, lettre's internal client errors | `Permanent`, `message` |
///
/// One rejected recipient fails the whole send (lettre aborts the transaction), so a retry
/// sends to every recipient again.
#[derive(Clone)]
pub struct SmtpChannel {
    name: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url_redacted: String,
    timeout: Duration,
}

impl fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("name", &self.name)
            .field("server", &self.url_redacted)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, SmtpConfigError> {
    value
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| SmtpConfigError::Address {
            field,
            value: value.to_owned(),
            reason: e.to_string(),
        })
}

impl SmtpChannel {
    /// Validates `cfg` and builds the channel named `name`. Makes no connection.
    ///
    /// Errors: [`SmtpConfigError::Url`], [`SmtpConfigError::Address`],
    /// [`SmtpConfigError::NoRecipient`], [`SmtpConfigError::PartialCredentials`],
    /// [`SmtpConfigError::ZeroTimeout`].
    pub fn new(name: impl Into<String>, cfg: SmtpConfig) -> Result<Self, SmtpConfigError> {
        if cfg.timeout_s == 0 {
            return Err(SmtpConfigError::ZeroTimeout);
        }
        let from = parse_mailbox("from", &cfg.from)?;
        if cfg.to.is_empty() {
            return Err(SmtpConfigError::NoRecipient);
        }
        let to = cfg
            .to
            .iter()
            .map(|t| parse_mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        let url_redacted = redact_url(&cfg.url);
        let timeout = Duration::from_secs(cfg.timeout_s);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(cfg.url.trim())
            .map_err(|e| SmtpConfigError::Url {
                url: url_redacted.clone(),
                reason: lettre_chain(&e),
            })?
            .timeout(Some(timeout));
        match (cfg.username, cfg.password) {
            (Some(user), Some(pass)) => {
                builder =
                    builder.credentials(Credentials::new(user, pass.expose_secret().to_owned()));
            }
            (None, None) => {}
            _ => return Err(SmtpConfigError::PartialCredentials),
        }
        Ok(Self {
            name: name.into(),
            from,
            to,
            transport: builder.build(),
            url_redacted,
            timeout,
        })
    }

    fn build(&self, msg: &Message) -> Result<lettre::Message, SendError> {
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .subject(msg.subject.replace(['\r', '\n'], " "));
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| SendError::permanent("message", format!("building the mail: {e}")))
    }
}

#[async_trait]
impl Channel for SmtpChannel {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let mail = self.build(msg)?;
        let sent = tokio::time::timeout(self.timeout, self.transport.send(mail)).await;
        let result = match sent {
            Err(_) => Err(SendError::transient(
                "timeout",
                format!(
                    "sending through {} took longer than {:?}",
                    self.url_redacted, self.timeout
                ),
            )),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify_smtp_error(&e, &self.url_redacted)),
        };
        match &result {
            Ok(()) => tracing::info!(channel = %self.name, "mail sent"),
            Err(e) => tracing::warn!(channel = %self.name, error = %e, "mail not sent"),
        }
        result
    }
}

/// Maps a lettre SMTP error to a [`SendError`] (see the table on [`SmtpChannel`]).
fn classify_smtp_error(e: &lettre::transport::smtp::Error, server: &str) -> SendError {
    let text = lettre_chain(e);
    if let Some(code) = e.status() {
        let code = u16::from(code);
        let message = format!("{server} answered {text}");
        return if e.is_permanent() {
            SendError::permanent(format!("smtp-{code}"), message)
        } else {
            SendError::transient(format!("smtp-{code}"), message)
        };
    }
    if e.is_timeout() {
        return SendError::transient("timeout", format!("{server}: {text}"));
    }
    if e.is_tls() {
        return SendError::transient("tls", format!("{server}: {text}"));
    }
    if e.is_response() {
        return SendError::transient("smtp-protocol", format!("{server}: {text}"));
    }
    if e.is_client() {
        return SendError::permanent("message", format!("{server}: {text}"));
    }
    SendError::transient("connect", format!("{server}: {text}"))
}

/// Display of an error and its sources, `: `-separated, without repeats.
fn lettre_chain(e: &dyn std::error::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> SmtpConfig {
        SmtpConfig {
            url: url.to_owned(),
            from: "Outdial <alerts@example.com>".to_owned(),
            to: vec!["ops@example.com".to_owned()],
            username: None,
            password: None,
            timeout_s: 5,
        }
    }

    #[test]
    fn urls_lettre_understands_are_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com:587?tls=required",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://user:pa%40ss@mail.example.com",
        ] {
            SmtpChannel::new("mail", cfg(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn bad_urls_are_refused_without_leaking_credentials() {
        for url in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=sometimes",
            "not a url",
            "smtps://user:hunter2@",
            "smtp://user:hunter2@mail.example.com?tls=never",
        ] {
            let err = SmtpChannel::new("mail", cfg(url)).unwrap_err();
            assert!(matches!(err, SmtpConfigError::Url { .. }), "{url}: {err}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn bad_addresses_and_settings_are_refused() {
        let mut c = cfg("smtp://127.0.0.1:25");
        c.from = "not an address".into();
        let err = SmtpChannel::new("mail", c).unwrap_err();
        assert!(
            matches!(err, SmtpConfigError::Address { field: "from", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("not an address"), "{err}");

        let mut c = cfg("smtp://127.0.0.1:25");
        c.to = vec!["ops@example.com".into(), "ops@@example".into()];
        let err = SmtpChannel::new("mail", c).unwrap_err();
        assert!(
            matches!(err, SmtpConfigError::Address { field: "to", .. }),
            "{err}"
        );

        let mut c = cfg("smtp://127.0.0.1:25");
        c.to.clear();
        assert_eq!(
            SmtpChannel::new("mail", c).unwrap_err(),
            SmtpConfigError::NoRecipient
        );

        let mut c = cfg("smtp://127.0.0.1:25");
        c.username = Some("u".into());
        assert_eq!(
            SmtpChannel::new("mail", c).unwrap_err(),
            SmtpConfigError::PartialCredentials
        );

        let mut c = cfg("smtp://127.0.0.1:25");
        c.timeout_s = 0;
        assert_eq!(
            SmtpChannel::new("mail", c).unwrap_err(),
            SmtpConfigError::ZeroTimeout
        );
    }

    #[test]
    fn debug_never_prints_secrets() {
        let mut c = cfg("smtps://user:hunter2@mail.example.com");
        c.username = Some("user".into());
        c.password = Some(SecretString::from("s3cret-pw"));
        let cfg_dbg = format!("{c:?}");
        let ch = SmtpChannel::new("mail", c).unwrap();
        let ch_dbg = format!("{ch:?}");
        for d in [cfg_dbg, ch_dbg] {
            assert!(!d.contains("hunter2") && !d.contains("s3cret-pw"), "{d}");
            assert!(d.contains("mail.example.com"), "{d}");
        }
    }
}
