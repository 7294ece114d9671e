//! [`outdial_store::AccountLimits`] on SQLite. Every write transaction is `BEGIN IMMEDIATE`
//! on the one connection, so the counts of a reservation and its insert are atomic.

use super::*;
use outdial_store::{AccountCaps, AccountLimits, AccountUsage};

/// `?, ?, …` for `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The windows' starts of `caps`, in order.
pub(crate) fn windows_of(caps: &AccountCaps) -> Vec<DateTime<Utc>> {
    caps.windows.iter().map(|w| w.since).collect()
}

/// [`AccountLimits::account_usage`] on `conn` (inside a reservation's transaction or not).
pub(crate) async fn account_usage_in(
    conn: &mut SqliteConnection,
    campaigns: &[CampaignId],
    since: &[DateTime<Utc>],
) -> StoreResult<AccountUsage> {
    if campaigns.is_empty() {
        return Ok(AccountUsage {
            in_flight: 0,
            reserved_since: vec![0; since.len()],
        });
    }
    let list = placeholders(campaigns.len());
    let in_flight_sql = format!(
        "SELECT COUNT(*) FROM attempts WHERE campaign_id IN ({list}) AND state IN {IN_FLIGHT}"
    );
    let mut q = sqlx::query_scalar::<_, i64>(&in_flight_sql);
    for c in campaigns {
        q = q.bind(c.0);
    }
    let in_flight = q.fetch_one(&mut *conn).await.map_err(backend)?;
    let window_sql = format!(
        "SELECT COUNT(*) FROM attempts WHERE campaign_id IN ({list}) AND reserved_at >= ?
           AND state NOT IN {NOT_COUNTED}"
    );
    let mut reserved_since = Vec::with_capacity(since.len());
    for t in since {
        let mut q = sqlx::query_scalar::<_, i64>(&window_sql);
        for c in campaigns {
            q = q.bind(c.0);
        }
        let n = q
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
impl AccountLimits for SqliteStore {
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
        let not_in = if excluded.is_empty() {
            String::new()
        } else {
            format!(
                "AND l.campaign_id NOT IN ({})",
                placeholders(excluded.len())
            )
        };
        let sql = format!(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= ? AND c.active = 1 {not_in}
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT ?"
        );
        let mut q = sqlx::query(&sql).bind(ts(now));
        for c in excluded {
            q = q.bind(c.0);
        }
        q.bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }
}
