//! What an unauthenticated or hostile request may cost (issue 9, items 2 and 12): the
//! signature header is checked before the body is read, bodies and field counts are bounded,
//! refused requests are counted and their log lines rate-limited, admin bodies are strict.

use super::{app, app_with, completed, form, post, send_json, KEY, PUBLIC, TOKEN};
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, StatusCode};
use outdial_providers::twilio::signature::compute_signature;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A well-formed signature (28 characters of base64) that verifies nothing.
const BOGUS_SIG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A request body that never yields a byte and says whether it was ever polled.
struct Stalled(Arc<AtomicBool>);

impl HttpBody for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

/// Sends `req` and answers its status, failing the test if no answer comes within `within`.
async fn status_within(app: &axum::Router, req: Request<Body>, within: Duration) -> StatusCode {
    tokio::time::timeout(within, app.clone().oneshot(req))
        .await
        .unwrap_or_else(|_| panic!("no answer within {within:?}"))
        .unwrap()
        .status()
}

fn webhook(sig: Option<&str>, body: Body) -> Request<Body> {
    let mut r = Request::post("/webhooks/twilio/status?attempt=1")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(s) = sig {
        r = r.header("x-twilio-signature", s);
    }
    r.body(body).unwrap()
}

async fn rejected(app: &axum::Router) -> serde_json::Value {
    let (s, v) = send_json(app, "GET", "/api/v1/status", Some(KEY), "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["rejected_requests"].clone()
}

/// The body of the issue's attack: 100,000 distinct keys, 900 KB.
fn hundred_thousand_keys() -> String {
    (0..100_000).map(|i| format!("k{i:06}=&")).collect()
}

#[tokio::test]
async fn missing_or_malformed_signature_is_refused_before_the_body_is_read() {
    let limits = outdial_http::HttpLimits {
        body_read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let (app, _, _) = app_with(limits).await;
    for sig in [None, Some(""), Some("not-a-signature"), Some("AAAA")] {
        let polled = Arc::new(AtomicBool::new(false));
        let body = Body::new(Stalled(polled.clone()));
        let s = status_within(&app, webhook(sig, body), Duration::from_secs(2)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{sig:?}");
        assert!(!polled.load(Ordering::SeqCst), "{sig:?}: the body was read");
    }
    // A well-formed (if wrong) signature is worth reading the body for, within the body
    // read timeout: a body that never comes is answered 408.
    let polled = Arc::new(AtomicBool::new(false));
    let body = Body::new(Stalled(polled.clone()));
    let s = status_within(&app, webhook(Some(BOGUS_SIG), body), Duration::from_secs(3)).await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
    assert!(polled.load(Ordering::SeqCst));
    let r = rejected(&app).await;
    assert_eq!(
        (r["bad_signature"].as_u64(), r["body_timeout"].as_u64()),
        (Some(4), Some(1)),
        "{r}"
    );
}

#[tokio::test]
async fn the_issues_attack_is_refused_at_once_and_valid_callbacks_still_apply() {
    let (app, store, id) = app().await;
    let attack = hundred_thousand_keys();
    assert!(attack.len() >= 900_000);
    // With and without Content-Length (a chunked body is cut off at the limit).
    for declared in [true, false] {
        let mut r = Request::post("/webhooks/twilio/status?attempt=1")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", BOGUS_SIG);
        if declared {
            r = r.header("content-length", attack.len());
        }
        let started = Instant::now();
        let s = status_within(
            &app,
            r.body(Body::from(attack.clone())).unwrap(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "declared {declared}");
        eprintln!("900 KB attack refused in {:?}", started.elapsed());
    }
    // Under the byte limit but over the field limit: 413 before any decoding.
    let many_fields: String = "a=&".repeat(20_000);
    assert!(many_fields.len() < 64 * 1024);
    let s = status_within(
        &app,
        webhook(Some(BOGUS_SIG), Body::from(many_fields)),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // At the limits (256 fields, ~64 KiB) a bogus signature costs one verification: 403.
    let big_values: String = (0..256)
        .map(|i| format!("f{i:03}={}&", "v".repeat(240)))
        .collect();
    assert!(big_values.len() < 64 * 1024);
    let s = status_within(
        &app,
        webhook(Some(BOGUS_SIG), Body::from(big_values)),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = rejected(&app).await;
    assert_eq!(
        (r["too_large"].as_u64(), r["bad_signature"].as_u64()),
        (Some(3), Some(1)),
        "{r}"
    );

    // A valid signed callback is applied as before.
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("3");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    let (s, text) = post(&app, &path, body, Some(sig)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(
        store.attempt(id).await.unwrap().unwrap().state,
        outdial_core::AttemptState::Ended
    );
}

#[tokio::test]
async fn dialer_start_and_stop_refuse_unknown_fields_and_long_reasons() {
    let (app, _, _) = app().await;
    let status = |app: axum::Router| async move {
        let (_, v) = send_json(&app, "GET", "/api/v1/status", Some(KEY), "").await;
        (v["dialer"].clone(), v["dialer_reason"].clone())
    };
    let before = status(app.clone()).await;
    let long = |n: usize| format!("{{\"reason\":\"{}\"}}", "é".repeat(n));
    for (path, body, want) in [
        (
            "/api/v1/dialer/stop",
            "{\"reason\":\"x\",\"force\":true}".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/dialer/start",
            "{\"reasno\":\"x\"}".to_string(),
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/dialer/stop", long(501), StatusCode::BAD_REQUEST),
        (
            "/api/v1/killswitch/trip",
            long(501),
            StatusCode::BAD_REQUEST,
        ),
        // The issue's 1 MB reason: over the body limit.
        (
            "/api/v1/dialer/stop",
            format!("{{\"reason\":\"{}\"}}", "x".repeat(1 << 20)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let (s, v) = send_json(&app, "POST", path, Some(KEY), &body).await;
        assert_eq!(s, want, "{path} {}: {v}", &body[..body.len().min(40)]);
    }
    assert_eq!(
        status(app.clone()).await,
        before,
        "a refused request changed the dialer"
    );
    // 500 characters (not bytes) is allowed.
    let (s, v) = send_json(&app, "POST", "/api/v1/dialer/stop", Some(KEY), &long(500)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, reason) = status(app.clone()).await;
    assert_eq!(reason.as_str().unwrap().chars().count(), 500);
    // No body at all still works.
    let (s, v) = send_json(&app, "POST", "/api/v1/dialer/start", Some(KEY), "").await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Log lines written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn bad_signature_and_bad_key_lines_are_rate_limited_and_counted() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (app, _, _) = app().await;
    let p = completed("1");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, body) = form(&refs);
    for i in 0..60 {
        let sig = match i % 3 {
            0 => None,
            1 => Some("garbage".to_string()),
            _ => Some(BOGUS_SIG.to_string()),
        };
        let (s, _) = post(&app, "/webhooks/twilio/status?attempt=1", body.clone(), sig).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let key = if i % 2 == 0 {
            None
        } else {
            Some("wrong-key-0123456789")
        };
        let (s, _) = send_json(&app, "GET", "/api/v1/status", key, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let r = rejected(&app).await;
    assert_eq!(
        (r["bad_signature"].as_u64(), r["bad_api_key"].as_u64()),
        (Some(60), Some(60)),
        "{r}"
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warns: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
    // One line per kind within the interval (the first of each), not 120.
    assert_eq!(warns.len(), 2, "{text}");
    assert!(
        warns.iter().any(|l| l.contains("X-Twilio-Signature")),
        "{text}"
    );
    assert!(warns.iter().any(|l| l.contains("API request")), "{text}");
}
