//! Reads for status, exports, reports and the safety monitor: [`StatusCounts`], the
//! [`Reports`] sub-trait, and the report facts of an [`Attempt`] and a [`Lead`]
//! ([`Attempt::report_fact`], [`Lead::report_fact`]) that `outdial_core::report` computes on.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::report::{
    AttemptFact, AttemptGroup, DialBucket, HumanContactRule, LeadDials, LeadFact, LeadGroup,
};
use outdial_core::{AttemptId, CampaignId, LeadId};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts for the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Leads by status name.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Leads by campaign id, then by status name (the same counts as
    /// [`StatusCounts::leads_by_status`], split by campaign).
    pub leads_by_campaign: BTreeMap<i64, BTreeMap<String, u64>>,
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

    /// Attempts reserved in the half-open range `[from, to)` (UTC), of `campaign` when
    /// given, ordered by `(reserved_at, id)`, strictly after the cursor `after` (the last
    /// row's `(reserved_at, id)` of the previous page; `None` for the first), at most
    /// `limit`. Served by the index `attempts_reserved_range`.
    async fn attempts_reserved_between(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, AttemptId)>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>>;

    /// The leads of a report's scope: of `campaign` when given, imported in `[from, to)` or
    /// with an attempt reserved in `[from, to)`; by id, with id greater than `after`, at most
    /// `limit`.
    async fn leads_in_report_scope(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Lead>>;

    /// The attempts reserved in `[from, to)` (UTC), of `campaign` when given, counted in
    /// SQL by every column their outcome figures read (campaign, placed or not, answered at
    /// or not, redial or not, call status, detection, disposition): a few rows however many
    /// attempts, in no particular order, each with its count and talk time
    /// ([`AttemptGroup`]; a column the backend does not recognise reads as `None`).
    async fn outcome_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AttemptGroup>>;

    /// The leads of a report's scope (as [`Reports::leads_in_report_scope`]) counted in SQL
    /// by campaign, status and — for done leads only — status reason and disposition, with
    /// how many of each were imported in `[from, to)` ([`LeadGroup`]), in no particular
    /// order.
    async fn lead_scope_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<LeadGroup>>;

    /// The leads of a report's scope (`campaign`, `[from, to)`) with at least `at_least`
    /// dials (attempts with a placement time) reserved in `[since, until)` (UTC), each with
    /// those dials' reservation instants ([`LeadDials`]), by lead id.
    async fn leads_with_recent_dials(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        at_least: u32,
    ) -> StoreResult<Vec<LeadDials>>;

    /// The dials (attempts with a placement time) reserved in `[from, to)` (UTC), of
    /// `campaign` when given, counted in SQL by their lead's zone inputs (campaign, own time
    /// zone, state, first seven digits of the number) and 15-minute UTC bucket of the
    /// reservation instant, with how many were human contacts by `rule` ([`DialBucket`]),
    /// in no particular order.
    async fn dial_buckets(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rule: &HumanContactRule,
    ) -> StoreResult<Vec<DialBucket>>;

    /// Events of `kind` (an [`EventKind`] name) recorded in `[from, to)` (UTC), of the leads
    /// of `campaign` when given (events without a lead are then left out), ordered by
    /// `(at, id)`, strictly after the cursor `after` (the last row's `(at, id)`; `None` for
    /// the first page), at most `limit`. Served by the index `events_kind_range`.
    async fn events_between(
        &self,
        kind: &str,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<EventRecord>>;
}

impl Attempt {
    /// The columns a report reads (`outdial_core::report`).
    pub fn report_fact(&self) -> AttemptFact {
        AttemptFact {
            id: self.id,
            lead_id: self.lead_id,
            campaign_id: self.campaign_id,
            phone: self.phone.clone(),
            number: self.number,
            state: self.state,
            call_status: self.call_status,
            answered_by: self.answered_by,
            disposition: self.disposition.clone(),
            reserved_at: self.reserved_at,
            placed_at: self.placed_at,
            answered_at: self.answered_at,
            duration_s: self.duration_s,
            price: self.price.clone(),
        }
    }
}

impl Lead {
    /// The columns a report reads (`outdial_core::report`).
    pub fn report_fact(&self) -> LeadFact {
        LeadFact {
            id: self.id,
            campaign_id: self.campaign_id,
            phone: self.phone.clone(),
            time_zone: self.contact.time_zone,
            state: self.contact.state.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            disposition: self.disposition.clone(),
            attempt_count: self.attempt_count,
            created_at: self.created_at,
        }
    }
}
