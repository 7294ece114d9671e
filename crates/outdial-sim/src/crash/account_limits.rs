//! [`AccountLimits`] of the [`CrashStore`] (see the parent module): each operation is a
//! crash point like every other store operation.

use super::*;
use outdial_store::{AccountCaps, AccountLimits, AccountUsage};

#[async_trait]
impl AccountLimits for CrashStore {
    async fn reserve_attempt_within(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
        caps: &AccountCaps,
    ) -> StoreResult<Option<Attempt>> {
        guard!(
            self,
            "reserve_attempt_within",
            self.inner
                .reserve_attempt_within(lead_id, now, max_in_flight, caps)
        )
    }
    async fn account_usage(
        &self,
        campaigns: &[CampaignId],
        since: &[DateTime<Utc>],
    ) -> StoreResult<AccountUsage> {
        guard!(
            self,
            "account_usage",
            self.inner.account_usage(campaigns, since)
        )
    }
    async fn due_leads_outside(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        excluded: &[CampaignId],
    ) -> StoreResult<Vec<Lead>> {
        guard!(
            self,
            "due_leads_outside",
            self.inner.due_leads_outside(now, limit, excluded)
        )
    }
}
