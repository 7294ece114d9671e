//! [`outdial_store::AccountLimits`] on PostgreSQL. A reservation under account caps takes the
//! same transaction-level advisory lock as the fleet-wide in-flight cap (`RESERVE_LOCK`), so
//! its counts and its insert are atomic across instances.

use super::*;
use outdial_store::{AccountCaps, AccountLimits, AccountUsage};

/// The windows' starts of `caps`, in order.
pub(crate) fn windows_of(caps: &AccountCaps) -> Vec<DateTime<Utc>> {
    caps.windows.iter().map(|w| w.since).collect()
}

fn ids(campaigns: &[CampaignId]) -> Vec<i64> {
    campaigns.iter().map(|c| c.0).collect()
}

/// [`AccountLimits::account_usage`] on `conn` (inside a reservation's transaction or not).
pub(crate) async fn account_usage_in(
    conn: &mut PgConnection,
    campaigns: &[CampaignId],
    since: &[DateTime<Utc>],
) -> StoreResult<AccountUsage> {
    if campaigns.is_empty() {
        return Ok(AccountUsage {
            in_flight: 0,
            reserved_since: vec![0; since.len()],
        });
    }
    let ids = ids(campaigns);
    let in_flight: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM attempts WHERE campaign_id = ANY($1) AND state IN {IN_FLIGHT}"
    ))
    .bind(&ids)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let window_sql = format!(
        "SELECT COUNT(*) FROM attempts WHERE campaign_id = ANY($1) AND reserved_at >= $2
           AND state NOT IN {NOT_COUNTED}"
    );
    let mut reserved_since = Vec::with_capacity(since.len());
    for t in since {
        let n: i64 = sqlx::query_scalar(&window_sql)
            .bind(&ids)
            .bind(ts(*t))
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
        reserved_since.push(n.max(0) as u64);
    }
    Ok(AccountUsage {
        in_flight: in_flight.max(0) as u64,
        reserved_since,
    })
}

#[async_trait]
impl AccountLimits for PgStore {
    async fn reserve_attempt_within(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
        caps: &AccountCaps,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve_within(lead_id, now, Some(max_in_flight), Some(caps))
            .await
    }

    async fn account_usage(
        &self,
        campaigns: &[CampaignId],
        since: &[DateTime<Utc>],
    ) -> StoreResult<AccountUsage> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        account_usage_in(&mut conn, campaigns, since).await
    }

    async fn due_leads_outside(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        excluded: &[CampaignId],
    ) -> StoreResult<Vec<Lead>> {
        sqlx::query(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= $1 AND c.active
               AND l.campaign_id <> ALL($3)
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id::text AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT $2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .bind(ids(excluded))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(lead_from_row)
        .collect()
    }
}
