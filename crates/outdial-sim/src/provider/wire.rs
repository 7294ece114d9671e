//! What the fake provider sends on the wire: a callback on its way to the engine, in the
//! run's provider format (Twilio's form-encoded status callback or Bland's post-call JSON),
//! and Bland's call ids.

use chrono::{DateTime, Duration, Utc};
use outdial_core::{AnsweredBy, AttemptId, CallEvent, CallStatus, ProviderKind};
use outdial_providers::bland;
use outdial_providers::twilio::webhook::{self, StatusCallback};

/// One status callback on its way to the engine.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// When it reaches outdial's HTTP server (true time).
    pub deliver_at: DateTime<Utc>,
    /// When the provider fired it (true time).
    pub event_at: DateTime<Utc>,
    /// The attempt id of the callback URL.
    pub attempt: Option<AttemptId>,
    /// The callback as the provider sends it (its event's time in milliseconds; the body
    /// carries whole seconds).
    pub callback: StatusCallback,
    /// Whether this is the second copy of a duplicated callback.
    pub duplicate: bool,
    /// Whose wire format the body is in.
    pub wire: ProviderKind,
    /// A Bland second post-call delivery (with `corrected_transcript`).
    pub second: bool,
}

impl Delivery {
    /// The event the provider fired.
    pub fn event(&self) -> &CallEvent {
        &self.callback.event
    }

    /// The body as sent: Twilio's form ([`webhook::encode_status_callback`]), or Bland's
    /// post-call JSON ([`bland_body`]).
    pub fn body(&self) -> String {
        match self.wire {
            ProviderKind::Twilio => webhook::encode_status_callback(&self.callback),
            ProviderKind::Bland => bland_body(&self.callback, self.attempt, self.second),
        }
    }
}

/// Bland's post-call webhook body for a final event (the shape of `reference/bland.md` A5:
/// `call_length` in minutes, `corrected_duration` seconds as a string, `metadata` echoed at
/// the top level and under `variables`, and fields outdial does not read). `started_at` is
/// put so that `started_at` + the duration is the event's instant.
pub fn bland_body(cb: &StatusCallback, attempt: Option<AttemptId>, second: bool) -> String {
    let e = &cb.event;
    let secs = e.duration_s.unwrap_or(0);
    let started = e.at - Duration::seconds(i64::from(secs));
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let metadata = serde_json::json!({
        bland::client::METADATA_ATTEMPT_KEY: attempt.map(|a| a.0),
    });
    let answered_by = match e.answered_by {
        Some(AnsweredBy::Human) => Some("human"),
        Some(AnsweredBy::Unknown) => Some("unknown"),
        Some(_) => Some("voicemail"),
        None if e.status == CallStatus::NoAnswer => Some("no-answer"),
        None => None,
    };
    let mut body = serde_json::json!({
        "call_id": e.call_id.as_str(),
        "c_id": e.call_id.as_str(),
        "to": cb.to,
        "from": cb.from,
        "inbound": false,
        "completed": true,
        "queue_status": "complete",
        "status": e.status.as_str(),
        "answered_by": answered_by,
        "call_length": f64::from(secs) / 60.0,
        "corrected_duration": secs.to_string(),
        "started_at": ts(started),
        "price": 0.015 + f64::from(secs) / 60.0 * 0.09,
        "call_ended_by": if answered_by == Some("human") { Some("USER") } else { None },
        "metadata": metadata.clone(),
        "variables": { "metadata": metadata },
        "pathway_tags": [],
        "error_message": if e.status == CallStatus::Failed { Some("call could not be connected") } else { None },
    });
    if second {
        body["corrected_transcript"] = serde_json::json!("assistant: Hello. user: Hi.");
    }
    body.to_string()
}

/// A Bland call id (`8-4-4-4-12` hex, as a UUID) from 128 random bits.
pub(super) fn uuid_like(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
