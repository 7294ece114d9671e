//! `POST /webhooks/bland/call`: signed Bland post-call webhooks are applied once; unsigned,
//! forged, malformed and mismatched ones get a 4xx and change nothing.

use super::*;
use outdial_providers::bland::webhook::sign;

/// A final post-call payload for the fixture's attempt (call `CA1`): answered by voicemail,
/// `corrected_duration` 24 s (`call_length` 0.4 min), metadata naming `attempt`.
fn payload(attempt: i64) -> String {
    serde_json::json!({
        "call_id": "CA1", "c_id": "CA1", "call_length": 0.4, "to": "+12125550101",
        "from": "+15005550006", "completed": true, "queue_status": "complete",
        "status": "completed", "answered_by": "voicemail", "corrected_duration": "24",
        "started_at": "2026-03-02T15:00:05.000Z", "price": 0.036, "call_ended_by": "ASSISTANT",
        "disposition_tag": "NO_CONTACT_MADE", "summary": "Left a message.",
        "metadata": { "outdial_attempt_id": attempt },
        "an_unknown_extra_field": { "kept": "in the raw event" }
    })
    .to_string()
}

async fn post_json(app: &axum::Router, path: &str, body: &str, sig: Option<&str>) -> StatusCode {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(s) = sig {
        req = req.header("x-webhook-signature", s);
    }
    app.clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_signed_final_webhook_is_applied_once_and_bad_ones_change_nothing() {
    let (app, store, id) = app().await;
    let path = format!("/webhooks/bland/call?attempt={id}");
    let lead = store.attempt(id).await.unwrap().unwrap().lead_id;
    let events = || async { store.lead_events(lead).await.unwrap().len() };
    let before = events().await;
    let body = payload(id.0);
    let good = sign(BLAND_SECRET, body.as_bytes());

    // Refused, each changing nothing.
    assert_eq!(
        post_json(&app, &path, &body, None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_json(&app, &path, &body, Some("not-hex")).await,
        StatusCode::FORBIDDEN
    );
    let forged = sign("another-secret", body.as_bytes());
    assert_eq!(
        post_json(&app, &path, &body, Some(&forged)).await,
        StatusCode::FORBIDDEN
    );
    let tampered = body.replace("\"24\"", "\"2400\"");
    assert_eq!(
        post_json(&app, &path, &tampered, Some(&good)).await,
        StatusCode::FORBIDDEN
    );
    let malformed = "{\"call_id\": \"CA1\", ";
    let sig = sign(BLAND_SECRET, malformed.as_bytes());
    assert_eq!(
        post_json(&app, &path, malformed, Some(&sig)).await,
        StatusCode::BAD_REQUEST
    );
    let other = payload(id.0 + 1);
    let sig = sign(BLAND_SECRET, other.as_bytes());
    assert_eq!(
        post_json(&app, &path, &other, Some(&sig)).await,
        StatusCode::BAD_REQUEST,
        "metadata naming another attempt"
    );
    let stream_item = r#"{"call_id":"CA1","level":"call","category":"info","message":"ringing"}"#;
    let sig = sign(BLAND_SECRET, stream_item.as_bytes());
    assert_eq!(
        post_json(&app, &path, stream_item, Some(&sig)).await,
        StatusCode::OK
    );
    assert_eq!(events().await, before);
    assert_ne!(attempt_state(&store, id).await, AttemptState::Ended);

    // The signed payload: applied.
    assert_eq!(
        post_json(&app, &path, &body, Some(&good)).await,
        StatusCode::OK
    );
    let a = store.attempt(id).await.unwrap().unwrap();
    assert_eq!(a.state, AttemptState::Ended);
    assert_eq!(a.duration_s, Some(24), "corrected_duration, in seconds");
    assert_eq!(a.disposition.unwrap().as_str(), "VOICEMAIL");
    let applied = events().await;
    assert!(applied > before);

    // The same body again (a retry or a replay: Bland's signature has no timestamp) and with
    // upper-case hex: accepted, nothing changes.
    let upper = good.to_ascii_uppercase();
    assert_eq!(
        post_json(&app, &path, &body, Some(&upper)).await,
        StatusCode::OK
    );
    assert_eq!(events().await, applied);
}

#[tokio::test]
async fn an_oversized_bland_body_is_refused_before_it_is_read_whole() {
    let (app, store, id) = app().await;
    let path = format!("/webhooks/bland/call?attempt={id}");
    let big = format!(
        "{{\"call_id\":\"CA1\",\"status\":\"completed\",\"pad\":\"{}\"}}",
        "x".repeat(outdial_providers::bland::webhook::MAX_BODY_BYTES)
    );
    let sig = sign(BLAND_SECRET, big.as_bytes());
    assert_eq!(
        post_json(&app, &path, &big, Some(&sig)).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_ne!(attempt_state(&store, id).await, AttemptState::Ended);
}
