//! A full disk, on a real small file system (issue 9, item 1): every write that fails is an
//! error the caller sees ([`StoreError::Unavailable`]), nothing reported `Ok` is lost,
//! nothing reported as an error is stored, and the same store instance recovers once space is
//! free again: its writes commit (another connection sees them and can write), without
//! "database is locked" and without being nested in a transaction that never ends.
//!
//! The test mounts a 2 MiB tmpfs in a temporary directory (it needs root, or the right to
//! mount). Where mounting is not permitted it prints a notice and passes, except under CI
//! (`CI=true`), where a skip is a failure.

use chrono::{DateTime, TimeZone, Utc};
use outdial_core::{AnswerBehaviour, CampaignSettings, LeadContact, NewLead, Region, E164};
use outdial_store::prelude::*;
use outdial_store::{KillScope, LeadPlacement, StoreError};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use outdial_testkit::small_fs::{fill, SmallFs};
use sqlx::Connection;
use std::path::PathBuf;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response><Say>Hi</Say></Response>"),
    )
}

/// The `n`-th distinct test number (up to 40,000).
fn phone(n: usize) -> E164 {
    let area = [212, 646, 718, 917][n / 10_000];
    E164::parse(&format!("+1{area}555{:04}", n % 10_000), Region::US).unwrap()
}

fn batch(first: usize, len: usize) -> Vec<(NewLead, LeadPlacement)> {
    (first..first + len)
        .map(|n| {
            (
                NewLead {
                    phone: phone(n),
                    contact: LeadContact {
                        first_name: Some(format!("Lead number {n} with a longish name")),
                        ..LeadContact::default()
                    },
                },
                LeadPlacement::Active(t0()),
            )
        })
        .collect()
}

/// What the writes reported.
#[derive(Default)]
struct Ledger {
    /// First lead number of each batch reported inserted, and of each that failed.
    ok_batches: Vec<usize>,
    failed_batches: Vec<usize>,
    /// Settings keys reported written, and those that failed.
    ok_settings: Vec<String>,
    failed_settings: Vec<String>,
    /// Lead numbers whose attempt reservation was reported, and those whose reservation
    /// failed: a reservation reported but not committed is a call outdial does not know of.
    ok_reservations: Vec<usize>,
    failed_reservations: Vec<usize>,
}

const BATCH: usize = 40;

fn unavailable(what: &str, r: &StoreError) {
    assert!(
        matches!(r, StoreError::Unavailable { .. }),
        "{what} failed on a full disk with {r:?}, not StoreError::Unavailable"
    );
}

/// Checks, through `store`, that every write reported `Ok` is there and none that failed is.
async fn check_ledger(store: &dyn Store, ledger: &Ledger, when: &str) {
    for &first in &ledger.ok_batches {
        for n in first..first + BATCH {
            assert_eq!(
                store.leads_by_phone(&phone(n)).await.unwrap().len(),
                1,
                "{when}: lead {n} of a batch reported inserted is missing"
            );
        }
    }
    for &first in &ledger.failed_batches {
        for n in first..first + BATCH {
            assert!(
                store.leads_by_phone(&phone(n)).await.unwrap().is_empty(),
                "{when}: lead {n} of a batch that returned an error was stored"
            );
        }
    }
    for &n in &ledger.ok_reservations {
        let lead = &store.leads_by_phone(&phone(n)).await.unwrap()[0];
        assert_eq!(
            store.lead_attempts(lead.id).await.unwrap().len(),
            1,
            "{when}: the attempt reserved for lead {n} is missing"
        );
    }
    for &n in &ledger.failed_reservations {
        let lead = &store.leads_by_phone(&phone(n)).await.unwrap()[0];
        assert!(
            store.lead_attempts(lead.id).await.unwrap().is_empty(),
            "{when}: lead {n} has an attempt whose reservation returned an error"
        );
    }
    for k in &ledger.ok_settings {
        assert_eq!(
            store.setting(k).await.unwrap().as_deref(),
            Some("on"),
            "{when}: setting {k} reported written is missing"
        );
    }
    for k in &ledger.failed_settings {
        assert_eq!(
            store.setting(k).await.unwrap(),
            None,
            "{when}: setting {k} that returned an error was stored"
        );
    }
}

/// A separate connection to the database file, as the CLI would open.
async fn outside(path: &PathBuf) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(std::time::Duration::from_secs(2));
    sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("a second connection opens")
}

/// The number of leads committed, as another connection sees it.
async fn committed_leads(path: &PathBuf) -> i64 {
    let mut c = outside(path).await;
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    n
}

/// Another connection can take the write lock: the store holds none after its writes.
async fn others_can_write(path: &PathBuf) {
    let mut c = outside(path).await;
    sqlx::raw_sql("BEGIN IMMEDIATE; UPDATE settings SET value = value WHERE key = 'none'; COMMIT")
        .execute(&mut c)
        .await
        .expect("another connection can write: the store holds no lock after recovering");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_every_write_and_the_same_store_recovers() {
    let Some(fs) = SmallFs::mount("2m") else {
        return;
    };
    let path = fs.path().join("outdial.db");
    let store = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let c = store
        .create_campaign("full", &settings(), t0())
        .await
        .unwrap();
    let mut ledger = Ledger::default();
    let mut next = 0usize;
    // A few writes while there is room.
    for _ in 0..3 {
        store
            .insert_leads(c.id, &batch(next, BATCH), t0())
            .await
            .unwrap();
        ledger.ok_batches.push(next);
        next += BATCH;
    }

    let filler = fs.path().join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "the filler wrote nothing");

    // Write until the store has refused several writes of each kind; anything it accepts
    // (pages free inside the files) must be really stored.
    for round in 0..60 {
        if ledger.failed_batches.len() >= 5 && ledger.failed_settings.len() >= 5 {
            break;
        }
        match store.insert_leads(c.id, &batch(next, BATCH), t0()).await {
            Ok(r) => {
                assert_eq!(r.inserted, BATCH as u64);
                ledger.ok_batches.push(next);
            }
            Err(e) => {
                unavailable("insert_leads", &e);
                ledger.failed_batches.push(next);
            }
        }
        next += BATCH;
        let key = format!("full-disk-{round}");
        match store.set_setting(&key, "on", "test", t0()).await {
            Ok(()) => ledger.ok_settings.push(key),
            Err(e) => {
                unavailable("set_setting", &e);
                ledger.failed_settings.push(key);
            }
        }
        // A reservation (read, then write) of a lead committed before the disk filled.
        let n = round;
        let lead = &store.leads_by_phone(&phone(n)).await.unwrap()[0];
        match store.reserve_attempt(lead.id, t0()).await {
            Ok(Some(_)) => ledger.ok_reservations.push(n),
            Ok(None) => panic!("lead {n} was due and free"),
            Err(e) => {
                unavailable("reserve_attempt", &e);
                ledger.failed_reservations.push(n);
            }
        }
    }
    assert!(
        !ledger.failed_batches.is_empty() && !ledger.failed_settings.is_empty(),
        "the disk never filled up"
    );
    // Reads still answer, from committed state only: what the store reports is what another
    // connection sees.
    check_ledger(&store, &ledger, "while the disk is full").await;
    assert_eq!(
        committed_leads(&path).await,
        (ledger.ok_batches.len() * BATCH) as i64,
        "while the disk is full: leads reported inserted are not committed"
    );

    // Free the disk: the same instance takes writes again, and they are committed.
    std::fs::remove_file(&filler).unwrap();
    for _ in 0..3 {
        let r = store
            .insert_leads(c.id, &batch(next, BATCH), t0())
            .await
            .expect("a write after the disk was freed");
        assert_eq!(r.inserted, BATCH as u64);
        ledger.ok_batches.push(next);
        next += BATCH;
        let key = format!("after-{next}");
        store
            .set_setting(&key, "on", "test", t0())
            .await
            .expect("a setting after the disk was freed");
        ledger.ok_settings.push(key);
    }
    // Reservations and a persisted stop (what the engine writes once the store takes
    // writes again) commit too.
    for n in 100..103 {
        let lead = &store.leads_by_phone(&phone(n)).await.unwrap()[0];
        assert!(store
            .reserve_attempt(lead.id, t0())
            .await
            .unwrap()
            .is_some());
        ledger.ok_reservations.push(n);
    }
    assert!(store
        .set_kill_switch(KillScope::Global, true, "storage failed", "test", t0())
        .await
        .unwrap());
    check_ledger(&store, &ledger, "after freeing the disk").await;
    assert_eq!(
        committed_leads(&path).await,
        (ledger.ok_batches.len() * BATCH) as i64,
        "after freeing the disk: another connection sees exactly the leads reported inserted"
    );
    others_can_write(&path).await;

    // And after a restart.
    store.close().await;
    let store = SqliteStore::open(&path, OpenMode::MustExist).await.unwrap();
    check_ledger(&store, &ledger, "after reopening").await;
    assert!(store.kill_switches().await.unwrap()[0].tripped);
    store.close().await;
    drop(fs);
}
