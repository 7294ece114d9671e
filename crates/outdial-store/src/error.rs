//! Errors of every backend, and what opening does with a foreign database.

/// Errors of any backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule refused the write (duplicate campaign name, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database was migrated by a newer outdial; this build refuses to run on it.
    #[error(
        "the database schema is newer than this build of outdial knows ({0}); upgrade outdial"
    )]
    SchemaTooNew(String),
    /// A stored value could not be read back (corruption or a manual edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database could not be opened or a statement failed.
    #[error("database error: {0}")]
    Backend(String),
    /// The storage cannot take writes or cannot be reached: the disk is full, an I/O error,
    /// a read-only file system, a lost connection. Nothing of the failed operation was
    /// committed. The engine stops new calls when it sees this (design invariant: a failed
    /// write is never reported as success).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database holds tables but not outdial's migration table (`_sqlx_migrations`): it
    /// belongs to something else (a mistyped path or URL, most likely). Nothing was changed.
    /// The message names the database and says how to proceed; opening it anyway takes
    /// [`ForeignDatabase::Adopt`].
    #[error("{0}")]
    ForeignDatabase(String),
}

/// What opening a store does with a database that already holds tables but has no outdial
/// migration table (`_sqlx_migrations`), i.e. one outdial did not create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForeignDatabase {
    /// Refuse it with [`StoreError::ForeignDatabase`], writing nothing to it (the default).
    #[default]
    Refuse,
    /// Add outdial's tables to it anyway: the operator asked for it explicitly.
    Adopt,
}

/// The message of [`StoreError::ForeignDatabase`] for the database `what` (a file path or a
/// database name), whose first few tables are `tables`. One wording for every backend.
pub fn foreign_database_message(what: &str, tables: &[String]) -> String {
    format!(
        "{what} is not an outdial database: it already holds tables ({}) but no outdial \
         migration table (_sqlx_migrations), and outdial refuses to add its own tables to it. \
         Point outdial at a new or an outdial database instead (check the path or URL for a \
         typo); to add outdial's tables to this database anyway, pass --adopt-database to \
         `outdial serve` or `outdial campaign create`",
        tables.join(", ")
    )
}
