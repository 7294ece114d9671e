//! The fake Bland's post-call webhooks: which ones a call sends, with which faults, and
//! their delivery.
//!
//! A call created with `webhook` gets, once it has ended (plus up to
//! [`BlandFake::answered_by_delay`] with `answered_by_enabled`), one POST of its full call
//! object (transcripts included) as JSON, signed `X-Webhook-Signature: hex HMAC-SHA256(raw
//! body)` with [`BlandFake::webhook_secret`]; with probability [`BlandFake::second_webhook`]
//! a second POST 30–60 simulated seconds later carrying the same fields plus
//! `corrected_transcript`. A POST answered with a non-2xx status or whose connection fails
//! is sent once more, one simulated second later. Faults ([`FaultSpec`]), per webhook:
//! `lose` (never sent), `duplicate` (sent twice back to back), `reorder` (the body's keys in
//! another order, and a first webhook held back until after the second), `delay` (extra
//! random wait).

use super::json::{call_fields, concatenated, write_object, Fields};
use super::BlandFake;
use crate::callbacks::{spawn_counted, wait_until};
use crate::carrier::{CallRecord, CallbackCtl, Counters, Inner};
use crate::config::FaultSpec;
use crate::sim::{rng_for, Stream};
use chrono::{DateTime, Duration, Utc};
use outdial_providers::bland::webhook::{sign, SIGNATURE_HEADER};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::watch;

/// One webhook POST to make (maybe twice), at a simulated instant.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// 0: the post-call webhook; 1: the second one. Identifies it across re-schedules.
    pub seq: usize,
    pub at: DateTime<Utc>,
    /// The raw JSON body, as signed.
    pub body: String,
    pub lost: bool,
    pub duplicate: bool,
    pub reordered: bool,
}

/// The call's webhook deliveries in the order they will be attempted, with faults applied.
/// Deterministic in `(seed, To, ordinal)`. Empty without a `webhook` or before the call has
/// an end (a never-ending call).
pub(crate) fn schedule(
    cfg: &BlandFake,
    rec: &CallRecord,
    seed: u64,
    faults: &FaultSpec,
) -> Vec<Delivery> {
    let Some(b) = rec.bland.as_deref() else {
        return Vec::new();
    };
    let (Some(_), Some(end), Some(_)) = (&b.webhook, rec.plan.ended_at, rec.plan.final_status)
    else {
        return Vec::new();
    };
    let first_at = end + Duration::milliseconds(b.webhook_delay_ms);
    let fields = call_fields(cfg, rec, b, first_at, true);
    let mut bodies: Vec<(DateTime<Utc>, Fields)> = vec![(first_at, fields.clone())];
    if let Some(after) = b.second_webhook_after_s {
        let mut second = fields;
        second.push((
            "corrected_transcript",
            json!(concatenated(rec, b, first_at)),
        ));
        bodies.push((first_at + Duration::seconds(after), second));
    }
    let mut rng = rng_for(seed, Stream::CallbackFaults, &rec.to, rec.ordinal);
    let delay_ms = faults.delay.as_millis() as f64;
    let mut items: Vec<(Delivery, u32)> = bodies
        .into_iter()
        .enumerate()
        .map(|(seq, (at, mut fields))| {
            // The same five draws per webhook, whatever the spec.
            let (l, d, r, x): (f64, f64, f64, f64) = (rng.gen(), rng.gen(), rng.gen(), rng.gen());
            let shuffle: u64 = rng.gen();
            let reordered = r < faults.reorder;
            if reordered {
                fields.shuffle(&mut ChaCha8Rng::seed_from_u64(shuffle));
            }
            let delivery = Delivery {
                seq,
                at: at + Duration::milliseconds((x * delay_ms) as i64),
                body: write_object(&fields),
                lost: l < faults.lose,
                duplicate: d < faults.duplicate,
                reordered,
            };
            (delivery, 0)
        })
        .collect();
    // A reordered first webhook is also held back until after the second.
    if items.len() == 2 && items[0].0.reordered && items[0].0.at <= items[1].0.at {
        items[0].0.at = items[1].0.at;
        items[0].1 = 1;
    }
    items.sort_by_key(|(d, rank)| (d.at, *rank));
    items.into_iter().map(|(d, _)| d).collect()
}

/// Schedules and spawns the call's webhooks, except those whose `seq` is in `taken`;
/// registers `ctl` for the call when it has a webhook. Call under the book lock.
pub(crate) fn start(
    inner: &Arc<Inner>,
    cfg: &BlandFake,
    rec: &Arc<CallRecord>,
    ctl: Arc<CallbackCtl>,
    taken: &std::collections::HashSet<usize>,
) {
    let deliveries: Vec<Delivery> = schedule(cfg, rec, inner.config.seed, &inner.config.faults)
        .into_iter()
        .filter(|d| !taken.contains(&d.seq))
        .collect();
    if deliveries.is_empty() {
        return;
    }
    spawn_counted(
        inner.clone(),
        run(inner.clone(), rec.clone(), deliveries, ctl),
    );
}

/// Sends the deliveries in order, each at its instant; stops when the call is ended through
/// the API meanwhile (`ctl.ended`: the stop schedules the shortened timeline's webhooks).
async fn run(
    inner: Arc<Inner>,
    rec: Arc<CallRecord>,
    deliveries: Vec<Delivery>,
    ctl: Arc<CallbackCtl>,
) {
    let mut stop = inner.shutdown.subscribe();
    let mut ended = ctl.ended.subscribe();
    let (Some(b), Some(secret)) = (rec.bland.as_deref(), inner.config.bland.as_ref()) else {
        return;
    };
    let Some(url) = b.webhook.clone() else {
        return;
    };
    let secret = secret.webhook_secret.clone();
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
        if d.seq == 1 {
            Counters::bump(&c.second_webhooks);
        }
        if d.lost {
            Counters::bump(&c.callbacks_lost);
            tracing::debug!(call_id = %rec.sid, seq = d.seq, "Bland webhook lost (fault)");
            continue;
        }
        if d.reordered {
            Counters::bump(&c.callbacks_reordered);
        }
        send_with_retry(&inner, &rec.sid, &url, &secret, &d.body, &mut stop).await;
        if d.duplicate {
            Counters::bump(&c.callbacks_duplicated);
            send_with_retry(&inner, &rec.sid, &url, &secret, &d.body, &mut stop).await;
        }
    }
}

/// One webhook: a POST, and one more one simulated second after a non-2xx answer or a
/// connection failure.
async fn send_with_retry(
    inner: &Inner,
    call_id: &str,
    url: &str,
    secret: &str,
    body: &str,
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
        let sent = inner
            .http
            .post(url)
            .header(SIGNATURE_HEADER, sign(secret, body.as_bytes()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                "Bland-Webhooks/1.0 (outdial-carrier)",
            )
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                Counters::bump(&c.callbacks_delivered);
                return;
            }
            Ok(r) => {
                tracing::debug!(call_id, status = %r.status(), attempt, "Bland webhook answered non-2xx")
            }
            Err(e) => tracing::debug!(call_id, error = %e, attempt, "Bland webhook failed"),
        }
    }
    Counters::bump(&c.callbacks_failed);
}
