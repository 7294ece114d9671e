//! Configuration: every setting declared once with its default, layered as defaults, then
//! a TOML file, then `OUTDIAL_*` environment variables (the environment wins; nested keys use
//! `__`, e.g. `OUTDIAL_TWILIO__ACCOUNT_SID`). `OUTDIAL_CONFIG`, `OUTDIAL_TEST_POSTGRES_URL` and
//! `OUTDIAL_CARRIER_AUTH_TOKEN` belong to other readers and are not settings.
//!
//! Secrets (the Twilio auth token, the admin API keys, the SMTP password, the chat and CRM
//! webhook URLs, the CRM bearer token, and the database and SMTP URLs, which may carry a
//! password) are typed as secrets when loaded ([`SecretString`], [`SecretUrl`]): any text is
//! a valid secret, all digits included (from the environment a secret is read as its exact
//! text, never parsed as a number); `Debug`, `config check` and every error show them as
//! `[redacted]`, or a URL with its password replaced by `***`; a configuration error never
//! contains a secret's value. Secrets can also come from files
//! (`OUTDIAL_TWILIO__AUTH_TOKEN_FILE`, `OUTDIAL_API_KEYS_FILE`).
//! [`Config::validate_for_serve`] stops start-up with a readable message naming the setting.

use anyhow::{bail, Context};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use outdial_core::Region;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod database;
mod load;
pub mod secret;

pub use database::Database;

use secret::{de_opt_secret, de_secret, de_secret_list, redact, redact_list, redact_opt};
pub use secret::{redact_location, SecretUrl};

/// Fewest non-whitespace characters of an admin API key. A key must also not begin or end
/// with whitespace (a client cannot send that in an `Authorization` header).
pub const MIN_API_KEY_CHARS: usize = 16;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite database file (`outdial.db`, `sqlite://outdial.db`) or PostgreSQL URL
    /// (`postgres://user:password@host:5432/outdial`); the scheme chooses the store, parsed
    /// at load ([`Database::parse`]: another scheme, or a PostgreSQL URL without a host, is
    /// an error). A secret-bearing value: shown with its password redacted.
    pub database: Database,
    /// PostgreSQL connection pool size per instance (every command; `--pool-size` wins).
    pub database_pool_size: u32,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Public base URL the provider uses to reach this server: `http` or `https`, a host,
    /// optionally a port and a path, without user info, query, fragment, whitespace or a
    /// trailing slash. Webhook signatures are checked against it.
    pub public_url: String,
    /// Region for numbers written without a country code (ISO 3166-1 alpha-2).
    pub default_region: String,
    /// Admin API keys (`Authorization: Bearer …`). At least one is required by `serve`, each
    /// of at least [`MIN_API_KEY_CHARS`] non-whitespace characters without leading or
    /// trailing whitespace.
    #[serde(serialize_with = "redact_list", deserialize_with = "de_secret_list")]
    pub api_keys: Vec<SecretString>,
    /// File holding more API keys, one per line.
    pub api_keys_file: Option<PathBuf>,
    /// Networks (CIDR, `10.0.0.0/8`, `127.0.0.1/32`) whose peers may scrape `GET /metrics`
    /// without an API key (`OUTDIAL_METRICS_ANONYMOUS_FROM='["10.0.0.0/8"]'`); empty by
    /// default: every scrape needs the key. The peer is the TCP connection's address (a
    /// proxy in front makes every scrape come from the proxy).
    #[serde(default)]
    pub metrics_anonymous_from: Vec<ipnet::IpNet>,
    /// Twilio account.
    pub twilio: TwilioSettings,
    /// Bland.ai account, when campaigns use Bland (`[bland]`, `OUTDIAL_BLAND__*`); `None`:
    /// no Bland adapter, and the Bland webhook route answers 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bland: Option<BlandSettings>,
    /// Dialer pacing.
    pub dialer: DialerSettings,
    /// `text` or `json` logs.
    pub log_format: String,
    /// Operator file of state calling rules (TOML, the format of the built-in
    /// `crates/outdial-core/data/state-rules.toml`); its states replace the built-in ones.
    pub state_rules_file: Option<PathBuf>,
    /// Safety monitor thresholds (kill switch rules): the engine's own settings, declared
    /// once there with their defaults.
    pub safety: outdial_engine::SafetyConfig,
    /// Where alerts go. With no channel, alerts are stored, logged and listed by the API only.
    pub alerts: AlertSettings,
    /// CRM notification after each concluded attempt (a durable job per attempt).
    pub crm: CrmSettings,
    /// Durable job runner (`max_attempts`, `backoff_base_s`, `backoff_cap_s`): the engine's
    /// own settings, declared once there with their defaults.
    pub jobs: outdial_engine::JobsConfig,
}

/// Alert channels.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// E-mail over SMTP.
    pub email: Option<EmailSettings>,
    /// Slack-compatible incoming webhook URL (secret).
    #[serde(
        default,
        serialize_with = "redact_opt",
        deserialize_with = "de_opt_secret"
    )]
    pub chat_webhook_url: Option<SecretString>,
}

/// SMTP e-mail settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://host:25`, `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`.
    /// Credentials in it (`smtps://user:password@host`) are secret: shown redacted.
    pub smtp_url: SecretUrl,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// SMTP user name.
    pub username: Option<String>,
    /// SMTP password (secret).
    #[serde(
        default,
        serialize_with = "redact_opt",
        deserialize_with = "de_opt_secret"
    )]
    pub password: Option<SecretString>,
    /// Timeout of one delivery, seconds. Default 30.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: u64,
}

fn default_timeout_s() -> u64 {
    30
}

/// CRM webhook settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmSettings {
    /// URL receiving `{"subject", "body", "fields"}` JSON for each concluded attempt (secret).
    #[serde(
        default,
        serialize_with = "redact_opt",
        deserialize_with = "de_opt_secret"
    )]
    pub webhook_url: Option<SecretString>,
    /// Bearer token sent with it (secret).
    #[serde(
        default,
        serialize_with = "redact_opt",
        deserialize_with = "de_opt_secret"
    )]
    pub bearer_token: Option<SecretString>,
}

/// Twilio account settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    /// REST API base URL; point it at the fake carrier in tests.
    pub api_base: String,
    /// Account SID (`AC` + 32 hex digits).
    pub account_sid: String,
    /// Auth token (secret; any text, all digits included).
    #[serde(serialize_with = "redact", deserialize_with = "de_secret")]
    pub auth_token: SecretString,
    /// File holding the auth token (wins over `auth_token`).
    pub auth_token_file: Option<PathBuf>,
    /// Timeout of one REST request, seconds.
    pub request_timeout_s: u64,
    /// Limits of this account (`[twilio.limits]`: `max_concurrent`, `calls_per_hour`,
    /// `calls_per_day`, `calls_per_second`), held across the fleet for every Twilio campaign
    /// on top of the dialer's global pace and in-flight cap. Default: none.
    #[serde(default)]
    pub limits: outdial_engine::ProviderLimits,
}

/// A Bland.ai account (<https://docs.bland.ai>, `reference/bland.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlandSettings {
    /// REST API base URL (default `https://api.bland.ai`); point it at a fake in tests.
    pub api_base: String,
    /// API key, sent as `Authorization` (secret).
    #[serde(serialize_with = "redact", deserialize_with = "de_secret")]
    pub api_key: SecretString,
    /// File holding the API key (wins over `api_key`).
    pub api_key_file: Option<PathBuf>,
    /// The organisation's webhook signing secret: `X-Webhook-Signature` is the hex
    /// HMAC-SHA256 of each webhook's raw body with it (secret;
    /// <https://docs.bland.ai/tutorials/webhook-signing>).
    #[serde(serialize_with = "redact", deserialize_with = "de_secret")]
    pub webhook_secret: SecretString,
    /// File holding the webhook signing secret (wins over `webhook_secret`).
    pub webhook_secret_file: Option<PathBuf>,
    /// Org id, sent as `x-bland-org-id` when set.
    pub org_id: Option<String>,
    /// Timeout of one REST request, seconds. Default 15.
    pub request_timeout_s: u64,
    /// The account's plan (`start`, `build`, `scale`, `enterprise`): its published limits
    /// (calls at once, per rolling hour, per rolling day;
    /// [`outdial_providers::bland::plan::Plan::limits`]) bound every Bland campaign, across
    /// the fleet. `None`: no plan limit.
    pub plan: Option<outdial_providers::bland::plan::Plan>,
    /// Limits of this account (`[bland.limits]`: `max_concurrent`, `calls_per_hour`,
    /// `calls_per_day`, `calls_per_second`); each one given replaces the plan's figure.
    pub limits: outdial_engine::ProviderLimits,
}

impl BlandSettings {
    /// The limits the engine holds the account to: the plan's, each replaced by an explicit
    /// `limits` value.
    pub fn effective_limits(&self) -> outdial_engine::ProviderLimits {
        let plan = self.plan.map(|p| p.limits()).unwrap_or_default();
        outdial_engine::ProviderLimits {
            max_concurrent: self.limits.max_concurrent.or(plan.max_concurrent),
            calls_per_hour: self.limits.calls_per_hour.or(plan.calls_per_hour),
            calls_per_day: self.limits.calls_per_day.or(plan.calls_per_day),
            calls_per_second: self.limits.calls_per_second,
        }
    }
}

impl Default for BlandSettings {
    fn default() -> Self {
        BlandSettings {
            api_base: outdial_providers::bland::client::DEFAULT_API_BASE.into(),
            api_key: SecretString::from(String::new()),
            api_key_file: None,
            webhook_secret: SecretString::from(String::new()),
            webhook_secret_file: None,
            org_id: None,
            request_timeout_s: outdial_providers::bland::client::DEFAULT_REQUEST_TIMEOUT.as_secs(),
            plan: None,
            limits: outdial_engine::ProviderLimits::default(),
        }
    }
}

/// Pacing and loop settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialerSettings {
    /// Calls per second, across campaigns (Twilio's default account CPS is 1).
    pub calls_per_second: f64,
    /// Most attempts in flight at once.
    pub max_concurrent: u32,
    /// Real milliseconds between scheduler ticks.
    pub tick_ms: u64,
    /// How long one tick keeps claiming and dialing due leads, real milliseconds: round
    /// after round while the last claim came back full and capacity remains, each round
    /// sized by the pace ([`outdial_engine::EngineConfig::dial_budget_real_ms`]). So
    /// `calls_per_second` and `max_concurrent` are the ceiling on dialing. 0: one claim of
    /// 20 leads per tick.
    pub dial_budget_ms: u64,
    /// Conclude an attempt (apply the redial decision) inside the request of the webhook
    /// that ended it (`true`), or at the next tick (`false`, the default: the webhook is
    /// answered after one group-committed transaction and the tick concludes the ended
    /// attempt within one tick; see
    /// [`outdial_engine::EngineConfig::conclude_on_ingest`]).
    pub conclude_on_webhook: bool,
    /// Seconds after which the reconciler asks the provider about an in-flight attempt.
    pub reconcile_after_s: i64,
    /// Cadence of singleton maintenance (maintenance lease, reconciler, safety monitor),
    /// clock seconds ([`outdial_engine::EngineConfig::maintenance_every_s`]).
    pub maintenance_every_s: i64,
    /// Least time between two safety-monitor runs on maintenance turns, clock seconds; 0: on
    /// every turn ([`outdial_engine::EngineConfig::monitor_every_s`]).
    pub monitor_every_s: i64,
}

/// Defaults. The dialer's, the safety monitor's and the job runner's come from the engine's
/// own defaults, the request timeout from the Twilio adapter's: each is written once.
impl Default for Config {
    fn default() -> Self {
        let engine = outdial_engine::EngineConfig::default();
        Config {
            database: Database::Sqlite(PathBuf::from("outdial.db")),
            database_pool_size: 10,
            listen: "127.0.0.1:8080".parse().expect("valid"),
            public_url: engine.public_url,
            default_region: "US".into(),
            api_keys: Vec::new(),
            api_keys_file: None,
            metrics_anonymous_from: Vec::new(),
            bland: None,
            twilio: TwilioSettings {
                api_base: outdial_providers::twilio::DEFAULT_API_BASE.into(),
                account_sid: String::new(),
                auth_token: SecretString::from(String::new()),
                auth_token_file: None,
                request_timeout_s: outdial_providers::twilio::DEFAULT_REQUEST_TIMEOUT.as_secs(),
                limits: outdial_engine::ProviderLimits::default(),
            },
            dialer: DialerSettings {
                calls_per_second: engine.calls_per_second,
                max_concurrent: engine.max_concurrent,
                tick_ms: 200,
                dial_budget_ms: 1_000,
                conclude_on_webhook: false,
                reconcile_after_s: engine.reconcile_after_s,
                maintenance_every_s: engine.maintenance_every_s,
                monitor_every_s: engine.monitor_every_s,
            },
            log_format: "text".into(),
            state_rules_file: None,
            safety: engine.safety,
            alerts: AlertSettings::default(),
            crm: CrmSettings::default(),
            jobs: engine.jobs,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given; it must exist), then the environment (where a
    /// secret is its variable's exact text). Errors name the file and the key that could not
    /// be read, and never contain a secret's value.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                bail!("configuration file {} does not exist", f.display());
            }
            load::check_toml_syntax(f)?;
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(load::settings_env());
        for secret in load::secret_env() {
            fig = fig.merge(secret);
        }
        let mut cfg: Config = fig.extract().map_err(|e| {
            let src = file.map_or("environment".to_string(), |f| f.display().to_string());
            anyhow::anyhow!(
                "invalid configuration ({src}): {}",
                load::describe_error(&fig, e)
            )
        })?;
        if let Some(path) = &cfg.twilio.auth_token_file {
            let token = std::fs::read_to_string(path)
                .with_context(|| format!("twilio.auth_token_file {}", path.display()))?;
            cfg.twilio.auth_token = SecretString::from(token.trim().to_owned());
        }
        if let Some(bland) = cfg.bland.as_mut() {
            for (file, secret, key) in [
                (
                    &bland.api_key_file,
                    &mut bland.api_key,
                    "bland.api_key_file",
                ),
                (
                    &bland.webhook_secret_file,
                    &mut bland.webhook_secret,
                    "bland.webhook_secret_file",
                ),
            ] {
                if let Some(path) = file {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("{key} {}", path.display()))?;
                    *secret = SecretString::from(text.trim().to_owned());
                }
            }
        }
        if let Some(path) = &cfg.api_keys_file {
            let keys = std::fs::read_to_string(path)
                .with_context(|| format!("api_keys_file {}", path.display()))?;
            cfg.api_keys.extend(
                keys.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| SecretString::from(l.to_owned())),
            );
        }
        Ok(cfg)
    }

    /// The default region, parsed.
    pub fn region(&self) -> anyhow::Result<Region> {
        self.default_region
            .parse()
            .map_err(|e: String| anyhow::anyhow!("default_region: {e}"))
    }

    /// Whether the Twilio section is in use: its account SID or auth token is set. A team
    /// that calls only through Bland leaves both empty; then no Twilio adapter is built and
    /// the Twilio webhook route answers 404.
    pub fn twilio_configured(&self) -> bool {
        !self.twilio.account_sid.is_empty() || !self.twilio.auth_token.expose_secret().is_empty()
    }

    /// Checks what `serve` needs: at least one provider (Twilio, Bland or both), each one
    /// configured completely. Errors name the setting and say what is expected, never a
    /// secret's value.
    pub fn validate_for_serve(&self) -> anyhow::Result<()> {
        self.region()?;
        if self.database_pool_size == 0 {
            bail!("database_pool_size must be at least 1");
        }
        check_public_url(&self.public_url)?;
        check_api_keys(&self.api_keys)?;
        if self.twilio_configured() {
            let sid = &self.twilio.account_sid;
            if !(sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            {
                bail!("twilio.account_sid must be AC followed by 32 hex digits, got '{sid}'");
            }
            if self.twilio.auth_token.expose_secret().is_empty() {
                bail!("twilio.auth_token is empty (set OUTDIAL_TWILIO__AUTH_TOKEN or twilio.auth_token_file)");
            }
            self.twilio
                .limits
                .validate()
                .map_err(|e| anyhow::anyhow!("twilio.limits.{e}"))?;
        } else if self.bland.is_none() {
            bail!(
                "no provider is configured: set twilio.account_sid and twilio.auth_token \
                 (OUTDIAL_TWILIO__*), or a [bland] section (OUTDIAL_BLAND__*)"
            );
        }
        if let Some(bland) = &self.bland {
            if bland.api_key.expose_secret().trim().is_empty() {
                bail!("bland.api_key is empty (set OUTDIAL_BLAND__API_KEY or bland.api_key_file)");
            }
            if bland.webhook_secret.expose_secret().trim().is_empty() {
                bail!("bland.webhook_secret is empty (set OUTDIAL_BLAND__WEBHOOK_SECRET or bland.webhook_secret_file): without it no Bland webhook can be verified");
            }
            bland
                .limits
                .validate()
                .map_err(|e| anyhow::anyhow!("bland.limits.{e}"))?;
        }
        // Building the adapters checks what is left: API base URLs, timeouts, header values.
        crate::app::providers(self)?;
        if !(self.dialer.calls_per_second > 0.0 && self.dialer.calls_per_second.is_finite()) {
            bail!(
                "dialer.calls_per_second must be a positive number, got {}",
                self.dialer.calls_per_second
            );
        }
        if self.dialer.max_concurrent == 0 {
            bail!("dialer.max_concurrent must be at least 1");
        }
        if self.dialer.maintenance_every_s < 0 || self.dialer.monitor_every_s < 0 {
            bail!("dialer.maintenance_every_s and dialer.monitor_every_s must not be negative");
        }
        if self.log_format != "text" && self.log_format != "json" {
            bail!("log_format must be text or json, got '{}'", self.log_format);
        }
        if self.safety.webhook_silence_s < 0 || self.safety.end_call_slack_s < 0 {
            bail!("safety.webhook_silence_s and safety.end_call_slack_s must not be negative");
        }
        if self.jobs.max_attempts == 0
            || self.jobs.backoff_base_s <= 0
            || self.jobs.backoff_cap_s < self.jobs.backoff_base_s
        {
            bail!("jobs: max_attempts must be at least 1 and 0 < backoff_base_s <= backoff_cap_s");
        }
        // Building the channels validates addresses and URLs.
        crate::app::notify_channels(self)?;
        Ok(())
    }
}

/// `url` with any user info replaced by `***`, for messages (a public URL is not a secret,
/// but user info in it may be one).
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => url.to_owned(),
    }
}

/// Checks `public_url`: an absolute `http`/`https` URL with a host, and nothing Twilio would
/// sign differently or that does not belong in a base URL: no whitespace or control
/// characters, user info, query, fragment, or trailing slash.
fn check_public_url(public_url: &str) -> anyhow::Result<()> {
    let shown = without_userinfo(public_url);
    let refuse = |why: &str| -> anyhow::Result<()> {
        bail!(
            "public_url must be the absolute http(s) base URL the provider reaches this server \
             at, such as https://dialer.example.com; '{shown}' {why}"
        )
    };
    if public_url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return refuse("contains whitespace or a control character");
    }
    let u = match url::Url::parse(public_url) {
        Ok(u) => u,
        Err(e) => return refuse(&format!("is not a URL ({e})")),
    };
    if !matches!(u.scheme(), "http" | "https") {
        return refuse("does not start with http:// or https://");
    }
    if u.host_str().is_none_or(str::is_empty) {
        return refuse("has no host");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return refuse("has user info (user:password@); put no credentials in it");
    }
    if public_url.contains('?') {
        return refuse("has a query string (?…)");
    }
    if public_url.contains('#') {
        return refuse("has a fragment (#…)");
    }
    if public_url.ends_with('/') {
        return refuse("ends with a slash");
    }
    Ok(())
}

/// Checks the admin API keys (see [`MIN_API_KEY_CHARS`]). Messages name the key by its
/// position, never by its value.
fn check_api_keys(keys: &[SecretString]) -> anyhow::Result<()> {
    if keys.is_empty() {
        bail!("api_keys: at least one admin API key is required (set OUTDIAL_API_KEYS or api_keys_file)");
    }
    let total = keys.len();
    for (i, key) in keys.iter().enumerate() {
        let key = key.expose_secret();
        let n = i + 1;
        if key.trim().is_empty() {
            bail!("api_keys: key {n} of {total} is blank");
        }
        if key.trim() != key {
            bail!("api_keys: key {n} of {total} begins or ends with whitespace");
        }
        let chars = key.chars().filter(|c| !c.is_whitespace()).count();
        if chars < MIN_API_KEY_CHARS {
            bail!(
                "api_keys: key {n} of {total} has {chars} non-whitespace characters; at least {MIN_API_KEY_CHARS} are required"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests;
