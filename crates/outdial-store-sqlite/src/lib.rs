//! # outdial-store-sqlite
//!
//! The embedded default backend of [`outdial_store::Store`]: one SQLite file in WAL mode,
//! driven through `sqlx`. Migrations are embedded in the binary (`migrations/`) and applied
//! when the store opens; a database migrated by a newer outdial is refused
//! ([`StoreError::SchemaTooNew`]).
//!
//! Every write, and every read that decides a write, runs on one connection (the *writer*),
//! so the store's own transactions never race; the guarded updates make every operation safe
//! to repeat anyway. The reports' and dashboard's reads (a moment stale at worst) run on a
//! separate pool of [`READERS`] read-only connections to the same file: under WAL a reader
//! sees the last commit before it began and never waits for the writer, nor makes it wait,
//! so a long report never delays a tick. An in-memory store cannot share its database
//! between connections: its reads stay on the one connection. Other processes (an import,
//! the CLI) may write to the same file: every transaction begins with `BEGIN IMMEDIATE` and
//! waits up to the busy timeout (10 s) for the write lock (see `tx`).
//!
//! Commits are durable (`synchronous=FULL`). A write the storage refuses (disk full, I/O
//! error, read-only) fails with [`StoreError::Unavailable`], nothing of it committed, and the
//! connection is replaced, so the store recovers by itself once the storage takes writes
//! again.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnsweredBy, AttemptId, AttemptState, CallEvent, CallStatus, CampaignId, CampaignSettings,
    Disposition, LeadContact, LeadId, LeadStatus, NewLead, ProviderCallId, E164,
};
use outdial_store::backend::{
    alert_jobs, claim_until, decision_columns, ALERTS_SOURCE, FINAL, IN_FLIGHT, JOBS_SOURCE,
    NOT_COUNTED,
};
use outdial_store::prelude::*;
use outdial_store::EventKind;
use outdial_store::{
    foreign_database_message, to_micros, AlertId, AlertRecord, Attempt, Campaign, DncEntry,
    DncScope, EventOutcome, EventRecord, EventTimes, ForeignDatabase, InsertReport, Job, JobId,
    JobState, KillScope, KillSwitch, Lead, LeadPlacement, NewAlert, NewJob, OperatorLeadChange,
    Placement, RawEvent, StatusCounts, StoreError, StoreResult,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

mod tx;

use tx::{backend, WriteTx};

mod account_limits;
mod attempts;
mod backfill;
mod campaigns;
mod coordination;
mod dnc;
mod events;
mod group;
mod jobs;
mod leads;
mod reports;
mod rows;
mod safety;

use account_limits::{account_usage_in, windows_of};
use rows::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Lead rows per multi-row `INSERT` (8 bound values each; SQLite allows 32,766 per
/// statement).
const LEAD_ROWS_PER_INSERT: usize = 1000;

/// The multi-row lead `INSERT` for `rows` rows: per row the campaign id, phone, contact,
/// status, next attempt time, status reason, and the time twice (parameters are not
/// numbered: binding numbered ones takes time quadratic in their count). The statement of a
/// full chunk is built once.
fn lead_insert_sql(rows: usize) -> std::borrow::Cow<'static, str> {
    fn build(rows: usize) -> String {
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
        format!(
            "INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, \
             status_reason, created_at, updated_at) VALUES {values} \
             ON CONFLICT (campaign_id, phone) DO NOTHING"
        )
    }
    static FULL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| build(LEAD_ROWS_PER_INSERT));
    if rows == LEAD_ROWS_PER_INSERT {
        std::borrow::Cow::Borrowed(FULL.as_str())
    } else {
        std::borrow::Cow::Owned(build(rows))
    }
}

/// DNC rows per multi-row `INSERT` (5 bound values each; SQLite allows 32,766 per statement).
const DNC_ROWS_PER_INSERT: usize = 500;

/// Numbers per batched look-up statement (`dnc_check_many`, `phone_attempt_times_many`),
/// passed as one JSON array (`json_each`), so no bound-variable limit applies.
const PHONES_PER_LOOKUP: usize = 5000;

/// The numbers as a JSON array of strings, for `json_each(?)`.
fn phones_json<'a>(phones: impl IntoIterator<Item = &'a E164>) -> String {
    let mut out = String::from("[");
    for (i, p) in phones.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // E.164 text is `+` and digits: nothing to escape.
        out.push('"');
        out.push_str(p.as_str());
        out.push('"');
    }
    out.push(']');
    out
}

/// How to open the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file if it does not exist (demo, import).
    CreateIfMissing,
    /// Refuse a path that does not exist: a mistyped path must not silently start an empty
    /// dialer.
    MustExist,
}

/// How long a statement waits for another connection's lock (an import in another process)
/// before failing with `database is locked`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Fails with [`StoreError::ForeignDatabase`] when the existing file at `path` holds tables
/// but no `_sqlx_migrations`. Reads through a read-only connection that changes nothing.
async fn refuse_foreign(path: &Path) -> StoreResult<()> {
    use sqlx::Connection;
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT);
    let not_sqlite = |e: sqlx::Error| {
        match &e {
        // SQLITE_NOTADB: the file is something else altogether.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("26") => {
            StoreError::ForeignDatabase(format!(
                "the file {} is not a SQLite database ({e}); point outdial at its own database file",
                path.display()
            ))
        }
        _ => backend(e),
    }
    };
    let mut conn = SqliteConnection::connect_with(&opts)
        .await
        .map_err(not_sqlite)?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(not_sqlite)?;
    conn.close().await.map_err(backend)?;
    if tables.is_empty() || tables.iter().any(|t| t == "_sqlx_migrations") {
        return Ok(());
    }
    let mut shown: Vec<String> = tables.iter().take(5).cloned().collect();
    if tables.len() > shown.len() {
        shown.push(format!("and {} more", tables.len() - shown.len()));
    }
    Err(StoreError::ForeignDatabase(foreign_database_message(
        &format!("the database file {}", path.display()),
        &shown,
    )))
}

/// Read-only connections a file store opens beside its writer, for the reports' and the
/// dashboard's reads.
pub const READERS: u32 = 4;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The writer: every write, and every read that decides one.
    pool: SqlitePool,
    /// Provider events waiting for the group-commit writer (`group.rs`).
    events: group::EventQueue,
    /// Read-only connections (the writer itself for an in-memory store): reads that may be a
    /// moment stale (reports, dashboard counts), never one that decides a write.
    read: SqlitePool,
}

impl SqliteStore {
    /// Opens (or creates, per `mode`) the database at `path`, enables WAL with
    /// `synchronous=FULL`, and applies the embedded migrations. A file that holds tables but
    /// not outdial's migration table is refused ([`ForeignDatabase::Refuse`]); see
    /// [`SqliteStore::open_with`].
    ///
    /// Errors: [`StoreError::NotFound`] when `mode` is [`OpenMode::MustExist`] and the file is
    /// missing; [`StoreError::ForeignDatabase`] for a database outdial did not create;
    /// [`StoreError::SchemaTooNew`] when the file was migrated by a newer outdial;
    /// [`StoreError::Unavailable`] when the storage fails (cannot open, read-only, full);
    /// [`StoreError::Unavailable`] when SQLite cannot open it otherwise.
    pub async fn open(path: &Path, mode: OpenMode) -> StoreResult<SqliteStore> {
        Self::open_with(path, mode, ForeignDatabase::Refuse).await
    }

    /// Like [`SqliteStore::open`], saying what to do with a database outdial did not create
    /// (tables, and no `_sqlx_migrations`): [`ForeignDatabase::Refuse`] leaves the file
    /// untouched (not even its journal mode changes) and fails with
    /// [`StoreError::ForeignDatabase`]; [`ForeignDatabase::Adopt`] adds outdial's tables to it.
    pub async fn open_with(
        path: &Path,
        mode: OpenMode,
        foreign: ForeignDatabase,
    ) -> StoreResult<SqliteStore> {
        if mode == OpenMode::MustExist && !path.exists() {
            return Err(StoreError::NotFound {
                entity: "database file",
                id: format!(
                    "{} (the file does not exist; create it with `outdial import` or `outdial serve --create`)",
                    path.display()
                ),
            });
        }
        if foreign == ForeignDatabase::Refuse && path.exists() {
            refuse_foreign(path).await?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(mode == OpenMode::CreateIfMissing)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk (the WAL synced) before it is acknowledged, so a
            // reservation survives a power loss (ARCHITECTURE.md, "Choices").
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut store = Self::connect(opts).await?;
        // Opened after the writer has migrated the file and set WAL (which a read-only
        // connection cannot do); lazily, so a store that never reports opens none.
        let read_opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT);
        store.read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(60))
            .connect_lazy_with(read_opts);
        Ok(store)
    }

    /// An in-memory database (tests). Its one connection holds the data: should a failed
    /// commit discard it, the data is gone (a file database loses nothing committed).
    pub async fn in_memory() -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend)?
            .foreign_keys(true);
        Self::connect(opts).await
    }

    async fn connect(opts: SqliteConnectOptions) -> StoreResult<SqliteStore> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .idle_timeout(None)
            .max_lifetime(None)
            .before_acquire(|conn, _| Box::pin(async move { Ok(tx::reusable(conn)) }))
            .connect_with(opts)
            .await
            .map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => {
                StoreError::SchemaTooNew(format!("it has migration {v}, unknown to this build"))
            }
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => {
                backend(e).context("migrations failed")
            }
            other @ (sqlx::migrate::MigrateError::VersionMismatch(_)
            | sqlx::migrate::MigrateError::Dirty(_)) => {
                StoreError::Corrupt(format!("migrations failed: {other}"))
            }
            other => StoreError::unavailable(other).context("migrations failed"),
        })?;
        let events = group::EventQueue::start(pool.clone());
        Ok(SqliteStore {
            read: pool.clone(),
            pool,
            events,
        })
    }

    /// The newest schema version this build knows.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outdial_core::Region;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn entry(phone: &str, scope: DncScope) -> DncEntry {
        DncEntry {
            phone: E164::parse(phone, Region::US).unwrap(),
            scope,
            source: "import:list.txt".into(),
            reason: None,
            added_at: t0(),
        }
    }

    async fn events(s: &SqliteStore, kind: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT source, detail FROM events WHERE kind = ? ORDER BY id")
            .bind(kind)
            .fetch_all(&s.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn dnc_changes_are_in_the_event_log() {
        let s = SqliteStore::in_memory().await.unwrap();
        let mut one = entry("+12125550101", DncScope::Internal);
        one.source = "operator".into();
        one.reason = Some("asked".into());
        assert_eq!(s.dnc_add(&[one.clone()], t0()).await.unwrap(), 1);
        // A repeat adds nothing and records nothing.
        assert_eq!(s.dnc_add(&[one.clone()], t0()).await.unwrap(), 0);
        let ev = events(&s, "dnc.added").await;
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, "operator");
        assert!(ev[0].1.contains("+12125550101") && ev[0].1.contains("asked"));

        // A batch (larger than one INSERT statement) gets one summary event.
        let batch: Vec<DncEntry> = (0..1200)
            .map(|i| entry(&format!("+1212555{:04}", 2000 + i), DncScope::National))
            .collect();
        assert_eq!(s.dnc_add(&batch, t0()).await.unwrap(), 1200);
        let ev = events(&s, "dnc.added").await;
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].0, "import:list.txt");
        let detail: serde_json::Value = serde_json::from_str(&ev[1].1).unwrap();
        assert_eq!(detail["batch"], 1200);
        assert_eq!(detail["added"], 1200);

        assert!(s
            .dnc_remove(&one.phone, &DncScope::Internal, t0())
            .await
            .unwrap());
        let ev = events(&s, "dnc.removed").await;
        assert_eq!(ev.len(), 1);
        assert!(ev[0].1.contains("asked"), "removed entry's details kept");
    }

    #[tokio::test]
    async fn dnc_and_history_lookups_use_indexes() {
        let s = SqliteStore::in_memory().await.unwrap();
        let plan = |sql: &'static str| {
            let pool = s.pool.clone();
            async move {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
            }
        };
        let p = plan(
            "SELECT * FROM dnc WHERE phone = '+1' AND scope IN ('internal', 'national', 'campaign:1')",
        )
        .await;
        assert!(p.contains("PRIMARY KEY"), "{p}");
        let p = plan(
            "SELECT reserved_at FROM attempts WHERE phone = '+1' AND reserved_at >= 'x'
             AND state NOT IN ('rejected', 'not-placed') ORDER BY reserved_at",
        )
        .await;
        assert!(p.contains("attempts_phone_reserved"), "{p}");
        let p = plan(
            "UPDATE jobs SET state = 'running' WHERE id IN (
                 SELECT id FROM jobs
                 WHERE state IN ('pending', 'running') AND run_at <= 'x'
                   AND (state = 'pending' OR locked_until < 'x')
                 ORDER BY run_at, id LIMIT 10)",
        )
        .await;
        assert!(p.contains("jobs_claimable"), "{p}");
        let p = plan("SELECT * FROM jobs WHERE state = 'dead' ORDER BY id DESC LIMIT 10").await;
        assert!(p.contains("jobs_dead") && !p.contains("TEMP B-TREE"), "{p}");
        let p = plan("SELECT at FROM events WHERE source = 'x' ORDER BY at DESC LIMIT 1").await;
        assert!(p.contains("events_source_at"), "{p}");
        let p =
            plan("SELECT * FROM attempts WHERE campaign_id = 1 ORDER BY id DESC LIMIT 10").await;
        assert!(
            p.contains("attempts_campaign") && !p.contains("TEMP B-TREE"),
            "{p}"
        );
    }

    #[tokio::test]
    async fn safety_changes_are_in_the_event_log() {
        let s = SqliteStore::in_memory().await.unwrap();
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
        let tripped = events(&s, "kill_switch.tripped").await;
        assert_eq!(tripped.len(), 1, "one event per change");
        assert_eq!(tripped[0].0, "monitor:x");
        assert!(tripped[0].1.contains("global") && tripped[0].1.contains("carrier down"));
        let resumed = events(&s, "kill_switch.resumed").await;
        assert_eq!(resumed.len(), 1);
        assert_eq!(resumed[0].0, "operator:ann");

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
        assert!(!s
            .dead_letter_job(id, "bad_payload", "empty", t0())
            .await
            .unwrap());
        let dead = events(&s, "job.dead").await;
        assert_eq!(dead.len(), 1);
        let detail: serde_json::Value = serde_json::from_str(&dead[0].1).unwrap();
        assert_eq!(detail["job_id"], id.0);
        assert_eq!(detail["error_code"], "bad_payload");

        let alert = NewAlert {
            kind: "kill_switch.tripped".into(),
            scope: "global".into(),
            subject: "stopped".into(),
            body: "why".into(),
            dedupe_key: Some("k".into()),
        };
        let aid = s
            .raise_alert(&alert, &["alert.email", "alert.email"], t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            s.raise_alert(&alert, &["alert.email"], t0()).await.unwrap(),
            None
        );
        let raised = events(&s, "alert.raised").await;
        assert_eq!(raised.len(), 1);
        let detail: serde_json::Value = serde_json::from_str(&raised[0].1).unwrap();
        assert_eq!(detail["alert_id"], aid.0);
        // A channel listed twice notifies once.
        assert_eq!(
            s.jobs(None, 10)
                .await
                .unwrap()
                .iter()
                .filter(|j| j.kind == "alert.email")
                .count(),
            1
        );
    }

    /// Issue 9, item 4: a commit is acknowledged only once it is on disk, so a reservation
    /// survives a power loss.
    #[tokio::test]
    async fn file_databases_run_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("o.db"), OpenMode::CreateIfMissing)
            .await
            .unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&s.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&s.pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "PRAGMA synchronous is not FULL (2)");
    }

    /// Issue 13: a report's reads run beside the writer: they neither wait for a write
    /// transaction held open nor can they write.
    #[tokio::test]
    async fn report_reads_run_on_read_only_connections_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("o.db"), OpenMode::CreateIfMissing)
            .await
            .unwrap();
        let mut held = WriteTx::begin(&s.pool).await.unwrap();
        sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', 'x')")
            .execute(&mut *held)
            .await
            .unwrap();
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            s.attempts_reserved_between(None, t0(), t0() + chrono::Duration::days(1), None, 10),
        )
        .await
        .expect("a report read waited for the writer");
        assert!(read.unwrap().is_empty());
        let counts = tokio::time::timeout(Duration::from_secs(2), s.status_counts(t0(), t0()))
            .await
            .expect("the dashboard's counts waited for the writer");
        assert!(counts.is_ok());
        let refused =
            sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ('r', 'v', 'x')")
                .execute(&s.read)
                .await;
        assert!(refused.is_err(), "a reader wrote");
        held.commit().await.unwrap();
    }

    #[tokio::test]
    async fn job_claims_must_last() {
        let s = SqliteStore::in_memory().await.unwrap();
        assert!(matches!(
            s.claim_jobs("w", t0(), chrono::Duration::zero(), 1).await,
            Err(StoreError::InvalidArgument(_))
        ));
    }
}
