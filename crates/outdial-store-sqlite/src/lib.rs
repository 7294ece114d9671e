//! # outdial-store-sqlite
//!
//! The embedded default backend of [`outdial_store::Store`]: one SQLite file in WAL mode,
//! driven through `sqlx`. Migrations are embedded in the binary (`migrations/`) and applied
//! when the store opens; a database migrated by a newer outdial is refused
//! ([`StoreError::SchemaTooNew`]).
//!
//! All statements of a store run on one connection, so its own transactions never race; the
//! guarded updates make every operation safe to repeat anyway. Other processes (an import,
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
use outdial_store::{
    foreign_database_message, to_micros, AlertId, AlertRecord, Attempt, Campaign, DncEntry,
    DncScope, EventOutcome, EventRecord, EventTimes, ForeignDatabase, InsertReport, Job, JobId,
    JobState, KillScope, KillSwitch, Lead, LeadPlacement, NewAlert, NewJob, Placement, RawEvent,
    StatusCounts, Store, StoreError, StoreResult,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

mod tx;

use tx::{backend, WriteTx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Attempt states that block a number (kept in step with the partial unique index).
const IN_FLIGHT: &str = "('reserved', 'placed', 'ringing', 'in-progress', 'unknown')";

/// Lead rows per multi-row `INSERT` (8 bound values each).
const LEAD_ROWS_PER_INSERT: usize = 200;

/// DNC rows per multi-row `INSERT` (5 bound values each; SQLite allows 32,766 per statement).
const DNC_ROWS_PER_INSERT: usize = 500;

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

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn ts(t: DateTime<Utc>) -> String {
    to_micros(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp '{s}': {e}")))
}

fn opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
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
    /// [`StoreError::Backend`] when SQLite cannot open it otherwise.
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
            return Err(StoreError::NotFound(format!(
                "database file {} does not exist (create it with `outdial import` or `outdial serve --create`)",
                path.display()
            )));
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
        Self::connect(opts).await
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
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _)
                if tx::is_unavailable(&e) =>
            {
                StoreError::Unavailable(format!("migrations failed: {e}"))
            }
            other => StoreError::Backend(format!("migrations failed: {other}")),
        })?;
        Ok(SqliteStore { pool })
    }

    /// The newest schema version this build knows.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

fn campaign_from_row(r: &SqliteRow) -> StoreResult<Campaign> {
    let settings: String = r.try_get("settings").map_err(backend)?;
    let settings: CampaignSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("campaign settings: {e}")))?;
    Ok(Campaign {
        id: CampaignId(r.try_get("id").map_err(backend)?),
        name: r.try_get("name").map_err(backend)?,
        settings,
        active: r.try_get::<i64, _>("active").map_err(backend)? == 1,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
    })
}

fn phone_col(r: &SqliteRow) -> StoreResult<E164> {
    let p: String = r.try_get("phone").map_err(backend)?;
    E164::from_stored(&p).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn disposition_col(r: &SqliteRow) -> StoreResult<Option<Disposition>> {
    let d: Option<String> = r.try_get("disposition").map_err(backend)?;
    Ok(d.and_then(|d| Disposition::normalise(&d)))
}

fn lead_from_row(r: &SqliteRow) -> StoreResult<Lead> {
    let contact: String = r.try_get("contact").map_err(backend)?;
    let contact: LeadContact = serde_json::from_str(&contact)
        .map_err(|e| StoreError::Corrupt(format!("lead contact: {e}")))?;
    let status: String = r.try_get("status").map_err(backend)?;
    Ok(Lead {
        id: LeadId(r.try_get("id").map_err(backend)?),
        campaign_id: CampaignId(r.try_get("campaign_id").map_err(backend)?),
        phone: phone_col(r)?,
        contact,
        status: LeadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("lead status '{status}'")))?,
        next_attempt_at: opt_ts(r.try_get("next_attempt_at").map_err(backend)?)?,
        status_reason: r.try_get("status_reason").map_err(backend)?,
        disposition: disposition_col(r)?,
        attempt_count: r.try_get::<i64, _>("attempt_count").map_err(backend)? as u32,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at").map_err(backend)?)?,
    })
}

fn attempt_from_row(r: &SqliteRow) -> StoreResult<Attempt> {
    let state: String = r.try_get("state").map_err(backend)?;
    let call_status: Option<String> = r.try_get("call_status").map_err(backend)?;
    let answered_by: Option<String> = r.try_get("answered_by").map_err(backend)?;
    let call_id: Option<String> = r.try_get("call_id").map_err(backend)?;
    Ok(Attempt {
        id: AttemptId(r.try_get("id").map_err(backend)?),
        lead_id: LeadId(r.try_get("lead_id").map_err(backend)?),
        campaign_id: CampaignId(r.try_get("campaign_id").map_err(backend)?),
        phone: phone_col(r)?,
        number: r.try_get::<i64, _>("number").map_err(backend)? as u32,
        state: AttemptState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt state '{state}'")))?,
        call_id: call_id.as_deref().and_then(ProviderCallId::parse),
        call_status: call_status.as_deref().and_then(CallStatus::parse),
        last_sequence: r
            .try_get::<Option<i64>, _>("last_sequence")
            .map_err(backend)?
            .map(|v| v as u32),
        reserved_at: parse_ts(&r.try_get::<String, _>("reserved_at").map_err(backend)?)?,
        placed_at: opt_ts(r.try_get("placed_at").map_err(backend)?)?,
        answered_at: opt_ts(r.try_get("answered_at").map_err(backend)?)?,
        ended_at: opt_ts(r.try_get("ended_at").map_err(backend)?)?,
        duration_s: r
            .try_get::<Option<i64>, _>("duration_s")
            .map_err(backend)?
            .map(|v| v as u32),
        answered_by: answered_by.as_deref().and_then(AnsweredBy::parse),
        sip_response_code: r
            .try_get::<Option<i64>, _>("sip_response_code")
            .map_err(backend)?
            .map(|v| v as u16),
        disposition: disposition_col(r)?,
        error_code: r.try_get("error_code").map_err(backend)?,
        error_message: r.try_get("error_message").map_err(backend)?,
        concluded_at: opt_ts(r.try_get("concluded_at").map_err(backend)?)?,
        reconciled_at: opt_ts(r.try_get("reconciled_at").map_err(backend)?)?,
        requested_disposition: r
            .try_get::<Option<String>, _>("requested_disposition")
            .map_err(backend)?
            .and_then(|d| Disposition::normalise(&d)),
        callback_at: opt_ts(r.try_get("callback_at").map_err(backend)?)?,
    })
}

fn event_from_row(r: &SqliteRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: r.try_get("id").map_err(backend)?,
        at: parse_ts(&r.try_get::<String, _>("at").map_err(backend)?)?,
        lead_id: r
            .try_get::<Option<i64>, _>("lead_id")
            .map_err(backend)?
            .map(LeadId),
        attempt_id: r
            .try_get::<Option<i64>, _>("attempt_id")
            .map_err(backend)?
            .map(AttemptId),
        kind: r.try_get("kind").map_err(backend)?,
        source: r.try_get("source").map_err(backend)?,
        detail: r.try_get("detail").map_err(backend)?,
    })
}

fn dnc_from_row(r: &SqliteRow) -> StoreResult<DncEntry> {
    let scope: String = r.try_get("scope").map_err(backend)?;
    Ok(DncEntry {
        phone: phone_col(r)?,
        scope: DncScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("dnc scope '{scope}'")))?,
        source: r.try_get("source").map_err(backend)?,
        reason: r.try_get("reason").map_err(backend)?,
        added_at: parse_ts(&r.try_get::<String, _>("added_at").map_err(backend)?)?,
    })
}

/// Event source of the job outbox's own events (`job.dead`).
const JOBS_SOURCE: &str = "jobs";

/// Event source of `alert.raised`.
const ALERTS_SOURCE: &str = "alerts";

fn kill_switch_from_row(r: &SqliteRow) -> StoreResult<KillSwitch> {
    let scope: String = r.try_get("scope").map_err(backend)?;
    Ok(KillSwitch {
        scope: KillScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("kill switch scope '{scope}'")))?,
        tripped: r.try_get::<i64, _>("tripped").map_err(backend)? == 1,
        reason: r.try_get("reason").map_err(backend)?,
        source: r.try_get("source").map_err(backend)?,
        changed_at: parse_ts(&r.try_get::<String, _>("changed_at").map_err(backend)?)?,
    })
}

fn job_from_row(r: &SqliteRow) -> StoreResult<Job> {
    let state: String = r.try_get("state").map_err(backend)?;
    let attempts: i64 = r.try_get("attempts").map_err(backend)?;
    Ok(Job {
        id: JobId(r.try_get("id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        payload: r.try_get("payload").map_err(backend)?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state '{state}'")))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("job attempts {attempts}")))?,
        run_at: parse_ts(&r.try_get::<String, _>("run_at").map_err(backend)?)?,
        locked_until: opt_ts(r.try_get("locked_until").map_err(backend)?)?,
        error_code: r.try_get("error_code").map_err(backend)?,
        error_message: r.try_get("error_message").map_err(backend)?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at").map_err(backend)?)?,
    })
}

fn alert_from_row(r: &SqliteRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: AlertId(r.try_get("id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        scope: r.try_get("scope").map_err(backend)?,
        subject: r.try_get("subject").map_err(backend)?,
        body: r.try_get("body").map_err(backend)?,
        raised_at: parse_ts(&r.try_get::<String, _>("raised_at").map_err(backend)?)?,
    })
}

/// When a claim taken at `now` for `lock_for` expires. Errors: [`StoreError::Backend`] when
/// `lock_for` is not positive (a claim that is already over excludes nobody) or too large.
fn claim_until(now: DateTime<Utc>, lock_for: chrono::Duration) -> StoreResult<DateTime<Utc>> {
    if lock_for <= chrono::Duration::zero() {
        return Err(StoreError::Backend(format!(
            "job claims must last a positive time, got {lock_for}"
        )));
    }
    now.checked_add_signed(lock_for)
        .ok_or_else(|| StoreError::Backend(format!("job claim of {lock_for} is out of range")))
}

/// The jobs an alert enqueues: one per channel (the job's kind), each carrying the alert's
/// id, due at once. Their dedupe keys make a channel listed twice notify once.
fn alert_jobs(id: AlertId, channels: &[&str], now: DateTime<Utc>) -> Vec<NewJob> {
    channels
        .iter()
        .map(|channel| NewJob {
            kind: (*channel).to_owned(),
            payload: serde_json::json!({ "alert_id": id.0 }).to_string(),
            run_at: now,
            dedupe_key: Some(format!("alert:{id}:{channel}")),
        })
        .collect()
}

/// Enqueues a job inside the caller's transaction. `None` when a job with its dedupe key
/// exists (nothing written).
async fn insert_job(
    conn: &mut SqliteConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES (?, ?, 'pending', 0, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(ts(job.run_at))
    .bind(ts(now))
    .bind(ts(now))
    .bind(job.dedupe_key.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(id.map(JobId))
}

async fn fetch_job(conn: &mut SqliteConnection, id: JobId) -> StoreResult<Option<Job>> {
    sqlx::query("SELECT * FROM jobs WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

/// The lead columns a decision writes: status, next attempt time, reason.
fn decision_columns(decision: &LeadDecision) -> (&'static str, Option<String>, Option<&str>) {
    match decision {
        LeadDecision::Redial { at } => ("active", Some(ts(*at)), None),
        LeadDecision::Done { reason } => ("done", None, Some(reason.as_str())),
        LeadDecision::Park { reason } => ("paused", None, Some(reason.as_str())),
    }
}

/// Appends an event inside the caller's transaction. Returns `false` when `dedupe_key` was
/// seen before (nothing written).
#[allow(clippy::too_many_arguments)]
async fn insert_event(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    lead_id: Option<LeadId>,
    attempt_id: Option<AttemptId>,
    kind: &str,
    source: &str,
    dedupe_key: Option<&str>,
    detail: &str,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(ts(at))
    .bind(lead_id.map(|l| l.0))
    .bind(attempt_id.map(|a| a.0))
    .bind(kind)
    .bind(source)
    .bind(dedupe_key)
    .bind(detail)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(res.rows_affected() == 1)
}

async fn fetch_attempt(conn: &mut SqliteConnection, id: AttemptId) -> StoreResult<Option<Attempt>> {
    sqlx::query("SELECT * FROM attempts WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(attempt_from_row)
        .transpose()
}

/// A guarded attempt transition inside a transaction, with its event.
#[allow(clippy::too_many_arguments)]
async fn transition_attempt(
    pool: &SqlitePool,
    id: AttemptId,
    from: &[AttemptState],
    to: AttemptState,
    code: Option<&str>,
    message: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = WriteTx::begin(pool).await?;
    let Some(att) = fetch_attempt(&mut tx, id).await? else {
        return Ok(false);
    };
    if !from.contains(&att.state) {
        return Ok(false);
    }
    let ended = to.is_final().then(|| ts(now));
    let res = sqlx::query(
        "UPDATE attempts SET state = ?, error_code = COALESCE(?, error_code),
                error_message = COALESCE(?, error_message),
                ended_at = COALESCE(ended_at, ?), updated_at = ?
         WHERE id = ? AND state = ?",
    )
    .bind(to.as_str())
    .bind(code)
    .bind(message)
    .bind(ended)
    .bind(ts(now))
    .bind(id.0)
    .bind(att.state.as_str())
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    if res.rows_affected() != 1 {
        return Ok(false);
    }
    let detail = serde_json::json!({
        "from": att.state.as_str(), "to": to.as_str(), "code": code, "message": message,
    })
    .to_string();
    insert_event(
        &mut tx,
        now,
        Some(att.lead_id),
        Some(id),
        &format!("attempt.{}", to.as_str()),
        source,
        None,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

impl SqliteStore {
    /// Reserves an attempt for a due lead, optionally under a fleet-wide in-flight cap.
    async fn reserve(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: Option<u32>,
    ) -> StoreResult<Option<Attempt>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(row) = sqlx::query(
            "SELECT * FROM leads WHERE id = ? AND status = 'active' AND next_attempt_at <= ?",
        )
        .bind(lead_id.0)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(None);
        };
        let lead = lead_from_row(&row)?;
        if let Some(max) = max_in_flight {
            let in_flight: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
            ))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            if in_flight >= i64::from(max) {
                return Ok(None);
            }
        }
        let res = sqlx::query(
            "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, reserved_at, updated_at)
             VALUES (?, ?, ?, ?, 'reserved', ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(lead.id.0)
        .bind(lead.campaign_id.0)
        .bind(lead.phone.as_str())
        .bind(i64::from(lead.attempt_count + 1))
        .bind(ts(now))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            // The number has an attempt in flight (possibly in another campaign).
            return Ok(None);
        }
        let attempt_id = AttemptId(res.last_insert_rowid());
        sqlx::query(
            "UPDATE leads SET status = 'dialing', next_attempt_at = NULL, attempt_count = attempt_count + 1,
                    updated_at = ? WHERE id = ? AND status = 'active'",
        )
        .bind(ts(now))
        .bind(lead.id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"number": lead.attempt_count + 1}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(lead.id),
            Some(attempt_id),
            "attempt.reserved",
            "scheduler",
            None,
            &detail,
        )
        .await?;
        let attempt = fetch_attempt(&mut tx, attempt_id).await?;
        tx.commit().await?;
        Ok(attempt)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let key = scope.as_key();
        // Tripping creates the row of a scope never set; resuming a scope never set changes
        // nothing (it is not tripped). Either way only a change of position writes.
        let res = if tripped {
            sqlx::query(
                "INSERT INTO kill_switches (scope, tripped, reason, source, changed_at)
                 VALUES (?, 1, ?, ?, ?)
                 ON CONFLICT (scope) DO UPDATE SET tripped = 1, reason = excluded.reason,
                        source = excluded.source, changed_at = excluded.changed_at
                 WHERE kill_switches.tripped = 0",
            )
            .bind(&key)
            .bind(reason)
            .bind(source)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query(
                "UPDATE kill_switches SET tripped = 0, reason = ?, source = ?, changed_at = ?
                 WHERE scope = ? AND tripped = 1",
            )
            .bind(reason)
            .bind(source)
            .bind(ts(now))
            .bind(&key)
            .execute(&mut *tx)
            .await
        }
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let kind = if tripped {
            "kill_switch.tripped"
        } else {
            "kill_switch.resumed"
        };
        let detail = serde_json::json!({"scope": key, "reason": reason}).to_string();
        insert_event(&mut tx, now, None, None, kind, source, None, &detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>> {
        sqlx::query("SELECT * FROM kill_switches ORDER BY scope")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(kill_switch_from_row)
            .collect()
    }

    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Option<JobId>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert_job(&mut conn, job, now).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        let until = claim_until(now, lock_for)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One statement on the one connection: no other claim can interleave. A running job
        // was claimed at or after its run_at, so an expired claim also has run_at <= now;
        // the bound lets the partial index jobs_claimable serve both kinds.
        let mut jobs = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = ?,
                    locked_by = ?, updated_at = ?
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE state IN ('pending', 'running') AND run_at <= ?
                   AND (state = 'pending' OR locked_until < ?)
                 ORDER BY run_at, id LIMIT ?)
             RETURNING *",
        )
        .bind(ts(until))
        .bind(worker)
        .bind(ts(now))
        .bind(ts(now))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(job_from_row)
        .collect::<StoreResult<Vec<Job>>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn finish_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_until = NULL, locked_by = NULL, updated_at = ?
             WHERE id = ? AND state = 'running'",
        )
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn retry_job(
        &self,
        id: JobId,
        run_at: DateTime<Utc>,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = ?, locked_until = NULL, locked_by = NULL,
                    error_code = ?, error_message = ?, updated_at = ?
             WHERE id = ? AND state = 'running'",
        )
        .bind(ts(run_at))
        .bind(error_code)
        .bind(error_message)
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn dead_letter_job(
        &self,
        id: JobId,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(job) = fetch_job(&mut tx, id).await? else {
            return Ok(false);
        };
        if !matches!(job.state, JobState::Pending | JobState::Running) {
            return Ok(false);
        }
        let res = sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_until = NULL, locked_by = NULL,
                    error_code = ?, error_message = ?, updated_at = ?
             WHERE id = ? AND state = ?",
        )
        .bind(error_code)
        .bind(error_message)
        .bind(ts(now))
        .bind(id.0)
        .bind(job.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({
            "job_id": id.0, "kind": job.kind, "from": job.state.as_str(),
            "attempts": job.attempts, "error_code": error_code, "error_message": error_message,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            "job.dead",
            JOBS_SOURCE,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = ?, attempts = 0, updated_at = ?
             WHERE id = ? AND state = 'dead'",
        )
        .bind(ts(now))
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_job(&mut conn, id).await
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>> {
        // The state is written into the statement (one of four fixed words), so that the
        // planner can use the partial index jobs_dead for dead letters.
        let filter = state
            .map(|s| format!("WHERE state = '{}'", s.as_str()))
            .unwrap_or_default();
        sqlx::query(&format!(
            "SELECT * FROM jobs {filter} ORDER BY id DESC LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(job_from_row)
        .collect()
    }

    async fn job_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(k, v)| (k, v as u64)).collect())
    }

    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO alerts (kind, scope, subject, body, dedupe_key, raised_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&alert.kind)
        .bind(&alert.scope)
        .bind(&alert.subject)
        .bind(&alert.body)
        .bind(alert.dedupe_key.as_deref())
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(None);
        };
        for job in alert_jobs(AlertId(id), channels, now) {
            insert_job(&mut tx, &job, now).await?;
        }
        let detail = serde_json::json!({
            "alert_id": id, "kind": alert.kind, "scope": alert.scope, "subject": alert.subject,
            "channels": channels,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            "alert.raised",
            ALERTS_SOURCE,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(AlertId(id)))
    }

    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(alert_from_row)
            .transpose()
    }

    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(alert_from_row)
            .collect()
    }

    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        let rows = match campaign {
            // Served by the index attempts_campaign (campaign_id, id).
            Some(c) => {
                sqlx::query("SELECT * FROM attempts WHERE campaign_id = ? ORDER BY id DESC LIMIT ?")
                    .bind(c.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query("SELECT * FROM attempts ORDER BY id DESC LIMIT ?")
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn latest_event_at(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        // Served by the index events_source_at (source, at).
        let at: Option<String> =
            sqlx::query_scalar("SELECT at FROM events WHERE source = ? ORDER BY at DESC LIMIT 1")
                .bind(source)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        opt_ts(at)
    }

    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let res = sqlx::query(
            "INSERT INTO campaigns (name, settings, active, created_at, updated_at)
             VALUES (?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(json)
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("campaign '{name}' exists")));
        }
        self.campaign(CampaignId(res.last_insert_rowid())).await
    }

    async fn update_campaign(
        &self,
        id: CampaignId,
        settings: &CampaignSettings,
        active: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let res = sqlx::query(
            "UPDATE campaigns SET settings = ?, active = ?, updated_at = ? WHERE id = ?",
        )
        .bind(json)
        .bind(i64::from(active))
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("campaign {id}")));
        }
        self.campaign(id).await
    }

    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
        campaign_from_row(&row)
    }

    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>> {
        sqlx::query("SELECT * FROM campaigns WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(campaign_from_row)
            .transpose()
    }

    async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        sqlx::query("SELECT * FROM campaigns ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(campaign_from_row)
            .collect()
    }

    async fn insert_leads(
        &self,
        campaign_id: CampaignId,
        leads: &[(NewLead, LeadPlacement)],
        now: DateTime<Utc>,
    ) -> StoreResult<InsertReport> {
        // Multi-row statements keep the transaction short (the write lock is held while it
        // runs, and a webhook in `serve` may be waiting for it).
        let mut tx = WriteTx::begin(&self.pool).await?;
        let mut report = InsertReport::default();
        for chunk in leads.chunks(LEAD_ROWS_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, status_reason, created_at, updated_at)
                 VALUES {values} ON CONFLICT (campaign_id, phone) DO NOTHING RETURNING id, status"
            );
            let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
            for (lead, placement) in chunk {
                let contact = serde_json::to_string(&lead.contact)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let (status, next, reason) = match placement {
                    LeadPlacement::Active(at) => ("active", Some(ts(*at)), None),
                    LeadPlacement::Paused(reason) => ("paused", None, Some(reason.clone())),
                };
                q = q
                    .bind(campaign_id.0)
                    .bind(lead.phone.as_str())
                    .bind(contact)
                    .bind(status)
                    .bind(next)
                    .bind(reason)
                    .bind(ts(now))
                    .bind(ts(now));
            }
            let mut created = q.fetch_all(&mut *tx).await.map_err(backend)?;
            report.inserted += created.len() as u64;
            report.duplicates += (chunk.len() - created.len()) as u64;
            if created.is_empty() {
                continue;
            }
            // One `lead.created` event per inserted lead, in id order.
            created.sort_unstable();
            let values =
                vec!["(?, ?, NULL, 'lead.created', 'import', NULL, ?)"; created.len()].join(", ");
            let sql = format!(
                "INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
                 VALUES {values}"
            );
            let mut q = sqlx::query(&sql);
            for (id, status) in &created {
                q = q.bind(ts(now)).bind(id).bind(status);
            }
            q.execute(&mut *tx).await.map_err(backend)?;
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(lead_from_row)
            .transpose()
    }

    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }

    async fn leads_by_phone(&self, phone: &E164) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE phone = ? ORDER BY id")
            .bind(phone.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }

    async fn due_leads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lead>> {
        sqlx::query(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= ? AND c.active = 1
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT ?",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(lead_from_row)
        .collect()
    }

    async fn reschedule_lead(
        &self,
        id: LeadId,
        at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE leads SET next_attempt_at = ?, status_reason = ?, updated_at = ?
             WHERE id = ? AND status = 'active'",
        )
        .bind(ts(at))
        .bind(reason)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({"next_attempt_at": ts(at), "reason": reason}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(id),
            None,
            "lead.rescheduled",
            "scheduler",
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE leads SET status = 'paused', next_attempt_at = NULL, status_reason = ?, updated_at = ?
             WHERE id = ? AND status = 'active'",
        )
        .bind(reason)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(
            &mut tx,
            now,
            Some(id),
            None,
            "lead.paused",
            "scheduler",
            None,
            reason,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT reserved_at FROM attempts WHERE lead_id = ? AND state NOT IN ('rejected', 'not-placed')
             ORDER BY reserved_at",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|s| parse_ts(s)).collect()
    }

    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        // Served by the index attempts_phone_reserved (phone, reserved_at).
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT reserved_at FROM attempts
             WHERE phone = ? AND reserved_at >= ? AND state NOT IN ('rejected', 'not-placed')
             ORDER BY reserved_at",
        )
        .bind(phone.as_str())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|s| parse_ts(s)).collect()
    }

    async fn reserve_attempt(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve(lead_id, now, None).await
    }

    async fn reserve_attempt_capped(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve(lead_id, now, Some(max_in_flight)).await
    }

    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let next: Option<String> =
            sqlx::query_scalar("SELECT next_slot FROM pacers WHERE name = ?")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        let slot = match next {
            Some(n) => parse_ts(&n)?.max(now),
            None => now,
        };
        sqlx::query(
            "INSERT INTO pacers (name, next_slot) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET next_slot = excluded.next_slot",
        )
        .bind(name)
        .bind(ts(slot + interval))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(to_micros(slot))
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if ttl <= chrono::Duration::zero() {
            return Err(StoreError::Backend(format!(
                "lease '{name}': the time to live must be positive, got {ttl}"
            )));
        }
        let row: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(ts(now + ttl))
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn attempt(&self, id: AttemptId) -> StoreResult<Option<Attempt>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_attempt(&mut conn, id).await
    }

    async fn lead_attempts(&self, lead_id: LeadId) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE lead_id = ? ORDER BY id")
            .bind(lead_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(attempt_from_row)
            .collect()
    }

    async fn mark_placed(
        &self,
        id: AttemptId,
        placement: &Placement,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(att) = fetch_attempt(&mut tx, id).await? else {
            return Ok(false);
        };
        // Store the call id whatever the state, if it is missing: a webhook may have moved
        // the attempt on first, and the id must never be lost.
        sqlx::query("UPDATE attempts SET call_id = ?, placed_at = COALESCE(placed_at, ?) WHERE id = ? AND call_id IS NULL")
            .bind(placement.call_id.as_str())
            .bind(ts(now))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let moved = matches!(att.state, AttemptState::Reserved | AttemptState::Unknown);
        if moved {
            sqlx::query(
                "UPDATE attempts SET state = 'placed', call_status = ?, updated_at = ? WHERE id = ? AND state = ?",
            )
            .bind(placement.status.as_str())
            .bind(ts(now))
            .bind(id.0)
            .bind(att.state.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            let detail = serde_json::json!({"from": att.state.as_str(), "call_id": placement.call_id.as_str()}).to_string();
            insert_event(
                &mut tx,
                now,
                Some(att.lead_id),
                Some(id),
                "attempt.placed",
                "scheduler",
                None,
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn mark_rejected(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved],
            AttemptState::Rejected,
            Some(code),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn mark_unknown(
        &self,
        id: AttemptId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved],
            AttemptState::Unknown,
            Some("ambiguous"),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn mark_not_placed(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved, AttemptState::Unknown],
            AttemptState::NotPlaced,
            Some(code),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn apply_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let by_call = sqlx::query("SELECT * FROM attempts WHERE call_id = ?")
            .bind(event.call_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let found = match by_call {
            Some(r) => Some(attempt_from_row(&r)?),
            None => match attempt_hint {
                Some(h) => fetch_attempt(&mut tx, h)
                    .await?
                    .filter(|a| a.call_id.is_none()),
                None => None,
            },
        };
        let Some(att) = found else {
            insert_event(
                &mut tx,
                now,
                None,
                None,
                "webhook.unmatched",
                &raw.source,
                Some(&raw.dedupe_key),
                &raw.payload,
            )
            .await?;
            tx.commit().await?;
            return Ok(EventOutcome::UnknownCall);
        };
        let fresh = insert_event(
            &mut tx,
            now,
            Some(att.lead_id),
            Some(att.id),
            "webhook",
            &raw.source,
            Some(&raw.dedupe_key),
            &raw.payload,
        )
        .await?;
        if !fresh {
            return Ok(EventOutcome::Duplicate);
        }
        if att.state.is_final() {
            // A late callback: kept in the log, and nothing of the ended attempt changes.
            tx.commit().await?;
            return Ok(EventOutcome::Late { attempt_id: att.id });
        }
        let seq = event.sequence.map(i64::from);
        let Some(next) = att.state.advance(event.status) else {
            sqlx::query(
                "UPDATE attempts SET last_sequence = COALESCE(MAX(last_sequence, ?), last_sequence, ?),
                        answered_by = COALESCE(answered_by, ?), updated_at = ? WHERE id = ?",
            )
            .bind(seq)
            .bind(seq)
            .bind(event.answered_by.map(|a| a.as_str()))
            .bind(ts(now))
            .bind(att.id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await?;
            return Ok(EventOutcome::Stale { attempt_id: att.id });
        };
        let times = EventTimes::of(event, att.reserved_at, now);
        let at = ts(times.at);
        let answered = times.answered_at.map(ts);
        let ended = next.is_final().then(|| at.clone());
        let res = sqlx::query(
            "UPDATE attempts SET state = ?, call_id = COALESCE(call_id, ?), call_status = ?,
                    last_sequence = COALESCE(MAX(last_sequence, ?), last_sequence, ?),
                    placed_at = COALESCE(placed_at, ?), answered_at = COALESCE(answered_at, ?),
                    ended_at = COALESCE(ended_at, ?), duration_s = COALESCE(?, duration_s),
                    answered_by = COALESCE(?, answered_by), sip_response_code = COALESCE(?, sip_response_code),
                    updated_at = ?
             WHERE id = ? AND state = ?",
        )
        .bind(next.as_str())
        .bind(event.call_id.as_str())
        .bind(event.status.as_str())
        .bind(seq)
            .bind(seq)
        .bind(at.clone())
        .bind(answered)
        .bind(ended)
        .bind(event.duration_s.map(i64::from))
        .bind(event.answered_by.map(|a| a.as_str()))
        .bind(event.sip_response_code.map(i64::from))
        .bind(ts(now))
        .bind(att.id.0)
        .bind(att.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Err(StoreError::Backend(format!(
                "attempt {} changed under a transaction",
                att.id
            )));
        }
        let mut detail = serde_json::json!({
            "from": att.state.as_str(), "to": next.as_str(), "call_status": event.status.as_str(),
            "sequence": event.sequence,
        });
        if let Some(reported) = times.clamped_from {
            // The provider's instant lay outside [reservation, now]: stored clamped.
            detail["provider_at"] = serde_json::json!(reported);
            detail["stored_at"] = serde_json::json!(times.at);
        }
        let detail = detail.to_string();
        insert_event(
            &mut tx,
            now,
            Some(att.lead_id),
            Some(att.id),
            &format!("attempt.{}", next.as_str()),
            &raw.source,
            None,
            &detail,
        )
        .await?;
        let updated = fetch_attempt(&mut tx, att.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("attempt {}", att.id)))?;
        tx.commit().await?;
        Ok(EventOutcome::Applied {
            from: att.state,
            attempt: Box::new(updated),
        })
    }

    async fn request_disposition(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE attempts SET requested_disposition = ?, callback_at = ?, updated_at = ?
             WHERE id = ? AND concluded_at IS NULL",
        )
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let lead_id: i64 = sqlx::query_scalar("SELECT lead_id FROM attempts WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let detail = serde_json::json!({"disposition": disposition.as_str(), "callback_at": callback_at.map(ts)}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(LeadId(lead_id)),
            Some(id),
            "attempt.disposition",
            source,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn redispose_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        decision: &LeadDecision,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(att) = fetch_attempt(&mut tx, id).await? else {
            return Ok(false);
        };
        let latest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM attempts WHERE lead_id = ?")
            .bind(att.lead_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if att.concluded_at.is_none() || latest != id.0 {
            return Ok(false);
        }
        let (status, next, reason) = decision_columns(decision);
        let res = sqlx::query(
            "UPDATE leads SET status = ?, next_attempt_at = ?, status_reason = ?, disposition = ?, updated_at = ?
             WHERE id = ? AND status <> 'dialing'",
        )
        .bind(status)
        .bind(next)
        .bind(reason)
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(att.lead_id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE attempts SET disposition = ?, requested_disposition = ?, callback_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(disposition.as_str())
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({
            "from": att.disposition.as_ref().map(|d| d.as_str()), "to": disposition.as_str(),
            "callback_at": callback_at.map(ts), "decision": decision,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            Some(att.lead_id),
            Some(id),
            "lead.redisposed",
            source,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM attempts WHERE concluded_at IS NULL AND state IN ('ended', 'rejected', 'not-placed')
             ORDER BY id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ids.into_iter().map(AttemptId).collect())
    }

    async fn conclude_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        decision: &LeadDecision,
        follow_up: &[NewJob],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE attempts SET disposition = ?, concluded_at = ?, updated_at = ?
             WHERE id = ? AND concluded_at IS NULL AND state IN ('ended', 'rejected', 'not-placed')",
        )
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let lead_id: i64 = sqlx::query_scalar("SELECT lead_id FROM attempts WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let (status, next, reason) = decision_columns(decision);
        sqlx::query(
            "UPDATE leads SET status = ?, next_attempt_at = ?, status_reason = ?, disposition = ?, updated_at = ?
             WHERE id = ? AND status = 'dialing'",
        )
        .bind(status)
        .bind(next)
        .bind(reason)
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(lead_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"disposition": disposition.as_str(), "decision": decision})
            .to_string();
        insert_event(
            &mut tx,
            now,
            Some(LeadId(lead_id)),
            Some(id),
            "lead.concluded",
            "engine",
            None,
            &detail,
        )
        .await?;
        // Post-call work commits with the conclusion, or not at all. A follow-up whose dedupe
        // key exists is skipped.
        for job in follow_up {
            insert_job(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn attempts_to_reconcile(
        &self,
        reserved_before: DateTime<Utc>,
        reconciled_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        sqlx::query(&format!(
            "SELECT * FROM attempts WHERE state IN {IN_FLIGHT} AND reserved_at < ?
               AND (reconciled_at IS NULL OR reconciled_at < ?)
             ORDER BY reserved_at LIMIT ?"
        ))
        .bind(ts(reserved_before))
        .bind(ts(reconciled_before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    async fn in_flight_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(n as u64)
    }

    async fn mark_reconciled(&self, id: AttemptId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE attempts SET reconciled_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(attempt_from_row)
            .collect()
    }

    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut tx = WriteTx::begin(&self.pool).await?;
        let mut added = 0u64;
        for chunk in entries.chunks(DNC_ROWS_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO dnc (scope, phone, source, reason, added_at) VALUES {values}
                 ON CONFLICT (scope, phone) DO NOTHING"
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.scope.as_key())
                    .bind(e.phone.as_str())
                    .bind(e.source.as_str())
                    .bind(e.reason.as_deref())
                    .bind(ts(e.added_at));
            }
            added += q.execute(&mut *tx).await.map_err(backend)?.rows_affected();
        }
        if added > 0 {
            let detail = if let [e] = entries {
                serde_json::json!({
                    "phone": e.phone.as_str(), "scope": e.scope.as_key(), "source": e.source,
                    "reason": e.reason, "added_at": ts(e.added_at),
                })
            } else {
                let scopes: BTreeSet<String> = entries.iter().map(|e| e.scope.as_key()).collect();
                let sources: BTreeSet<&str> = entries.iter().map(|e| e.source.as_str()).collect();
                serde_json::json!({
                    "batch": entries.len(), "added": added, "scopes": scopes, "sources": sources,
                    "first": entries[0].phone.as_str(),
                    "last": entries[entries.len() - 1].phone.as_str(),
                })
            };
            let source = match entries {
                [e] => e.source.as_str(),
                _ if entries.iter().all(|e| e.source == entries[0].source) => {
                    entries[0].source.as_str()
                }
                _ => "batch",
            };
            insert_event(
                &mut tx,
                now,
                None,
                None,
                "dnc.added",
                source,
                None,
                &detail.to_string(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(row) = sqlx::query(
            "DELETE FROM dnc WHERE scope = ? AND phone = ?
             RETURNING scope, phone, source, reason, added_at",
        )
        .bind(scope.as_key())
        .bind(phone.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(false);
        };
        let removed = dnc_from_row(&row)?;
        let detail = serde_json::json!({
            "phone": removed.phone.as_str(), "scope": removed.scope.as_key(),
            "source": removed.source, "reason": removed.reason,
            "added_at": ts(removed.added_at),
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            "dnc.removed",
            "operator",
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>> {
        // Up to three primary-key probes; a NULL third key matches nothing.
        sqlx::query(
            "SELECT scope, phone, source, reason, added_at FROM dnc
             WHERE phone = ? AND scope IN ('internal', 'national', ?)
             ORDER BY scope",
        )
        .bind(phone.as_str())
        .bind(campaign.map(|c| DncScope::Campaign(c).as_key()))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(dnc_from_row)
        .collect()
    }

    async fn dnc_count(&self) -> StoreResult<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT scope, COUNT(*) FROM dnc GROUP BY scope")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(k, v)| (k, v as u64)).collect())
    }

    async fn record_event(
        &self,
        lead_id: Option<LeadId>,
        attempt_id: Option<AttemptId>,
        kind: &str,
        source: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert_event(
            &mut conn, now, lead_id, attempt_id, kind, source, None, detail,
        )
        .await?;
        Ok(())
    }

    async fn lead_events(&self, lead_id: LeadId) -> StoreResult<Vec<EventRecord>> {
        sqlx::query(
            "SELECT * FROM events WHERE lead_id = ?
                OR attempt_id IN (SELECT id FROM attempts WHERE lead_id = ?)
             ORDER BY id",
        )
        .bind(lead_id.0)
        .bind(lead_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let mut c = StatusCounts::default();
        let grouped = |sql: &'static str| sqlx::query_as::<_, (Option<String>, i64)>(sql);
        for (k, v) in grouped("SELECT status, COUNT(*) FROM leads GROUP BY status")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?
        {
            c.leads_by_status.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped("SELECT state, COUNT(*) FROM attempts GROUP BY state")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?
        {
            c.attempts_by_state.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped("SELECT disposition, COUNT(*) FROM attempts WHERE disposition IS NOT NULL GROUP BY disposition")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?
        {
            c.attempts_by_disposition.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT call_status, COUNT(*) FROM attempts WHERE state = 'ended' GROUP BY call_status",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?
        {
            c.attempts_by_call_status
                .insert(k.unwrap_or_default(), v as u64);
        }
        c.leads_due = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= ? AND c.active = 1",
        )
        .bind(ts(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)? as u64;
        c.attempts_in_flight = sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)? as u64;
        c.attempts_since =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE reserved_at >= ?")
                .bind(ts(since))
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)? as u64;
        Ok(c)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"key": key, "value": value}).to_string();
        insert_event(&mut tx, now, None, None, "setting", source, None, &detail).await?;
        tx.commit().await?;
        Ok(())
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

    #[tokio::test]
    async fn job_claims_must_last() {
        let s = SqliteStore::in_memory().await.unwrap();
        assert!(matches!(
            s.claim_jobs("w", t0(), chrono::Duration::zero(), 1).await,
            Err(StoreError::Backend(_))
        ));
    }
}
