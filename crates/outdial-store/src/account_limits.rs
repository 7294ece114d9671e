//! Limits shared by the campaigns placed through one provider account (a plan's concurrency
//! and its hourly and daily caps): the [`AccountLimits`] sub-trait and its records.
//!
//! The store does not know which provider a campaign uses (that is in its settings); the
//! caller names the campaigns that share an account. Attempts count in a rolling window when
//! they were reserved in it and a call may have been made (every state but `rejected` and
//! `not-placed`, as for the caps: [`backend::counts_against_caps`]).

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, LeadId};

/// A rolling-window cap: at most `max` attempts reserved at or after `since` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCap {
    /// Start of the window (inclusive), UTC: `now` minus the window's length.
    pub since: DateTime<Utc>,
    /// Most attempts reserved in the window.
    pub max: u32,
}

/// The limits of one provider account, over the attempts of `campaigns`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountCaps {
    /// The campaigns placed through the account; only their attempts count.
    pub campaigns: Vec<CampaignId>,
    /// Most of their attempts in flight at once (any in-flight state). `None`: no cap.
    pub max_in_flight: Option<u32>,
    /// Rolling windows (calls per hour, per day …), each counted on its own.
    pub windows: Vec<WindowCap>,
}

impl AccountCaps {
    /// Whether `usage` (measured with this value's windows, in order) leaves room for one
    /// more attempt.
    pub fn has_room(&self, usage: &AccountUsage) -> bool {
        self.max_in_flight
            .is_none_or(|m| usage.in_flight < u64::from(m))
            && self
                .windows
                .iter()
                .zip(&usage.reserved_since)
                .all(|(w, n)| *n < u64::from(w.max))
    }
}

/// How much of an account's limits is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUsage {
    /// Attempts of the campaigns in flight.
    pub in_flight: u64,
    /// For each instant asked about, in order: attempts of the campaigns reserved at or after
    /// it that count (not `rejected`, not `not-placed`).
    pub reserved_since: Vec<u64>,
}

/// Provider-account limits, enforced atomically at reservation across every instance sharing
/// the database. Part of [`Store`]; every time is a UTC instant passed in by the caller.
#[async_trait]
pub trait AccountLimits: Send + Sync {
    /// [`Store::reserve_attempt_capped`] (the fleet-wide cap `max_in_flight`), and also
    /// `None` when the lead's account has no room under `caps` ([`AccountCaps::has_room`]):
    /// the counts and the insert are atomic, so instances sharing the database never exceed
    /// the account's limits together. The lead's campaign should be one of
    /// `caps.campaigns` (its new attempt is then counted by the next reservation).
    async fn reserve_attempt_within(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
        caps: &AccountCaps,
    ) -> StoreResult<Option<Attempt>>;

    /// The usage of the account whose campaigns are `campaigns`: attempts in flight, and for
    /// each of `since`, attempts reserved at or after it that count. No campaigns: zeros.
    async fn account_usage(
        &self,
        campaigns: &[CampaignId],
        since: &[DateTime<Utc>],
    ) -> StoreResult<AccountUsage>;

    /// [`Store::due_leads`] without the leads of `excluded` campaigns (those of an account
    /// with no room), so that they cannot crowd out the leads of other accounts.
    async fn due_leads_outside(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        excluded: &[CampaignId],
    ) -> StoreResult<Vec<Lead>>;
}
