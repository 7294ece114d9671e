//! Past calls: call history "made by an old system", for backfill tests.
//!
//! [`Carrier::insert_past_calls`] adds finished calls that outdial never placed: they are
//! fetched and listed by their API (Bland's `GET /v1/calls/{id}` and `GET /v1/calls`, or
//! Twilio's `Calls/{Sid}.json` and `Calls.json`), but they are **not** in the ledger
//! (which holds only calls placed through the API), not in [`CarrierStats`](crate::CarrierStats),
//! not counted by the Bland plan caps, and no status callback or webhook is ever sent for
//! them.
//!
//! Timeline of a past call (simulated UTC, from its `created_at`): dialing starts 200 ms
//! later; `failed` ends 2 s after that without ringing; otherwise it rings 1 s after dialing
//! starts, and `busy` ends 3 s into ringing, `no-answer` 60 s after dialing started,
//! `canceled` 5 s into ringing, `completed` is answered 5 s into ringing and ends
//! `length_s` seconds later.

use crate::bland::BlandCall;
use crate::carrier::{CallRecord, CallbackMethod, Carrier, EventMask};
use crate::outcome::{Answerer, FinalStatus};
use crate::rng::keyed;
use crate::sim::CallPlan;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Which of the carrier's APIs a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderApi {
    /// The Twilio-shaped API under `/2010-04-01/…`; call ids `CA` + 32 hex.
    Twilio,
    /// The fake Bland under `/v1/…`; call ids are UUIDs (v4).
    Bland,
}

/// One call made before outdial, to insert with [`Carrier::insert_past_calls`].
#[derive(Debug, Clone, PartialEq)]
pub struct PastCall {
    /// Which API lists it.
    pub provider: ProviderApi,
    /// Called number, E.164.
    pub to: String,
    /// Caller id, E.164.
    pub from: String,
    /// When the call was created (simulated UTC); must not be after the clock's now.
    pub created_at: DateTime<Utc>,
    /// How it ended.
    pub final_status: FinalStatus,
    /// Who answered (only with [`FinalStatus::Completed`]): Bland reports `human` /
    /// `voicemail`, Twilio `human` / `machine_start`. `None` on a completed call: answered,
    /// no detection result.
    pub answered_by: Option<Answerer>,
    /// Talk time in seconds of a completed call (ignored otherwise).
    pub length_s: u32,
    /// Bland's `disposition_tag` (Bland calls only; ignored for Twilio).
    pub disposition_tag: Option<String>,
    /// Bland's echoed `metadata` (Bland calls only; ignored for Twilio).
    pub metadata: Map<String, Value>,
}

impl PastCall {
    /// A past call with no answerer, no talk time, no tag and no metadata.
    pub fn new(
        provider: ProviderApi,
        to: impl Into<String>,
        from: impl Into<String>,
        created_at: DateTime<Utc>,
        final_status: FinalStatus,
    ) -> Self {
        PastCall {
            provider,
            to: to.into(),
            from: from.into(),
            created_at,
            final_status,
            answered_by: None,
            length_s: 0,
            disposition_tag: None,
            metadata: Map::new(),
        }
    }
}

/// A past call that could not be inserted (nothing of the batch was inserted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("past call #{index}: {reason}")]
pub struct PastCallError {
    /// 0-based position in the batch.
    pub index: usize,
    /// What is wrong, naming the field.
    pub reason: String,
}

fn plan_of(p: &PastCall) -> CallPlan {
    let initiated_at = p.created_at + Duration::milliseconds(200);
    let ringing_at = initiated_at + Duration::seconds(1);
    let mut plan = CallPlan {
        initiated_at,
        ringing_at: Some(ringing_at),
        answered_at: None,
        ended_at: None,
        final_status: Some(p.final_status),
        answered_by: None,
        duration_s: 0,
        silent: true,
    };
    let ended_at = match p.final_status {
        FinalStatus::Failed => {
            plan.ringing_at = None;
            initiated_at + Duration::seconds(2)
        }
        FinalStatus::Busy => ringing_at + Duration::seconds(3),
        FinalStatus::NoAnswer => initiated_at + Duration::seconds(60),
        FinalStatus::Canceled => ringing_at + Duration::seconds(5),
        FinalStatus::Completed => {
            let answered_at = ringing_at + Duration::seconds(5);
            plan.answered_at = Some(answered_at);
            plan.duration_s = u64::from(p.length_s);
            plan.answered_by = p.answered_by.map(|a| match (p.provider, a) {
                (_, Answerer::Human) => "human",
                (ProviderApi::Bland, Answerer::Machine) => "voicemail",
                (ProviderApi::Twilio, Answerer::Machine) => "machine_start",
            });
            answered_at + Duration::seconds(i64::from(p.length_s))
        }
    };
    plan.ended_at = Some(ended_at);
    plan
}

impl Carrier {
    /// Adds calls "made by an old system" (see the module docs): listed and fetched, never in
    /// the ledger or stats, no webhooks. Returns their call ids, in order: Twilio `CA` + 32
    /// hex, Bland UUIDs, drawn from the seed and the number (the `n`-th past call to a
    /// number gets the same id in every run). Checks every call first:
    /// [`PastCallError`] for a `to`/`from` that is not E.164, a `created_at` after the clock's
    /// now, or `answered_by` on a call that did not complete.
    pub fn insert_past_calls(&self, calls: &[PastCall]) -> Result<Vec<String>, PastCallError> {
        let now = self.inner.clock.now();
        for (index, p) in calls.iter().enumerate() {
            let err = |reason: String| PastCallError { index, reason };
            if !crate::bland::is_e164(&p.to) {
                return Err(err(format!("to '{}' is not E.164", p.to)));
            }
            if !crate::bland::is_e164(&p.from) {
                return Err(err(format!("from '{}' is not E.164", p.from)));
            }
            if p.created_at > now {
                return Err(err(format!(
                    "created_at {} is after the carrier's now {now}",
                    p.created_at
                )));
            }
            if p.answered_by.is_some() && p.final_status != FinalStatus::Completed {
                return Err(err(format!(
                    "answered_by is set on a call that ended {}",
                    p.final_status.as_str()
                )));
            }
        }
        let mut book = self.inner.book.lock().expect("carrier lock");
        let mut ids = Vec::with_capacity(calls.len());
        for p in calls {
            let n = book.past_per_to.entry(p.to.clone()).or_insert(0);
            let mut rng = keyed(self.inner.config.seed, "past-call", &p.to, *n);
            *n += 1;
            let (sid, bland) = match p.provider {
                ProviderApi::Twilio => {
                    let a: u128 = rng.gen();
                    (format!("CA{a:032x}"), None)
                }
                ProviderApi::Bland => (
                    crate::bland::draw_uuid(&mut rng),
                    Some(Arc::new(BlandCall::past(p))),
                ),
            };
            let record = Arc::new(CallRecord {
                sid: sid.clone(),
                to: p.to.clone(),
                from: p.from.clone(),
                ordinal: 0,
                created_at: p.created_at,
                queue_time_ms: 0,
                plan: plan_of(p),
                status_callback: None,
                callback_method: CallbackMethod::Post,
                events: EventMask::default(),
                bland,
                past: true,
            });
            let idx = book.calls.len();
            book.calls.push(record);
            book.by_sid.insert(sid.clone(), idx);
            ids.push(sid);
        }
        Ok(ids)
    }
}
