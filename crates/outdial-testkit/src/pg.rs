//! PostgreSQL test databases. `OUTDIAL_TEST_POSTGRES_URL` names a database the tests connect
//! to as an administrator (for example `postgres://postgres@127.0.0.1:5432/postgres`); each
//! test creates its own database (`{prefix}_{pid}_{nanos}_{n}`) and drops it (`WITH (FORCE)`)
//! when the [`TestDb`] is dropped, even when the test panics. Without the variable,
//! [`admin_url`] applies the [CI rule](crate::ci).

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the PostgreSQL administrator URL of the tests.
pub const POSTGRES_URL_VAR: &str = "OUTDIAL_TEST_POSTGRES_URL";

/// The administrator URL, or `None` when `what` (the test or tests needing it) is to be
/// skipped: then a notice, or a panic under `CI=true` ([`crate::precondition_missing`]).
pub fn admin_url(what: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            crate::precondition_missing(what, &format!("{POSTGRES_URL_VAR} is not set"));
            None
        }
    }
}

/// `admin` (`postgres://user@host:port/db?params`) with its database replaced by `name`,
/// the query parameters kept. Panics when `admin` is not a URL.
pub fn url_with_database(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).expect("a postgres:// URL");
    url.set_path(&format!("/{name}"));
    url.into()
}

/// A database of one test, dropped with the value.
#[derive(Debug)]
pub struct TestDb {
    admin: String,
    name: String,
    url: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn fresh_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs `sql` on `url` on a thread and runtime of its own (callable from `Drop`, from
/// inside a runtime and during a panic).
fn exec_blocking(url: &str, sql: String) -> Result<(), sqlx::Error> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let mut c = sqlx::PgConnection::connect(&url).await?;
            sqlx::query(&sql).execute(&mut c).await?;
            c.close().await
        })
    })
    .join()
    .expect("the SQL thread does not panic")
}

impl TestDb {
    /// Creates a fresh database named `{prefix}_…` on the server of `admin`. Panics when the
    /// server refuses.
    pub async fn create(admin: &str, prefix: &str) -> TestDb {
        let name = fresh_name(prefix);
        let mut c = sqlx::PgConnection::connect(admin)
            .await
            .expect("connect to the admin database");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .expect("create a test database");
        c.close().await.ok();
        TestDb::named(admin, name)
    }

    /// [`TestDb::create`] for a test without a runtime (or inside one that must not block).
    pub fn create_blocking(admin: &str, prefix: &str) -> TestDb {
        let name = fresh_name(prefix);
        exec_blocking(admin, format!("CREATE DATABASE \"{name}\""))
            .expect("create a test database");
        TestDb::named(admin, name)
    }

    fn named(admin: &str, name: String) -> TestDb {
        TestDb {
            admin: admin.to_owned(),
            url: url_with_database(admin, &name),
            name,
        }
    }

    /// The database's URL (the administrator's, with this database).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The administrator URL it was created from.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// This database's URL with `password` in its user info (the test server trusts local
    /// connections, so any password connects).
    pub fn url_with_password(&self, password: &str) -> String {
        let mut u = url::Url::parse(&self.url).expect("a postgres:// URL");
        u.set_password(Some(password)).expect("a URL with a host");
        u.into()
    }

    /// A plain connection to the database. Panics when it cannot connect.
    pub async fn connect(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = exec_blocking(&self.admin, sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_and_the_parameters_kept() {
        assert_eq!(
            url_with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://u@h", "x"), "postgres://u@h/x");
        // The cases of the fleet test, where this was written first.
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            url_with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            url_with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
