//! Twilio status callbacks: the form body Twilio POSTs to a call's `StatusCallback` URL,
//! parsed into a [`CallEvent`].
//!
//! Fields read (<https://www.twilio.com/docs/voice/api/call-resource>, "Parameters sent to your
//! StatusCallback URL"): `CallSid`, `AccountSid`, `To`, `From`, `CallStatus` (one of `queued`,
//! `initiated`, `ringing`, `in-progress`, `completed`, `busy`, `no-answer`, `failed`,
//! `canceled`), `SequenceNumber` (0-based firing order; arrival order is not guaranteed),
//! `Timestamp` (RFC 2822), `CallDuration` (seconds, terminal events), `AnsweredBy`
//! (answering-machine detection) and `SipResponseCode` (terminal events). Everything else
//! (geo fields, `Duration` in billed minutes, `CallbackSource`, …) is ignored.
//!
//! Verify the `X-Twilio-Signature` ([`super::signature::verify_form`]) before parsing.
//!
//! Size bounds, checked before anything is decoded or verified ([`decode_form`]): a body of
//! at most [`MAX_BODY_BYTES`] and at most [`MAX_FIELDS`] fields. A real status callback is
//! about 1 KB with about 40 fields: the always-sent fields, the geo fields of `To`, `From`,
//! `Called` and `Caller`, the per-event fields and `AnsweredBy`, `StirStatus` and the
//! `Recording*` fields (`reference/telephony-apis.md` §2 "Status callback request
//! parameters", and the captured payload of §2a: 1,013 bytes, 37 fields).

use chrono::{DateTime, Utc};
use outdial_core::{AnsweredBy, CallEvent, CallStatus, ProviderCallId};

/// Largest status-callback body accepted, in bytes: 64 KiB, about 60 times the size of a
/// real callback (see the module docs), so that no field Twilio may add comes near it, while
/// an unauthenticated sender cannot make the server buffer and hash more than this.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most form fields (`name=value` pairs, repeats counted) accepted in a status callback: 256,
/// more than six times the ~40 fields Twilio sends (see the module docs).
pub const MAX_FIELDS: usize = 256;

/// Path of outdial's route for Twilio status callbacks. The HTTP router mounts it and
/// [`status_callback_url`] builds the `StatusCallback` parameter from it: the route is
/// written here once.
pub const STATUS_CALLBACK_PATH: &str = "/webhooks/twilio/status";

/// The `source` stored with every raw event that came from a Twilio status callback (the
/// webhook-silence monitor and reports read it back).
pub const WEBHOOK_SOURCE: &str = "twilio-webhook";

/// The absolute `StatusCallback` URL for one attempt:
/// `{public_url}/webhooks/twilio/status?attempt={attempt_id}`. `public_url` is outdial's
/// configured external base URL without a trailing slash; Twilio signs this exact URL, so the
/// signature check uses the same `public_url` and never the `Host` header.
pub fn status_callback_url(public_url: &str, attempt_id: i64) -> String {
    format!("{public_url}{STATUS_CALLBACK_PATH}?attempt={attempt_id}")
}

/// The dedupe key of a status callback's raw event: `twilio:{CallSid}:{SequenceNumber}:{status}`
/// (`-` when Twilio sent no sequence number). Twilio retries a callback with the same fields,
/// so a retried delivery maps to the same key and changes nothing.
pub fn dedupe_key(event: &CallEvent) -> String {
    format!(
        "twilio:{}:{}:{}",
        event.call_id,
        event.sequence.map_or("-".to_string(), |s| s.to_string()),
        event.status.as_str()
    )
}

/// A parsed Twilio status callback.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCallback {
    /// The event: call id, status, sequence number, time (UTC), duration, AMD result, SIP code.
    pub event: CallEvent,
    /// `AccountSid`: the account the call belongs to (`AC` + 32 hex digits as sent; not
    /// validated here).
    pub account_sid: String,
    /// `To`: the called number as Twilio reports it (empty when absent).
    pub to: String,
    /// `From`: the caller id as Twilio reports it (empty when absent).
    pub from: String,
}

/// Why a status callback body could not be parsed. Each variant names the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body could not be decoded as `application/x-www-form-urlencoded` (only from
    /// [`parse_status_callback_body`]; decoding is lossy, so invalid UTF-8 does not fail here).
    #[error("body is not a valid form: {0}")]
    Form(String),
    /// The body is longer than [`MAX_BODY_BYTES`] (the length received, in bytes).
    #[error("body of {0} bytes is over the limit of {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// The body has more than [`MAX_FIELDS`] fields.
    #[error("body has more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// A required field (`CallSid`, `CallStatus`, `AccountSid`) is absent or empty.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// `CallStatus` is not one of Twilio's nine values.
    #[error("unknown CallStatus '{0}'")]
    UnknownStatus(String),
    /// A field is present but malformed (`CallSid` not a usable id, `SequenceNumber`,
    /// `CallDuration` or `SipResponseCode` not a non-negative integer in range).
    #[error("malformed field {field}: '{value}'")]
    Malformed {
        /// The form field name.
        field: &'static str,
        /// The value received.
        value: String,
    },
}

/// Parses a status callback from its decoded form pairs (as from
/// `serde_urlencoded::from_bytes::<Vec<(String, String)>>`).
///
/// `received_at` stamps the event when `Timestamp` is absent or not RFC 2822. When a field
/// occurs more than once, its first value is used. Optional fields that are present but
/// empty count as absent.
///
/// Errors: [`WebhookError::Missing`] for an absent or empty `CallSid`, `CallStatus` or
/// `AccountSid`; [`WebhookError::UnknownStatus`] for a `CallStatus` outside the nine values;
/// [`WebhookError::Malformed`] for a non-numeric (or out of range) `SequenceNumber`
/// (`u32`), `CallDuration` (`u32` seconds) or `SipResponseCode` (`u16`), or an unusable
/// `CallSid`.
pub fn parse_status_callback(
    params: &[(String, String)],
    received_at: DateTime<Utc>,
) -> Result<StatusCallback, WebhookError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());

    let sid_raw = non_empty("CallSid").ok_or(WebhookError::Missing("CallSid"))?;
    let call_id = ProviderCallId::parse(sid_raw).ok_or_else(|| WebhookError::Malformed {
        field: "CallSid",
        value: sid_raw.to_owned(),
    })?;
    let status_raw = non_empty("CallStatus").ok_or(WebhookError::Missing("CallStatus"))?;
    let status = CallStatus::parse(status_raw.trim())
        .ok_or_else(|| WebhookError::UnknownStatus(status_raw.to_owned()))?;
    let account_sid = non_empty("AccountSid")
        .ok_or(WebhookError::Missing("AccountSid"))?
        .to_owned();

    let sequence = parse_num::<u32>(non_empty("SequenceNumber"), "SequenceNumber")?;
    let duration_s = parse_num::<u32>(non_empty("CallDuration"), "CallDuration")?;
    let sip_response_code = parse_num::<u16>(non_empty("SipResponseCode"), "SipResponseCode")?;
    let at = non_empty("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc2822(t.trim()).ok())
        .map_or(received_at, |t| t.with_timezone(&Utc));
    let answered_by = get("AnsweredBy").and_then(|v| AnsweredBy::parse(v.trim()));

    Ok(StatusCallback {
        event: CallEvent {
            call_id,
            status,
            sequence,
            at,
            duration_s,
            answered_by,
            sip_response_code,
        },
        account_sid,
        to: get("To").unwrap_or_default().to_owned(),
        from: get("From").unwrap_or_default().to_owned(),
    })
}

/// Decodes a raw `application/x-www-form-urlencoded` status-callback body into its
/// (name, value) pairs, in body order, after checking the size bounds. Linear in the body
/// length.
///
/// Errors: [`WebhookError::TooLarge`] for a body over [`MAX_BODY_BYTES`],
/// [`WebhookError::TooManyFields`] for more than [`MAX_FIELDS`] fields (both checked before
/// decoding), [`WebhookError::Form`] when the body does not decode.
pub fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge(body.len()));
    }
    // Empty segments (`a=1&&b=2`) are skipped by the decoder, so they are not counted.
    let fields = body
        .split(|b| *b == b'&')
        .filter(|f| !f.is_empty())
        .take(MAX_FIELDS + 1)
        .count();
    if fields > MAX_FIELDS {
        return Err(WebhookError::TooManyFields);
    }
    serde_urlencoded::from_bytes(body).map_err(|e| WebhookError::Form(e.to_string()))
}

/// Parses a status callback from the raw `application/x-www-form-urlencoded` body.
///
/// Errors: as [`decode_form`], else as [`parse_status_callback`].
pub fn parse_status_callback_body(
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<StatusCallback, WebhookError> {
    parse_status_callback(&decode_form(body)?, received_at)
}

/// A verified status callback made ready to store: the parsed event and the three fields of
/// its raw event-log entry. The one place that says how a Twilio callback is recorded: the
/// HTTP handler and the simulator both build it with [`verified_callback`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCallback {
    /// The parsed callback (event, account, `To`, `From`).
    pub callback: StatusCallback,
    /// The raw event's source: always [`WEBHOOK_SOURCE`].
    pub source: String,
    /// The raw event's dedupe key: [`dedupe_key`] of the event.
    pub dedupe_key: String,
    /// The raw event's payload: the body as received, decoded as UTF-8 lossily.
    pub payload: String,
}

impl VerifiedCallback {
    /// The parsed event (call id, status, sequence, time UTC, duration, AMD, SIP code).
    pub fn event(&self) -> &CallEvent {
        &self.callback.event
    }
}

/// Turns a request whose `X-Twilio-Signature` was verified (its decoded form `params`, as
/// from [`decode_form`], and the raw `body` they came from) into what is stored: the parsed
/// callback ([`parse_status_callback`], `received_at` stamping an event without a usable
/// `Timestamp`), the source [`WEBHOOK_SOURCE`], the [`dedupe_key`] and the body as payload.
///
/// Errors: as [`parse_status_callback`].
pub fn verified_callback(
    params: &[(String, String)],
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<VerifiedCallback, WebhookError> {
    let callback = parse_status_callback(params, received_at)?;
    Ok(VerifiedCallback {
        source: WEBHOOK_SOURCE.to_owned(),
        dedupe_key: dedupe_key(&callback.event),
        payload: String::from_utf8_lossy(body).into_owned(),
        callback,
    })
}

/// The form body Twilio would POST for `callback`: `CallSid`, `AccountSid`, `CallStatus`,
/// `To`, `From`, `Timestamp` (RFC 2822, whole seconds) and, when known, `SequenceNumber`,
/// `CallDuration` (seconds), `AnsweredBy` and `SipResponseCode`, form-encoded in that
/// order. [`parse_status_callback_body`] reads it back to the same callback (the time
/// truncated to the second). For simulators and tests that stand in for Twilio.
pub fn encode_status_callback(callback: &StatusCallback) -> String {
    let e = &callback.event;
    let mut pairs: Vec<(&str, String)> = vec![
        ("CallSid", e.call_id.as_str().to_owned()),
        ("AccountSid", callback.account_sid.clone()),
        ("CallStatus", e.status.as_str().to_owned()),
        ("To", callback.to.clone()),
        ("From", callback.from.clone()),
        ("Timestamp", e.at.to_rfc2822()),
    ];
    if let Some(s) = e.sequence {
        pairs.push(("SequenceNumber", s.to_string()));
    }
    if let Some(d) = e.duration_s {
        pairs.push(("CallDuration", d.to_string()));
    }
    if let Some(a) = e.answered_by {
        pairs.push(("AnsweredBy", a.as_str().to_owned()));
    }
    if let Some(c) = e.sip_response_code {
        pairs.push(("SipResponseCode", c.to_string()));
    }
    serde_urlencoded::to_string(pairs).expect("string pairs always encode")
}

fn parse_num<T: std::str::FromStr>(
    raw: Option<&str>,
    field: &'static str,
) -> Result<Option<T>, WebhookError> {
    raw.map(|v| {
        v.trim().parse::<T>().map_err(|_| WebhookError::Malformed {
            field,
            value: v.to_owned(),
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Reference §2a: a captured `completed` callback (third-party fixture).
    const SAMPLE: &str = "Called=%2B551135892112&ToState=SP&CallerCountry=US&Direction=outbound-api&Timestamp=Sun%2C%2025%20Mar%202018%2009%3A53%3A19%20%2B0000&CallbackSource=call-progress-events&CallerState=NY&ToZip=&SequenceNumber=3&To=%2B551135892112&CallSid=CAbe982f58915a2def4cf7aaa1f1766236&ToCountry=BR&CallerZip=10004&CalledZip=&ApiVersion=2010-04-01&CallStatus=completed&CalledCity=S%C3%A3o%20Paulo&Duration=1&From=%2B16466063895&CallDuration=49&AccountSid=AC47ebdee5f6d2049fe18cf3ca151ff3a7&CalledCountry=BR&CallerCity=NEW%20YORK&ToCity=S%C3%A3o%20Paulo&FromCountry=US&Caller=%2B16466063895&FromCity=NEW%20YORK&CalledState=SP&FromZip=10004&AnsweredBy=human&FromState=NY";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn minimal(status: &str) -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA0123456789abcdef0123456789abcdef"),
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("CallStatus", status),
            ("To", "+14155550100"),
            ("From", "+14155550199"),
        ])
    }

    #[test]
    fn verified_callback_carries_source_key_and_body() {
        let v = verified_callback(
            &decode_form(SAMPLE.as_bytes()).unwrap(),
            SAMPLE.as_bytes(),
            now(),
        )
        .unwrap();
        assert_eq!(v.source, "twilio-webhook");
        assert_eq!(
            v.dedupe_key,
            "twilio:CAbe982f58915a2def4cf7aaa1f1766236:3:completed"
        );
        assert_eq!(v.payload, SAMPLE);
        assert_eq!(v.event().status, CallStatus::Completed);
        assert_eq!(
            v.callback,
            parse_status_callback_body(SAMPLE.as_bytes(), now()).unwrap()
        );
    }

    #[test]
    fn encoded_callbacks_parse_back() {
        let mut cb = parse_status_callback_body(SAMPLE.as_bytes(), now()).unwrap();
        cb.event.sip_response_code = Some(200);
        let body = encode_status_callback(&cb);
        assert_eq!(
            parse_status_callback_body(body.as_bytes(), now()).unwrap(),
            cb
        );
        let bare = parse_status_callback(&minimal("ringing"), now()).unwrap();
        let body = encode_status_callback(&bare);
        assert_eq!(
            parse_status_callback_body(body.as_bytes(), now()).unwrap(),
            bare
        );
    }

    #[test]
    fn parses_reference_sample_payload() {
        let cb = parse_status_callback_body(SAMPLE.as_bytes(), now()).unwrap();
        assert_eq!(cb.account_sid, "AC47ebdee5f6d2049fe18cf3ca151ff3a7");
        assert_eq!(cb.to, "+551135892112");
        assert_eq!(cb.from, "+16466063895");
        let e = cb.event;
        assert_eq!(e.call_id.as_str(), "CAbe982f58915a2def4cf7aaa1f1766236");
        assert_eq!(e.status, CallStatus::Completed);
        assert_eq!(e.sequence, Some(3));
        assert_eq!(e.at, Utc.with_ymd_and_hms(2018, 3, 25, 9, 53, 19).unwrap());
        // CallDuration (seconds), not Duration (billed minutes).
        assert_eq!(e.duration_s, Some(49));
        assert_eq!(e.answered_by, Some(AnsweredBy::Human));
        assert_eq!(e.sip_response_code, None);
    }

    #[test]
    fn all_nine_statuses_parse() {
        for s in CallStatus::ALL {
            let cb = parse_status_callback(&minimal(s.as_str()), now()).unwrap();
            assert_eq!(cb.event.status, s);
        }
        let cb = parse_status_callback(&minimal("initiated"), now()).unwrap();
        assert_eq!(cb.event.status, CallStatus::Initiated);
    }

    #[test]
    fn minimal_body_uses_received_at_and_leaves_optionals_empty() {
        let cb = parse_status_callback(&minimal("ringing"), now()).unwrap();
        assert_eq!(cb.event.at, now());
        assert_eq!(cb.event.sequence, None);
        assert_eq!(cb.event.duration_s, None);
        assert_eq!(cb.event.answered_by, None);
        assert_eq!(cb.event.sip_response_code, None);
        assert_eq!(cb.to, "+14155550100");
        assert_eq!(cb.from, "+14155550199");
    }

    #[test]
    fn terminal_fields_parse() {
        let mut params = minimal("no-answer");
        params.extend(p(&[
            ("SequenceNumber", "2"),
            ("CallDuration", "0"),
            ("SipResponseCode", "487"),
            ("Timestamp", "Tue, 31 Aug 2010 20:36:28 +0000"),
            ("AnsweredBy", "machine_end_beep"),
        ]));
        let e = parse_status_callback(&params, now()).unwrap().event;
        assert_eq!(e.status, CallStatus::NoAnswer);
        assert_eq!(e.sequence, Some(2));
        assert_eq!(e.duration_s, Some(0));
        assert_eq!(e.sip_response_code, Some(487));
        assert_eq!(e.answered_by, Some(AnsweredBy::MachineEndBeep));
        assert_eq!(e.at, Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 28).unwrap());
    }

    #[test]
    fn timestamp_with_offset_is_converted_to_utc() {
        let mut params = minimal("ringing");
        params.push(("Timestamp".into(), "Tue, 31 Aug 2010 22:36:28 +0200".into()));
        let e = parse_status_callback(&params, now()).unwrap().event;
        assert_eq!(e.at, Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 28).unwrap());
    }

    #[test]
    fn unparsable_or_empty_timestamp_falls_back_to_received_at() {
        for ts in ["yesterday", "", "2010-08-31T20:36:28Z"] {
            let mut params = minimal("ringing");
            params.push(("Timestamp".into(), ts.into()));
            let e = parse_status_callback(&params, now()).unwrap().event;
            assert_eq!(e.at, now(), "{ts}");
        }
    }

    #[test]
    fn empty_optional_fields_count_as_absent() {
        let mut params = minimal("completed");
        params.extend(p(&[
            ("SequenceNumber", ""),
            ("CallDuration", ""),
            ("SipResponseCode", ""),
            ("AnsweredBy", ""),
        ]));
        let e = parse_status_callback(&params, now()).unwrap().event;
        assert_eq!(e.sequence, None);
        assert_eq!(e.duration_s, None);
        assert_eq!(e.sip_response_code, None);
        assert_eq!(e.answered_by, None);
    }

    #[test]
    fn missing_call_sid() {
        let params: Vec<_> = minimal("ringing")
            .into_iter()
            .filter(|(k, _)| k != "CallSid")
            .collect();
        let err = parse_status_callback(&params, now()).unwrap_err();
        assert_eq!(err, WebhookError::Missing("CallSid"));
        assert!(err.to_string().contains("CallSid"));
        let mut empty = params.clone();
        empty.push(("CallSid".into(), "  ".into()));
        assert_eq!(
            parse_status_callback(&empty, now()).unwrap_err(),
            WebhookError::Missing("CallSid")
        );
    }

    #[test]
    fn control_characters_in_call_sid_are_malformed() {
        let mut params: Vec<_> = minimal("ringing")
            .into_iter()
            .filter(|(k, _)| k != "CallSid")
            .collect();
        params.push(("CallSid".into(), "CA12\n34".into()));
        assert!(matches!(
            parse_status_callback(&params, now()).unwrap_err(),
            WebhookError::Malformed {
                field: "CallSid",
                ..
            }
        ));
    }

    #[test]
    fn missing_call_status_and_account_sid() {
        let no_status: Vec<_> = minimal("ringing")
            .into_iter()
            .filter(|(k, _)| k != "CallStatus")
            .collect();
        assert_eq!(
            parse_status_callback(&no_status, now()).unwrap_err(),
            WebhookError::Missing("CallStatus")
        );
        let no_account: Vec<_> = minimal("ringing")
            .into_iter()
            .filter(|(k, _)| k != "AccountSid")
            .collect();
        assert_eq!(
            parse_status_callback(&no_account, now()).unwrap_err(),
            WebhookError::Missing("AccountSid")
        );
    }

    #[test]
    fn unknown_call_status() {
        for bad in ["answered", "COMPLETED", "in_progress"] {
            let err = parse_status_callback(&minimal(bad), now()).unwrap_err();
            assert_eq!(err, WebhookError::UnknownStatus(bad.into()));
            assert!(err.to_string().contains("CallStatus"));
        }
    }

    #[test]
    fn malformed_numbers_name_their_field() {
        for (field, value) in [
            ("SequenceNumber", "three"),
            ("SequenceNumber", "-1"),
            ("SequenceNumber", "1.5"),
            ("CallDuration", "49s"),
            ("CallDuration", "99999999999"),
            ("SipResponseCode", "70000"),
            ("SipResponseCode", "abc"),
        ] {
            let mut params = minimal("completed");
            params.push((field.into(), value.into()));
            let err = parse_status_callback(&params, now()).unwrap_err();
            assert_eq!(
                err,
                WebhookError::Malformed {
                    field: match field {
                        "SequenceNumber" => "SequenceNumber",
                        "CallDuration" => "CallDuration",
                        _ => "SipResponseCode",
                    },
                    value: value.into()
                }
            );
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn first_value_of_a_repeated_field_wins() {
        let mut params = minimal("ringing");
        params.push(("CallStatus".into(), "completed".into()));
        let e = parse_status_callback(&params, now()).unwrap().event;
        assert_eq!(e.status, CallStatus::Ringing);
    }

    #[test]
    fn unknown_answered_by_maps_to_unknown() {
        let mut params = minimal("in-progress");
        params.push(("AnsweredBy".into(), "something_new".into()));
        let e = parse_status_callback(&params, now()).unwrap().event;
        assert_eq!(e.answered_by, Some(AnsweredBy::Unknown));
    }

    #[test]
    fn body_with_invalid_utf8_decodes_lossily_then_fails_on_fields() {
        let err = parse_status_callback_body(b"CallSid=%FF%FE", now()).unwrap_err();
        assert_eq!(err, WebhookError::Missing("CallStatus"));
    }

    #[test]
    fn bodies_over_the_bounds_are_refused_before_decoding() {
        // The captured payload fits with room to spare.
        assert!(SAMPLE.len() < MAX_BODY_BYTES / 32);
        assert!(SAMPLE.split('&').count() < MAX_FIELDS / 4);
        let too_long = vec![b'a'; MAX_BODY_BYTES + 1];
        assert_eq!(
            decode_form(&too_long).unwrap_err(),
            WebhookError::TooLarge(MAX_BODY_BYTES + 1)
        );
        let at_limit = "a=&".repeat(MAX_FIELDS);
        assert_eq!(decode_form(at_limit.as_bytes()).unwrap().len(), MAX_FIELDS);
        let over = "a=&".repeat(MAX_FIELDS + 1);
        assert_eq!(
            decode_form(over.as_bytes()).unwrap_err(),
            WebhookError::TooManyFields
        );
        // Empty segments are not fields.
        let sparse = format!("{}a=1", "&".repeat(MAX_FIELDS * 2));
        assert_eq!(decode_form(sparse.as_bytes()).unwrap().len(), 1);
        assert_eq!(
            parse_status_callback_body(over.as_bytes(), now()).unwrap_err(),
            WebhookError::TooManyFields
        );
    }
}
