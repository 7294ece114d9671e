//! [`outdial_store::Attempts`] on SQLite.

use super::*;

#[async_trait]
impl Attempts for SqliteStore {
    async fn reserve_attempt(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve(lead_id, now, None).await
    }

    async fn reserve_attempt_capped(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve(lead_id, now, Some(max_in_flight)).await
    }

    async fn attempt(&self, id: AttemptId) -> StoreResult<Option<Attempt>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_attempt(&mut conn, id).await
    }

    async fn lead_attempts(&self, lead_id: LeadId) -> StoreResult<Vec<Attempt>> {
        sqlx::query("SELECT * FROM attempts WHERE lead_id = ? ORDER BY id")
            .bind(lead_id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(attempt_from_row)
            .collect()
    }

    async fn mark_placed(
        &self,
        id: AttemptId,
        placement: &Placement,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(att) = fetch_attempt(&mut tx, id).await? else {
            return Ok(false);
        };
        // Store the call id whatever the state, if it is missing: a webhook may have moved
        // the attempt on first, and the id must never be lost.
        sqlx::query("UPDATE attempts SET call_id = ?, placed_at = COALESCE(placed_at, ?) WHERE id = ? AND call_id IS NULL")
            .bind(placement.call_id.as_str())
            .bind(ts(now))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let moved = matches!(att.state, AttemptState::Reserved | AttemptState::Unknown);
        if moved {
            sqlx::query(
                "UPDATE attempts SET state = 'placed', call_status = ?, updated_at = ? WHERE id = ? AND state = ?",
            )
            .bind(placement.status.as_str())
            .bind(ts(now))
            .bind(id.0)
            .bind(att.state.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            let detail = serde_json::json!({"from": att.state.as_str(), "call_id": placement.call_id.as_str()}).to_string();
            insert_event(
                &mut tx,
                now,
                Some(att.lead_id),
                Some(id),
                EventKind::Attempt(AttemptState::Placed).as_str(),
                "scheduler",
                None,
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    async fn mark_rejected(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved],
            AttemptState::Rejected,
            Some(code),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn mark_unknown(
        &self,
        id: AttemptId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved],
            AttemptState::Unknown,
            Some("ambiguous"),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn mark_not_placed(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        transition_attempt(
            &self.pool,
            id,
            &[AttemptState::Reserved, AttemptState::Unknown],
            AttemptState::NotPlaced,
            Some(code),
            Some(message),
            "scheduler",
            now,
        )
        .await
    }

    async fn apply_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome> {
        // Group commit (`group.rs`): applied in the writer's next transaction, answered after
        // its commit.
        self.events.apply(attempt_hint, event, raw, now).await
    }

    async fn request_disposition(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(
            "UPDATE attempts SET requested_disposition = ?, callback_at = ?, updated_at = ?
             WHERE id = ? AND concluded_at IS NULL",
        )
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let lead_id: i64 = sqlx::query_scalar("SELECT lead_id FROM attempts WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let detail = serde_json::json!({"disposition": disposition.as_str(), "callback_at": callback_at.map(ts)}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(LeadId(lead_id)),
            Some(id),
            EventKind::AttemptDisposition.as_str(),
            source,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn redispose_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        decision: &LeadDecision,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(att) = fetch_attempt(&mut tx, id).await? else {
            return Ok(false);
        };
        let latest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM attempts WHERE lead_id = ?")
            .bind(att.lead_id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if att.concluded_at.is_none() || latest != id.0 {
            return Ok(false);
        }
        let (status, next, reason) = decision_columns(decision);
        let (status, next) = (status.as_str(), next.map(ts));
        let res = sqlx::query(
            "UPDATE leads SET status = ?, next_attempt_at = ?, status_reason = ?, disposition = ?, updated_at = ?
             WHERE id = ? AND status <> 'dialing'",
        )
        .bind(status)
        .bind(next)
        .bind(reason)
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(att.lead_id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE attempts SET disposition = ?, requested_disposition = ?, callback_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(disposition.as_str())
        .bind(disposition.as_str())
        .bind(callback_at.map(ts))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({
            "from": att.disposition.as_ref().map(|d| d.as_str()), "to": disposition.as_str(),
            "callback_at": callback_at.map(ts), "decision": decision,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            Some(att.lead_id),
            Some(id),
            EventKind::LeadRedisposed.as_str(),
            source,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM attempts WHERE concluded_at IS NULL AND state IN {FINAL}
             ORDER BY id LIMIT ?"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ids.into_iter().map(AttemptId).collect())
    }

    async fn conclude_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        decision: &LeadDecision,
        follow_up: &[NewJob],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let res = sqlx::query(&format!(
            "UPDATE attempts SET disposition = ?, concluded_at = ?, updated_at = ?
             WHERE id = ? AND concluded_at IS NULL AND state IN {FINAL}"
        ))
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let lead_id: i64 = sqlx::query_scalar("SELECT lead_id FROM attempts WHERE id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let (status, next, reason) = decision_columns(decision);
        let (status, next) = (status.as_str(), next.map(ts));
        sqlx::query(
            "UPDATE leads SET status = ?, next_attempt_at = ?, status_reason = ?, disposition = ?, updated_at = ?
             WHERE id = ? AND status = 'dialing'",
        )
        .bind(status)
        .bind(next)
        .bind(reason)
        .bind(disposition.as_str())
        .bind(ts(now))
        .bind(lead_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"disposition": disposition.as_str(), "decision": decision})
            .to_string();
        insert_event(
            &mut tx,
            now,
            Some(LeadId(lead_id)),
            Some(id),
            EventKind::LeadConcluded.as_str(),
            "engine",
            None,
            &detail,
        )
        .await?;
        // Post-call work commits with the conclusion, or not at all. A follow-up whose dedupe
        // key exists is skipped.
        for job in follow_up {
            insert_job(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn attempts_to_reconcile(
        &self,
        reserved_before: DateTime<Utc>,
        reconciled_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        sqlx::query(&format!(
            "SELECT * FROM attempts WHERE state IN {IN_FLIGHT} AND reserved_at < ?
               AND (reconciled_at IS NULL OR reconciled_at < ?)
             ORDER BY reserved_at LIMIT ?"
        ))
        .bind(ts(reserved_before))
        .bind(ts(reconciled_before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    async fn in_flight_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(n as u64)
    }

    async fn mark_reconciled(&self, id: AttemptId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE attempts SET reconciled_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn record_attempt_price(
        &self,
        id: AttemptId,
        price: &outdial_core::CallPrice,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE attempts SET price_micros = ?, price_unit = ?, updated_at = ?
             WHERE id = ? AND price_micros IS NULL",
        )
        .bind(price.micros)
        .bind(&price.unit)
        .bind(ts(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }
}

/// Applies one provider event inside the open transaction `tx` (the body of
/// [`Attempts::apply_call_event`], run by the group-commit writer for each event of its
/// batch): records the raw event (deduplicated on its key), then advances the attempt
/// monotonically. Does not commit. Errors: the driver's, mapped by [`backend`];
/// [`StoreError::Conflict`] when the attempt changed under the transaction.
pub(crate) fn apply_in_tx<'a>(
    tx: &'a mut SqliteConnection,
    attempt_hint: Option<AttemptId>,
    event: &'a CallEvent,
    raw: &'a RawEvent,
    now: DateTime<Utc>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<EventOutcome>> + Send + 'a>> {
    // Boxed where its lifetimes are known, as `async_trait` does: the group writer's task
    // must be `Send`, which the compiler cannot prove through sqlx's executor lifetimes for
    // an unboxed `async fn`.
    Box::pin(async move {
        let by_call = sqlx::query("SELECT * FROM attempts WHERE call_id = ?")
            .bind(event.call_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let found = match by_call {
            Some(r) => Some(attempt_from_row(&r)?),
            None => match attempt_hint {
                Some(h) => fetch_attempt(&mut *tx, h)
                    .await?
                    .filter(|a| a.call_id.is_none()),
                None => None,
            },
        };
        let Some(att) = found else {
            insert_event(
                &mut *tx,
                now,
                None,
                None,
                EventKind::WebhookUnmatched.as_str(),
                &raw.source,
                Some(&raw.dedupe_key),
                &raw.payload,
            )
            .await?;
            return Ok(EventOutcome::UnknownCall);
        };
        let fresh = insert_event(
            &mut *tx,
            now,
            Some(att.lead_id),
            Some(att.id),
            EventKind::Webhook.as_str(),
            &raw.source,
            Some(&raw.dedupe_key),
            &raw.payload,
        )
        .await?;
        if !fresh {
            return Ok(EventOutcome::Duplicate);
        }
        if att.state.is_final() {
            // A late callback: kept in the log, and nothing of the ended attempt changes.
            return Ok(EventOutcome::Late { attempt_id: att.id });
        }
        let seq = event.sequence.map(i64::from);
        let Some(next) = att.state.advance(event.status) else {
            sqlx::query(
            "UPDATE attempts SET last_sequence = COALESCE(MAX(last_sequence, ?), last_sequence, ?),
                    answered_by = COALESCE(answered_by, ?), updated_at = ? WHERE id = ?",
        )
        .bind(seq)
        .bind(seq)
        .bind(event.answered_by.map(|a| a.as_str()))
        .bind(ts(now))
        .bind(att.id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
            return Ok(EventOutcome::Stale { attempt_id: att.id });
        };
        let times = EventTimes::of(event, att.reserved_at, now);
        let at = ts(times.at);
        let answered = times.answered_at.map(ts);
        let ended = next.is_final().then(|| at.clone());
        let res = sqlx::query(
        "UPDATE attempts SET state = ?, call_id = COALESCE(call_id, ?), call_status = ?,
                last_sequence = COALESCE(MAX(last_sequence, ?), last_sequence, ?),
                placed_at = COALESCE(placed_at, ?), answered_at = COALESCE(answered_at, ?),
                ended_at = COALESCE(ended_at, ?), duration_s = COALESCE(?, duration_s),
                answered_by = COALESCE(?, answered_by), sip_response_code = COALESCE(?, sip_response_code),
                updated_at = ?
         WHERE id = ? AND state = ? RETURNING *",
    )
    .bind(next.as_str())
    .bind(event.call_id.as_str())
    .bind(event.status.as_str())
    .bind(seq)
        .bind(seq)
    .bind(at.clone())
    .bind(answered)
    .bind(ended)
    .bind(event.duration_s.map(i64::from))
    .bind(event.answered_by.map(|a| a.as_str()))
    .bind(event.sip_response_code.map(i64::from))
    .bind(ts(now))
    .bind(att.id.0)
    .bind(att.state.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?;
        // The row as updated comes back with the update (`RETURNING`): no second read.
        let Some(updated) = res else {
            return Err(StoreError::Conflict(format!(
                "attempt {} changed under a transaction",
                att.id
            )));
        };
        let updated = attempt_from_row(&updated)?;
        let mut detail = serde_json::json!({
            "from": att.state.as_str(), "to": next.as_str(), "call_status": event.status.as_str(),
            "sequence": event.sequence,
        });
        if let Some(reported) = times.clamped_from {
            // The provider's instant lay outside [reservation, now]: stored clamped.
            detail["provider_at"] = serde_json::json!(reported);
            detail["stored_at"] = serde_json::json!(times.at);
        }
        let detail = detail.to_string();
        insert_event(
            &mut *tx,
            now,
            Some(att.lead_id),
            Some(att.id),
            EventKind::Attempt(next).as_str(),
            &raw.source,
            None,
            &detail,
        )
        .await?;
        Ok(EventOutcome::Applied {
            from: att.state,
            attempt: Box::new(updated),
        })
    })
}
