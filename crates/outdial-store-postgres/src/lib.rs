//! # outdial-store-postgres
//!
//! The production and scale-out backend of [`outdial_store::Store`]: PostgreSQL through
//! `sqlx`. Any number of outdial instances may share one database.
//!
//! - **Migrations** are embedded (`migrations/`, the same version numbers as the SQLite
//!   backend's, in PostgreSQL dialect) and applied by [`PgStore::connect`] under sqlx's
//!   session advisory lock, so instances starting together migrate once and the others wait.
//!   A database migrated by a newer outdial is refused ([`StoreError::SchemaTooNew`]).
//! - **One attempt in flight per number** is the partial unique index
//!   `attempts_one_in_flight_per_phone`; [`Store::reserve_attempt`] inserts with
//!   `ON CONFLICT DO NOTHING` (which, without a conflict target, covers every unique index,
//!   partial ones included), after locking the lead row with `FOR UPDATE SKIP LOCKED`, so
//!   concurrent instances skip the leads another instance is reserving instead of waiting.
//! - **Guarded updates**: every state change is `UPDATE … WHERE id = $1 AND state = $2` on a
//!   row read `FOR UPDATE` in the same transaction; a lost race changes nothing and reports
//!   `false` / `None`.
//! - **Events** are append-only (a trigger raises on `UPDATE`, `DELETE` and `TRUNCATE`); raw
//!   webhooks are deduplicated by the unique `dedupe_key` in the transaction of their effect.
//! - **Time**: columns are `timestamptz` (microsecond precision); every instant is truncated
//!   with [`outdial_store::to_micros`] before it is written, so nothing is rounded up.
//! - **Leader lease** for singleton maintenance: [`PgStore::try_acquire_lease`].
//!
//! Errors: a unique-constraint violation maps to [`StoreError::Conflict`], a value that cannot
//! be decoded to [`StoreError::Corrupt`], a lost connection or a server that cannot write to
//! [`StoreError::Unavailable`], anything else the database or the driver reports to
//! [`StoreError::Backend`].

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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Attempt states that block a number (kept in step with the partial unique index).
const IN_FLIGHT: &str = "('reserved', 'placed', 'ringing', 'in-progress', 'unknown')";

/// Key of the transaction-level advisory lock that serialises capped reservations across
/// the fleet (`"outdial"` and 2, as bytes).
const RESERVE_LOCK: i64 = 0x6f75_7464_6961_6c02;

/// The PostgreSQL store: a connection pool. Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// SQLSTATE codes and classes (a two-character prefix) that mean the database cannot take
/// writes or cannot be reached: class 08 (connection exception), 53 (insufficient resources:
/// `53100` disk full, `53200` out of memory, `53300` too many connections), 58 (system error:
/// `58030` I/O error), `57P01`–`57P03` (the server is shutting down or starting),
/// `25006` (read-only transaction: a standby, or `default_transaction_read_only`),
/// `XX001`/`XX002` (corrupted data or index).
/// Source: <https://www.postgresql.org/docs/current/errcodes-appendix.html>.
fn is_unavailable_sqlstate(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "53" | "58"))
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "25006" | "XX001" | "XX002"
        )
}

/// Maps a driver error: unique violations (SQLSTATE 23505) are [`StoreError::Conflict`],
/// undecodable values [`StoreError::Corrupt`], a lost or refused connection, an I/O error or
/// a server that cannot write ([`is_unavailable_sqlstate`]) [`StoreError::Unavailable`], the
/// rest [`StoreError::Backend`].
fn backend(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_unavailable_sqlstate(&c)) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(e.to_string())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Fails with [`StoreError::ForeignDatabase`] when the database holds tables (outside the
/// system schemas) but no `_sqlx_migrations`. Only reads. Instances starting together on an
/// empty database agree: sqlx commits `_sqlx_migrations` before it creates any other table.
async fn refuse_foreign(pool: &PgPool) -> StoreResult<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
           AND schemaname NOT LIKE 'pg\\_%'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    if tables.is_empty() || tables.iter().any(|t| t.ends_with("._sqlx_migrations")) {
        return Ok(());
    }
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    let mut shown: Vec<String> = tables.iter().take(5).cloned().collect();
    if tables.len() > shown.len() {
        shown.push(format!("and {} more", tables.len() - shown.len()));
    }
    Err(StoreError::ForeignDatabase(foreign_database_message(
        &format!("the PostgreSQL database \"{database}\""),
        &shown,
    )))
}

/// An instant as written: truncated to whole microseconds.
fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    to_micros(t)
}

/// An instant as text in event details (the SQLite backend's format).
fn ts_text(t: DateTime<Utc>) -> String {
    to_micros(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn get<'r, T>(r: &'r PgRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    r.try_get(col).map_err(backend)
}

/// A non-negative integer column read back into a narrower type.
fn small<T: TryFrom<i64>>(v: i64, what: &str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is out of range")))
}

fn opt_small<T: TryFrom<i64>>(v: Option<i64>, what: &str) -> StoreResult<Option<T>> {
    v.map(|v| small(v, what)).transpose()
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`,
    /// with any libpq-style parameters sqlx accepts) with a pool of at most `pool_size`
    /// connections and applies the embedded migrations under sqlx's advisory lock (safe when
    /// several instances start together: one migrates, the others wait and then find nothing
    /// to do). A database that holds tables but no `_sqlx_migrations` is refused
    /// ([`ForeignDatabase::Refuse`]); see [`PgStore::connect_with_policy`].
    ///
    /// Errors: [`StoreError::ForeignDatabase`] for a database outdial did not create (nothing
    /// is written to it); [`StoreError::SchemaTooNew`] when the database holds a migration
    /// this build does not know (a newer outdial migrated it); [`StoreError::Unavailable`]
    /// when the server cannot be reached or cannot write; [`StoreError::Backend`] when `url`
    /// cannot be parsed, `pool_size` is 0 or a migration fails otherwise.
    pub async fn connect(url: &str, pool_size: u32) -> StoreResult<PgStore> {
        Self::connect_with_policy(url, pool_size, ForeignDatabase::Refuse).await
    }

    /// Like [`PgStore::connect`], saying what to do with a database outdial did not create
    /// (tables in it, and no `_sqlx_migrations`): [`ForeignDatabase::Refuse`] fails with
    /// [`StoreError::ForeignDatabase`] naming the database; [`ForeignDatabase::Adopt`] adds
    /// outdial's tables to it.
    pub async fn connect_with_policy(
        url: &str,
        pool_size: u32,
        foreign: ForeignDatabase,
    ) -> StoreResult<PgStore> {
        // sqlx parses any scheme; a URL of another database must not be tried as a host.
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Backend(
                "invalid PostgreSQL URL: it must start with postgres:// or postgresql://".into(),
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Self::open(options, pool_size, foreign).await
    }

    /// Like [`PgStore::connect`], with connection options built by the caller.
    pub async fn connect_with(options: PgConnectOptions, pool_size: u32) -> StoreResult<PgStore> {
        Self::open(options, pool_size, ForeignDatabase::Refuse).await
    }

    async fn open(
        options: PgConnectOptions,
        pool_size: u32,
        foreign: ForeignDatabase,
    ) -> StoreResult<PgStore> {
        if pool_size == 0 {
            return Err(StoreError::Backend(
                "the PostgreSQL pool size must be at least 1".into(),
            ));
        }
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(backend)?;
        if let Err(e) = Self::prepare(&pool, foreign).await {
            // Closing drops any session advisory lock a failed migration left held.
            pool.close().await;
            return Err(e);
        }
        Ok(PgStore { pool })
    }

    async fn prepare(pool: &PgPool, foreign: ForeignDatabase) -> StoreResult<()> {
        if foreign == ForeignDatabase::Refuse {
            refuse_foreign(pool).await?;
        }
        MIGRATOR.run(pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => {
                StoreError::SchemaTooNew(format!("it has migration {v}, unknown to this build"))
            }
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => match backend(e) {
                StoreError::Unavailable(m) => {
                    StoreError::Unavailable(format!("migrations failed: {m}"))
                }
                other => StoreError::Backend(format!("migrations failed: {other}")),
            },
            other => StoreError::Backend(format!("migrations failed: {other}")),
        })?;
        Ok(())
    }

    /// The newest schema version this build knows (the same numbering as SQLite's).
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. Returns `true` when
    /// `holder` holds the lease afterwards: nobody held it, its previous holder's lease had
    /// expired (`expires_at <= now`), or `holder` already held it (a renewal). Returns
    /// `false`, changing nothing, while another holder's lease runs.
    ///
    /// One statement (`INSERT … ON CONFLICT DO UPDATE … WHERE`), so among instances racing
    /// for a free lease exactly one wins. `now` is the caller's clock, like every instant the
    /// store takes; instances sharing a lease must share a clock (real time in production).
    /// A holder must renew well before `ttl` runs out and stop the guarded work when a renewal
    /// returns `false`.
    ///
    /// Errors: [`StoreError::Backend`] when `ttl` is not positive or a statement fails.
    async fn lease(
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
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
             WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $4
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

    /// Gives up the lease `name` if `holder` holds it, so another instance can take it at
    /// once. Returns `false` when `holder` did not hold it (nothing changes).
    /// Errors: [`StoreError::Backend`].
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<bool> {
        let res = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }
}

fn campaign_from_row(r: &PgRow) -> StoreResult<Campaign> {
    let settings: String = get(r, "settings")?;
    let settings: CampaignSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("campaign settings: {e}")))?;
    Ok(Campaign {
        id: CampaignId(get(r, "id")?),
        name: get(r, "name")?,
        settings,
        active: get(r, "active")?,
        created_at: get(r, "created_at")?,
    })
}

fn phone_col(r: &PgRow) -> StoreResult<E164> {
    let p: String = get(r, "phone")?;
    E164::from_stored(&p).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn disposition_named(r: &PgRow, col: &str) -> StoreResult<Option<Disposition>> {
    let d: Option<String> = get(r, col)?;
    Ok(d.and_then(|d| Disposition::normalise(&d)))
}

fn lead_from_row(r: &PgRow) -> StoreResult<Lead> {
    let contact: String = get(r, "contact")?;
    let contact: LeadContact = serde_json::from_str(&contact)
        .map_err(|e| StoreError::Corrupt(format!("lead contact: {e}")))?;
    let status: String = get(r, "status")?;
    Ok(Lead {
        id: LeadId(get(r, "id")?),
        campaign_id: CampaignId(get(r, "campaign_id")?),
        phone: phone_col(r)?,
        contact,
        status: LeadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("lead status '{status}'")))?,
        next_attempt_at: get(r, "next_attempt_at")?,
        status_reason: get(r, "status_reason")?,
        disposition: disposition_named(r, "disposition")?,
        attempt_count: small(get(r, "attempt_count")?, "lead attempt count")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

fn attempt_from_row(r: &PgRow) -> StoreResult<Attempt> {
    let state: String = get(r, "state")?;
    let call_status: Option<String> = get(r, "call_status")?;
    let answered_by: Option<String> = get(r, "answered_by")?;
    let call_id: Option<String> = get(r, "call_id")?;
    Ok(Attempt {
        id: AttemptId(get(r, "id")?),
        lead_id: LeadId(get(r, "lead_id")?),
        campaign_id: CampaignId(get(r, "campaign_id")?),
        phone: phone_col(r)?,
        number: small(get(r, "number")?, "attempt number")?,
        state: AttemptState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt state '{state}'")))?,
        call_id: call_id.as_deref().and_then(ProviderCallId::parse),
        call_status: call_status.as_deref().and_then(CallStatus::parse),
        last_sequence: opt_small(get(r, "last_sequence")?, "attempt sequence number")?,
        reserved_at: get(r, "reserved_at")?,
        placed_at: get(r, "placed_at")?,
        answered_at: get(r, "answered_at")?,
        ended_at: get(r, "ended_at")?,
        duration_s: opt_small(get(r, "duration_s")?, "attempt duration")?,
        answered_by: answered_by.as_deref().and_then(AnsweredBy::parse),
        sip_response_code: opt_small(get(r, "sip_response_code")?, "SIP response code")?,
        disposition: disposition_named(r, "disposition")?,
        error_code: get(r, "error_code")?,
        error_message: get(r, "error_message")?,
        concluded_at: get(r, "concluded_at")?,
        reconciled_at: get(r, "reconciled_at")?,
        requested_disposition: disposition_named(r, "requested_disposition")?,
        callback_at: get(r, "callback_at")?,
    })
}

fn event_from_row(r: &PgRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: get(r, "id")?,
        at: get(r, "at")?,
        lead_id: get::<Option<i64>>(r, "lead_id")?.map(LeadId),
        attempt_id: get::<Option<i64>>(r, "attempt_id")?.map(AttemptId),
        kind: get(r, "kind")?,
        source: get(r, "source")?,
        detail: get(r, "detail")?,
    })
}

fn dnc_from_row(r: &PgRow) -> StoreResult<DncEntry> {
    let scope: String = get(r, "scope")?;
    Ok(DncEntry {
        phone: phone_col(r)?,
        scope: DncScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("dnc scope '{scope}'")))?,
        source: get(r, "source")?,
        reason: get(r, "reason")?,
        added_at: get(r, "added_at")?,
    })
}

/// Event source of the job outbox's own events (`job.dead`).
const JOBS_SOURCE: &str = "jobs";

/// Event source of `alert.raised`.
const ALERTS_SOURCE: &str = "alerts";

fn kill_switch_from_row(r: &PgRow) -> StoreResult<KillSwitch> {
    let scope: String = get(r, "scope")?;
    Ok(KillSwitch {
        scope: KillScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("kill switch scope '{scope}'")))?,
        tripped: get(r, "tripped")?,
        reason: get(r, "reason")?,
        source: get(r, "source")?,
        changed_at: get(r, "changed_at")?,
    })
}

fn job_from_row(r: &PgRow) -> StoreResult<Job> {
    let state: String = get(r, "state")?;
    Ok(Job {
        id: JobId(get(r, "id")?),
        kind: get(r, "kind")?,
        payload: get(r, "payload")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state '{state}'")))?,
        attempts: small(get(r, "attempts")?, "job attempts")?,
        run_at: get(r, "run_at")?,
        locked_until: get(r, "locked_until")?,
        error_code: get(r, "error_code")?,
        error_message: get(r, "error_message")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

fn alert_from_row(r: &PgRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: AlertId(get(r, "id")?),
        kind: get(r, "kind")?,
        scope: get(r, "scope")?,
        subject: get(r, "subject")?,
        body: get(r, "body")?,
        raised_at: get(r, "raised_at")?,
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
/// exists (nothing written); a concurrent enqueue of the same key waits for the other
/// transaction and then skips.
async fn insert_job(
    conn: &mut PgConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES ($1, $2, 'pending', 0, $3, $4, $4, $5)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(ts(job.run_at))
    .bind(ts(now))
    .bind(job.dedupe_key.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(id.map(JobId))
}

/// A job by id; with `lock`, the row is locked (`FOR UPDATE`) until the transaction ends.
async fn fetch_job(conn: &mut PgConnection, id: JobId, lock: bool) -> StoreResult<Option<Job>> {
    let sql = if lock {
        "SELECT * FROM jobs WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM jobs WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

/// The lead columns a decision writes: status, next attempt time, reason.
fn decision_columns(
    decision: &LeadDecision,
) -> (&'static str, Option<DateTime<Utc>>, Option<&str>) {
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
    conn: &mut PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
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

/// An attempt by id; with `lock`, the row is locked (`FOR UPDATE`) until the transaction
/// ends, so a guarded update that follows cannot lose a race.
async fn fetch_attempt(
    conn: &mut PgConnection,
    id: AttemptId,
    lock: bool,
) -> StoreResult<Option<Attempt>> {
    let sql = if lock {
        "SELECT * FROM attempts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM attempts WHERE id = $1"
    };
    sqlx::query(sql)
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
    pool: &PgPool,
    id: AttemptId,
    from: &[AttemptState],
    to: AttemptState,
    code: Option<&str>,
    message: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let Some(att) = fetch_attempt(&mut tx, id, true).await? else {
        return Ok(false);
    };
    if !from.contains(&att.state) {
        return Ok(false);
    }
    let ended = to.is_final().then(|| ts(now));
    let res = sqlx::query(
        "UPDATE attempts SET state = $1, error_code = COALESCE($2, error_code),
                error_message = COALESCE($3, error_message),
                ended_at = COALESCE(ended_at, $4), updated_at = $5
         WHERE id = $6 AND state = $7",
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
    tx.commit().await.map_err(backend)?;
    Ok(true)
}

impl PgStore {
    /// Reserves an attempt for a due lead, optionally under a fleet-wide in-flight cap: with
    /// a cap, reservations take a transaction-level advisory lock so that the count and the
    /// insert are atomic across instances.
    async fn reserve(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: Option<u32>,
    ) -> StoreResult<Option<Attempt>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some(max) = max_in_flight {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(RESERVE_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
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

        // Another instance reserving this lead holds its row: skip it rather than wait (its
        // reservation makes the lead `dialing`, so waiting would end in `None` anyway).
        let Some(row) = sqlx::query(
            "SELECT * FROM leads WHERE id = $1 AND status = 'active' AND next_attempt_at <= $2
             FOR UPDATE SKIP LOCKED",
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
        // No conflict target: covers the partial unique index on in-flight attempts.
        let Some(attempt_id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, reserved_at, updated_at)
             VALUES ($1, $2, $3, $4, 'reserved', $5, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(lead.id.0)
        .bind(lead.campaign_id.0)
        .bind(lead.phone.as_str())
        .bind(i64::from(lead.attempt_count) + 1)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            // The number has an attempt in flight (possibly in another campaign).
            return Ok(None);
        };
        let attempt_id = AttemptId(attempt_id);
        sqlx::query(
            "UPDATE leads SET status = 'dialing', next_attempt_at = NULL, attempt_count = attempt_count + 1,
                    updated_at = $1 WHERE id = $2 AND status = 'active'",
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
        let attempt = fetch_attempt(&mut tx, attempt_id, false).await?;
        tx.commit().await.map_err(backend)?;
        Ok(attempt)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let key = scope.as_key();
        // Tripping creates the row of a scope never set; resuming a scope never set changes
        // nothing (it is not tripped). Either way only a change of position writes; each
        // statement is atomic, so of two instances flipping a switch together one changes it.
        let changed = if tripped {
            sqlx::query_scalar::<_, String>(
                "INSERT INTO kill_switches (scope, tripped, reason, source, changed_at)
                 VALUES ($1, true, $2, $3, $4)
                 ON CONFLICT (scope) DO UPDATE SET tripped = true, reason = EXCLUDED.reason,
                        source = EXCLUDED.source, changed_at = EXCLUDED.changed_at
                 WHERE NOT kill_switches.tripped
                 RETURNING scope",
            )
        } else {
            sqlx::query_scalar::<_, String>(
                "UPDATE kill_switches SET tripped = false, reason = $2, source = $3, changed_at = $4
                 WHERE scope = $1 AND tripped
                 RETURNING scope",
            )
        }
        .bind(&key)
        .bind(reason)
        .bind(source)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if changed.is_none() {
            return Ok(false);
        }
        let kind = if tripped {
            "kill_switch.tripped"
        } else {
            "kill_switch.resumed"
        };
        let detail = serde_json::json!({"scope": key, "reason": reason}).to_string();
        insert_event(&mut tx, now, None, None, kind, source, None, &detail).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>> {
        sqlx::query("SELECT * FROM kill_switches ORDER BY scope COLLATE \"C\"")
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
        // The candidates are locked with SKIP LOCKED, so workers of every instance claiming
        // together take disjoint jobs instead of waiting for each other; a row another
        // claim changed first is re-checked against the WHERE clause when it is locked. The
        // CTE is evaluated once, so LIMIT bounds the claim. A running job was claimed at or
        // after its run_at, so an expired claim also has run_at <= now; the bound lets the
        // partial index jobs_claimable serve both kinds.
        let mut jobs = sqlx::query(
            "WITH due AS MATERIALIZED (
                 SELECT id FROM jobs
                 WHERE state IN ('pending', 'running') AND run_at <= $3
                   AND (state = 'pending' OR locked_until < $3)
                 ORDER BY run_at, id LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1,
                    locked_by = $2, updated_at = $3
             WHERE id IN (SELECT id FROM due)
             RETURNING *",
        )
        .bind(ts(until))
        .bind(worker)
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
            "UPDATE jobs SET state = 'done', locked_until = NULL, locked_by = NULL, updated_at = $1
             WHERE id = $2 AND state = 'running'",
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
            "UPDATE jobs SET state = 'pending', run_at = $1, locked_until = NULL, locked_by = NULL,
                    error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $5 AND state = 'running'",
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(job) = fetch_job(&mut tx, id, true).await? else {
            return Ok(false);
        };
        if !matches!(job.state, JobState::Pending | JobState::Running) {
            return Ok(false);
        }
        let res = sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_until = NULL, locked_by = NULL,
                    error_code = $1, error_message = $2, updated_at = $3
             WHERE id = $4 AND state = $5",
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = $1, attempts = 0, updated_at = $1
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_job(&mut conn, id, false).await
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>> {
        // The state is written into the statement (one of four fixed words), so that every
        // plan, generic ones included, can use the partial index jobs_dead for dead letters.
        let filter = state
            .map(|s| format!("WHERE state = '{}'", s.as_str()))
            .unwrap_or_default();
        sqlx::query(&format!(
            "SELECT * FROM jobs {filter} ORDER BY id DESC LIMIT $1"
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
        rows.into_iter()
            .map(|(k, v)| Ok((k, small(v, "job count")?)))
            .collect()
    }

    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO alerts (kind, scope, subject, body, dedupe_key, raised_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
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
        tx.commit().await.map_err(backend)?;
        Ok(Some(AlertId(id)))
    }

    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(alert_from_row)
            .transpose()
    }

    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts ORDER BY id DESC LIMIT $1")
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
                sqlx::query(
                    "SELECT * FROM attempts WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(c.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM attempts ORDER BY id DESC LIMIT $1")
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
        sqlx::query_scalar("SELECT at FROM events WHERE source = $1 ORDER BY at DESC LIMIT 1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO campaigns (name, settings, active, created_at, updated_at)
             VALUES ($1, $2, true, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING *",
        )
        .bind(name)
        .bind(json)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::Conflict(format!("campaign '{name}' exists")))?;
        campaign_from_row(&row)
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
        let row = sqlx::query(
            "UPDATE campaigns SET settings = $1, active = $2, updated_at = $3 WHERE id = $4
             RETURNING *",
        )
        .bind(json)
        .bind(active)
        .bind(ts(now))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
        campaign_from_row(&row)
    }

    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
        campaign_from_row(&row)
    }

    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>> {
        sqlx::query("SELECT * FROM campaigns WHERE name = $1")
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
        if leads.is_empty() {
            return Ok(InsertReport::default());
        }
        let n = leads.len();
        let mut phones = Vec::with_capacity(n);
        let mut contacts = Vec::with_capacity(n);
        let mut statuses = Vec::with_capacity(n);
        let mut nexts: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(n);
        for (lead, placement) in leads {
            phones.push(lead.phone.as_str().to_owned());
            contacts.push(
                serde_json::to_string(&lead.contact)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            match placement {
                LeadPlacement::Active(at) => {
                    statuses.push("active".to_owned());
                    nexts.push(Some(ts(*at)));
                    reasons.push(None);
                }
                LeadPlacement::Paused(reason) => {
                    statuses.push("paused".to_owned());
                    nexts.push(None);
                    reasons.push(Some(reason.clone()));
                }
            }
        }
        // One statement for the whole batch: the rows in input order, a number the campaign
        // already has (or an earlier row of the batch has) skipped, and a `lead.created`
        // event per inserted lead. Data-modifying CTEs run exactly once, read or not.
        let inserted: i64 = sqlx::query_scalar(
            "WITH input AS (
                 SELECT * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
                     WITH ORDINALITY AS i (phone, contact, status, next_attempt_at, status_reason, ord)
             ), ins AS (
                 INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, status_reason,
                                    created_at, updated_at)
                 SELECT $1, phone, contact, status, next_attempt_at, status_reason, $7, $7
                 FROM input ORDER BY ord
                 ON CONFLICT (campaign_id, phone) DO NOTHING
                 RETURNING id, status
             ), ev AS (
                 INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
                 SELECT $7, id, NULL, 'lead.created', 'import', NULL, status FROM ins ORDER BY id
             )
             SELECT COUNT(*) FROM ins",
        )
        .bind(campaign_id.0)
        .bind(phones)
        .bind(contacts)
        .bind(statuses)
        .bind(nexts)
        .bind(reasons)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let inserted = inserted as u64;
        Ok(InsertReport {
            inserted,
            duplicates: n as u64 - inserted,
        })
    }

    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(lead_from_row)
            .transpose()
    }

    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id > $1 ORDER BY id LIMIT $2")
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
        sqlx::query("SELECT * FROM leads WHERE phone = $1 ORDER BY id")
            .bind(phone.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }

    async fn due_leads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lead>> {
        // A plain read: instances may list the same leads; `reserve_attempt` locks each lead
        // with SKIP LOCKED and is guarded, so each is reserved once. (The shape is the one a
        // `FOR UPDATE OF l SKIP LOCKED` claim would take.)
        sqlx::query(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= $1 AND c.active
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id::text AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT $2",
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(
            "UPDATE leads SET next_attempt_at = $1, status_reason = $2, updated_at = $3
             WHERE id = $4 AND status = 'active'",
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
        let detail =
            serde_json::json!({"next_attempt_at": ts_text(at), "reason": reason}).to_string();
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(
            "UPDATE leads SET status = 'paused', next_attempt_at = NULL, status_reason = $1, updated_at = $2
             WHERE id = $3 AND status = 'active'",
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>> {
        sqlx::query_scalar(
            "SELECT reserved_at FROM attempts
             WHERE lead_id = $1 AND state NOT IN ('rejected', 'not-placed')
             ORDER BY reserved_at",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        // Served by the index attempts_phone_reserved (phone, reserved_at).
        sqlx::query_scalar(
            "SELECT reserved_at FROM attempts
             WHERE phone = $1 AND reserved_at >= $2 AND state NOT IN ('rejected', 'not-placed')
             ORDER BY reserved_at",
        )
        .bind(phone.as_str())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
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
        let micros = interval.num_microseconds().unwrap_or(i64::MAX);
        let slot: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO pacers (name, next_slot) VALUES ($1, $2 + $3 * interval '1 microsecond')
             ON CONFLICT (name) DO UPDATE
                SET next_slot = GREATEST(pacers.next_slot, $2) + $3 * interval '1 microsecond'
             RETURNING next_slot - $3 * interval '1 microsecond'",
        )
        .bind(name)
        .bind(ts(now))
        .bind(micros as f64)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(slot)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.lease(name, holder, ttl, now).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn attempt(&self, id: AttemptId) -> StoreResult<Option<Attempt>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_attempt(&mut conn, id, false).await
    }

    async fn lead_attempts(&self, lead_id: LeadId) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE lead_id = $1 ORDER BY id")
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(att) = fetch_attempt(&mut tx, id, true).await? else {
            return Ok(false);
        };
        // Store the call id whatever the state, if it is missing: a webhook may have moved
        // the attempt on first, and the id must never be lost.
        sqlx::query(
            "UPDATE attempts SET call_id = $1, placed_at = COALESCE(placed_at, $2)
             WHERE id = $3 AND call_id IS NULL",
        )
        .bind(placement.call_id.as_str())
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let moved = matches!(att.state, AttemptState::Reserved | AttemptState::Unknown);
        if moved {
            sqlx::query(
                "UPDATE attempts SET state = 'placed', call_status = $1, updated_at = $2
                 WHERE id = $3 AND state = $4",
            )
            .bind(placement.status.as_str())
            .bind(ts(now))
            .bind(id.0)
            .bind(att.state.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            let detail = serde_json::json!({
                "from": att.state.as_str(), "call_id": placement.call_id.as_str(),
            })
            .to_string();
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
        tx.commit().await.map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The attempt row is locked for the rest of the transaction: concurrent events of one
        // call apply one after the other, each to the state the previous one left.
        let by_call = sqlx::query("SELECT * FROM attempts WHERE call_id = $1 FOR UPDATE")
            .bind(event.call_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let found = match by_call {
            Some(r) => Some(attempt_from_row(&r)?),
            None => match attempt_hint {
                // Equal: a concurrent event of the same call stored the id after our lookup.
                Some(h) => fetch_attempt(&mut tx, h, true)
                    .await?
                    .filter(|a| a.call_id.as_ref().is_none_or(|c| *c == event.call_id)),
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
            tx.commit().await.map_err(backend)?;
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
            tx.commit().await.map_err(backend)?;
            return Ok(EventOutcome::Late { attempt_id: att.id });
        }
        let seq = event.sequence.map(i64::from);
        let Some(next) = att.state.advance(event.status) else {
            // GREATEST ignores NULLs: the highest sequence seen, or NULL while none was.
            sqlx::query(
                "UPDATE attempts SET last_sequence = GREATEST(last_sequence, $1),
                        answered_by = COALESCE(answered_by, $2), updated_at = $3 WHERE id = $4",
            )
            .bind(seq)
            .bind(event.answered_by.map(|a| a.as_str()))
            .bind(ts(now))
            .bind(att.id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            return Ok(EventOutcome::Stale { attempt_id: att.id });
        };
        let times = EventTimes::of(event, att.reserved_at, now);
        let at = ts(times.at);
        let answered = times.answered_at.map(ts);
        let ended = next.is_final().then_some(at);
        let res = sqlx::query(
            "UPDATE attempts SET state = $1, call_id = COALESCE(call_id, $2), call_status = $3,
                    last_sequence = GREATEST(last_sequence, $4),
                    placed_at = COALESCE(placed_at, $5), answered_at = COALESCE(answered_at, $6),
                    ended_at = COALESCE(ended_at, $7), duration_s = COALESCE($8, duration_s),
                    answered_by = COALESCE($9, answered_by),
                    sip_response_code = COALESCE($10, sip_response_code),
                    updated_at = $11
             WHERE id = $12 AND state = $13",
        )
        .bind(next.as_str())
        .bind(event.call_id.as_str())
        .bind(event.status.as_str())
        .bind(seq)
        .bind(at)
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
        let updated = fetch_attempt(&mut tx, att.id, false)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("attempt {}", att.id)))?;
        tx.commit().await.map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(lead_id) = sqlx::query_scalar::<_, i64>(
            "UPDATE attempts SET requested_disposition = $1, callback_at = $2, updated_at = $3
             WHERE id = $4 AND concluded_at IS NULL RETURNING lead_id",
        )
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(false);
        };
        let detail = serde_json::json!({
            "disposition": disposition.as_str(), "callback_at": callback_at.map(ts_text),
        })
        .to_string();
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
        tx.commit().await.map_err(backend)?;
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(att) = fetch_attempt(&mut tx, id, true).await? else {
            return Ok(false);
        };
        if att.concluded_at.is_none() {
            return Ok(false);
        }
        // Lock the lead: a reservation of a newer attempt waits for (or skips) this one.
        let lead_status: Option<String> =
            sqlx::query_scalar("SELECT status FROM leads WHERE id = $1 FOR UPDATE")
                .bind(att.lead_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if lead_status.as_deref().is_none_or(|s| s == "dialing") {
            return Ok(false);
        }
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM attempts WHERE lead_id = $1")
                .bind(att.lead_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
        if latest != Some(id.0) {
            return Ok(false);
        }
        let (status, next, reason) = decision_columns(decision);
        let res = sqlx::query(
            "UPDATE leads SET status = $1, next_attempt_at = $2, status_reason = $3, disposition = $4,
                    updated_at = $5
             WHERE id = $6 AND status <> 'dialing'",
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
            "UPDATE attempts SET disposition = $1, requested_disposition = $1, callback_at = $2,
                    updated_at = $3
             WHERE id = $4",
        )
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({
            "from": att.disposition.as_ref().map(|d| d.as_str()), "to": disposition.as_str(),
            "callback_at": callback_at.map(ts_text), "decision": decision,
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM attempts
             WHERE concluded_at IS NULL AND state IN ('ended', 'rejected', 'not-placed')
             ORDER BY id LIMIT $1",
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(lead_id) = sqlx::query_scalar::<_, i64>(
            "UPDATE attempts SET disposition = $1, concluded_at = $2, updated_at = $2
             WHERE id = $3 AND concluded_at IS NULL AND state IN ('ended', 'rejected', 'not-placed')
             RETURNING lead_id",
        )
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(false);
        };
        let (status, next, reason) = decision_columns(decision);
        sqlx::query(
            "UPDATE leads SET status = $1, next_attempt_at = $2, status_reason = $3, disposition = $4,
                    updated_at = $5
             WHERE id = $6 AND status = 'dialing'",
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn attempts_to_reconcile(
        &self,
        reserved_before: DateTime<Utc>,
        reconciled_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        sqlx::query(&format!(
            "SELECT * FROM attempts WHERE state IN {IN_FLIGHT} AND reserved_at < $1
               AND (reconciled_at IS NULL OR reconciled_at < $2)
             ORDER BY reserved_at, id LIMIT $3"
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
        sqlx::query("UPDATE attempts SET reconciled_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE id > $1 ORDER BY id LIMIT $2")
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
        // Rows go in key order, so two batches racing over the same numbers take their
        // index locks in the same order and cannot deadlock. The sort is stable: of two
        // entries with one key in a batch, the earlier one is stored.
        let mut sorted: Vec<(String, &DncEntry)> =
            entries.iter().map(|e| (e.scope.as_key(), e)).collect();
        sorted.sort_by(|a, b| (&a.0, a.1.phone.as_str()).cmp(&(&b.0, b.1.phone.as_str())));
        let mut scopes_col = Vec::with_capacity(sorted.len());
        let mut phones = Vec::with_capacity(sorted.len());
        let mut sources = Vec::with_capacity(sorted.len());
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(sorted.len());
        let mut added_at = Vec::with_capacity(sorted.len());
        for (scope, e) in sorted {
            scopes_col.push(scope);
            phones.push(e.phone.as_str().to_owned());
            sources.push(e.source.clone());
            reasons.push(e.reason.clone());
            added_at.push(ts(e.added_at));
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let added = sqlx::query(
            "INSERT INTO dnc (scope, phone, source, reason, added_at)
             SELECT scope, phone, source, reason, added_at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                 WITH ORDINALITY AS i (scope, phone, source, reason, added_at, ord)
             ORDER BY ord
             ON CONFLICT (scope, phone) DO NOTHING",
        )
        .bind(scopes_col)
        .bind(phones)
        .bind(sources)
        .bind(reasons)
        .bind(added_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if added > 0 {
            let detail = if let [e] = entries {
                serde_json::json!({
                    "phone": e.phone.as_str(), "scope": e.scope.as_key(), "source": e.source,
                    "reason": e.reason, "added_at": ts_text(e.added_at),
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
        tx.commit().await.map_err(backend)?;
        Ok(added)
    }

    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(row) = sqlx::query(
            "DELETE FROM dnc WHERE scope = $1 AND phone = $2
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
            "added_at": ts_text(removed.added_at),
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
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>> {
        // Up to three primary-key probes; a NULL third key matches nothing. Byte order
        // (COLLATE "C") whatever the database's collation, as in SQLite.
        sqlx::query(
            "SELECT scope, phone, source, reason, added_at FROM dnc
             WHERE phone = $1 AND scope IN ('internal', 'national', $2)
             ORDER BY scope COLLATE \"C\"",
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
            "SELECT * FROM events WHERE lead_id = $1
                OR attempt_id IN (SELECT id FROM attempts WHERE lead_id = $1)
             ORDER BY id",
        )
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
        // One snapshot for every count, so they agree with each other.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut c = StatusCounts::default();
        let grouped = |sql: &'static str| sqlx::query_as::<_, (Option<String>, i64)>(sql);
        for (k, v) in grouped("SELECT status, COUNT(*) FROM leads GROUP BY status")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
        {
            c.leads_by_status.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped("SELECT state, COUNT(*) FROM attempts GROUP BY state")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
        {
            c.attempts_by_state.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT disposition, COUNT(*) FROM attempts WHERE disposition IS NOT NULL
             GROUP BY disposition",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        {
            c.attempts_by_disposition
                .insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT call_status, COUNT(*) FROM attempts WHERE state = 'ended' GROUP BY call_status",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        {
            c.attempts_by_call_status
                .insert(k.unwrap_or_default(), v as u64);
        }
        c.leads_due = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= $1 AND c.active",
        )
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)? as u64;
        c.attempts_in_flight = sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)? as u64;
        c.attempts_since =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE reserved_at >= $1")
                .bind(ts(since))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)? as u64;
        tx.commit().await.map_err(backend)?;
        Ok(c)
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"key": key, "value": value}).to_string();
        insert_event(&mut tx, now, None, None, "setting", source, None, &detail).await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }
}
