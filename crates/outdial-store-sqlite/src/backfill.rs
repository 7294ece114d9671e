//! [`outdial_store::Leads::backfill_lead`] on SQLite: a lead and its past calls in one
//! transaction. Past attempts are keyed by the unique `attempts.call_id` (migration 0001), so
//! a call id already stored is left out (`ON CONFLICT (call_id) DO NOTHING`).

use super::*;
use outdial_store::{check_past_attempts, BackfilledLead, PastAttempt, BACKFILL_SOURCE};

impl SqliteStore {
    /// See [`outdial_store::Leads::backfill_lead`].
    pub(crate) async fn backfill_lead_tx(
        &self,
        campaign_id: CampaignId,
        lead: &NewLead,
        past: &[PastAttempt],
        decision: &LeadDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BackfilledLead>> {
        check_past_attempts(past)?;
        let mut past: Vec<&PastAttempt> = past.iter().collect();
        past.sort_by(|a, b| (a.started_at, &a.call_id).cmp(&(b.started_at, &b.call_id)));
        let contact =
            serde_json::to_string(&lead.contact).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (status, next, reason) = decision_columns(decision);
        let last_disposition = past.last().map(|p| p.disposition.as_str());
        let mut tx = WriteTx::begin(&self.pool).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO leads (campaign_id, phone, contact, status, next_attempt_at, status_reason,
                                disposition, attempt_count, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
             ON CONFLICT (campaign_id, phone) DO NOTHING RETURNING id",
        )
        .bind(campaign_id.0)
        .bind(lead.phone.as_str())
        .bind(contact)
        .bind(status.as_str())
        .bind(next.map(ts))
        .bind(reason)
        .bind(last_disposition)
        .bind(ts(now))
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(id) = id else {
            // The campaign has the number: nothing is written (the transaction rolls back).
            return Ok(None);
        };
        let lead_id = LeadId(id);
        insert_event(
            &mut tx,
            now,
            Some(lead_id),
            None,
            "lead.created",
            BACKFILL_SOURCE,
            None,
            status.as_str(),
        )
        .await?;
        let (mut attempts, mut known_calls) = (0u32, 0u32);
        for p in past {
            let res = sqlx::query(
                "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, call_id, call_status,
                                       reserved_at, placed_at, answered_at, ended_at, duration_s,
                                       answered_by, disposition, concluded_at, updated_at)
                 VALUES (?, ?, ?, ?, 'ended', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (call_id) DO NOTHING",
            )
            .bind(id)
            .bind(campaign_id.0)
            .bind(lead.phone.as_str())
            .bind(i64::from(attempts + 1))
            .bind(p.call_id.as_str())
            .bind(p.status.as_str())
            .bind(ts(p.started_at))
            .bind(ts(p.started_at))
            .bind(p.answered_at.map(ts))
            .bind(ts(p.ended_at))
            .bind(p.duration_s.map(i64::from))
            .bind(p.answered_by.map(|a| a.as_str()))
            .bind(p.disposition.as_str())
            .bind(ts(now))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if res.rows_affected() != 1 {
                known_calls += 1;
                continue;
            }
            attempts += 1;
            let detail = serde_json::json!({
                "backfilled": true, "call_id": p.call_id.as_str(), "call_status": p.status.as_str(),
                "disposition": p.disposition.as_str(), "number": attempts,
            })
            .to_string();
            insert_event(
                &mut tx,
                now,
                Some(lead_id),
                Some(AttemptId(res.last_insert_rowid())),
                EventKind::Attempt(AttemptState::Ended).as_str(),
                BACKFILL_SOURCE,
                None,
                &detail,
            )
            .await?;
        }
        sqlx::query("UPDATE leads SET attempt_count = ? WHERE id = ?")
            .bind(i64::from(attempts))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let detail = serde_json::json!({
            "backfilled": true, "disposition": last_disposition, "decision": decision,
            "attempts": attempts, "known_calls": known_calls,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            Some(lead_id),
            None,
            EventKind::LeadConcluded.as_str(),
            BACKFILL_SOURCE,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(BackfilledLead {
            lead_id,
            attempts,
            known_calls,
        }))
    }
}
