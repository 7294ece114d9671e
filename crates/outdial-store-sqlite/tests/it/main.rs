//! SQLite backend tests: the shared conformance suite, plus file-level behaviour.

mod concurrent_writers;
mod foreign;
mod full_disk;
mod group_commit;

use outdial_store::prelude::*;
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::sync::Arc;

/// The conformance suite on an in-memory database, one test per case.
mod conformance_in_memory {
    use super::*;

    async fn fresh() -> Option<(Arc<dyn Store>, ())> {
        Some((Arc::new(SqliteStore::in_memory().await.unwrap()), ()))
    }

    outdial_store::conformance_tests!(fresh);
}

/// The conformance suite on a WAL database file (in a temporary directory kept for the
/// case), one test per case.
mod conformance_on_a_wal_file {
    use super::*;

    async fn fresh() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.db");
        let store = SqliteStore::open(&path, OpenMode::CreateIfMissing)
            .await
            .unwrap();
        Some((Arc::new(store), dir))
    }

    outdial_store::conformance_tests!(fresh);
}

#[tokio::test]
async fn refuses_a_missing_file_when_it_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let err = SqliteStore::open(&path, OpenMode::MustExist)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!path.exists(), "a missing database file was created");
}

#[tokio::test]
async fn migrations_are_idempotent_and_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let s = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    s.close().await;
    let s = SqliteStore::open(&path, OpenMode::MustExist).await.unwrap();
    s.close().await;
    // Pretend a newer outdial applied migration 9999.
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'future', CURRENT_TIMESTAMP, 1, x'00', 0)")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let err = SqliteStore::open(&path, OpenMode::MustExist)
        .await
        .unwrap_err();
    assert!(
        matches!(err, outdial_store::StoreError::SchemaTooNew(_)),
        "{err}"
    );
}

#[tokio::test]
async fn events_are_append_only() {
    let s = SqliteStore::in_memory().await.unwrap();
    s.record_event(None, None, "x", "test", "{}", chrono::Utc::now())
        .await
        .unwrap();
    // The trait has no way to change an event; the database refuses it too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");
    let f = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    f.record_event(None, None, "x", "test", "{}", chrono::Utc::now())
        .await
        .unwrap();
    f.close().await;
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let upd = sqlx::query("UPDATE events SET detail = 'tampered'")
        .execute(&mut c)
        .await;
    assert!(upd.is_err(), "an event was updated");
    let del = sqlx::query("DELETE FROM events").execute(&mut c).await;
    assert!(del.is_err(), "an event was deleted");
}
