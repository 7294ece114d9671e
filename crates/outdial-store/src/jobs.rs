//! Durable jobs: the records and the [`Jobs`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Identifier of a durable job (row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is in its life: `pending` (waits for `run_at`) → `running` (claimed by a
/// worker until `locked_until`) → `done`, or back to `pending` for a retry, or `dead` (a
/// dead letter, kept with its error until an operator requeues it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at`.
    Pending,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Dead letter.
    Dead,
}

impl JobState {
    /// Stored form: `pending`, `running`, `done`, `dead`.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    /// Parses [`JobState::as_str`]'s form.
    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            _ => return None,
        })
    }
}

/// A job to enqueue. Its payload carries ids only (`{"attempt_id": 12}`,
/// `{"alert_id": 3}`): the handler loads the records when it runs, so a retried job never
/// acts on stale copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewJob {
    /// Handler name (`alert.email`, `alert.chat`, `attempt.concluded`, …).
    pub kind: String,
    /// JSON object of ids.
    pub payload: String,
    /// Earliest run time, UTC.
    pub run_at: DateTime<Utc>,
    /// When set, a second job with the same key is not enqueued.
    pub dedupe_key: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Row id.
    pub id: JobId,
    /// Handler name.
    pub kind: String,
    /// JSON payload of ids, as enqueued (never rewritten).
    pub payload: String,
    /// State.
    pub state: JobState,
    /// How many times a worker has claimed it.
    pub attempts: u32,
    /// Earliest next run, UTC.
    pub run_at: DateTime<Utc>,
    /// While `running`: when the claim expires and another worker may take it, UTC.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last error's code (`smtp-550`, `http-503`, `bad_payload`, `unknown_kind`, …).
    pub error_code: Option<String>,
    /// Last error's message.
    pub error_message: Option<String>,
    /// Enqueued at, UTC.
    pub created_at: DateTime<Utc>,
    /// Last changed at, UTC.
    pub updated_at: DateTime<Utc>,
}

/// Durable jobs (post-call work, alert delivery): enqueue, claim, finish, retry, dead-letter. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Enqueues a job. Returns its id, or `None` when a job with the same `dedupe_key`
    /// exists (in any state). Errors: [`StoreError::Unavailable`].
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Option<JobId>>;

    /// Claims up to `limit` jobs for `worker`: `pending` jobs with `run_at <= now`, and
    /// `running` jobs whose claim expired (`locked_until < now`: their worker died), oldest
    /// `run_at` first. Each becomes `running` with `attempts + 1` and `locked_until = now +
    /// lock_for`. Exclusive: two workers never hold the same job at once.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;

    /// `running` → `done`. Guarded: `false` if the job is not running.
    async fn finish_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// `running` → `pending` at `run_at`, keeping the error. Guarded: `false` if not running.
    async fn retry_job(
        &self,
        id: JobId,
        run_at: DateTime<Utc>,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// `running` (or `pending`) → `dead`, with the error, and a `job.dead` event. Guarded:
    /// `false` if the job is done or already dead.
    async fn dead_letter_job(
        &self,
        id: JobId,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Operator action: `dead` → `pending` now, attempts reset to 0, error kept. Guarded:
    /// `false` if the job is not dead.
    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// One job.
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;

    /// Jobs in `state` (every state: `None`), newest first, at most `limit`.
    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>>;

    /// Number of jobs by state ([`JobState::as_str`]); states with none are absent.
    async fn job_counts(&self) -> StoreResult<BTreeMap<String, u64>>;
}
