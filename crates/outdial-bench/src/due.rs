//! Due queue at scale: the latency of one claim (`Leads::due_leads`, the statement each
//! tick's claim round runs) with 10k to 10M leads in the store, most of them not due
//! (active but waiting on a redial interval or a window, or done), on both backends.

use std::sync::Arc;
use std::time::Instant;

use outdial_store::prelude::*;
use outdial_store::Store;

use crate::dispatch::bench_now;
use crate::import::fresh_pg_database;
use crate::stats::{Better, Row, Samples};
use crate::{Bench, Section};

/// Claims measured per size.
const CLAIMS: usize = 30;

/// Leads inserted by one statement: lead `i` is due (an hour ago) when `i % 100 = 0`,
/// active and waiting (until tomorrow) when even, otherwise done. Numbers: four area codes
/// × lines from 200-0000 on, distinct for every `i` below 31M.
fn fill_sql(pg: bool) -> String {
    let contact = if pg { "$2" } else { "?2" };
    let (series, text, now_due, now_wait, stamp) = if pg {
        (
            "SELECT i FROM generate_series(0, $1 - 1) AS s(i)",
            "to_char(2000000 + i / 4, 'FM0000000')",
            "now() - interval '1 hour'",
            "now() + interval '1 day'",
            "now()",
        )
    } else {
        (
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?1) SELECT i FROM s",
            "printf('%07d', 2000000 + i / 4)",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 day')",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
    };
    format!(
        "INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, status_reason, created_at, updated_at)
         SELECT 1,
                '+1' || (CASE i % 4 WHEN 0 THEN '212' WHEN 1 THEN '305' WHEN 2 THEN '312' ELSE '415' END) || {text},
                {contact},
                CASE WHEN i % 2 = 0 THEN 'active' ELSE 'done' END,
                CASE WHEN i % 100 = 0 THEN {now_due} WHEN i % 2 = 0 THEN {now_wait} ELSE NULL END,
                CASE WHEN i % 2 = 0 THEN NULL ELSE 'contact' END,
                {stamp}, {stamp}
         FROM ({series}) AS src"
    )
}

/// The contact JSON the store writes for a lead with no contact fields.
fn contact_json() -> anyhow::Result<String> {
    Ok(serde_json::to_string(&outdial_core::LeadContact::default())?)
}

/// Median and max of [`CLAIMS`] claims of 100 leads, milliseconds.
async fn claims(store: &dyn Store) -> anyhow::Result<Samples> {
    let now = chrono::Utc::now();
    let mut s = Samples::default();
    for _ in 0..CLAIMS {
        let started = Instant::now();
        let due = store.due_leads(now, 100).await?;
        s.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            due.len() == 100,
            "expected 100 due leads, got {}",
            due.len()
        );
    }
    Ok(s)
}

async fn campaign(store: &dyn Store) -> anyhow::Result<()> {
    let settings = outdial_core::CampaignSettings::new(
        outdial_core::E164::parse("+14155550100", outdial_core::Region::US)?,
        outdial_core::AnswerBehaviour::flow_url("https://flows.example.com/answer"),
    );
    store
        .create_campaign("bench", &settings, bench_now())
        .await?;
    Ok(())
}

/// The row of one size: the claims' figures and how the median compares with the first
/// (smallest) size's, kept in `first`.
fn claim_row(n: i64, backend: &str, s: Samples, first: &mut Option<f64>, fill_s: f64) -> Row {
    let median = s.median();
    let base = *first.get_or_insert(median);
    eprintln!("due {backend} {n}: {median:.3} ms");
    Row::alone(
        format!("{n} leads (1% due), {backend}"),
        "ms per claim",
        Better::Lower,
        s,
    )
    .goal("≤ 2× the 10k figure at 10M")
    .extra(format!(
        "{:.2}× the smallest size; filled in {fill_s:.1} s",
        median / base
    ))
}

/// Runs the due-queue workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    let sizes: Vec<i64> = bench.pick(
        vec![10_000, 100_000],
        vec![10_000, 100_000, 1_000_000, 10_000_000],
    );
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut first: Option<f64> = None;
    for &n in &sizes {
        let path = bench.dir.join("due.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = outdial_store_sqlite::SqliteStore::open(
            &path,
            outdial_store_sqlite::OpenMode::CreateIfMissing,
        )
        .await?;
        campaign(&store).await?;
        store.close().await;
        let started = Instant::now();
        {
            use sqlx::Connection;
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
            sqlx::query(&fill_sql(false))
                .bind(n)
                .bind(contact_json()?)
                .execute(&mut c)
                .await?;
            sqlx::query("ANALYZE").execute(&mut c).await?;
            c.close().await?;
        }
        let fill_s = started.elapsed().as_secs_f64();
        let store: Arc<dyn Store> = Arc::new(
            outdial_store_sqlite::SqliteStore::open(
                &path,
                outdial_store_sqlite::OpenMode::MustExist,
            )
            .await?,
        );
        let s = claims(&*store).await?;
        store.close().await;
        rows.push(claim_row(n, "SQLite", s, &mut first, fill_s));
    }
    match &bench.postgres_url {
        Some(admin) => {
            let mut first: Option<f64> = None;
            for &n in &sizes {
                let url = fresh_pg_database(admin, "outdial_bench_due")?;
                let store = outdial_store_postgres::PgStore::connect(&url, 4).await?;
                campaign(&store).await?;
                let started = Instant::now();
                {
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&url).await?;
                    sqlx::query(&fill_sql(true))
                        .bind(n)
                        .bind(contact_json()?)
                        .execute(&mut c)
                        .await?;
                    sqlx::query("ANALYZE leads").execute(&mut c).await?;
                    c.close().await?;
                }
                let fill_s = started.elapsed().as_secs_f64();
                let s = claims(&store).await?;
                store.close().await;
                rows.push(claim_row(n, "PostgreSQL", s, &mut first, fill_s));
            }
            crate::import::drop_pg_database(admin, "outdial_bench_due")?;
        }
        None => skipped.push("PostgreSQL: no --postgres-url".into()),
    }
    Ok(Section {
        title: "Due queue at scale".into(),
        about: format!(
            "`Leads::due_leads(now, 100)` — the claim each tick's round runs — {CLAIMS} times \
             on a store of N leads of which 1% are due, 49% active but waiting until \
             tomorrow, 50% done (filled by one SQL statement, then ANALYZE). Claim latency \
             in milliseconds."
        ),
        rows,
        skipped,
    })
}
