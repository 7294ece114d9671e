//! A large lead import into the database a dialing `outdial serve` is using (issue 9, item
//! 7): the import is another process writing the same SQLite file. No status callback may be
//! answered 5xx and no scheduler tick may fail meanwhile (every read-then-write transaction
//! begins as a writer, `BEGIN IMMEDIATE`, so the busy timeout covers it).

use super::support::{self, LeadFile, Serve, SimClock, AREAS};
use chrono::{TimeZone, Utc};
use std::io::Write;
use std::time::{Duration, Instant};

const LIVE: LeadFile<'static> = LeadFile {
    areas: &AREAS,
    valid: 300,
    duplicates: 0,
    duplicate_stride: 1,
    invalid: 0,
};

/// Rows of the bulk file.
const BULK_ROWS: usize = 200_000;

/// Writes `rows` distinct valid numbers as a CSV with a header (exchanges 230–239, lines
/// 2000–2999 of every area in [`AREAS`]: none shared with [`LIVE`]).
fn write_bulk(path: &std::path::Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "phone,first_name,state").unwrap();
    for i in 0..rows {
        let (npa, st) = AREAS[i % AREAS.len()];
        let k = i / AREAS.len();
        writeln!(f, "{npa}{}{:04},Bulk,{st}", 230 + k / 1000, 2000 + k % 1000).unwrap();
    }
    f.flush().unwrap();
}

#[tokio::test]
async fn a_large_import_into_the_live_database_fails_no_webhook_and_no_tick() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let live = dir.path().join("live.txt");
    LIVE.write(&live);
    let bulk = dir.path().join("bulk.csv");
    write_bulk(&bulk, BULK_ROWS);
    support::create_campaign(&db, "live", dir.path());
    support::create_campaign(&db, "bulk", dir.path());
    // Monday 2026-01-05 08:00 New York.
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let (stdout, _) = support::import_leads(&db, &live, "live", start);
    assert!(stdout.contains(&LIVE.import_summary()), "{stdout}");

    let sim = SimClock::new(start, 60.0, 1500);
    let carrier =
        support::start_carrier(support::carrier_config(11, "", &[], &[], &[]), sim.clock()).await;
    let serve = Serve::new(&db, sim, &carrier.base_url(), 0.5, 25);
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = serve.command();
    cmd.stderr(std::process::Stdio::from(log));
    let mut child = cmd.spawn().unwrap();
    let http = reqwest::Client::new();
    let base = serve.public_url();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while carrier.ledger().len() < 5 {
        assert!(Instant::now() < deadline, "serve placed no calls");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The import, in another process, while serve dials and takes callbacks.
    let before = carrier.stats();
    let calls_before = carrier.ledger().len();
    let import_started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (db, bulk) = (db.clone(), bulk.clone());
        move || {
            support::bin()
                .arg("import")
                .arg(&bulk)
                .args(["--campaign", "bulk", "--db"])
                .arg(&db)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let import_s = import_started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{BULK_ROWS} imported")),
        "{stdout}"
    );
    // Callbacks of calls placed during the import arrive a little later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = carrier.stats();
    let calls_during = carrier.ledger().len() - calls_before;
    support::send_signal(child.id(), "TERM");
    // Wait without blocking this runtime: the fake carrier serve is still talking to runs on
    // it, and a blocked runtime would leave serve's last requests unanswered until they
    // time out (serve then exits minutes late).
    let stop_deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(
            Instant::now() < stop_deadline,
            "serve did not exit within 60 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    carrier.shutdown().await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    eprintln!(
        "import of {BULK_ROWS} rows took {import_s:.1} s; meanwhile {calls_during} calls placed, \
         {} callbacks delivered, {} answered 5xx or unreachable",
        after.callbacks_delivered - before.callbacks_delivered,
        after.callbacks_retried - before.callbacks_retried
    );
    assert!(code.success(), "serve exited with {code}");
    assert!(calls_during > 0, "nothing was dialed during the import");
    assert!(
        after.callbacks_delivered > before.callbacks_delivered,
        "no callback during the import"
    );
    assert_eq!(
        (after.callbacks_retried, after.callbacks_failed),
        (before.callbacks_retried, before.callbacks_failed),
        "status callbacks answered 5xx during the import; serve's log:\n{log}"
    );
    for bad in ["tick failed", "database is locked", "step failed"] {
        assert!(!log.contains(bad), "serve logged '{bad}':\n{log}");
    }
}
