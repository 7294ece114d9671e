//! [`AppState`]: what every handler and extractor reads.

use crate::guard::Rejections;
use crate::server::HttpLimits;
use outdial_engine::Engine;
use secrecy::SecretString;
use std::sync::Arc;

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Twilio auth token used to verify `X-Twilio-Signature`; `None`: Twilio is not
    /// configured (a Bland-only team) and the Twilio status-callback route answers 404.
    pub twilio_auth_token: Option<SecretString>,
    /// Bland webhook signing secret used to verify `X-Webhook-Signature`; `None`: Bland is
    /// not configured and its webhook route answers 404.
    pub bland_webhook_secret: Option<SecretString>,
    /// Public base URL as Twilio reaches this server (no trailing slash); signatures are
    /// computed over it plus the request's path and query.
    pub public_url: String,
    /// Accepted admin API keys.
    pub api_keys: Arc<Vec<SecretString>>,
    /// Timeouts and limits (the router uses the body read and request timeouts).
    pub limits: HttpLimits,
    /// Counters and log throttles of refused requests.
    pub rejections: Arc<Rejections>,
    /// Networks whose peers may scrape `GET /metrics` without the API key (empty: every
    /// scrape needs it). The peer is the TCP connection's remote address, not a forwarded
    /// header.
    pub metrics_anonymous_from: Arc<Vec<ipnet::IpNet>>,
    /// Region for numbers sent to lead intake without a country code (the config's
    /// `default_region`, as for `outdial import`).
    pub default_region: outdial_core::Region,
    /// The dashboard's open sessions (in memory; see [`crate::dashboard::session`]).
    pub sessions: Arc<crate::dashboard::Sessions>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .finish_non_exhaustive()
    }
}
