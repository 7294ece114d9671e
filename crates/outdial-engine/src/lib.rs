//! # outdial-engine
//!
//! The dialing loop, split into steps that tests drive one at a time:
//! - [`Engine::tick`]: concludes finished attempts (applies the redial policy), then claims
//!   due leads, checks every rule again at dial time, reserves an attempt (committed before
//!   the provider is asked), paces at the configured calls per second and concurrency, and
//!   places the call;
//! - [`Engine::ingest_call_event`]: applies a verified, parsed provider event (webhook);
//! - [`Engine::reconcile`]: asks the provider about attempts whose webhooks are late, and
//!   resolves attempts whose create outcome was ambiguous.
//!
//! [`Engine::step`] is the one loop body (tick, then, on the maintenance cadence and under
//! the maintenance lease, reconcile and monitor, then the durable jobs); [`Engine::run`]
//! calls it forever on the injected clock. Time comes only from the [`Clock`]; the store
//! and the providers are injected (design invariant 7).
//!
//! Codemap: [`config`] the settings, [`account_limits`] provider plan limits, [`error`] the
//! error type, [`facts`] what the rules need to know about a lead, [`dial`] the tick (claim,
//! check, reserve, pace, send), [`placement`] recording create outcomes, [`conclude`] the
//! redial decision after an attempt, [`disposition`] business dispositions, [`ingest`]
//! provider events, [`reported`] outcomes reported with a final event, [`reconcile`] the
//! reconciler, [`safety`] the monitor and kill switches, [`jobs`] durable jobs, [`metrics`] this
//! process's Prometheus counters, [`run`] the
//! step and the loop, [`explain`] why a lead is (not) dialed, [`backfill`] adding an earlier
//! system's calls as leads with history, [`intake`] leads handed over through the API
//! (idempotent by external id and number), [`reports`] the report runner and its renderings.

pub mod account_limits;
pub mod backfill;
pub mod blocked;
pub mod conclude;
pub mod config;
pub mod dial;
pub mod disposition;
pub mod enqueue;
pub mod error;
pub mod explain;
pub mod facts;
pub mod ingest;
pub mod intake;
pub mod jobs;
pub mod metrics;
pub mod placement;
pub mod reconcile;
pub mod reported;
pub mod reports;
pub mod run;
pub mod safety;

pub use account_limits::ProviderLimits;
pub use blocked::{BlockedReason, NotDialing};
pub use config::EngineConfig;
pub use dial::TickReport;
pub use disposition::DispositionOutcome;
pub use error::EngineError;
pub use facts::LeadFacts;
pub use jobs::{JobError, JobHandler, JobsConfig, JobsReport};
pub use metrics::Metrics;
pub use reconcile::ReconcileReport;
pub use reported::{CallResultOutcome, ReportedDisposition};
pub use run::{Maintenance, MaintenanceReport, StepPlan, StepReport};
pub use safety::{KillSwitches, MonitorReport, SafetyConfig};

use chrono::{DateTime, Utc};
use outdial_clock::Clock;
use outdial_core::{AttemptId, CampaignId, ProviderKind};
use outdial_providers::Provider;
use outdial_store::{Campaign, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Name of the fleet-wide call pacer in the store.
pub const PACER_NAME: &str = "calls";
/// Name of the lease under which singleton maintenance (the reconciler) runs.
pub const MAINTENANCE_LEASE: &str = "maintenance";

/// Setting key of the dialer's persisted run state (`running` / `stopped`).
pub const DIALER_SETTING: &str = "dialer";
/// Setting key of the reason the dialer was last stopped.
pub const DIALER_REASON_SETTING: &str = "dialer_reason";

/// The engine.
#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    providers: HashMap<ProviderKind, Arc<dyn Provider>>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Attempts whose create request is under way in this process: the reconciler leaves
    /// them alone, since the request may still reach the provider.
    placing: Mutex<HashSet<AttemptId>>,
    campaigns: Mutex<BTreeMap<CampaignId, Campaign>>,
    /// Handlers of durable jobs, by kind.
    job_handlers: HashMap<String, Arc<dyn JobHandler>>,
    /// When this engine was built (clock time): the silence rule waits this long.
    started_at: DateTime<Utc>,
    /// Last attempt the anomaly scan looked at.
    anomaly_cursor: Mutex<Option<AttemptId>>,
    /// Latest reservation instant seen (loaded from the store at the first tick): no call is
    /// placed while the clock reads earlier.
    high_water: Mutex<Option<DateTime<Utc>>>,
    /// A storage failure seen by this process and not yet persisted as a tripped kill
    /// switch: no new call is placed meanwhile (see [`placement`]).
    storage_fault: Mutex<Option<String>>,
    /// When [`Engine::step`] last ran maintenance (clock time); `None`: never.
    last_maintenance: Mutex<Option<DateTime<Utc>>>,
    /// When [`Engine::step`] last ran the safety monitor (clock time); `None`: never.
    last_monitor: Mutex<Option<DateTime<Utc>>>,
    /// This process's counters and histograms (served on `/metrics`).
    metrics: Metrics,
}

impl Engine {
    /// An engine over `store`, placing calls through `providers`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn Store>,
        providers: HashMap<ProviderKind, Arc<dyn Provider>>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Engine {
        let started_at = clock.now();
        Engine {
            store,
            providers,
            clock,
            config,
            placing: Mutex::new(HashSet::new()),
            campaigns: Mutex::new(BTreeMap::new()),
            job_handlers: HashMap::new(),
            started_at,
            anomaly_cursor: Mutex::new(None),
            high_water: Mutex::new(None),
            storage_fault: Mutex::new(None),
            last_maintenance: Mutex::new(None),
            last_monitor: Mutex::new(None),
            metrics: Metrics::default(),
        }
    }

    /// Registers the handler of a durable job kind (replacing any earlier one).
    pub fn with_job_handler(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Engine {
        self.job_handlers.insert(kind.to_owned(), handler);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This process's counters and histograms ([`metrics`]).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A campaign by id, cached.
    pub async fn campaign(&self, id: CampaignId) -> Result<Campaign, EngineError> {
        if let Some(c) = self.campaigns.lock().expect("campaign cache").get(&id) {
            return Ok(c.clone());
        }
        let c = self.store.campaign(id).await?;
        self.campaigns
            .lock()
            .expect("campaign cache")
            .insert(id, c.clone());
        Ok(c)
    }

    /// Drops cached campaign settings (after an operator changes a campaign).
    pub fn forget_campaigns(&self) {
        self.campaigns.lock().expect("campaign cache").clear();
    }

    /// Whether the dialer is running (persisted; default running).
    pub async fn dialer_running(&self) -> Result<bool, EngineError> {
        Ok(self.store.setting(DIALER_SETTING).await?.as_deref() != Some("stopped"))
    }

    /// Starts or stops dialing, persistently, with a reason recorded in the event log.
    pub async fn set_dialer_running(
        &self,
        running: bool,
        reason: &str,
        source: &str,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        self.store
            .set_setting(
                DIALER_SETTING,
                if running { "running" } else { "stopped" },
                source,
                now,
            )
            .await?;
        self.store
            .set_setting(DIALER_REASON_SETTING, reason, source, now)
            .await?;
        if running {
            tracing::info!(reason, source, "dialer started");
        } else {
            tracing::warn!(reason, source, "dialer stopped");
        }
        Ok(())
    }
}
