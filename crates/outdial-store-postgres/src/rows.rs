//! Row mapping (a row to a record, an instant to a column) and the statements several
//! sub-trait files share (the event log insert, guarded attempt transitions, reservation).

use super::*;

/// An instant as written: truncated to whole microseconds.
pub(crate) fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    to_micros(t)
}

/// An instant as text in event details (the SQLite backend's format).
pub(crate) fn ts_text(t: DateTime<Utc>) -> String {
    to_micros(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn get<'r, T>(r: &'r PgRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    r.try_get(col).map_err(backend)
}

/// A non-negative integer column read back into a narrower type.
pub(crate) fn small<T: TryFrom<i64>>(v: i64, what: &str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is out of range")))
}

pub(crate) fn opt_small<T: TryFrom<i64>>(v: Option<i64>, what: &str) -> StoreResult<Option<T>> {
    v.map(|v| small(v, what)).transpose()
}

pub(crate) fn campaign_from_row(r: &PgRow) -> StoreResult<Campaign> {
    let settings: String = get(r, "settings")?;
    let settings: CampaignSettings = serde_json::from_str(&settings)
        .map_err(|e| StoreError::Corrupt(format!("campaign settings: {e}")))?;
    Ok(Campaign {
        id: CampaignId(get(r, "id")?),
        name: get(r, "name")?,
        settings,
        active: get(r, "active")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn phone_col(r: &PgRow) -> StoreResult<E164> {
    let p: String = get(r, "phone")?;
    E164::from_stored(&p).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn disposition_named(r: &PgRow, col: &str) -> StoreResult<Option<Disposition>> {
    let d: Option<String> = get(r, col)?;
    Ok(d.and_then(|d| Disposition::normalise(&d)))
}

pub(crate) fn lead_from_row(r: &PgRow) -> StoreResult<Lead> {
    let contact: String = get(r, "contact")?;
    let contact: LeadContact = serde_json::from_str(&contact)
        .map_err(|e| StoreError::Corrupt(format!("lead contact: {e}")))?;
    let status: String = get(r, "status")?;
    Ok(Lead {
        id: LeadId(get(r, "id")?),
        campaign_id: CampaignId(get(r, "campaign_id")?),
        phone: phone_col(r)?,
        contact,
        status: LeadStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("lead status '{status}'")))?,
        next_attempt_at: get(r, "next_attempt_at")?,
        status_reason: get(r, "status_reason")?,
        disposition: disposition_named(r, "disposition")?,
        attempt_count: small(get(r, "attempt_count")?, "lead attempt count")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

pub(crate) fn attempt_from_row(r: &PgRow) -> StoreResult<Attempt> {
    let state: String = get(r, "state")?;
    let call_status: Option<String> = get(r, "call_status")?;
    let answered_by: Option<String> = get(r, "answered_by")?;
    let call_id: Option<String> = get(r, "call_id")?;
    Ok(Attempt {
        id: AttemptId(get(r, "id")?),
        lead_id: LeadId(get(r, "lead_id")?),
        campaign_id: CampaignId(get(r, "campaign_id")?),
        phone: phone_col(r)?,
        number: small(get(r, "number")?, "attempt number")?,
        state: AttemptState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("attempt state '{state}'")))?,
        call_id: call_id.as_deref().and_then(ProviderCallId::parse),
        call_status: call_status.as_deref().and_then(CallStatus::parse),
        last_sequence: opt_small(get(r, "last_sequence")?, "attempt sequence number")?,
        reserved_at: get(r, "reserved_at")?,
        placed_at: get(r, "placed_at")?,
        answered_at: get(r, "answered_at")?,
        ended_at: get(r, "ended_at")?,
        duration_s: opt_small(get(r, "duration_s")?, "attempt duration")?,
        answered_by: answered_by.as_deref().and_then(AnsweredBy::parse),
        sip_response_code: opt_small(get(r, "sip_response_code")?, "SIP response code")?,
        disposition: disposition_named(r, "disposition")?,
        error_code: get(r, "error_code")?,
        error_message: get(r, "error_message")?,
        concluded_at: get(r, "concluded_at")?,
        reconciled_at: get(r, "reconciled_at")?,
        requested_disposition: disposition_named(r, "requested_disposition")?,
        callback_at: get(r, "callback_at")?,
        price: outdial_core::CallPrice::from_columns(
            get(r, "price_micros")?,
            get(r, "price_unit")?,
        ),
    })
}

pub(crate) fn event_from_row(r: &PgRow) -> StoreResult<EventRecord> {
    Ok(EventRecord {
        id: get(r, "id")?,
        at: get(r, "at")?,
        lead_id: get::<Option<i64>>(r, "lead_id")?.map(LeadId),
        attempt_id: get::<Option<i64>>(r, "attempt_id")?.map(AttemptId),
        kind: get(r, "kind")?,
        source: get(r, "source")?,
        detail: get(r, "detail")?,
    })
}

pub(crate) fn dnc_from_row(r: &PgRow) -> StoreResult<DncEntry> {
    let scope: String = get(r, "scope")?;
    Ok(DncEntry {
        phone: phone_col(r)?,
        scope: DncScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("dnc scope '{scope}'")))?,
        source: get(r, "source")?,
        reason: get(r, "reason")?,
        added_at: get(r, "added_at")?,
    })
}

pub(crate) fn kill_switch_from_row(r: &PgRow) -> StoreResult<KillSwitch> {
    let scope: String = get(r, "scope")?;
    Ok(KillSwitch {
        scope: KillScope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("kill switch scope '{scope}'")))?,
        tripped: get(r, "tripped")?,
        reason: get(r, "reason")?,
        source: get(r, "source")?,
        changed_at: get(r, "changed_at")?,
    })
}

pub(crate) fn job_from_row(r: &PgRow) -> StoreResult<Job> {
    let state: String = get(r, "state")?;
    Ok(Job {
        id: JobId(get(r, "id")?),
        kind: get(r, "kind")?,
        payload: get(r, "payload")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state '{state}'")))?,
        attempts: small(get(r, "attempts")?, "job attempts")?,
        run_at: get(r, "run_at")?,
        locked_until: get(r, "locked_until")?,
        error_code: get(r, "error_code")?,
        error_message: get(r, "error_message")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

pub(crate) fn alert_from_row(r: &PgRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: AlertId(get(r, "id")?),
        kind: get(r, "kind")?,
        scope: get(r, "scope")?,
        subject: get(r, "subject")?,
        body: get(r, "body")?,
        raised_at: get(r, "raised_at")?,
    })
}

/// Enqueues a job inside the caller's transaction. `None` when a job with its dedupe key
/// exists (nothing written); a concurrent enqueue of the same key waits for the other
/// transaction and then skips.
pub(crate) async fn insert_job(
    conn: &mut PgConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, state, attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES ($1, $2, 'pending', 0, $3, $4, $4, $5)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(ts(job.run_at))
    .bind(ts(now))
    .bind(job.dedupe_key.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(id.map(JobId))
}

/// A job by id; with `lock`, the row is locked (`FOR UPDATE`) until the transaction ends.
pub(crate) async fn fetch_job(
    conn: &mut PgConnection,
    id: JobId,
    lock: bool,
) -> StoreResult<Option<Job>> {
    let sql = if lock {
        "SELECT * FROM jobs WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM jobs WHERE id = $1"
    };
    sqlx::query(sql)
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
    conn: &mut PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
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

/// An attempt by id; with `lock`, the row is locked (`FOR UPDATE`) until the transaction
/// ends, so a guarded update that follows cannot lose a race.
pub(crate) async fn fetch_attempt(
    conn: &mut PgConnection,
    id: AttemptId,
    lock: bool,
) -> StoreResult<Option<Attempt>> {
    let sql = if lock {
        "SELECT * FROM attempts WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM attempts WHERE id = $1"
    };
    sqlx::query(sql)
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
    pool: &PgPool,
    id: AttemptId,
    from: &[AttemptState],
    to: AttemptState,
    code: Option<&str>,
    message: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(backend)?;
    let Some(att) = fetch_attempt(&mut tx, id, true).await? else {
        return Ok(false);
    };
    if !from.contains(&att.state) {
        return Ok(false);
    }
    let ended = to.is_final().then(|| ts(now));
    let res = sqlx::query(
        "UPDATE attempts SET state = $1, error_code = COALESCE($2, error_code),
                error_message = COALESCE($3, error_message),
                ended_at = COALESCE(ended_at, $4), updated_at = $5
         WHERE id = $6 AND state = $7",
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
    tx.commit().await.map_err(backend)?;
    Ok(true)
}

impl PgStore {
    /// Reserves an attempt for a due lead, optionally under a fleet-wide in-flight cap: with
    /// a cap, reservations take a transaction-level advisory lock so that the count and the
    /// insert are atomic across instances.
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if max_in_flight.is_some() || caps.is_some() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(RESERVE_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        if let Some(caps) = caps {
            if !caps.has_room(&account_usage_in(&mut tx, &caps.campaigns, &windows_of(caps)).await?)
            {
                return Ok(None);
            }
        }
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

        // Another instance reserving this lead holds its row: skip it rather than wait (its
        // reservation makes the lead `dialing`, so waiting would end in `None` anyway).
        let Some(row) = sqlx::query(
            "SELECT * FROM leads WHERE id = $1 AND status = 'active' AND next_attempt_at <= $2
             FOR UPDATE SKIP LOCKED",
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
        // No conflict target: covers the partial unique index on in-flight attempts.
        let Some(attempt_id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO attempts (lead_id, campaign_id, phone, number, state, reserved_at, updated_at)
             VALUES ($1, $2, $3, $4, 'reserved', $5, $5) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(lead.id.0)
        .bind(lead.campaign_id.0)
        .bind(lead.phone.as_str())
        .bind(i64::from(lead.attempt_count) + 1)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            // The number has an attempt in flight (possibly in another campaign).
            return Ok(None);
        };
        let attempt_id = AttemptId(attempt_id);
        sqlx::query(
            "UPDATE leads SET status = 'dialing', next_attempt_at = NULL, attempt_count = attempt_count + 1,
                    updated_at = $1 WHERE id = $2 AND status = 'active'",
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
        let attempt = fetch_attempt(&mut tx, attempt_id, false).await?;
        tx.commit().await.map_err(backend)?;
        Ok(attempt)
    }
}
