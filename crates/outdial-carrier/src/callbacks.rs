//! Status callbacks: which ones a call fires, with which faults, and their delivery.

use crate::carrier::{CallRecord, CallbackCtl, CallbackMethod, Counters, Inner};
use crate::config::FaultSpec;
use crate::sim::{rng_for, Stream};
use chrono::{DateTime, Duration, Utc};
use outdial_providers::twilio::signature::compute_signature;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;

/// One callback request to make (maybe twice), at a simulated instant.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The event's `SequenceNumber`: identifies the delivery across re-schedules.
    pub seq: usize,
    /// When to send it (simulated).
    pub at: DateTime<Utc>,
    /// Form parameters.
    pub params: Vec<(String, String)>,
    /// Dropped by the `lose` fault: only counted, never sent.
    pub lost: bool,
    /// Sent twice by the `duplicate` fault.
    pub duplicate: bool,
    /// Held back after the next callback by the `reorder` fault.
    pub reordered: bool,
}

/// One event the call fires to its status callback, in firing order.
struct Fired {
    at: DateTime<Utc>,
    status: &'static str,
    is_final: bool,
    with_answered_by: bool,
}

/// The events the call fires to its callback, in firing order (`SequenceNumber` order).
fn fired_events(rec: &CallRecord) -> Vec<Fired> {
    let p = &rec.plan;
    let mut out = Vec::new();
    if p.silent {
        return out;
    }
    if rec.events.initiated && p.ended_at.is_none_or(|end| p.initiated_at <= end) {
        out.push(Fired {
            at: p.initiated_at,
            status: "initiated",
            is_final: false,
            with_answered_by: false,
        });
    }
    if let (true, Some(at)) = (rec.events.ringing, p.ringing_at) {
        out.push(Fired {
            at,
            status: "ringing",
            is_final: false,
            with_answered_by: false,
        });
    }
    if let (true, Some(at)) = (rec.events.answered, p.answered_at) {
        out.push(Fired {
            at,
            status: "in-progress",
            is_final: false,
            with_answered_by: true,
        });
    }
    if let (Some(at), Some(fs)) = (p.ended_at, p.final_status) {
        out.push(Fired {
            at,
            status: fs.as_str(),
            is_final: true,
            with_answered_by: true,
        });
    }
    out
}

/// The form parameters Twilio sends for one event.
fn params_for(
    rec: &CallRecord,
    account_sid: &str,
    seq: usize,
    ev: &Fired,
) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = vec![
        ("CallSid".into(), rec.sid.clone()),
        ("AccountSid".into(), account_sid.to_string()),
        ("From".into(), rec.from.clone()),
        ("To".into(), rec.to.clone()),
        ("Called".into(), rec.to.clone()),
        ("Caller".into(), rec.from.clone()),
        ("CallStatus".into(), ev.status.to_string()),
        ("ApiVersion".into(), "2010-04-01".into()),
        ("Direction".into(), "outbound-api".into()),
        ("SequenceNumber".into(), seq.to_string()),
        ("Timestamp".into(), ev.at.to_rfc2822()),
        ("CallbackSource".into(), "call-progress-events".into()),
    ];
    if ev.is_final {
        let final_status = rec.plan.final_status.expect("final event has a status");
        p.push(("CallDuration".into(), rec.plan.duration_s.to_string()));
        p.push((
            "SipResponseCode".into(),
            final_status.sip_code().to_string(),
        ));
        if final_status == crate::sim::FinalStatus::Completed {
            // Billed minutes, rounded up (Twilio's `Duration`).
            p.push((
                "Duration".into(),
                rec.plan.duration_s.div_ceil(60).to_string(),
            ));
        }
    }
    if ev.with_answered_by {
        if let Some(ab) = rec.plan.answered_by {
            p.push(("AnsweredBy".into(), ab.to_string()));
        }
    }
    p
}

/// The call's deliveries, in the order they will be attempted, with faults applied.
/// Deterministic in `(seed, To, ordinal)`.
pub(crate) fn schedule(
    rec: &CallRecord,
    account_sid: &str,
    seed: u64,
    faults: &FaultSpec,
) -> Vec<Delivery> {
    if rec.status_callback.is_none() {
        return Vec::new();
    }
    let mut rng = rng_for(seed, Stream::CallbackFaults, &rec.to, rec.ordinal);
    let events = fired_events(rec);
    let delay_ms = faults.delay.as_millis() as f64;
    let mut items: Vec<(Delivery, u32)> = events
        .iter()
        .enumerate()
        .map(|(seq, ev)| {
            // Always draw the same four numbers per event, whatever the spec.
            let (l, d, r, x): (f64, f64, f64, f64) = (rng.gen(), rng.gen(), rng.gen(), rng.gen());
            let extra = Duration::milliseconds((x * delay_ms) as i64);
            (
                Delivery {
                    seq,
                    at: ev.at + extra,
                    params: params_for(rec, account_sid, seq, ev),
                    lost: l < faults.lose,
                    duplicate: d < faults.duplicate,
                    reordered: r < faults.reorder,
                },
                0,
            )
        })
        .collect();
    // Hold back: walk from the end so a held callback follows its successor's final slot.
    for i in (0..items.len().saturating_sub(1)).rev() {
        if items[i].0.reordered {
            let (next_at, next_rank) = (items[i + 1].0.at, items[i + 1].1);
            let d = &mut items[i];
            if d.0.at <= next_at {
                d.0.at = next_at;
                d.1 = next_rank + 1;
            }
        }
    }
    if let Some(last) = items.last_mut() {
        last.0.reordered = false;
    }
    // Stable sort: same instant keeps firing order unless held back (higher rank).
    items.sort_by_key(|a| (a.0.at, a.1));
    items.into_iter().map(|(d, _)| d).collect()
}

/// Sleeps until the clock reads `at`. False if the carrier stopped meanwhile, or, when
/// `ended` is given, once it reads true (the call was ended through the API).
pub(crate) async fn wait_until(
    inner: &Inner,
    at: DateTime<Utc>,
    stop: &mut watch::Receiver<bool>,
    mut ended: Option<&mut watch::Receiver<bool>>,
) -> bool {
    loop {
        if *stop.borrow() || ended.as_ref().is_some_and(|e| *e.borrow()) {
            return false;
        }
        if inner.clock.now() >= at {
            return true;
        }
        let mut d = inner.clock.real_delay_until(at);
        if d.is_zero() {
            // A clock that does not move by itself (manual clock): poll.
            d = std::time::Duration::from_millis(20);
        }
        let ended_changed = async {
            match ended.as_mut() {
                Some(e) => {
                    if e.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.changed() => {}
            _ = ended_changed => {}
        }
    }
}

/// Spawns [`run`] for the call's deliveries, counted in `callback_tasks` until it returns.
pub(crate) fn spawn(
    inner: Arc<Inner>,
    rec: Arc<CallRecord>,
    deliveries: Vec<Delivery>,
    ctl: Arc<CallbackCtl>,
) {
    spawn_counted(inner.clone(), run(inner, rec, deliveries, ctl));
}

/// Spawns a callback or webhook task, counted in `callback_tasks` until it ends (done,
/// stopped, or aborted with the runtime): what [`crate::Carrier::callbacks_pending`] reads.
pub(crate) fn spawn_counted(
    inner: Arc<Inner>,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) {
    /// Uncounts the task however it ends.
    struct Running(Arc<Inner>);
    impl Drop for Running {
        fn drop(&mut self) {
            self.0
                .counters
                .callback_tasks
                .fetch_sub(1, Ordering::SeqCst);
        }
    }
    inner.counters.callback_tasks.fetch_add(1, Ordering::SeqCst);
    let running = Running(inner);
    tokio::spawn(async move {
        let _running = running;
        task.await;
    });
}

/// Sends the call's deliveries in order, each at its instant. Before each one it records the
/// delivery's sequence number in `ctl.taken`, under that lock, unless the call was ended
/// through the API meanwhile (`ctl.ended`): then it stops, and the task the API spawned for
/// the shortened timeline sends whatever was not taken.
pub(crate) async fn run(
    inner: Arc<Inner>,
    rec: Arc<CallRecord>,
    deliveries: Vec<Delivery>,
    ctl: Arc<CallbackCtl>,
) {
    let mut stop = inner.shutdown.subscribe();
    let mut ended = ctl.ended.subscribe();
    let Some(url) = rec.status_callback.clone() else {
        return;
    };
    let c = &inner.counters;
    for d in deliveries {
        if !wait_until(&inner, d.at, &mut stop, Some(&mut ended)).await {
            return;
        }
        {
            let mut taken = ctl.taken.lock().expect("callback lock");
            if *ctl.ended.borrow() {
                return;
            }
            taken.insert(d.seq);
        }
        if d.lost {
            Counters::bump(&c.callbacks_lost);
            tracing::debug!(call_sid = %rec.sid, "status callback lost (fault)");
            continue;
        }
        if d.reordered {
            Counters::bump(&c.callbacks_reordered);
        }
        send_with_retry(&inner, &rec, &url, &d.params, &mut stop).await;
        if d.duplicate {
            Counters::bump(&c.callbacks_duplicated);
            send_with_retry(&inner, &rec, &url, &d.params, &mut stop).await;
        }
    }
}

/// One delivery: a request, and one retry after a 5xx or a connection failure (Twilio's
/// default `rc=1`), one simulated second later.
async fn send_with_retry(
    inner: &Inner,
    rec: &CallRecord,
    url: &str,
    params: &[(String, String)],
    stop: &mut watch::Receiver<bool>,
) {
    let c = &inner.counters;
    for attempt in 0..2 {
        if attempt == 1 {
            Counters::bump(&c.callbacks_retried);
            let at = inner.clock.now() + Duration::seconds(1);
            if !wait_until(inner, at, stop, None).await {
                return;
            }
        }
        Counters::bump(&c.callbacks_sent);
        match send_once(inner, rec, url, params).await {
            Ok(status) if !status.is_server_error() => {
                Counters::bump(&c.callbacks_delivered);
                return;
            }
            Ok(status) => {
                tracing::debug!(call_sid = %rec.sid, %status, attempt, "status callback answered 5xx")
            }
            Err(e) => {
                tracing::debug!(call_sid = %rec.sid, error = %e, attempt, "status callback failed")
            }
        }
    }
    Counters::bump(&c.callbacks_failed);
}

/// Makes one signed request.
async fn send_once(
    inner: &Inner,
    rec: &CallRecord,
    url: &str,
    params: &[(String, String)],
) -> Result<reqwest::StatusCode, String> {
    let token = &inner.config.auth_token;
    let req = match rec.callback_method {
        CallbackMethod::Post => {
            let signature = compute_signature(token, url, params);
            let body = serde_urlencoded::to_string(params).map_err(|e| e.to_string())?;
            inner
                .http
                .post(url)
                .header("X-Twilio-Signature", signature)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        }
        CallbackMethod::Get => {
            let mut full = url::Url::parse(url).map_err(|e| e.to_string())?;
            full.query_pairs_mut().extend_pairs(params.iter());
            let full = full.to_string();
            let signature = compute_signature(token, &full, &[]);
            inner.http.get(full).header("X-Twilio-Signature", signature)
        }
    };
    req.send()
        .await
        .map(|r| r.status())
        .map_err(|e| e.to_string())
}
