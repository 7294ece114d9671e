//! `outdial import` on broken files and a failing store: a bad row costs that row, never
//! the rows after it; a row that could not be read, or a store that fails part-way, is
//! stated with counts and fails the command.

use chrono::{TimeZone, Utc};
use outdial::import::{import_file, ImportInterrupted, ImportTarget};
use outdial_core::compliance::StateRules;
use outdial_core::{AnswerBehaviour, CampaignSettings, Region, E164};
use outdial_sim::clock::SimClock;
use outdial_sim::crash::{CrashCtl, CrashPoint, CrashStore, Phase};
use outdial_sim::trace::Trace;
use outdial_store_sqlite::OpenMode;
use std::io::Write;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use crate::support::bin;

fn create_campaign(db: &Path) {
    let st = bin()
        .args([
            "campaign",
            "create",
            "c",
            "--caller-id",
            "+14155550100",
            "--twiml",
            "<Response/>",
            "--db",
        ])
        .arg(db)
        .status()
        .unwrap();
    assert!(st.success());
}

fn import(db: &Path, file: &Path) -> (Output, String, String) {
    let out = bin()
        .arg("import")
        .arg(file)
        .args(["--campaign", "c", "--db"])
        .arg(db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// `count` distinct valid rows `NUMBER,Name`.
fn good_rows(f: &mut impl Write, count: usize) {
    for i in 0..count {
        // Past 9,999 the line number would take five digits: exchanges 900 on.
        let (exchange, line) = if i < 10_000 {
            (200 + i % 700, i)
        } else {
            (900 + i / 10_000, i % 10_000)
        };
        writeln!(f, "212{exchange:03}{line:04},Name{i}").unwrap();
    }
}

fn head(s: &str) -> &str {
    &s[..s.len().min(500)]
}

#[test]
fn an_unbalanced_quote_loses_one_row_and_the_import_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    create_campaign(&db);
    // The reproducer.
    let csv = dir.path().join("leads.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "phone,first_name").unwrap();
    writeln!(f, "2125550130,\"Smith, J").unwrap();
    good_rows(&mut f, 10_000);
    drop(f);

    let (out, stdout, stderr) = import(&db, &csv);
    assert!(
        stdout.contains(
            "10001 rows read, 10000 imported, 0 duplicates skipped, 0 rejected, 1 unreadable"
        ),
        "{stdout}\n{}",
        head(&stderr)
    );
    let name = csv.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{name}:row 2, field first_name ('Smith, J'): a quoted value is not closed on its line"
        )),
        "{}",
        head(&stderr)
    );
    assert!(stderr.contains("1 row could not be read"), "{stderr}");
    // Rows were lost (row 2's content): the command fails, after importing the rest.
    assert!(!out.status.success(), "{stdout}");

    // The good rows are in: importing again finds them all as duplicates.
    let (_, stdout, _) = import(&db, &csv);
    assert!(
        stdout.contains("10001 rows read, 0 imported, 10000 duplicates skipped"),
        "{stdout}"
    );
}

#[test]
fn a_50_mb_field_is_not_imported_and_the_message_is_short() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    create_campaign(&db);
    let csv = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    write!(f, "phone,first_name\n2125550130,").unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..50 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, "\n2125550131,Bob").unwrap();
    drop(f);

    let (out, stdout, stderr) = import(&db, &csv);
    assert!(
        stdout.contains("2 rows read, 1 imported, 0 duplicates skipped, 0 rejected, 1 unreadable"),
        "{stdout}\n{}",
        head(&stderr)
    );
    assert!(
        stderr.len() < 2_000,
        "{} bytes: {}",
        stderr.len(),
        head(&stderr)
    );
    assert!(
        stderr.contains(":row 2: the line is longer than 65536 bytes"),
        "{stderr}"
    );
    assert!(!out.status.success());
}

#[test]
fn a_50_mb_header_is_refused_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    create_campaign(&db);
    let csv = dir.path().join("wide.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    write!(f, "name_").unwrap();
    let chunk = vec![b'n'; 1024 * 1024];
    for _ in 0..50 {
        f.write_all(&chunk).unwrap();
    }
    writeln!(f, ",city\n2125550131,Paris").unwrap();
    drop(f);

    let (out, _, stderr) = import(&db, &csv);
    assert!(!out.status.success());
    assert!(
        stderr.len() < 1_000,
        "{} bytes: {}",
        stderr.len(),
        head(&stderr)
    );
    assert!(stderr.contains("cannot read the header row"), "{stderr}");
}

#[tokio::test]
async fn a_store_failure_mid_import_says_how_many_leads_were_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap();
    let inner = outdial::app::open_store(&db, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let settings = CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    );
    let campaign = inner.create_campaign("c", &settings, now).await.unwrap();
    let csv = dir.path().join("leads.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "phone,first_name").unwrap();
    let batch = outdial::import::BATCH as u64;
    let total = 2 * batch + batch / 2;
    good_rows(&mut f, total as usize);
    drop(f);

    // A store whose third batch fails (and everything after it): two batches commit.
    let clock = Arc::new(SimClock::new(now));
    let ctl = Arc::new(CrashCtl::new(clock, Trace::new(false)));
    ctl.arm(CrashPoint {
        op: "insert_leads",
        phase: Phase::Before,
        skip: 2,
        not_before: now - chrono::Duration::days(1),
    });
    let failing = CrashStore::new(inner.clone(), ctl, 0);
    let rules = StateRules::builtin();
    let target = |store| ImportTarget {
        store,
        campaign: &campaign,
        region: Region::US,
        state_rules: &rules,
        dry_run: false,
        now,
    };
    let mut report = Vec::new();
    let err = import_file(target(&failing), &csv, &mut report)
        .await
        .expect_err("the store failed");
    let msg = format!("{err:#}");
    let first_lost = 2 + 2 * batch; // the header is line 1
    assert!(
        msg.contains(&format!(
            "the store failed at row {first_lost}; {} leads were committed",
            2 * batch
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("no row from row {first_lost} on was imported")),
        "{msg}"
    );
    assert!(msg.contains("simulated crash"), "the store's error: {msg}");
    let interrupted = err.downcast_ref::<ImportInterrupted>().expect("typed");
    assert_eq!(interrupted.outcome.inserted, 2 * batch);
    assert_eq!(interrupted.failed_at_row, first_lost);

    // Exactly what it said is in the store.
    let leads = outdial_sim::checks::all_leads(&*inner).await.unwrap();
    assert_eq!(leads.len() as u64, 2 * batch);

    // Run again on a healthy store: the committed leads are duplicates, the rest goes in.
    let out = import_file(target(&*inner), &csv, &mut report)
        .await
        .unwrap();
    assert_eq!(
        (out.inserted, out.duplicates),
        (total - 2 * batch, 2 * batch)
    );
}
