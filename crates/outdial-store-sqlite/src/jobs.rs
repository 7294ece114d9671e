//! [`outdial_store::Jobs`] on SQLite.

use super::*;

#[async_trait]
impl Jobs for SqliteStore {
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
        // One statement on the one connection: no other claim can interleave. A running job
        // was claimed at or after its run_at, so an expired claim also has run_at <= now;
        // the bound lets the partial index jobs_claimable serve both kinds.
        let mut jobs = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = ?,
                    locked_by = ?, updated_at = ?
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE state IN ('pending', 'running') AND run_at <= ?
                   AND (state = 'pending' OR locked_until < ?)
                 ORDER BY run_at, id LIMIT ?)
             RETURNING *",
        )
        .bind(ts(until))
        .bind(worker)
        .bind(ts(now))
        .bind(ts(now))
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
            "UPDATE jobs SET state = 'done', locked_until = NULL, locked_by = NULL, updated_at = ?
             WHERE id = ? AND state = 'running'",
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
            "UPDATE jobs SET state = 'pending', run_at = ?, locked_until = NULL, locked_by = NULL,
                    error_code = ?, error_message = ?, updated_at = ?
             WHERE id = ? AND state = 'running'",
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
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(job) = fetch_job(&mut tx, id).await? else {
            return Ok(false);
        };
        if !matches!(job.state, JobState::Pending | JobState::Running) {
            return Ok(false);
        }
        let res = sqlx::query(
            "UPDATE jobs SET state = 'dead', locked_until = NULL, locked_by = NULL,
                    error_code = ?, error_message = ?, updated_at = ?
             WHERE id = ? AND state = ?",
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
        tx.commit().await?;
        Ok(true)
    }

    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = ?, attempts = 0, updated_at = ?
             WHERE id = ? AND state = 'dead'",
        )
        .bind(ts(now))
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(res.rows_affected() == 1)
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        fetch_job(&mut conn, id).await
    }

    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>> {
        // The state is written into the statement (one of four fixed words), so that the
        // planner can use the partial index jobs_dead for dead letters.
        let filter = state
            .map(|s| format!("WHERE state = '{}'", s.as_str()))
            .unwrap_or_default();
        sqlx::query(&format!(
            "SELECT * FROM jobs {filter} ORDER BY id DESC LIMIT ?"
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
        Ok(rows.into_iter().map(|(k, v)| (k, v as u64)).collect())
    }
}
