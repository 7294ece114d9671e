//! [`outdial_store::Reports`] on SQLite.

use super::*;

#[async_trait]
impl Reports for SqliteStore {
    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        let rows = match campaign {
            // Served by the index attempts_campaign (campaign_id, id).
            Some(c) => {
                sqlx::query("SELECT * FROM attempts WHERE campaign_id = ? ORDER BY id DESC LIMIT ?")
                    .bind(c.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query("SELECT * FROM attempts ORDER BY id DESC LIMIT ?")
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn latest_event_at(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>> {
        // Served by the index events_source_at (source, at).
        let at: Option<String> =
            sqlx::query_scalar("SELECT at FROM events WHERE source = ? ORDER BY at DESC LIMIT 1")
                .bind(source)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        opt_ts(at)
    }

    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let mut c = StatusCounts::default();
        let grouped = |sql: &'static str| sqlx::query_as::<_, (Option<String>, i64)>(sql);
        for (campaign, status, n) in sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT campaign_id, status, COUNT(*) FROM leads GROUP BY campaign_id, status",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?
        {
            *c.leads_by_status.entry(status.clone()).or_default() += n as u64;
            c.leads_by_campaign
                .entry(campaign)
                .or_default()
                .insert(status, n as u64);
        }
        for (k, v) in grouped("SELECT state, COUNT(*) FROM attempts GROUP BY state")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?
        {
            c.attempts_by_state.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped("SELECT disposition, COUNT(*) FROM attempts WHERE disposition IS NOT NULL GROUP BY disposition")
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?
        {
            c.attempts_by_disposition.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT call_status, COUNT(*) FROM attempts WHERE state = 'ended' GROUP BY call_status",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?
        {
            c.attempts_by_call_status
                .insert(k.unwrap_or_default(), v as u64);
        }
        c.leads_due = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= ? AND c.active = 1",
        )
        .bind(ts(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)? as u64;
        c.attempts_in_flight = sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)? as u64;
        c.attempts_since =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE reserved_at >= ?")
                .bind(ts(since))
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)? as u64;
        Ok(c)
    }

    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(attempt_from_row)
            .collect()
    }

    async fn attempts_reserved_between(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, AttemptId)>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        // The first page starts before every row of the range: (from, 0) is below any
        // (reserved_at >= from, id >= 1).
        let (after_at, after_id) = after.unwrap_or((from, AttemptId(0)));
        sqlx::query(
            "SELECT * FROM attempts
                 WHERE (?1 IS NULL OR campaign_id = ?1) AND reserved_at >= ?2 AND reserved_at < ?3
                   AND (reserved_at, id) > (?4, ?5)
                 ORDER BY reserved_at, id LIMIT ?6",
        )
        .bind(campaign.map(|c| c.0))
        .bind(ts(from))
        .bind(ts(to))
        .bind(ts(after_at))
        .bind(after_id.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    async fn leads_in_report_scope(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: LeadId,
        limit: u32,
    ) -> StoreResult<Vec<Lead>> {
        sqlx::query(
            "SELECT * FROM leads l
                 WHERE (?1 IS NULL OR l.campaign_id = ?1) AND l.id > ?4
                   AND ((l.created_at >= ?2 AND l.created_at < ?3)
                        OR EXISTS (SELECT 1 FROM attempts a WHERE a.lead_id = l.id
                                   AND a.reserved_at >= ?2 AND a.reserved_at < ?3))
                 ORDER BY l.id LIMIT ?5",
        )
        .bind(campaign.map(|c| c.0))
        .bind(ts(from))
        .bind(ts(to))
        .bind(after.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(lead_from_row)
        .collect()
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
        let (after_at, after_id) = after.unwrap_or((from, 0));
        sqlx::query(
            "SELECT * FROM events
             WHERE kind = ?1 AND at >= ?3 AND at < ?4 AND (at, id) > (?5, ?6)
               AND (?2 IS NULL OR lead_id IN (SELECT id FROM leads WHERE campaign_id = ?2))
             ORDER BY at, id LIMIT ?7",
        )
        .bind(kind)
        .bind(campaign.map(|c| c.0))
        .bind(ts(from))
        .bind(ts(to))
        .bind(ts(after_at))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(event_from_row)
        .collect()
    }
}
