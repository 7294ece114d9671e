//! The issue-4 scenario: a fleet of three `outdial serve` processes on one PostgreSQL
//! database, 2,000 leads (duplicates, invalid numbers, an always-busy number, a number whose
//! calls never end), the fake carrier with `lose=0.3,duplicate=0.2,reorder=0.2,ambiguous=0.02`,
//! one shared fast clock over two simulated days. Part way through, instance `b` is killed
//! with SIGKILL and never restarted: the survivors must take over what it had reserved, keep
//! the fleet-wide pace (calls per second) and concurrency cap, and leave every invariant of
//! `checks::check_all` intact.
//!
//! Needs a server: `OUTDIAL_TEST_POSTGRES_URL` names a database to connect to as an
//! administrator (for example `postgres://postgres@127.0.0.1:5432/postgres`); the test
//! creates its own database (`outdial_fleet_…`) and drops it afterwards. Without the variable
//! the test prints a notice and passes, except under CI (`CI=true`), where it fails.
//!
//! The carrier is served in-process on one listener per instance (one shared `Carrier`, so one
//! ledger), each listener counting the calls its instance placed: that proves the work really
//! was spread over the fleet.

use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial::checks;
use outdial_carrier::{Carrier, CarrierConfig, FaultSpec, LedgerEntry};
use outdial_clock::{Clock, ScaledClock};
use outdial_core::compliance::StateRules;
use outdial_core::{AnswerAction, CampaignSettings, Region, E164};
use outdial_store_postgres::PgStore;
use sqlx::Connection;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const URL_VAR: &str = "OUTDIAL_TEST_POSTGRES_URL";
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "fleet-auth-token";
const API_KEY: &str = "fleet-api-key-0123456789";
/// The fleet-wide pace, calls per simulated second (`OUTDIAL_DIALER__CALLS_PER_SECOND`).
const FLEET_CPS: f64 = 0.05;
/// The fleet-wide cap on attempts in flight (`OUTDIAL_DIALER__MAX_CONCURRENT`).
const FLEET_MAX_CONCURRENT: u32 = 8;

/// Area codes with a state each, all valid for libphonenumber, over every US time zone.
const AREAS: [(&str, &str); 20] = [
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
    ("215", "PA"),
    ("313", "MI"),
    ("612", "MN"),
    ("504", "LA"),
    ("801", "UT"),
    ("907", "AK"),
    ("704", "NC"),
    ("503", "OR"),
];

const VALID_ROWS: usize = 1900;
const DUPLICATE_ROWS: usize = 50;
const INVALID_ROWS: usize = 50;

/// The special numbers of the lead file.
struct Specials {
    busy: String,
    endless: String,
    carrier_invalid: Vec<String>,
}

/// Writes the lead file: 2,000 rows in the VICIdial layout (1,900 distinct valid numbers, 50
/// duplicates written differently, 50 invalid numbers).
fn write_leads(path: &std::path::Path) -> Specials {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut rows = Vec::new();
    for i in 0..VALID_ROWS {
        let (npa, st) = AREAS[i % AREAS.len()];
        let number = format!("{npa}{:03}{:04}", 200 + (i % 700), 1000 + i);
        rows.push((format!("V{i:05}"), number, st.to_string()));
    }
    for i in 0..DUPLICATE_ROWS {
        let (n, st) = (rows[i * 37].1.clone(), rows[i * 37].2.clone());
        let pretty = format!("({}) {}-{}", &n[0..3], &n[3..6], &n[6..]);
        rows.push((format!("D{i:05}"), pretty, st));
    }
    for i in 0..INVALID_ROWS {
        let bad = match i % 3 {
            0 => format!("12{i}"),
            1 => "not-a-number".to_string(),
            _ => format!("(011) 555-{i:04}"),
        };
        rows.push((format!("X{i:05}"), bad, "NY".into()));
    }
    assert_eq!(rows.len(), 2000);
    for (code, phone, state) in &rows {
        // vendor_lead_code, source_id, list_id, phone_code, phone_number, title, first_name,
        // middle_initial, last_name, address1, address2, address3, city, state, province,
        // postal_code, country_code, gender, date_of_birth, alt_phone, email,
        // security_phrase, comments
        writeln!(f, "{code}\tsrc\t1001\t1\t{phone}\t\tAlex\t\tDoe\t1 Main St\t\t\tTown\t{state}\t\t10001\tUSA\t\t\t\t\t\t").unwrap();
    }
    f.flush().unwrap();
    let e = |n: &str| E164::parse(n, Region::US).unwrap().to_string();
    Specials {
        busy: e(&rows[1].1),
        endless: e(&rows[2].1),
        carrier_invalid: vec![e(&rows[3].1), e(&rows[4].1)],
    }
}

/// The administrator URL, or `None` (with a notice) when the test is to be skipped.
/// Panics under CI when it is missing: there a skip would hide a failure.
fn admin_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{URL_VAR} is not set, and CI=true: the fleet test must run in CI");
            }
            // Past libtest's output capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipping fleet test: {URL_VAR} is not set"
            );
            None
        }
    }
}

/// `admin` (`postgres://user@host:port/db?params`) with its database replaced by `name`.
fn url_with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let authority = base.find("://").expect("a postgres:// URL") + 3;
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    match query {
        Some(q) => format!("{}/{name}?{q}", &base[..path]),
        None => format!("{}/{name}", &base[..path]),
    }
}

/// The database of the run, created fresh and dropped (`WITH (FORCE)`) when the value is
/// dropped, even when the test panics.
struct FleetDb {
    admin: String,
    name: String,
    url: String,
}

impl FleetDb {
    async fn create(admin: &str) -> FleetDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!(
            "outdial_fleet_{}_{}",
            std::process::id(),
            nanos % 1_000_000_000_000
        );
        let mut c = sqlx::PgConnection::connect(admin)
            .await
            .expect("connect to the admin database");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .expect("create the fleet database");
        c.close().await.ok();
        FleetDb {
            admin: admin.to_owned(),
            url: url_with_database(admin, &name),
            name,
        }
    }
}

impl Drop for FleetDb {
    fn drop(&mut self) {
        // Its own thread and runtime: Drop cannot await, and may run inside a runtime (or
        // during a panic) where blocking on the current one is not allowed.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await?;
                c.close().await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop fleet database {}: {done:?}", self.name);
        }
    }
}

/// One `outdial serve` process of the fleet; killed (SIGKILL) if still running when dropped,
/// so that a failing test leaves no process behind.
struct Instance {
    id: &'static str,
    public_url: String,
    child: Option<Child>,
    /// Calls this instance placed at the carrier (create requests answered 201, or 500 by the
    /// `ambiguous` fault, which places the call).
    placed: Arc<AtomicU64>,
    carrier_server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    fn placed(&self) -> u64 {
        self.placed.load(Ordering::SeqCst)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("instance running").id()
    }

    /// Panics if the process has exited.
    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(code)) = child.try_wait() {
                panic!("instance {} exited early with {code}", self.id);
            }
        }
    }

    /// Sends `sig` and waits for the process; returns its exit status.
    fn signal_and_wait(&mut self, sig: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("instance running");
        send_signal(child.id(), sig);
        child.wait().unwrap()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.carrier_server.abort();
    }
}

/// The `outdial` binary, without the test's own `OUTDIAL_TEST_POSTGRES_URL` (each process is
/// told its database with `--db`).
fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
    cmd.env_remove(URL_VAR);
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends a signal with the `kill` command (no unsafe code, no extra crate).
fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Serves the shared carrier's API on a new listener, counting the calls placed through it.
async fn carrier_listener(
    carrier: &Carrier,
    placed: Arc<AtomicU64>,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    use axum::extract::Request;
    use axum::http::{Method, StatusCode};
    use axum::middleware::{from_fn, Next};
    let app = carrier
        .router()
        .layer(from_fn(move |req: Request, next: Next| {
            let placed = placed.clone();
            async move {
                let create =
                    req.method() == Method::POST && req.uri().path().ends_with("/Calls.json");
                let res = next.run(req).await;
                // 201: placed. The only server errors configured are the `ambiguous` fault's
                // 500s, and those calls are placed too.
                if create && (res.status() == StatusCode::CREATED || res.status().is_server_error())
                {
                    placed.fetch_add(1, Ordering::SeqCst);
                }
                res
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    (base, server)
}

/// Prints, for the numbers named in failed checks (at most five), their attempts in the store
/// and their calls in the carrier's ledger, side by side in time.
fn explain_failures(
    report: &checks::CheckReport,
    attempts: &[outdial_store::Attempt],
    ledger: &[LedgerEntry],
) {
    let mut numbers = Vec::new();
    for c in report.checks.iter().filter(|c| !c.ok) {
        let d = c.detail.as_bytes();
        for (i, _) in c.detail.match_indices("+1") {
            let end = i + 1 + d[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            let n = &c.detail[i..end];
            if n.len() == 12 && !numbers.iter().any(|m| m == n) {
                numbers.push(n.to_string());
            }
        }
    }
    for n in numbers.iter().take(5) {
        eprintln!("-- {n}");
        for a in attempts.iter().filter(|a| a.phone.as_str() == n.as_str()) {
            eprintln!(
                "   attempt {} #{} {} reserved {} placed {:?} ended {:?} call {:?} error {:?}",
                a.id,
                a.number,
                a.state.as_str(),
                a.reserved_at,
                a.placed_at,
                a.ended_at,
                a.call_id.as_ref().map(|c| c.to_string()),
                a.error_code
            );
        }
        for e in ledger.iter().filter(|e| &e.to == n) {
            eprintln!(
                "   carrier {} created {} ended {:?} {:?}",
                e.call_sid, e.created_at, e.ended_at, e.final_status
            );
        }
    }
}

/// Most calls live at the carrier at one instant: created and not yet ended (a call ending
/// at the instant another is created does not overlap it).
fn max_live_calls(ledger: &[LedgerEntry]) -> usize {
    let mut edges: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for e in ledger {
        edges.push((e.created_at, 1));
        if let Some(end) = e.ended_at {
            edges.push((end, -1));
        }
    }
    // Ends before starts at the same instant.
    edges.sort();
    let (mut live, mut most) = (0i64, 0i64);
    for (_, d) in edges {
        live += d;
        most = most.max(live);
    }
    most as usize
}

/// Most calls created (carrier time, simulated) in any half-open window `[t, t + width)`.
fn max_in_window(mut times: Vec<DateTime<Utc>>, width: Duration) -> usize {
    times.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= width {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

async fn status(http: &reqwest::Client, inst: &Instance) -> serde_json::Value {
    let res = http
        .get(inst.api("/api/v1/status"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("status of instance {}: {e}", inst.id));
    assert!(
        res.status().is_success(),
        "status of instance {}: {}",
        inst.id,
        res.status()
    );
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_one_killed_two_thousand_leads_two_days() {
    let Some(admin) = admin_url() else {
        return;
    };
    let real_start = std::time::Instant::now();
    // Declared first, dropped last: after every process using it is gone.
    let db = FleetDb::create(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let leads = dir.path().join("leads.txt");
    let specials = write_leads(&leads);

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
    let out = bin()
        .args(["campaign", "create", "fleet", "--settings"])
        .arg(&settings_path)
        .args(["--db", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "campaign create on PostgreSQL failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // One simulated clock for every process: Monday 2026-01-05 08:00 New York.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let out = bin()
        .args(["import"])
        .arg(&leads)
        .args([
            "--campaign",
            "fleet",
            "--clock-start",
            &start.to_rfc3339(),
            "--db",
            &db.url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let imported = VALID_ROWS;
    assert!(
        stdout.contains(&format!(
            "2000 rows read, {imported} imported, {DUPLICATE_ROWS} duplicates skipped, \
             {INVALID_ROWS} rejected"
        )),
        "{stdout}"
    );

    let speed = 2000.0;
    let anchor = outdial_clock::real_unix_ms() + 2000;
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start, anchor, speed).unwrap());
    let carrier = Carrier::new(
        CarrierConfig {
            account_sid: SID.into(),
            auth_token: TOKEN.into(),
            seed: 4,
            faults: "lose=0.3,duplicate=0.2,reorder=0.2,ambiguous=0.02"
                .parse::<FaultSpec>()
                .unwrap(),
            always_busy: vec![specials.busy.clone()],
            never_ends: vec![specials.endless.clone()],
            invalid: specials.carrier_invalid.clone(),
            ..CarrierConfig::default()
        },
        clock.clone(),
    )
    .unwrap();

    let mut fleet = Vec::new();
    for id in ["a", "b", "c"] {
        let placed = Arc::new(AtomicU64::new(0));
        let (carrier_base, carrier_server) = carrier_listener(&carrier, placed.clone()).await;
        let port = free_port();
        let public_url = format!("http://127.0.0.1:{port}");
        let child = bin()
            .args(["serve", "--db", &db.url, "--instance-id", id])
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
            .env("OUTDIAL_TWILIO__API_BASE", &carrier_base)
            .env("OUTDIAL_TWILIO__ACCOUNT_SID", SID)
            .env("OUTDIAL_TWILIO__AUTH_TOKEN", TOKEN)
            .env("OUTDIAL_API_KEYS", format!("[\"{API_KEY}\"]"))
            // Fleet-wide limits: the pace and the cap hold for the three instances together.
            .env("OUTDIAL_DIALER__CALLS_PER_SECOND", FLEET_CPS.to_string())
            .env(
                "OUTDIAL_DIALER__MAX_CONCURRENT",
                FLEET_MAX_CONCURRENT.to_string(),
            )
            .env("OUTDIAL_DIALER__TICK_MS", "50")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        fleet.push(Instance {
            id,
            public_url,
            child: Some(child),
            placed,
            carrier_server,
        });
    }

    let http = reqwest::Client::new();
    for inst in &mut fleet {
        let mut up = false;
        for _ in 0..150 {
            if http.get(inst.api("/healthz")).send().await.is_ok() {
                up = true;
                break;
            }
            inst.assert_running();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(up, "instance {} did not come up", inst.id);
        let unauth = http.get(inst.api("/api/v1/status")).send().await.unwrap();
        assert_eq!(unauth.status(), 401, "instance {}", inst.id);
    }

    // Two simulated days. `b` is killed 8 simulated hours in (16:00 New York, 13:00 Los
    // Angeles, 11:00 Honolulu), while every zone is within calling hours and the fleet is
    // busy: b dies with calls in flight and attempts reserved.
    let kill_at = start + Duration::hours(8);
    let end = start + Duration::hours(48);
    let mut b_killed_after = None;
    while clock.now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        for inst in fleet.iter_mut() {
            inst.assert_running();
        }
        if b_killed_after.is_none() && clock.now() >= kill_at {
            // Before the kill every instance answers, runs the dialer and has placed calls.
            for inst in &fleet {
                let s = status(&http, inst).await;
                assert_eq!(s["dialer"], "running", "instance {}: {s}", inst.id);
                assert!(inst.placed() > 0, "instance {} placed no call", inst.id);
            }
            let b = &mut fleet[1];
            assert_eq!(b.id, "b");
            let pid = b.pid();
            let placed = b.placed();
            send_signal(pid, "KILL");
            let code = b.child.take().unwrap().wait().unwrap();
            assert!(!code.success(), "b was killed: {code}");
            eprintln!(
                "killed instance b (pid {pid}) at {} after it placed {placed} calls",
                clock.now()
            );
            b_killed_after = Some(placed);
        }
    }
    assert!(b_killed_after.is_some(), "b was not killed during the run");

    // b is gone: no lease of the fleet is held by it any more (the maintenance lease expired
    // and a survivor took it over).
    {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let leases: Vec<(String, String)> = sqlx::query_as("SELECT name, holder FROM leases")
            .fetch_all(&mut c)
            .await
            .unwrap();
        c.close().await.ok();
        eprintln!("leases at the end of the run: {leases:?}");
        assert!(!leases.is_empty(), "no lease held at the end of the run");
        assert!(
            leases.iter().all(|(_, h)| h == "a" || h == "c"),
            "a lease is not held by a survivor: {leases:?}"
        );
    }

    let (a, c) = (&fleet[0], &fleet[2]);
    assert_eq!(status(&http, a).await["dialer"], "running");
    // Stop dialing on one survivor: the dialer state is shared, so the other stops too.
    let stop = http
        .post(a.api("/api/v1/dialer/stop"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert!(stop.status().is_success(), "{}", stop.status());
    let s = status(&http, c).await;
    assert_eq!(s["dialer"], "stopped", "the stop did not reach c: {s}");
    // Let webhooks and the reconciler finish what is in flight, b's orphans included; only
    // the never-ending call stays.
    let drain_deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let mut in_flight;
    loop {
        in_flight = status(&http, c).await["attempts_in_flight"].as_u64();
        if in_flight.is_some_and(|n| n <= 1) || std::time::Instant::now() > drain_deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    eprintln!("attempts in flight after the drain: {in_flight:?}");
    for i in [0, 2] {
        let inst = &mut fleet[i];
        let code = inst.signal_and_wait("TERM");
        assert!(code.success(), "instance {} exited with {code}", inst.id);
    }

    let ledger = carrier.ledger();
    let stats = carrier.stats();
    carrier.stop_callbacks();
    let placed: Vec<(&str, u64)> = fleet.iter().map(|i| (i.id, i.placed())).collect();
    drop(fleet);

    let store = PgStore::connect(&db.url, 5).await.unwrap();
    let report = checks::check_all(&store, &ledger, &StateRules::builtin())
        .await
        .unwrap();
    for line in report.lines() {
        eprintln!("{line}");
    }
    let attempts = checks::all_attempts(&store).await.unwrap();
    outdial_store::Store::close(&store).await;

    // Pace windows: one second (or one slot, when slots are longer), and ten of those.
    let short_s = (1.0 / FLEET_CPS).max(1.0);
    let short = Duration::milliseconds((short_s * 1000.0).round() as i64);
    let long = short * 10;
    let short_slots = (short_s * FLEET_CPS).round() as usize;
    let long_slots = (10.0 * short_s * FLEET_CPS).round() as usize;
    let created: Vec<_> = ledger.iter().map(|e| e.created_at).collect();
    let max_short = max_in_window(created.clone(), short);
    let max_long = max_in_window(created, long);
    let reserved: Vec<_> = attempts.iter().map(|a| a.reserved_at).collect();
    let max_short_reserved = max_in_window(reserved, short);
    let max_live = max_live_calls(&ledger);
    // How long after its reservation (the instant the rules were checked) each call reached
    // the carrier, in simulated seconds: the rules' margin must cover it.
    let created_by_sid: std::collections::HashMap<&str, DateTime<Utc>> = ledger
        .iter()
        .map(|e| (e.call_sid.as_str(), e.created_at))
        .collect();
    let mut lags: Vec<f64> = attempts
        .iter()
        .filter_map(|a| {
            let created = created_by_sid.get(a.call_id.as_ref()?.as_str())?;
            Some((*created - a.reserved_at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let lag_at = |q: f64| lags.get(((lags.len() as f64 - 1.0) * q) as usize).copied();
    eprintln!(
        "carrier: {} calls; placed by instance: {placed:?}; {} attempts; \
         most calls created in {short_s} simulated s: {max_short}, in {}: {max_long} \
         (pace {FLEET_CPS}/s); most attempts reserved in {short_s} s: {max_short_reserved}; \
         most calls live at once: {max_live} (cap {FLEET_MAX_CONCURRENT}); \
         reservation to carrier creation, simulated s: median {:?}, 99% {:?}, max {:?}; \
         real time {:.1} s; {stats:?}",
        ledger.len(),
        attempts.len(),
        10.0 * short_s,
        lag_at(0.5),
        lag_at(0.99),
        lag_at(1.0),
        real_start.elapsed().as_secs_f64()
    );
    if !report.ok() {
        explain_failures(&report, &attempts, &ledger);
    }

    // No overlapping calls to a number, caps, every call allowed by every rule when placed,
    // every attempt final or provably in flight (nothing `reserved` or `unknown` left from b's
    // death: the survivors took its leads over), no provider call without its attempt, no
    // lead lost.
    assert!(report.ok(), "invariant checks failed");
    // The pace and the concurrency cap bind (by design), so the fleet cannot reach every lead
    // in two days; it must still do a real share of the work.
    assert!(
        ledger.len() * 2 > imported,
        "too few calls placed: {}",
        ledger.len()
    );
    // The work was spread: all three instances placed calls, and every call of the ledger
    // was placed through one of them.
    assert!(
        placed.iter().all(|(_, n)| *n > 0),
        "an instance placed no call: {placed:?}"
    );
    assert_eq!(
        placed.iter().map(|(_, n)| n).sum::<u64>(),
        ledger.len() as u64,
        "calls placed by the instances vs the carrier's ledger"
    );

    // The fleet-wide pace. The pacer hands out one slot per 1/4 simulated second to the whole
    // fleet, so a half-open 1-second window holds at most 4 slots. The carrier stamps
    // `created_at` when the create request arrives, which is the slot plus the request's
    // latency (sub-millisecond jitter is a sizeable fraction of a simulated second at this
    // speed), rounded to the millisecond: a call whose slot lies just before a window can
    // land inside it. One extra call per second is allowed for that boundary effect; over
    // 10 seconds the effect is small against the 40 slots and the average must hold.
    assert!(
        max_short <= short_slots + 1,
        "{max_short} calls created within {short_s} simulated s (fleet pace {FLEET_CPS}/s)"
    );
    assert!(
        max_long <= long_slots,
        "{max_long} calls created within {} simulated s (fleet pace {FLEET_CPS}/s)",
        10.0 * short_s
    );

    // The fleet-wide cap on attempts in flight. A call is live at the carrier from its
    // creation to its end, and its attempt is in flight from before the first to after the
    // second (the end is learned from a callback or the reconciler), so the calls live at
    // the carrier at any instant never outnumber the attempts in flight then.
    assert!(
        max_live <= FLEET_MAX_CONCURRENT as usize,
        "{max_live} calls live at once at the carrier (fleet cap {FLEET_MAX_CONCURRENT})"
    );

    // The always-busy number is never called in a loop (the daily cap is checked above). How
    // soon it is redialed depends on the queue: the pace and the concurrency cap are set low
    // enough here that both bind, so redials wait behind first attempts; the redial timing
    // itself is asserted by the single-instance end-to-end test.
    let busy: Vec<&LedgerEntry> = ledger.iter().filter(|e| e.to == specials.busy).collect();
    assert!(!busy.is_empty(), "busy number never called");
    assert!(busy
        .iter()
        .all(|c| c.final_status.as_deref() == Some("busy")));
    // ...the never-ending number is called once, by one instance, and never again...
    let endless = ledger.iter().filter(|e| e.to == specials.endless).count();
    assert_eq!(endless, 1, "never-ending number called {endless} times");
    // ...and numbers the carrier refuses never reach the ledger.
    assert!(
        ledger
            .iter()
            .all(|e| !specials.carrier_invalid.contains(&e.to)),
        "a rejected number reached the ledger"
    );
}

#[test]
fn database_name_replaced_in_url() {
    assert_eq!(
        url_with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        url_with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        url_with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

#[test]
fn window_counts() {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let ms = |v: i64| t0 + Duration::milliseconds(v);
    let times = vec![
        ms(0),
        ms(250),
        ms(500),
        ms(750),
        ms(1000),
        ms(1999),
        ms(2500),
    ];
    assert_eq!(max_in_window(times.clone(), Duration::seconds(1)), 4);
    assert_eq!(max_in_window(times, Duration::seconds(10)), 7);
    assert_eq!(max_in_window(Vec::new(), Duration::seconds(1)), 0);
}

#[test]
fn live_calls() {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let call = |from: i64, to: Option<i64>| LedgerEntry {
        call_sid: String::new(),
        to: String::new(),
        from: String::new(),
        created_at: t0 + Duration::seconds(from),
        answered_at: None,
        ended_at: to.map(|s| t0 + Duration::seconds(s)),
        final_status: None,
    };
    // [0, 10) and [10, 20) do not overlap; [5, ∞) overlaps both.
    let ledger = [call(0, Some(10)), call(10, Some(20)), call(5, None)];
    assert_eq!(max_live_calls(&ledger), 2);
    assert_eq!(max_live_calls(&ledger[..2]), 1);
    assert_eq!(max_live_calls(&[]), 0);
}
