//! The issue-2 scenario: 500 leads (duplicates, invalid numbers, an always-busy number, a
//! number whose calls never end) through `outdial serve` and the fake carrier over real HTTP,
//! with `lose=0.3,duplicate=0.2,reorder=0.2`, on a fast clock across three simulated days,
//! with the compliance rules on (state hours and caps, DNC lists at enqueue and dial time).
//! Checked against the carrier's ledger.

use chrono::{Duration, TimeZone, Utc};
use outdial::checks;
use outdial_carrier::{CarrierConfig, FaultSpec};
use outdial_clock::{Clock, ScaledClock};
use outdial_core::schedule::RedialPolicy;
use outdial_core::{AnswerAction, CampaignSettings, Region, E164};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "e2e-auth-token";
const API_KEY: &str = "e2e-api-key-0123456789";

/// Area codes with a state each, all valid for libphonenumber.
const AREAS: [(&str, &str); 12] = [
    ("212", "NY"),
    ("415", "CA"),
    ("312", "IL"),
    ("305", "FL"),
    ("602", "AZ"),
    ("808", "HI"),
    ("214", "TX"),
    ("617", "MA"),
    ("702", "NV"),
    ("206", "WA"),
    ("404", "GA"),
    ("303", "CO"),
];

/// Writes the lead file: 500 rows in the VICIdial layout. Returns (always busy, never ends,
/// carrier-invalid numbers, numbers to put on DNC lists).
fn write_leads(path: &std::path::Path) -> (String, String, Vec<String>, Vec<String>) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut rows = Vec::new();
    for i in 0..470u32 {
        let (npa, st) = AREAS[(i as usize) % AREAS.len()];
        let number = format!("{npa}{:03}{:04}", 200 + (i % 700), 1000 + i);
        rows.push((format!("V{i:04}"), number, st.to_string()));
    }
    // 15 duplicates written differently.
    for i in 0..15usize {
        let n = &rows[i * 7].1;
        let pretty = format!("({}) {}-{}", &n[0..3], &n[3..6], &n[6..]);
        rows.push((format!("D{i:04}"), pretty, rows[i * 7].2.clone()));
    }
    // 15 invalid numbers.
    for i in 0..15u32 {
        let bad = match i % 3 {
            0 => format!("12{i}"),
            1 => "not-a-number".to_string(),
            _ => format!("(011) 555-{:04}", i),
        };
        rows.push((format!("X{i:04}"), bad, "NY".into()));
    }
    assert_eq!(rows.len(), 500);
    for (code, phone, state) in &rows {
        // vendor_lead_code, source_id, list_id, phone_code, phone_number, title, first_name,
        // middle_initial, last_name, address1, address2, address3, city, state, province,
        // postal_code, country_code, gender, date_of_birth, alt_phone, email,
        // security_phrase, comments
        writeln!(f, "{code}\tsrc\t1001\t1\t{phone}\t\tAlex\t\tDoe\t1 Main St\t\t\tTown\t{state}\t\t10001\tUSA\t\t\t\t\t\t").unwrap();
    }
    let e = |n: &str| E164::parse(n, Region::US).unwrap().to_string();
    (
        e(&rows[1].1),
        e(&rows[2].1),
        vec![e(&rows[3].1), e(&rows[4].1)],
        vec![e(&rows[5].1), e(&rows[6].1)],
    )
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_outdial"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_leads_three_days_with_faults_and_compliance() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let leads = dir.path().join("leads.txt");
    let (busy, endless, invalid, dnc) = write_leads(&leads);

    // Campaign: default policy (0, 2, 5, 10, 30, 60, 120 min; 8 per local day).
    let mut settings = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).unwrap(),
        AnswerAction::TwimlUrl {
            url: "https://example.com/twiml".into(),
        },
    );
    settings.machine_detection = Some("Enable".into());
    let settings_path = dir.path().join("campaign.json");
    std::fs::write(&settings_path, serde_json::to_string(&settings).unwrap()).unwrap();
    let st = bin()
        .args(["campaign", "create", "e2e", "--settings"])
        .arg(&settings_path)
        .arg("--db")
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    // One number is on the internal DNC list before the import (checked at enqueue)...
    let st = bin()
        .args(["dnc", "add", &dnc[1], "--db"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    // One simulated clock for both processes: Monday 2026-01-05 08:00 New York.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let out = bin()
        .args(["import"])
        .arg(&leads)
        .args([
            "--campaign",
            "e2e",
            "--clock-start",
            &start.to_rfc3339(),
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("500 rows read, 470 imported, 15 duplicates skipped, 15 rejected"),
        "{stdout}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.contains("leads.txt:")).count(),
        15,
        "{stderr}"
    );
    // ...and one is added after it (checked at dial time).
    let st = bin()
        .args(["dnc", "add", &dnc[0], "--db"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());

    let speed = 3000.0;
    let anchor = outdial_clock::real_unix_ms() + 1500;
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start, anchor, speed).unwrap());
    let carrier = outdial_carrier::start(
        CarrierConfig {
            account_sid: SID.into(),
            auth_token: TOKEN.into(),
            seed: 42,
            faults: "lose=0.3,duplicate=0.2,reorder=0.2"
                .parse::<FaultSpec>()
                .unwrap(),
            always_busy: vec![busy.clone()],
            never_ends: vec![endless.clone()],
            invalid: invalid.clone(),
            ..CarrierConfig::default()
        },
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();

    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let mut serve = bin()
        .args(["serve", "--db"])
        .arg(&db)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &public_url,
        ])
        .args([
            "--clock-start",
            &start.to_rfc3339(),
            "--speed",
            &speed.to_string(),
            "--clock-anchor",
            &anchor.to_string(),
        ])
        .env("OUTDIAL_TWILIO__API_BASE", carrier.base_url())
        .env("OUTDIAL_TWILIO__ACCOUNT_SID", SID)
        .env("OUTDIAL_TWILIO__AUTH_TOKEN", TOKEN)
        .env("OUTDIAL_API_KEYS", format!("[\"{API_KEY}\"]"))
        .env("OUTDIAL_DIALER__CALLS_PER_SECOND", "5")
        .env("OUTDIAL_DIALER__MAX_CONCURRENT", "25")
        .env("OUTDIAL_DIALER__TICK_MS", "50")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    let api = |path: &str| format!("{public_url}{path}");
    // Wait for the server.
    let mut up = false;
    for _ in 0..100 {
        if http.get(api("/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "outdial serve did not come up");
    let unauth = http.get(api("/api/v1/status")).send().await.unwrap();
    assert_eq!(unauth.status(), 401);

    // Run two simulated days and a bit.
    let end = start + Duration::hours(74);
    while clock.now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if let Ok(Some(code)) = serve.try_wait() {
            panic!("outdial serve exited early with {code}");
        }
    }
    let status: serde_json::Value = http
        .get(api("/api/v1/status"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["dialer"], "running", "{status}");
    // Stop dialing and let webhooks and the reconciler finish what is in flight.
    let stop = http
        .post(api("/api/v1/dialer/stop"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert!(stop.status().is_success());
    let drain_deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s: serde_json::Value = http
            .get(api("/api/v1/status"))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["attempts_in_flight"].as_u64() == Some(1) || std::time::Instant::now() > drain_deadline
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Stop the server (SIGTERM) and read the store directly.
    send_signal(serve.id(), "TERM");
    let code = serve.wait().unwrap();
    assert!(code.success(), "serve exited with {code}");

    let ledger = carrier.ledger();
    let stats = carrier.stats();
    carrier.shutdown().await;
    let store = SqliteStore::open(&db, OpenMode::MustExist).await.unwrap();
    let report = checks::check_all(
        &store,
        &ledger,
        &outdial_core::compliance::StateRules::builtin(),
    )
    .await
    .unwrap();
    for line in report.lines() {
        eprintln!("{line}");
    }
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
            outdial_store::Store::leads_by_phone(&store, &E164::parse(n, Region::US).unwrap())
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
            outdial_store::Store::leads_by_phone(&store, &E164::parse(n, Region::US).unwrap())
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
    outdial_store::Store::close(&store).await;
}

/// Sends a signal with the `kill` command (no unsafe code, no extra crate).
fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}
