//! [`outdial_store::Leads`] on SQLite.

use super::*;

#[async_trait]
impl Leads for SqliteStore {
    async fn insert_leads(
        &self,
        campaign_id: CampaignId,
        leads: &[(NewLead, LeadPlacement)],
        now: DateTime<Utc>,
    ) -> StoreResult<InsertReport> {
        if leads.is_empty() {
            return Ok(InsertReport::default());
        }
        // Multi-row statements keep the transaction short (the write lock is held while it
        // runs, and a webhook in `serve` may be waiting for it).
        let mut tx = WriteTx::begin(&self.pool).await?;
        // The write lock is ours: the leads this transaction inserts are exactly those with
        // an id above the largest before it (ids are rowids, never reused below the maximum).
        let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM leads")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let now_text = ts(now);
        let mut report = InsertReport::default();
        for chunk in leads.chunks(LEAD_ROWS_PER_INSERT) {
            let sql = lead_insert_sql(chunk.len());
            let mut q = sqlx::query(&sql);
            for (lead, placement) in chunk {
                let contact = serde_json::to_string(&lead.contact)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let (status, next, reason) = match placement {
                    LeadPlacement::Active(at) => ("active", Some(ts(*at)), None),
                    LeadPlacement::Paused(reason) => ("paused", None, Some(reason.as_str())),
                };
                q = q
                    .bind(campaign_id.0)
                    .bind(lead.phone.as_str())
                    .bind(contact)
                    .bind(status)
                    .bind(next)
                    .bind(reason)
                    .bind(now_text.as_str())
                    .bind(now_text.as_str());
            }
            // Rows are not returned one by one (each would cross to the connection's thread
            // and back): the skipped duplicates are the rows not affected.
            let created = q.execute(&mut *tx).await.map_err(backend)?.rows_affected();
            report.inserted += created;
            report.duplicates += chunk.len() as u64 - created;
        }
        if report.inserted > 0 {
            // One `lead.created` event per inserted lead, in id order.
            sqlx::query(
                "INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
                 SELECT ?, id, NULL, 'lead.created', 'import', NULL, status FROM leads
                 WHERE id > ? ORDER BY id",
            )
            .bind(now_text.as_str())
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(lead_from_row)
            .transpose()
    }

    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>> {
        sqlx::query("SELECT * FROM leads WHERE id > ? ORDER BY id LIMIT ?")
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
        sqlx::query("SELECT * FROM leads WHERE phone = ? ORDER BY id")
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
            "SELECT * FROM leads WHERE campaign_id = ?
               AND json_extract(contact, '$.external_id') = ? ORDER BY id",
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
        sqlx::query(
            "SELECT l.* FROM leads l JOIN campaigns c ON c.id = l.campaign_id
             WHERE l.status = 'active' AND l.next_attempt_at <= ? AND c.active = 1
               AND NOT EXISTS (SELECT 1 FROM kill_switches k
                               WHERE k.scope = 'campaign:' || l.campaign_id AND k.tripped)
             ORDER BY l.next_attempt_at, l.id LIMIT ?",
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
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE leads SET next_attempt_at = ?, status_reason = ?, updated_at = ?
             WHERE id = ? AND status = 'active'",
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
        let detail = serde_json::json!({"next_attempt_at": ts(at), "reason": reason}).to_string();
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
        tx.commit().await?;
        Ok(true)
    }

    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE leads SET status = 'paused', next_attempt_at = NULL, status_reason = ?, updated_at = ?
             WHERE id = ? AND status = 'active'",
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
        tx.commit().await?;
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
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(&format!(
            "UPDATE leads SET status = '{}', next_attempt_at = ?, status_reason = ?, updated_at = ?
             WHERE id = ? AND status IN ({from})",
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
        tx.commit().await?;
        Ok(true)
    }

    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>> {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT reserved_at FROM attempts WHERE lead_id = ? AND state NOT IN {NOT_COUNTED}
             ORDER BY reserved_at"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|s| parse_ts(s)).collect()
    }

    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        // Served by the index attempts_phone_reserved (phone, reserved_at).
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT reserved_at FROM attempts
             WHERE phone = ? AND reserved_at >= ? AND state NOT IN {NOT_COUNTED}
             ORDER BY reserved_at"
        ))
        .bind(phone.as_str())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(|s| parse_ts(s)).collect()
    }

    async fn phone_attempt_times_many(
        &self,
        phones: &[E164],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<E164, Vec<DateTime<Utc>>>> {
        let by_text: HashMap<&str, &E164> = phones.iter().map(|p| (p.as_str(), p)).collect();
        let mut found: HashMap<E164, Vec<DateTime<Utc>>> = HashMap::new();
        let mut seen: HashSet<&str> = HashSet::with_capacity(by_text.len());
        for chunk in phones.chunks(PHONES_PER_LOOKUP) {
            // A number repeated in an earlier chunk has its answer already.
            let asked: Vec<&E164> = chunk.iter().filter(|p| seen.insert(p.as_str())).collect();
            if asked.is_empty() {
                continue;
            }
            // Served by the index attempts_phone_reserved (phone, reserved_at), as
            // `phone_attempt_times`, one probe per number.
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT phone, reserved_at FROM attempts
                 WHERE phone IN (SELECT value FROM json_each(?)) AND reserved_at >= ?
                   AND state NOT IN {NOT_COUNTED}
                 ORDER BY phone, reserved_at"
            ))
            .bind(phones_json(asked.iter().copied()))
            .bind(ts(since))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            for (phone, at) in rows {
                let key = by_text.get(phone.as_str()).ok_or_else(|| {
                    StoreError::Corrupt(format!("attempt number '{phone}' was not asked for"))
                })?;
                found
                    .entry((*key).clone())
                    .or_default()
                    .push(parse_ts(&at)?);
            }
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
