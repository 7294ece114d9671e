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

mod load;
pub mod secret;

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
    /// (`postgres://user:password@host:5432/outdial`); the scheme chooses the store. A
    /// secret-bearing value: shown with its password redacted.
    pub database: SecretUrl,
    /// PostgreSQL connection pool size per instance.
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
    /// Twilio account.
    pub twilio: TwilioSettings,
    /// Dialer pacing.
    pub dialer: DialerSettings,
    /// `text` or `json` logs.
    pub log_format: String,
    /// Operator file of state calling rules (TOML, the format of the built-in
    /// `crates/outdial-core/data/state-rules.toml`); its states replace the built-in ones.
    pub state_rules_file: Option<PathBuf>,
    /// Safety monitor thresholds (kill switch rules).
    pub safety: SafetySettings,
    /// Where alerts go. With no channel, alerts are stored, logged and listed by the API only.
    pub alerts: AlertSettings,
    /// CRM notification after each concluded attempt (a durable job per attempt).
    pub crm: CrmSettings,
    /// Durable job runner.
    pub jobs: JobsSettings,
}

/// Safety monitor thresholds. Seconds are clock seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetySettings {
    /// Consecutive failed create requests that trip the kill switch (0: off). Default 3.
    pub placement_failures: u32,
    /// Webhook silence, seconds, that trips the global switch while calls go unheard
    /// (0: off). Default 600.
    pub webhook_silence_s: i64,
    /// Unheard calls needed for the silence rule. Default 3.
    pub webhook_silence_min_calls: u32,
    /// Slack after ring timeout + longest call before a live call is ended, seconds.
    /// Default 120.
    pub end_call_slack_s: i64,
    /// Scan the attempt log for cap and overlap anomalies. Default true.
    pub scan_anomalies: bool,
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

/// Durable job runner settings (clock seconds).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// Tries before a job is dead-lettered. Default 8.
    pub max_attempts: u32,
    /// First retry delay, seconds (doubling). Default 30.
    pub backoff_base_s: i64,
    /// Longest retry delay, seconds. Default 3600.
    pub backoff_cap_s: i64,
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
    /// Seconds after which the reconciler asks the provider about an in-flight attempt.
    pub reconcile_after_s: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: SecretUrl::new("outdial.db"),
            database_pool_size: 10,
            listen: "127.0.0.1:8080".parse().expect("valid"),
            public_url: "http://127.0.0.1:8080".into(),
            default_region: "US".into(),
            api_keys: Vec::new(),
            api_keys_file: None,
            twilio: TwilioSettings {
                api_base: "https://api.twilio.com".into(),
                account_sid: String::new(),
                auth_token: SecretString::from(String::new()),
                auth_token_file: None,
                request_timeout_s: 15,
            },
            dialer: DialerSettings {
                calls_per_second: 1.0,
                max_concurrent: 10,
                tick_ms: 200,
                reconcile_after_s: 120,
            },
            log_format: "text".into(),
            state_rules_file: None,
            safety: SafetySettings {
                placement_failures: 3,
                webhook_silence_s: 600,
                webhook_silence_min_calls: 3,
                end_call_slack_s: 120,
                scan_anomalies: true,
            },
            alerts: AlertSettings::default(),
            crm: CrmSettings::default(),
            jobs: JobsSettings {
                max_attempts: 8,
                backoff_base_s: 30,
                backoff_cap_s: 3600,
            },
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

    /// The database location for [`crate::app::open_store`]: a SQLite file path (without
    /// `sqlite://`), or the PostgreSQL URL itself, password included (show it with
    /// [`redact_location`], never as it is).
    pub fn database_path(&self) -> PathBuf {
        let s = self.database.expose_secret();
        PathBuf::from(s.strip_prefix("sqlite://").unwrap_or(s))
    }

    /// Checks what `serve` needs. Errors name the setting and say what is expected.
    pub fn validate_for_serve(&self) -> anyhow::Result<()> {
        self.region()?;
        if self.database_pool_size == 0 {
            bail!("database_pool_size must be at least 1");
        }
        check_database(&self.database)?;
        check_public_url(&self.public_url)?;
        check_api_keys(&self.api_keys)?;
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
        if !(self.dialer.calls_per_second > 0.0 && self.dialer.calls_per_second.is_finite()) {
            bail!(
                "dialer.calls_per_second must be a positive number, got {}",
                self.dialer.calls_per_second
            );
        }
        if self.dialer.max_concurrent == 0 {
            bail!("dialer.max_concurrent must be at least 1");
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

/// Checks `database`: a path, `sqlite://path`, or a PostgreSQL URL the `url` crate can
/// read with a host. Messages show the location redacted.
fn check_database(database: &SecretUrl) -> anyhow::Result<()> {
    let location = database.expose_secret();
    let Some((scheme, _)) = location.split_once("://") else {
        return Ok(());
    };
    match scheme {
        "sqlite" => Ok(()),
        "postgres" | "postgresql" => match url::Url::parse(location) {
            Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
            Ok(_) => bail!("database: the PostgreSQL URL {database} has no host"),
            Err(e) => bail!("database: {database} is not a valid PostgreSQL URL ({e})"),
        },
        _ => bail!(
            "database must be a SQLite file path, sqlite://path or a postgres:// URL, got {database}"
        ),
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
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "o.toml",
                r#"
                database = "file.db"
                api_keys = ["0123456789abcdef0123"]
                [twilio]
                account_sid = "AC0123456789abcdef0123456789abcdef"
                auth_token = "secret-token"
                [dialer]
                calls_per_second = 2.0
                "#,
            )?;
            jail.set_env("OUTDIAL_DATABASE", "env.db");
            let c = Config::load(Some(Path::new("o.toml"))).expect("loads");
            assert_eq!(c.database.expose_secret(), "env.db");
            assert_eq!(c.dialer.calls_per_second, 2.0);
            assert_eq!(c.dialer.max_concurrent, 10);
            c.validate_for_serve().expect("valid");
            let dbg = format!("{c:?}");
            assert!(!dbg.contains("secret-token"), "secret in Debug: {dbg}");
            Ok(())
        });
    }

    /// A valid base for validation tests.
    fn valid() -> Config {
        let mut c = Config {
            api_keys: vec![SecretString::from("0123456789abcdef0123".to_string())],
            ..Config::default()
        };
        c.twilio.account_sid = "AC0123456789abcdef0123456789abcdef".into();
        c.twilio.auth_token = SecretString::from("t".to_string());
        c
    }

    #[test]
    fn secrets_load_from_the_environment_as_their_exact_text() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("o.toml", "[twilio]\nauth_token = 987654321987\n")?;
            let c = Config::load(Some(Path::new("o.toml"))).expect("numeric TOML secret");
            assert_eq!(c.twilio.auth_token.expose_secret(), "987654321987");

            for (var, value) in [
                ("OUTDIAL_TWILIO__AUTH_TOKEN", "0987654321987"),
                ("OUTDIAL_ALERTS__EMAIL__PASSWORD", " 1.50 "),
                ("OUTDIAL_CRM__BEARER_TOKEN", "\"quoted\""),
                ("OUTDIAL_CRM__WEBHOOK_URL", "true"),
                ("OUTDIAL_ALERTS__CHAT_WEBHOOK_URL", "{a=b}"),
                ("OUTDIAL_DATABASE", "0042"),
            ] {
                jail.set_env(var, value);
            }
            jail.set_env("OUTDIAL_ALERTS__EMAIL__SMTP_URL", "smtp://127.0.0.1:25");
            jail.set_env("OUTDIAL_ALERTS__EMAIL__FROM", "a@example.com");
            jail.set_env("OUTDIAL_ALERTS__EMAIL__TO", "[b@example.com]");
            let c = Config::load(None).expect("loads");
            assert_eq!(c.twilio.auth_token.expose_secret(), "0987654321987");
            let email = c.alerts.email.as_ref().expect("email");
            assert_eq!(email.password.as_ref().unwrap().expose_secret(), " 1.50 ");
            assert_eq!(email.smtp_url.expose_secret(), "smtp://127.0.0.1:25");
            assert_eq!(
                c.crm.bearer_token.as_ref().unwrap().expose_secret(),
                "\"quoted\""
            );
            assert_eq!(c.crm.webhook_url.as_ref().unwrap().expose_secret(), "true");
            assert_eq!(
                c.alerts.chat_webhook_url.as_ref().unwrap().expose_secret(),
                "{a=b}"
            );
            assert_eq!(c.database_path(), PathBuf::from("0042"));

            // One key as it is, or a list (quoted elements exact, numbers as digits).
            jail.set_env("OUTDIAL_API_KEYS", "9876543210987654321");
            let c = Config::load(None).expect("one numeric key");
            let keys: Vec<&str> = c.api_keys.iter().map(|k| k.expose_secret()).collect();
            assert_eq!(keys, ["9876543210987654321"]);
            jail.set_env(
                "OUTDIAL_API_KEYS",
                "[\"0011223344556677\", 98765432109876543]",
            );
            let c = Config::load(None).expect("a list of keys");
            let keys: Vec<&str> = c.api_keys.iter().map(|k| k.expose_secret()).collect();
            assert_eq!(keys, ["0011223344556677", "98765432109876543"]);
            Ok(())
        });
    }

    #[test]
    fn load_errors_never_show_a_secret() {
        figment::Jail::expect_with(|jail| {
            for (name, text) in [
                ("syntax.toml", "[twilio]\nauth_token = \"PLANTED-1234\n"),
                ("float.toml", "[twilio]\nauth_token = 31415.9265\n"),
                ("table.toml", "[alerts]\nemail = \"smtps://u:PLANTED-1234@h\"\n"),
                ("list.toml", "api_keys = \"PLANTED-1234\"\n"),
                (
                    "next.toml",
                    "[twilio]\nauth_token = \"PLANTED-1234\"\n[dialer]\ncalls_per_second = \"fast\"\n",
                ),
            ] {
                jail.create_file(name, text)?;
                let err = format!("{:#}", Config::load(Some(Path::new(name))).unwrap_err());
                assert!(!err.contains("PLANTED"), "{name}: {err}");
                assert!(!err.contains("31415"), "{name}: {err}");
                assert!(err.contains(name), "{name} not named: {err}");
            }
            jail.set_env("OUTDIAL_ALERTS__EMAIL", "smtps://u:PLANTED-1234@h");
            let err = format!("{:#}", Config::load(None).unwrap_err());
            assert!(!err.contains("PLANTED"), "{err}");
            assert!(
                err.contains("ALERTS.EMAIL") && err.contains("OUTDIAL_"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn api_keys_need_sixteen_visible_characters_and_no_edge_whitespace() {
        for (key, ok, expect) in [
            ("0123456789abcdef", true, ""),
            ("0123456789abcde", false, "15 non-whitespace characters"),
            ("                ", false, "blank"),
            ("\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t", false, "blank"),
            (" 0123456789abcdef", false, "whitespace"),
            ("0123456789abcdef\n", false, "whitespace"),
            ("0123 4567 89ab cde", false, "15 non-whitespace"),
        ] {
            let c = Config {
                api_keys: vec![
                    SecretString::from("0123456789abcdef0123".to_string()),
                    SecretString::from(key.to_string()),
                ],
                ..valid()
            };
            match c.validate_for_serve() {
                Ok(()) => assert!(ok, "{key:?} accepted"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(!ok, "{key:?} refused: {e}");
                    assert!(
                        e.contains("api_keys: key 2 of 2") && e.contains(expect),
                        "{e}"
                    );
                    if !key.trim().is_empty() {
                        assert!(!e.contains(key.trim()), "key shown: {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn public_url_is_a_plain_http_base_url() {
        for (url, ok, expect) in [
            ("https://dialer.example.com", true, ""),
            ("http://127.0.0.1:8080", true, ""),
            ("https://example.com/outdial", true, ""),
            ("https://dialer.example.com/", false, "slash"),
            ("https://dialer example.com", false, "whitespace"),
            ("https://dialer.example.com ", false, "whitespace"),
            ("https://dialer.example.com?x=1", false, "query"),
            ("https://dialer.example.com/?", false, "query"),
            ("https://dialer.example.com#top", false, "fragment"),
            (
                "https://user:PLANTED-pw@dialer.example.com",
                false,
                "user info",
            ),
            (
                "https://PLANTED-user@dialer.example.com",
                false,
                "user info",
            ),
            ("ftp://dialer.example.com", false, "http"),
            ("dialer.example.com", false, "not a URL"),
            ("https://", false, "not a URL"),
        ] {
            let c = Config {
                public_url: url.into(),
                ..valid()
            };
            match c.validate_for_serve() {
                Ok(()) => assert!(ok, "{url:?} accepted"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(!ok, "{url:?} refused: {e}");
                    assert!(e.contains("public_url") && e.contains(expect), "{url}: {e}");
                    assert!(!e.contains("PLANTED"), "user info shown: {e}");
                }
            }
        }
    }

    #[test]
    fn the_example_file_is_valid() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "example.toml",
                include_str!("../../../outdial.example.toml"),
            )?;
            let c = Config::load(Some(Path::new("example.toml"))).expect("example loads");
            assert_eq!(c.dialer.calls_per_second, 1.0);
            assert_eq!(c.twilio.account_sid, "AC00000000000000000000000000000000");
            Ok(())
        });
    }

    #[test]
    fn bad_config_names_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("o.toml", "dialer = { calls_per_second = \"fast\" }")?;
            let err = Config::load(Some(Path::new("o.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("calls_per_second"), "{err}");
            jail.create_file("p.toml", "databse = \"x\"")?;
            let err = Config::load(Some(Path::new("p.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("databse"), "{err}");
            let mut c = Config {
                api_keys: vec![SecretString::from("0123456789abcdef0123".to_string())],
                ..Config::default()
            };
            c.twilio.account_sid = "ACnope".into();
            let err = c.validate_for_serve().unwrap_err().to_string();
            assert!(err.contains("twilio.account_sid"), "{err}");
            Ok(())
        });
        assert!(Config::load(Some(Path::new("/nonexistent/o.toml"))).is_err());
    }

    #[test]
    fn bad_alert_channels_stop_start_up_naming_the_setting() {
        figment::Jail::expect_with(|jail| {
            let base = r#"
                api_keys = ["0123456789abcdef0123"]
                [twilio]
                account_sid = "AC0123456789abcdef0123456789abcdef"
                auth_token = "secret-token"
            "#;
            jail.create_file(
                "a.toml",
                &format!("{base}\n[alerts.email]\nsmtp_url = \"smtp://127.0.0.1:25\"\nfrom = \"not an address\"\nto = [\"ops@example.com\"]\n"),
            )?;
            let c = Config::load(Some(Path::new("a.toml"))).expect("loads");
            let err = format!("{:#}", c.validate_for_serve().unwrap_err());
            assert!(
                err.contains("alerts.email") && err.contains("from"),
                "{err}"
            );
            jail.create_file(
                "b.toml",
                &format!("{base}\n[alerts]\nchat_webhook_url = \"hooks.example.com/x\"\n"),
            )?;
            let c = Config::load(Some(Path::new("b.toml"))).expect("loads");
            let err = format!("{:#}", c.validate_for_serve().unwrap_err());
            assert!(err.contains("alerts.chat_webhook_url"), "{err}");
            jail.create_file(
                "c.toml",
                &format!("{base}\n[alerts]\nchat_webhook_url = \"https://hooks.example.com/T0/secret\"\n[crm]\nwebhook_url = \"https://crm.example.com/h\"\n"),
            )?;
            let c = Config::load(Some(Path::new("c.toml"))).expect("loads");
            c.validate_for_serve().expect("valid channels");
            let shown = format!("{c:?}");
            assert!(!shown.contains("secret"), "webhook URL shown: {shown}");
            let engine_cfg = crate::app::engine_config(&c, "x").unwrap();
            assert_eq!(engine_cfg.alert_channels, vec!["alert.chat".to_string()]);
            assert_eq!(
                engine_cfg.post_call_jobs,
                vec!["crm.attempt_concluded".to_string()]
            );
            Ok(())
        });
    }
}
