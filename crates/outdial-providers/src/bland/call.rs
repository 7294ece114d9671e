//! Bland's call object (`GET /v1/calls/{id}`, list items, the post-call webhook) and how its
//! fields map to outdial's [`CallStatus`], [`AnsweredBy`], durations and times.
//!
//! Status (<https://docs.bland.ai/api-v1/get/calls-id>; value sets from `reference/bland.md`
//! A2, which supersede §6 of `telephony-apis.md`):
//!
//! | Bland | outdial |
//! |---|---|
//! | `queue_status` `new`, `queued`, `allocated` | `queued` |
//! | `queue_status` `started` | `in-progress` (Bland reports no separate ringing or answer step; `started` covers dialing and talking, and ending either is the same `stop`) |
//! | `queue_status` `pre_queue_error`, `queue_error`, `call_error`, `complete_error` | `failed` |
//! | `queue_status` `complete` / `completed`, or `completed: true` (which "will be the most up-to-date status"), with `status` `completed`, `busy`, `no-answer`, `failed`, `canceled` | that status (`cancelled`, `no_answer` accepted too) |
//! | the same with `status` `unknown` | `in-progress`: not final, so the attempt stays open and is reconciled by a later fetch or ended by the engine's bound |
//! | the same with no `status` at all (older payloads) | `completed` |
//! | any other `queue_status` | `in-progress` (non-final), logged |
//!
//! `answered_by` (needs `answered_by_enabled`): `human` → [`AnsweredBy::Human`];
//! `voicemail` → [`AnsweredBy::MachineStart`] (Bland does not say when in the greeting it
//! decided); `unknown` ("most likely a human") → [`AnsweredBy::Unknown`]; `no-answer` and
//! `null` (not enabled or still processing) → none: the status carries a no-answer.
//!
//! Units: `call_length` is **minutes** (float); `corrected_duration` is **seconds**, as a
//! string; it is preferred when present. Times are RFC 3339. `end_at` is when
//! `max_duration` *would* cut the call, not when it ended, so the end time is `started_at`
//! plus the duration, when both are known.

use chrono::{DateTime, Duration, Utc};
use outdial_core::{AnsweredBy, AttemptId, CallStatus, ProviderCallId, Region, E164};
use serde_json::Value;

use crate::CallSnapshot;

/// The status of a call object from its `queue_status`, `status` and `completed` (see the
/// module table).
pub fn map_status(
    queue_status: Option<&str>,
    status: Option<&str>,
    completed: Option<bool>,
) -> CallStatus {
    let q = queue_status.map(|s| s.trim().to_ascii_lowercase());
    let q = q.as_deref().unwrap_or("");
    if q.ends_with("_error") || q == "error" {
        return CallStatus::Failed;
    }
    let done = matches!(q, "complete" | "completed") || completed == Some(true);
    if done {
        let st = status.map(|s| s.trim().to_ascii_lowercase());
        return match st.as_deref() {
            None | Some("") => CallStatus::Completed,
            Some("completed" | "complete") => CallStatus::Completed,
            Some("busy") => CallStatus::Busy,
            Some("no-answer" | "no_answer") => CallStatus::NoAnswer,
            Some("failed") => CallStatus::Failed,
            Some("canceled" | "cancelled") => CallStatus::Canceled,
            Some(other) => {
                if other != "unknown" {
                    tracing::warn!(
                        status = other,
                        "unknown Bland status; keeping the call open"
                    );
                }
                CallStatus::InProgress
            }
        };
    }
    match q {
        "new" | "queued" | "allocated" => CallStatus::Queued,
        "started" => CallStatus::InProgress,
        other => {
            tracing::warn!(
                queue_status = other,
                "unknown Bland queue_status; keeping the call open"
            );
            CallStatus::InProgress
        }
    }
}

/// `answered_by` as outdial's value (see the module docs); `None` for `no-answer`, null or
/// empty.
pub fn map_answered_by(raw: Option<&str>) -> Option<AnsweredBy> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "no-answer" | "no_answer" | "null") => None,
        Some("human") => Some(AnsweredBy::Human),
        Some("voicemail" | "machine") => Some(AnsweredBy::MachineStart),
        Some(_) => Some(AnsweredBy::Unknown),
    }
}

/// The call's length in whole seconds: `corrected_duration` (seconds, string or number) when
/// present and readable, else `call_length` (minutes, float) × 60, rounded.
pub fn duration_seconds(
    corrected_duration: Option<&Value>,
    call_length_min: Option<f64>,
) -> Option<u32> {
    let corrected = corrected_duration.and_then(|v| match v {
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    });
    let secs = corrected.or_else(|| call_length_min.map(|m| m * 60.0))?;
    (secs.is_finite() && secs >= 0.0).then(|| secs.round().min(f64::from(u32::MAX)) as u32)
}

/// An RFC 3339 time (also with a space for `T`), as UTC; `None` when absent or unreadable.
pub fn parse_time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let s = raw.map(str::trim).filter(|s| !s.is_empty())?;
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc3339(&s.replacen(' ', "T", 1)))
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| tracing::warn!(value = s, "Bland time is not RFC 3339"))
        .ok()
}

/// A number as Bland reports it (`to` may lack `+1`), in E.164 when it can be read (a
/// number without a country code is read as a US number), else as given.
pub fn normalise_number(raw: &str) -> String {
    let t = raw.trim();
    if t.is_empty() {
        return String::new();
    }
    if let Ok(e) = E164::parse(t, Region::US) {
        return e.as_str().to_owned();
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    match E164::from_stored(&format!("+{digits}")) {
        Ok(e) => e.as_str().to_owned(),
        Err(_) => t.to_owned(),
    }
}

/// The fields of a Bland call object that outdial reads (unknown fields are ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallObject {
    /// `call_id` (or `c_id`).
    pub call_id: Option<String>,
    /// `to`, as sent.
    pub to: Option<String>,
    /// `from`, as sent.
    pub from: Option<String>,
    /// `queue_status`.
    pub queue_status: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `completed`.
    pub completed: Option<bool>,
    /// `answered_by`.
    pub answered_by: Option<String>,
    /// `call_length`, minutes.
    pub call_length_min: Option<f64>,
    /// `corrected_duration` as sent (seconds, normally a string).
    pub corrected_duration: Option<Value>,
    /// `created_at`.
    pub created_at: Option<DateTime<Utc>>,
    /// `started_at`.
    pub started_at: Option<DateTime<Utc>>,
    /// `end_at`: when `max_duration` would cut the call (not its end).
    pub end_at: Option<DateTime<Utc>>,
    /// `metadata.outdial_attempt_id` (top-level `metadata`, else `variables.metadata`): the
    /// attempt outdial sent the call for, echoed by Bland; `None` for a call outdial did not
    /// create (another system's, or one placed before outdial sent metadata).
    pub attempt_id: Option<i64>,
    /// `price`, USD (`reference/bland.md`).
    pub price: Option<f64>,
}

/// An attempt id as sent in metadata: a number or a numeric string.
fn attempt_of(metadata: Option<&Value>) -> Option<i64> {
    match metadata?.get(super::client::METADATA_ATTEMPT_KEY)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string field (non-empty after trimming).
pub(crate) fn str_field(map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl CallObject {
    /// Reads the fields from a JSON object; the wrong type of a field counts as absent.
    pub fn from_map(map: &serde_json::Map<String, Value>) -> Self {
        let s = |k: &str| str_field(map, k);
        CallObject {
            call_id: s("call_id").or_else(|| s("c_id")),
            to: s("to"),
            from: s("from"),
            queue_status: s("queue_status"),
            status: s("status"),
            completed: map.get("completed").and_then(Value::as_bool),
            answered_by: s("answered_by"),
            call_length_min: map.get("call_length").and_then(|v| match v {
                Value::String(t) => t.trim().parse().ok(),
                v => v.as_f64(),
            }),
            corrected_duration: map
                .get("corrected_duration")
                .filter(|v| !v.is_null())
                .cloned(),
            created_at: parse_time(s("created_at").as_deref()),
            started_at: parse_time(s("started_at").as_deref()),
            end_at: parse_time(s("end_at").as_deref()),
            attempt_id: attempt_of(map.get("metadata"))
                .or_else(|| attempt_of(map.get("variables").and_then(|v| v.get("metadata")))),
            price: map.get("price").and_then(|v| match v {
                Value::String(t) => t.trim().parse().ok(),
                v => v.as_f64(),
            }),
        }
    }

    /// The status (see [`map_status`]).
    pub fn status(&self) -> CallStatus {
        map_status(
            self.queue_status.as_deref(),
            self.status.as_deref(),
            self.completed,
        )
    }

    /// Duration in seconds, on a final call only (see [`duration_seconds`]).
    pub fn duration_s(&self) -> Option<u32> {
        if !self.status().is_final() {
            return None;
        }
        duration_seconds(self.corrected_duration.as_ref(), self.call_length_min)
    }

    /// When a final call ended: `started_at` plus its duration, when both are known.
    pub fn end_time(&self) -> Option<DateTime<Utc>> {
        let d = self.duration_s()?;
        Some(self.started_at? + Duration::seconds(i64::from(d)))
    }

    /// The snapshot; `None` without a usable `call_id`.
    pub fn into_snapshot(self) -> Option<CallSnapshot> {
        let call_id = ProviderCallId::parse(self.call_id.as_deref()?)?;
        Some(CallSnapshot {
            call_id,
            to: normalise_number(self.to.as_deref().unwrap_or_default()),
            status: self.status(),
            created_at: self.created_at,
            start_time: self.started_at,
            end_time: self.end_time(),
            duration_s: self.duration_s(),
            answered_by: map_answered_by(self.answered_by.as_deref()),
            attempt: self.attempt_id.map(AttemptId),
            price: self
                .price
                .and_then(|p| outdial_core::CallPrice::from_amount(p, "USD")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_per_the_table() {
        use CallStatus::*;
        for (q, st, c, want) in [
            ("new", None, None, Queued),
            ("queued", None, Some(false), Queued),
            ("allocated", None, None, Queued),
            ("started", None, None, InProgress),
            ("started", Some("completed"), Some(false), InProgress),
            ("started", Some("busy"), Some(true), Busy),
            ("complete", Some("completed"), None, Completed),
            ("completed", Some("busy"), None, Busy),
            ("complete", Some("no-answer"), None, NoAnswer),
            ("complete", Some("failed"), None, Failed),
            ("complete", Some("canceled"), None, Canceled),
            ("complete", Some("unknown"), None, InProgress),
            ("complete", None, None, Completed),
            ("pre_queue_error", None, None, Failed),
            ("queue_error", Some("completed"), Some(true), Failed),
            ("call_error", None, None, Failed),
            ("complete_error", None, None, Failed),
            ("weird", None, None, InProgress),
        ] {
            assert_eq!(map_status(Some(q), st, c), want, "{q} {st:?} {c:?}");
        }
    }

    #[test]
    fn answered_by_and_units() {
        assert_eq!(map_answered_by(Some("human")), Some(AnsweredBy::Human));
        assert_eq!(
            map_answered_by(Some("voicemail")),
            Some(AnsweredBy::MachineStart)
        );
        assert_eq!(map_answered_by(Some("unknown")), Some(AnsweredBy::Unknown));
        assert_eq!(map_answered_by(Some("no-answer")), None);
        assert_eq!(map_answered_by(None), None);
        assert_eq!(duration_seconds(None, Some(0.4)), Some(24));
        assert_eq!(duration_seconds(None, Some(1.26)), Some(76));
        assert_eq!(
            duration_seconds(Some(&Value::from("31")), Some(0.4)),
            Some(31)
        );
        assert_eq!(
            duration_seconds(Some(&Value::from("x")), Some(0.5)),
            Some(30)
        );
        assert_eq!(duration_seconds(None, Some(-1.0)), None);
        assert_eq!(normalise_number("4155550100"), "+14155550100");
        assert_eq!(normalise_number("14155550100"), "+14155550100");
        assert_eq!(normalise_number("+32476581696"), "+32476581696");
        assert!(parse_time(Some("2025-04-15T18:31:53.696+00:00")).is_some());
        assert!(parse_time(Some("2025-04-15 18:31:53.696+00:00")).is_some());
        assert!(parse_time(Some("yesterday")).is_none());
    }
}
