//! The crash scenario: one `outdial serve` on one SQLite file, against the fake carrier over
//! real HTTP with faults (`lose=0.2,duplicate=0.1,reorder=0.1,ambiguous=0.02`), 500 leads
//! (an always-busy number, a number whose calls never end, a number the carrier refuses),
//! is killed with SIGKILL at seeded-random real moments (every 1–4 real seconds), more than
//! twenty times, and restarted each time on the same port with the same clock flags, so
//! every incarnation continues the same simulated time. The carrier's status callbacks go to
//! that port and fail while the process is down. After the last restart the run goes on,
//! then the dialer is stopped and the reconciler left to settle everything; the store is then
//! checked against the carrier's ledger: nothing overlapping, no cap exceeded, every call
//! allowed when placed, every attempt final (but the never-ending call), every carrier call
//! owned by exactly one attempt, every final attempt concluded, no lead lost or stuck in
//! `dialing`.
//!
//! The kill moments come from `CRASH_TEST_SEED` (default below; not an `OUTDIAL_` variable,
//! which the configuration would refuse as an unknown key); a failure prints the seed.

use super::support::{self, LeadFile, Serve, ServeProcess, SimClock, AREAS};
use chrono::{TimeZone, Utc};
use outdial_core::LeadStatus;
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

/// The lead file: 500 distinct valid numbers over every US time zone.
const LEADS: LeadFile<'static> = LeadFile {
    areas: &AREAS,
    valid: 500,
    duplicates: 0,
    duplicate_stride: 1,
    invalid: 0,
};
/// SIGKILLs to deliver (the requirement is at least 20).
const KILLS: usize = 22;
/// Real milliseconds between an incarnation answering `/healthz` and its kill: uniform in
/// this range.
const KILL_AFTER_MS: std::ops::Range<u64> = 1000..4000;
/// Real milliseconds the process stays dead before its restart: uniform in this range
/// (up to 5 simulated minutes, in which calls end and their callbacks fail).
const DOWN_MS: std::ops::Range<u64> = 0..1000;
/// Simulated seconds per real second. The kill phase (about 70 real seconds, 6 simulated
/// hours from 08:00 New York) stays well inside the union of the zones' calling hours (08:00
/// New York to 21:00 Honolulu, 18 hours), so every incarnation has work to do even if the
/// machine stalls the test for a minute or two.
const SPEED: f64 = 300.0;
/// Default seed of the kill moments.
const DEFAULT_SEED: u64 = 0x0d1a_1c4a_5412;
/// Calls per simulated second: 18 per real second at `SPEED`. The pace binds, so the leads
/// last through the whole kill phase and every incarnation is killed in the middle of work.
const CALLS_PER_SECOND: f64 = 0.06;

/// SplitMix64: a small seeded generator (no extra crate).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn in_range(&mut self, r: std::ops::Range<u64>) -> u64 {
        r.start + self.next() % (r.end - r.start)
    }
}

/// What one incarnation of `outdial serve` did before it was killed.
#[derive(Debug)]
struct Incarnation {
    pid: u32,
    /// Real milliseconds from healthy to the kill (the planned wait, unless the machine
    /// stalled the test).
    lived_ms: u64,
    /// The planned wait from healthy to the kill, real milliseconds.
    planned_ms: u64,
    /// Calls the carrier created while it was up (it is the only dialer).
    calls_placed: usize,
    /// Calls live at the carrier at the kill.
    live_at_kill: u64,
    /// Simulated instant of the kill.
    killed_at: chrono::DateTime<Utc>,
    /// Real milliseconds it stayed dead before the restart.
    down_ms: u64,
    /// Real milliseconds from SIGKILL to the process reaped.
    reap_ms: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_killed_twenty_times_loses_nothing() {
    let real_start = Instant::now();
    let seed = std::env::var("CRASH_TEST_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("CRASH_TEST_SEED is a number"))
        .unwrap_or(DEFAULT_SEED);
    eprintln!("crash test: kill moments from seed {seed} (CRASH_TEST_SEED)");
    let mut rng = SplitMix(seed);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let leads = dir.path().join("leads.txt");
    let numbers = LEADS.write(&leads);
    let (busy, endless) = (numbers[1].clone(), numbers[2].clone());
    let carrier_invalid = numbers[3..4].to_vec();
    support::create_campaign(&db, "crash", dir.path());
    // Monday 2026-01-05 08:00 New York.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let (stdout, _) = support::import_leads(&db, &leads, "crash", start);
    assert!(stdout.contains(&LEADS.import_summary()), "{stdout}");

    // One clock for the carrier and every incarnation: same start, anchor and speed.
    let sim = SimClock::new(start, SPEED, 1500);
    let clock = sim.clock();
    let carrier = support::start_carrier(
        support::carrier_config(
            seed,
            "lose=0.2,duplicate=0.1,reorder=0.1,ambiguous=0.02",
            std::slice::from_ref(&busy),
            std::slice::from_ref(&endless),
            &carrier_invalid,
        ),
        clock.clone(),
    )
    .await;

    // A fixed port (restarts reuse it: the carrier's callbacks go there) and a fixed instance
    // id (a restarted instance renews its own maintenance lease at once, so the reconciler
    // runs in every incarnation instead of waiting for the dead one's lease to expire). A
    // short request timeout: a `reserved` attempt orphaned by a kill is left alone for twice
    // that (real time) before the reconciler resolves it.
    let mut serve = Serve::new(&db, sim, &carrier.base_url(), CALLS_PER_SECOND, 25);
    serve.instance_id = Some("crash".into());
    serve
        .env
        .push(("OUTDIAL_TWILIO__REQUEST_TIMEOUT_S".into(), "5".into()));
    let base = serve.public_url();
    let http = reqwest::Client::new();
    let up_timeout = std::time::Duration::from_secs(20);

    let mut proc: ServeProcess = serve.spawn();
    proc.wait_healthy(&http, up_timeout, "outdial serve").await;
    support::assert_status_needs_key(&http, &base, "outdial serve").await;

    let mut history: Vec<Incarnation> = Vec::new();
    while history.len() < KILLS {
        let healthy_at = Instant::now();
        let calls_before = carrier.ledger().len();
        let wait_ms = rng.in_range(KILL_AFTER_MS.clone());
        tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        proc.assert_running("outdial serve");
        let pid = proc.pid();
        let kill_started = Instant::now();
        let code = proc.kill();
        let reap_ms = kill_started.elapsed().as_millis() as u64;
        // Figures of the instant of the kill (the carrier keeps running).
        let calls_after = carrier.ledger().len();
        let live_at_kill = carrier.stats().calls_in_flight;
        let killed_at = clock.now();
        assert_eq!(
            code.signal(),
            Some(9),
            "serve (pid {pid}) was killed: {code}"
        );
        let down_ms = rng.in_range(DOWN_MS.clone());
        history.push(Incarnation {
            pid,
            planned_ms: wait_ms,
            lived_ms: healthy_at.elapsed().as_millis() as u64,
            calls_placed: calls_after - calls_before,
            live_at_kill,
            killed_at,
            down_ms,
            reap_ms,
        });
        // Restart after a while, same flags, same port.
        tokio::time::sleep(std::time::Duration::from_millis(down_ms)).await;
        proc = serve.spawn();
        proc.wait_healthy(&http, up_timeout, "restarted outdial serve")
            .await;
    }
    let last_restart = clock.now();
    eprintln!(
        "{} kills in {:.1} real s, simulated {} → {}",
        history.len(),
        real_start.elapsed().as_secs_f64(),
        start,
        last_restart
    );
    for (n, i) in history.iter().enumerate() {
        eprintln!(
            "  incarnation {n:>2} pid {:>6}: up {:>4} ms (planned {:>4}), {:>3} calls placed, \
             {:>2} live at the kill at {} (reaped in {} ms), down {:>3} ms",
            i.pid,
            i.lived_ms,
            i.planned_ms,
            i.calls_placed,
            i.live_at_kill,
            i.killed_at,
            i.reap_ms,
            i.down_ms
        );
    }

    // The last incarnation runs undisturbed for a while, then dialing stops and webhooks and
    // the reconciler settle what is in flight (orphaned `reserved` attempts wait twice the
    // request timeout, 10 real s): only the never-ending call stays.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    proc.assert_running("outdial serve");
    let status = support::status(&http, &base, "outdial serve").await;
    assert_eq!(
        status["dialer"], "running",
        "the dialer stopped during the run: {status}"
    );
    support::stop_dialer(&http, &base).await;
    let settle_started = Instant::now();
    // Settled: at most one attempt in flight, and that one answered (`in-progress`: the
    // never-ending call). Counting alone is not enough: once the never-ending call has been
    // ended, the one attempt left may be a `reserved` orphan of the last kill, which the
    // reconciler only resolves after twice the request timeout.
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let in_flight = loop {
        let s = support::status(&http, &base, "outdial serve").await;
        let in_flight = s["attempts_in_flight"].as_u64().unwrap_or(u64::MAX);
        let answered = s["counts"]["attempts_by_state"]["in-progress"]
            .as_u64()
            .unwrap_or(0);
        if (in_flight <= 1 && in_flight == answered) || Instant::now() > deadline {
            break s["counts"]["attempts_by_state"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    // A few more reconciler rounds and ticks for conclusions.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let status = support::status(&http, &base, "outdial serve").await;
    eprintln!(
        "settled in {:.1} real s: attempts by state {in_flight}; status {}",
        settle_started.elapsed().as_secs_f64(),
        status["counts"]
    );
    let code = proc.signal_and_wait("TERM");
    assert!(code.success(), "serve exited with {code}");
    let end = clock.now();

    let ledger = carrier.ledger();
    let stats = carrier.stats();
    carrier.shutdown().await;
    let store = SqliteStore::open(&db, OpenMode::MustExist).await.unwrap();
    let report = support::run_checks(&store, &ledger).await;
    let attempts = outdial_sim::checks::all_attempts(&store).await.unwrap();
    let all_leads = outdial_sim::checks::all_leads(&store).await.unwrap();
    outdial_store::Coordination::close(&store).await;

    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &attempts {
        *by_state.entry(a.state.as_str()).or_default() += 1;
    }
    let mut leads_by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &all_leads {
        *leads_by_status.entry(l.status.as_str()).or_default() += 1;
    }
    let mut placed: Vec<usize> = history.iter().map(|i| i.calls_placed).collect();
    placed.sort_unstable();
    eprintln!(
        "crash: {} kills; {} calls at the carrier ({} by the last incarnation and the settle); \
         calls placed per killed incarnation: min {}, median {}, max {}; {} attempts by state \
         {by_state:?}; leads {leads_by_status:?}; callbacks lost by the fault {}, failed \
         (serve down, after the retry) {}, delivered {}; creates answered ambiguously {}; \
         simulated {start} → {end}; real time {:.1} s",
        history.len(),
        ledger.len(),
        ledger.len() - history.iter().map(|i| i.calls_placed).sum::<usize>(),
        placed[0],
        placed[placed.len() / 2],
        placed[placed.len() - 1],
        attempts.len(),
        stats.callbacks_lost,
        stats.callbacks_failed,
        stats.callbacks_delivered,
        stats.creates_ambiguous,
        real_start.elapsed().as_secs_f64()
    );
    eprintln!("carrier: {stats:?}");
    // Attempts a kill cut between the reservation and the recorded answer of the create
    // request, as far as the store shows it: reserved by an incarnation, with a placement
    // time after its kill (the reconciler of a later incarnation linked the call; a callback
    // that links it records the carrier's earlier event time instead, so this is a lower
    // bound). Those whose create never reached the carrier end `not-placed`, `no-call-found`.
    let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &attempts {
        if let Some(code) = &a.error_code {
            *errors.entry(code.as_str()).or_default() += 1;
        }
    }
    let mut linked_after_kill = 0;
    let mut previous_kill = start - chrono::Duration::days(1);
    for i in &history {
        linked_after_kill += attempts
            .iter()
            .filter(|a| a.reserved_at > previous_kill && a.reserved_at <= i.killed_at)
            .filter(|a| a.placed_at.is_some_and(|p| p > i.killed_at))
            .count();
        previous_kill = i.killed_at;
    }
    eprintln!(
        "attempts by error code {errors:?}; reserved by a killed incarnation and placed after \
         its kill: at least {linked_after_kill}; reconciled attempts: {}",
        attempts
            .iter()
            .filter(|a| a.reconciled_at.is_some())
            .count()
    );

    // Non-final attempts, calls without a (unique) attempt, unconcluded attempts, stuck leads.
    let ledger_by_sid: HashMap<&str, &outdial_carrier::LedgerEntry> =
        ledger.iter().map(|e| (e.call_sid.as_str(), e)).collect();
    let mut problems = Vec::new();
    for a in &attempts {
        let call = a
            .call_id
            .as_ref()
            .and_then(|c| ledger_by_sid.get(c.as_str()));
        if let Some(c) = a.call_id.as_ref() {
            if call.is_none() {
                problems.push(format!(
                    "attempt {} ({}) names call {c}, which the carrier never placed",
                    a.id, a.phone
                ));
            }
        }
        if !a.state.is_final() {
            let live = call.is_some_and(|e| e.ended_at.is_none());
            if !(live && a.phone.as_str() == endless) {
                problems.push(format!(
                    "attempt {} ({}) is {} (call {:?}, live at the carrier: {live}) after the \
                     run settled",
                    a.id,
                    a.phone,
                    a.state.as_str(),
                    a.call_id.as_ref().map(|c| c.to_string())
                ));
            }
        } else if a.concluded_at.is_none() {
            problems.push(format!(
                "attempt {} ({}) is {} but was never concluded (its lead was not decided)",
                a.id,
                a.phone,
                a.state.as_str()
            ));
        }
    }
    let mut owners: HashMap<&str, Vec<String>> = HashMap::new();
    for a in &attempts {
        if let Some(c) = &a.call_id {
            owners.entry(c.as_str()).or_default().push(a.id.to_string());
        }
    }
    for e in &ledger {
        match owners.get(e.call_sid.as_str()).map(Vec::len) {
            Some(1) => {}
            n => problems.push(format!(
                "carrier call {} to {} is owned by {} attempts ({:?})",
                e.call_sid,
                e.to,
                n.unwrap_or(0),
                owners.get(e.call_sid.as_str())
            )),
        }
    }
    let live_attempt_leads: HashSet<_> = attempts
        .iter()
        .filter(|a| !a.state.is_final())
        .map(|a| a.lead_id)
        .collect();
    for l in &all_leads {
        if l.status == LeadStatus::Dialing && !live_attempt_leads.contains(&l.id) {
            problems.push(format!(
                "lead {} ({}) is dialing without an attempt in flight",
                l.id, l.phone
            ));
        }
    }
    assert_eq!(all_leads.len(), LEADS.valid, "leads in the store");
    for p in problems.iter().take(20) {
        eprintln!("PROBLEM {p}");
    }
    let mut named: Vec<String> = Vec::new();
    for p in &problems {
        if let Some(i) = p.find("(+1") {
            let n = p[i + 1..i + 13].to_string();
            if !named.contains(&n) {
                named.push(n);
            }
        }
    }
    for n in named.iter().take(5) {
        support::explain_number(n, &attempts, &ledger);
    }
    if !report.ok() {
        support::explain_failures(&report, &attempts, &ledger);
    }

    // The ledger invariants: no overlapping calls to one number, per-number caps, every call
    // allowed by every rule when placed, every attempt final or provably in flight, no
    // provider call without its attempt, no lead lost.
    assert!(report.ok(), "invariant checks failed (seed {seed})");
    assert!(
        problems.is_empty(),
        "{} problem(s) after the crashes (seed {seed}); first: {}",
        problems.len(),
        problems[0]
    );
    // Enough kills, each in the middle of the work: every killed incarnation placed calls.
    assert!(history.len() >= 20, "only {} kills", history.len());
    let idle: Vec<usize> = (0..history.len())
        .filter(|&n| history[n].calls_placed == 0)
        .collect();
    assert!(
        idle.is_empty(),
        "incarnations {idle:?} placed no call before their kill (seed {seed}): the kill did \
         not interrupt work"
    );
    assert!(
        history.iter().filter(|i| i.live_at_kill > 1).count() * 2 > history.len(),
        "most kills should find calls live at the carrier: {history:?}"
    );
    // The run was real: many calls, callbacks lost while serve was down, the never-ending
    // number called (never twice at once: checked above), the refused number never in the
    // ledger.
    assert!(
        ledger.len() > LEADS.valid,
        "too few calls: {}",
        ledger.len()
    );
    assert!(
        stats.callbacks_failed > 0,
        "no callback hit a dead server: {stats:?}"
    );
    assert!(
        ledger.iter().any(|e| e.to == endless),
        "never-ending number never called"
    );
    assert!(ledger.iter().all(|e| !carrier_invalid.contains(&e.to)));
}
