//! Wiring shared by the commands: telemetry, clock, store, providers, engine, HTTP server.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_clock::{Clock, ScaledClock, SystemClock};
use outdial_core::ProviderKind;
use outdial_engine::{Engine, EngineConfig};
use outdial_providers::bland::client::{BlandClient, BlandConfig};
use outdial_providers::twilio::{TwilioClient, TwilioConfig};
use outdial_providers::Provider;
use outdial_store::ForeignDatabase;
use outdial_store::Store;
use outdial_store_sqlite::{OpenMode, SqliteStore};
use secrecy::SecretString;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, Database};

/// Installs the tracing subscriber. `RUST_LOG` wins over `default_filter`.
pub fn init_tracing(json: bool, default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Clock flags shared by `serve`, `carrier` and `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClockArgs {
    /// Run on a simulated clock that reads this instant (RFC 3339) at start.
    #[arg(long, value_parser = parse_rfc3339)]
    pub clock_start: Option<DateTime<Utc>>,
    /// Simulated seconds per real second (with --clock-start).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Real instant (Unix milliseconds) at which the simulated clock read --clock-start;
    /// processes given the same three values agree on the time. Default: now.
    #[arg(long)]
    pub clock_anchor: Option<i64>,
}

/// Parses an RFC 3339 instant into UTC.
pub fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("'{s}' is not an RFC 3339 instant such as 2026-01-05T13:00:00Z: {e}"))
}

impl ClockArgs {
    /// The clock these flags describe: the system clock without --clock-start.
    pub fn clock(&self) -> anyhow::Result<Arc<dyn Clock>> {
        match self.clock_start {
            None => Ok(Arc::new(SystemClock)),
            Some(start) => {
                let anchor = self
                    .clock_anchor
                    .unwrap_or_else(outdial_clock::real_unix_ms);
                let c = ScaledClock::new(start, anchor, self.speed).map_err(anyhow::Error::msg)?;
                Ok(Arc::new(c))
            }
        }
    }
}

/// The state calling rules in force: the built-in data, with the operator's file (if
/// configured) replacing the states it names. A bad file stops start-up naming the state and
/// field.
pub fn state_rules(cfg: &Config) -> anyhow::Result<outdial_core::compliance::StateRules> {
    let builtin = outdial_core::compliance::StateRules::builtin();
    match &cfg.state_rules_file {
        None => Ok(builtin),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("state_rules_file {}", path.display()))?;
            let overrides = outdial_core::compliance::StateRules::from_toml_str(&text)
                .map_err(|e| anyhow::anyhow!("state_rules_file {}: {e}", path.display()))?;
            Ok(builtin.merge(&overrides))
        }
    }
}

/// Opens the store `location` names ([`Database::parse`]: a PostgreSQL URL, pool of 10
/// connections, or a SQLite file path; `mode` says whether a missing file may be created).
/// For callers holding a path; commands open through [`StoreArgs::open`].
pub async fn open_store(location: &Path, mode: OpenMode) -> anyhow::Result<Arc<dyn Store>> {
    let database = Database::parse(&location.to_string_lossy()).map_err(anyhow::Error::msg)?;
    open_database(&database, mode, 10, ForeignDatabase::Refuse).await
}

/// Opens `database`: PostgreSQL with a pool of `pool_size` connections, or the SQLite file
/// (`mode` says whether a missing file may be created); `foreign` says what to do with a
/// database that holds tables but no outdial migrations (refused unless
/// `--adopt-database`). Errors name the location, its password redacted.
pub async fn open_database(
    database: &Database,
    mode: OpenMode,
    pool_size: u32,
    foreign: ForeignDatabase,
) -> anyhow::Result<Arc<dyn Store>> {
    match database {
        Database::Postgres(url) => {
            let store = outdial_store_postgres::PgStore::connect_with_policy(
                url.expose_secret(),
                pool_size,
                foreign,
            )
            .await
            .with_context(|| format!("connecting to PostgreSQL {url}"))?;
            Ok(Arc::new(store))
        }
        Database::Sqlite(path) => {
            let store = SqliteStore::open_with(path, mode, foreign)
                .await
                .with_context(|| format!("opening database {}", path.display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// The store flags every command that opens the database takes (flattened into each).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// Database: a SQLite file path (or sqlite://path) or a PostgreSQL URL (overrides the
    /// configuration's `database`).
    #[arg(long = "db", visible_alias = "database", value_parser = DatabaseParser)]
    pub db: Option<Database>,
    /// PostgreSQL connection pool size (overrides `database_pool_size`; at least 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: Option<u32>,
}

/// `--adopt-database`, for the commands that may create outdial's tables (`serve`,
/// `campaign create`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct AdoptArgs {
    /// Add outdial's tables to a database that already holds other tables (refused
    /// otherwise: a mistyped path must not turn another program's database into a dialer's).
    #[arg(long)]
    pub adopt_database: bool,
}

impl AdoptArgs {
    /// The foreign-database policy these flags say.
    pub fn policy(self) -> ForeignDatabase {
        foreign_policy(self.adopt_database)
    }
}

/// `--db`'s parser: [`Database::parse`], with an error that shows the location redacted
/// (clap's own errors would echo the value, password and all). A location that is not
/// UTF-8 cannot be a URL: it is a SQLite path.
#[derive(Debug, Clone, Copy)]
struct DatabaseParser;

impl clap::builder::TypedValueParser for DatabaseParser {
    type Value = Database;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Database, clap::Error> {
        let Some(text) = value.to_str() else {
            return Ok(Database::Sqlite(value.into()));
        };
        Database::parse(text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("--db: {e}\n"),
            )
        })
    }
}

impl StoreArgs {
    /// The database: `--db`, else the configuration's.
    pub fn database(&self, cfg: &Config) -> Database {
        self.db.clone().unwrap_or_else(|| cfg.database.clone())
    }

    /// The pool size: `--pool-size`, else the configuration's `database_pool_size`.
    pub fn pool_size(&self, cfg: &Config) -> u32 {
        self.pool_size.unwrap_or(cfg.database_pool_size)
    }

    /// Opens [`StoreArgs::database`] with [`StoreArgs::pool_size`] (see [`open_database`]).
    pub async fn open(
        &self,
        cfg: &Config,
        mode: OpenMode,
        foreign: ForeignDatabase,
    ) -> anyhow::Result<Arc<dyn Store>> {
        open_database(&self.database(cfg), mode, self.pool_size(cfg), foreign).await
    }

    /// Opens an existing database, refusing one with foreign tables.
    pub async fn open_existing(&self, cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
        self.open(cfg, OpenMode::MustExist, ForeignDatabase::Refuse)
            .await
    }
}

/// The foreign-database policy of an `--adopt-database` flag.
pub fn foreign_policy(adopt: bool) -> ForeignDatabase {
    if adopt {
        ForeignDatabase::Adopt
    } else {
        ForeignDatabase::Refuse
    }
}

/// The Twilio client for a configuration.
fn twilio_client(cfg: &Config) -> anyhow::Result<TwilioClient> {
    TwilioClient::new(TwilioConfig {
        api_base: cfg.twilio.api_base.clone(),
        account_sid: cfg.twilio.account_sid.clone(),
        auth_token: cfg.twilio.auth_token.clone(),
        request_timeout: std::time::Duration::from_secs(cfg.twilio.request_timeout_s),
    })
    .map_err(|e| anyhow::anyhow!("twilio: {e}"))
}

/// The Bland client for a configuration, when it has a `[bland]` section.
fn bland_client(cfg: &Config) -> anyhow::Result<Option<BlandClient>> {
    let Some(b) = &cfg.bland else {
        return Ok(None);
    };
    let client = BlandClient::new(BlandConfig {
        api_key: b.api_key.clone(),
        api_base: b.api_base.clone(),
        request_timeout: std::time::Duration::from_secs(b.request_timeout_s),
        org_id: b.org_id.clone(),
    })
    .map_err(|e| anyhow::anyhow!("bland: {e}"))?;
    Ok(Some(client))
}

/// The Twilio provider for a configuration.
pub fn twilio_provider(cfg: &Config) -> anyhow::Result<Arc<dyn Provider>> {
    Ok(Arc::new(twilio_client(cfg)?))
}

/// The Bland provider for a configuration, when it has a `[bland]` section.
pub fn bland_provider(cfg: &Config) -> anyhow::Result<Option<Arc<dyn Provider>>> {
    Ok(bland_client(cfg)?.map(|c| Arc::new(c) as Arc<dyn Provider>))
}

/// The call log of `kind`'s account in a configuration (`outdial backfill`), built like the
/// provider (same section, base URL and timeout). Errors when the provider's section is
/// missing or its settings are refused.
pub(crate) fn call_log(
    cfg: &Config,
    kind: ProviderKind,
) -> anyhow::Result<Box<dyn outdial_providers::CallLog>> {
    Ok(match kind {
        ProviderKind::Twilio => Box::new(twilio_client(cfg)?),
        ProviderKind::Bland => Box::new(bland_client(cfg)?.ok_or_else(|| {
            anyhow::anyhow!("no [bland] section in the configuration (api_key, api_base)")
        })?),
    })
}

/// The notification channels a configuration names, as job kinds with their channel:
/// alert channels (`alert.email`, `alert.chat`) and the CRM channel. Errors name the
/// setting (a bad address, URL or timeout).
pub fn notify_channels(cfg: &Config) -> anyhow::Result<NotifyChannels> {
    use outdial_notify::{ChatWebhookChannel, JsonWebhookChannel, SmtpChannel, SmtpConfig};
    let timeout = std::time::Duration::from_secs(30);
    let mut alerts: Vec<(&'static str, Arc<dyn outdial_notify::Channel>)> = Vec::new();
    if let Some(e) = &cfg.alerts.email {
        let ch = SmtpChannel::new(
            "alerts.email",
            SmtpConfig {
                url: e.smtp_url.expose_secret().to_owned(),
                from: e.from.clone(),
                to: e.to.clone(),
                username: e.username.clone(),
                password: e.password.clone(),
                timeout_s: e.timeout_s,
            },
        )
        .map_err(|err| anyhow::anyhow!("alerts.email: {err}"))?;
        alerts.push((crate::jobs::ALERT_EMAIL, Arc::new(ch)));
    }
    if let Some(url) = &cfg.alerts.chat_webhook_url {
        let ch = ChatWebhookChannel::new("alerts.chat", url.clone(), timeout)
            .map_err(|err| anyhow::anyhow!("alerts.chat_webhook_url: {err}"))?;
        alerts.push((crate::jobs::ALERT_CHAT, Arc::new(ch)));
    }
    let crm = match &cfg.crm.webhook_url {
        None => None,
        Some(url) => Some(Arc::new(
            JsonWebhookChannel::new("crm", url.clone(), cfg.crm.bearer_token.clone(), timeout)
                .map_err(|err| anyhow::anyhow!("crm.webhook_url: {err}"))?,
        ) as Arc<dyn outdial_notify::Channel>),
    };
    Ok(NotifyChannels { alerts, crm })
}

/// Notification channels by job kind.
#[derive(Debug, Clone)]
pub struct NotifyChannels {
    /// Alert deliveries: job kind and channel.
    pub alerts: Vec<(&'static str, Arc<dyn outdial_notify::Channel>)>,
    /// CRM notifications after each concluded attempt.
    pub crm: Option<Arc<dyn outdial_notify::Channel>>,
}

/// The engine settings a configuration gives (without providers or job handlers).
pub fn engine_config(cfg: &Config, instance_id: &str) -> anyhow::Result<EngineConfig> {
    engine_config_with(cfg, instance_id, &notify_channels(cfg)?)
}

/// The longest REST request timeout of the configured providers, seconds (a placement
/// older than it, with no answer, is no longer waiting on its request).
fn longest_request_timeout_s(cfg: &Config) -> u64 {
    let twilio = cfg
        .twilio_configured()
        .then_some(cfg.twilio.request_timeout_s);
    let bland = cfg.bland.as_ref().map(|b| b.request_timeout_s);
    twilio
        .into_iter()
        .chain(bland)
        .max()
        .unwrap_or(cfg.twilio.request_timeout_s)
}

/// [`engine_config`] over channels already built from the same configuration.
fn engine_config_with(
    cfg: &Config,
    instance_id: &str,
    channels: &NotifyChannels,
) -> anyhow::Result<EngineConfig> {
    Ok(EngineConfig {
        public_url: cfg.public_url.clone(),
        calls_per_second: cfg.dialer.calls_per_second,
        max_concurrent: cfg.dialer.max_concurrent,
        dial_budget_real_ms: cfg.dialer.dial_budget_ms,
        conclude_on_ingest: cfg.dialer.conclude_on_webhook,
        reconcile_after_s: cfg.dialer.reconcile_after_s,
        maintenance_every_s: cfg.dialer.maintenance_every_s,
        monitor_every_s: cfg.dialer.monitor_every_s,
        request_timeout_real_ms: longest_request_timeout_s(cfg) * 1000,
        instance_id: instance_id.to_owned(),
        state_rules: Arc::new(state_rules(cfg)?),
        safety: cfg.safety.clone(),
        alert_channels: channels
            .alerts
            .iter()
            .map(|(k, _)| (*k).to_owned())
            .collect(),
        post_call_jobs: channels
            .crm
            .iter()
            .map(|_| crate::jobs::CRM_ATTEMPT_CONCLUDED.to_owned())
            .collect(),
        jobs: cfg.jobs.clone(),
        provider_limits: cfg
            .bland
            .as_ref()
            .map(|b| (ProviderKind::Bland, b.effective_limits()))
            .into_iter()
            .chain(
                (cfg.twilio_configured() && cfg.twilio.limits != Default::default())
                    .then_some((ProviderKind::Twilio, cfg.twilio.limits)),
            )
            .collect(),
        ..EngineConfig::default()
    })
}

/// The provider adapters a configuration names: Twilio when
/// [`Config::twilio_configured`], Bland when it has a `[bland]` section. Errors name the
/// section and the setting a client refused (a bad account SID, API base or timeout).
pub fn providers(cfg: &Config) -> anyhow::Result<HashMap<ProviderKind, Arc<dyn Provider>>> {
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    if cfg.twilio_configured() {
        providers.insert(ProviderKind::Twilio, twilio_provider(cfg)?);
    }
    if let Some(bland) = bland_provider(cfg)? {
        providers.insert(ProviderKind::Bland, bland);
    }
    Ok(providers)
}

/// Builds the engine, with the configured providers ([`providers`]) and the job handlers
/// the configuration names.
pub fn engine(
    cfg: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    instance_id: &str,
) -> anyhow::Result<Arc<Engine>> {
    let providers = providers(cfg)?;
    let channels = notify_channels(cfg)?;
    let engine_config = engine_config_with(cfg, instance_id, &channels)?;
    let mut engine = Engine::new(store, providers, clock, engine_config);
    for (kind, channel) in channels.alerts {
        engine = engine.with_job_handler(kind, Arc::new(crate::jobs::AlertDelivery { channel }));
    }
    if let Some(channel) = channels.crm {
        engine = engine.with_job_handler(
            crate::jobs::CRM_ATTEMPT_CONCLUDED,
            Arc::new(crate::jobs::CrmNotification { channel }),
        );
    }
    Ok(Arc::new(engine))
}

/// A running HTTP server and dialer loop.
pub struct Running {
    /// Address the server listens on.
    pub addr: SocketAddr,
    stop_dialer: tokio::sync::watch::Sender<bool>,
    stop_server: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    dialer: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops the dialer loop first (no call is placed once this returns; the tick in progress
    /// finishes and calls in flight stay recorded, to be followed again after a restart),
    /// then the server: it stops accepting, and requests in progress get the shutdown grace
    /// (`HttpLimits::shutdown_grace`, default 5 s) before their connections are dropped.
    pub async fn stop(self) {
        let _ = self.stop_dialer.send(true);
        let _ = self.dialer.await;
        let _ = self.stop_server.send(true);
        let _ = self.server.await;
    }
}

/// Binds the listener first (so the public URL can name the real port), then starts the
/// server (with the default [`outdial_http::HttpLimits`]) and the dialer loop.
///
/// Both run on the caller's runtime. The dialer cannot be starved by requests: the work a
/// request does before it is authenticated is bounded (64 KiB, 256 fields, an O(n log n)
/// signature check) and that CPU work runs on the blocking pool, so the async workers stay
/// free for the dialer loop, `/healthz` and the admin API. (A runtime of its own would not
/// isolate the dialer further: it shares the store and its connections with the webhooks.)
pub async fn start(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    cfg: &Config,
    tick: std::time::Duration,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let limits = outdial_http::HttpLimits::default();
    let state = outdial_http::AppState {
        engine: engine.clone(),
        twilio_auth_token: cfg
            .twilio_configured()
            .then(|| cfg.twilio.auth_token.clone()),
        bland_webhook_secret: cfg.bland.as_ref().map(|b| b.webhook_secret.clone()),
        public_url: cfg.public_url.clone(),
        api_keys: Arc::new(cfg.api_keys.clone()),
        limits,
        rejections: Arc::default(),
        metrics_anonymous_from: Arc::new(cfg.metrics_anonymous_from.clone()),
        default_region: cfg.region()?,
        sessions: Arc::default(),
    };
    let router = outdial_http::router(state);
    let (stop_server, mut server_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_rx.wait_for(|s| *s).await;
        };
        outdial_http::server::serve(listener, router, limits, shutdown).await;
    });
    let (stop_dialer, dialer_rx) = tokio::sync::watch::channel(false);
    let dialer = tokio::spawn(engine.run(tick, dialer_rx));
    Ok(Running {
        addr,
        stop_dialer,
        stop_server,
        server,
        dialer,
    })
}

/// Points the adapters of `kinds` in `cfg` at the fake carrier listening at `base_url` (one
/// server serves both APIs), with the credentials of `carrier` (the Twilio account and auth
/// token, the Bland API key and webhook signing secret) and a 10 s request timeout. A kind
/// not in `kinds` is left unconfigured, so `serve` runs without it, as for a team that uses
/// only the other provider. Used by `outdial demo`.
pub fn use_fake_carrier(
    cfg: &mut Config,
    base_url: &str,
    carrier: &outdial_carrier::CarrierConfig,
    kinds: &[ProviderKind],
) {
    for kind in kinds {
        match kind {
            ProviderKind::Twilio => {
                cfg.twilio.api_base = base_url.to_owned();
                cfg.twilio.account_sid = carrier.account_sid.clone();
                cfg.twilio.auth_token = SecretString::from(carrier.auth_token.clone());
                cfg.twilio.request_timeout_s = 10;
            }
            ProviderKind::Bland => {
                let fake = carrier.bland.clone().unwrap_or_default();
                cfg.bland = Some(crate::config::BlandSettings {
                    api_base: base_url.to_owned(),
                    api_key: SecretString::from(fake.api_key),
                    webhook_secret: SecretString::from(fake.webhook_secret),
                    org_id: Some(fake.org_id),
                    request_timeout_s: 10,
                    ..crate::config::BlandSettings::default()
                });
            }
        }
    }
}

/// An answer behaviour `kind` accepts, for the demo's campaigns: a short TwiML greeting
/// for Twilio, an AI agent with a one-line task for Bland.
pub fn demo_answer(kind: ProviderKind) -> outdial_core::AnswerBehaviour {
    use outdial_core::answer::{AgentBehaviour, AgentScript};
    match kind {
        ProviderKind::Twilio => {
            outdial_core::AnswerBehaviour::inline("<Response><Say>Hello from outdial.</Say></Response>")
        }
        ProviderKind::Bland => outdial_core::AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task {
                prompt: "Greet the lead on behalf of outdial and ask whether now is a good time to talk.".into(),
            },
            voice: None,
            first_sentence: Some("Hello from outdial.".into()),
            wait_for_greeting: true,
            record: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        adopt: AdoptArgs,
    }

    #[test]
    fn store_flags_parse_into_a_database_and_a_pool_size() {
        let cfg = Config::default();
        let c = Cmd::try_parse_from(["x", "--db", "a.db"]).unwrap();
        assert_eq!(
            c.store.database(&cfg).sqlite_path(),
            Some(Path::new("a.db"))
        );
        assert_eq!(c.store.pool_size(&cfg), cfg.database_pool_size);
        assert_eq!(c.adopt.policy(), ForeignDatabase::Refuse);
        let c = Cmd::try_parse_from([
            "x",
            "--database",
            "postgres://u:pw@db/x",
            "--pool-size",
            "3",
            "--adopt-database",
        ])
        .unwrap();
        assert!(matches!(c.store.database(&cfg), Database::Postgres(_)));
        assert_eq!(c.store.pool_size(&cfg), 3);
        assert_eq!(c.adopt.policy(), ForeignDatabase::Adopt);
        let c = Cmd::try_parse_from(["x"]).unwrap();
        assert_eq!(
            c.store.database(&cfg).sqlite_path(),
            Some(Path::new("outdial.db"))
        );
        let e = Cmd::try_parse_from(["x", "--db", "mysql://u:pw@h/x"]).unwrap_err();
        assert!(e.to_string().contains("database must be"), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
        assert!(Cmd::try_parse_from(["x", "--pool-size", "0"]).is_err());
    }
}
