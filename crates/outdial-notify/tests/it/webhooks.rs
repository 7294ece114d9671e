//! `ChatWebhookChannel` and `JsonWebhookChannel` against an axum server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use outdial_notify::{
    Channel, ChatWebhookChannel, JsonWebhookChannel, Message, SendError, DEFAULT_WEBHOOK_TIMEOUT,
};
use secrecy::SecretString;
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves `POST /{status}/{rest}`: answers HTTP `status` (with a short body when not 2xx)
/// and records the request. Returns the base URL and the log.
async fn server() -> (String, Log) {
    async fn handle(
        State(log): State<Log>,
        Path((status, rest)): Path<(u16, String)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, String) {
        let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        log.lock().unwrap().push(Seen {
            path: rest,
            content_type: h("content-type"),
            authorization: h("authorization"),
            body: serde_json::from_slice(&body).unwrap(),
        });
        if status == 555 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let code = StatusCode::from_u16(status).unwrap();
        let text = if code.is_success() {
            "ok"
        } else {
            "no_service"
        };
        (code, text.to_owned())
    }
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/{status}/{*rest}", post(handle))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

fn chat(url: &str) -> ChatWebhookChannel {
    ChatWebhookChannel::new("ops-chat", SecretString::from(url), DEFAULT_WEBHOOK_TIMEOUT).unwrap()
}

fn msg() -> Message {
    Message::new(
        "Call outlived its bound",
        "Call CA01 ended by outdial after 4h.",
    )
    .with_fields(json!({"call_sid": "CA01", "lead_id": 7}))
}

#[tokio::test]
async fn chat_webhook_posts_slack_text_and_classifies_answers() {
    let (base, log) = server().await;
    let secret_path = "services/T000/B000/XXXXSECRETXXXX";

    let ch = chat(&format!("{base}/200/{secret_path}"));
    assert_eq!(ch.name(), "ops-chat");
    ch.send(&msg()).await.expect("delivered");
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, secret_path);
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].authorization, None);
    assert_eq!(
        seen[0].body,
        json!({"text": "*Call outlived its bound*\nCall CA01 ended by outdial after 4h."})
    );

    for (status, transient) in [(503, true), (500, true), (429, true), (408, true)] {
        let err = chat(&format!("{base}/{status}/{secret_path}"))
            .send(&msg())
            .await
            .unwrap_err();
        assert_eq!(err.is_transient(), transient, "{status}: {err:?}");
        assert_eq!(err.code(), format!("http-{status}"));
        assert!(!err.message().contains("SECRET"), "{err}");
    }
    for status in [404, 400, 403, 410] {
        let err = chat(&format!("{base}/{status}/{secret_path}"))
            .send(&msg())
            .await
            .unwrap_err();
        assert!(
            matches!(err, SendError::Permanent { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.code(), format!("http-{status}"));
        assert!(err.message().contains("no_service"), "{err}");
        assert!(!err.message().contains("SECRET"), "{err}");
    }
}

#[tokio::test]
async fn json_webhook_posts_the_envelope_with_a_bearer_token() {
    let (base, log) = server().await;
    let ch = JsonWebhookChannel::new(
        "crm",
        SecretString::from(format!("{base}/200/crm/hook")),
        Some(SecretString::from("tok-123")),
        DEFAULT_WEBHOOK_TIMEOUT,
    )
    .unwrap();
    assert_eq!(ch.name(), "crm");
    ch.send(&msg()).await.expect("delivered");
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "crm/hook");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer tok-123"));
    assert_eq!(
        seen[0].body,
        json!({
            "subject": "Call outlived its bound",
            "body": "Call CA01 ended by outdial after 4h.",
            "fields": {"call_sid": "CA01", "lead_id": 7},
        })
    );

    // Without a token: no Authorization header; fields null when the message has none.
    let ch = JsonWebhookChannel::new(
        "crm",
        SecretString::from(format!("{base}/201/crm/hook")),
        None,
        DEFAULT_WEBHOOK_TIMEOUT,
    )
    .unwrap();
    ch.send(&Message::new("s", "b")).await.unwrap();
    let last = log.lock().unwrap().last().unwrap().clone();
    assert_eq!(last.authorization, None);
    assert_eq!(
        last.body,
        json!({"subject": "s", "body": "b", "fields": null})
    );

    let send_to = |status: u16| {
        let ch = JsonWebhookChannel::new(
            "crm",
            SecretString::from(format!("{base}/{status}/crm/hook")),
            Some(SecretString::from("tok-123")),
            DEFAULT_WEBHOOK_TIMEOUT,
        )
        .unwrap();
        async move { ch.send(&msg()).await }
    };
    let err = send_to(503).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_eq!(err.code(), "http-503");
    let err = send_to(404).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    assert_eq!(err.code(), "http-404");
    assert!(!err.message().contains("tok-123"), "{err}");
}

#[tokio::test]
async fn transport_failures_are_transient() {
    // Closed port: connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = chat(&format!("http://127.0.0.1:{port}/hook/SECRET"))
        .send(&msg())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.code(), "connect", "{err}");
    assert!(!err.message().contains("SECRET"), "{err}");

    // A server slower than the timeout: timeout.
    let (base, _log) = server().await;
    let ch = ChatWebhookChannel::new(
        "ops-chat",
        SecretString::from(format!("{base}/555/hook/SECRET")),
        Duration::from_millis(300),
    )
    .unwrap();
    let err = ch.send(&msg()).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(!err.message().contains("SECRET"), "{err}");
}
