//! [`outdial_store::Reports`] on PostgreSQL.

use super::*;
use outdial_core::report::{AttemptGroup, DialBucket, HumanContactRule, LeadDials, LeadGroup};
use outdial_store::report_sql::{human_contact_sql, OutcomeRow, OUTCOME_SUMS};

/// The scope of a report as a condition on `leads l` (`$1` campaign, `$2` from, `$3` to).
const IN_SCOPE: &str = "($1::bigint IS NULL OR l.campaign_id = $1)
    AND ((l.created_at >= $2 AND l.created_at < $3)
         OR EXISTS (SELECT 1 FROM attempts s WHERE s.lead_id = l.id
                    AND s.reserved_at >= $2 AND s.reserved_at < $3))";

/// The leads of `$1`-campaign with at least `$6` dials reserved in `[$4, $5)`.
const BUSY: &str = "SELECT lead_id FROM attempts
    WHERE ($1::bigint IS NULL OR campaign_id = $1) AND reserved_at >= $4 AND reserved_at < $5
      AND placed_at IS NOT NULL
    GROUP BY lead_id HAVING COUNT(*) >= $6";

#[async_trait]
impl Reports for PgStore {
    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        let rows = match campaign {
            // Served by the index attempts_campaign (campaign_id, id).
            Some(c) => {
                sqlx::query(
                    "SELECT * FROM attempts WHERE campaign_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(c.0)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query("SELECT * FROM attempts ORDER BY id DESC LIMIT $1")
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
        sqlx::query_scalar("SELECT at FROM events WHERE source = $1 ORDER BY at DESC LIMIT 1")
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts> {
        // One snapshot for every count, so they agree with each other.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut c = StatusCounts::default();
        let grouped = |sql: &'static str| sqlx::query_as::<_, (Option<String>, i64)>(sql);
        for (campaign, status, n) in sqlx::query_as::<_, (i64, String, i64)>(
            "SELECT campaign_id, status, COUNT(*) FROM leads GROUP BY campaign_id, status",
        )
        .fetch_all(&mut *tx)
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
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
        {
            c.attempts_by_state.insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT disposition, COUNT(*) FROM attempts WHERE disposition IS NOT NULL
             GROUP BY disposition",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        {
            c.attempts_by_disposition
                .insert(k.unwrap_or_default(), v as u64);
        }
        for (k, v) in grouped(
            "SELECT call_status, COUNT(*) FROM attempts WHERE state = 'ended' GROUP BY call_status",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        {
            c.attempts_by_call_status
                .insert(k.unwrap_or_default(), v as u64);
        }
        c.leads_due = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= $1 AND c.active",
        )
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)? as u64;
        c.attempts_in_flight = sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)? as u64;
        c.attempts_since =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE reserved_at >= $1")
                .bind(ts(since))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)? as u64;
        tx.commit().await.map_err(backend)?;
        Ok(c)
    }

    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE id > $1 ORDER BY id LIMIT $2")
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
                 WHERE ($1::bigint IS NULL OR campaign_id = $1) AND reserved_at >= $2 AND reserved_at < $3
                   AND (reserved_at, id) > ($4, $5)
                 ORDER BY reserved_at, id LIMIT $6",
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
                 WHERE ($1::bigint IS NULL OR l.campaign_id = $1) AND l.id > $4
                   AND ((l.created_at >= $2 AND l.created_at < $3)
                        OR EXISTS (SELECT 1 FROM attempts a WHERE a.lead_id = l.id
                                   AND a.reserved_at >= $2 AND a.reserved_at < $3))
                 ORDER BY l.id LIMIT $5",
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

    async fn outcome_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AttemptGroup>> {
        let sql = format!(
            "SELECT campaign_id, disposition, call_status, answered_by, {sums}
             FROM attempts
             WHERE ($1::bigint IS NULL OR campaign_id = $1) AND reserved_at >= $2 AND reserved_at < $3
             GROUP BY campaign_id, disposition, call_status, answered_by",
            sums = &*OUTCOME_SUMS
        );
        let rows = sqlx::query(&sql)
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut out = Vec::new();
        for r in &rows {
            let mut sums = [0i64; 13];
            for (i, v) in sums.iter_mut().enumerate() {
                *v = r
                    .try_get::<Option<i64>, _>(4 + i)
                    .map_err(backend)?
                    .unwrap_or(0);
            }
            out.extend(
                OutcomeRow {
                    campaign_id: r.try_get(0).map_err(backend)?,
                    disposition: r.try_get(1).map_err(backend)?,
                    call_status: r.try_get(2).map_err(backend)?,
                    answered_by: r.try_get(3).map_err(backend)?,
                    sums,
                }
                .groups()?,
            );
        }
        Ok(out)
    }

    async fn lead_scope_groups(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<LeadGroup>> {
        let rows: Vec<(i64, String, Option<String>, Option<String>, i64, i64)> =
            sqlx::query_as(&format!(
                "SELECT l.campaign_id, l.status,
                        CASE WHEN l.status = 'done' THEN l.status_reason END AS reason,
                        CASE WHEN l.status = 'done' THEN l.disposition END AS dispo,
                        COUNT(*),
                        CAST(SUM(CASE WHEN l.created_at >= $2 AND l.created_at < $3 THEN 1 ELSE 0 END) AS BIGINT)
                 FROM leads l WHERE {IN_SCOPE}
                 GROUP BY 1, 2, 3, 4"
            ))
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|(c, status, reason, dispo, n, imported)| {
                Ok(LeadGroup {
                    campaign_id: CampaignId(c),
                    status: LeadStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown lead status {status}"))
                    })?,
                    status_reason: reason,
                    disposition: dispo.as_deref().and_then(Disposition::normalise),
                    leads: n as u64,
                    imported: imported as u64,
                })
            })
            .collect()
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
        fn bound<'q>(
            sql: &'q str,
            campaign: Option<CampaignId>,
            times: [DateTime<Utc>; 4],
            at_least: u32,
        ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
            let [from, to, since, until] = times;
            sqlx::query(sql)
                .bind(campaign.map(|c| c.0))
                .bind(ts(from))
                .bind(ts(to))
                .bind(ts(since))
                .bind(ts(until))
                .bind(i64::from(at_least))
        }
        let times = [from, to, since, until];
        let leads_sql =
            format!("SELECT * FROM leads l WHERE l.id IN ({BUSY}) AND {IN_SCOPE} ORDER BY l.id");
        let leads = bound(&leads_sql, campaign, times, at_least)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let dials_sql = format!(
            "SELECT a.lead_id, a.reserved_at FROM attempts a JOIN leads l ON l.id = a.lead_id
             WHERE a.lead_id IN ({BUSY}) AND {IN_SCOPE}
               AND a.reserved_at >= $4 AND a.reserved_at < $5 AND a.placed_at IS NOT NULL
             ORDER BY a.lead_id, a.reserved_at"
        );
        let dials = bound(&dials_sql, campaign, times, at_least)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let mut by_lead: BTreeMap<i64, Vec<DateTime<Utc>>> = BTreeMap::new();
        for r in &dials {
            by_lead
                .entry(r.try_get(0).map_err(backend)?)
                .or_default()
                .push(r.try_get(1).map_err(backend)?);
        }
        leads
            .iter()
            .map(|r| {
                let lead = lead_from_row(r)?.report_fact();
                let dials = by_lead.remove(&lead.id.0).unwrap_or_default();
                Ok(LeadDials { lead, dials })
            })
            .collect()
    }

    async fn dial_buckets(
        &self,
        campaign: Option<CampaignId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rule: &HumanContactRule,
    ) -> StoreResult<Vec<DialBucket>> {
        let sql = format!(
            "SELECT l.campaign_id, MIN(l.phone),
                    l.contact::jsonb ->> 'time_zone' AS tz,
                    l.contact::jsonb ->> 'state' AS st,
                    date_bin('15 minutes', a.reserved_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                      AS quarter,
                    COUNT(*), CAST(SUM(CASE WHEN {human} THEN 1 ELSE 0 END) AS BIGINT)
             FROM attempts a JOIN leads l ON l.id = a.lead_id
             WHERE ($1::bigint IS NULL OR a.campaign_id = $1) AND a.reserved_at >= $2
               AND a.reserved_at < $3 AND a.placed_at IS NOT NULL
             GROUP BY l.campaign_id, substr(l.phone, 1, 8), 3, 4, 5",
            human = human_contact_sql(rule)
        );
        let rows: Vec<(
            i64,
            String,
            Option<String>,
            Option<String>,
            DateTime<Utc>,
            i64,
            i64,
        )> = sqlx::query_as(&sql)
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|(c, phone, tz, state, start, dials, human)| {
                Ok(DialBucket {
                    campaign_id: CampaignId(c),
                    phone: E164::from_stored(&phone)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    time_zone: tz
                        .map(|z| {
                            z.parse()
                                .map_err(|_| StoreError::Corrupt(format!("lead time zone {z}")))
                        })
                        .transpose()?,
                    state,
                    start,
                    dials: dials as u64,
                    human: human as u64,
                })
            })
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
             WHERE kind = $1 AND at >= $3 AND at < $4 AND (at, id) > ($5, $6)
               AND ($2::bigint IS NULL OR lead_id IN (SELECT id FROM leads WHERE campaign_id = $2))
             ORDER BY at, id LIMIT $7",
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
