//! [`outdial_store::Jobs`] on PostgreSQL.

use super::*;

#[async_trait]
impl Jobs for PgStore {
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Option<JobId>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert_job(&mut conn, job, now).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        let until = claim_until(now, lock_for)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The candidates are locked with SKIP LOCKED, so workers of every instance claiming
        // together take disjoint jobs instead of waiting for each other; a row another
        // claim changed first is re-checked against the WHERE clause when it is locked. The
        // CTE is evaluated once, so LIMIT bounds the claim. A running job was claimed at or
        // after its run_at, so an expired claim also has run_at <= now; the bound lets the
        // partial index jobs_claimable serve both kinds.
        let mut jobs = sqlx::query(
            "WITH due AS MATERIALIZED (
                 SELECT id FROM jobs
                 WHERE state IN ('pending', 'running') AND run_at <= $3
                   AND (state = 'pending' OR locked_until < $3)
                 ORDER BY run_at, id LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = $1,
                    locked_by = $2, updated_at = $3
             WHERE id IN (SELECT id FROM due)
             RETURNING *",
        )
        .bind(ts(until))
        .bind(worker)
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(job_from_row)
        .collect::<StoreResult<Vec<Job>>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn finish_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'done', locked_until = NULL, locked_by = NULL, updated_at = $1
             WHERE id = $2 AND state = 'running'",
        )
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn retry_job(
        &self,
        id: JobId,
        run_at: DateTime<Utc>,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = $1, locked_until = NULL, locked_by = NULL,
                    error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $5 AND state = 'running'",
        )
        .bind(ts(run_at))
        .bind(error_code)
        .bind(error_message)
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn dead_letter_job(
        &self,
        id: JobId,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(job) = fetch_job(&mut tx, id, true).await? else {
            return Ok(false);
        };
        if !matches!(job.state, JobState::Pending | JobState::Running) {
            return Ok(false);
        }
        let res = sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_until = NULL, locked_by = NULL,
                    error_code = $1, error_message = $2, updated_at = $3
             WHERE id = $4 AND state = $5",
        )
        .bind(error_code)
        .bind(error_message)
        .bind(ts(now))
        .bind(id.0)
        .bind(job.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let detail = serde_json::json!({
            "job_id": id.0, "kind": job.kind, "from": job.state.as_str(),
            "attempts": job.attempts, "error_code": error_code, "error_message": error_message,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            EventKind::JobDead.as_str(),
            JOBS_SOURCE,
            None,
            &detail,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = $1, attempts = 0, updated_at = $1
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_job(&mut conn, id, false).await
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>> {
        // The state is written into the statement (one of four fixed words), so that every
        // plan, generic ones included, can use the partial index jobs_dead for dead letters.
        let filter = state
            .map(|s| format!("WHERE state = '{}'", s.as_str()))
            .unwrap_or_default();
        sqlx::query(&format!(
            "SELECT * FROM jobs {filter} ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(job_from_row)
        .collect()
    }

    async fn job_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter()
            .map(|(k, v)| Ok((k, small(v, "job count")?)))
            .collect()
    }
}
