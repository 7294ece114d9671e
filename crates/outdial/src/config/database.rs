//! [`Database`]: the `database` setting (and every command's `--db`), parsed once at load
//! into a SQLite file or a PostgreSQL URL, so that no command treats a URL as a file path.

use super::secret::SecretUrl;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the store lives.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file: a path, or `sqlite://path` (the prefix removed).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`, with a host); it may carry a
    /// password, so it is shown redacted.
    Postgres(SecretUrl),
}

impl Database {
    /// Parses a location: `postgres://…` or `postgresql://…` (a URL the `url` crate reads,
    /// with a host) is PostgreSQL; `sqlite://path` or a location without a scheme is a SQLite
    /// file. Errors (the location shown redacted): another scheme, or a PostgreSQL URL that
    /// does not parse or has no host.
    pub fn parse(location: &str) -> Result<Database, String> {
        let shown = super::redact_location(location);
        let Some((scheme, rest)) = location.split_once("://") else {
            return Ok(Database::Sqlite(PathBuf::from(location)));
        };
        match scheme {
            "sqlite" => Ok(Database::Sqlite(PathBuf::from(rest))),
            "postgres" | "postgresql" => match url::Url::parse(location) {
                Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => {
                    Ok(Database::Postgres(SecretUrl::new(location)))
                }
                Ok(_) => Err(format!("database: the PostgreSQL URL {shown} has no host")),
                Err(e) => Err(format!(
                    "database: {shown} is not a valid PostgreSQL URL ({e})"
                )),
            },
            _ => Err(format!(
                "database must be a SQLite file path, sqlite://path or a postgres:// URL, got {shown}"
            )),
        }
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }

    /// The location as text, password included (for connecting only; show [`Database`]'s
    /// `Display` instead).
    pub fn expose_location(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => url.expose_secret().to_owned(),
        }
    }
}

impl std::str::FromStr for Database {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Database::parse(s)
    }
}

/// The SQLite path, or the PostgreSQL URL with its password replaced by `***`.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

/// As [`fmt::Display`]: a PostgreSQL password never leaves redacted.
impl Serialize for Database {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A secret's text (as [`SecretUrl`] reads it: the exact text, digits included), then
/// [`Database::parse`].
impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = SecretUrl::deserialize(d)?;
        Database::parse(text.expose_secret()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_by_scheme() {
        assert!(
            matches!(Database::parse("outdial.db"), Ok(Database::Sqlite(p)) if p == Path::new("outdial.db"))
        );
        assert!(
            matches!(Database::parse("sqlite://a/b.db"), Ok(Database::Sqlite(p)) if p == Path::new("a/b.db"))
        );
        let pg = Database::parse("postgres://u:pw@db:5432/outdial").unwrap();
        assert!(matches!(pg, Database::Postgres(_)));
        assert_eq!(pg.to_string(), "postgres://u:***@db:5432/outdial");
        assert_eq!(pg.expose_location(), "postgres://u:pw@db:5432/outdial");
        assert!(Database::parse("postgresql://db/x").is_ok());
        let e = Database::parse("mysql://u:pw@db/x").unwrap_err();
        assert!(e.contains("database must be") && !e.contains("pw"), "{e}");
        let e = Database::parse("postgres://u:pw@/x").unwrap_err();
        assert!(e.contains("PostgreSQL URL") && !e.contains("pw"), "{e}");
    }
}
