//! Webhook signature, parsing and dedupe, with the awell fixture of bland.md A5.

use super::*;
use chrono::TimeZone;
use outdial_core::AnsweredBy;

/// The post-call payload of bland.md A5 (awell `callCompleted.mock.ts`), as one line.
const FIXTURE: &str = r#"{"call_id":"4c150427-fb1e-4dd1-a44d-4f25b24361b0","c_id":"4c150427-fb1e-4dd1-a44d-4f25b24361b0","call_length":0.4,"batch_id":null,"to":"+32476581696","from":"+441174634094","completed":true,"created_at":"2025-04-15T18:31:53.696+00:00","inbound":false,"queue_status":"complete","max_duration":30,"error_message":null,"variables":{"now":"Tuesday, April 15, 2025 11:32 AM","now_utc":"Tuesday, April 15, 2025 6:32 PM","short_from":"1174634094","short_to":"2476581696","from":"+441174634094","to":"+32476581696","call_id":"4c150427-fb1e-4dd1-a44d-4f25b24361b0","phone_number":"+32476581696","country":"BE","language":"English","metadata":{"awell_patient_id":"patient-id","awell_activity_id":"activity-id"},"timestamp":"2025-04-15T11:32:00-07:00","timezone":"America/Los_Angeles"},"answered_by":null,"record":false,"recording_url":null,"metadata":{"awell_patient_id":"patient-id","awell_activity_id":"activity-id"},"summary":"The call was brief.","price":0.036,"started_at":"2025-04-15T18:31:53.696Z","local_dialing":false,"call_ended_by":"ASSISTANT","pathway_logs":null,"analysis_schema":null,"analysis":{"name":"Chung"},"transferred_to":null,"pathway_tags":[],"recording_expiration":null,"status":"completed","pathway_id":null,"concatenated_transcript":"assistant: Hello \n user: My name is Chung. \n agent-action: Ended call","transcripts":[{"id":144157637,"user":"assistant","text":"Hello, thank you for calling.","created_at":"2025-04-15T18:32:02.173844+00:00"},{"id":144157732,"user":"user","text":"My name is Chung.","created_at":"2025-04-15T18:32:06.228492+00:00"},{"id":144158138,"user":"agent-action","text":"Ended call","created_at":"2025-04-15T18:32:23.353835+00:00"}],"corrected_duration":"24","end_at":"2025-04-15T18:32:23.000Z","disposition_tag":"NO_CONTACT_MADE"}"#;

const SECRET: &str = "whsec-test";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn call(body: &str) -> BlandCallResult {
    match parse_call_webhook(body.as_bytes()).unwrap() {
        BlandCallback::Call(c) => *c,
        other => panic!("not a call: {other:?}"),
    }
}

#[test]
fn rfc4231_case_2_vector() {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
    mac.update(b"what do ya want for nothing?");
    let sig = hex::encode(mac.finalize().into_bytes());
    assert_eq!(
        sig,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert!(verify_signature(
        "Jefe",
        b"what do ya want for nothing?",
        &sig
    ));
}

#[test]
fn signature_valid_wrong_uppercase_missing() {
    let body = FIXTURE.as_bytes();
    let sig = sign(SECRET, body);
    assert!(verify_signature(SECRET, body, &sig));
    assert!(verify_signature(SECRET, body, &sig.to_uppercase()));
    assert!(verify_signature(
        &format!(" {SECRET}\n"),
        body,
        &format!("  {sig} \n")
    ));
    assert!(!verify_signature("other-secret", body, &sig));
    assert!(!verify_signature(SECRET, b"{\"call_id\":\"x\"}", &sig));
    assert!(!verify_signature(SECRET, body, ""));
    assert!(!verify_signature(SECRET, body, "not hex"));
    assert!(!verify_signature(SECRET, body, &sig[..32]));
    assert!(!verify_signature("", body, &sign("", body)));
}

#[test]
fn signature_over_the_reserialised_body_is_accepted() {
    // Bland's example signs JSON.stringify(body): compact, keys in their order.
    let compact = br#"{"call_id":"c-1","status":"completed","note":"a b"}"#;
    let delivered = b"{ \"call_id\": \"c-1\",\n  \"status\": \"completed\", \"note\": \"a b\" }";
    let sig = sign(SECRET, compact);
    assert!(verify_signature(SECRET, delivered, &sig));
    // Whitespace inside strings is kept, so a changed string does not verify.
    let tampered = b"{ \"call_id\": \"c-1\", \"status\": \"completed\", \"note\": \"ab\" }";
    assert!(!verify_signature(SECRET, tampered, &sig));
}

#[test]
fn fixture_parses_with_units_converted() {
    let c = call(FIXTURE);
    assert_eq!(c.call_id.as_str(), "4c150427-fb1e-4dd1-a44d-4f25b24361b0");
    assert_eq!(c.status, CallStatus::Completed);
    assert_eq!(c.raw_status.as_deref(), Some("completed"));
    assert_eq!(c.queue_status.as_deref(), Some("complete"));
    assert_eq!(c.completed, Some(true));
    assert_eq!(c.call_length_min, Some(0.4));
    assert_eq!(c.duration_s, Some(24), "corrected_duration preferred");
    assert_eq!(c.disposition_tag.as_deref(), Some("NO_CONTACT_MADE"));
    assert_eq!(c.call_ended_by.as_deref(), Some("ASSISTANT"));
    assert_eq!(c.price, Some(0.036));
    assert_eq!(c.summary.as_deref(), Some("The call was brief."));
    assert_eq!(c.recording_url, None);
    assert_eq!(c.transferred_to, None);
    assert_eq!(c.error_message, None);
    assert_eq!(c.attempt_id, None);
    assert!(c.pathway_tags.is_empty());
    let started = Utc.with_ymd_and_hms(2025, 4, 15, 18, 31, 53).unwrap()
        + chrono::Duration::milliseconds(696);
    assert_eq!(c.started_at, Some(started));
    assert_eq!(c.ended_at, Some(started + chrono::Duration::seconds(24)));
    assert!(c.end_at.is_some());
    let ev = c.to_event(Utc::now()).unwrap();
    assert_eq!(ev.status, CallStatus::Completed);
    assert_eq!(ev.sequence, None);
    assert_eq!(ev.duration_s, Some(24));
    assert_eq!(ev.answered_by, None);
    assert_eq!(ev.at, started + chrono::Duration::seconds(24));
}

#[test]
fn minutes_become_seconds_without_corrected_duration() {
    let c = call(
        r#"{"call_id":"c-1","status":"no-answer","queue_status":"complete","call_length":1.26,"answered_by":"voicemail"}"#,
    );
    assert_eq!(c.status, CallStatus::NoAnswer);
    assert_eq!(c.duration_s, Some(76));
    let ev = c.to_event(Utc::now()).unwrap();
    assert_eq!(ev.answered_by, Some(AnsweredBy::MachineStart));
}

#[test]
fn attempt_id_from_metadata_or_variables_metadata() {
    let top = call(
        r#"{"call_id":"c-1","completed":true,"status":"completed","metadata":{"outdial_attempt_id":42},"variables":{"metadata":{"outdial_attempt_id":7}}}"#,
    );
    assert_eq!(top.attempt_id, Some(42));
    let nested = call(
        r#"{"call_id":"c-1","completed":true,"status":"busy","variables":{"metadata":{"outdial_attempt_id":"43"}}}"#,
    );
    assert_eq!(nested.attempt_id, Some(43));
    assert_eq!(nested.status, CallStatus::Busy);
}

#[test]
fn pathway_tags_as_strings_or_objects() {
    let c = call(
        r#"{"call_id":"c-1","status":"completed","completed":true,"pathway_tags":["a",{"name":"b","color":"red"},3]}"#,
    );
    assert_eq!(c.pathway_tags, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn non_final_payload_makes_no_event() {
    let c = call(r#"{"call_id":"c-1","status":"unknown","queue_status":"complete"}"#);
    assert_eq!(c.status, CallStatus::InProgress);
    assert!(c.to_event(Utc::now()).is_none());
}

#[test]
fn event_stream_item_changes_nothing() {
    let body = br#"{"level":"call","message":"Call started","category":"info","call_id":"c-9","timestamp":1758656817432}"#;
    match parse_call_webhook(body).unwrap() {
        BlandCallback::Event(e) => {
            assert_eq!(e.call_id.as_ref().map(ProviderCallId::as_str), Some("c-9"));
            assert_eq!(e.level.as_deref(), Some("call"));
            assert_eq!(e.category.as_deref(), Some("info"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_and_malformed_bodies_are_refused() {
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(
        parse_call_webhook(&big),
        Err(WebhookError::TooLarge(MAX_BODY_BYTES + 1))
    );
    assert!(FIXTURE.len() * 50 < MAX_BODY_BYTES);
    assert!(matches!(
        parse_call_webhook(b"not json"),
        Err(WebhookError::Json(_))
    ));
    assert_eq!(parse_call_webhook(b"[1]"), Err(WebhookError::NotObject));
    assert_eq!(
        parse_call_webhook(br#"{"status":"completed"}"#),
        Err(WebhookError::MissingCallId)
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(matches!(
        parse_call_webhook(deep.as_bytes()),
        Err(WebhookError::Json(_))
    ));
}

#[test]
fn dedupe_keys_follow_the_body() {
    let cb = parse_call_webhook(FIXTURE.as_bytes()).unwrap();
    let k1 = dedupe_key(cb.call_id(), FIXTURE.as_bytes());
    assert_eq!(k1, dedupe_key(cb.call_id(), FIXTURE.as_bytes()));
    assert!(k1.starts_with("bland:4c150427-fb1e-4dd1-a44d-4f25b24361b0:"));
    let second = FIXTURE.replacen('{', r#"{"corrected_transcript":"x","#, 1);
    assert_ne!(k1, dedupe_key(cb.call_id(), second.as_bytes()));
    assert!(dedupe_key(None, b"{}").starts_with("bland:-:"));
}

#[test]
fn callback_url_uses_the_route() {
    assert_eq!(
        status_callback_url("https://o.example", 42),
        "https://o.example/webhooks/bland/call?attempt=42"
    );
    assert_eq!(
        crate::bland::attempt_from_callback(&status_callback_url("https://o.example", 42)),
        Some(42)
    );
}
