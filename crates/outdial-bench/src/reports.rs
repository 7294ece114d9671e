//! Reports: `outdial_engine::reports::run_report` for `outcomes` and `best-time` over a store
//! filled with N concluded attempts (bulk SQL: a recursive CTE on SQLite, `generate_series`
//! on PostgreSQL; leads in six zones and states, 30 days, a mix of statuses, detections and
//! dispositions), on SQLite and PostgreSQL; and, on SQLite, the dialer's tick latency while a
//! report runs on the same file beside it, against the same ticks without a report. No floor:
//! the goals are absolute (≤ 2 s a report; ≤ 50 ms added to a tick).

use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_clock::ManualClock;
use outdial_core::report::{ReportQuery, ReportZone};
use outdial_core::{AnswerBehaviour, CampaignSettings, LeadContact, ProviderKind, Region, E164};
use outdial_engine::reports::{run_report, ReportName};
use outdial_engine::{Engine, EngineConfig};
use outdial_providers::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider};
use outdial_store::prelude::*;
use outdial_store::{LeadPlacement, Store};
use outdial_store_postgres::PgStore;
use outdial_store_sqlite::{OpenMode, SqliteStore};
use sqlx::Connection;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::import::fresh_pg_database;
use crate::stats::{Better, Row, Samples};
use crate::{Bench, Section};

/// First instant of the 30 days of attempts (a Sunday, UTC).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()
}

/// Seconds the attempts are spread over.
const SPAN_S: i64 = 30 * 86_400;

/// The report's range: the 30 days, both campaigns, lead-local.
fn query() -> ReportQuery {
    ReportQuery {
        from: start(),
        to: start() + Duration::seconds(SPAN_S),
        campaign: None,
        zone: ReportZone::Lead,
    }
}

/// The SQL of the fill, written once over `i` (1-based row number) for both dialects:
/// `{ts}` turns seconds after [`start`] into the backend's timestamp.
mod fill {
    /// Six area codes in six zones (New York, Chicago, Phoenix, Los Angeles, Anchorage,
    /// Honolulu) chosen by `i % 6`.
    pub const NPA: &str = "CASE i % 6 WHEN 0 THEN '212' WHEN 1 THEN '312' WHEN 2 THEN '602'
        WHEN 3 THEN '213' WHEN 4 THEN '907' ELSE '808' END";
    /// A lead's contact: an own zone for a fifth, a state for another fifth, nothing else.
    pub const CONTACT: &str = "CASE i % 5 WHEN 0 THEN '{\"time_zone\":\"America/New_York\"}'
        WHEN 1 THEN '{\"state\":\"TX\"}' ELSE '{}' END";
    /// Final call status of attempt `i` (`NULL` when not placed, one in twenty).
    pub const STATUS: &str = "CASE WHEN i % 20 = 0 THEN NULL ELSE CASE i % 7
        WHEN 0 THEN 'no-answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'failed' ELSE 'completed' END END";
}

/// Seconds of attempt `i` after [`start`], as integer SQL.
fn offset_sql(n: u64) -> String {
    format!("(i * {SPAN_S} / {n})")
}

/// The `SELECT` of the attempts' columns from `c(i)`, `{ts}(x)` the backend's timestamp of
/// seconds `x` after [`start`].
fn attempts_select(n: u64, leads: u64, ts: &dyn Fn(&str) -> String) -> String {
    let off = offset_sql(n);
    let status = fill::STATUS;
    let at = ts(&off);
    let placed = format!(
        "CASE WHEN i % 20 = 0 THEN NULL ELSE {} END",
        ts(&format!("{off} + 2"))
    );
    let answered = format!(
        "CASE WHEN ({status}) = 'completed' THEN {} END",
        ts(&format!("{off} + 15"))
    );
    let ended = ts(&format!("{off} + 60"));
    format!(
        "SELECT i, 1 + i % {leads}, 1 + (1 + i % {leads}) % 2,
                '+1' || (CASE (1 + i % {leads}) % 6 WHEN 0 THEN '212' WHEN 1 THEN '312'
                  WHEN 2 THEN '602' WHEN 3 THEN '213' WHEN 4 THEN '907' ELSE '808' END)
                  || CAST(2000000 + 1 + i % {leads} AS TEXT),
                1 + i / {leads},
                CASE WHEN i % 20 = 0 THEN 'not-placed' ELSE 'ended' END,
                {status}, {at}, {placed}, {answered}, {ended},
                CASE WHEN ({status}) = 'completed' THEN 20 + i % 300 END,
                CASE WHEN ({status}) <> 'completed' THEN NULL
                     WHEN i % 3 = 0 THEN 'human' WHEN i % 3 = 1 THEN 'machine_start' END,
                CASE WHEN i % 20 = 0 THEN 'NOT_PLACED'
                     WHEN ({status}) = 'no-answer' THEN 'NO_ANSWER'
                     WHEN ({status}) = 'busy' THEN 'BUSY'
                     WHEN ({status}) = 'failed' THEN 'FAILED'
                     WHEN i % 3 = 1 THEN 'VOICEMAIL'
                     WHEN i % 11 = 0 THEN 'SALE' WHEN i % 11 = 1 THEN 'CALLBACK'
                     ELSE 'NOT_INTERESTED' END,
                {ended}, {ended}"
    )
}

const ATTEMPT_COLUMNS: &str = "id, lead_id, campaign_id, phone, number, state, call_status,
    reserved_at, placed_at, answered_at, ended_at, duration_s, answered_by, disposition,
    concluded_at, updated_at";

fn leads_select(leads: u64, ts: &str) -> String {
    let npa = fill::NPA;
    let contact = fill::CONTACT;
    format!(
        "SELECT i, 1 + i % 2, '+1' || ({npa}) || CAST(2000000 + i AS TEXT), {contact},
                CASE i % 4 WHEN 0 THEN 'done' WHEN 1 THEN 'paused' ELSE 'active' END,
                CASE WHEN i % 4 >= 2 THEN {ts} END,
                CASE i % 4 WHEN 0 THEN 'attempt limit reached (10 of 10), last disposition NO_ANSWER'
                     WHEN 1 THEN 'paused by operator' END,
                CASE WHEN i % 4 = 0 THEN 'NO_ANSWER' END,
                {ts}, {ts}
         FROM c WHERE i <= {leads}"
    )
}

const LEAD_COLUMNS: &str = "id, campaign_id, phone, contact, status, next_attempt_at,
    status_reason, disposition, created_at, updated_at";

/// Two campaigns (`reports-1`, `reports-2`: New York fallback, at most 3 dials a local day).
async fn campaigns(store: &dyn Store) -> anyhow::Result<()> {
    let mut s = CampaignSettings::new(
        E164::parse("+14155550100", Region::US)?,
        AnswerBehaviour::flow_url("https://flows.example.com/answer"),
    );
    s.fallback_time_zone = match ReportZone::parse("America/New_York") {
        Ok(ReportZone::Zone(tz)) => Some(tz),
        _ => anyhow::bail!("America/New_York is not a zone"),
    };
    s.redial.max_per_local_day = 3;
    for name in ["reports-1", "reports-2"] {
        store.create_campaign(name, &s, start()).await?;
    }
    Ok(())
}

/// A fresh SQLite file at `path` with `n` attempts of `n / 10` leads: the schema by the
/// store, the rows by one transaction per table without the attempts' indexes, which are
/// then built again from their own definitions.
async fn fill_sqlite(path: &Path, n: u64) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let store = SqliteStore::open(path, OpenMode::CreateIfMissing).await?;
    campaigns(&store).await?;
    drop(store);
    let leads = (n / 10).max(100);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    sqlx::query("PRAGMA synchronous = OFF")
        .execute(&mut conn)
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('attempts', 'leads')
         AND sql IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut conn)
            .await?;
    }
    let ts = |secs: &str| {
        format!(
            "strftime('%Y-%m-%dT%H:%M:%S', {} + {secs}, 'unixepoch') || '.000000Z'",
            start().timestamp()
        )
    };
    let cte = |upto: u64| {
        format!("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {upto})")
    };
    sqlx::query(&format!(
        "{} INSERT INTO leads ({LEAD_COLUMNS}) {}",
        cte(leads),
        leads_select(leads, &ts("0"))
    ))
    .execute(&mut conn)
    .await?;
    sqlx::query(&format!(
        "{} INSERT INTO attempts ({ATTEMPT_COLUMNS}) {} FROM c",
        cte(n),
        attempts_select(n, leads, &ts)
    ))
    .execute(&mut conn)
    .await?;
    for (_, sql) in &indexes {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// A fresh PostgreSQL database with `n` attempts of `n / 10` leads (as [`fill_sqlite`]).
async fn fill_pg(admin: &str, n: u64) -> anyhow::Result<PgStore> {
    let url = fresh_pg_database(admin, "outdial_bench_reports")?;
    let store = PgStore::connect(&url, 4).await?;
    campaigns(&store).await?;
    let leads = (n / 10).max(100);
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename IN ('attempts', 'leads')
         AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .fetch_all(&mut conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut conn)
            .await?;
    }
    let ts = |secs: &str| {
        format!(
            "(TIMESTAMPTZ '{}' + make_interval(secs => {secs}))",
            start().format("%Y-%m-%d %H:%M:%S+00")
        )
    };
    sqlx::query(&format!(
        "WITH c AS (SELECT generate_series(1::bigint, {leads}) AS i)
         INSERT INTO leads ({LEAD_COLUMNS}) {}",
        leads_select(leads, &ts("0"))
    ))
    .execute(&mut conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO attempts ({ATTEMPT_COLUMNS}) {} FROM generate_series(1::bigint, {n}) AS c(i)",
        attempts_select(n, leads, &ts)
    ))
    .execute(&mut conn)
    .await?;
    for (_, sql) in &indexes {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    for seq in ["leads", "attempts"] {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{seq}', 'id'), (SELECT max(id) FROM {seq}))"
        ))
        .execute(&mut conn)
        .await?;
    }
    sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    Ok(store)
}

/// `run_report` of `name` `repeat` times: seconds each, or the error's text.
async fn time_report(
    store: &dyn Store,
    name: ReportName,
    repeat: usize,
) -> Result<Samples, String> {
    let mut s = Samples::default();
    let now = start() + Duration::seconds(SPAN_S);
    for _ in 0..repeat {
        let t = Instant::now();
        run_report(store, name, &query(), now)
            .await
            .map_err(|e| e.to_string())?;
        s.push(t.elapsed().as_secs_f64());
    }
    Ok(s)
}

/// Rows (or skipped notes) for `outcomes` and `best-time` on `store`.
async fn report_rows(
    store: &dyn Store,
    backend: &str,
    n: u64,
    repeat: usize,
    rows: &mut Vec<Row>,
    skipped: &mut Vec<String>,
) {
    for name in [ReportName::Outcomes, ReportName::BestTime] {
        let case = format!("`{}`, {} attempts, {backend}", name.as_str(), group(n));
        match time_report(store, name, repeat).await {
            Ok(s) => {
                eprintln!("reports: {case}: {} s", s.summary());
                rows.push(Row::alone(case, "s", Better::Lower, s).goal("≤ 2 s"));
            }
            Err(e) => {
                eprintln!("reports: {case}: {e}");
                skipped.push(format!("{case}: {e}"));
            }
        }
    }
}

/// `n` with thousands separators.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A provider that accepts every call at once.
#[derive(Debug)]
struct AcceptAll(AtomicU64);

#[async_trait::async_trait]
impl Provider for AcceptAll {
    async fn place_call(&self, _: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(PlacedCall {
            call_id: outdial_core::ProviderCallId::parse(&format!("CA{n:032}"))
                .expect("a valid call id"),
            status: outdial_core::CallStatus::Queued,
            queue_time_ms: None,
        })
    }
    async fn fetch_call(
        &self,
        _: &outdial_core::ProviderCallId,
    ) -> Result<CallSnapshot, FetchError> {
        Err(FetchError::NotFound)
    }
    async fn list_calls_to(
        &self,
        _: &E164,
        _: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        Ok(Vec::new())
    }
    async fn end_call(&self, _: &outdial_core::ProviderCallId) -> Result<CallSnapshot, FetchError> {
        Err(FetchError::NotFound)
    }
    fn status_callback_url(&self, public_url: &str, attempt: outdial_core::AttemptId) -> String {
        outdial_providers::twilio::webhook::status_callback_url(public_url, attempt.0)
    }
    fn webhook_source(&self) -> &'static str {
        outdial_providers::twilio::webhook::WEBHOOK_SOURCE
    }
}

/// Wednesday 11 March 2026 at noon in New York: the tick's leads are in their window.
fn tick_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 11, 16, 0, 0).unwrap()
}

/// Inserts `k` New York leads due now into campaign `tick`, numbered from `*next`.
async fn due_leads(
    store: &dyn Store,
    campaign: outdial_core::CampaignId,
    next: &mut u64,
    k: u64,
) -> anyhow::Result<()> {
    let mut batch = Vec::new();
    for _ in 0..k {
        *next += 1;
        batch.push((
            outdial_core::NewLead {
                phone: E164::parse(&format!("646{:07}", 2_000_000 + *next), Region::US)?,
                contact: LeadContact {
                    state: Some("NY".into()),
                    ..Default::default()
                },
            },
            LeadPlacement::Active(tick_now() - Duration::hours(1)),
        ));
    }
    store.insert_leads(campaign, &batch, tick_now()).await?;
    Ok(())
}

/// Tick durations (ms) every 50 ms, two new due leads before each, for `ticks` ticks or —
/// with `report` — until both reports have run once (and at least `ticks`).
async fn tick_latency(
    store: Arc<SqliteStore>,
    ticks: usize,
    report: bool,
) -> anyhow::Result<Vec<f64>> {
    let settings = CampaignSettings::new(
        E164::parse("+14155550100", Region::US)?,
        AnswerBehaviour::flow_url("https://flows.example.com/answer"),
    );
    let name = format!("tick-{}", if report { "report" } else { "alone" });
    let c = store.create_campaign(&name, &settings, tick_now()).await?;
    let mut next = if report { 5_000_000 } else { 0 };
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    // Call ids of the two runs never meet (`attempts.call_id` is unique).
    providers.insert(
        ProviderKind::Twilio,
        Arc::new(AcceptAll(AtomicU64::new(next * 1_000))),
    );
    let clock = Arc::new(ManualClock::new(tick_now()));
    let config = EngineConfig {
        calls_per_second: 1_000.0,
        max_concurrent: 100_000,
        ..EngineConfig::default()
    };
    let engine = Engine::new(store.clone() as Arc<dyn Store>, providers, clock, config);
    let running = report.then(|| {
        let store = store.clone();
        tokio::spawn(async move {
            let now = start() + Duration::seconds(SPAN_S);
            for name in [ReportName::Outcomes, ReportName::BestTime] {
                let _ = run_report(&*store, name, &query(), now).await;
            }
        })
    });
    let mut out = Vec::new();
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        interval.tick().await;
        due_leads(&*store, c.id, &mut next, 2).await?;
        let t = Instant::now();
        engine.tick(tick_now()).await?;
        out.push(t.elapsed().as_secs_f64() * 1e3);
        let done = running.as_ref().is_none_or(|r| r.is_finished());
        if out.len() >= ticks && done {
            break;
        }
    }
    Ok(out)
}

fn p99(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1]
}

/// The reports workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let sizes: Vec<u64> = if bench.report_attempts.is_empty() {
        bench.pick(vec![20_000], vec![1_000_000, 10_000_000])
    } else {
        bench.report_attempts.clone()
    };
    for &n in &sizes {
        let path = bench.dir.join("reports.db");
        let t = Instant::now();
        fill_sqlite(&path, n).await?;
        eprintln!(
            "reports: SQLite filled with {n} attempts in {:.0} s",
            t.elapsed().as_secs_f64()
        );
        let store = Arc::new(SqliteStore::open(&path, OpenMode::MustExist).await?);
        report_rows(&*store, "SQLite", n, bench.repeat, &mut rows, &mut skipped).await;
        if n == *sizes.last().expect("a size") {
            let alone = tick_latency(store.clone(), 60, false).await?;
            let beside = tick_latency(store.clone(), 60, true).await?;
            for (case, v) in [
                ("without a report", &alone),
                ("while `outcomes` and `best-time` run", &beside),
            ] {
                let mut s = Samples::default();
                for x in v.iter() {
                    s.push(*x);
                }
                let max = s.max();
                rows.push(
                    Row::alone(
                        format!("tick, {case}, {} attempts, SQLite", group(n)),
                        "ms",
                        Better::Lower,
                        s,
                    )
                    .goal("≤ 50 ms added")
                    .extra(format!(
                        "{} ticks, p99 {:.1} ms, max {max:.1} ms",
                        v.len(),
                        p99(v)
                    )),
                );
            }
        }
        drop(store);
        let _ = std::fs::remove_file(&path);
        match &bench.postgres_url {
            Some(admin) => {
                let t = Instant::now();
                let store = fill_pg(admin, n).await?;
                eprintln!(
                    "reports: PostgreSQL filled with {n} attempts in {:.0} s",
                    t.elapsed().as_secs_f64()
                );
                report_rows(
                    &store,
                    "PostgreSQL",
                    n,
                    bench.repeat,
                    &mut rows,
                    &mut skipped,
                )
                .await;
            }
            None => skipped.push(format!(
                "PostgreSQL, {} attempts: no --postgres-url",
                group(n)
            )),
        }
    }
    Ok(Section {
        title: "Reports".into(),
        about: "`run_report` for `outcomes` and `best-time` over every attempt of a store \
                filled by bulk SQL with N concluded attempts of N/10 leads (six zones, own \
                zones and states, 30 days, a mix of statuses, detections and dispositions), \
                the range the 30 days, every campaign. Then, on SQLite, `Engine::tick` every \
                50 ms with two new due leads before each, on the same store, alone and while \
                both reports run (min / median / max of the tick's duration, p99 and max \
                beside). Before issue 13's change the reports read every attempt into memory \
                and refused more than 2,000,000 (the 10M case errored), and a report's reads \
                held the store's one connection, so ticks waited for them."
            .into(),
        rows,
        skipped,
    })
}
