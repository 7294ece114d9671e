//! `BlandClient` against a small axum server on 127.0.0.1 returning canned Bland responses.

use super::*;
use crate::test_server::{canned, header, Canned};
use axum::http::request::Parts;
use chrono::TimeZone;
use outdial_core::campaign::{
    AgentBehaviour, AgentScript, AnswerBehaviour, DetectionMode, MachineHandling, VoicemailAction,
};
use outdial_core::{AnsweredBy, Region};
use std::sync::{Arc, Mutex};

const KEY: &str = "sk-bland-secret-123";
const CALL_ID: &str = "9d404c1b-6a23-4426-953a-a52c392ff8f1";

/// One request as the mock saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    org_id: Option<String>,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

type Log = crate::test_server::Log<Seen>;

fn to_seen(parts: &Parts, bytes: Vec<u8>) -> Seen {
    Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .map(|q| serde_urlencoded::from_str(q).unwrap())
            .unwrap_or_default(),
        authorization: header(parts, "authorization"),
        org_id: header(parts, "x-bland-org-id"),
        body: String::from_utf8(bytes).unwrap(),
    }
}

/// Serves `respond(seen)` for every request; returns the base URL and the request log.
async fn serve_with<F>(respond: F) -> (String, Log)
where
    F: Fn(&Seen) -> Canned + Clone + Send + Sync + 'static,
{
    crate::test_server::serve_with(to_seen, respond).await
}

async fn serve(c: Canned) -> (String, Log) {
    serve_with(move |_| c.clone()).await
}

fn cfg(base: &str, timeout: Duration) -> BlandConfig {
    BlandConfig {
        api_key: SecretString::from(KEY),
        api_base: base.to_owned(),
        request_timeout: timeout,
        org_id: Some("org-1".into()),
    }
}

fn client(base: &str) -> BlandClient {
    BlandClient::new(cfg(base, Duration::from_secs(5))).unwrap()
}

fn e164(s: &str) -> E164 {
    E164::parse(s, Region::US).unwrap()
}

fn agent(script: AgentScript) -> AnswerBehaviour {
    AnswerBehaviour::Agent(AgentBehaviour {
        script,
        voice: Some("maya".into()),
        first_sentence: Some("Hi, this is Ava.".into()),
        wait_for_greeting: true,
        record: true,
    })
}

fn place_req() -> PlaceCall {
    PlaceCall {
        to: e164("+14155550100"),
        from: e164("+14155550199"),
        answer: agent(AgentScript::Pathway {
            id: "pw-1".into(),
            start_node_id: Some("n-2".into()),
            version: Some("3".into()),
        }),
        machine: MachineHandling {
            detection: DetectionMode::DetectMessageEnd,
            on_machine: VoicemailAction::LeaveMessage {
                message: "Please call back.".into(),
            },
        },
        options: Default::default(),
        status_callback: "https://outdial.example/webhooks/bland/call?attempt=42".into(),
        ring_timeout_s: 25,
        time_limit_s: 601,
        context: crate::CallContext {
            campaign_name: "spring".into(),
            contact: outdial_core::LeadContact {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                external_id: Some("V-77".into()),
                state: Some("CA".into()),
                time_zone: Some("America/Los_Angeles".parse().unwrap()),
                comments: Some("operator note: not for the agent".into()),
                ..Default::default()
            },
            dispositions: vec!["SALE".into(), "TRANSFERRED".into()],
            ..crate::CallContext::new(
                AttemptId(42),
                outdial_core::LeadId(5),
                outdial_core::CampaignId(3),
            )
        },
    }
}

fn success() -> String {
    json!({"status":"success","message":"Call successfully queued.","call_id":CALL_ID,"batch_id":null})
        .to_string()
}

fn details(queue_status: &str, status: Option<&str>, answered_by: Option<&str>) -> String {
    json!({
        "call_id": CALL_ID, "to": "4155550100", "from": "+14155550199",
        "queue_status": queue_status, "status": status, "completed": queue_status == "complete",
        "answered_by": answered_by, "call_length": 0.4, "corrected_duration": "24",
        "created_at": "2025-04-15T18:31:53.696+00:00", "started_at": "2025-04-15T18:31:53.696Z",
        "end_at": "2025-04-15T19:01:53.000Z",
    })
    .to_string()
}

// ---------------------------------------------------------------- config

#[test]
fn config_debug_and_errors_never_print_the_key() {
    let c = cfg("https://api.bland.ai", Duration::from_secs(1));
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(KEY) && dbg.contains("redacted"), "{dbg}");
    let client = BlandClient::new(c.clone()).unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    let mut bad = c.clone();
    bad.api_base = "ftp://x".into();
    let e = BlandClient::new(bad).unwrap_err();
    assert!(matches!(e, BlandConfigError::InvalidApiBase(_)));
    assert!(!e.to_string().contains(KEY));
    let mut bad = c.clone();
    bad.api_key = SecretString::from(format!("{KEY}\n"));
    // Trailing whitespace is trimmed; an inner control character is refused.
    assert!(BlandClient::new(bad).is_ok());
    let mut bad = c.clone();
    bad.api_key = SecretString::from(format!("sk-\u{7}{KEY}"));
    let e = BlandClient::new(bad).unwrap_err();
    assert_eq!(e, BlandConfigError::InvalidApiKey);
    assert!(!e.to_string().contains(KEY) && !format!("{e:?}").contains(KEY));
    let mut bad = c.clone();
    bad.api_key = SecretString::from("  ");
    assert_eq!(
        BlandClient::new(bad).unwrap_err(),
        BlandConfigError::EmptyApiKey
    );
    let mut bad = c.clone();
    bad.request_timeout = Duration::ZERO;
    assert_eq!(
        BlandClient::new(bad).unwrap_err(),
        BlandConfigError::ZeroTimeout
    );
    let mut bad = c;
    bad.org_id = Some(" ".into());
    assert!(matches!(
        BlandClient::new(bad).unwrap_err(),
        BlandConfigError::InvalidOrgId(_)
    ));
    assert_eq!(
        BlandConfig::new(SecretString::from(KEY)).api_base,
        DEFAULT_API_BASE
    );
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn pathway_create_body() {
    let (base, log) = serve(canned(200, success())).await;
    let mut req = place_req();
    req.options.insert("temperature".into(), json!(0.3));
    req.options
        .insert("background_track".into(), json!("office"));
    let placed = client(&base).place_call(&req).await.unwrap();
    assert_eq!(placed.call_id.as_str(), CALL_ID);
    assert_eq!(placed.status, CallStatus::Queued);
    assert_eq!(placed.queue_time_ms, None);
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v1/calls")
    );
    assert_eq!(seen.authorization.as_deref(), Some(KEY));
    assert_eq!(seen.org_id.as_deref(), Some("org-1"));
    assert_eq!(
        seen.json(),
        json!({
            "phone_number": "+14155550100", "from": "+14155550199",
            "pathway_id": "pw-1", "start_node_id": "n-2", "pathway_version": "3",
            "voice": "maya", "first_sentence": "Hi, this is Ava.",
            "wait_for_greeting": true, "record": true,
            "max_duration": 11, "answered_by_enabled": true,
            "voicemail": {"action": "leave_message", "message": "Please call back."},
            "webhook": "https://outdial.example/webhooks/bland/call?attempt=42",
            "metadata": {"outdial_attempt_id": 42, "lead_id": 5, "campaign_id": 3},
            "request_data": {
                "first_name": "Ada", "last_name": "Lovelace", "external_id": "V-77",
                "state": "CA", "time_zone": "America/Los_Angeles",
            },
            "dispositions": ["SALE", "TRANSFERRED"],
            "temperature": 0.3, "background_track": "office",
        })
    );
}

#[tokio::test]
async fn task_create_body() {
    let (base, log) = serve(canned(200, success())).await;
    let mut req = place_req();
    req.answer = AnswerBehaviour::Agent(AgentBehaviour {
        script: AgentScript::Task {
            prompt: "Confirm the visit.".into(),
        },
        voice: None,
        first_sentence: None,
        wait_for_greeting: false,
        record: false,
    });
    req.machine = MachineHandling::default();
    req.time_limit_s = 3600;
    req.status_callback = "https://outdial.example/webhooks/bland/call?attempt=9".into();
    req.context = crate::CallContext::new(
        AttemptId(9),
        outdial_core::LeadId(8),
        outdial_core::CampaignId(1),
    );
    client(&base).place_call(&req).await.unwrap();
    let body = log.lock().unwrap()[0].json();
    assert_eq!(body["task"], "Confirm the visit.");
    for absent in [
        "pathway_id",
        "start_node_id",
        "pathway_version",
        "voice",
        "first_sentence",
    ] {
        assert!(body.get(absent).is_none(), "{absent} sent");
    }
    assert_eq!(body["max_duration"], 60);
    assert_eq!(body["answered_by_enabled"], false);
    assert_eq!(body["voicemail"], json!({"action": "ignore"}));
    assert_eq!(
        body["metadata"],
        json!({"outdial_attempt_id": 9, "lead_id": 8, "campaign_id": 1}),
        "the ids come from the context"
    );
    assert_eq!(
        body["request_data"],
        json!({}),
        "a lead without contact data"
    );
    assert!(
        body.get("dispositions").is_none(),
        "no labels: no dispositions field"
    );
    assert_eq!(body["wait_for_greeting"], false);
    let mut hang = place_req();
    hang.machine.on_machine = VoicemailAction::HangUp;
    assert_eq!(
        create_body(&hang).unwrap()["voicemail"],
        json!({"action":"hangup"})
    );
}

#[tokio::test]
async fn what_bland_cannot_do_is_not_sent() {
    let (base, log) = serve(canned(200, success())).await;
    let mut req = place_req();
    req.answer = AnswerBehaviour::flow_url("https://flows.example/a");
    let err = client(&base).place_call(&req).await.unwrap_err();
    assert!(matches!(err, PlaceError::Unsupported { .. }), "{err:?}");
    let mut req = place_req();
    req.options
        .insert("webhook".into(), json!("https://evil.example"));
    let err = client(&base).place_call(&req).await.unwrap_err();
    assert!(
        matches!(err, PlaceError::Unsupported { ref message } if message.contains("provider_options.webhook"))
    );
    assert!(log.lock().unwrap().is_empty());
}

async fn place_with(c: Canned) -> PlaceError {
    let (base, _) = serve(c).await;
    client(&base).place_call(&place_req()).await.unwrap_err()
}

#[tokio::test]
async fn failure_classes() {
    let bad_number = json!({"status":"error","message":"Invalid parameters","errors":[{"error":"invalid_parameter","message":"phone_number is not a valid phone number"}]}).to_string();
    for status in [400, 422] {
        let e = place_with(canned(status, bad_number.clone())).await;
        assert!(
            matches!(e, PlaceError::Rejected { reason: RejectReason::BadNumber, http_status, .. } if http_status == status),
            "{e:?}"
        );
    }
    let e = place_with(canned(401, r#"{"message":"Invalid API key"}"#)).await;
    assert!(
        matches!(e, PlaceError::Auth { http_status: 401, ref message, .. } if message == "Invalid API key"),
        "{e:?}"
    );
    let e = place_with(canned(403, r#"{"status":"error","errors":[{"error":"ENTERPRISE_REQUIRED","message":"Enterprise plan required"}]}"#)).await;
    assert!(
        matches!(e, PlaceError::Rejected { reason: RejectReason::Account, ref message, .. } if message.contains("ENTERPRISE_REQUIRED")),
        "{e:?}"
    );
    let mut c = canned(429, r#"{"message":"Too many requests"}"#);
    c.headers.push(("retry-after", "7".into()));
    let e = place_with(c).await;
    assert_eq!(
        e,
        PlaceError::RateLimited {
            code: None,
            message: "Too many requests".into(),
            retry_after_s: Some(7)
        }
    );
    for msg in [
        "Daily limit reached for your plan",
        "Concurrency limit exceeded",
        "hourly cap of 1000 calls",
    ] {
        let e = place_with(canned(
            400,
            json!({"status":"error","message":msg}).to_string(),
        ))
        .await;
        assert!(
            matches!(
                e,
                PlaceError::RateLimited {
                    retry_after_s: None,
                    ..
                }
            ),
            "{msg}: {e:?}"
        );
    }
    let e = place_with(canned(
        400,
        r#"{"status":"error","message":"Missing task or pathway_id"}"#,
    ))
    .await;
    assert!(
        matches!(
            e,
            PlaceError::Rejected {
                reason: RejectReason::Other,
                ..
            }
        ),
        "{e:?}"
    );
    let e = place_with(canned(404, "")).await;
    assert!(
        matches!(e, PlaceError::Rejected { reason: RejectReason::Other, ref message, .. } if message == "Not Found"),
        "{e:?}"
    );
    for status in [500, 502, 503, 408] {
        let e = place_with(canned(status, "oops")).await;
        assert!(matches!(e, PlaceError::Ambiguous { .. }), "{status}: {e:?}");
    }
    let e = place_with(canned(200, "not json")).await;
    assert!(matches!(e, PlaceError::Ambiguous { .. }), "{e:?}");
    let e = place_with(canned(200, r#"{"status":"success"}"#)).await;
    assert!(matches!(e, PlaceError::Ambiguous { .. }), "{e:?}");
    let e = place_with(canned(
        200,
        r#"{"status":"error","message":"phone_number invalid"}"#,
    ))
    .await;
    assert!(
        matches!(
            e,
            PlaceError::Rejected {
                reason: RejectReason::BadNumber,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn transport_failures() {
    // Connection refused: bind, learn the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client(&format!("http://{addr}"))
        .place_call(&place_req())
        .await
        .unwrap_err();
    assert!(matches!(e, PlaceError::NotSent { .. }), "{e:?}");
    // Timeout after sending: ambiguous.
    let mut c = canned(200, success());
    c.delay = Duration::from_secs(3);
    let (base, log) = serve(c).await;
    let slow = BlandClient::new(cfg(&base, Duration::from_millis(300))).unwrap();
    let e = slow.place_call(&place_req()).await.unwrap_err();
    assert!(matches!(e, PlaceError::Ambiguous { .. }), "{e:?}");
    assert_eq!(log.lock().unwrap().len(), 1, "never re-posted");
}

// ---------------------------------------------------------------- fetch

#[tokio::test]
async fn fetch_maps_every_final_status_and_answered_by() {
    for (st, want) in [
        ("completed", CallStatus::Completed),
        ("busy", CallStatus::Busy),
        ("no-answer", CallStatus::NoAnswer),
        ("failed", CallStatus::Failed),
        ("canceled", CallStatus::Canceled),
    ] {
        let (base, log) = serve(canned(200, details("complete", Some(st), Some("human")))).await;
        let snap = client(&base)
            .fetch_call(&ProviderCallId::parse(CALL_ID).unwrap())
            .await
            .unwrap();
        assert_eq!(snap.status, want, "{st}");
        assert_eq!(snap.duration_s, Some(24));
        assert_eq!(snap.to, "+14155550100");
        assert!(snap.end_time.unwrap() > snap.start_time.unwrap());
        let seen = log.lock().unwrap()[0].clone();
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            ("GET", format!("/v1/calls/{CALL_ID}").as_str())
        );
        assert_eq!(seen.authorization.as_deref(), Some(KEY));
    }
    for (ab, want) in [
        (Some("human"), Some(AnsweredBy::Human)),
        (Some("voicemail"), Some(AnsweredBy::MachineStart)),
        (Some("unknown"), Some(AnsweredBy::Unknown)),
        (Some("no-answer"), None),
        (None, None),
    ] {
        let (base, _) = serve(canned(200, details("complete", Some("completed"), ab))).await;
        let snap = client(&base)
            .fetch_call(&ProviderCallId::parse(CALL_ID).unwrap())
            .await
            .unwrap();
        assert_eq!(snap.answered_by, want, "{ab:?}");
    }
    for (q, want) in [
        ("queued", CallStatus::Queued),
        ("started", CallStatus::InProgress),
        ("queue_error", CallStatus::Failed),
    ] {
        let (base, _) = serve(canned(200, details(q, None, None))).await;
        let snap = client(&base)
            .fetch_call(&ProviderCallId::parse(CALL_ID).unwrap())
            .await
            .unwrap();
        assert_eq!(snap.status, want, "{q}");
        assert_eq!(
            snap.duration_s,
            if want.is_final() { Some(24) } else { None }
        );
    }
}

#[tokio::test]
async fn fetch_failures() {
    let id = ProviderCallId::parse(CALL_ID).unwrap();
    for (c, want) in [
        (canned(404, r#"{"message":"not found"}"#), "NotFound"),
        (
            canned(200, r#"{"status":"error","message":"Call not found"}"#),
            "NotFound",
        ),
        (canned(401, ""), "Auth"),
        (canned(429, ""), "RateLimited"),
        (canned(503, ""), "Unavailable"),
        (canned(200, "[]"), "Protocol"),
    ] {
        let (base, _) = serve(c).await;
        let e = client(&base).fetch_call(&id).await.unwrap_err();
        assert!(format!("{e:?}").starts_with(want), "{want}: {e:?}");
    }
}

// ---------------------------------------------------------------- list

/// A listed call outdial created: it carries its attempt (`1000 + i`) in `metadata`.
fn item(i: usize, to: &str, created: &str) -> Value {
    json!({"call_id": format!("call-{i}"), "to": to, "created_at": created,
           "queue_status": "complete", "status": "completed", "completed": true, "call_length": 1.0,
           "metadata": {"outdial_attempt_id": 1000 + i}})
}

/// A server holding `calls` (oldest first) that answers `from..to` windows, newest first
/// when `newest_first` (ignoring `ascending`), and inserts a new newest call after the first
/// page (which shifts a newest-first listing).
async fn list_server(calls: Vec<Value>, newest_first: bool, bare: bool) -> (String, Log) {
    let store = Arc::new(Mutex::new(calls));
    serve_with(move |seen: &Seen| {
        let mut calls = store.lock().unwrap();
        let mut ordered = calls.clone();
        if newest_first {
            ordered.reverse();
        }
        let from: usize = seen.q("from").unwrap().parse().unwrap();
        let to: usize = seen.q("to").unwrap().parse().unwrap();
        let page: Vec<Value> = ordered.iter().skip(from).take(to - from).cloned().collect();
        let n = calls.len();
        calls.push(item(100 + n, "+14155550100", "2026-01-02T00:00:00Z"));
        let body = if bare {
            Value::Array(page)
        } else {
            json!({"total_count": n, "count": page.len(), "calls": page})
        };
        canned(200, body.to_string())
    })
    .await
}

fn calls_to_number(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            item(
                i,
                if i % 2 == 0 {
                    "4155550100"
                } else {
                    "+14155550100"
                },
                "2026-01-01T12:00:00Z",
            )
        })
        .collect()
}

#[tokio::test]
async fn list_pages_by_index_ascending_never_by_page() {
    let (base, log) = list_server(calls_to_number(5), false, false).await;
    let mut c = client(&base);
    c.page_size = 2;
    let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let got = c.list_calls_to(&e164("+14155550100"), since).await.unwrap();
    let seen = log.lock().unwrap().clone();
    assert!(seen.len() >= 3);
    for (i, s) in seen.iter().enumerate() {
        assert_eq!((s.method.as_str(), s.path.as_str()), ("GET", "/v1/calls"));
        assert!(s.q("page").is_none(), "page sent: {:?}", s.query);
        assert_eq!(s.q("ascending"), Some("true"));
        assert_eq!(s.q("to_number"), Some("+14155550100"));
        assert_eq!(s.q("start_date"), Some("2025-12-31"));
        assert_eq!(s.q("limit"), Some("2"));
        assert_eq!(s.q("from"), Some((i * 2).to_string().as_str()));
        assert_eq!(s.q("to"), Some((i * 2 + 2).to_string().as_str()));
    }
    let mut ids: Vec<&str> = got.iter().map(|s| s.call_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "no call twice");
    for i in 0..5 {
        assert!(ids.contains(&format!("call-{i}").as_str()));
    }
    assert!(got.iter().all(|s| s.to == "+14155550100"));
}

#[tokio::test]
async fn newest_first_server_still_yields_every_call_once() {
    for bare in [false, true] {
        let (base, _) = list_server(calls_to_number(7), true, bare).await;
        let mut c = client(&base);
        c.page_size = 3;
        let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let got = c.list_calls_to(&e164("+14155550100"), since).await.unwrap();
        let mut ids: Vec<String> = got.iter().map(|s| s.call_id.as_str().to_owned()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicates: {ids:?}");
        for i in 0..7 {
            assert!(
                ids.contains(&format!("call-{i}")),
                "call-{i} missing (bare {bare})"
            );
        }
    }
}

#[tokio::test]
async fn list_filters_by_since_and_number_and_caps_pages() {
    let calls = vec![
        item(1, "+14155550100", "2025-12-31T23:00:00Z"),
        item(2, "+14155550100", "2026-01-01T00:00:00Z"),
        item(3, "+14155550111", "2026-01-01T01:00:00Z"),
        json!({"call_id": "call-4", "to": "+14155550100", "queue_status": "queued",
               "variables": {"metadata": {"outdial_attempt_id": "1004"}}}),
        // Another system's calls to the number (no outdial metadata, or metadata of its own).
        json!({"call_id": "call-5", "to": "+14155550100", "created_at": "2026-01-01T02:00:00Z",
               "queue_status": "complete", "status": "completed", "completed": true}),
        json!({"call_id": "call-6", "to": "+14155550100", "created_at": "2026-01-01T02:00:00Z",
               "queue_status": "started", "metadata": {"crm_id": "x-17"}}),
    ];
    let (base, _) = serve(canned(200, json!({"calls": calls}).to_string())).await;
    let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let got = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|s| s.call_id.as_str()).collect();
    assert_eq!(ids, ["call-2", "call-4"]);
    // The attempt each call was created for, from metadata or variables.metadata.
    let tags: Vec<Option<AttemptId>> = got.iter().map(|s| s.attempt).collect();
    assert_eq!(tags, [Some(AttemptId(1002)), Some(AttemptId(1004))]);
    // A server that always returns a full page: the cap stops it.
    let (base, log) = serve(canned(
        200,
        json!([item(1, "+14155550100", "2026-01-01T00:00:00Z")]).to_string(),
    ))
    .await;
    let mut c = client(&base);
    c.page_size = 1;
    let e = c
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(
        matches!(e, FetchError::Protocol(ref m) if m.contains("list pages")),
        "{e:?}"
    );
    assert_eq!(log.lock().unwrap().len(), MAX_LIST_PAGES);
    let (base, _) = serve(canned(404, "")).await;
    let e = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Protocol(_)), "{e:?}");
}

// ---------------------------------------------------------------- stop

#[tokio::test]
async fn end_call_stops_then_fetches() {
    let stopped = Arc::new(Mutex::new(false));
    let s2 = stopped.clone();
    let (base, log) = serve_with(move |seen: &Seen| {
        if seen.method == "POST" {
            *s2.lock().unwrap() = true;
            return canned(
                200,
                r#"{"status":"success","message":"Call ended successfully."}"#,
            );
        }
        if *s2.lock().unwrap() {
            canned(200, details("complete", Some("canceled"), None))
        } else {
            canned(200, details("started", None, None))
        }
    })
    .await;
    let id = ProviderCallId::parse(CALL_ID).unwrap();
    let snap = client(&base).end_call(&id).await.unwrap();
    assert_eq!(snap.status, CallStatus::Canceled);
    let seen = log.lock().unwrap().clone();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET".to_string(), format!("/v1/calls/{CALL_ID}")),
            ("POST".to_string(), format!("/v1/calls/{CALL_ID}/stop")),
            ("GET".to_string(), format!("/v1/calls/{CALL_ID}")),
        ]
    );
    assert_eq!(seen[1].authorization.as_deref(), Some(KEY));
}

#[tokio::test]
async fn end_call_leaves_a_final_call_alone_and_handles_refusals() {
    let id = ProviderCallId::parse(CALL_ID).unwrap();
    let (base, log) = serve(canned(200, details("complete", Some("busy"), None))).await;
    assert_eq!(
        client(&base).end_call(&id).await.unwrap().status,
        CallStatus::Busy
    );
    assert_eq!(log.lock().unwrap().len(), 1, "no stop sent");
    // Stop refused while Bland still reports the call live: a protocol error.
    let (base, _) = serve_with(|seen: &Seen| {
        if seen.method == "POST" {
            canned(
                200,
                r#"{"status":"error","message":"SID not found for the given c_id."}"#,
            )
        } else {
            canned(200, details("started", None, None))
        }
    })
    .await;
    let e = client(&base).end_call(&id).await.unwrap_err();
    assert!(
        matches!(e, FetchError::Protocol(ref m) if m.contains("SID not found")),
        "{e:?}"
    );
    let (base, _) = serve_with(|seen: &Seen| {
        if seen.method == "POST" {
            canned(503, "")
        } else {
            canned(200, details("started", None, None))
        }
    })
    .await;
    assert!(matches!(
        client(&base).end_call(&id).await.unwrap_err(),
        FetchError::Unavailable(_)
    ));
}

#[test]
fn callback_url_and_source() {
    let c = client("https://api.bland.ai");
    assert_eq!(
        c.status_callback_url("https://o.example", AttemptId(7)),
        "https://o.example/webhooks/bland/call?attempt=7"
    );
    assert_eq!(c.webhook_source(), "bland-webhook");
    assert_eq!(
        attempt_from_callback("https://o.example/x?a=1&attempt=9"),
        Some(9)
    );
    assert_eq!(
        attempt_from_callback("https://o.example/x?attempt=abc"),
        None
    );
    assert_eq!(attempt_from_callback("not a url"), None);
}

#[test]
fn error_bodies_parse_leniently() {
    let b = BlandErrorBody::parse(br#"{"status":"error","message":"Bad","errors":[{"error":"invalid_parameter","message":"phone_number bad"},"plain"]}"#);
    assert_eq!(b.text(), "Bad; invalid_parameter: phone_number bad; plain");
    assert!(names_phone_number(&b));
    assert_eq!(
        BlandErrorBody::parse(b"").describe(StatusCode::BAD_GATEWAY),
        "Bad Gateway"
    );
    let long = "x".repeat(1000);
    assert_eq!(
        BlandErrorBody::parse(long.as_bytes())
            .message
            .unwrap()
            .len(),
        MAX_MESSAGE_CHARS
    );
    assert!(!is_plan_limit("Invalid phone_number"));
}
