//! Durable jobs: post-call work (CRM notifications) and alert deliveries, stored as rows
//! that carry ids only, run by [`Engine::run_jobs`], retried with exponential backoff and
//! dead-lettered with an error code and message.
//!
//! A job's life: enqueued (`pending`, in the same transaction as the work that needs it) →
//! claimed by one worker for `lock_for_s` (`running`; if the worker dies, the claim expires
//! and another takes it) → `done`; or, on a transient failure, `pending` again at
//! `now + backoff_base_s × 2^(attempts-1)` (capped at `backoff_cap_s`) until `max_attempts`;
//! then, or at once on a permanent failure, an undecodable payload or an unknown kind,
//! `dead` with `error_code` and `error_message`. A dead job never runs again unless an
//! operator requeues it (`outdial jobs requeue ID`). Handlers must be idempotent: a job
//! whose worker died after the work but before `finish_job` runs again.

use crate::{Engine, EngineError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outdial_store::{Job, NewAlert, Store};
use serde::Serialize;

/// Settings of the job runner. Durations are clock seconds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Claims after which a failing job is dead-lettered. Default 8.
    pub max_attempts: u32,
    /// First retry delay, seconds. Default 30.
    pub backoff_base_s: i64,
    /// Longest retry delay, seconds. Default 3600.
    pub backoff_cap_s: i64,
    /// How long a claim lasts before another worker may take the job, seconds. Default 300.
    #[serde(skip)]
    pub lock_for_s: i64,
    /// Most jobs claimed per step. Default 20.
    #[serde(skip)]
    pub batch: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_attempts: 8,
            backoff_base_s: 30,
            backoff_cap_s: 3600,
            lock_for_s: 300,
            batch: 20,
        }
    }
}

impl JobsConfig {
    /// Delay before the next try of a job that has been claimed `attempts` times.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let secs = self
            .backoff_base_s
            .saturating_mul(1_i64 << exp)
            .min(self.backoff_cap_s);
        Duration::seconds(secs.max(1))
    }
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The payload is not what the kind expects: dead-lettered at once (`bad_payload`).
    #[error("payload cannot be decoded: {0}")]
    BadPayload(String),
    /// Worth retrying later (timeouts, 5xx, SMTP 4xx).
    #[error("{code}: {message}")]
    Transient {
        /// Short code (`http-503`, `smtp-421`, `connect`).
        code: String,
        /// Details.
        message: String,
    },
    /// Retrying cannot help (HTTP 4xx, SMTP 5xx, a record that no longer exists).
    #[error("{code}: {message}")]
    Permanent {
        /// Short code.
        code: String,
        /// Details.
        message: String,
    },
}

/// Runs jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync + std::fmt::Debug {
    /// Does the job's work. Must be idempotent (it may run again after a crash).
    async fn run(&self, store: &dyn Store, job: &Job) -> Result<(), JobError>;
}

/// What one [`Engine::run_jobs`] step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobsReport {
    /// Jobs finished.
    pub done: u32,
    /// Jobs put back for a retry.
    pub retried: u32,
    /// Jobs dead-lettered.
    pub dead: u32,
}

/// Reads a payload field holding an id (`{"attempt_id": 12}`).
pub fn payload_id(job: &Job, field: &str) -> Result<i64, JobError> {
    let v: serde_json::Value = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::BadPayload(format!("not JSON: {e}")))?;
    v.get(field)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| JobError::BadPayload(format!("no integer field '{field}'")))
}

impl Engine {
    /// One job-runner step at `now`: claims due jobs and runs each through its handler.
    /// Errors are those of the store; a handler's failure is recorded on the job.
    pub async fn run_jobs(&self, now: DateTime<Utc>) -> Result<JobsReport, EngineError> {
        let cfg = &self.config.jobs;
        let jobs = self
            .store
            .claim_jobs(
                &self.config.instance_id,
                now,
                Duration::seconds(cfg.lock_for_s),
                cfg.batch,
            )
            .await?;
        let mut report = JobsReport::default();
        for job in jobs {
            let kind: &str = if self.job_handlers.contains_key(&job.kind) {
                &job.kind
            } else {
                "unknown"
            };
            let result = match self.job_handlers.get(&job.kind) {
                None => Err(JobError::Permanent {
                    code: "unknown_kind".into(),
                    message: format!("no handler for job kind '{}'", job.kind),
                }),
                Some(h) => h.run(&*self.store, &job).await,
            };
            let now = self.clock.now();
            let (code, message, retry) = match result {
                Ok(()) => {
                    self.store.finish_job(job.id, now).await?;
                    self.metrics.job_run(kind, "done");
                    report.done += 1;
                    continue;
                }
                Err(JobError::BadPayload(m)) => ("bad_payload".to_string(), m, false),
                Err(JobError::Permanent { code, message }) => (code, message, false),
                Err(JobError::Transient { code, message }) => {
                    let retry = job.attempts < cfg.max_attempts;
                    (code, message, retry)
                }
            };
            if retry {
                let at = now + cfg.backoff(job.attempts);
                tracing::warn!(job = %job.id, kind = %job.kind, %code, %message, retry_at = %at, "job failed; retrying later");
                self.store
                    .retry_job(job.id, at, &code, &message, now)
                    .await?;
                self.metrics.job_run(kind, "retry");
                report.retried += 1;
            } else {
                tracing::error!(job = %job.id, kind = %job.kind, %code, %message, attempts = job.attempts, "job dead-lettered");
                self.store
                    .dead_letter_job(job.id, &code, &message, now)
                    .await?;
                self.metrics.job_run(kind, "dead");
                report.dead += 1;
                // Tell operators, except about alert deliveries themselves (no loops).
                if !job.kind.starts_with("alert.") {
                    self.raise_alert(NewAlert {
                        kind: "job.dead".into(),
                        scope: "global".into(),
                        subject: format!("outdial job {} ({}) dead-lettered: {code}", job.id, job.kind),
                        body: format!(
                            "Job {} of kind {} failed after {} attempt(s) and will not run again.\n\nError: {code}: {message}\nPayload: {}\n\nWhat to do: fix the cause (receiver down, credentials, a bad record), then requeue it with `outdial jobs requeue {}`. List dead jobs with `outdial jobs list --state dead`.\n",
                            job.id, job.kind, job.attempts, job.payload, job.id
                        ),
                        dedupe_key: Some(format!("job.dead:{}:{}", job.id, job.attempts)),
                    })
                    .await?;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = JobsConfig::default();
        assert_eq!(c.backoff(1), Duration::seconds(30));
        assert_eq!(c.backoff(2), Duration::seconds(60));
        assert_eq!(c.backoff(4), Duration::seconds(240));
        assert_eq!(c.backoff(20), Duration::seconds(3600));
        assert_eq!(c.backoff(0), Duration::seconds(30));
    }
}
