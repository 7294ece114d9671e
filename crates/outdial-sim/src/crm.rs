//! The outside world of durable jobs: a fake CRM that receives post-call work and a fake
//! alert channel. Both live outside the engine's process (they survive its crashes), fail
//! transiently at a seeded rate, and record what they received, so the end checks can see
//! that no conclusion's post-call work and no alert was lost.

use async_trait::async_trait;
use outdial_carrier::rng::keyed;
use outdial_core::AttemptId;
use outdial_engine::jobs::{payload_id, JobError, JobHandler};
use outdial_store::{Job, Store};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Job kind of the post-call work the simulated campaign enqueues.
pub const POST_CALL_JOB: &str = "sim.post_call";
/// Job kind (channel) of alert deliveries.
pub const ALERT_JOB: &str = "sim.alert";

#[derive(Debug)]
struct State {
    seed: u64,
    p_fail: f64,
    draws: u64,
    post_call: BTreeMap<AttemptId, u32>,
    alerts: BTreeMap<i64, u32>,
    failures: u64,
}

/// What the CRM and the alert channel received.
#[derive(Debug)]
pub struct Crm(Mutex<State>);

impl Crm {
    /// A CRM failing each delivery with probability `p_fail`.
    pub fn new(seed: u64, p_fail: f64) -> Arc<Crm> {
        Arc::new(Crm(Mutex::new(State {
            seed,
            p_fail,
            draws: 0,
            post_call: BTreeMap::new(),
            alerts: BTreeMap::new(),
            failures: 0,
        })))
    }

    fn fails(&self) -> bool {
        let mut g = self.0.lock().expect("crm lock");
        g.draws += 1;
        let fail = keyed(g.seed, "crm", "", g.draws).gen_bool(g.p_fail);
        if fail {
            g.failures += 1;
        }
        fail
    }

    /// Attempts whose post-call work arrived, with how many times.
    pub fn post_call(&self) -> BTreeMap<AttemptId, u32> {
        self.0.lock().expect("crm lock").post_call.clone()
    }

    /// Alerts delivered, with how many times.
    pub fn alerts(&self) -> BTreeMap<i64, u32> {
        self.0.lock().expect("crm lock").alerts.clone()
    }

    /// Transient failures injected.
    pub fn failures(&self) -> u64 {
        self.0.lock().expect("crm lock").failures
    }
}

fn transient(code: &str, message: String) -> JobError {
    JobError::Transient {
        code: code.into(),
        message,
    }
}

/// Handler of [`POST_CALL_JOB`]: loads the attempt by id (ids only in the payload) and hands
/// it to the CRM.
#[derive(Debug)]
pub struct PostCallHandler(pub Arc<Crm>);

#[async_trait]
impl JobHandler for PostCallHandler {
    async fn run(&self, store: &dyn Store, job: &Job) -> Result<(), JobError> {
        let id = AttemptId(payload_id(job, "attempt_id")?);
        let attempt = store
            .attempt(id)
            .await
            .map_err(|e| transient("store", e.to_string()))?
            .ok_or_else(|| JobError::Permanent {
                code: "missing".into(),
                message: format!("attempt {id} does not exist"),
            })?;
        if attempt.concluded_at.is_none() {
            return Err(JobError::Permanent {
                code: "not-concluded".into(),
                message: format!("post-call work for attempt {id}, which is not concluded"),
            });
        }
        if self.0.fails() {
            return Err(transient("http-503", "the CRM is unavailable".into()));
        }
        *self
            .0
             .0
            .lock()
            .expect("crm lock")
            .post_call
            .entry(id)
            .or_default() += 1;
        Ok(())
    }
}

/// Handler of [`ALERT_JOB`]: delivers an alert by id.
#[derive(Debug)]
pub struct AlertHandler(pub Arc<Crm>);

#[async_trait]
impl JobHandler for AlertHandler {
    async fn run(&self, _store: &dyn Store, job: &Job) -> Result<(), JobError> {
        let id = payload_id(job, "alert_id")?;
        if self.0.fails() {
            return Err(transient("smtp-421", "the mail relay is busy".into()));
        }
        *self
            .0
             .0
            .lock()
            .expect("crm lock")
            .alerts
            .entry(id)
            .or_default() += 1;
        Ok(())
    }
}
