//! [`outdial_store::Leads`] on PostgreSQL.

use super::*;

#[async_trait]
impl Leads for PgStore {
    async fn insert_leads(
        &self,
        campaign_id: CampaignId,
        leads: &[(NewLead, LeadPlacement)],
        now: DateTime<Utc>,
    ) -> StoreResult<InsertReport> {
        if leads.is_empty() {
            return Ok(InsertReport::default());
        }
        let n = leads.len();
        let mut phones = Vec::with_capacity(n);
        let mut contacts = Vec::with_capacity(n);
        let mut statuses = Vec::with_capacity(n);
        let mut nexts: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(n);
        for (lead, placement) in leads {
            phones.push(lead.phone.as_str().to_owned());
            contacts.push(
                serde_json::to_string(&lead.contact)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            match placement {
                LeadPlacement::Active(at) => {
                    statuses.push("active".to_owned());
                    nexts.push(Some(ts(*at)));
                    reasons.push(None);
                }
                LeadPlacement::Paused(reason) => {
                    statuses.push("paused".to_owned());
                    nexts.push(None);
                    reasons.push(Some(reason.clone()));
                }
            }
        }
        // One statement for the whole batch: the rows in input order, a number the campaign
        // already has (or an earlier row of the batch has) skipped, and a `lead.created`
        // event per inserted lead. Data-modifying CTEs run exactly once, read or not.
        let inserted: i64 = sqlx::query_scalar(
            "WITH input AS (
                 SELECT * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
                     WITH ORDINALITY AS i (phone, contact, status, next_attempt_at, status_reason, ord)
             ), ins AS (
                 INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, status_reason,
                                    created_at, updated_at)
                 SELECT $1, phone, contact, status, next_attempt_at, status_reason, $7, $7
                 FROM input ORDER BY ord
                 ON CONFLICT (campaign_id, phone) DO NOTHING
                 RETURNING id, status
             ), ev AS (
                 INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
                 SELECT $7, id, NULL, 'lead.created', 'import', NULL, status FROM ins ORDER BY id
             )
             SELECT COUNT(*) FROM ins",
        )
        .bind(campaign_id.0)
        .bind(phones)
        .bind(contacts)
        .bind(statuses)
        .bind(nexts)
        .bind(reasons)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        let inserted = inserted as u64;
        Ok(InsertReport {
            inserted,
            duplicates: n as u64 - inserted,
        })
    }

    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(lead_from_row)
            .transpose()
    }

    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }

    async fn leads_by_phone(&self, phone: &E164) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE phone = $1 ORDER BY id")
            .bind(phone.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(lead_from_row)
            .collect()
    }

    async fn leads_by_external_id(
        &self,
        campaign: CampaignId,
        external_id: &str,
    ) -> StoreResult<Vec<Lead>> {
        sqlx::query(
            "SELECT * FROM leads WHERE campaign_id = $1
               AND (contact::jsonb) ->> 'external_id' = $2 ORDER BY id",
        )
        .bind(campaign.0)
        .bind(external_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(lead_from_row)
        .collect()
    }

    async fn due_leads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lead>> {
        // A plain read: instances may list the same leads; `reserve_attempt` locks each lead
        // with SKIP LOCKED and is guarded, so each is reserved once. (The shape is the one a
        // `FOR UPDATE OF l SKIP LOCKED` claim would take.)
        sqlx::query(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= $1 AND c.active
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id::text AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT $2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(lead_from_row)
        .collect()
    }

    async fn reschedule_lead(
        &self,
        id: LeadId,
        at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(
            "UPDATE leads SET next_attempt_at = $1, status_reason = $2, updated_at = $3
             WHERE id = $4 AND status = 'active'",
        )
        .bind(ts(at))
        .bind(reason)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let detail =
            serde_json::json!({"next_attempt_at": ts_text(at), "reason": reason}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(id),
            None,
            EventKind::LeadRescheduled.as_str(),
            "scheduler",
            None,
            &detail,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(
            "UPDATE leads SET status = 'paused', next_attempt_at = NULL, status_reason = $1, updated_at = $2
             WHERE id = $3 AND status = 'active'",
        )
        .bind(reason)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(
            &mut tx,
            now,
            Some(id),
            None,
            EventKind::LeadPaused.as_str(),
            "scheduler",
            None,
            reason,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn change_lead_by_operator(
        &self,
        id: LeadId,
        change: OperatorLeadChange,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let from = change
            .from_statuses()
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        // A resumed lead is due now; a paused or removed one has no next time.
        let next = match change {
            OperatorLeadChange::Resume => Some(ts(now)),
            OperatorLeadChange::Pause | OperatorLeadChange::Remove => None,
        };
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let res = sqlx::query(&format!(
            "UPDATE leads SET status = '{}', next_attempt_at = $1, status_reason = $2, updated_at = $3
             WHERE id = $4 AND status IN ({from})",
            change.to_status()
        ))
        .bind(next)
        .bind(reason)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(
            &mut tx,
            now,
            Some(id),
            None,
            change.event().as_str(),
            "operator",
            None,
            reason,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>> {
        sqlx::query_scalar(&format!(
            "SELECT reserved_at FROM attempts
             WHERE lead_id = $1 AND state NOT IN {NOT_COUNTED}
             ORDER BY reserved_at"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        // Served by the index attempts_phone_reserved (phone, reserved_at).
        sqlx::query_scalar(&format!(
            "SELECT reserved_at FROM attempts
             WHERE phone = $1 AND reserved_at >= $2 AND state NOT IN {NOT_COUNTED}
             ORDER BY reserved_at"
        ))
        .bind(phone.as_str())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn phone_attempt_times_many(
        &self,
        phones: &[E164],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<E164, Vec<DateTime<Utc>>>> {
        let mut found: HashMap<E164, Vec<DateTime<Utc>>> = HashMap::new();
        if phones.is_empty() {
            return Ok(found);
        }
        let by_text: HashMap<&str, &E164> = phones.iter().map(|p| (p.as_str(), p)).collect();
        let asked: Vec<&str> = by_text.keys().copied().collect();
        // One statement, served by the index attempts_phone_reserved (phone, reserved_at)
        // as `phone_attempt_times`, one probe per number.
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(&format!(
            "SELECT phone, reserved_at FROM attempts
             WHERE phone = ANY($1) AND reserved_at >= $2 AND state NOT IN {NOT_COUNTED}
             ORDER BY phone, reserved_at"
        ))
        .bind(asked)
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for (phone, at) in rows {
            let key = by_text.get(phone.as_str()).ok_or_else(|| {
                StoreError::Corrupt(format!("attempt number '{phone}' was not asked for"))
            })?;
            found.entry((*key).clone()).or_default().push(at);
        }
        Ok(found)
    }

    async fn backfill_lead(
        &self,
        campaign_id: CampaignId,
        lead: &NewLead,
        past: &[outdial_store::PastAttempt],
        decision: &LeadDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<outdial_store::BackfilledLead>> {
        self.backfill_lead_tx(campaign_id, lead, past, decision, now)
            .await
    }
}
