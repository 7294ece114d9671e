//! Router tests without a socket (`oneshot`): webhook signatures, malformed input, API keys;
//! `bounds`: what an unauthenticated or hostile request may cost; `server`: the server loop's
//! timeouts, connection limit and shutdown over real sockets.

mod bland;
mod bounds;
mod dashboard;
mod intake;
mod metrics;
mod openapi;
mod reports;
mod server;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use outdial_clock::ManualClock;
use outdial_core::{
    AnswerBehaviour, AttemptState, CampaignSettings, LeadContact, NewLead, ProviderCallId,
    ProviderKind, Region, E164,
};
use outdial_engine::{Engine, EngineConfig};
use outdial_http::{router, AppState};
use outdial_providers::twilio::signature::compute_signature;
use outdial_providers::Provider;
use outdial_store::{LeadPlacement, Placement, Store};
use outdial_store_sqlite::SqliteStore;
use outdial_testkit::{t0, ScriptedProvider};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

const TOKEN: &str = "test-auth-token";
const BLAND_SECRET: &str = "bland-signing-secret";
const PUBLIC: &str = "https://dialer.example.com";
const KEY: &str = "admin-key-0123456789";

/// A router over a store holding one lead with one placed attempt (call `CA1`).
async fn app() -> (axum::Router, Arc<dyn Store>, outdial_core::AttemptId) {
    app_with(outdial_http::HttpLimits::default()).await
}

/// [`app`] with these limits.
async fn app_with(
    limits: outdial_http::HttpLimits,
) -> (axum::Router, Arc<dyn Store>, outdial_core::AttemptId) {
    app_custom(limits, Some(TOKEN)).await
}

/// [`app`] with these limits and this Twilio auth token (`None`: no Twilio account).
async fn app_custom(
    limits: outdial_http::HttpLimits,
    twilio_token: Option<&str>,
) -> (axum::Router, Arc<dyn Store>, outdial_core::AttemptId) {
    app_tuned(limits, twilio_token, |_| {}).await
}

/// [`app_custom`], with `tune` applied to the state before the router is built.
async fn app_tuned(
    limits: outdial_http::HttpLimits,
    twilio_token: Option<&str>,
    tune: impl FnOnce(&mut AppState),
) -> (axum::Router, Arc<dyn Store>, outdial_core::AttemptId) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let settings = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    );
    let c = store.create_campaign("c", &settings, t0()).await.unwrap();
    let lead = NewLead {
        phone: E164::parse("+12125550101", Region::US).unwrap(),
        contact: LeadContact::default(),
    };
    store
        .insert_leads(c.id, &[(lead.clone(), LeadPlacement::Active(t0()))], t0())
        .await
        .unwrap();
    let l = store.leads_by_phone(&lead.phone).await.unwrap().remove(0);
    let a = store.reserve_attempt(l.id, t0()).await.unwrap().unwrap();
    store
        .mark_placed(
            a.id,
            &Placement {
                call_id: ProviderCallId::parse("CA1").unwrap(),
                status: outdial_core::CallStatus::Queued,
            },
            t0(),
        )
        .await
        .unwrap();
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    let clock = Arc::new(ManualClock::new(t0()));
    // A provider that sends nothing and knows no call.
    providers.insert(
        ProviderKind::Twilio,
        Arc::new(ScriptedProvider::refusing(clock.clone())),
    );
    let engine = Arc::new(Engine::new(
        store.clone(),
        providers,
        clock,
        EngineConfig::default(),
    ));
    let mut state = AppState {
        engine,
        twilio_auth_token: twilio_token.map(|t| SecretString::from(t.to_string())),
        bland_webhook_secret: Some(SecretString::from(BLAND_SECRET.to_string())),
        public_url: PUBLIC.into(),
        api_keys: Arc::new(vec![SecretString::from(KEY.to_string())]),
        limits,
        rejections: Arc::default(),
        metrics_anonymous_from: Arc::default(),
        default_region: outdial_core::Region::US,
        sessions: Arc::default(),
    };
    tune(&mut state);
    (router(state), store, a.id)
}

fn form(params: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = serde_urlencoded::to_string(&owned).unwrap();
    (owned, body)
}

fn completed(seq: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", "CA1".into()),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef".into()),
        ("CallStatus", "completed".into()),
        ("SequenceNumber", seq.into()),
        ("CallDuration", "42".into()),
        ("AnsweredBy", "machine_start".into()),
        ("SipResponseCode", "200".into()),
        ("To", "+12125550101".into()),
        ("From", "+15005550006".into()),
    ]
}

async fn post(
    app: &axum::Router,
    path_q: &str,
    body: String,
    sig: Option<String>,
) -> (StatusCode, String) {
    let mut req = Request::post(path_q).header("content-type", "application/x-www-form-urlencoded");
    if let Some(s) = sig {
        req = req.header("x-twilio-signature", s);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn attempt_state(store: &Arc<dyn Store>, id: outdial_core::AttemptId) -> AttemptState {
    store.attempt(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn signed_callback_is_applied_once() {
    let (app, store, id) = app().await;
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("3");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    let (status, _) = post(&app, &path, body.clone(), Some(sig.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let a = store.attempt(id).await.unwrap().unwrap();
    assert_eq!(a.state, AttemptState::Ended);
    assert_eq!(a.duration_s, Some(42));
    assert_eq!(a.sip_response_code, Some(200));
    // A machine answer becomes VOICEMAIL.
    assert_eq!(a.disposition.unwrap().as_str(), "VOICEMAIL");
    // The duplicate is accepted (2xx, so Twilio stops retrying) and changes nothing.
    let before = store.lead_events(a.lead_id).await.unwrap().len();
    let (status, _) = post(&app, &path, body, Some(sig)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(store.lead_events(a.lead_id).await.unwrap().len(), before);
}

#[tokio::test]
async fn without_a_twilio_account_its_callback_route_is_absent_and_nothing_changes() {
    let (app, store, id) = app_custom(outdial_http::HttpLimits::default(), None).await;
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("0");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    // Even a callback signed with an empty token (what an unset token would verify) is refused.
    for key in ["", TOKEN] {
        let sig = compute_signature(key, &format!("{PUBLIC}{path}"), &params);
        let (status, _) = post(&app, &path, body.clone(), Some(sig)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(attempt_state(&store, id).await, AttemptState::Placed);
}

#[tokio::test]
async fn forged_unsigned_and_tampered_callbacks_are_rejected_and_change_nothing() {
    let (app, store, id) = app().await;
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("3");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    let good = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    let before = store
        .lead_events(store.attempt(id).await.unwrap().unwrap().lead_id)
        .await
        .unwrap()
        .len();

    // Unsigned.
    assert_eq!(
        post(&app, &path, body.clone(), None).await.0,
        StatusCode::FORBIDDEN
    );
    // Forged: signed with another token.
    let forged = compute_signature("not-the-token", &format!("{PUBLIC}{path}"), &params);
    assert_eq!(
        post(&app, &path, body.clone(), Some(forged)).await.0,
        StatusCode::FORBIDDEN
    );
    // Tampered body: the signature was for CallDuration=42.
    let tampered = body.replace("CallDuration=42", "CallDuration=4200");
    assert_eq!(
        post(&app, &path, tampered, Some(good.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    // Tampered URL: another attempt id.
    let other = "/webhooks/twilio/status?attempt=999";
    assert_eq!(
        post(&app, other, body.clone(), Some(good.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    // Signed for another host (Host header is not trusted).
    let wrong_host = compute_signature(TOKEN, &format!("https://evil.example.com{path}"), &params);
    assert_eq!(
        post(&app, &path, body, Some(wrong_host)).await.0,
        StatusCode::FORBIDDEN
    );

    assert_eq!(attempt_state(&store, id).await, AttemptState::Placed);
    let after = store
        .lead_events(store.attempt(id).await.unwrap().unwrap().lead_id)
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "a rejected webhook wrote an event");
}

#[tokio::test]
async fn malformed_callbacks_get_400() {
    let (app, store, id) = app().await;
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("CallStatus", "completed"), ("AccountSid", "AC1")], // no CallSid
        vec![
            ("CallSid", "CA1"),
            ("CallStatus", "exploded"),
            ("AccountSid", "AC1"),
        ], // unknown status
        vec![
            ("CallSid", "CA1"),
            ("CallStatus", "completed"),
            ("AccountSid", "AC1"),
            ("SequenceNumber", "x"),
        ],
    ];
    for c in cases {
        let (params, body) = form(&c);
        let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
        let (status, text) = post(&app, &path, body, Some(sig)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{c:?}: {text}");
    }
    // A signed body that is not a form at all.
    let bad_path = "/webhooks/twilio/status?attempt=abc";
    let (params, body) = form(
        &completed("1")
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{bad_path}"), &params);
    assert_eq!(
        post(&app, bad_path, body, Some(sig)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(attempt_state(&store, id).await, AttemptState::Placed);
}

#[tokio::test]
async fn admin_api_needs_a_key_and_answers_status_and_leads() {
    let (app, store, id) = app().await;
    let get = |path: &str, key: Option<&str>| {
        let mut r = Request::get(path);
        if let Some(k) = key {
            r = r.header("authorization", format!("Bearer {k}"));
        }
        r.body(Body::empty()).unwrap()
    };
    assert_eq!(
        app.clone()
            .oneshot(get("/api/v1/status", None))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.clone()
            .oneshot(get("/api/v1/status", Some("wrong-key-0123456789")))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = app
        .clone()
        .oneshot(get("/api/v1/status", Some(KEY)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["dialer"], "running");
    assert_eq!(v["attempts_in_flight"], 1);

    let stop = Request::post("/api/v1/dialer/stop")
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::from("{\"reason\":\"lunch\"}"))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(stop).await.unwrap().status(),
        StatusCode::OK
    );
    let v: serde_json::Value = serde_json::from_slice(
        &app.clone()
            .oneshot(get("/api/v1/status", Some(KEY)))
            .await
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(
        (v["dialer"].as_str(), v["dialer_reason"].as_str()),
        (Some("stopped"), Some("lunch"))
    );

    let lead_id = store.attempt(id).await.unwrap().unwrap().lead_id;
    let resp = app
        .clone()
        .oneshot(get(&format!("/api/v1/leads/{lead_id}"), Some(KEY)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    assert!(v["events"].as_array().unwrap().len() >= 2);
    assert_eq!(
        app.clone()
            .oneshot(get("/api/v1/leads/999", Some(KEY)))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.clone()
            .oneshot(get("/api/v1/leads/x", Some(KEY)))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn compliance_check_and_explain_on_the_api() {
    let (app, store, id) = app().await;
    let get = |path: String| {
        Request::get(path)
            .header("authorization", format!("Bearer {KEY}"))
            .body(Body::empty())
            .unwrap()
    };
    // 20:30 EST on a Thursday: Florida's 20:00 close blocks a 305 number.
    let resp = app
        .clone()
        .oneshot(get(
            "/api/v1/compliance/check?phone=%2B13055550101&at=2026-01-16T01:30:00Z".into(),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["allowed"], false, "{v}");
    assert_eq!(v["zones"][0], "America/New_York");
    assert_eq!(v["reasons"][0]["rule"], "state");
    assert!(
        v["reasons"][0]["source"]
            .as_str()
            .unwrap()
            .contains("501.616"),
        "{v}"
    );
    assert_eq!(v["next_allowed_at"], "2026-01-16T13:00:00Z");
    // Bad input is a 400 naming the field.
    let resp = app
        .clone()
        .oneshot(get(
            "/api/v1/compliance/check?phone=12&at=2026-01-16T01:30:00Z".into(),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .clone()
        .oneshot(get(
            "/api/v1/compliance/check?phone=%2B13055550101&tz=Mars".into()
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Explain a lead with an attempt in flight.
    let lead_id = store.attempt(id).await.unwrap().unwrap().lead_id;
    let resp = app
        .clone()
        .oneshot(get(format!("/api/v1/leads/{lead_id}/explain")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    assert!(v["next"].as_str().unwrap().contains("in flight"), "{v}");
    assert!(
        v["caps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["count"] == 1),
        "{v}"
    );
}

#[tokio::test]
async fn disposition_api_validates_and_applies() {
    let (app, store, id) = app().await;
    let post_json = |path: String, body: &str| {
        Request::post(path)
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let path = format!("/api/v1/attempts/{id}/disposition");
    let resp = app
        .clone()
        .oneshot(post_json(path.clone(), "{\"disposition\":\"NOPE\"}"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = app
        .clone()
        .oneshot(post_json(path.clone(), "not json"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .clone()
        .oneshot(post_json(
            path.clone(),
            "{\"disposition\":\"CALLBACK\",\"callback_at\":\"tomorrow\"}",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .clone()
        .oneshot(post_json(
            "/api/v1/attempts/999/disposition".into(),
            "{\"disposition\":\"SALE\"}",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // While the call is in flight the disposition is kept for conclusion.
    let resp = app
        .clone()
        .oneshot(post_json(
            path,
            "{\"disposition\":\"CALLBACK\",\"callback_at\":\"2026-01-05T19:00:00Z\"}",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let a = store.attempt(id).await.unwrap().unwrap();
    assert_eq!(a.requested_disposition.unwrap().as_str(), "CALLBACK");
    assert_eq!(
        a.callback_at,
        Some(Utc.with_ymd_and_hms(2026, 1, 5, 19, 0, 0).unwrap())
    );
}

async fn send_json(
    app: &axum::Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(k) = key {
        r = r.header("authorization", format!("Bearer {k}"));
    }
    let resp = app
        .clone()
        .oneshot(r.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn kill_switch_api_trips_and_resumes_with_a_reason() {
    let (app, store, _) = app().await;
    let (s, _) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/trip",
        None,
        "{\"reason\":\"x\"}",
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = send_json(&app, "POST", "/api/v1/killswitch/trip", Some(KEY), "{}").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("reason"), "{v}");
    let (s, v) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/trip",
        Some(KEY),
        "{\"reason\":\"x\",\"campaign\":\"nope\"}",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/trip",
        Some(KEY),
        "{\"reason\":\"x\",\"campaing\":\"c\"}",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown field: {v}");
    assert!(
        store.kill_switches().await.unwrap().is_empty(),
        "a refused request changed a switch"
    );

    let (s, v) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/trip",
        Some(KEY),
        "{\"reason\":\"list under review\",\"campaign\":\"c\"}",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], true);
    let (_, v) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/trip",
        Some(KEY),
        "{\"reason\":\"again\",\"campaign\":\"c\"}",
    )
    .await;
    assert_eq!(v["changed"], false);
    let (s, v) = send_json(&app, "GET", "/api/v1/killswitch", Some(KEY), "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["global_tripped"], false);
    assert_eq!(v["switches"][0]["tripped"], true);
    assert_eq!(v["switches"][0]["reason"], "list under review");
    assert_eq!(v["switches"][0]["source"], "operator:api");
    let (_, v) = send_json(&app, "GET", "/api/v1/status", Some(KEY), "").await;
    assert!(
        v["kill_switches_tripped"][0]
            .as_str()
            .unwrap()
            .starts_with("campaign:"),
        "{v}"
    );
    assert_eq!(store.alerts(10).await.unwrap().len(), 1);

    let (s, v) = send_json(
        &app,
        "POST",
        "/api/v1/killswitch/resume",
        Some(KEY),
        "{\"reason\":\"reviewed\",\"campaign\":\"c\"}",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["changed"], true);
    assert!(!store.kill_switches().await.unwrap()[0].tripped);
}

#[tokio::test]
async fn jobs_api_lists_and_requeues_only_dead_jobs() {
    let (app, store, _) = app().await;
    let id = store
        .enqueue_job(
            &outdial_store::NewJob {
                kind: "crm.attempt_concluded".into(),
                payload: "{\"attempt_id\":1}".into(),
                run_at: t0(),
                dedupe_key: None,
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    let (s, v) = send_json(&app, "GET", "/api/v1/jobs?state=zombie", Some(KEY), "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = send_json(
        &app,
        "POST",
        &format!("/api/v1/jobs/{}/requeue", id.0),
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = send_json(&app, "POST", "/api/v1/jobs/999/requeue", Some(KEY), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    store
        .claim_jobs("w", t0(), chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    store
        .dead_letter_job(id, "http-404", "no such endpoint", t0())
        .await
        .unwrap();
    let (s, v) = send_json(&app, "GET", "/api/v1/jobs?state=dead", Some(KEY), "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["jobs"][0]["error_code"], "http-404");
    assert_eq!(v["counts"]["dead"], 1);
    let (s, _) = send_json(
        &app,
        "POST",
        &format!("/api/v1/jobs/{}/requeue", id.0),
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        outdial_store::JobState::Pending
    );
    let (s, v) = send_json(&app, "GET", "/api/v1/alerts", Some(KEY), "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["alerts"].as_array().unwrap().is_empty());
}
