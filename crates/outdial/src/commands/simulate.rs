//! `outdial simulate`: the deterministic simulator. Runs the real engine and the real SQLite
//! store against an in-process fake provider on virtual time, with seeded faults, one seed
//! per run, seeds in parallel across cores; checks the invariants after every step and at
//! the end; prints one line per seed and a summary, and exits non-zero on any violation
//! (printing the seed, the check and the last trace lines). See [`outdial_sim`].

use anyhow::bail;
use outdial_sim::{FaultSet, RunSummary, SeedRange, SeedReport, SimConfig};
pub use outdial_sim::{FINAL_STATUSES, STATUS_COVERAGE_SEEDS};

/// Arguments of `outdial simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// First seed (the run covers seeds S..S+N).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Leads per seed.
    #[arg(long, default_value_t = 20)]
    pub leads: u32,
    /// Simulated days per seed (the drain of calls in flight comes on top).
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    /// Worker threads (default: the available cores). Each seed has its own runtime and
    /// its own SQLite file; results are printed in seed order.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Rerun every K-th seed and compare trace hashes (0: never).
    #[arg(long, default_value_t = 0)]
    pub check_determinism: u64,
    /// Faults to leave out, comma-separated: lose, duplicate, reorder, delay, ambiguous, 5xx,
    /// 429, never-ends, busy, invalid, crashes, clock-jumps, clock-back, outages, dst, dnc.
    #[arg(long, value_delimiter = ',')]
    pub without: Vec<String>,
    /// Print every trace line of every seed (use with few seeds).
    #[arg(long)]
    pub trace: bool,
    /// Print only failing seeds and the summary.
    #[arg(long)]
    pub quiet: bool,
}

fn config(args: &SimulateArgs) -> anyhow::Result<SimConfig> {
    let mut faults = FaultSet::ALL;
    for w in &args.without {
        faults = faults.without(w).map_err(anyhow::Error::msg)?;
    }
    if args.leads == 0 || args.leads > 1400 {
        bail!("--leads must be 1..=1400");
    }
    if args.days == 0 || args.days > 60 {
        bail!("--days must be 1..=60");
    }
    Ok(SimConfig {
        leads: args.leads,
        days: args.days,
        faults,
        keep_trace: args.trace,
        ..SimConfig::default()
    })
}

fn seed_line(r: &SeedReport) -> String {
    let s = &r.stats;
    format!(
        "seed {:>6}  {} {:<10} {:<6} calls {:>4} attempts {:>4} crashes {} webhooks lost {:>3}+{:<2} dup {:>3} reord {:>3} ambiguous {:>2} ended {:>2} trips {:>2}  {}  {:>5} ms  {}",
        r.seed,
        r.start.format("%Y-%m-%dT%H:%MZ"),
        r.start_kind,
        r.provider.as_str(),
        s.calls,
        s.attempts,
        s.crashes,
        s.lost,
        s.lost_down,
        s.duplicated,
        s.reordered,
        s.ambiguous_created + s.server_errors + s.outage_requests,
        s.ended_by_api,
        s.kill_switch_trips,
        &r.trace_hash[..16],
        r.elapsed.as_millis(),
        if r.violations.is_empty() {
            "ok".to_string()
        } else {
            format!("FAIL ({} violations)", r.violations.len())
        }
    )
}

fn print_failure(r: &SeedReport) {
    println!(
        "seed {} FAILED: {} violation(s)",
        r.seed,
        r.violations.len()
    );
    for v in &r.violations {
        println!("  [{}] {}: {}", v.at.to_rfc3339(), v.check, v.detail);
    }
    println!("  last trace lines before the first violation:");
    for l in &r.trace_tail {
        println!("    {l}");
    }
    println!(
        "  replay: outdial simulate --seed {} --seeds 1 --trace",
        r.seed
    );
}

/// Runs the seeds of `args` on `threads` threads, calling `each` with every outcome in seed
/// order. Returns the summary; errors on arguments out of range or an unknown fault name.
pub fn run_seeds(
    args: &SimulateArgs,
    threads: usize,
    each: impl FnMut(&anyhow::Result<SeedReport>, Option<&anyhow::Result<String>>),
) -> anyhow::Result<RunSummary> {
    let range = SeedRange {
        first: args.seed,
        count: args.seeds,
        check_determinism: args.check_determinism,
        threads,
    };
    Ok(outdial_sim::run_seeds(range, config(args)?, each))
}

fn print_summary(args: &SimulateArgs, threads: usize, s: &RunSummary, secs: f64) {
    let t = &s.stats;
    let boundaries =
        outdial_sim::crash::STORE_BOUNDARIES.len() + outdial_sim::crash::PROVIDER_BOUNDARIES.len();
    println!();
    println!(
        "simulate: {} seeds ({}..={}), {} leads, {} days each, {} threads, {:.1} s ({:.2} seeds/s)",
        s.seeds,
        args.seed,
        args.seed.wrapping_add(args.seeds.saturating_sub(1)),
        args.leads,
        args.days,
        threads,
        secs,
        s.seeds as f64 / secs.max(1e-9)
    );
    let rows: Vec<(&str, String)> = vec![
        ("seeds", s.seeds.to_string()),
        (
            "seeds by provider",
            s.seeds_by_provider
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("leads", t.leads.to_string()),
        ("attempts", t.attempts.to_string()),
        ("calls placed (ledger)", t.calls.to_string()),
        ("engine operations", t.operations.to_string()),
        (
            "crashes (each followed by a restart)",
            t.crashes.to_string(),
        ),
        (
            "crash boundaries hit",
            format!(
                "{} of {} (before/after × {boundaries} operations)",
                s.crash_points.len(),
                2 * boundaries
            ),
        ),
        ("webhooks fired", t.callbacks.to_string()),
        ("webhooks delivered", t.delivered.to_string()),
        ("webhooks lost by the provider", t.lost.to_string()),
        (
            "webhooks lost while outdial was down",
            t.lost_down.to_string(),
        ),
        ("webhooks duplicated", t.duplicated.to_string()),
        ("webhooks reordered", t.reordered.to_string()),
        ("webhooks delayed", t.delayed.to_string()),
        (
            "second post-call webhooks (corrected transcript)",
            t.second_webhooks.to_string(),
        ),
        (
            "ambiguous creates (call created)",
            t.ambiguous_created.to_string(),
        ),
        ("5xx creates (no call)", t.server_errors.to_string()),
        (
            "creates during provider outages",
            t.outage_requests.to_string(),
        ),
        ("429 creates", t.rate_limited.to_string()),
        ("invalid numbers refused (21211)", t.rejected.to_string()),
        ("never-ending calls", t.never_ending.to_string()),
        ("calls ended through end_call", t.ended_by_api.to_string()),
        ("forward clock jumps", t.clock_jumps.to_string()),
        ("backward clock steps", t.clock_back.to_string()),
        ("provider outages", t.outages.to_string()),
        ("webhook blackouts", t.blackouts.to_string()),
        ("kill-switch trips", t.kill_switch_trips.to_string()),
        (
            "final statuses",
            FINAL_STATUSES
                .iter()
                .map(|k| format!("{k} {}", s.final_statuses.get(*k).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "determinism reruns",
            format!("{} (mismatches {})", s.reruns, s.mismatches.len()),
        ),
        ("violations", s.violations.to_string()),
    ];
    for (k, v) in rows {
        println!("  {k:<40} {v}");
    }
    if s.seeds >= STATUS_COVERAGE_SEEDS {
        for st in FINAL_STATUSES {
            if s.final_statuses.get(st).copied().unwrap_or(0) == 0 {
                println!("  VIOLATION all five final statuses handled: no call ended '{st}' in the whole run");
            }
        }
    } else {
        let missing = s.missing_final_statuses();
        if !missing.is_empty() {
            println!(
                "  note: final statuses not seen in this short run: {missing:?} (a run of {STATUS_COVERAGE_SEEDS}+ seeds must see all five)"
            );
        }
    }
    let missed: Vec<String> = outdial_sim::crash::STORE_BOUNDARIES
        .iter()
        .chain(outdial_sim::crash::PROVIDER_BOUNDARIES)
        .flat_map(|op| ["before", "after"].map(|ph| format!("{ph} {op}")))
        .filter(|b| !s.crash_points.contains(b))
        .collect();
    if !missed.is_empty() && s.stats.crashes > 0 {
        println!(
            "  crash boundaries not hit (the engine never or rarely performs them): {}",
            missed.join(", ")
        );
    }
    if !s.failed_seeds.is_empty() {
        println!(
            "  failing seeds: {}",
            s.failed_seeds
                .iter()
                .map(|(seed, n)| format!("{seed} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !s.mismatches.is_empty() {
        println!(
            "  NONDETERMINISTIC seeds (trace hash differs on rerun): {:?}",
            s.mismatches
        );
    }
    for (seed, e) in &s.errors {
        println!("  seed {seed} could not run: {e}");
    }
}

/// Runs `outdial simulate`.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(&args)).await?
}

fn run_blocking(args: &SimulateArgs) -> anyhow::Result<()> {
    let threads = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, 256)
        .min(args.seeds.max(1) as usize);
    let started = std::time::Instant::now();
    let quiet = args.quiet;
    let summary = run_seeds(args, threads, |report, rerun| match report {
        Ok(r) => {
            if !quiet {
                println!("{}", seed_line(r));
            }
            if let Some(all) = &r.trace {
                for l in all {
                    println!("    {l}");
                }
            }
            if !r.violations.is_empty() {
                print_failure(r);
            }
            if let Some(h) = rerun {
                match h {
                    Ok(h) if *h == r.trace_hash => {}
                    Ok(h) => println!(
                        "seed {} NONDETERMINISTIC: trace hash {} then {}",
                        r.seed, r.trace_hash, h
                    ),
                    Err(e) => println!("seed {} rerun failed: {e:#}", r.seed),
                }
            }
        }
        Err(e) => println!("seed error: {e:#}"),
    })?;
    print_summary(args, threads, &summary, started.elapsed().as_secs_f64());
    if !summary.ok() {
        bail!(
            "simulation found {} violation(s), {} nondeterministic seed(s), {} seed error(s)",
            summary.violations,
            summary.mismatches.len(),
            summary.errors.len()
        );
    }
    Ok(())
}
