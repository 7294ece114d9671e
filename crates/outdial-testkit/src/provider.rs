//! A scripted [`Provider`]: each create does what the next [`Script`] step says (accept by
//! default); the calls it accepted keep the status the test sets; fetch, list and end answer
//! from them. Creation instants come from the injected clock.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outdial_clock::Clock;
use outdial_core::{CallStatus, ProviderCallId, E164};
use outdial_providers::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider};
use std::sync::{Arc, Mutex};

/// What the scripted provider does with a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// The call is placed (`queued`).
    Accept,
    /// Refused with this Twilio error code (HTTP 400).
    Reject(u32),
    /// HTTP 429, Twilio error 20429.
    RateLimit,
    /// The call is placed, but the response is lost (HTTP 500).
    Ambiguous,
    /// HTTP 401, Twilio error 20003.
    AuthFail,
    /// The create request task panics.
    Panic,
    /// The request was never sent (no call).
    NotSent,
}

/// A placed call: `(sid, to, status, created_at)`.
pub type PlacedRecord = (String, String, CallStatus, DateTime<Utc>);

/// The provider's state; tests read and set it through [`ScriptedProvider::calls`].
#[derive(Debug, Default)]
pub struct Calls {
    /// The next creates' steps, first first; [`Calls::otherwise`] once empty.
    pub next: Vec<Script>,
    /// What a create does once the script is used up (`None`: [`Script::Accept`]).
    pub otherwise: Option<Script>,
    /// Calls placed, in creation order (SIDs `CA` + 32 digits: 1, 2, …).
    pub placed: Vec<PlacedRecord>,
    /// Every create request received.
    pub requests: Vec<PlaceCall>,
    /// Fetch and list fail as if the provider could not be reached.
    pub unreachable: bool,
    /// Each create answers after this many milliseconds of real time.
    pub delay_ms: u64,
    /// The attempt a placed call's record names, by SID, as a provider that echoes outdial's
    /// metadata reports it ([`CallSnapshot::attempt`]); untagged calls report `None`.
    pub tags: std::collections::BTreeMap<String, outdial_core::AttemptId>,
}

/// The scripted provider. Clones share their state.
#[derive(Debug, Clone)]
pub struct ScriptedProvider {
    /// The state, for tests to read and adjust.
    pub calls: Arc<Mutex<Calls>>,
    clock: Arc<dyn Clock>,
}

impl ScriptedProvider {
    /// A provider that accepts every create, on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> ScriptedProvider {
        ScriptedProvider {
            calls: Arc::default(),
            clock,
        }
    }

    /// A provider that sends nothing: every create fails as never sent, and it knows no call.
    pub fn refusing(clock: Arc<dyn Clock>) -> ScriptedProvider {
        let p = ScriptedProvider::new(clock);
        p.lock().otherwise = Some(Script::NotSent);
        p
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().expect("scripted provider lock")
    }

    /// Replaces the script of the next creates.
    pub fn script(&self, s: Vec<Script>) {
        self.lock().next = s;
    }

    /// Sets the status of placed call `sid`.
    pub fn set_status(&self, sid: &str, status: CallStatus) {
        let mut c = self.lock();
        for p in c.placed.iter_mut().filter(|p| p.0 == sid) {
            p.2 = status;
        }
    }

    /// The calls placed so far.
    pub fn placed(&self) -> Vec<PlacedRecord> {
        self.lock().placed.clone()
    }

    /// The create requests received so far.
    pub fn requests(&self) -> Vec<PlaceCall> {
        self.lock().requests.clone()
    }
}

/// A placed call as fetch answers it: final calls ended 30 s after creation; tagged with
/// its attempt when [`Calls::tags`] names one.
fn snapshot(
    p: &PlacedRecord,
    tags: &std::collections::BTreeMap<String, outdial_core::AttemptId>,
) -> CallSnapshot {
    CallSnapshot {
        attempt: tags.get(&p.0).copied(),
        call_id: ProviderCallId::parse(&p.0).expect("a valid SID"),
        to: p.1.clone(),
        status: p.2,
        created_at: Some(p.3),
        start_time: None,
        end_time: p.2.is_final().then_some(p.3 + Duration::seconds(30)),
        duration_s: p.2.is_final().then_some(30),
        answered_by: None,
        price: None,
    }
}

#[async_trait]
impl Provider for ScriptedProvider {
    fn status_callback_url(&self, public_url: &str, attempt: outdial_core::AttemptId) -> String {
        outdial_providers::twilio::webhook::status_callback_url(public_url, attempt.0)
    }

    fn webhook_source(&self) -> &'static str {
        outdial_providers::twilio::webhook::WEBHOOK_SOURCE
    }

    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let delay = self.lock().delay_ms;
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let mut c = self.lock();
        c.requests.push(req.clone());
        let script = if c.next.is_empty() {
            c.otherwise.clone().unwrap_or(Script::Accept)
        } else {
            c.next.remove(0)
        };
        let sid = format!("CA{:032}", c.placed.len() + 1);
        let now = self.clock.now();
        match script {
            Script::Accept => {
                c.placed
                    .push((sid.clone(), req.to.to_string(), CallStatus::Queued, now));
                Ok(PlacedCall {
                    call_id: ProviderCallId::parse(&sid).expect("a valid SID"),
                    status: CallStatus::Queued,
                    queue_time_ms: None,
                })
            }
            Script::Ambiguous => {
                c.placed
                    .push((sid, req.to.to_string(), CallStatus::Queued, now));
                Err(PlaceError::Ambiguous {
                    message: "HTTP 500".into(),
                })
            }
            Script::Panic => {
                drop(c);
                panic!("scripted panic in place_call");
            }
            Script::Reject(code) => Err(PlaceError::Rejected {
                reason: outdial_providers::twilio::client::reject_reason(Some(code)),
                http_status: 400,
                code: Some(code),
                message: "invalid".into(),
            }),
            Script::RateLimit => Err(PlaceError::RateLimited {
                code: Some(20429),
                message: "slow down".into(),
                retry_after_s: None,
            }),
            Script::AuthFail => Err(PlaceError::Auth {
                http_status: 401,
                code: Some(20003),
                message: "bad creds".into(),
            }),
            Script::NotSent => Err(PlaceError::NotSent {
                message: "test".into(),
            }),
        }
    }

    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let c = self.lock();
        if c.unreachable {
            return Err(FetchError::Unavailable("connection refused".into()));
        }
        let p = c
            .placed
            .iter()
            .find(|p| p.0 == call_id.as_str())
            .ok_or(FetchError::NotFound)?;
        Ok(snapshot(p, &c.tags))
    }

    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        let c = self.lock();
        if c.unreachable {
            return Err(FetchError::Unavailable("connection refused".into()));
        }
        Ok(c.placed
            .iter()
            .filter(|p| p.1 == to.as_str() && p.3 >= since)
            .map(|p| snapshot(p, &c.tags))
            .collect())
    }

    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let mut c = self.lock();
        let p = c
            .placed
            .iter_mut()
            .find(|p| p.0 == call_id.as_str())
            .ok_or(FetchError::NotFound)?;
        if !p.2.is_final() {
            p.2 = CallStatus::Completed;
        }
        let p = p.clone();
        Ok(snapshot(&p, &c.tags))
    }
}
