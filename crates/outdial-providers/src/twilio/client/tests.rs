//! `TwilioClient` against a small axum server on 127.0.0.1 returning canned Twilio responses.

use super::*;
use crate::http::retry_after_seconds;
use crate::test_server::{canned, header, Canned};
use axum::http::request::Parts;
use base64::Engine;
use chrono::TimeZone;
use outdial_core::{AnswerBehaviour, MachineHandling, Region};
use reqwest::header::RETRY_AFTER;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SID: &str = "AC0123456789abcdef0123456789ABCDEF";
const TOKEN: &str = "tok-secret-123";
const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";

/// One request as the mock saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Seen {
    fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap()
    }
    fn values(&self, key: &str) -> Vec<String> {
        self.form()
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect()
    }
    fn one(&self, key: &str) -> Option<String> {
        let v = self.values(key);
        assert!(v.len() <= 1, "{key} sent {} times", v.len());
        v.into_iter().next()
    }
}

type Log = crate::test_server::Log<Seen>;

fn to_seen(parts: &Parts, bytes: Vec<u8>) -> Seen {
    Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: header(parts, "authorization"),
        content_type: header(parts, "content-type"),
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

fn client(base: &str) -> TwilioClient {
    client_with_timeout(base, Duration::from_secs(5))
}

fn client_with_timeout(base: &str, timeout: Duration) -> TwilioClient {
    TwilioClient::new(TwilioConfig {
        api_base: base.to_owned(),
        account_sid: SID.to_owned(),
        auth_token: SecretString::from(TOKEN),
        request_timeout: timeout,
    })
    .unwrap()
}

fn e164(s: &str) -> E164 {
    E164::parse(s, Region::US).unwrap()
}

fn place_req() -> PlaceCall {
    PlaceCall {
        to: e164("+14155550100"),
        from: e164("+14155550199"),
        answer: AnswerBehaviour::flow_url("https://outdial.example/twiml/answer?campaign=7"),
        status_callback: "https://outdial.example/webhooks/twilio/status?attempt=42".into(),
        ring_timeout_s: 25,
        time_limit_s: 600,
        machine: MachineHandling::detect(),
        options: Default::default(),
        // A full context: the pinned form below shows Twilio sends none of it.
        context: crate::CallContext {
            campaign_name: "spring".into(),
            contact: outdial_core::LeadContact {
                first_name: Some("Ada".into()),
                external_id: Some("V-1".into()),
                ..Default::default()
            },
            dispositions: vec!["SALE".into()],
            ..crate::CallContext::new(
                outdial_core::AttemptId(42),
                outdial_core::LeadId(3),
                outdial_core::CampaignId(7),
            )
        },
    }
}

fn created_body(status: &str, queue_time: &str) -> String {
    serde_json::json!({
        "account_sid": SID,
        "answered_by": null,
        "api_version": "2010-04-01",
        "date_created": null,
        "date_updated": null,
        "direction": "outbound-api",
        "duration": null,
        "end_time": null,
        "from": "+14155550199",
        "price": null,
        "sid": CALL_SID,
        "start_time": null,
        "status": status,
        "to": "+14155550100",
        "uri": format!("/2010-04-01/Accounts/{SID}/Calls/{CALL_SID}.json"),
        "queue_time": queue_time,
    })
    .to_string()
}

fn twilio_error(code: u32, message: &str, status: u16) -> String {
    serde_json::json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
    .to_string()
}

fn expected_basic_auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    )
}

fn calls_path() -> String {
    format!("/2010-04-01/Accounts/{SID}/Calls.json")
}

// ---------------------------------------------------------------- config

#[test]
fn account_sid_is_validated() {
    for bad in [
        "",
        "AC123",
        "CA0123456789abcdef0123456789abcdef",
        "AC0123456789abcdef0123456789abcdeg",
        "AC0123456789abcdef0123456789abcdef0",
        "ac0123456789abcdef0123456789abcdef",
    ] {
        let err = TwilioClient::new(TwilioConfig::new(bad, SecretString::from(TOKEN))).unwrap_err();
        assert_eq!(err, TwilioConfigError::InvalidAccountSid(bad.into()));
    }
    assert!(is_valid_account_sid(SID));
    assert!(TwilioClient::new(TwilioConfig::new(SID, SecretString::from(TOKEN))).is_ok());
}

#[test]
fn api_base_and_timeout_are_validated() {
    let mk = |base: &str| {
        let mut cfg = TwilioConfig::new(SID, SecretString::from(TOKEN));
        cfg.api_base = base.into();
        TwilioClient::new(cfg)
    };
    for bad in [
        "api.twilio.com",
        "ftp://api.twilio.com",
        "https://api.twilio.com/?x=1",
        "https://u:p@api.twilio.com",
    ] {
        assert!(
            matches!(mk(bad), Err(TwilioConfigError::InvalidApiBase { .. })),
            "{bad}"
        );
    }
    assert!(mk("https://api.twilio.com/").is_ok());
    let mut cfg = TwilioConfig::new(SID, SecretString::from(TOKEN));
    cfg.request_timeout = Duration::ZERO;
    assert_eq!(
        TwilioClient::new(cfg).unwrap_err(),
        TwilioConfigError::ZeroTimeout
    );
}

#[test]
fn debug_never_prints_the_token() {
    let cfg = TwilioConfig::new(SID, SecretString::from(TOKEN));
    assert_eq!(cfg.api_base, DEFAULT_API_BASE);
    let shown = format!("{cfg:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains(SID));
    let client = TwilioClient::new(cfg).unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[test]
fn endpoints_are_built_under_the_base_path_and_encoded() {
    let c = client("http://127.0.0.1:9/prefix/");
    assert_eq!(
        c.endpoint(&["Calls.json"]).as_str(),
        format!("http://127.0.0.1:9/prefix/2010-04-01/Accounts/{SID}/Calls.json")
    );
    assert_eq!(
        c.endpoint(&["Calls", "CA/x?y.json"]).path(),
        format!("/prefix/2010-04-01/Accounts/{SID}/Calls/CA%2Fx%3Fy.json")
    );
}

// ---------------------------------------------------------------- place_call

#[tokio::test]
async fn place_call_success_sends_every_field() {
    let (base, log) = serve(canned(201, created_body("queued", "0"))).await;
    let placed = client(&base).place_call(&place_req()).await.unwrap();
    assert_eq!(placed.call_id.as_str(), CALL_SID);
    assert_eq!(placed.status, CallStatus::Queued);
    assert_eq!(placed.queue_time_ms, Some(0));

    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, calls_path());
    assert_eq!(
        seen.authorization.as_deref(),
        Some(expected_basic_auth().as_str())
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.one("To").as_deref(), Some("+14155550100"));
    assert_eq!(seen.one("From").as_deref(), Some("+14155550199"));
    assert_eq!(
        seen.one("Url").as_deref(),
        Some("https://outdial.example/twiml/answer?campaign=7")
    );
    assert_eq!(seen.one("Twiml"), None);
    assert_eq!(
        seen.one("StatusCallback").as_deref(),
        Some("https://outdial.example/webhooks/twilio/status?attempt=42")
    );
    assert_eq!(seen.one("StatusCallbackMethod").as_deref(), Some("POST"));
    let events = seen.values("StatusCallbackEvent");
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(
        events.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["initiated", "ringing", "answered", "completed"])
    );
    // Repeated as separate fields on the wire, not comma-joined.
    assert_eq!(seen.body.matches("StatusCallbackEvent=").count(), 4);
    assert_eq!(seen.one("Timeout").as_deref(), Some("25"));
    assert_eq!(seen.one("TimeLimit").as_deref(), Some("600"));
    assert_eq!(seen.one("DetectionMode").as_deref(), Some("Enable"));
    assert_eq!(seen.one("ApplicationSid"), None);
}

#[tokio::test]
async fn place_call_with_inline_twiml_and_no_amd() {
    let (base, log) = serve(canned(201, created_body("queued", "1500"))).await;
    let mut req = place_req();
    req.answer = AnswerBehaviour::inline("<Response><Say>Hello &amp; bye</Say></Response>");
    req.machine = MachineHandling::default();
    let placed = client(&base).place_call(&req).await.unwrap();
    assert_eq!(placed.queue_time_ms, Some(1500));
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(
        seen.one("Twiml").as_deref(),
        Some("<Response><Say>Hello &amp; bye</Say></Response>")
    );
    assert_eq!(seen.one("Url"), None);
    assert_eq!(seen.one("DetectionMode"), None);
}

#[tokio::test]
async fn place_call_accepts_numeric_queue_time_and_unknown_status() {
    let body =
        serde_json::json!({"sid": CALL_SID, "status": "weird", "queue_time": 250}).to_string();
    let (base, _) = serve(canned(201, body)).await;
    let placed = client(&base).place_call(&place_req()).await.unwrap();
    assert_eq!(placed.status, CallStatus::Queued);
    assert_eq!(placed.queue_time_ms, Some(250));
}

#[tokio::test]
async fn place_call_400_21211_is_rejected() {
    let msg = "The 'To' number 5551234567 is not a valid phone number.";
    let (base, _) = serve(canned(400, twilio_error(21211, msg, 400))).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    match err {
        PlaceError::Rejected {
            reason,
            http_status,
            code,
            message,
        } => {
            assert_eq!(reason, crate::RejectReason::BadNumber);
            assert_eq!(http_status, 400);
            assert_eq!(code, Some(21211));
            assert!(message.contains(msg), "{message}");
            assert!(message.contains("docs/errors/21211"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn place_call_refusals_carry_what_they_are_about() {
    use crate::RejectReason::*;
    let table = [
        (21211u32, BadNumber),
        (21214, BadNumber),
        (21217, BadNumber),
        (13224, BadNumber),
        (21215, Destination),
        (21216, Destination),
        (13227, Destination),
        (32205, Destination),
        (21210, Account),
        (21212, Account),
        (21219, Account),
        (20005, Account),
        (21201, Other),
        (21205, Other),
        (29999, Other),
    ];
    for (code, reason) in table {
        let (base, _) = serve(canned(400, twilio_error(code, "refused", 400))).await;
        let err = client(&base).place_call(&place_req()).await.unwrap_err();
        assert_eq!(
            err,
            PlaceError::Rejected {
                reason,
                http_status: 400,
                code: Some(code),
                message: format!("refused (https://www.twilio.com/docs/errors/{code})"),
            },
            "code {code}"
        );
    }
}

#[tokio::test]
async fn place_call_queue_full_and_concurrency_cap_are_try_later() {
    for code in [22005u32, 10004] {
        let (base, _) = serve(canned(400, twilio_error(code, "not now", 400))).await;
        let err = client(&base).place_call(&place_req()).await.unwrap_err();
        assert!(
            matches!(err, PlaceError::RateLimited { code: Some(c), .. } if c == code),
            "code {code}: {err:?}"
        );
    }
}

#[tokio::test]
async fn place_call_rfc9457_body_without_code_falls_back_to_http_status() {
    let body = serde_json::json!({
        "type": "https://www.twilio.com/docs/errors/unprocessable",
        "title": "Unprocessable Entity",
        "detail": "To is required",
        "status": 422,
    })
    .to_string();
    let mut c = canned(422, body);
    c.headers = vec![("content-type", "application/problem+json".into())];
    let (base, _) = serve(c).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    match err {
        PlaceError::Rejected {
            reason: crate::RejectReason::Other,
            http_status: 422,
            code: None,
            message,
        } => assert!(message.starts_with("To is required"), "{message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    // A problem body on 429 is still a rate limit, on 401 still an auth failure.
    let (base, _) = serve(canned(429, r#"{"title":"Too Many Requests","status":429}"#)).await;
    assert!(matches!(
        client(&base).place_call(&place_req()).await.unwrap_err(),
        PlaceError::RateLimited { code: None, .. }
    ));
}

#[tokio::test]
async fn place_call_429_20429_is_rate_limited_with_retry_after() {
    let mut c = canned(429, twilio_error(20429, "Too Many Requests", 429));
    c.headers.push(("retry-after", "7".into()));
    let (base, _) = serve(c).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    match err {
        PlaceError::RateLimited {
            code,
            retry_after_s,
            message,
        } => {
            assert_eq!(code, Some(20429));
            assert_eq!(retry_after_s, Some(7));
            assert!(message.contains("Too Many Requests"));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn place_call_code_20429_on_a_400_is_rate_limited() {
    let (base, _) = serve(canned(400, twilio_error(20429, "Too Many Requests", 400))).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(
        matches!(
            err,
            PlaceError::RateLimited {
                code: Some(20429),
                retry_after_s: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn place_call_401_and_403_are_auth() {
    let (base, _) = serve(canned(401, twilio_error(20003, "Authenticate", 401))).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(
        matches!(
            err,
            PlaceError::Auth {
                http_status: 401,
                code: Some(20003),
                ..
            }
        ),
        "{err:?}"
    );
    let (base, _) = serve(canned(403, "")).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert_eq!(
        err,
        PlaceError::Auth {
            http_status: 403,
            code: None,
            message: "Forbidden".into()
        }
    );
}

#[tokio::test]
async fn place_call_5xx_is_ambiguous() {
    let (base, _) = serve(canned(
        500,
        twilio_error(20500, "Internal Server Error", 500),
    ))
    .await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
    let mut c = canned(503, "<html>upstream unavailable</html>");
    c.headers = vec![("content-type", "text/html".into())];
    let (base, _) = serve(c).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    match err {
        PlaceError::Ambiguous { message } => assert!(message.contains("503"), "{message}"),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[tokio::test]
async fn place_call_408_and_3xx_are_ambiguous() {
    let (base, _) = serve(canned(408, "")).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
    let mut c = canned(307, "");
    c.headers
        .push(("location", "http://127.0.0.1:9/elsewhere".into()));
    let (base, log) = serve(c).await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "redirect must not be followed"
    );
}

#[tokio::test]
async fn place_call_timeout_is_ambiguous() {
    let mut c = canned(201, created_body("queued", "0"));
    c.delay = Duration::from_millis(1500);
    let (base, log) = serve(c).await;
    let started = std::time::Instant::now();
    let err = client_with_timeout(&base, Duration::from_millis(300))
        .place_call(&place_req())
        .await
        .unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1400));
    // The server did receive it: exactly the case where a call may exist.
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn place_call_to_a_closed_port_is_not_sent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client(&format!("http://127.0.0.1:{port}"))
        .place_call(&place_req())
        .await
        .unwrap_err();
    assert!(matches!(err, PlaceError::NotSent { .. }), "{err:?}");
}

/// A raw TCP server that reads one request, then writes `reply` and closes.
async fn raw_server(reply: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            // Read until the end of the headers (the form body is small and follows at once).
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = sock.write_all(reply).await;
            let _ = sock.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn place_call_connection_closed_without_response_is_ambiguous() {
    let base = raw_server(b"").await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
}

#[tokio::test]
async fn place_call_truncated_body_is_ambiguous() {
    let base = raw_server(
        b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"sid\": \"CA01",
    )
    .await;
    let err = client(&base).place_call(&place_req()).await.unwrap_err();
    match err {
        PlaceError::Ambiguous { message } => assert!(message.contains("body"), "{message}"),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[tokio::test]
async fn place_call_unparsable_2xx_is_ambiguous() {
    for body in [
        "not json",
        "{}",
        r#"{"sid": ""}"#,
        r#"{"sid": null, "status": "queued"}"#,
    ] {
        let (base, _) = serve(canned(201, body)).await;
        let err = client(&base).place_call(&place_req()).await.unwrap_err();
        match err {
            PlaceError::Ambiguous { message } => {
                assert!(message.contains("a call may exist"), "{message}")
            }
            other => panic!("{body}: expected Ambiguous, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- fetch_call

fn call_json(sid: &str, status: &str, created: Option<&str>) -> Value {
    serde_json::json!({
        "account_sid": SID,
        "answered_by": "machine_start",
        "api_version": "2010-04-01",
        "date_created": created,
        "date_updated": "Tue, 31 Aug 2010 20:36:44 +0000",
        "direction": "outbound-api",
        "duration": "15",
        "end_time": "Tue, 31 Aug 2010 20:36:44 +0000",
        "from": "+14155550199",
        "price": "-0.03000",
        "price_unit": "USD",
        "sid": sid,
        "start_time": "Tue, 31 Aug 2010 20:36:29 +0000",
        "status": status,
        "to": "+14155550100",
        "queue_time": "0",
    })
}

fn call_id() -> ProviderCallId {
    ProviderCallId::parse(CALL_SID).unwrap()
}

#[tokio::test]
async fn fetch_call_parses_the_call_resource() {
    let body = call_json(
        CALL_SID,
        "completed",
        Some("Tue, 31 Aug 2010 20:36:28 +0000"),
    )
    .to_string();
    let (base, log) = serve(canned(200, body)).await;
    let snap = client(&base).fetch_call(&call_id()).await.unwrap();
    assert_eq!(snap.call_id, call_id());
    assert_eq!(snap.to, "+14155550100");
    assert_eq!(snap.status, CallStatus::Completed);
    assert_eq!(
        snap.created_at,
        Some(Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 28).unwrap())
    );
    assert_eq!(
        snap.start_time,
        Some(Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 29).unwrap())
    );
    assert_eq!(
        snap.end_time,
        Some(Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 44).unwrap())
    );
    assert_eq!(snap.duration_s, Some(15));
    assert_eq!(snap.answered_by, Some(AnsweredBy::MachineStart));
    // Twilio's charge, negative on the wire, as a price in millionths.
    assert_eq!(
        snap.price,
        Some(outdial_core::CallPrice {
            micros: 30_000,
            unit: "USD".into()
        })
    );

    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.path,
        format!("/2010-04-01/Accounts/{SID}/Calls/{CALL_SID}.json")
    );
    assert_eq!(
        seen.authorization.as_deref(),
        Some(expected_basic_auth().as_str())
    );
}

#[tokio::test]
async fn fetch_call_of_a_queued_call_has_nulls() {
    let body = serde_json::json!({
        "sid": CALL_SID, "status": "queued", "to": "+14155550100",
        "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
        "start_time": null, "end_time": null, "duration": null, "answered_by": null,
    })
    .to_string();
    let (base, _) = serve(canned(200, body)).await;
    let snap = client(&base).fetch_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::Queued);
    assert_eq!(snap.start_time, None);
    assert_eq!(snap.end_time, None);
    assert_eq!(snap.duration_s, None);
    assert_eq!(snap.answered_by, None);
    assert_eq!(snap.price, None, "not priced yet");
    // Empty strings count as null too.
    let body = serde_json::json!({
        "sid": CALL_SID, "status": "ringing", "to": null,
        "date_created": "", "duration": "", "answered_by": "",
    })
    .to_string();
    let (base, _) = serve(canned(200, body)).await;
    let snap = client(&base).fetch_call(&call_id()).await.unwrap();
    assert_eq!(snap.to, "");
    assert_eq!(snap.created_at, None);
    assert_eq!(snap.duration_s, None);
    assert_eq!(snap.answered_by, None);
}

#[tokio::test]
async fn fetch_call_failures_are_classified() {
    type Check = fn(&FetchError) -> bool;
    let cases: Vec<(Canned, Check)> = vec![
        (
            canned(
                404,
                twilio_error(20404, "The requested resource was not found", 404),
            ),
            |e| *e == FetchError::NotFound,
        ),
        (
            canned(429, twilio_error(20429, "Too Many Requests", 429)),
            |e| matches!(e, FetchError::RateLimited(_)),
        ),
        (canned(401, twilio_error(20003, "Authenticate", 401)), |e| {
            matches!(e, FetchError::Auth(_))
        }),
        (canned(500, "oops"), |e| {
            matches!(e, FetchError::Unavailable(_))
        }),
        (canned(502, ""), |e| matches!(e, FetchError::Unavailable(_))),
        (canned(200, "not json"), |e| {
            matches!(e, FetchError::Protocol(_))
        }),
        (
            canned(200, call_json(CALL_SID, "exploded", None).to_string()),
            |e| matches!(e, FetchError::Protocol(m) if m.contains("exploded")),
        ),
        (
            canned(
                200,
                call_json(CALL_SID, "completed", Some("last tuesday")).to_string(),
            ),
            |e| matches!(e, FetchError::Protocol(m) if m.contains("date_created")),
        ),
        (canned(400, twilio_error(20001, "Bad request", 400)), |e| {
            matches!(e, FetchError::Protocol(_))
        }),
    ];
    for (c, check) in cases {
        let status = c.status;
        let (base, _) = serve(c).await;
        let err = client(&base).fetch_call(&call_id()).await.unwrap_err();
        assert!(check(&err), "HTTP {status}: {err:?}");
    }
}

#[tokio::test]
async fn fetch_call_transport_failures_are_unavailable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client(&format!("http://127.0.0.1:{port}"))
        .fetch_call(&call_id())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Unavailable(_)), "{err:?}");

    let mut c = canned(200, call_json(CALL_SID, "completed", None).to_string());
    c.delay = Duration::from_millis(1500);
    let (base, _) = serve(c).await;
    let err = client_with_timeout(&base, Duration::from_millis(300))
        .fetch_call(&call_id())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Unavailable(_)), "{err:?}");
}

// ---------------------------------------------------------------- end_call

/// Answers the n-th request with `script[n]`; any request beyond the script gets a 500.
async fn serve_script(script: Vec<Canned>) -> (String, Log) {
    let next = Arc::new(Mutex::new(0usize));
    serve_with(move |_| {
        let mut n = next.lock().unwrap();
        let c = script
            .get(*n)
            .cloned()
            .unwrap_or_else(|| canned(500, "unexpected request"));
        *n += 1;
        c
    })
    .await
}

fn call_path() -> String {
    format!("/2010-04-01/Accounts/{SID}/Calls/{CALL_SID}.json")
}

/// A call resource in `status`, as Twilio shows a live or just-ended call.
fn live_call(status: &str) -> Canned {
    let ended = matches!(status, "completed" | "canceled");
    canned(
        200,
        serde_json::json!({
            "sid": CALL_SID, "status": status, "to": "+14155550100",
            "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
            "start_time": "Tue, 31 Aug 2010 20:36:29 +0000",
            "end_time": if ended { Some("Tue, 31 Aug 2010 20:41:29 +0000") } else { None },
            "duration": if status == "completed" { Some("300") } else { None },
            "answered_by": null,
        })
        .to_string(),
    )
}

/// Asserts `seen` is `POST Calls/{Sid}.json` with Basic auth and exactly `Status=status`.
fn assert_update(seen: &Seen, status: &str) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, call_path());
    assert_eq!(
        seen.authorization.as_deref(),
        Some(expected_basic_auth().as_str())
    );
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.form(), vec![("Status".to_owned(), status.to_owned())]);
}

#[tokio::test]
async fn end_call_completes_a_call_in_progress() {
    let (base, log) = serve_script(vec![live_call("in-progress"), live_call("completed")]).await;
    let snap = client(&base).end_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    assert_eq!(snap.duration_s, Some(300));
    assert_eq!(
        snap.end_time,
        Some(Utc.with_ymd_and_hms(2010, 8, 31, 20, 41, 29).unwrap())
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.clone()),
        ("GET", call_path())
    );
    assert_update(&seen[1], "completed");
}

#[tokio::test]
async fn end_call_cancels_a_queued_or_ringing_call() {
    for status in ["queued", "ringing"] {
        let (base, log) = serve_script(vec![live_call(status), live_call("canceled")]).await;
        let snap = client(&base).end_call(&call_id()).await.unwrap();
        assert_eq!(snap.status, CallStatus::Canceled, "{status}");
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{status}");
        assert_update(&seen[1], "canceled");
    }
}

#[tokio::test]
async fn end_call_leaves_a_final_call_alone() {
    for status in ["completed", "busy", "no-answer", "failed", "canceled"] {
        let (base, log) = serve_script(vec![live_call(status)]).await;
        let snap = client(&base).end_call(&call_id()).await.unwrap();
        assert_eq!(snap.status.as_str(), status);
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{status}: no update sent");
        assert_eq!(seen[0].method, "GET");
    }
}

#[tokio::test]
async fn end_call_completes_a_call_answered_during_the_cancel() {
    // Twilio: canceled "will not affect calls already in progress": the answer still says
    // in-progress, so one more POST with Status=completed.
    let (base, log) = serve_script(vec![
        live_call("ringing"),
        live_call("in-progress"),
        live_call("completed"),
    ])
    .await;
    let snap = client(&base).end_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_update(&seen[1], "canceled");
    assert_update(&seen[2], "completed");

    // The same when the cancel is refused with 21220 (invalid call state).
    let (base, log) = serve_script(vec![
        live_call("ringing"),
        canned(
            400,
            twilio_error(21220, "Call is not in a valid state to cancel", 400),
        ),
        live_call("completed"),
    ])
    .await;
    let snap = client(&base).end_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_update(&seen[2], "completed");
}

#[tokio::test]
async fn end_call_retries_completed_only_once() {
    // Cancel without effect, then completed still answering in-progress: no third POST; the
    // answer is returned as it is.
    let (base, log) = serve_script(vec![
        live_call("ringing"),
        live_call("in-progress"),
        live_call("in-progress"),
    ])
    .await;
    let snap = client(&base).end_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::InProgress);
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn end_call_refused_because_the_call_ended_meanwhile_refetches() {
    let refused = canned(
        400,
        twilio_error(21220, "Call is not in-progress. Cannot redirect.", 400),
    );
    let (base, log) = serve_script(vec![
        live_call("in-progress"),
        refused.clone(),
        live_call("completed"),
    ])
    .await;
    let snap = client(&base).end_call(&call_id()).await.unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2].method, "GET");

    // Refused, yet still live: a protocol error, not a loop.
    let (base, _) = serve_script(vec![
        live_call("in-progress"),
        refused,
        live_call("in-progress"),
    ])
    .await;
    let err = client(&base).end_call(&call_id()).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Protocol(m) if m.contains("in-progress")),
        "{err:?}"
    );
}

#[tokio::test]
async fn end_call_failures_are_classified() {
    let not_found = canned(
        404,
        twilio_error(20404, "The requested resource was not found", 404),
    );
    // Unknown call: the fetch says 404.
    let (base, log) = serve_script(vec![not_found.clone()]).await;
    let err = client(&base).end_call(&call_id()).await.unwrap_err();
    assert_eq!(err, FetchError::NotFound);
    assert_eq!(log.lock().unwrap().len(), 1);

    type Check = fn(&FetchError) -> bool;
    let cases: Vec<(Canned, Check)> = vec![
        (not_found, |e| *e == FetchError::NotFound),
        (canned(500, "oops"), |e| {
            matches!(e, FetchError::Unavailable(_))
        }),
        (
            canned(429, twilio_error(20429, "Too Many Requests", 429)),
            |e| matches!(e, FetchError::RateLimited(_)),
        ),
        (canned(401, twilio_error(20003, "Authenticate", 401)), |e| {
            matches!(e, FetchError::Auth(_))
        }),
        (canned(200, "not json"), |e| {
            matches!(e, FetchError::Protocol(_))
        }),
        (canned(400, twilio_error(20001, "Bad request", 400)), |e| {
            matches!(e, FetchError::Protocol(_))
        }),
    ];
    for (c, check) in cases {
        let status = c.status;
        let (base, log) = serve_script(vec![live_call("in-progress"), c]).await;
        let err = client(&base).end_call(&call_id()).await.unwrap_err();
        assert!(check(&err), "update answered HTTP {status}: {err:?}");
        assert_eq!(log.lock().unwrap().len(), 2, "HTTP {status}: no retry");
    }
}

// ---------------------------------------------------------------- list_calls_to

#[tokio::test]
async fn list_calls_to_follows_pages_and_filters_by_creation_time() {
    let next_uri = format!(
        "/2010-04-01/Accounts/{SID}/Calls.json?To=%2B14155550100&StartTime%3E=2024-05-01&PageSize=1000&Page=1&PageToken=PACA0123"
    );
    let next_for_server = next_uri.clone();
    let (base, log) = serve_with(move |seen: &Seen| {
        let q = seen.query.clone().unwrap_or_default();
        if q.contains("PageToken=PACA0123") {
            canned(
                200,
                serde_json::json!({
                    "calls": [
                        call_json("CA0000000000000000000000000000000c", "no-answer",
                                  Some("Wed, 01 May 2024 12:00:00 +0000")),
                        // Unknown creation time: kept.
                        call_json("CA0000000000000000000000000000000d", "queued", None),
                    ],
                    "next_page_uri": null,
                    "page": 1, "page_size": 1000, "start": 1000, "end": 1001,
                })
                .to_string(),
            )
        } else {
            canned(
                200,
                serde_json::json!({
                    "calls": [
                        call_json("CA0000000000000000000000000000000a", "completed",
                                  Some("Wed, 01 May 2024 10:30:00 +0000")),
                        // Same day, before `since`: filtered out.
                        call_json("CA0000000000000000000000000000000b", "busy",
                                  Some("Wed, 01 May 2024 09:59:59 +0000")),
                    ],
                    "next_page_uri": next_for_server,
                    "page": 0, "page_size": 1000, "start": 0, "end": 999,
                })
                .to_string(),
            )
        }
    })
    .await;
    let since = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
    let calls = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap();
    let sids: Vec<&str> = calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(
        sids,
        [
            "CA0000000000000000000000000000000a",
            "CA0000000000000000000000000000000c",
            "CA0000000000000000000000000000000d",
        ]
    );
    assert_eq!(calls[1].status, CallStatus::NoAnswer);

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "GET");
        assert_eq!(s.path, calls_path());
        assert_eq!(
            s.authorization.as_deref(),
            Some(expected_basic_auth().as_str())
        );
    }
    // `>` percent-encoded in the parameter name; `+` encoded in the number.
    assert_eq!(
        seen[0].query.as_deref(),
        Some("To=%2B14155550100&StartTime%3E=2024-05-01&PageSize=1000")
    );
    assert_eq!(
        format!("{}?{}", seen[1].path, seen[1].query.as_deref().unwrap()),
        next_uri
    );
}

#[tokio::test]
async fn list_calls_to_with_no_calls_is_empty() {
    let (base, _) = serve(canned(
        200,
        r#"{"calls": [], "next_page_uri": null, "page": 0, "page_size": 1000}"#,
    ))
    .await;
    let calls = client(&base)
        .list_calls_to(&e164("+14155550100"), Utc::now())
        .await
        .unwrap();
    assert!(calls.is_empty());
}

#[tokio::test]
async fn list_calls_to_failures_are_classified() {
    // Rate limit on the second page fails the whole list (no partial answer).
    let (base, _) = serve_with(|seen: &Seen| {
        if seen.query.as_deref().unwrap_or_default().contains("Page=1") {
            canned(429, twilio_error(20429, "Too Many Requests", 429))
        } else {
            canned(
                200,
                serde_json::json!({
                    "calls": [call_json(CALL_SID, "completed",
                                        Some("Wed, 01 May 2024 12:00:00 +0000"))],
                    "next_page_uri": format!("/2010-04-01/Accounts/{SID}/Calls.json?Page=1"),
                })
                .to_string(),
            )
        }
    })
    .await;
    let since = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    let err = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::RateLimited(_)), "{err:?}");

    // 404 on the list endpoint is not "no such call".
    let (base, _) = serve(canned(404, twilio_error(20404, "Not found", 404))).await;
    let err = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Protocol(_)), "{err:?}");

    // An absolute next_page_uri (another host) is refused: credentials stay at home.
    let (base, _) = serve(canned(
        200,
        r#"{"calls": [], "next_page_uri": "http://evil.example/steal"}"#,
    ))
    .await;
    let err = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Protocol(_)), "{err:?}");

    // A page without `calls` is a protocol error.
    let (base, _) = serve(canned(200, r#"{"next_page_uri": null}"#)).await;
    let err = client(&base)
        .list_calls_to(&e164("+14155550100"), since)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn list_calls_to_stops_after_max_pages() {
    let (base, log) = serve(canned(
        200,
        serde_json::json!({
            "calls": [],
            "next_page_uri": format!("/2010-04-01/Accounts/{SID}/Calls.json?Page=again"),
        })
        .to_string(),
    ))
    .await;
    let err = client(&base)
        .list_calls_to(&e164("+14155550100"), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Protocol(_)), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), MAX_LIST_PAGES);
}

// ---------------------------------------------------------------- pure helpers

#[test]
fn error_body_parsing() {
    let b = TwilioErrorBody::parse(twilio_error(21211, "bad To", 400).as_bytes());
    assert_eq!(b.code, Some(21211));
    assert_eq!(b.message.as_deref(), Some("bad To"));
    let b = TwilioErrorBody::parse(br#"{"code": "20429", "message": "slow down"}"#);
    assert_eq!(b.code, Some(20429));
    let b = TwilioErrorBody::parse(b"");
    assert_eq!(b, TwilioErrorBody::default());
    assert_eq!(b.describe(StatusCode::BAD_GATEWAY), "Bad Gateway");
    let long = "x".repeat(1000);
    let b = TwilioErrorBody::parse(long.as_bytes());
    assert_eq!(b.message.unwrap().len(), MAX_MESSAGE_CHARS);
}

#[test]
fn retry_after_parsing() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after_seconds(&h), None);
    h.insert(RETRY_AFTER, "12".parse().unwrap());
    assert_eq!(retry_after_seconds(&h), Some(12));
    h.insert(
        RETRY_AFTER,
        "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
    );
    assert_eq!(retry_after_seconds(&h), None);
}
