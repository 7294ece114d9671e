//! Errors of every backend, and what opening does with a foreign database.

/// The source of a [`StoreError::Unavailable`]: the driver's error, boxed.
pub type ErrorSource = Box<dyn std::error::Error + Send + Sync>;

/// Errors of any backend: one shape for SQLite and PostgreSQL (the conformance suite pins
/// which operation yields which). `Display` prints the message only, never a connection URL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist: `entity` is `campaign`, `lead`, `attempt` or `database
    /// file`, `id` its id (or path).
    #[error("not found: {entity} {id}")]
    NotFound {
        /// What was looked for.
        entity: &'static str,
        /// Its id, as text.
        id: String,
    },
    /// A uniqueness rule or a concurrent change refused the write (duplicate campaign name,
    /// an attempt changed under a transaction, …). Nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller passed an argument the store cannot act on (a lease or job claim that does
    /// not last a positive time, a pool of size 0, a URL of another scheme). Nothing was
    /// written.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The storage cannot take writes or cannot be reached: the disk is full, an I/O error,
    /// a read-only file system, a lost connection, a lock not obtained in time, a statement
    /// the database refused. Nothing of the failed operation was committed. The engine stops
    /// new calls when it sees this (design invariant: a failed write is never reported as
    /// success).
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// What failed, readable (the driver's message).
        message: String,
        /// The driver's error, when there is one.
        #[source]
        source: Option<ErrorSource>,
    },
    /// A stored value could not be read back (corruption or a manual edit), or the applied
    /// migrations differ from this build's.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database was migrated by a newer outdial; this build refuses to run on it.
    #[error(
        "the database schema is newer than this build of outdial knows ({0}); upgrade outdial"
    )]
    SchemaTooNew(String),
    /// Kept as its own variant (an open-time refusal, not an operation's failure): the
    /// database holds tables but not outdial's migration table (`_sqlx_migrations`): it
    /// belongs to something else (a mistyped path or URL, most likely). Nothing was changed.
    /// The message names the database and says how to proceed; opening it anyway takes
    /// [`ForeignDatabase::Adopt`].
    #[error("{0}")]
    ForeignDatabase(String),
}

impl StoreError {
    /// [`StoreError::NotFound`] of `entity` with id `id`.
    pub fn not_found(entity: &'static str, id: impl std::fmt::Display) -> StoreError {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// [`StoreError::Unavailable`] caused by the driver error `source` (its text is the
    /// message).
    pub fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Unavailable {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// The same error with `prefix` before its message (`migrations failed: …`); the variant
    /// and the source are kept.
    pub fn context(self, prefix: &str) -> StoreError {
        match self {
            StoreError::Unavailable { message, source } => StoreError::Unavailable {
                message: format!("{prefix}: {message}"),
                source,
            },
            StoreError::Conflict(m) => StoreError::Conflict(format!("{prefix}: {m}")),
            StoreError::InvalidArgument(m) => StoreError::InvalidArgument(format!("{prefix}: {m}")),
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("{prefix}: {m}")),
            other => other,
        }
    }
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
