//! The fake Bland's call object at an instant, with its fields in a chosen order.
//!
//! serde_json's `Map` sorts keys (no `preserve_order`), so objects are written here field by
//! field: Bland's own order (as in the captured payload of `reference/bland.md` A5), or a
//! shuffled one for the webhook `reorder` fault.

use super::{BlandCall, BlandFake};
use crate::carrier::CallRecord;
use crate::outcome::FinalStatus;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

/// An object as ordered `(key, value)` pairs.
pub(crate) type Fields = Vec<(&'static str, Value)>;

/// Writes `fields` as one compact JSON object, in their order.
pub(crate) fn write_object(fields: &[(&'static str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(*k).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

/// `2025-04-15T18:31:53.696+00:00` (Bland's `created_at` style).
pub(crate) fn ts_offset(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// `2025-04-15T18:31:53.696Z` (Bland's `started_at` / `end_at` style).
pub(crate) fn ts_z(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where a Bland call stands at `now`.
pub(crate) struct BlandView {
    /// `new` (first half of the wait before dialing), `queued`, `allocated` (dialing),
    /// `started` (ringing or talking), `complete`.
    pub queue_status: &'static str,
    pub final_status: Option<FinalStatus>,
    /// The instant the call started: when answered, else when dialing started.
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub answered: bool,
}

pub(crate) fn view(rec: &CallRecord, now: DateTime<Utc>) -> BlandView {
    let snap = rec.plan.at(rec.created_at, now);
    let initiated = snap.start_time;
    let started = snap.answered_at.is_some() || snap.status == "ringing";
    let queue_status = if snap.final_status.is_some() {
        "complete"
    } else if started {
        "started"
    } else if initiated.is_some() {
        "allocated"
    } else {
        let half = (rec.plan.initiated_at - rec.created_at) / 2;
        if now < rec.created_at + half {
            "new"
        } else {
            "queued"
        }
    };
    BlandView {
        queue_status,
        final_status: snap.final_status,
        started_at: snap.answered_at.or(initiated),
        ended_at: snap.end_time,
        answered: snap.answered_at.is_some(),
    }
}

/// Length of an ended call from `started_at` to its end, in seconds (ms precision).
fn length_s(v: &BlandView, rec: &CallRecord) -> Option<f64> {
    v.ended_at?;
    if v.answered {
        return Some(rec.plan.duration_s as f64);
    }
    let (s, e) = (v.started_at?, v.ended_at?);
    Some(((e - s).num_milliseconds().max(0)) as f64 / 1000.0)
}

/// The transcript lines of an ended, answered call: `(user, text, at)`.
fn transcript(
    rec: &CallRecord,
    b: &BlandCall,
    v: &BlandView,
) -> Vec<(&'static str, String, DateTime<Utc>)> {
    let (Some(start), Some(end), true) = (v.started_at, v.ended_at, v.answered) else {
        return Vec::new();
    };
    let opening = b
        .first_sentence
        .clone()
        .unwrap_or_else(|| "Hello, this is an automated call from the fake carrier.".into());
    let reply = if rec.plan.answered_by == Some("voicemail") {
        "Please leave a message after the tone."
    } else {
        "Hi, who is this?"
    };
    let at = |s: i64| (start + Duration::seconds(s)).min(end);
    vec![
        ("assistant", opening, at(1)),
        ("user", reply.to_string(), at(3)),
        ("agent-action", "Ended call".to_string(), end),
    ]
}

/// The concatenated transcript (`assistant: … \n user: …`), empty when there is none.
pub(crate) fn concatenated(rec: &CallRecord, b: &BlandCall, now: DateTime<Utc>) -> String {
    transcript(rec, b, &view(rec, now))
        .iter()
        .map(|(u, t, _)| format!("{u}: {t}"))
        .collect::<Vec<_>>()
        .join(" \n ")
}

/// The call object at `now`, in Bland's field order; `transcripts` adds
/// `concatenated_transcript` and `transcripts` (GET one and webhooks; not the list).
pub(crate) fn call_fields(
    cfg: &BlandFake,
    rec: &CallRecord,
    b: &BlandCall,
    now: DateTime<Utc>,
    transcripts: bool,
) -> Fields {
    let v = view(rec, now);
    let ended = v.ended_at.is_some();
    let length = length_s(&v, rec);
    let call_length = length.map(|s| s / 60.0);
    let answered_by: Value = match (b.answered_by_enabled, ended) {
        (true, true) if v.answered => json!(rec.plan.answered_by.unwrap_or("human")),
        (true, true) if v.final_status == Some(FinalStatus::NoAnswer) => json!("no-answer"),
        _ => Value::Null,
    };
    let disposition = if ended && v.answered {
        b.disposition_tag.clone()
    } else {
        None
    };
    let transferred_to = disposition
        .as_deref()
        .filter(|t| t.to_ascii_lowercase().contains("transfer"))
        .map(|_| cfg.transfer_number.clone());
    let price = call_length.map(|m| {
        let p = (m * cfg.price_per_minute).max(0.015);
        (p * 10_000.0).round() / 10_000.0
    });
    let summary = match (ended, v.answered, v.final_status) {
        (true, true, _) => Some(format!(
            "The agent reached {} and talked for {} seconds.",
            if rec.plan.answered_by == Some("voicemail") {
                "a voicemail"
            } else {
                "the contact"
            },
            rec.plan.duration_s
        )),
        (true, false, Some(s)) => Some(format!("The call was not answered ({}).", s.as_str())),
        _ => None,
    };
    let variables = json!({
        "now": ts_z(now),
        "now_utc": ts_z(now),
        "from": rec.from,
        "to": rec.to,
        "short_from": rec.from.chars().rev().take(10).collect::<String>().chars().rev().collect::<String>(),
        "short_to": rec.to.chars().rev().take(10).collect::<String>().chars().rev().collect::<String>(),
        "call_id": rec.sid,
        "phone_number": rec.to,
        "country": if rec.to.starts_with("+1") { "US" } else { "" },
        "language": "English",
        "metadata": Value::Object(b.metadata.clone()),
        "timestamp": ts_z(rec.created_at),
        "timezone": "America/Los_Angeles",
    });
    let mut f: Fields = vec![
        ("call_id", json!(rec.sid)),
        ("c_id", json!(rec.sid)),
        ("call_length", json!(call_length)),
        ("batch_id", Value::Null),
        ("to", json!(rec.to)),
        ("from", json!(rec.from)),
        ("completed", json!(ended)),
        ("created_at", json!(ts_offset(rec.created_at))),
        ("inbound", json!(false)),
        ("queue_status", json!(v.queue_status)),
        ("max_duration", json!(b.max_duration_min)),
        (
            "error_message",
            json!((v.final_status == Some(FinalStatus::Failed))
                .then_some("Call failed: the destination could not be reached.")),
        ),
        ("variables", variables),
        ("answered_by", answered_by),
        ("record", json!(b.record)),
        (
            "recording_url",
            json!((b.record && ended && v.answered)
                .then(|| format!("https://fake-bland.invalid/recordings/{}.mp3", rec.sid))),
        ),
        ("metadata", Value::Object(b.metadata.clone())),
        ("summary", json!(summary)),
        ("price", json!(price)),
        ("started_at", json!(v.started_at.map(ts_z))),
        ("local_dialing", json!(false)),
        (
            "call_ended_by",
            json!((ended && v.answered).then_some(b.ended_by)),
        ),
        ("pathway_logs", Value::Null),
        ("analysis_schema", Value::Null),
        ("analysis", Value::Null),
        ("transferred_to", json!(transferred_to)),
        ("pathway_tags", json!([])),
        ("recording_expiration", Value::Null),
        ("status", json!(v.final_status.map(FinalStatus::as_str))),
        ("pathway_id", json!(b.pathway_id)),
        ("task", json!(b.task)),
        ("voice", json!(b.voice)),
        ("request_data", json!(b.request_data)),
    ];
    if transcripts {
        let lines = transcript(rec, b, &v);
        f.push(("concatenated_transcript", json!(concatenated(rec, b, now))));
        f.push((
            "transcripts",
            Value::Array(
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, (user, text, at))| {
                        json!({
                            "id": b.transcript_id + i as u64,
                            "user": user,
                            "text": text,
                            "created_at": ts_offset(*at),
                        })
                    })
                    .collect(),
            ),
        ));
    }
    f.push((
        "corrected_duration",
        json!(length.map(|s| format!("{}", s.round() as u64))),
    ));
    f.push((
        "end_at",
        json!(v
            .started_at
            .map(|s| ts_z(s + Duration::milliseconds((b.max_duration_min * 60_000.0) as i64)))),
    ));
    f.push(("disposition_tag", json!(disposition)));
    f
}
