//! Write transactions and error classification: how the SQLite store keeps "a failed write is
//! never reported as success" and "a transaction that may write begins as a writer".
//!
//! - [`WriteTx`] is the one way the store opens a transaction. It begins with
//!   `BEGIN IMMEDIATE`, so the write lock is taken (waiting up to the busy timeout) before the
//!   first read: a deferred transaction that reads and then writes fails at once with
//!   `SQLITE_BUSY` when another connection (an import in another process) committed in
//!   between, and the busy timeout does not retry that.
//! - When `COMMIT` fails (a full disk, an I/O error), SQLite may already have rolled the
//!   transaction back by itself, while sqlx still counts it as open; the next `begin` would
//!   then become a `SAVEPOINT` inside a transaction that never ends, whose writes are read
//!   back on that connection but never committed, and whose lock keeps everyone else out.
//!   [`WriteTx::commit`] therefore discards the connection on any failed commit, and
//!   [`reusable`] (the pool's `before_acquire` check) discards any connection that is still
//!   inside a transaction when it is handed out, whatever the path that left it there.
//! - [`backend`] maps storage failures (`SQLITE_FULL`, `SQLITE_IOERR*`, `SQLITE_READONLY`,
//!   `SQLITE_CANTOPEN`, …) to [`StoreError::Unavailable`].

use outdial_store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Sqlite, SqliteConnection, SqlitePool, TransactionManager};
use std::ops::{Deref, DerefMut};

type Manager = <Sqlite as Database>::TransactionManager;

/// Primary SQLite result codes that mean the storage cannot take writes (or cannot be read
/// reliably): `SQLITE_PERM` (3), `SQLITE_READONLY` (8), `SQLITE_IOERR` (10), `SQLITE_CORRUPT`
/// (11), `SQLITE_FULL` (13), `SQLITE_CANTOPEN` (14), `SQLITE_NOTADB` (26).
/// Source: <https://www.sqlite.org/rescode.html>.
const UNAVAILABLE_CODES: [i32; 7] = [3, 8, 10, 11, 13, 14, 26];

/// Whether a driver error means the storage is unavailable (see [`UNAVAILABLE_CODES`]; also
/// an I/O error of the driver, a crashed connection worker, a pool that timed out or closed).
pub(crate) fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            // Extended result codes carry the primary code in their low byte.
            .is_some_and(|c| UNAVAILABLE_CODES.contains(&(c & 0xff))),
        sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        _ => false,
    }
}

/// Primary SQLite result codes of contention: `SQLITE_BUSY` (5, the lock was not free within
/// the busy timeout), `SQLITE_LOCKED` (6), and of a refused constraint, `SQLITE_CONSTRAINT`
/// (19). Source: <https://www.sqlite.org/rescode.html>.
const CONFLICT_CODES: [i32; 3] = [5, 6, 19];

/// Maps a driver error; in every case nothing of the operation was committed:
/// - storage failures ([`is_unavailable`]) → [`StoreError::Unavailable`] (the engine stops
///   new calls on these);
/// - contention and constraint refusals ([`CONFLICT_CODES`]) → [`StoreError::Conflict`];
/// - anything else — undecodable values, and SQL errors outdial's own statements should never
///   cause (`SQLITE_ERROR`, a missing column or table) → [`StoreError::Corrupt`]: the
///   database is not what this build expects. It fails the one operation, as `Backend` did
///   before issue 10, and does not stop dialing.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    if is_unavailable(&e) {
        return StoreError::unavailable(e);
    }
    let code = match &e {
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    if code.is_some_and(|c| CONFLICT_CODES.contains(&(c & 0xff))) {
        return StoreError::Conflict(e.to_string());
    }
    StoreError::Corrupt(e.to_string())
}

/// The pool's `before_acquire` check: a connection still inside a transaction (by sqlx's
/// count) is not handed out again; the pool closes it — SQLite rolls back whatever it held
/// and releases its locks — and opens a fresh one. A connection returned normally has had its
/// rollback flushed by then (the pool pings it on release).
pub(crate) fn reusable(conn: &SqliteConnection) -> bool {
    if conn.is_in_transaction() {
        tracing::warn!("discarding a SQLite connection left inside a transaction");
        false
    } else {
        true
    }
}

/// A write transaction on a connection of the pool, begun with `BEGIN IMMEDIATE`.
///
/// Dereferences to the connection, so statements run with `.execute(&mut *tx)`. Dropped
/// without [`WriteTx::commit`], it rolls back. A failed commit closes the connection instead
/// of returning it to the pool.
pub(crate) struct WriteTx {
    conn: PoolConnection<Sqlite>,
    open: bool,
}

impl WriteTx {
    /// Takes a connection and begins a write transaction on it, waiting up to the busy
    /// timeout for the write lock.
    ///
    /// Errors: [`StoreError::Conflict`] (`database is locked` when the lock is not free within
    /// the busy timeout), [`StoreError::Unavailable`] when the storage fails.
    pub(crate) async fn begin(pool: &SqlitePool) -> StoreResult<WriteTx> {
        let mut conn = pool.acquire().await.map_err(backend)?;
        if let Err(e) = Manager::begin(&mut conn, Some("BEGIN IMMEDIATE".into())).await {
            if is_unavailable(&e) {
                conn.close_on_drop();
            }
            return Err(backend(e));
        }
        Ok(WriteTx { conn, open: true })
    }

    /// Commits. Errors: [`StoreError::Unavailable`] on a storage failure,
    /// [`StoreError::Conflict`] when the lock was not obtained; in either case nothing was committed (as far as
    /// SQLite reports) and the connection is discarded, so that no later transaction runs on
    /// a connection whose transaction state is in doubt.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        match Manager::commit(&mut self.conn).await {
            Ok(()) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "SQLite commit failed; discarding the connection");
                self.conn.close_on_drop();
                Err(backend(e))
            }
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection, ahead of the pool's release ping (or of the close).
            Manager::start_rollback(&mut self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SQL error outdial's statements should never cause is `Corrupt` (it fails the one
    /// operation, as `Backend` did), never `Unavailable` (which stops all dialing); a
    /// constraint refusal is `Conflict`.
    #[tokio::test]
    async fn unexpected_sql_errors_do_not_read_as_a_storage_failure() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let err = sqlx::query("SELECT no_such_column FROM sqlite_master")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(!is_unavailable(&err));
        let mapped = backend(err);
        assert!(matches!(mapped, StoreError::Corrupt(_)), "{mapped:?}");

        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&pool)
            .await
            .unwrap();
        let dup = sqlx::query("INSERT INTO t (id) VALUES (1)")
            .execute(&pool)
            .await
            .unwrap_err();
        let mapped = backend(dup);
        assert!(matches!(mapped, StoreError::Conflict(_)), "{mapped:?}");
    }
}
