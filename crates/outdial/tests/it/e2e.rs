//! The issue-2 scenario: 500 leads (duplicates, invalid numbers, an always-busy number, a
//! number whose calls never end) through `outdial serve` and the fake carrier over real HTTP,
//! with `lose=0.3,duplicate=0.2,reorder=0.2`, on a fast clock across three simulated days,
//! with the compliance rules on (state hours and caps, DNC lists at enqueue and dial time).
//! Checked against the carrier's ledger.

use super::support::{self, LeadFile, Serve, SimClock, AREAS};
use chrono::{Duration, TimeZone, Utc};
use outdial_core::schedule::RedialPolicy;
use outdial_core::{Region, E164};
use outdial_store_sqlite::{OpenMode, SqliteStore};

/// The lead file: 500 rows in the VICIdial layout (470 distinct valid numbers over twelve
/// area codes, 15 duplicates written differently, 15 invalid numbers).
const LEADS: LeadFile<'static> = LeadFile {
    areas: AREAS.split_at(12).0,
    valid: 470,
    duplicates: 15,
    duplicate_stride: 7,
    invalid: 15,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_leads_three_days_with_faults_and_compliance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let leads = dir.path().join("leads.txt");
    let numbers = LEADS.write(&leads);
    // Always busy, never ends, refused by the carrier (21211), on DNC lists.
    let (busy, endless) = (numbers[1].clone(), numbers[2].clone());
    let invalid = numbers[3..5].to_vec();
    let dnc = numbers[5..7].to_vec();

    // Campaign: default policy (0, 2, 5, 10, 30, 60, 120 min; 8 per local day).
    support::create_campaign(&db, "e2e", dir.path());
    // One number is on the internal DNC list before the import (checked at enqueue)...
    support::dnc_add(&db, &dnc[1]);
    // One simulated clock for both processes: Monday 2026-01-05 08:00 New York.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let (stdout, stderr) = support::import_leads(&db, &leads, "e2e", start);
    assert!(stdout.contains(&LEADS.import_summary()), "{stdout}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("leads.txt:")).count(),
        15,
        "{stderr}"
    );
    // ...and one is added after it (checked at dial time).
    support::dnc_add(&db, &dnc[0]);

    let sim = SimClock::new(start, 3000.0, 1500);
    let clock = sim.clock();
    let carrier = support::start_carrier(
        support::carrier_config(
            42,
            "lose=0.3,duplicate=0.2,reorder=0.2",
            std::slice::from_ref(&busy),
            std::slice::from_ref(&endless),
            &invalid,
        ),
        clock.clone(),
    )
    .await;

    let serve = Serve::new(&db, sim, &carrier.base_url(), 5.0, 25);
    let public_url = serve.public_url();
    let mut serve = serve.spawn();
    let http = reqwest::Client::new();
    serve
        .wait_healthy(&http, std::time::Duration::from_secs(10), "outdial serve")
        .await;
    support::assert_status_needs_key(&http, &public_url, "outdial serve").await;

    // Run two simulated days and a bit.
    let end = start + Duration::hours(74);
    while clock.now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        serve.assert_running("outdial serve");
    }
    let status = support::status(&http, &public_url, "outdial serve").await;
    assert_eq!(status["dialer"], "running", "{status}");
    // Stop dialing and let webhooks and the reconciler finish what is in flight.
    support::stop_dialer(&http, &public_url).await;
    support::drain(&http, &public_url, 1, std::time::Duration::from_secs(30)).await;
    // Stop the server (SIGTERM) and read the store directly.
    let code = serve.signal_and_wait("TERM");
    assert!(code.success(), "serve exited with {code}");

    let ledger = carrier.ledger();
    let stats = carrier.stats();
    carrier.shutdown().await;
    let store = SqliteStore::open(&db, OpenMode::MustExist).await.unwrap();
    let report = support::run_checks(&store, &ledger).await;
    eprintln!("carrier: {} calls; {stats:?}", ledger.len());
    assert!(report.ok(), "invariant checks failed");
    assert!(ledger.len() > 470, "too few calls placed: {}", ledger.len());

    // Numbers on a DNC list are never called, and their leads say why.
    for n in &dnc {
        assert!(
            ledger.iter().all(|e| &e.to != n),
            "DNC number {n} was called"
        );
        let leads =
            outdial_store::Leads::leads_by_phone(&store, &E164::parse(n, Region::US).unwrap())
                .await
                .unwrap();
        assert_eq!(leads[0].status, outdial_core::LeadStatus::Paused, "{n}");
        assert!(
            leads[0]
                .status_reason
                .as_deref()
                .unwrap_or("")
                .contains("do-not-call"),
            "{:?}",
            leads[0].status_reason
        );
    }

    // The run spans three local days.
    let days: std::collections::BTreeSet<_> = ledger
        .iter()
        .map(|e| {
            e.created_at
                .with_timezone(&chrono_tz::America::New_York)
                .date_naive()
        })
        .collect();
    assert!(days.len() >= 3, "calls on {days:?}");

    // The always-busy number: redialed by the policy, never in a loop.
    let policy = RedialPolicy::default();
    let mut calls: Vec<_> = ledger.iter().filter(|e| e.to == busy).collect();
    calls.sort_by_key(|e| e.created_at);
    assert!(
        calls.len() >= 3,
        "busy number redialed only {} times",
        calls.len()
    );
    assert!(
        calls.len() <= 4 * policy.max_per_local_day as usize,
        "busy number called {} times",
        calls.len()
    );
    assert!(calls
        .iter()
        .all(|c| c.final_status.as_deref() == Some("busy")));
    for (n, pair) in calls.windows(2).enumerate() {
        let gap = pair[1].created_at - pair[0].ended_at.unwrap();
        let wanted = policy.delay_before(n as u32 + 2);
        assert!(
            gap >= wanted - Duration::seconds(2),
            "busy redial {} came {gap} after the previous call, policy says {wanted}",
            n + 2
        );
    }
    // The never-ending number: one call, still in flight, never redialed.
    let endless_calls: Vec<_> = ledger.iter().filter(|e| e.to == endless).collect();
    assert_eq!(
        endless_calls.len(),
        1,
        "never-ending number called {} times",
        endless_calls.len()
    );
    // Carrier-invalid numbers: one attempt each, lead done as BAD_NUMBER.
    for n in &invalid {
        let leads =
            outdial_store::Leads::leads_by_phone(&store, &E164::parse(n, Region::US).unwrap())
                .await
                .unwrap();
        assert_eq!(
            leads[0].disposition.as_ref().map(|d| d.as_str()),
            Some("BAD_NUMBER"),
            "{n}"
        );
        assert_eq!(leads[0].attempt_count, 1);
    }
    assert!(
        ledger.iter().all(|e| !invalid.contains(&e.to)),
        "a rejected number reached the ledger"
    );
    outdial_store::Coordination::close(&store).await;
}
