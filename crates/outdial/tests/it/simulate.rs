//! The simulator (`outdial simulate`): a batch of seeds holds every invariant, a seed replays
//! to the same trace hash, and deliberately broken invariants are caught.
//!
//! These tests build their own current-thread runtimes (one per seed), so they are plain
//! `#[test]`s.

use outdial::commands::simulate::{run_seeds, SimulateArgs, FINAL_STATUSES};
use outdial_core::AttemptId;
use outdial_sim::{run_seed, Sabotage, SimConfig};
use std::process::Command;

fn args(seeds: u64, first: u64) -> SimulateArgs {
    SimulateArgs {
        seeds,
        seed: first,
        leads: 10,
        days: 1,
        jobs: Some(2),
        check_determinism: 0,
        without: Vec::new(),
        trace: false,
        quiet: true,
    }
}

fn small() -> SimConfig {
    SimConfig {
        leads: 10,
        days: 1,
        ..SimConfig::default()
    }
}

#[test]
fn a_batch_of_seeds_holds_every_invariant() {
    let a = args(32, 1000);
    let mut failures = Vec::new();
    let summary = run_seeds(&a, 2, |r, _| match r {
        Ok(r) if !r.violations.is_empty() => failures.push(format!(
            "seed {}: {:#?}\nlast trace lines:\n{}",
            r.seed,
            r.violations,
            r.trace_tail.join("\n")
        )),
        Ok(_) => {}
        Err(e) => failures.push(format!("{e:#}")),
    })
    .unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(summary.ok(), "{summary:#?}");
    assert_eq!(summary.seeds, 32);
    // The faults really happened.
    let s = &summary.stats;
    assert!(s.calls > 100, "{s:#?}");
    assert!(s.crashes > 0, "{s:#?}");
    assert!(s.lost > 0 && s.duplicated > 0 && s.reordered > 0, "{s:#?}");
    assert!(s.ambiguous_created + s.server_errors > 0, "{s:#?}");
    assert!(s.never_ending > 0 && s.ended_by_api > 0, "{s:#?}");
    for st in FINAL_STATUSES {
        assert!(
            summary.final_statuses.get(st).copied().unwrap_or(0) > 0,
            "no call ended {st}: {:?}",
            summary.final_statuses
        );
    }
}

#[test]
fn a_share_of_the_seeds_calls_through_bland_with_every_check() {
    let a = args(24, 2000);
    let mut failures = Vec::new();
    let mut bland_seed = None;
    let summary = run_seeds(&a, 2, |r, _| match r {
        Ok(r) if !r.violations.is_empty() => failures.push(format!(
            "seed {} ({}): {:#?}",
            r.seed, r.provider, r.violations
        )),
        Ok(r) => {
            if r.provider == outdial_core::ProviderKind::Bland && bland_seed.is_none() {
                bland_seed = Some(r.seed);
            }
        }
        Err(e) => failures.push(format!("{e:#}")),
    })
    .unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let bland = summary.seeds_by_provider.get("bland").copied().unwrap_or(0);
    let twilio = summary
        .seeds_by_provider
        .get("twilio")
        .copied()
        .unwrap_or(0);
    assert!(bland >= 2 && twilio >= 2, "{:?}", summary.seeds_by_provider);
    assert!(summary.stats.second_webhooks > 0, "{:#?}", summary.stats);
    // A Bland seed really spoke Bland: its campaign passes Bland's own checks, and its
    // trace shows JSON webhooks (no progress callbacks) applied to attempts.
    let seed = bland_seed.expect("a Bland seed");
    let sc = outdial_sim::scenario::Scenario::draw(seed, 10, 1, &outdial_sim::FaultSet::ALL);
    outdial_providers::check_campaign(&sc.campaign).expect("a valid Bland campaign");
    let cfg = SimConfig {
        keep_trace: true,
        ..small()
    };
    let r = run_seed(seed, &cfg).unwrap();
    let lines = r.trace.unwrap();
    let trace = lines.join("\n");
    assert!(trace.contains("provider bland"), "{trace}");
    let webhooks: Vec<&String> = lines.iter().filter(|l| l.contains(" webhook ")).collect();
    assert!(webhooks.iter().any(|l| l.contains("→ attempt")), "{trace}");
    for l in &webhooks {
        assert!(
            !["initiated", "ringing", "in-progress"]
                .iter()
                .any(|st| l.contains(&format!(" {st} →"))),
            "Bland sends no progress webhooks: {l}"
        );
    }
}

#[test]
fn a_seed_replays_to_the_same_trace_hash() {
    let cfg = small();
    let a = run_seed(4242, &cfg).unwrap();
    let b = run_seed(4242, &cfg).unwrap();
    assert!(a.trace_lines > 50, "{}", a.trace_lines);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.stats, b.stats);
    let c = run_seed(4243, &cfg).unwrap();
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn a_dropped_conclusion_is_caught() {
    let cfg = SimConfig {
        sabotage: Some(Sabotage::NeverConclude(AttemptId(1))),
        ..small()
    };
    let r = run_seed(7, &cfg).unwrap();
    assert!(
        r.violations
            .iter()
            .any(|v| v.check.contains("concluded") && v.detail.contains("attempt 1 ")),
        "{:#?}",
        r.violations
    );
    assert!(!r.trace_tail.is_empty());
}

#[test]
fn an_overlapping_call_in_the_ledger_is_caught() {
    let cfg = SimConfig {
        sabotage: Some(Sabotage::OverlappingLedgerEntry),
        ..small()
    };
    let r = run_seed(8, &cfg).unwrap();
    let checks: Vec<&str> = r.violations.iter().map(|v| v.check.as_str()).collect();
    assert!(
        checks.contains(&"no overlapping calls to one number"),
        "{checks:?}"
    );
    assert!(
        checks.contains(&"no provider call without its attempt"),
        "{checks:?}"
    );
}

#[test]
fn the_command_prints_a_summary_and_refuses_unknown_faults() {
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args([
            "simulate", "--seeds", "2", "--seed", "31", "--leads", "5", "--days", "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seed     31"), "{stdout}");
    assert!(stdout.contains("violations"), "{stdout}");

    let bad = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(["simulate", "--without", "gremlins"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown fault 'gremlins'"));
}
