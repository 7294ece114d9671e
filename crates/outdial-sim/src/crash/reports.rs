//! [`Reports`] of the [`CrashStore`] (see the parent module): each read is a crash point
//! like every other store operation.

use super::*;
use outdial_core::report::{AttemptGroup, DialBucket, HumanContactRule, LeadDials, LeadGroup};

#[async_trait]
impl Reports for CrashStore {
    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        guard!(
            self,
            "recent_attempts",
            self.inner.recent_attempts(campaign, limit)
        )
    }
    async fn latest_event_at(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        guard!(self, "latest_event_at", self.inner.latest_event_at(source))
    }
    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        guard!(self, "status_counts", self.inner.status_counts(now, since))
    }
    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>> {
        guard!(
            self,
            "attempts_after",
            self.inner.attempts_after(after, limit)
        )
    }
    async fn attempts_reserved_between(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, AttemptId)>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        guard!(
            self,
            "attempts_reserved_between",
            self.inner
                .attempts_reserved_between(campaign, from, to, after, limit)
        )
    }
    async fn leads_in_report_scope(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        guard!(
            self,
            "leads_in_report_scope",
            self.inner
                .leads_in_report_scope(campaign, from, to, after, limit)
        )
    }
    async fn events_between(
        &self,
        kind: &str,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: u32,
    ) -> StoreResult<Vec<EventRecord>> {
        guard!(
            self,
            "events_between",
            self.inner
                .events_between(kind, campaign, from, to, after, limit)
        )
    }
    async fn outcome_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AttemptGroup>> {
        guard!(
            self,
            "outcome_groups",
            self.inner.outcome_groups(campaign, from, to)
        )
    }
    async fn lead_scope_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<LeadGroup>> {
        guard!(
            self,
            "lead_scope_groups",
            self.inner.lead_scope_groups(campaign, from, to)
        )
    }
    async fn leads_with_recent_dials(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        at_least: u32,
    ) -> StoreResult<Vec<LeadDials>> {
        guard!(
            self,
            "leads_with_recent_dials",
            self.inner
                .leads_with_recent_dials(campaign, from, to, since, until, at_least)
        )
    }
    async fn dial_buckets(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rule: &HumanContactRule,
    ) -> StoreResult<Vec<DialBucket>> {
        guard!(
            self,
            "dial_buckets",
            self.inner.dial_buckets(campaign, from, to, rule)
        )
    }
}
