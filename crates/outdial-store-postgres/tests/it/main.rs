//! PostgreSQL backend tests: the shared conformance suite, plus what only a server shows
//! (racing migrations, schema refusal, append-only events, leases, several instances).
//!
//! They need a server: `OUTDIAL_TEST_POSTGRES_URL` names a database the tests connect to as
//! an administrator (for example `postgres://postgres@127.0.0.1:5432/postgres`); each test
//! creates its own databases (`outdial_test_…`) and drops them afterwards. Without the
//! variable every test prints a notice and passes, except under CI (`CI=true`), where a
//! skipped test is a failure.

use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_core::{
    AnswerBehaviour, AttemptState, CallEvent, CallStatus, CampaignSettings, LeadContact, NewLead,
    ProviderCallId, Region, E164,
};
use outdial_store::prelude::*;
use outdial_store::{
    EventOutcome, KillScope, LeadPlacement, NewAlert, NewJob, Placement, RawEvent, StoreError,
};
use outdial_store_postgres::PgStore;
use sqlx::Connection;
use std::sync::Arc;

/// The administrator URL, or `None` (with a notice) when the tests are to be skipped; under
/// `CI=true` a missing URL fails the test ([`outdial_testkit::pg::admin_url`]).
fn admin_url() -> Option<String> {
    outdial_testkit::pg::admin_url("the PostgreSQL store tests")
}

/// A database created for one test (or one conformance case), dropped when the value is
/// dropped, even when the test panics.
struct TestDb(outdial_testkit::pg::TestDb);

impl TestDb {
    async fn create(admin: &str) -> TestDb {
        TestDb(outdial_testkit::pg::TestDb::create(admin, "outdial_test").await)
    }

    fn url(&self) -> &str {
        self.0.url()
    }

    fn name(&self) -> &str {
        self.0.name()
    }

    async fn store(&self) -> PgStore {
        PgStore::connect(self.url(), 5).await.unwrap()
    }

    async fn raw(&self) -> sqlx::PgConnection {
        self.0.connect().await
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

/// The conformance suite, one test per case, each on a database of its own (dropped when the
/// case ends, even when it panics). Without the URL a case passes with a notice, except
/// under `CI=true`, where it fails ([`admin_url`]).
mod conformance {
    use super::*;

    async fn fresh() -> Option<(Arc<dyn Store>, TestDb)> {
        let admin = admin_url()?;
        let db = TestDb::create(&admin).await;
        let store = db.store().await;
        Some((Arc::new(store), db))
    }

    outdial_store::conformance_tests!(fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_are_idempotent_and_safe_to_race() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    // Four instances start together on a fresh database: one migrates, all succeed.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = db.url().to_owned();
        tasks.push(tokio::spawn(async move { PgStore::connect(&url, 2).await }));
    }
    let mut stores = Vec::new();
    for t in tasks {
        stores.push(t.await.unwrap().expect("a racing connect failed"));
    }
    for s in &stores {
        s.close().await;
    }
    // And again, on a migrated database.
    let s = db.store().await;
    s.close().await;
    let mut c = db.raw().await;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(
        versions,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "each migration applied once"
    );
    assert_eq!(PgStore::schema_version(), 10);
    let leases: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'leases'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(leases, 1);
    c.close().await.unwrap();
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    db.store().await.close().await;
    // Pretend a newer outdial applied migration 9999.
    let mut c = db.raw().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'future', true, '\\x00', 0)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    let err = PgStore::connect(db.url(), 2).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew(_)), "{err}");
}

/// Issue 9, item 12: a database with tables outdial did not create, and no
/// `_sqlx_migrations`, is refused and left untouched, unless adopting it is asked for.
#[tokio::test]
async fn an_unrelated_database_is_refused_unless_adopted() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let mut c = db.raw().await;
    sqlx::raw_sql("CREATE TABLE customers (id bigint PRIMARY KEY, name text)")
        .execute(&mut c)
        .await
        .unwrap();
    let err = PgStore::connect(db.url(), 2).await.unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(db.name()) && msg.contains("public.customers"),
        "{msg}"
    );
    const TABLES: &str =
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1";
    assert_eq!(
        sqlx::query_scalar::<_, String>(TABLES)
            .fetch_all(&mut c)
            .await
            .unwrap(),
        vec!["customers".to_owned()],
        "the refused database was changed"
    );
    let s = PgStore::connect_with_policy(db.url(), 2, outdial_store::ForeignDatabase::Adopt)
        .await
        .unwrap();
    s.close().await;
    let t: Vec<String> = sqlx::query_scalar(TABLES).fetch_all(&mut c).await.unwrap();
    assert!(
        t.contains(&"customers".to_owned()) && t.contains(&"leads".to_owned()),
        "{t:?}"
    );
    // From then on it is an outdial database.
    db.store().await.close().await;
    c.close().await.unwrap();
}

/// Issue 9, item 1 (PostgreSQL side): a server that cannot take writes is
/// [`StoreError::Unavailable`], not a generic error, and the same store recovers when it can
/// again. Here the database turns read-only (as a standby, or a full disk handled by an
/// operator, would) and the store's connections are dropped by the server.
#[tokio::test]
async fn a_read_only_server_is_unavailable_and_the_store_recovers() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let store = db.store().await;
    store
        .set_setting("k", "before", "test", t0())
        .await
        .unwrap();
    let mut a = sqlx::PgConnection::connect(&admin).await.unwrap();
    let set_read_only = |on: bool| {
        format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = {}",
            db.name(),
            if on { "on" } else { "off" }
        )
    };
    let kick = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db.name()
    );
    sqlx::raw_sql(&set_read_only(true))
        .execute(&mut a)
        .await
        .unwrap();
    sqlx::raw_sql(&kick).execute(&mut a).await.unwrap();
    let err = store
        .set_setting("k", "during", "test", t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let err = store
        .set_kill_switch(KillScope::Global, true, "x", "test", t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    // Reads still answer.
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("before"));

    sqlx::raw_sql(&set_read_only(false))
        .execute(&mut a)
        .await
        .unwrap();
    sqlx::raw_sql(&kick).execute(&mut a).await.unwrap();
    store.set_setting("k", "after", "test", t0()).await.unwrap();
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("after"));
    assert!(store.kill_switches().await.unwrap().is_empty());
    store.close().await;
    a.close().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_refused() {
    assert!(matches!(
        PgStore::connect("mysql://nope", 1).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let Some(admin) = admin_url() else { return };
    assert!(matches!(
        PgStore::connect(&admin, 0).await,
        Err(StoreError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn events_are_append_only() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let s = db.store().await;
    s.record_event(None, None, "x", "test", "{}", t0())
        .await
        .unwrap();
    s.close().await;
    // The trait has no way to change an event; the database refuses it too.
    let mut c = db.raw().await;
    for sql in [
        "UPDATE events SET detail = 'tampered'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(&mut c).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE detail = '{}'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 1);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_have_one_holder_until_they_expire() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let s = db.store().await;
    let ttl = Duration::seconds(30);
    let at = |secs: i64| t0() + Duration::seconds(secs);
    assert!(s
        .try_acquire_lease("reconciler", "a", ttl, at(0))
        .await
        .unwrap());
    assert!(!s
        .try_acquire_lease("reconciler", "b", ttl, at(10))
        .await
        .unwrap());
    // Other lease names are independent.
    assert!(s
        .try_acquire_lease("purge", "b", ttl, at(10))
        .await
        .unwrap());
    // The holder renews: now until 50 s.
    assert!(s
        .try_acquire_lease("reconciler", "a", ttl, at(20))
        .await
        .unwrap());
    assert!(!s
        .try_acquire_lease("reconciler", "b", ttl, at(49))
        .await
        .unwrap());
    // Expired: b takes over, and a is out.
    assert!(s
        .try_acquire_lease("reconciler", "b", ttl, at(50))
        .await
        .unwrap());
    assert!(!s
        .try_acquire_lease("reconciler", "a", ttl, at(51))
        .await
        .unwrap());
    // Release hands it over at once; only the holder can release.
    assert!(!s.release_lease("reconciler", "a").await.unwrap());
    assert!(s.release_lease("reconciler", "b").await.unwrap());
    assert!(s
        .try_acquire_lease("reconciler", "a", ttl, at(52))
        .await
        .unwrap());
    assert!(matches!(
        s.try_acquire_lease("x", "a", Duration::zero(), at(0)).await,
        Err(StoreError::InvalidArgument(_))
    ));

    // Instances racing for a free lease: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = db.url().to_owned();
        tasks.push(tokio::spawn(async move {
            let s = PgStore::connect(&url, 1).await.unwrap();
            let won = s
                .try_acquire_lease("race", &format!("instance-{i}"), ttl, at(0))
                .await
                .unwrap();
            s.close().await;
            won
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    s.close().await;
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_the_work_without_double_dialing() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let seed = db.store().await;
    let c = seed.create_campaign("a", &settings(), t0()).await.unwrap();
    let rows: Vec<_> = (0..60)
        .map(|i| {
            (
                NewLead {
                    phone: E164::parse(&format!("+1212555{:04}", 3000 + i), Region::US).unwrap(),
                    contact: LeadContact::default(),
                },
                LeadPlacement::Active(t0()),
            )
        })
        .collect();
    assert_eq!(
        seed.insert_leads(c.id, &rows, t0()).await.unwrap().inserted,
        60
    );
    // Three instances, each with its own pool, work through the same due list at once.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let url = db.url().to_owned();
        tasks.push(tokio::spawn(async move {
            let s = PgStore::connect(&url, 3).await.unwrap();
            let mut got = Vec::new();
            for lead in s.due_leads(t0(), 100).await.unwrap() {
                if let Some(a) = s.reserve_attempt(lead.id, t0()).await.unwrap() {
                    got.push(a.lead_id);
                }
            }
            s.close().await;
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "a lead was reserved twice");
    // A lead skipped while another instance held it was reserved by that instance.
    assert_eq!(n, 60);
    assert!(seed.due_leads(t0(), 100).await.unwrap().is_empty());
    seed.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_webhooks_of_one_call_apply_in_turn() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let s = Arc::new(db.store().await);
    let c = s.create_campaign("a", &settings(), t0()).await.unwrap();
    let phone = E164::parse("+12125550101", Region::US).unwrap();
    let rows = vec![(
        NewLead {
            phone: phone.clone(),
            contact: LeadContact::default(),
        },
        LeadPlacement::Active(t0()),
    )];
    s.insert_leads(c.id, &rows, t0()).await.unwrap();
    let lead = &s.leads_by_phone(&phone).await.unwrap()[0];
    let a = s.reserve_attempt(lead.id, t0()).await.unwrap().unwrap();
    let placed = Placement {
        call_id: ProviderCallId::parse("CA1").unwrap(),
        status: CallStatus::Queued,
    };
    // Every event arrives twice, all at once, some before the create response is stored.
    let statuses = [
        (CallStatus::Ringing, 1),
        (CallStatus::InProgress, 2),
        (CallStatus::Completed, 3),
    ];
    let mut tasks = Vec::new();
    for round in 0..2 {
        for (status, seq) in statuses {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let ev = CallEvent {
                    call_id: ProviderCallId::parse("CA1").unwrap(),
                    status,
                    sequence: Some(seq),
                    at: t0() + Duration::seconds(i64::from(seq)),
                    duration_s: status.is_final().then_some(10),
                    answered_by: None,
                    sip_response_code: None,
                };
                let raw = RawEvent {
                    source: "test".into(),
                    dedupe_key: format!("CA1:{seq}"),
                    payload: format!("round {round}"),
                };
                s.apply_call_event(Some(a.id), &ev, &raw, t0()).await
            }));
        }
    }
    let mark = s.mark_placed(a.id, &placed, t0());
    let (mark, results) = tokio::join!(mark, async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().expect("an event failed"));
        }
        out
    });
    mark.unwrap();
    let dups = results
        .iter()
        .filter(|r| **r == EventOutcome::Duplicate)
        .count();
    assert_eq!(dups, 3, "each delivery after the first is a duplicate");
    assert!(results.iter().all(|r| *r != EventOutcome::UnknownCall));
    let got = s.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.state, AttemptState::Ended);
    assert_eq!(got.call_status, Some(CallStatus::Completed));
    assert_eq!(got.last_sequence, Some(3));
    assert_eq!(got.call_id.unwrap().as_str(), "CA1");
    let webhooks = s
        .lead_events(lead.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "webhook")
        .count();
    assert_eq!(webhooks, 3);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_claim_jobs_exclusively() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let seed = db.store().await;
    for i in 0..90 {
        let job = NewJob {
            kind: "crm.notify".into(),
            payload: format!("{{\"n\":{i}}}"),
            run_at: t0() - Duration::milliseconds(i),
            dedupe_key: None,
        };
        seed.enqueue_job(&job, t0()).await.unwrap().unwrap();
    }
    // Three instances, each with its own pool and several workers, claim at once: first
    // fresh jobs, then (every claim expired) the same jobs again.
    for (round, now) in [(1u32, t0()), (2, t0() + Duration::seconds(61))] {
        let mut tasks = Vec::new();
        for instance in 0..3 {
            let url = db.url().to_owned();
            tasks.push(tokio::spawn(async move {
                let s = Arc::new(PgStore::connect(&url, 3).await.unwrap());
                let mut workers = Vec::new();
                for w in 0..3 {
                    let s = s.clone();
                    workers.push(tokio::spawn(async move {
                        let mut got = Vec::new();
                        loop {
                            let batch = s
                                .claim_jobs(
                                    &format!("i{instance}-w{w}"),
                                    now,
                                    Duration::seconds(60),
                                    4,
                                )
                                .await
                                .unwrap();
                            if batch.is_empty() {
                                break got;
                            }
                            got.extend(batch.into_iter().map(|j| (j.id, j.attempts)));
                        }
                    }));
                }
                let mut got = Vec::new();
                for w in workers {
                    got.extend(w.await.unwrap());
                }
                s.close().await;
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(n, all.len(), "round {round}: a job was claimed twice");
        assert_eq!(n, 90, "round {round}: a job was left unclaimed");
        assert!(all.iter().all(|(_, attempts)| *attempts == round));
    }
    seed.close().await;
}

#[tokio::test]
async fn safety_changes_are_in_the_event_log_and_claims_use_the_index() {
    let Some(admin) = admin_url() else { return };
    let db = TestDb::create(&admin).await;
    let s = db.store().await;
    assert!(s
        .set_kill_switch(KillScope::Global, true, "carrier down", "monitor:x", t0())
        .await
        .unwrap());
    assert!(!s
        .set_kill_switch(KillScope::Global, true, "again", "monitor:x", t0())
        .await
        .unwrap());
    assert!(s
        .set_kill_switch(KillScope::Global, false, "fixed", "operator:ann", t0())
        .await
        .unwrap());
    let job = NewJob {
        kind: "crm.notify".into(),
        payload: "{}".into(),
        run_at: t0(),
        dedupe_key: None,
    };
    let id = s.enqueue_job(&job, t0()).await.unwrap().unwrap();
    assert!(s
        .dead_letter_job(id, "bad_payload", "empty", t0())
        .await
        .unwrap());
    let alert = NewAlert {
        kind: "kill_switch.tripped".into(),
        scope: "global".into(),
        subject: "stopped".into(),
        body: "why".into(),
        dedupe_key: Some("k".into()),
    };
    s.raise_alert(&alert, &["alert.email"], t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.raise_alert(&alert, &["alert.email"], t0()).await.unwrap(),
        None
    );
    assert!(matches!(
        s.claim_jobs("w", t0(), Duration::zero(), 1).await,
        Err(StoreError::InvalidArgument(_))
    ));
    s.close().await;

    let mut c = db.raw().await;
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, source FROM events
         WHERE kind LIKE 'kill_switch.%' OR kind IN ('job.dead', 'alert.raised') ORDER BY id",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let events: Vec<(&str, &str)> = events
        .iter()
        .map(|(k, s)| (k.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("kill_switch.tripped", "monitor:x"),
            ("kill_switch.resumed", "operator:ann"),
            ("job.dead", "jobs"),
            ("alert.raised", "alerts"),
        ]
    );
    // The claim reads the partial index, not the table (sequential scans off, as on a
    // large table).
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut c)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM jobs
         WHERE state IN ('pending', 'running') AND run_at <= now()
           AND (state = 'pending' OR locked_until < now())
         ORDER BY run_at, id LIMIT 10 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("jobs_claimable"), "{plan}");
    c.close().await.unwrap();
}
