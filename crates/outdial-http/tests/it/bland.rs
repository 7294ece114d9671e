//! `POST /webhooks/bland/call`: signed Bland post-call webhooks are applied once; unsigned,
//! forged, malformed and mismatched ones get a 4xx and change nothing.

use super::*;
use outdial_core::LeadStatus;
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

/// A final post-call payload answered by a person, with `disposition_tag` = `tag` (absent
/// when `None`) and `extra` keys merged in.
fn human_payload(attempt: i64, tag: Option<&str>, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "call_id": "CA1", "call_length": 1.5, "to": "+12125550101", "from": "+15005550006",
        "completed": true, "queue_status": "complete", "status": "completed",
        "answered_by": "human", "corrected_duration": "90",
        "started_at": "2026-03-02T15:00:05.000Z", "price": 0.135, "call_ended_by": "USER",
        "transferred_to": "+12125550199", "summary": "Wants the premium plan.",
        "recording_url": "https://recordings.example/CA1.mp3",
        "metadata": { "outdial_attempt_id": attempt, "lead_id": 1, "campaign_id": 1 },
    });
    if let Some(t) = tag {
        v["disposition_tag"] = serde_json::json!(t);
    }
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

/// Posts `body` signed; returns the status.
async fn post_signed(app: &axum::Router, id: outdial_core::AttemptId, body: &str) -> StatusCode {
    let path = format!("/webhooks/bland/call?attempt={id}");
    post_json(app, &path, body, Some(&sign(BLAND_SECRET, body.as_bytes()))).await
}

/// The lead of attempt `id` and the attempt, as stored.
async fn lead_and_attempt(
    store: &Arc<dyn Store>,
    id: outdial_core::AttemptId,
) -> (outdial_store::Lead, outdial_store::Attempt) {
    let a = store.attempt(id).await.unwrap().unwrap();
    (store.lead(a.lead_id).await.unwrap().unwrap(), a)
}

#[tokio::test]
async fn a_disposition_tag_decides_the_attempt_through_the_catalog() {
    // (tag, the attempt's and lead's disposition, the lead's status): aliases of the
    // campaign's catalog normalise the agent's labels.
    let cases = [
        (Some("TRANSFER_SALE"), "SALE", LeadStatus::Done),
        (Some("transfer"), "TRANSFERRED", LeadStatus::Done),
        (Some("TRANSFERRED"), "TRANSFERRED", LeadStatus::Done),
        (Some("callback"), "CALLBACK", LeadStatus::Active),
        // Unknown: refused nowhere, the call concludes by its status (a person answered).
        (Some("NO_CONTACT_MADE"), "ANSWERED", LeadStatus::Done),
        (None, "ANSWERED", LeadStatus::Done),
    ];
    for (tag, want, status) in cases {
        let (app, store, id) = app().await;
        let body = human_payload(id.0, tag, serde_json::json!({}));
        assert_eq!(
            post_signed(&app, id, &body).await,
            StatusCode::OK,
            "{tag:?}"
        );
        let (lead, a) = lead_and_attempt(&store, id).await;
        assert_eq!(a.state, AttemptState::Ended, "{tag:?}");
        assert!(a.concluded_at.is_some(), "{tag:?} not concluded");
        assert_eq!(a.disposition.as_ref().unwrap().as_str(), want, "{tag:?}");
        assert_eq!(lead.disposition.as_ref().unwrap().as_str(), want, "{tag:?}");
        assert_eq!(lead.status, status, "{tag:?}");
        // The raw event keeps everything Bland sent, the tag included.
        let raw = store
            .lead_events(lead.id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.source == "bland-webhook" && e.detail.contains("\"call_id\""))
            .map(|e| e.detail)
            .expect("the raw event is stored");
        for kept in [
            "transferred_to",
            "recording_url",
            "call_ended_by",
            "\"price\"",
        ] {
            assert!(raw.contains(kept), "{kept} missing from {raw}");
        }
        if let Some(t) = tag {
            assert!(raw.contains(t), "{t} missing from the raw event");
        }
    }
}

#[tokio::test]
async fn a_replayed_tagged_webhook_changes_nothing_the_second_time() {
    let (app, store, id) = app().await;
    let body = human_payload(id.0, Some("TRANSFER_SALE"), serde_json::json!({}));
    assert_eq!(post_signed(&app, id, &body).await, StatusCode::OK);
    let lead = store.attempt(id).await.unwrap().unwrap().lead_id;
    let after_first = store.lead_events(lead).await.unwrap();
    let (l1, a1) = lead_and_attempt(&store, id).await;
    assert_eq!(a1.disposition.as_ref().unwrap().as_str(), "SALE");
    for _ in 0..2 {
        assert_eq!(post_signed(&app, id, &body).await, StatusCode::OK);
    }
    assert_eq!(store.lead_events(lead).await.unwrap(), after_first);
    let (l2, a2) = lead_and_attempt(&store, id).await;
    assert_eq!((l2, a2), (l1, a1));
}

#[tokio::test]
async fn voicemail_wins_over_a_tag_and_a_later_tag_redecides_a_concluded_attempt() {
    // answered_by voicemail: VOICEMAIL, whatever the agent tagged.
    let (router, store, id) = app().await;
    let body = human_payload(
        id.0,
        Some("SALE"),
        serde_json::json!({"answered_by": "voicemail"}),
    );
    assert_eq!(post_signed(&router, id, &body).await, StatusCode::OK);
    let (lead, a) = lead_and_attempt(&store, id).await;
    assert_eq!(a.disposition.unwrap().as_str(), "VOICEMAIL");
    assert_eq!(lead.status, LeadStatus::Active, "voicemail is redialed");

    // First delivery without a tag concludes ANSWERED; the second POST (corrected
    // transcript, a different body) carries the tag: the lead is decided again, once.
    let (router, store, id) = app().await;
    let first = human_payload(id.0, None, serde_json::json!({}));
    assert_eq!(post_signed(&router, id, &first).await, StatusCode::OK);
    assert_eq!(
        lead_and_attempt(&store, id)
            .await
            .1
            .disposition
            .unwrap()
            .as_str(),
        "ANSWERED"
    );
    let second = human_payload(
        id.0,
        Some("TRANSFER_SALE"),
        serde_json::json!({"corrected_transcript": "user: yes, sign me up"}),
    );
    assert_eq!(post_signed(&router, id, &second).await, StatusCode::OK);
    let (lead, a) = lead_and_attempt(&store, id).await;
    assert_eq!(a.disposition.as_ref().unwrap().as_str(), "SALE");
    assert_eq!(lead.disposition.as_ref().unwrap().as_str(), "SALE");
    let events = store.lead_events(lead.id).await.unwrap();
    assert_eq!(post_signed(&router, id, &second).await, StatusCode::OK);
    assert_eq!(store.lead_events(lead.id).await.unwrap(), events);
}
