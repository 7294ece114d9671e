//! [`outdial_store::Reports`] on SQLite. The reports' and the dashboard's reads run on the
//! read-only pool (`SqliteStore::read`); the safety monitor's (`recent_attempts`,
//! `latest_event_at`, `attempts_after`), which decide writes, on the writer.

use super::*;
use outdial_core::report::{AttemptGroup, DialBucket, HumanContactRule, LeadDials, LeadGroup};
use outdial_store::report_sql::{human_contact_sql, OutcomeRow, OUTCOME_SUMS};

/// Above this many attempts in a range, the outcome counts read the whole covering index
/// `attempts_report_outcomes` in group order (one pass, no sort); at or below it, the range
/// index and a small sort of the range's attempts.
const OUTCOME_SCAN_ABOVE: i64 = 50_000;

/// The scope of a report as a condition on `leads l` (`?1` campaign, `?2` from, `?3` to).
const IN_SCOPE: &str = "(?1 IS NULL OR l.campaign_id = ?1)
    AND ((l.created_at >= ?2 AND l.created_at < ?3)
         OR EXISTS (SELECT 1 FROM attempts s WHERE s.lead_id = l.id
                    AND s.reserved_at >= ?2 AND s.reserved_at < ?3))";

/// The leads of `?1`-campaign with at least `?6` dials reserved in `[?4, ?5)`.
const BUSY: &str = "SELECT lead_id FROM attempts
    WHERE (?1 IS NULL OR campaign_id = ?1) AND reserved_at >= ?4 AND reserved_at < ?5
      AND placed_at IS NOT NULL
    GROUP BY lead_id HAVING COUNT(*) >= ?6";

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
        // A dashboard read, a moment stale at worst: on a reader, beside the writer.
        let mut conn = self.read.acquire().await.map_err(backend)?;
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
        .fetch_all(&self.read)
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
        .fetch_all(&self.read)
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
        let mut conn = self.read.acquire().await.map_err(backend)?;
        let many: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM attempts
                 WHERE reserved_at >= ?1 AND reserved_at < ?2 LIMIT ?3)",
        )
        .bind(ts(from))
        .bind(ts(to))
        .bind(OUTCOME_SCAN_ABOVE + 1)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
        let index = if many > OUTCOME_SCAN_ABOVE {
            "INDEXED BY attempts_report_outcomes"
        } else {
            ""
        };
        let sql = format!(
            "SELECT campaign_id, disposition, call_status, answered_by, {sums}
             FROM attempts {index}
             WHERE (?1 IS NULL OR campaign_id = ?1) AND reserved_at >= ?2 AND reserved_at < ?3
             GROUP BY campaign_id, disposition, call_status, answered_by",
            sums = &*OUTCOME_SUMS
        );
        let rows = sqlx::query(&sql)
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&mut *conn)
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
                        SUM(CASE WHEN l.created_at >= ?2 AND l.created_at < ?3 THEN 1 ELSE 0 END)
                 FROM leads l WHERE {IN_SCOPE}
                 GROUP BY l.campaign_id, l.status, reason, dispo"
            ))
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&self.read)
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
        let mut conn = self.read.acquire().await.map_err(backend)?;
        fn bound<'q>(
            sql: &'q str,
            campaign: Option<CampaignId>,
            times: [DateTime<Utc>; 4],
            at_least: u32,
        ) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
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
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?;
        let dials_sql = format!(
            "SELECT a.lead_id, a.reserved_at FROM attempts a JOIN leads l ON l.id = a.lead_id
             WHERE a.lead_id IN ({BUSY}) AND {IN_SCOPE}
               AND a.reserved_at >= ?4 AND a.reserved_at < ?5 AND a.placed_at IS NOT NULL
             ORDER BY a.lead_id, a.reserved_at"
        );
        let dials = bound(&dials_sql, campaign, times, at_least)
            .fetch_all(&mut *conn)
            .await
            .map_err(backend)?;
        let mut by_lead: BTreeMap<i64, Vec<DateTime<Utc>>> = BTreeMap::new();
        for r in &dials {
            let at: String = r.try_get(1).map_err(backend)?;
            by_lead
                .entry(r.try_get(0).map_err(backend)?)
                .or_default()
                .push(parse_ts(&at)?);
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
        // Timestamps are RFC 3339 text: the quarter hour is the first 14 characters
        // (`2026-03-08T07:`) and the minutes rounded down to 00, 15, 30 or 45.
        let sql = format!(
            "SELECT l.campaign_id, MIN(l.phone),
                    json_extract(l.contact, '$.time_zone') AS tz,
                    json_extract(l.contact, '$.state') AS st,
                    substr(a.reserved_at, 1, 14)
                      || CASE CAST(substr(a.reserved_at, 15, 2) AS INTEGER) / 15
                         WHEN 0 THEN '00' WHEN 1 THEN '15' WHEN 2 THEN '30' ELSE '45' END
                      AS quarter,
                    COUNT(*), SUM(CASE WHEN {human} THEN 1 ELSE 0 END)
             FROM attempts a JOIN leads l ON l.id = a.lead_id
             WHERE (?1 IS NULL OR a.campaign_id = ?1) AND a.reserved_at >= ?2
               AND a.reserved_at < ?3 AND a.placed_at IS NOT NULL
             GROUP BY l.campaign_id, substr(l.phone, 1, 8), tz, st, quarter",
            human = human_contact_sql(rule)
        );
        let rows: Vec<(
            i64,
            String,
            Option<String>,
            Option<String>,
            String,
            i64,
            i64,
        )> = sqlx::query_as(&sql)
            .bind(campaign.map(|c| c.0))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|(c, phone, tz, state, quarter, dials, human)| {
                let start = chrono::NaiveDateTime::parse_from_str(&quarter, "%Y-%m-%dT%H:%M")
                    .map_err(|e| StoreError::Corrupt(format!("reserved_at {quarter}: {e}")))?
                    .and_utc();
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
        .fetch_all(&self.read)
        .await
        .map_err(backend)?
        .iter()
        .map(event_from_row)
        .collect()
    }
}
