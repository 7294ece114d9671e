//! Reads for status, exports and the safety monitor: [`StatusCounts`] and the [`Reports`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, CampaignId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts for the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Leads by status name.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Active leads whose next attempt time has come.
    pub leads_due: u64,
    /// Attempts not yet final.
    pub attempts_in_flight: u64,
    /// Attempts reserved since the given instant.
    pub attempts_since: u64,
    /// Attempts by state.
    pub attempts_by_state: BTreeMap<String, u64>,
    /// Concluded attempts by disposition.
    pub attempts_by_disposition: BTreeMap<String, u64>,
    /// Ended attempts by final call status.
    pub attempts_by_call_status: BTreeMap<String, u64>,
}

/// Reads for the status endpoint, exports and the safety monitor. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Reports: Send + Sync {
    /// The latest attempts by id, newest first, at most `limit`; only `campaign`'s when
    /// given. Attempts still `reserved` are included (the caller skips them).
    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>>;

    /// When the newest event from `source` (for example a provider's webhook source) was recorded, UTC;
    /// `None` if there is none.
    async fn latest_event_at(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>>;

    /// Counts for the status endpoint; `since` bounds [`StatusCounts::attempts_since`].
    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts>;

    /// Attempts with id greater than `after`, at most `limit`, by id (for streaming exports).
    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>>;
}
