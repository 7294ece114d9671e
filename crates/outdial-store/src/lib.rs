//! # outdial-store
//!
//! The [`Store`] trait: everything outdial keeps, in domain terms. Backends
//! (`outdial-store-sqlite`, later `outdial-store-postgres`) hold their own SQL and migrations
//! and run the same [`conformance`] suite (feature `conformance`).
//!
//! Rules every backend follows:
//! - every state change is a guarded update (`… WHERE id = ? AND state = ?`), so a lost
//!   race changes nothing and reports `false` / `None`;
//! - an attempt row is committed before the provider is called; no transaction is held across
//!   a provider call (the trait offers no way to do so);
//! - at most one in-flight attempt per phone number is enforced by the database itself;
//! - every state change and every raw webhook is written to the append-only event log in the
//!   same transaction as its effect;
//! - timestamps are UTC with microsecond precision (sub-microsecond parts are truncated).

use chrono::{DateTime, Utc};

#[cfg(feature = "conformance")]
pub mod conformance;

mod account_limits;
mod attempts;
pub mod backend;
mod backfill;
mod campaigns;
mod coordination;
mod dnc;
mod error;
mod events;
mod jobs;
mod leads;
pub mod report_sql;
mod reports;
mod safety;

pub use account_limits::*;
pub use attempts::*;
pub use backfill::*;
pub use campaigns::*;
pub use coordination::*;
pub use dnc::*;
pub use error::*;
pub use events::*;
pub use jobs::*;
pub use leads::*;
pub use reports::*;
pub use safety::*;

/// Every sub-trait of [`Store`], for callers: `use outdial_store::prelude::*;` brings the
/// store's methods into scope on an `Arc<dyn Store>`.
pub mod prelude {
    pub use crate::{
        AccountLimits, Attempts, Campaigns, Coordination, DncLists, EventLog, Jobs, Leads, Reports,
        Safety, Store,
    };
}

/// What outdial keeps, in domain terms: the sum of one sub-trait per aggregate
/// ([`Campaigns`], [`Leads`], [`Attempts`], [`EventLog`], [`DncLists`], [`Safety`], [`Jobs`],
/// [`Coordination`], [`Reports`], [`AccountLimits`]). All times are UTC instants passed in by the caller
/// (`now`): a backend never reads the clock for domain data. A backend implements every
/// sub-trait and gets `Store` from the blanket impl; callers hold an `Arc<dyn Store>` and
/// `use outdial_store::prelude::*;`.
pub trait Store:
    Campaigns
    + Leads
    + Attempts
    + EventLog
    + DncLists
    + Safety
    + Jobs
    + Coordination
    + Reports
    + AccountLimits
    + Send
    + Sync
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: Campaigns
        + Leads
        + Attempts
        + EventLog
        + DncLists
        + Safety
        + Jobs
        + Coordination
        + Reports
        + AccountLimits
        + Send
        + Sync
        + std::fmt::Debug
{
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// Truncates an instant to whole microseconds, the precision every backend keeps.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
