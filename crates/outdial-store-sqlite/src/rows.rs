//! Row mapping (a row to a record, an instant to a column) and the statements several
//! sub-trait files share (the event log insert, guarded attempt transitions, reservation).

use super::*;

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    to_micros(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp '{s}': {e}")))
}

pub(crate) fn opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn campaign_from_row(r: &SqliteRow) -> StoreResult<Campaign> {
    let settings: String = r.try_get("settings").map_err(backend)?;
    let settings: CampaignSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("campaign settings: {e}")))?;
    Ok(Campaign {
        id: CampaignId(r.try_get("id").map_err(backend)?),
        name: r.try_get("name").map_err(backend)?,
        settings,
        active: r.try_get::<i64, _>("active").map_err(backend)? == 1,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
    })
}

pub(crate) fn phone_col(r: &SqliteRow) -> StoreResult<E164> {
    let p: String = r.try_get("phone").map_err(backend)?;
    E164::from_stored(&p).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn disposition_col(r: &SqliteRow) -> StoreResult<Option<Disposition>> {
    let d: Option<String> = r.try_get("disposition").map_err(backend)?;
    Ok(d.and_then(|d| Disposition::normalise(&d)))
}

pub(crate) fn lead_from_row(r: &SqliteRow) -> StoreResult<Lead> {
    let contact: String = r.try_get("contact").map_err(backend)?;
    let contact: LeadContact = serde_json::from_str(&contact)
        .map_err(|e| StoreError::Corrupt(format!("lead contact: {e}")))?;
    let status: String = r.try_get("status").map_err(backend)?;
    Ok(Lead {
        id: LeadId(r.try_get("id").map_err(backend)?),
        campaign_id: CampaignId(r.try_get("campaign_id").map_err(backend)?),
        phone: phone_col(r)?,
        contact,
        status: LeadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("lead status '{status}'")))?,
        next_attempt_at: opt_ts(r.try_get("next_attempt_at").map_err(backend)?)?,
        status_reason: r.try_get("status_reason").map_err(backend)?,
        disposition: disposition_col(r)?,
        attempt_count: r.try_get::<i64, _>("attempt_count").map_err(backend)? as u32,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at").map_err(backend)?)?,
    })
}

pub(crate) fn attempt_from_row(r: &SqliteRow) -> StoreResult<Attempt> {
    let state: String = r.try_get("state").map_err(backend)?;
    let call_status: Option<String> = r.try_get("call_status").map_err(backend)?;
    let answered_by: Option<String> = r.try_get("answered_by").map_err(backend)?;
    let call_id: Option<String> = r.try_get("call_id").map_err(backend)?;
    Ok(Attempt {
        id: AttemptId(r.try_get("id").map_err(backend)?),
        lead_id: LeadId(r.try_get("lead_id").map_err(backend)?),
        campaign_id: CampaignId(r.try_get("campaign_id").map_err(backend)?),
        phone: phone_col(r)?,
        number: r.try_get::<i64, _>("number").map_err(backend)? as u32,
        state: AttemptState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt state '{state}'")))?,
        call_id: call_id.as_deref().and_then(ProviderCallId::parse),
        call_status: call_status.as_deref().and_then(CallStatus::parse),
        last_sequence: r
            .try_get::<Option<i64>, _>("last_sequence")
            .map_err(backend)?
            .map(|v| v as u32),
        reserved_at: parse_ts(&r.try_get::<String, _>("reserved_at").map_err(backend)?)?,
        placed_at: opt_ts(r.try_get("placed_at").map_err(backend)?)?,
        answered_at: opt_ts(r.try_get("answered_at").map_err(backend)?)?,
        ended_at: opt_ts(r.try_get("ended_at").map_err(backend)?)?,
        duration_s: r
            .try_get::<Option<i64>, _>("duration_s")
            .map_err(backend)?
            .map(|v| v as u32),
        answered_by: answered_by.as_deref().and_then(AnsweredBy::parse),
        sip_response_code: r
            .try_get::<Option<i64>, _>("sip_response_code")
            .map_err(backend)?
            .map(|v| v as u16),
        disposition: disposition_col(r)?,
        error_code: r.try_get("error_code").map_err(backend)?,
        error_message: r.try_get("error_message").map_err(backend)?,
        concluded_at: opt_ts(r.try_get("concluded_at").map_err(backend)?)?,
        reconciled_at: opt_ts(r.try_get("reconciled_at").map_err(backend)?)?,
        requested_disposition: r
            .try_get::<Option<String>, _>("requested_disposition")
            .map_err(backend)?
            .and_then(|d| Disposition::normalise(&d)),
        callback_at: opt_ts(r.try_get("callback_at").map_err(backend)?)?,
        price: outdial_core::CallPrice::from_columns(
            r.try_get("price_micros").map_err(backend)?,
            r.try_get("price_unit").map_err(backend)?,
        ),
    })
}

pub(crate) fn event_from_row(r: &SqliteRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: r.try_get("id").map_err(backend)?,
        at: parse_ts(&r.try_get::<String, _>("at").map_err(backend)?)?,
        lead_id: r
            .try_get::<Option<i64>, _>("lead_id")
            .map_err(backend)?
            .map(LeadId),
        attempt_id: r
            .try_get::<Option<i64>, _>("attempt_id")
            .map_err(backend)?
            .map(AttemptId),
        kind: r.try_get("kind").map_err(backend)?,
        source: r.try_get("source").map_err(backend)?,
        detail: r.try_get("detail").map_err(backend)?,
    })
}

pub(crate) fn dnc_from_row(r: &SqliteRow) -> StoreResult<DncEntry> {
    let scope: String = r.try_get("scope").map_err(backend)?;
    Ok(DncEntry {
        phone: phone_col(r)?,
        scope: DncScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("dnc scope '{scope}'")))?,
        source: r.try_get("source").map_err(backend)?,
        reason: r.try_get("reason").map_err(backend)?,
        added_at: parse_ts(&r.try_get::<String, _>("added_at").map_err(backend)?)?,
    })
}

pub(crate) fn kill_switch_from_row(r: &SqliteRow) -> StoreResult<KillSwitch> {
    let scope: String = r.try_get("scope").map_err(backend)?;
    Ok(KillSwitch {
        scope: KillScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("kill switch scope '{scope}'")))?,
        tripped: r.try_get::<i64, _>("tripped").map_err(backend)? == 1,
        reason: r.try_get("reason").map_err(backend)?,
        source: r.try_get("source").map_err(backend)?,
        changed_at: parse_ts(&r.try_get::<String, _>("changed_at").map_err(backend)?)?,
    })
}

pub(crate) fn job_from_row(r: &SqliteRow) -> StoreResult<Job> {
    let state: String = r.try_get("state").map_err(backend)?;
    let attempts: i64 = r.try_get("attempts").map_err(backend)?;
    Ok(Job {
        id: JobId(r.try_get("id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        payload: r.try_get("payload").map_err(backend)?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state '{state}'")))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("job attempts {attempts}")))?,
        run_at: parse_ts(&r.try_get::<String, _>("run_at").map_err(backend)?)?,
        locked_until: opt_ts(r.try_get("locked_until").map_err(backend)?)?,
        error_code: r.try_get("error_code").map_err(backend)?,
        error_message: r.try_get("error_message").map_err(backend)?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at").map_err(backend)?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at").map_err(backend)?)?,
    })
}

pub(crate) fn alert_from_row(r: &SqliteRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: AlertId(r.try_get("id").map_err(backend)?),
        kind: r.try_get("kind").map_err(backend)?,
        scope: r.try_get("scope").map_err(backend)?,
        subject: r.try_get("subject").map_err(backend)?,
        body: r.try_get("body").map_err(backend)?,
        raised_at: parse_ts(&r.try_get::<String, _>("raised_at").map_err(backend)?)?,
    })
}

/// Enqueues a job inside the caller's transaction. `None` when a job with its dedupe key
/// exists (nothing written).
pub(crate) async fn insert_job(
    conn: &mut SqliteConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES (?, ?, 'pending', 0, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(ts(job.run_at))
    .bind(ts(now))
    .bind(ts(now))
    .bind(job.dedupe_key.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(id.map(JobId))
}

pub(crate) async fn fetch_job(conn: &mut SqliteConnection, id: JobId) -> StoreResult<Option<Job>> {
    sqlx::query("SELECT * FROM jobs WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

/// Appends an event inside the caller's transaction. Returns `false` when `dedupe_key` was
/// seen before (nothing written).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_event(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    lead_id: Option<LeadId>,
    attempt_id: Option<AttemptId>,
    kind: &str,
    source: &str,
    dedupe_key: Option<&str>,
    detail: &str,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "INSERT INTO events (at, lead_id, attempt_id, kind, source, dedupe_key, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(ts(at))
    .bind(lead_id.map(|l| l.0))
    .bind(attempt_id.map(|a| a.0))
    .bind(kind)
    .bind(source)
    .bind(dedupe_key)
    .bind(detail)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(res.rows_affected() == 1)
}

pub(crate) async fn fetch_attempt(
    conn: &mut SqliteConnection,
    id: AttemptId,
) -> StoreResult<Option<Attempt>> {
    sqlx::query("SELECT * FROM attempts WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .as_ref()
        .map(attempt_from_row)
        .transpose()
}

/// A guarded attempt transition inside a transaction, with its event.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn transition_attempt(
    pool: &SqlitePool,
    id: AttemptId,
    from: &[AttemptState],
    to: AttemptState,
    code: Option<&str>,
    message: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = WriteTx::begin(pool).await?;
    let Some(att) = fetch_attempt(&mut tx, id).await? else {
        return Ok(false);
    };
    if !from.contains(&att.state) {
        return Ok(false);
    }
    let ended = to.is_final().then(|| ts(now));
    let res = sqlx::query(
        "UPDATE attempts SET state = ?, error_code = COALESCE(?, error_code),
                error_message = COALESCE(?, error_message),
                ended_at = COALESCE(ended_at, ?), updated_at = ?
         WHERE id = ? AND state = ?",
    )
    .bind(to.as_str())
    .bind(code)
    .bind(message)
    .bind(ended)
    .bind(ts(now))
    .bind(id.0)
    .bind(att.state.as_str())
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    if res.rows_affected() != 1 {
        return Ok(false);
    }
    let detail = serde_json::json!({
        "from": att.state.as_str(), "to": to.as_str(), "code": code, "message": message,
    })
    .to_string();
    insert_event(
        &mut tx,
        now,
        Some(att.lead_id),
        Some(id),
        EventKind::Attempt(to).as_str(),
        source,
        None,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

impl SqliteStore {
    /// Reserves an attempt for a due lead, optionally under a fleet-wide in-flight cap.
    pub(crate) async fn reserve(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: Option<u32>,
    ) -> StoreResult<Option<Attempt>> {
        self.reserve_within(lead_id, now, max_in_flight, None).await
    }

    /// [`Self::reserve`], and also `None` when the provider account's `caps` leave no room
    /// (checked in the same transaction, see `account_limits.rs`).
    pub(crate) async fn reserve_within(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: Option<u32>,
        caps: Option<&outdial_store::AccountCaps>,
    ) -> StoreResult<Option<Attempt>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(row) = sqlx::query(
            "SELECT * FROM leads WHERE id = ? AND status = 'active' AND next_attempt_at <= ?",
        )
        .bind(lead_id.0)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(None);
        };
        let lead = lead_from_row(&row)?;
        if let Some(max) = max_in_flight {
            let in_flight: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM attempts WHERE state IN {IN_FLIGHT}"
            ))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            if in_flight >= i64::from(max) {
                return Ok(None);
            }
        }
        if let Some(caps) = caps {
            let usage = account_usage_in(&mut tx, &caps.campaigns, &windows_of(caps)).await?;
            if !caps.has_room(&usage) {
                return Ok(None);
            }
        }
        let res = sqlx::query(
            "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, reserved_at, updated_at)
             VALUES (?, ?, ?, ?, 'reserved', ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(lead.id.0)
        .bind(lead.campaign_id.0)
        .bind(lead.phone.as_str())
        .bind(i64::from(lead.attempt_count + 1))
        .bind(ts(now))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            // The number has an attempt in flight (possibly in another campaign).
            return Ok(None);
        }
        let attempt_id = AttemptId(res.last_insert_rowid());
        sqlx::query(
            "UPDATE leads SET status = 'dialing', next_attempt_at = NULL, attempt_count = attempt_count + 1,
                    updated_at = ? WHERE id = ? AND status = 'active'",
        )
        .bind(ts(now))
        .bind(lead.id.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"number": lead.attempt_count + 1}).to_string();
        insert_event(
            &mut tx,
            now,
            Some(lead.id),
            Some(attempt_id),
            EventKind::Attempt(AttemptState::Reserved).as_str(),
            "scheduler",
            None,
            &detail,
        )
        .await?;
        let attempt = fetch_attempt(&mut tx, attempt_id).await?;
        tx.commit().await?;
        Ok(attempt)
    }
}
