//! # outdial-sim: deterministic simulation (`outdial simulate`)
//!
//! Runs the real [`outdial_engine::Engine`] over the real SQLite store (a temporary file per
//! seed, reopened at every simulated restart) against an in-process fake provider, on
//! virtual time, with seeded faults; after every step and at the end it checks the design
//! invariants against the provider's ledger. One seed gives one trace, hashed, so a run can be
//! replayed exactly.
//!
//! - [`clock`]: virtual time (the world's, and the engine's reading of it);
//! - [`provider`]: the fake provider (outcomes, callbacks and their faults, ledger);
//! - [`crash`]: store and provider decorators that kill the engine at an operation boundary;
//! - [`scenario`]: what a seed simulates;
//! - [`run`]: the event-driven loop of one seed, the restarts and the checks;
//! - [`runner`]: many seeds on worker threads, summed into a [`RunSummary`];
//! - [`trace`]: the hashed trace;
//! - [`checks`]: the invariant checks of a store and a provider ledger (also run by
//!   `outdial demo` and the end-to-end tests).

pub mod checks;
pub mod clock;
pub mod crash;
pub mod crm;
pub mod provider;
pub mod run;
pub mod runner;
pub mod scenario;
pub mod trace;

#[cfg(feature = "sabotage")]
pub use crash::Sabotage;
pub use run::run_seed;
pub use runner::{run_seeds, RunSummary, SeedRange, FINAL_STATUSES, STATUS_COVERAGE_SEEDS};

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Which faults a run injects (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSet {
    /// Lost status callbacks.
    pub lose: bool,
    /// Duplicated status callbacks.
    pub duplicate: bool,
    /// Reordered status callbacks.
    pub reorder: bool,
    /// Delayed status callbacks.
    pub delay: bool,
    /// Creates whose response is lost after the call was created.
    pub ambiguous: bool,
    /// HTTP 5xx on create, no call created.
    pub server_errors: bool,
    /// HTTP 429 on create.
    pub rate_limits: bool,
    /// Calls that never end on their own (answered and never hung up; stuck in the queue).
    pub never_ends: bool,
    /// A number that is always busy.
    pub busy_numbers: bool,
    /// A number the provider refuses as invalid (21211).
    pub invalid_numbers: bool,
    /// Engine crashes at store and provider boundaries, each followed by a restart.
    pub crashes: bool,
    /// Forward clock jumps: the engine is frozen minutes to hours while the world moves on.
    pub clock_jumps: bool,
    /// Small backward steps of the engine's clock.
    pub clock_back: bool,
    /// Provider API outages (create answers 5xx, fetch/list/end fail).
    pub outages: bool,
    /// Starts just before the 2026 US DST changes (else anywhere in 2026).
    pub dst: bool,
    /// A number put on the Do-Not-Call list during the run.
    pub dnc: bool,
}

impl FaultSet {
    /// Every fault.
    pub const ALL: FaultSet = FaultSet {
        lose: true,
        duplicate: true,
        reorder: true,
        delay: true,
        ambiguous: true,
        server_errors: true,
        rate_limits: true,
        never_ends: true,
        busy_numbers: true,
        invalid_numbers: true,
        crashes: true,
        clock_jumps: true,
        clock_back: true,
        outages: true,
        dst: true,
        dnc: true,
    };

    /// The names accepted by [`FaultSet::without`].
    pub const NAMES: &'static [&'static str] = &[
        "lose",
        "duplicate",
        "reorder",
        "delay",
        "ambiguous",
        "5xx",
        "429",
        "never-ends",
        "busy",
        "invalid",
        "crashes",
        "clock-jumps",
        "clock-back",
        "outages",
        "dst",
        "dnc",
    ];

    /// This set without the named fault. Errors on an unknown name.
    pub fn without(mut self, name: &str) -> Result<FaultSet, String> {
        let f = match name.trim() {
            "lose" => &mut self.lose,
            "duplicate" => &mut self.duplicate,
            "reorder" => &mut self.reorder,
            "delay" => &mut self.delay,
            "ambiguous" => &mut self.ambiguous,
            "5xx" => &mut self.server_errors,
            "429" => &mut self.rate_limits,
            "never-ends" => &mut self.never_ends,
            "busy" => &mut self.busy_numbers,
            "invalid" => &mut self.invalid_numbers,
            "crashes" => &mut self.crashes,
            "clock-jumps" => &mut self.clock_jumps,
            "clock-back" => &mut self.clock_back,
            "outages" => &mut self.outages,
            "dst" => &mut self.dst,
            "dnc" => &mut self.dnc,
            other => {
                return Err(format!(
                    "unknown fault '{other}' (known: {})",
                    FaultSet::NAMES.join(", ")
                ))
            }
        };
        *f = false;
        Ok(self)
    }
}

/// Settings of a simulated run (every seed uses them).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Leads per seed.
    pub leads: u32,
    /// Simulated days per seed (the drain after it is extra).
    pub days: u32,
    /// Faults injected.
    pub faults: FaultSet,
    /// A deliberate defect, to show the checks fail (tests only: the `sabotage` feature).
    #[cfg(feature = "sabotage")]
    pub sabotage: Option<Sabotage>,
    /// Keep every trace line in the report (else only the hash and the tail).
    pub keep_trace: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            leads: 20,
            days: 2,
            faults: FaultSet::ALL,
            #[cfg(feature = "sabotage")]
            sabotage: None,
            keep_trace: false,
        }
    }
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check's name.
    pub check: String,
    /// What was seen (attempt, call, lead, times).
    pub detail: String,
    /// True instant at which it was detected.
    pub at: DateTime<Utc>,
}

/// What one seed did, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedStats {
    /// Leads imported.
    pub leads: u64,
    /// Attempts reserved.
    pub attempts: u64,
    /// Calls the provider created.
    pub calls: u64,
    /// Engine crashes (each followed by a restart).
    pub crashes: u64,
    /// Status callbacks fired by the provider.
    pub callbacks: u64,
    /// Callbacks delivered to the engine.
    pub delivered: u64,
    /// Callbacks lost by the provider.
    pub lost: u64,
    /// Callbacks lost because the engine was down or frozen.
    pub lost_down: u64,
    /// Callbacks duplicated.
    pub duplicated: u64,
    /// Callbacks reordered.
    pub reordered: u64,
    /// Second post-call deliveries (a corrected transcript), from a provider that sends them.
    pub second_webhooks: u64,
    /// Callbacks delayed.
    pub delayed: u64,
    /// Creates with an ambiguous outcome whose call exists.
    pub ambiguous_created: u64,
    /// Creates answered 5xx without a call.
    pub server_errors: u64,
    /// Creates answered 429.
    pub rate_limited: u64,
    /// Creates refused as invalid numbers.
    pub rejected: u64,
    /// Creates during a provider outage.
    pub outage_requests: u64,
    /// Calls that would never end on their own.
    pub never_ending: u64,
    /// Calls ended through `end_call`.
    pub ended_by_api: u64,
    /// Forward clock jumps (engine frozen).
    pub clock_jumps: u64,
    /// Backward steps of the engine's clock.
    pub clock_back: u64,
    /// Provider outages.
    pub outages: u64,
    /// Webhook blackouts (every callback lost for a while).
    pub blackouts: u64,
    /// Kill-switch trips.
    pub kill_switch_trips: u64,
    /// Simulation steps.
    pub steps: u64,
    /// Store and provider operations of the engine.
    pub operations: u64,
}

impl SeedStats {
    /// Adds `o` to `self`.
    pub fn add(&mut self, o: &SeedStats) {
        macro_rules! add {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        add!(
            leads,
            attempts,
            calls,
            crashes,
            callbacks,
            delivered,
            lost,
            lost_down,
            duplicated,
            reordered,
            second_webhooks,
            delayed,
            ambiguous_created,
            server_errors,
            rate_limited,
            rejected,
            outage_requests,
            never_ending,
            ended_by_api,
            clock_jumps,
            clock_back,
            outages,
            blackouts,
            kill_switch_trips,
            steps,
            operations
        );
    }
}

/// The result of one seed.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Its start instant and start family.
    pub start: DateTime<Utc>,
    /// `spring-dst`, `fall-dst` or `any`.
    pub start_kind: &'static str,
    /// The provider the seed's campaign called through (a share of the seeds,
    /// [`scenario::BLAND_SHARE`], runs the second provider).
    pub provider: outdial_core::ProviderKind,
    /// Counters.
    pub stats: SeedStats,
    /// Final call statuses seen in the ledger, with counts.
    pub final_statuses: BTreeMap<String, u64>,
    /// Crash boundaries hit (`before mark_placed`, …).
    pub crash_points: BTreeSet<String>,
    /// Broken invariants (empty: the seed passed).
    pub violations: Vec<Violation>,
    /// SHA-256 of the trace.
    pub trace_hash: String,
    /// Trace lines.
    pub trace_lines: u64,
    /// The last 30 trace lines when the first violation was detected.
    pub trace_tail: Vec<String>,
    /// Every trace line, when asked for.
    pub trace: Option<Vec<String>>,
    /// Real time the seed took.
    pub elapsed: std::time::Duration,
}
