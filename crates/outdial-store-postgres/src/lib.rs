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
//! Errors: a unique-constraint violation or contention (serialization failure, deadlock, lock
//! not available) maps to [`StoreError::Conflict`], a value that cannot be decoded to
//! [`StoreError::Corrupt`], a lost connection, a server that cannot write and anything else
//! the database or the driver reports to [`StoreError::Unavailable`] (nothing was committed).

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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Duration;

mod account_limits;
mod attempts;
mod backfill;
mod campaigns;
mod coordination;
mod dnc;
mod events;
mod jobs;
mod leads;
mod reports;
mod rows;
mod safety;

use account_limits::{account_usage_in, windows_of};
use rows::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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

/// SQLSTATE codes of contention: `40001` (serialization failure), `40P01` (deadlock),
/// `55P03` (lock not available). Source: the appendix named at [`is_unavailable_sqlstate`].
fn is_conflict_sqlstate(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "55P03")
}

/// Maps a driver error; in every case nothing of the operation was committed:
/// - a lost or refused connection, an I/O error, a server that cannot write
///   ([`is_unavailable_sqlstate`], the driver's I/O, TLS and pool errors) →
///   [`StoreError::Unavailable`] (the engine stops new calls on these);
/// - unique violations (SQLSTATE 23505) and contention ([`is_conflict_sqlstate`]) →
///   [`StoreError::Conflict`];
/// - anything else — undecodable values, and SQL errors outdial's own statements should
///   never cause (a check violation, an undefined column) → [`StoreError::Corrupt`]: the
///   database is not what this build expects. It fails the one operation, as `Backend` did
///   before issue 10, and does not stop dialing.
fn backend(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if is_unavailable_sqlstate(&code) {
                StoreError::unavailable(e)
            } else if code == "23505" {
                StoreError::Conflict(db.message().to_owned())
            } else if is_conflict_sqlstate(&code) {
                StoreError::Conflict(e.to_string())
            } else {
                StoreError::Corrupt(e.to_string())
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => StoreError::unavailable(e),
        _ => StoreError::Corrupt(e.to_string()),
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
    /// when the server cannot be reached or cannot write; [`StoreError::InvalidArgument`] when `url`
    /// cannot be parsed or `pool_size` is 0; [`StoreError::Corrupt`] when the applied
    /// migrations differ from this build's.
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
            return Err(StoreError::InvalidArgument(
                "invalid PostgreSQL URL: it must start with postgres:// or postgresql://".into(),
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidArgument(format!("invalid PostgreSQL URL: {e}")))?;
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
            return Err(StoreError::InvalidArgument(
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
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => {
                backend(e).context("migrations failed")
            }
            other @ (sqlx::migrate::MigrateError::VersionMismatch(_)
            | sqlx::migrate::MigrateError::Dirty(_)) => {
                StoreError::Corrupt(format!("migrations failed: {other}"))
            }
            other => StoreError::unavailable(other).context("migrations failed"),
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
    /// Errors: [`StoreError::InvalidArgument`] when `ttl` is not positive,
    /// [`StoreError::Unavailable`] when a statement fails.
    async fn lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if ttl <= chrono::Duration::zero() {
            return Err(StoreError::InvalidArgument(format!(
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
    /// Errors: [`StoreError::Unavailable`].
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
