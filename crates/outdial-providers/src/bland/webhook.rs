//! Bland webhooks: the post-call payload Bland POSTs to a call's `webhook` URL, its
//! signature, and what it means for outdial.
//!
//! - Signature (<https://docs.bland.ai/tutorials/webhook-signing>): header
//!   [`SIGNATURE_HEADER`] = hex HMAC-SHA256 of the body with the org's signing secret; no
//!   prefix and no timestamp, so a captured delivery can be replayed (deduplication makes a
//!   replay change nothing). See [`verify_signature`].
//! - Payload: the call object (bland.md A5, the awell fixture). Fields read are those of
//!   [`BlandCallResult`]; everything else is ignored.
//! - Deliveries are at least once (Bland "may retry"; no documented schedule), possibly a
//!   second POST 30–60 s later carrying `corrected_transcript`, and event-stream items when
//!   `webhook_events` is set. Each body gets its own [`dedupe_key`]: an identical re-delivery
//!   maps to the same key, the second POST to a new one (it carries the same final status,
//!   so applying it changes nothing).
//! - Ordering: Bland sends no sequence number. Only a final status becomes a
//!   [`CallEvent`] ([`BlandCallResult::to_event`]); a non-final one (`status: unknown`) and
//!   every event-stream item ([`BlandCallback::Event`]) change nothing, so deliveries cannot
//!   be applied out of order; non-final progress comes from [`crate::Provider::fetch_call`].
//!
//! Bounded work: a body over [`MAX_BODY_BYTES`] is refused before it is hashed or parsed;
//! JSON nesting is bounded by serde_json's default recursion limit (128).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use outdial_core::{CallEvent, CallStatus, ProviderCallId};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::call::{map_answered_by, str_field, CallObject};
use crate::twilio::signature::body_sha256_hex;

/// Largest webhook body accepted, in bytes: 256 KiB. The awell fixture (3 of 7 transcript
/// lines) is about 3 KB; a full payload repeats the transcript (`transcripts[]` and
/// `concatenated_transcript`) and may carry `pathway_logs`, `variables`, `analysis` and
/// `request_data`. A 30-minute call (the default `max_duration`) at roughly 150 words a
/// minute is about 30 KB of text, twice over with the JSON around each line under 100 KB;
/// 256 KiB leaves room for that while bounding what an unauthenticated sender can make the
/// server buffer and hash.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Path of outdial's route for Bland webhooks; [`status_callback_url`] builds the
/// `webhook` field from it.
pub const STATUS_CALLBACK_PATH: &str = "/webhooks/bland/call";

/// The `source` stored with every raw event from a Bland webhook.
pub const WEBHOOK_SOURCE: &str = "bland-webhook";

/// The header carrying the signature (<https://docs.bland.ai/tutorials/webhook-signing>).
pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";

/// The `webhook` URL for one attempt: `{public_url}/webhooks/bland/call?attempt={attempt_id}`
/// (`public_url` without a trailing slash).
pub fn status_callback_url(public_url: &str, attempt_id: i64) -> String {
    format!("{public_url}{STATUS_CALLBACK_PATH}?attempt={attempt_id}")
}

/// Verifies `header_value` (the [`SIGNATURE_HEADER`]) for `raw_body` with the signing
/// `secret` (whitespace around it ignored; an empty secret verifies nothing).
///
/// The header is hex (either case), whitespace-trimmed. It is accepted when it is the
/// HMAC-SHA256 of the raw bytes, or of the body re-serialised compactly in its own key order
/// (whitespace outside strings removed): Bland's own example signs `JSON.stringify(req.body)`
/// (a re-serialisation), so a body delivered with other spacing would fail a raw-bytes-only
/// check; awell's verifier accepts both too (bland.md A5). Both comparisons are constant
/// time ([`Mac::verify_slice`]).
pub fn verify_signature(secret: &str, raw_body: &[u8], header_value: &str) -> bool {
    let secret = secret.trim();
    if secret.is_empty() {
        return false;
    }
    let Ok(sig) = hex::decode(header_value.trim()) else {
        return false;
    };
    let check = |bytes: &[u8]| {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(bytes);
        mac.verify_slice(&sig).is_ok()
    };
    if check(raw_body) {
        return true;
    }
    match compact_json(raw_body) {
        Some(compact) if compact != raw_body => check(&compact),
        _ => false,
    }
}

/// The signature Bland sends for `raw_body`: the lower-case hex HMAC-SHA256 of the raw body
/// with the signing `secret` (whitespace around it ignored), as [`verify_signature`] checks
/// it. For the fake Bland and for tests.
pub fn sign(secret: &str, raw_body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.trim().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(raw_body);
    hex::encode(mac.finalize().into_bytes())
}

/// The body with JSON whitespace outside strings removed (`None` when it is not UTF-8 JSON
/// text with balanced strings). Keys keep their order, as `JSON.stringify` keeps them.
fn compact_json(raw: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(raw).ok()?;
    let mut out = Vec::with_capacity(raw.len());
    let (mut in_str, mut escaped) = (false, false);
    for &b in raw {
        if in_str {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else if b == b'"' {
            in_str = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            out.push(b);
        }
    }
    (!in_str).then_some(out)
}

/// The dedupe key of one delivery: `bland:{call_id}:{sha256 of the raw body, hex}` (`-` when
/// the body names no call).
pub fn dedupe_key(call_id: Option<&ProviderCallId>, raw_body: &[u8]) -> String {
    format!(
        "bland:{}:{}",
        call_id.map_or("-", ProviderCallId::as_str),
        body_sha256_hex(raw_body)
    )
}

/// Why a webhook body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body is longer than [`MAX_BODY_BYTES`] (the length received, in bytes).
    #[error("body of {0} bytes is over the limit of {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// The body is not JSON (or nests deeper than serde_json's limit).
    #[error("body is not JSON: {0}")]
    Json(String),
    /// The body is JSON but not an object.
    #[error("body is not a JSON object")]
    NotObject,
    /// A post-call payload has no usable `call_id` (nor `c_id`).
    #[error("missing field call_id")]
    MissingCallId,
}

/// A parsed webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum BlandCallback {
    /// The post-call payload (it has a top-level `status` or `completed`).
    Call(Box<BlandCallResult>),
    /// Anything else: an event-stream item (`{level, message, category, call_id,
    /// timestamp}`, bland.md A4/A5). Stored, changes nothing.
    Event(BlandStreamEvent),
}

impl BlandCallback {
    /// The call the delivery is about, when it names one.
    pub fn call_id(&self) -> Option<&ProviderCallId> {
        match self {
            BlandCallback::Call(c) => Some(&c.call_id),
            BlandCallback::Event(e) => e.call_id.as_ref(),
        }
    }
}

/// An event-stream item (fields as sent; all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlandStreamEvent {
    /// `call_id`.
    pub call_id: Option<ProviderCallId>,
    /// `level`: `queue` or `call`.
    pub level: Option<String>,
    /// `category`: `info`, `performance` or `error`.
    pub category: Option<String>,
    /// `message`.
    pub message: Option<String>,
}

/// Bland's post-call payload, the fields outdial reads.
#[derive(Debug, Clone, PartialEq)]
pub struct BlandCallResult {
    /// `call_id` (or `c_id`).
    pub call_id: ProviderCallId,
    /// The status mapped from `queue_status`, `status`, `completed` (see [`super::call`]).
    pub status: CallStatus,
    /// `status` as sent.
    pub raw_status: Option<String>,
    /// `queue_status` as sent.
    pub queue_status: Option<String>,
    /// `completed`.
    pub completed: Option<bool>,
    /// `answered_by` as sent (`human`, `voicemail`, `unknown`, `no-answer`, null).
    pub answered_by: Option<String>,
    /// Duration in **seconds**: `corrected_duration`, else `call_length` (minutes) × 60,
    /// rounded.
    pub duration_s: Option<u32>,
    /// `call_length` in **minutes**, as sent.
    pub call_length_min: Option<f64>,
    /// `disposition_tag`: the label chosen from the call's `dispositions`.
    pub disposition_tag: Option<String>,
    /// `transferred_to`.
    pub transferred_to: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `recording_url`.
    pub recording_url: Option<String>,
    /// `price`, USD.
    pub price: Option<f64>,
    /// `call_ended_by`: `ASSISTANT` or `USER`.
    pub call_ended_by: Option<String>,
    /// `error_message`.
    pub error_message: Option<String>,
    /// `metadata.outdial_attempt_id` (top-level `metadata`, else `variables.metadata`).
    pub attempt_id: Option<i64>,
    /// `pathway_tags`, as names (strings or the `name` of `{name, color}` objects).
    pub pathway_tags: Vec<String>,
    /// `started_at`, UTC.
    pub started_at: Option<DateTime<Utc>>,
    /// `end_at`, UTC: when `max_duration` would have cut the call (not when it ended).
    pub end_at: Option<DateTime<Utc>>,
    /// When the call ended: `started_at` + duration, when both are known.
    pub ended_at: Option<DateTime<Utc>>,
}

impl BlandCallResult {
    /// The payload as a call event, only when its status is final (see the module docs on
    /// ordering): no sequence number, stamped at the end time, else `received_at`; no SIP
    /// code (Bland sends none).
    pub fn to_event(&self, received_at: DateTime<Utc>) -> Option<CallEvent> {
        self.status.is_final().then(|| CallEvent {
            call_id: self.call_id.clone(),
            status: self.status,
            sequence: None,
            at: self.ended_at.unwrap_or(received_at),
            duration_s: self.duration_s,
            answered_by: map_answered_by(self.answered_by.as_deref()),
            sip_response_code: None,
        })
    }
}

/// Parses a webhook body (verify the signature first).
///
/// Errors: [`WebhookError::TooLarge`] over [`MAX_BODY_BYTES`], [`WebhookError::Json`],
/// [`WebhookError::NotObject`], [`WebhookError::MissingCallId`] for a post-call payload
/// without a usable `call_id`.
pub fn parse_call_webhook(body: &[u8]) -> Result<BlandCallback, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge(body.len()));
    }
    let map: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(WebhookError::NotObject),
        Err(e) => return Err(WebhookError::Json(e.to_string())),
    };
    let s = |k: &str| str_field(&map, k);
    if !map.contains_key("status") && !map.contains_key("completed") {
        return Ok(BlandCallback::Event(BlandStreamEvent {
            call_id: s("call_id").as_deref().and_then(ProviderCallId::parse),
            level: s("level"),
            category: s("category"),
            message: s("message"),
        }));
    }
    let obj = CallObject::from_map(&map);
    let call_id = obj
        .call_id
        .as_deref()
        .and_then(ProviderCallId::parse)
        .ok_or(WebhookError::MissingCallId)?;
    let attempt_id = obj.attempt_id;
    let pathway_tags = match map.get("pathway_tags") {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter_map(|t| match t {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => str_field(o, "name"),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(BlandCallback::Call(Box::new(BlandCallResult {
        call_id,
        status: obj.status(),
        raw_status: obj.status.clone(),
        queue_status: obj.queue_status.clone(),
        completed: obj.completed,
        answered_by: obj.answered_by.clone(),
        duration_s: obj.duration_s(),
        call_length_min: obj.call_length_min,
        disposition_tag: s("disposition_tag"),
        transferred_to: s("transferred_to"),
        summary: s("summary"),
        recording_url: s("recording_url"),
        price: obj.price,
        call_ended_by: s("call_ended_by"),
        error_message: s("error_message"),
        attempt_id,
        pathway_tags,
        started_at: obj.started_at,
        end_at: obj.end_at,
        ended_at: obj.end_time(),
    })))
}

#[cfg(test)]
mod tests;
