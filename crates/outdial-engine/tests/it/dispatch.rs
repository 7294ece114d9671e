//! Issue 13: a tick's dialing is bounded by the pace and the concurrency cap, not by a fixed
//! batch of leads per tick.

use super::*;

fn phones(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("+1212{:03}{:04}", 200 + i / 10_000, i % 10_000))
        .collect()
}

async fn one_tick(n: usize, adjust: impl FnOnce(&mut EngineConfig)) -> (u32, usize) {
    let numbers = phones(n);
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let r = rig_with(&refs, adjust).await;
    let report = r.tick(t0()).await.unwrap();
    (report.placed, r.provider.placed().len())
}

#[tokio::test]
async fn a_tick_dials_past_the_claim_batch_when_the_pace_allows() {
    let (placed, sent) = one_tick(120, |c| {
        c.claim_batch = 20;
        c.max_concurrent = 1_000;
        c.calls_per_second = 1_000.0;
        c.dial_budget_real_ms = 5_000;
    })
    .await;
    assert_eq!((placed, sent), (120, 120), "every due lead in one tick");
}

#[tokio::test]
async fn a_tick_stops_at_the_concurrency_cap() {
    let (placed, sent) = one_tick(120, |c| {
        c.claim_batch = 20;
        c.max_concurrent = 50;
        c.calls_per_second = 1_000.0;
        c.dial_budget_real_ms = 5_000;
    })
    .await;
    assert_eq!(
        (placed, sent),
        (50, 50),
        "no more than max_concurrent in flight"
    );
}

#[tokio::test]
async fn a_slow_pace_claims_only_the_claim_batch_per_round() {
    // One call per second, a one-second budget: a round claims max(claim_batch, 1) = 3
    // leads; the manual clock never moves, so the pacer's waits are zero and the tick goes on
    // round after round until the budget ends or the queue drains.
    let (placed, _) = one_tick(7, |c| {
        c.claim_batch = 3;
        c.max_concurrent = 100;
        c.calls_per_second = 1.0;
        c.dial_budget_real_ms = 5_000;
    })
    .await;
    assert_eq!(placed, 7);
}

#[tokio::test]
async fn a_zero_budget_keeps_one_claim_per_tick() {
    let (placed, _) = one_tick(120, |c| {
        c.claim_batch = 20;
        c.max_concurrent = 1_000;
        c.calls_per_second = 1_000.0;
        c.dial_budget_real_ms = 0;
    })
    .await;
    assert_eq!(placed, 20);
}
