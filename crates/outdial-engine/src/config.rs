//! The engine's settings.

use std::collections::HashMap;
use std::sync::Arc;

use outdial_core::compliance::StateRules;
use outdial_core::ProviderKind;

use crate::{JobsConfig, ProviderLimits, SafetyConfig};

/// Engine settings. Durations are in simulated (clock) seconds unless said otherwise.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Public base URL of this outdial's HTTP server as the provider reaches it, without a
    /// trailing slash (`https://dialer.example.com`). Each provider adapter builds its
    /// status-callback URL under it ([`Provider::status_callback_url`]).
    ///
    /// [`Provider::status_callback_url`]: outdial_providers::Provider::status_callback_url
    pub public_url: String,
    /// Most calls placed per second (clock seconds), across campaigns. Providers limit an
    /// account's rate (see the provider crate); the default, 1, fits the strictest.
    pub calls_per_second: f64,
    /// Most attempts in flight at once, across campaigns.
    pub max_concurrent: u32,
    /// Plan limits of each provider's account (concurrency, calls per hour, per day, per
    /// second), shared by every campaign placed through that provider and enforced across
    /// the fleet (see [`crate::account_limits`]). A provider not listed has no limits but the
    /// global ones above. Default: none.
    pub provider_limits: HashMap<ProviderKind, ProviderLimits>,
    /// Fewest leads claimed in one claim round of a tick (when capacity allows); a round
    /// claims more when the pace lets more out within `dial_budget_real_ms`. Default 20.
    pub claim_batch: u32,
    /// How long one tick keeps dialing, real milliseconds: a tick claims round after round
    /// while the last claim came back full, capacity remains and less than this has passed,
    /// and each round claims up to `calls_per_second × dial_budget_real_ms` leads (clock
    /// time; at most 10,000). So the configured pace and `max_concurrent` are the ceiling on
    /// dialing, not a fixed batch per tick. 0: one round of `claim_batch` per tick (the
    /// simulator's and the engine tests' setting: a tick's work then does not depend on real
    /// time). Default 0; `outdial serve` sets 1,000 (`[dialer] dial_budget_ms`).
    pub dial_budget_real_ms: u64,
    /// Whether [`Engine::ingest_call_event`] concludes an attempt a final event ended
    /// before it returns (the redial decision made inside the webhook's request). `false`:
    /// the event is applied and answered, and the attempt — ended and durably unconcluded —
    /// is concluded by the next tick's `conclude_pending` (within one tick), so a webhook
    /// costs one transaction and shares it with the others of its group commit. Default
    /// `true`; `outdial serve` sets `false` (`[dialer] conclude_on_webhook`).
    ///
    /// [`Engine::ingest_call_event`]: crate::Engine::ingest_call_event
    pub conclude_on_ingest: bool,
    /// Delay before a lead whose call was not placed (rate-limited, connection refused) is tried
    /// again, seconds.
    pub not_placed_retry_s: i64,
    /// Age after which the reconciler first asks the provider about an in-flight attempt,
    /// and interval between asks, seconds.
    pub reconcile_after_s: i64,
    /// Age after which an `unknown` or stale `reserved` attempt with no call found at the
    /// provider is declared not placed, seconds.
    pub unknown_resolve_after_s: i64,
    /// The provider request timeout in real milliseconds. A `reserved` attempt younger than
    /// twice this (converted to clock time) may still have its create request under way in
    /// some instance, so the reconciler leaves it alone.
    pub request_timeout_real_ms: u64,
    /// A call is placed only if the rules also allow it this many seconds later, so that
    /// request latency or a short provider queue cannot push the call past a window's
    /// close. Default 120.
    pub window_margin_s: i64,
    /// State calling rules in force (built-in data, possibly merged with an operator file).
    pub state_rules: Arc<StateRules>,
    /// This instance's name, the holder of the maintenance lease.
    pub instance_id: String,
    /// Safety monitor thresholds and the reconciler's end-of-call slack.
    pub safety: SafetyConfig,
    /// Job kinds an alert is delivered through (`alert.email`, `alert.chat`): one durable
    /// job per kind per alert. Empty: alerts are stored and logged only.
    pub alert_channels: Vec<String>,
    /// Job kinds enqueued, with `{"attempt_id": N}`, in the transaction that concludes an
    /// attempt (post-call work such as `crm.attempt_concluded`). Empty: none.
    pub post_call_jobs: Vec<String>,
    /// Job runner settings.
    pub jobs: JobsConfig,
    /// Cadence of singleton maintenance (lease, reconciler, safety monitor) in
    /// [`Engine::step`](crate::Engine::step), clock seconds. Default 5.
    pub maintenance_every_s: i64,
    /// Least time between two runs of the safety monitor ([`Engine::monitor`]) on
    /// maintenance turns of [`Engine::step`], clock seconds, counted from the clock's reading
    /// when the monitor last started. Default 0: the monitor runs on every maintenance turn
    /// (every `maintenance_every_s`). The simulator sets 30.
    ///
    /// [`Engine::monitor`]: crate::Engine::monitor
    /// [`Engine::step`]: crate::Engine::step
    pub monitor_every_s: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            public_url: "http://127.0.0.1:8080".into(),
            calls_per_second: 1.0,
            max_concurrent: 10,
            provider_limits: HashMap::new(),
            claim_batch: 20,
            dial_budget_real_ms: 0,
            conclude_on_ingest: true,
            not_placed_retry_s: 60,
            reconcile_after_s: 120,
            unknown_resolve_after_s: 60,
            window_margin_s: 120,
            request_timeout_real_ms: 15_000,
            state_rules: Arc::new(StateRules::builtin()),
            instance_id: "outdial".into(),
            safety: SafetyConfig::default(),
            alert_channels: Vec::new(),
            post_call_jobs: Vec::new(),
            jobs: JobsConfig::default(),
            maintenance_every_s: 5,
            monitor_every_s: 0,
        }
    }
}
