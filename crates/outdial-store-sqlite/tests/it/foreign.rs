//! A database outdial did not create (issue 9, item 12): `serve` pointed at an unrelated
//! SQLite file must not add its tables to it, unless told to.

use outdial_store::prelude::*;
use outdial_store::{ForeignDatabase, StoreError};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use sqlx::Connection;
use std::path::Path;

async fn raw(path: &Path) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    sqlx::SqliteConnection::connect_with(&opts).await.unwrap()
}

async fn tables(path: &Path) -> Vec<String> {
    let mut c = raw(path).await;
    let t = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    t
}

#[tokio::test]
async fn an_unrelated_database_is_refused_and_left_untouched_unless_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    {
        let mut c = raw(&path).await;
        sqlx::raw_sql(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO customers (name) VALUES ('Ann');",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    for mode in [OpenMode::MustExist, OpenMode::CreateIfMissing] {
        let err = SqliteStore::open(&path, mode).await.unwrap_err();
        assert!(matches!(err, StoreError::ForeignDatabase(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("customers") && msg.contains("not an outdial database"),
            "{msg}"
        );
    }
    assert_eq!(tables(&path).await, vec!["customers".to_owned()]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the refused file was changed (journal mode, tables)"
    );

    // Asked explicitly, outdial adds its tables and keeps the others.
    let s = SqliteStore::open_with(&path, OpenMode::MustExist, ForeignDatabase::Adopt)
        .await
        .unwrap();
    s.set_setting("k", "v", "test", chrono::Utc::now())
        .await
        .unwrap();
    s.close().await;
    let t = tables(&path).await;
    assert!(
        t.iter().any(|t| t == "customers") && t.iter().any(|t| t == "leads"),
        "{t:?}"
    );
    // From then on it is an outdial database.
    SqliteStore::open(&path, OpenMode::MustExist)
        .await
        .unwrap()
        .close()
        .await;
}

#[tokio::test]
async fn an_empty_file_is_a_new_database_and_a_non_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    SqliteStore::open(&empty, OpenMode::MustExist)
        .await
        .unwrap()
        .close()
        .await;

    let text = dir.path().join("notes.txt");
    let content = "not a database, but a long enough text file to have a header. ".repeat(20);
    std::fs::write(&text, &content).unwrap();
    let err = SqliteStore::open(&text, OpenMode::MustExist)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ForeignDatabase(_)), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), content);
}
