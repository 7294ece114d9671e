//! Many seeds on worker threads: each seed on its own current-thread runtime and SQLite file,
//! every K-th seed run twice to compare trace hashes, results handed back in seed order and
//! summed into a [`RunSummary`].

use crate::{run_seed, SeedReport, SeedStats, SimConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

/// The five final call statuses; a run of at least [`STATUS_COVERAGE_SEEDS`] seeds must see
/// each at least once.
pub const FINAL_STATUSES: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];
/// Seeds from which the run must have seen every final status.
pub const STATUS_COVERAGE_SEEDS: u64 = 10;

/// Which seeds a run covers and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed (the run covers seeds `first..first + count`, wrapping).
    pub first: u64,
    /// Number of seeds.
    pub count: u64,
    /// Rerun every K-th seed and compare trace hashes (0: never).
    pub check_determinism: u64,
    /// Worker threads (at least one is used).
    pub threads: usize,
}

/// What a whole run found.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds run, per provider of their campaign (its [`outdial_core::ProviderKind::as_str`]).
    pub seeds_by_provider: BTreeMap<String, u64>,
    /// Counters summed over the seeds.
    pub stats: SeedStats,
    /// Final statuses summed over the seeds.
    pub final_statuses: BTreeMap<String, u64>,
    /// Crash boundaries hit over the run.
    pub crash_points: BTreeSet<String>,
    /// Seeds with violations, and how many each.
    pub failed_seeds: Vec<(u64, usize)>,
    /// Violations over the run (per seed, plus the run-level status coverage).
    pub violations: u64,
    /// Seeds rerun for determinism.
    pub reruns: u64,
    /// Seeds whose rerun gave another trace hash.
    pub mismatches: Vec<u64>,
    /// Seeds that could not run (setup errors).
    pub errors: Vec<(u64, String)>,
}

impl RunSummary {
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.violations == 0 && self.mismatches.is_empty() && self.errors.is_empty()
    }

    /// The final statuses of [`FINAL_STATUSES`] no call of the run ended with.
    pub fn missing_final_statuses(&self) -> Vec<&'static str> {
        FINAL_STATUSES
            .into_iter()
            .filter(|s| self.final_statuses.get(*s).copied().unwrap_or(0) == 0)
            .collect()
    }
}

struct Outcome {
    index: u64,
    seed: u64,
    report: anyhow::Result<SeedReport>,
    rerun_hash: Option<anyhow::Result<String>>,
}

/// Runs the seeds of `range` with `cfg`, calling `each` with every seed's report (and its
/// rerun's trace hash, when it was rerun) in seed order. Returns the summary; a run of
/// [`STATUS_COVERAGE_SEEDS`] seeds or more counts one violation per final status it never
/// saw.
pub fn run_seeds(
    range: SeedRange,
    cfg: SimConfig,
    mut each: impl FnMut(&anyhow::Result<SeedReport>, Option<&anyhow::Result<String>>),
) -> RunSummary {
    let cfg = Arc::new(cfg);
    let next = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut handles = Vec::new();
    for _ in 0..range.threads.max(1) {
        let (cfg, next, tx) = (cfg.clone(), next.clone(), tx.clone());
        let (n, first, k) = (range.count, range.first, range.check_determinism);
        handles.push(std::thread::spawn(move || loop {
            let index = next.fetch_add(1, Ordering::SeqCst);
            if index >= n {
                return;
            }
            let seed = first.wrapping_add(index);
            let report = run_seed(seed, &cfg);
            let rerun_hash = (k > 0 && index % k == 0 && report.is_ok())
                .then(|| run_seed(seed, &cfg).map(|r| r.trace_hash));
            if tx
                .send(Outcome {
                    index,
                    seed,
                    report,
                    rerun_hash,
                })
                .is_err()
            {
                return;
            }
        }));
    }
    drop(tx);
    let mut summary = RunSummary::default();
    let mut pending: BTreeMap<u64, Outcome> = BTreeMap::new();
    let mut expect = 0;
    for o in rx {
        pending.insert(o.index, o);
        while let Some(o) = pending.remove(&expect) {
            expect += 1;
            summary.seeds += 1;
            each(&o.report, o.rerun_hash.as_ref());
            match &o.report {
                Ok(r) => {
                    *summary
                        .seeds_by_provider
                        .entry(r.provider.as_str().to_owned())
                        .or_default() += 1;
                    summary.stats.add(&r.stats);
                    for (k, v) in &r.final_statuses {
                        *summary.final_statuses.entry(k.clone()).or_default() += v;
                    }
                    summary.crash_points.extend(r.crash_points.iter().cloned());
                    if !r.violations.is_empty() {
                        summary.violations += r.violations.len() as u64;
                        summary.failed_seeds.push((r.seed, r.violations.len()));
                    }
                    if let Some(h) = &o.rerun_hash {
                        summary.reruns += 1;
                        match h {
                            Ok(h) if *h == r.trace_hash => {}
                            _ => summary.mismatches.push(r.seed),
                        }
                    }
                }
                Err(e) => summary.errors.push((o.seed, format!("{e:#}"))),
            }
        }
    }
    for h in handles {
        let _ = h.join();
    }
    if summary.seeds >= STATUS_COVERAGE_SEEDS {
        summary.violations += summary.missing_final_statuses().len() as u64;
    }
    summary
}
