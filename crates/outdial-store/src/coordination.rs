//! Fleet coordination (pacer, leases, settings) and closing: the [`Coordination`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What instances sharing one database coordinate through: the fleet pacer, leases, persisted settings; and closing the store. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Coordination: Send + Sync {
    /// Takes the next slot of the fleet-wide pacer `name`: returns the instant (UTC, at or
    /// after `now`) at which the caller may act, and moves the pacer on by `interval`, so
    /// that every instance together acts at most once per `interval`.
    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. Returns `true` when
    /// `holder` holds it afterwards (it was free, expired, or already `holder`'s); `false`,
    /// changing nothing, while another holder's lease runs. Singleton maintenance (the
    /// reconciler) runs only under the lease. Errors: [`StoreError::InvalidArgument`] when `ttl` is
    /// not positive.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// A persisted setting, if set.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;

    /// Persists a setting (and records an event of kind `setting`).
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Closes the connections (SQLite checkpoints its WAL).
    async fn close(&self);
}
