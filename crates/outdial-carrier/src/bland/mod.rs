//! The fake Bland.ai served by the carrier under `/v1/…`: the same book, clock, outcome draw,
//! faults, ledger and stats as the Twilio-shaped API (see the crate docs, "Bland API").
//!
//! - [`settings`]: [`BlandFake`], its defaults and validation;
//! - `api`: the routes (create, fetch, list, stop, active) and Bland's error shape;
//! - `json`: the call object, with its fields in Bland's order (or shuffled);
//! - `webhooks`: the post-call webhook(s), signed, with faults.

mod api;
mod json;
pub mod settings;
mod webhooks;

pub use api::DEFAULT_LIST_LIMIT;
pub(crate) use api::{route_not_found, router};
pub use settings::{
    BlandFake, DEFAULT_BLAND_API_KEY, DEFAULT_BLAND_FROM, DEFAULT_BLAND_ORG_ID,
    DEFAULT_BLAND_WEBHOOK_SECRET,
};

use crate::config::OutcomeMix;
use crate::outcome::{draw_outcome, Answerer, Forced, OutcomeInput};
use crate::past::PastCall;
use crate::sim::CallPlan;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value};

/// Ring timeout of a Bland call, seconds: Bland has no ring-timeout field, so every call
/// rings at most this long before it ends `no-answer` (the Twilio default).
pub const BLAND_RING_TIMEOUT_S: u32 = crate::api::DEFAULT_TIMEOUT_S;

/// Default `max_duration` of a Bland call, **minutes** (<https://docs.bland.ai/api-v1/post/calls>).
pub const DEFAULT_MAX_DURATION_MIN: f64 = 30.0;

/// What a Bland create asked for, plus the call's Bland-only draws (decided at creation, so
/// every read and every webhook of the call agree).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlandCall {
    /// `webhook`: where the post-call webhook goes (none without it).
    pub webhook: Option<String>,
    pub answered_by_enabled: bool,
    pub record: bool,
    /// `max_duration`, minutes, as asked (default 30).
    pub max_duration_min: f64,
    pub pathway_id: Option<String>,
    pub task: Option<String>,
    pub first_sentence: Option<String>,
    pub voice: Option<String>,
    /// `metadata`, echoed top-level and in `variables.metadata`.
    pub metadata: Map<String, Value>,
    /// `request_data`, echoed.
    pub request_data: Option<Value>,
    /// The label an answered call reports (drawn from the request's `dispositions`).
    pub disposition_tag: Option<String>,
    /// `call_ended_by` of an answered call: `ASSISTANT` or `USER`.
    pub ended_by: &'static str,
    /// Seconds (simulated) between the first and a second post-call webhook, when there is one.
    pub second_webhook_after_s: Option<i64>,
    /// Extra wait (simulated ms) before the first webhook (`answered_by_enabled` only).
    pub webhook_delay_ms: i64,
    /// First transcript line id.
    pub transcript_id: u64,
}

impl BlandCall {
    /// The Bland part of a past call: no webhook, detection on (so `answered_by` shows).
    pub(crate) fn past(p: &PastCall) -> Self {
        BlandCall {
            webhook: None,
            answered_by_enabled: true,
            record: false,
            max_duration_min: DEFAULT_MAX_DURATION_MIN,
            pathway_id: None,
            task: Some("Imported call".into()),
            first_sentence: None,
            voice: None,
            metadata: p.metadata.clone(),
            request_data: None,
            disposition_tag: p.disposition_tag.clone(),
            ended_by: "USER",
            second_webhook_after_s: None,
            webhook_delay_ms: 0,
            transcript_id: 1,
        }
    }
}

/// What [`BlandCall::draw`] needs from the request.
pub(crate) struct Asked {
    pub webhook: Option<String>,
    pub answered_by_enabled: bool,
    pub record: bool,
    pub max_duration_min: f64,
    pub pathway_id: Option<String>,
    pub task: Option<String>,
    pub first_sentence: Option<String>,
    pub voice: Option<String>,
    pub metadata: Map<String, Value>,
    pub request_data: Option<Value>,
    pub dispositions: Vec<String>,
}

/// The Bland-only draws, in a fixed order whatever the request (so a stream stays aligned).
pub(crate) struct Extras {
    tag_roll: u64,
    user_ended: bool,
    second_roll: f64,
    second_after_s: i64,
    pub unknown_roll: f64,
    delay_frac: f64,
    transcript_id: u64,
}

impl Extras {
    pub(crate) fn draw(rng: &mut impl Rng) -> Self {
        Extras {
            tag_roll: rng.gen(),
            user_ended: rng.gen(),
            second_roll: rng.gen(),
            second_after_s: rng.gen_range(30..=60),
            unknown_roll: rng.gen(),
            delay_frac: rng.gen(),
            transcript_id: rng.gen_range(100_000_000..200_000_000),
        }
    }
}

impl BlandCall {
    pub(crate) fn draw(asked: Asked, x: &Extras, cfg: &BlandFake) -> Self {
        let disposition_tag = (!asked.dispositions.is_empty()).then(|| {
            asked.dispositions[(x.tag_roll % asked.dispositions.len() as u64) as usize].clone()
        });
        let max_delay = cfg.answered_by_delay.as_millis() as f64;
        BlandCall {
            webhook: asked.webhook,
            answered_by_enabled: asked.answered_by_enabled,
            record: asked.record,
            max_duration_min: asked.max_duration_min,
            pathway_id: asked.pathway_id,
            task: asked.task,
            first_sentence: asked.first_sentence,
            voice: asked.voice,
            metadata: asked.metadata,
            request_data: asked.request_data,
            disposition_tag,
            ended_by: if x.user_ended { "USER" } else { "ASSISTANT" },
            second_webhook_after_s: (x.second_roll < cfg.second_webhook)
                .then_some(x.second_after_s),
            webhook_delay_ms: if asked.answered_by_enabled {
                (x.delay_frac * max_delay) as i64
            } else {
                0
            },
            transcript_id: x.transcript_id,
        }
    }
}

/// `^\+[1-9]\d{7,14}$`
pub(crate) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A number as Bland accepts it, in E.164: `+…` as given (spaces, dashes, dots and
/// parentheses removed), 10 digits as a US number (`+1` prepended), 11 digits starting with
/// `1` as `+` and those digits. `None` when it is none of these.
pub(crate) fn normalise_phone(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let e164 = if cleaned.starts_with('+') {
        cleaned
    } else if cleaned.len() == 10 && cleaned.bytes().all(|b| b.is_ascii_digit()) {
        format!("+1{cleaned}")
    } else if cleaned.len() == 11
        && cleaned.starts_with('1')
        && cleaned.bytes().all(|b| b.is_ascii_digit())
    {
        format!("+{cleaned}")
    } else {
        return None;
    };
    is_e164(&e164).then_some(e164)
}

/// A UUID v4 (RFC 9562 §5.4) from 16 random bytes of `rng`, lower-case hyphenated.
pub(crate) fn draw_uuid(rng: &mut impl Rng) -> String {
    let mut b: [u8; 16] = rng.gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

/// A Bland call's timeline: the shared outcome model ([`draw_outcome`]) with Bland's
/// `answered_by` wording (`human`, or `unknown` when `unknown` is set; `voicemail` for a
/// machine), ring timeout [`BLAND_RING_TIMEOUT_S`], talk capped by `max_duration`.
pub(crate) fn plan_call(
    rng: &mut impl Rng,
    mix: &OutcomeMix,
    dial_at: DateTime<Utc>,
    time_limit_s: u32,
    forced: Forced,
    unknown: bool,
) -> CallPlan {
    let o = draw_outcome(
        rng,
        mix,
        &OutcomeInput {
            dial_at,
            ring_timeout_s: BLAND_RING_TIMEOUT_S,
            time_limit_s,
            forced,
        },
    );
    CallPlan {
        initiated_at: o.initiated_at,
        ringing_at: o.ringing_at,
        answered_at: o.answered_at,
        ended_at: o.ended_at,
        final_status: o.final_status,
        answered_by: o.answerer.map(|a| match a {
            Answerer::Human if unknown => "unknown",
            Answerer::Human => "human",
            Answerer::Machine => "voicemail",
        }),
        duration_s: o.talk_s,
        silent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::keyed;

    #[test]
    fn phone_numbers_normalise() {
        assert_eq!(
            normalise_phone("+14155550100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalise_phone("4155550100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalise_phone("(415) 555-0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalise_phone("14155550100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            normalise_phone("+32476581696").as_deref(),
            Some("+32476581696")
        );
        for bad in [
            "",
            "555",
            "+0123456789",
            "24155550100",
            "415555010x",
            "+1 415",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn uuids_are_v4_and_keyed() {
        let a = draw_uuid(&mut keyed(1, "x", "+1", 0));
        let b = draw_uuid(&mut keyed(1, "x", "+1", 0));
        let c = draw_uuid(&mut keyed(1, "x", "+1", 1));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }
}
