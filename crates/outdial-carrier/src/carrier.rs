//! The carrier's shared state, its statistics, and the server entry points.

use crate::config::CarrierConfig;
use crate::ledger::{self, LedgerEntry};
use crate::sim::{CallPlan, FinalStatus};
use chrono::{DateTime, Utc};
use outdial_clock::Clock;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Real-time timeout of one status-callback HTTP request (connect + response).
pub const CALLBACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the carrier could not start.
#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    /// The configuration is unusable; the message names the field.
    #[error("carrier configuration: {0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("carrier could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: io::Error,
    },
    /// The HTTP client for callbacks could not be built.
    #[error("carrier HTTP client: {0}")]
    Client(String),
}

/// How status callbacks are requested (`StatusCallbackMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackMethod {
    Post,
    Get,
}

/// Which non-final events the request subscribed to (`completed` is always sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventMask {
    pub initiated: bool,
    pub ringing: bool,
    pub answered: bool,
}

/// Coordination between a call's callback task and an API request that ends the call.
#[derive(Debug)]
pub(crate) struct CallbackCtl {
    /// `SequenceNumber`s the task has taken (sent, or dropped by the `lose` fault). Taken
    /// under this lock only while `ended` is false.
    pub taken: Mutex<HashSet<usize>>,
    /// Set (under `taken`'s lock) when the call is ended through the API: the task stops.
    pub ended: watch::Sender<bool>,
}

impl Default for CallbackCtl {
    fn default() -> Self {
        Self {
            taken: Mutex::default(),
            ended: watch::channel(false).0,
        }
    }
}

/// A call the carrier placed. Immutable: its status at any instant derives from `plan`; a
/// call ended through the API is replaced in the [`Book`] by a record with a shortened plan.
#[derive(Debug, Clone)]
pub(crate) struct CallRecord {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// 0-based: how many calls to `to` were placed before this one.
    pub ordinal: u64,
    pub created_at: DateTime<Utc>,
    /// Simulated milliseconds spent in the CPS queue.
    pub queue_time_ms: i64,
    pub plan: CallPlan,
    pub status_callback: Option<String>,
    pub callback_method: CallbackMethod,
    pub events: EventMask,
    /// Set for a call placed through the fake Bland (`POST /v1/calls`) or a Bland past call:
    /// what the request asked for and the call's Bland-only draws. `None`: a Twilio call.
    pub bland: Option<Arc<crate::bland::BlandCall>>,
    /// A call "made by an old system" ([`Carrier::insert_past_calls`]): listed and fetched,
    /// never in the ledger or the stats, no callbacks.
    pub past: bool,
}

/// Mutable bookkeeping behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub calls: Vec<Arc<CallRecord>>,
    pub by_sid: HashMap<String, usize>,
    /// Placed calls per `To` (the outcome stream's counter).
    pub placed_per_to: HashMap<String, u64>,
    /// Authenticated create requests per `To` (the request-fault stream's counter).
    pub requests_per_to: HashMap<String, u64>,
    /// Next free CPS slot (simulated), when `cps` is set.
    pub next_dial_slot: Option<DateTime<Utc>>,
    /// The current callback task's control, per call SID (calls with a `StatusCallback`).
    pub callbacks: HashMap<String, Arc<CallbackCtl>>,
    /// Past calls inserted per `To` (the past-call id stream's counter).
    pub past_per_to: HashMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests_unauthorized: AtomicU64,
    pub creates_rejected: AtomicU64,
    pub creates_rate_limited: AtomicU64,
    pub creates_error5xx: AtomicU64,
    pub creates_ambiguous: AtomicU64,
    pub calls_ended_by_request: AtomicU64,
    pub callbacks_sent: AtomicU64,
    pub callbacks_delivered: AtomicU64,
    pub callbacks_retried: AtomicU64,
    pub callbacks_failed: AtomicU64,
    pub callbacks_lost: AtomicU64,
    pub callbacks_duplicated: AtomicU64,
    pub callbacks_reordered: AtomicU64,
    pub creates_over_cap: AtomicU64,
    pub second_webhooks: AtomicU64,
    /// Callback tasks running: spawned, not yet done with their deliveries.
    pub callback_tasks: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct Inner {
    pub config: CarrierConfig,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
    pub book: Mutex<Book>,
    pub counters: Counters,
    pub shutdown: watch::Sender<bool>,
    pub always_busy: HashSet<String>,
    pub never_ends: HashSet<String>,
    pub invalid: HashSet<String>,
}

/// Counters of what the carrier did so far. Call counts are evaluated at the current simulated
/// instant; callback counters count what has happened (not what is scheduled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CarrierStats {
    /// Calls really placed (in the ledger), including ambiguous creates.
    pub calls_placed: u64,
    /// Placed calls that have not ended yet (queued, ringing, in progress, or never ending).
    pub calls_in_flight: u64,
    /// Ended calls by final status (`completed`, `busy`, `no-answer`, `failed`, and
    /// `canceled` for calls ended through the API before they were answered).
    pub calls_by_final_status: BTreeMap<String, u64>,
    /// Requests refused with 401 (Twilio code 20003, or Bland's "Invalid API key"), on any
    /// endpoint of either API.
    pub requests_unauthorized: u64,
    /// Creates refused with a 4xx validation error (21201, 21211, 22005, …; Bland 400s): no
    /// call placed.
    pub creates_rejected: u64,
    /// Creates answered 429 / 20429 by the `rate429` fault: no call placed.
    pub creates_rate_limited: u64,
    /// Creates answered 500 by the `error5xx` fault: no call placed.
    pub creates_error5xx: u64,
    /// Creates answered 500 by the `ambiguous` fault: the call *was* placed.
    pub creates_ambiguous: u64,
    /// Live calls ended by `POST Calls/{Sid}.json` with `Status=completed|canceled` or Bland's
    /// `POST /v1/calls/{id}/stop` (requests that changed nothing are not counted).
    pub calls_ended_by_request: u64,
    /// Status-callback HTTP requests made (Twilio callbacks and Bland webhooks), counting
    /// duplicates and retries.
    pub callbacks_sent: u64,
    /// Requests answered with a non-5xx status (Bland webhooks: with a 2xx status).
    pub callbacks_delivered: u64,
    /// Requests retried after a 5xx answer or a connection failure.
    pub callbacks_retried: u64,
    /// Callbacks given up on after the retry failed too.
    pub callbacks_failed: u64,
    /// Callbacks dropped by the `lose` fault.
    pub callbacks_lost: u64,
    /// Callbacks sent a second time by the `duplicate` fault.
    pub callbacks_duplicated: u64,
    /// Callbacks held back after the next one by the `reorder` fault (for Bland webhooks:
    /// sent with their keys in another order, and a first webhook held back after the second).
    pub callbacks_reordered: u64,
    /// Bland creates refused with 429 by a plan cap (`concurrency_cap`, `hourly_cap`,
    /// `daily_cap`): no call placed.
    pub creates_over_cap: u64,
    /// Second Bland post-call webhooks (with `corrected_transcript`) handed to delivery
    /// (counted once each, before faults: a lost one counts here and in `callbacks_lost`).
    pub second_webhooks: u64,
}

/// A fake carrier: the shared state behind the HTTP API. Cheap to clone.
///
/// Most users call [`start`]; build a `Carrier` directly to mount [`Carrier::router`] in your
/// own server. Creating calls spawns tokio tasks (status callbacks), so the router must be
/// served inside a tokio runtime.
#[derive(Clone)]
pub struct Carrier {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carrier")
            .field("account_sid", &self.inner.config.account_sid)
            .field("seed", &self.inner.config.seed)
            .finish_non_exhaustive()
    }
}

impl Carrier {
    /// A carrier with no calls, on `clock` (simulated time). Fails on an invalid
    /// configuration ([`CarrierConfig::validate`]).
    pub fn new(config: CarrierConfig, clock: Arc<dyn Clock>) -> Result<Carrier, CarrierError> {
        config.validate().map_err(CarrierError::Config)?;
        let http = reqwest::Client::builder()
            .timeout(CALLBACK_TIMEOUT)
            .connect_timeout(CALLBACK_TIMEOUT)
            .user_agent("TwilioProxy/1.1")
            .build()
            .map_err(|e| CarrierError::Client(e.to_string()))?;
        let (shutdown, _) = watch::channel(false);
        let set = |v: &[String]| v.iter().cloned().collect::<HashSet<_>>();
        Ok(Carrier {
            inner: Arc::new(Inner {
                always_busy: set(&config.always_busy),
                never_ends: set(&config.never_ends),
                invalid: set(&config.invalid),
                config,
                clock,
                http,
                book: Mutex::new(Book::default()),
                counters: Counters::default(),
                shutdown,
            }),
        })
    }

    /// The axum router serving the Twilio-shaped API (see the crate docs for the routes).
    pub fn router(&self) -> axum::Router {
        crate::api::router(self.clone())
    }

    /// The configuration this carrier runs with.
    pub fn config(&self) -> &CarrierConfig {
        &self.inner.config
    }

    /// Every call really placed, through either API, in creation order, as it stands at the
    /// clock's current simulated instant. Bland calls have their `call_id` (a UUID) as
    /// `call_sid` ([`LedgerEntry::provider`] tells them apart). Past calls
    /// ([`Carrier::insert_past_calls`]) are not in it.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        let now = self.inner.clock.now();
        self.calls()
            .iter()
            .filter(|c| !c.past)
            .map(|c| {
                let snap = c.plan.at(c.created_at, now);
                LedgerEntry {
                    call_sid: c.sid.clone(),
                    to: c.to.clone(),
                    from: c.from.clone(),
                    created_at: c.created_at,
                    answered_at: snap.answered_at,
                    ended_at: snap.end_time,
                    final_status: snap.final_status.map(|s| s.as_str().to_string()),
                }
            })
            .collect()
    }

    /// Writes [`Carrier::ledger`] as CSV to `path` (header
    /// `call_sid,to,from,created_at,answered_at,ended_at,final_status`, RFC 3339 UTC times,
    /// empty fields for `None`).
    pub fn write_ledger_csv(&self, path: impl AsRef<Path>) -> io::Result<()> {
        ledger::write_ledger_csv(&self.ledger(), path.as_ref())
    }

    /// Calls whose status-callback timeline is still running: some callback not yet sent,
    /// lost or given up on. Zero once every callback planned so far is done, so a test on a
    /// stepped clock can advance the clock past a timeline, wait for zero, and then assert
    /// exactly what arrived (nothing more is coming).
    pub fn callbacks_pending(&self) -> u64 {
        self.inner.counters.callback_tasks.load(Ordering::SeqCst)
    }

    /// What the carrier has done so far.
    pub fn stats(&self) -> CarrierStats {
        let now = self.inner.clock.now();
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut stats = CarrierStats {
            requests_unauthorized: get(&c.requests_unauthorized),
            creates_rejected: get(&c.creates_rejected),
            creates_rate_limited: get(&c.creates_rate_limited),
            creates_error5xx: get(&c.creates_error5xx),
            creates_ambiguous: get(&c.creates_ambiguous),
            calls_ended_by_request: get(&c.calls_ended_by_request),
            callbacks_sent: get(&c.callbacks_sent),
            callbacks_delivered: get(&c.callbacks_delivered),
            callbacks_retried: get(&c.callbacks_retried),
            callbacks_failed: get(&c.callbacks_failed),
            callbacks_lost: get(&c.callbacks_lost),
            callbacks_duplicated: get(&c.callbacks_duplicated),
            callbacks_reordered: get(&c.callbacks_reordered),
            creates_over_cap: get(&c.creates_over_cap),
            second_webhooks: get(&c.second_webhooks),
            ..CarrierStats::default()
        };
        for call in self.calls().iter().filter(|c| !c.past) {
            stats.calls_placed += 1;
            match call.plan.at(call.created_at, now).final_status {
                Some(s) => {
                    *stats
                        .calls_by_final_status
                        .entry(FinalStatus::as_str(s).to_string())
                        .or_default() += 1
                }
                None => stats.calls_in_flight += 1,
            }
        }
        stats
    }

    /// Stops sending callbacks: every pending callback task ends at its next wait.
    /// The router keeps answering requests.
    pub fn stop_callbacks(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub(crate) fn calls(&self) -> Vec<Arc<CallRecord>> {
        self.inner.book.lock().expect("carrier lock").calls.clone()
    }
}

/// A running carrier, from [`start`]. Call [`CarrierHandle::shutdown`] when done; dropping
/// the handle also stops the HTTP server (gracefully) but lets scheduled callbacks run out.
#[derive(Debug)]
pub struct CarrierHandle {
    carrier: Carrier,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<io::Result<()>>,
    stop_server: tokio::sync::oneshot::Sender<()>,
}

impl CarrierHandle {
    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:40123` (no trailing slash): the Twilio
    /// adapter's base URL in place of `https://api.twilio.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared carrier state.
    pub fn carrier(&self) -> &Carrier {
        &self.carrier
    }

    /// See [`Carrier::ledger`].
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.carrier.ledger()
    }

    /// See [`Carrier::write_ledger_csv`].
    pub fn write_ledger_csv(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.carrier.write_ledger_csv(path)
    }

    /// See [`Carrier::stats`].
    pub fn stats(&self) -> CarrierStats {
        self.carrier.stats()
    }

    /// See [`Carrier::callbacks_pending`].
    pub fn callbacks_pending(&self) -> u64 {
        self.carrier.callbacks_pending()
    }

    /// See [`Carrier::insert_past_calls`].
    pub fn insert_past_calls(
        &self,
        calls: &[crate::past::PastCall],
    ) -> Result<Vec<String>, crate::past::PastCallError> {
        self.carrier.insert_past_calls(calls)
    }

    /// Base URL to give outdial's Bland adapter (`[bland] api_base`): the same server as
    /// [`CarrierHandle::base_url`]; the fake Bland's routes live under `/v1/`.
    pub fn bland_base_url(&self) -> String {
        self.base_url()
    }

    /// Stops callbacks and the HTTP server (in-flight requests get up to 5 s real time).
    pub async fn shutdown(self) {
        self.carrier.stop_callbacks();
        let _ = self.stop_server.send(());
        let mut server = self.server;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

/// Starts a carrier serving the Twilio-shaped API on `listen` (use port 0 for any free port)
/// with simulated time from `clock`. Must be called inside a tokio runtime.
pub async fn start(
    config: CarrierConfig,
    clock: Arc<dyn Clock>,
    listen: SocketAddr,
) -> Result<CarrierHandle, CarrierError> {
    let carrier = Carrier::new(config, clock)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| CarrierError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| CarrierError::Bind {
        addr: listen,
        source,
    })?;
    let app = carrier.router();
    let (stop_server, stop) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
    });
    tracing::info!(%addr, "fake carrier listening");
    Ok(CarrierHandle {
        carrier,
        addr,
        server,
        stop_server,
    })
}

/// The router of `carrier`; same as [`Carrier::router`].
pub fn router(carrier: Carrier) -> axum::Router {
    crate::api::router(carrier)
}
