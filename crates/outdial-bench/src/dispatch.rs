//! Dispatch: leads dialed per second through the engine's full path — claim, rules at claim
//! and at dial time, reserve, pace, place, record, the status webhook to `completed`,
//! conclude, the redial decision — against an in-process provider that answers at once, on
//! SQLite and PostgreSQL; beside the **bare SQL floor**: the writes every dial must make
//! (reserve, placed, the webhook's event and status, the conclusion), each its own
//! transaction as in the engine, executed directly in a loop on the same schema with the
//! same durability.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_clock::{Clock, ManualClock};
use outdial_core::{
    AnswerBehaviour, AttemptId, CallEvent, CallStatus, CampaignSettings, LeadContact,
    ProviderCallId, ProviderKind, Region, E164,
};
use outdial_engine::{Engine, EngineConfig};
use outdial_providers::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider};
use outdial_store::prelude::*;
use outdial_store::{LeadPlacement, RawEvent, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::import::fresh_pg_database;
use crate::stats::{Better, Row, Samples};
use crate::{Bench, Section};

/// A provider that accepts every call at once and remembers (attempt, call id) until the
/// harness takes them to send their webhooks.
#[derive(Debug, Default)]
pub struct InstantProvider {
    placed: Mutex<Vec<(AttemptId, ProviderCallId)>>,
    next: Mutex<u64>,
}

impl InstantProvider {
    /// The calls placed since the last call.
    pub fn take(&self) -> Vec<(AttemptId, ProviderCallId)> {
        std::mem::take(&mut *self.placed.lock().expect("placed"))
    }
}

#[async_trait]
impl Provider for InstantProvider {
    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let n = {
            let mut next = self.next.lock().expect("next");
            *next += 1;
            *next
        };
        let call_id = ProviderCallId::parse(&format!("CA{n:032}")).expect("a valid call id");
        self.placed
            .lock()
            .expect("placed")
            .push((req.context.attempt, call_id.clone()));
        Ok(PlacedCall {
            call_id,
            status: CallStatus::Queued,
            queue_time_ms: None,
        })
    }

    async fn fetch_call(&self, _: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        Err(FetchError::NotFound)
    }

    async fn list_calls_to(
        &self,
        _: &E164,
        _: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        Ok(Vec::new())
    }

    async fn end_call(&self, _: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        Err(FetchError::NotFound)
    }

    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String {
        outdial_providers::twilio::webhook::status_callback_url(public_url, attempt.0)
    }

    fn webhook_source(&self) -> &'static str {
        outdial_providers::twilio::webhook::WEBHOOK_SOURCE
    }
}

/// A Wednesday at noon in New York (16:00 UTC, EDT): inside the default calling window and
/// federal hours for the generated New York leads.
pub fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 11, 16, 0, 0).unwrap()
}

/// `n` leads on New York numbers (`+1212…`, distinct), each due an hour before
/// [`bench_now`], in a fresh campaign `bench` of `store`.
pub async fn seed_leads(store: &dyn Store, n: u64) -> anyhow::Result<()> {
    let settings = CampaignSettings::new(
        E164::parse("+14155550100", Region::US)?,
        AnswerBehaviour::flow_url("https://flows.example.com/answer"),
    );
    let now = bench_now();
    let c = store.create_campaign("bench", &settings, now).await?;
    let mut batch = Vec::with_capacity(1_000);
    for i in 0..n {
        let national = format!("212{:03}{:04}", 200 + (i / 10_000) % 800, i % 10_000);
        batch.push((
            outdial_core::NewLead {
                phone: E164::parse(&national, Region::US)?,
                contact: LeadContact {
                    state: Some("NY".into()),
                    ..Default::default()
                },
            },
            LeadPlacement::Active(now - Duration::hours(1)),
        ));
        if batch.len() == 1_000 || i + 1 == n {
            store.insert_leads(c.id, &batch, now).await?;
            batch.clear();
        }
    }
    Ok(())
}

/// Dials every lead of `store` once through the engine; leads per second.
async fn engine_run(store: Arc<dyn Store>, n: u64) -> anyhow::Result<f64> {
    let clock = Arc::new(ManualClock::new(bench_now()));
    let provider = Arc::new(InstantProvider::default());
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    providers.insert(ProviderKind::Twilio, provider.clone());
    let config = EngineConfig {
        calls_per_second: 1_000_000.0,
        max_concurrent: 1_000,
        dial_budget_real_ms: 1_000,
        ..EngineConfig::default()
    };
    let engine = Engine::new(store.clone(), providers, clock.clone(), config);
    let started = Instant::now();
    let mut dialed = 0u64;
    let mut seq = 0u32;
    while dialed < n {
        let now = clock.now();
        let report = engine.tick(now).await?;
        let calls = provider.take();
        if calls.is_empty() && report.placed == 0 {
            anyhow::bail!("dispatch stalled after {dialed} of {n} leads: {report:?}");
        }
        for (attempt, call_id) in calls {
            seq += 1;
            let event = CallEvent {
                call_id: call_id.clone(),
                status: CallStatus::Completed,
                sequence: Some(3),
                at: now,
                duration_s: Some(42),
                answered_by: None,
                sip_response_code: None,
            };
            let raw = RawEvent {
                source: "bench".into(),
                dedupe_key: format!("{call_id}:3:completed"),
                payload: format!("CallStatus=completed&n={seq}"),
            };
            engine
                .ingest_call_event(Some(attempt), &event, &raw)
                .await?;
            dialed += 1;
        }
        // Time moves on a little, as it does between ticks.
        clock.advance(Duration::milliseconds(200));
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The floor's statements, written once with `?` placeholders and numbered for PostgreSQL.
mod floor_sql {
    pub const CLAIM: &str = "SELECT id, campaign_id, phone FROM leads WHERE status = 'active' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?";
    pub const RESERVE: &str = "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, reserved_at, updated_at) VALUES (?, ?, ?, 1, 'reserved', ?, ?) RETURNING id";
    pub const LEAD_DIALING: &str = "UPDATE leads SET status = 'dialing', attempt_count = attempt_count + 1, updated_at = ? WHERE id = ? AND status = 'active'";
    pub const EVENT: &str = "INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail) VALUES (?, ?, ?, ?, 'engine', ?, '')";
    pub const PLACED: &str = "UPDATE attempts SET state = 'placed', call_id = ?, call_status = 'queued', placed_at = ?, updated_at = ? WHERE id = ? AND state = 'reserved'";
    pub const ENDED: &str = "UPDATE attempts SET state = 'ended', call_status = 'completed', last_sequence = 3, ended_at = ?, duration_s = 42, updated_at = ? WHERE id = ? AND state = 'placed'";
    pub const CONCLUDED: &str = "UPDATE attempts SET concluded_at = ?, disposition = 'ANSWERED', updated_at = ? WHERE id = ? AND concluded_at IS NULL";
    pub const LEAD_DONE: &str = "UPDATE leads SET status = 'done', status_reason = 'contact', disposition = 'ANSWERED', next_attempt_at = NULL, updated_at = ? WHERE id = ? AND status = 'dialing'";

    /// `sql` with `?` numbered `$1, $2, …`.
    pub fn numbered(sql: &str) -> String {
        let mut out = String::new();
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// The floor loop, for one sqlx database type: `$q` maps a statement to its text there,
/// `$begin` opens a write transaction, `$ts` binds a time.
macro_rules! floor_loop {
    ($pool:expr, $n:expr, $q:expr, $begin:expr, $ts:expr) => {{
        use floor_sql::*;
        let pool = $pool;
        let now = bench_now();
        let started = Instant::now();
        let mut dialed = 0u64;
        while dialed < $n {
            let due: Vec<(i64, i64, String)> = sqlx::query_as(&$q(CLAIM))
                .bind($ts(now))
                .bind(1_000i64)
                .fetch_all(&pool)
                .await?;
            anyhow::ensure!(!due.is_empty(), "floor: no due lead after {dialed}");
            for (lead, campaign, phone) in due {
                let mut tx = $begin(&pool).await?;
                let (attempt,): (i64,) = sqlx::query_as(&$q(RESERVE))
                    .bind(lead)
                    .bind(campaign)
                    .bind(&phone)
                    .bind($ts(now))
                    .bind($ts(now))
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(&$q(LEAD_DIALING))
                    .bind($ts(now))
                    .bind(lead)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&$q(EVENT))
                    .bind($ts(now))
                    .bind(lead)
                    .bind(attempt)
                    .bind("attempt.reserved")
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let sid = format!("CA{attempt:032}");
                let mut tx = $begin(&pool).await?;
                sqlx::query(&$q(PLACED))
                    .bind(&sid)
                    .bind($ts(now))
                    .bind($ts(now))
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&$q(EVENT))
                    .bind($ts(now))
                    .bind(lead)
                    .bind(attempt)
                    .bind("attempt.placed")
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut tx = $begin(&pool).await?;
                sqlx::query(&$q(EVENT))
                    .bind($ts(now))
                    .bind(lead)
                    .bind(attempt)
                    .bind("webhook")
                    .bind(Some(format!("{sid}:3:completed")))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&$q(ENDED))
                    .bind($ts(now))
                    .bind($ts(now))
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut tx = $begin(&pool).await?;
                sqlx::query(&$q(CONCLUDED))
                    .bind($ts(now))
                    .bind($ts(now))
                    .bind(attempt)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&$q(LEAD_DONE))
                    .bind($ts(now))
                    .bind(lead)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&$q(EVENT))
                    .bind($ts(now))
                    .bind(lead)
                    .bind(attempt)
                    .bind("attempt.concluded")
                    .bind(None::<String>)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                dialed += 1;
            }
        }
        Ok::<f64, anyhow::Error>($n as f64 / started.elapsed().as_secs_f64())
    }};
}

fn sqlite_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The floor on a SQLite file already holding outdial's schema and leads: one connection,
/// WAL, `synchronous=FULL`, `BEGIN IMMEDIATE` for each transaction (as the store does).
async fn sqlite_floor(path: &std::path::Path, n: u64) -> anyhow::Result<f64> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let q = |s: &str| s.to_owned();
    let begin = |p: &sqlx::SqlitePool| {
        let p = p.clone();
        async move { p.begin_with("BEGIN IMMEDIATE").await }
    };
    let r = floor_loop!(pool.clone(), n, q, begin, sqlite_ts);
    pool.close().await;
    r
}

/// The floor on a PostgreSQL database already holding outdial's schema and leads.
async fn pg_floor(url: &str, n: u64) -> anyhow::Result<f64> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await?;
    let q = floor_sql::numbered;
    let begin = |p: &sqlx::PgPool| {
        let p = p.clone();
        async move { p.begin().await }
    };
    let r = floor_loop!(pool.clone(), n, q, begin, |t: DateTime<Utc>| t);
    pool.close().await;
    r
}

async fn sqlite_store(path: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(Arc::new(
        outdial_store_sqlite::SqliteStore::open(
            path,
            outdial_store_sqlite::OpenMode::CreateIfMissing,
        )
        .await?,
    ))
}

/// Runs the dispatch workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    let n: u64 = bench.pick(300, 1_000);
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let path = bench.dir.join("dispatch.db");
    let (mut ours, mut floor) = (Samples::default(), Samples::default());
    for _ in 0..bench.repeat {
        let store = sqlite_store(&path).await?;
        seed_leads(&*store, n).await?;
        ours.push(engine_run(store.clone(), n).await?);
        store.close().await;
        let store = sqlite_store(&path).await?;
        seed_leads(&*store, n).await?;
        store.close().await;
        floor.push(sqlite_floor(&path, n).await?);
    }
    eprintln!("dispatch sqlite: {ours:?} vs {floor:?}");
    rows.push(
        Row::alone(
            format!("{n} leads, SQLite"),
            "leads/s",
            Better::Higher,
            ours,
        )
        .against("bare SQL, 4 transactions per dial", floor)
        .goal("≥ 0.5 of the floor"),
    );
    match &bench.postgres_url {
        Some(admin) => {
            let (mut ours, mut floor) = (Samples::default(), Samples::default());
            for _ in 0..bench.repeat {
                let url = fresh_pg_database(admin, "outdial_bench_dispatch")?;
                let store: Arc<dyn Store> =
                    Arc::new(outdial_store_postgres::PgStore::connect(&url, 10).await?);
                seed_leads(&*store, n).await?;
                ours.push(engine_run(store.clone(), n).await?);
                store.close().await;
                let url = fresh_pg_database(admin, "outdial_bench_dispatch")?;
                let store = outdial_store_postgres::PgStore::connect(&url, 2).await?;
                seed_leads(&store, n).await?;
                store.close().await;
                floor.push(pg_floor(&url, n).await?);
            }
            eprintln!("dispatch pg: {ours:?} vs {floor:?}");
            rows.push(
                Row::alone(
                    format!("{n} leads, PostgreSQL"),
                    "leads/s",
                    Better::Higher,
                    ours,
                )
                .against("bare SQL, 4 transactions per dial", floor)
                .goal("≥ 0.5 of the floor"),
            );
        }
        None => skipped.push("PostgreSQL: no --postgres-url".into()),
    }
    Ok(Section {
        title: "Dispatch".into(),
        about: "Every due lead dialed once through `Engine::tick` (claim, rules at claim and \
                dial time, reserve, pace at 1,000,000 calls/s, place, record) against an \
                in-process provider that accepts at once, then its `completed` status \
                webhook through `Engine::ingest_call_event` (which concludes the attempt and \
                applies the redial decision); `max_concurrent` 1,000, `dial_budget_real_ms` \
                1,000. The floor: the same writes per dial made directly — claim 1,000 due \
                leads, then per lead four transactions (reserve: attempt row, lead, event; \
                placed: attempt, event; webhook: event, attempt status; conclusion: attempt, \
                lead, event) — on outdial's own schema with the same leads and durability \
                (SQLite: one connection, WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`)."
            .into(),
        rows,
        skipped,
    })
}
