//! Kill switch and alerts through the real binary: `outdial serve` configured with an SMTP
//! server (the test kit's aiosmtpd sink, a real one, started here) and a chat webhook (an
//! axum receiver here);
//! `outdial killswitch trip` from the command line; the alert arrives by e-mail and chat
//! through the durable outbox that `serve` runs; the switch shows on the API and in
//! `killswitch status`; only `resume` lifts it.

use crate::support::{bin, create_campaign, free_port, Serve, SimClock, API_KEY};
use chrono::Utc;
use outdial_testkit::smtp::{aiosmtpd_available, SmtpSink};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A chat webhook receiver keeping every JSON body.
async fn chat_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hooks/ops",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks/ops"), got)
}

fn cli(config: &Path, db: &Path, args: &[&str]) -> (bool, String) {
    let out = bin()
        .env("OUTDIAL_CONFIG", config)
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tripped_kill_switch_alerts_by_mail_and_chat_and_holds_until_resumed() {
    if !aiosmtpd_available("the alert test") {
        return;
    }
    let sink = SmtpSink::start_on(free_port());
    let (chat_url, chat) = chat_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    create_campaign(&db, "c", dir.path());
    let config = dir.path().join("outdial.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\nchat_webhook_url = \"{chat_url}\"\n[alerts.email]\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"outdial@example.com\"\nto = [\"ops@example.com\"]\n",
            sink.port()
        ),
    )
    .unwrap();
    // The carrier is never called: no leads.
    // Real time: the CLI stamps the alert jobs with the system clock.
    let clock = SimClock::new(Utc::now(), 1.0, 0);
    let mut serve = Serve::new(&db, clock, "http://127.0.0.1:9", 1.0, 4);
    serve
        .env
        .push(("OUTDIAL_CONFIG".into(), config.display().to_string()));
    let mut proc = serve.spawn();
    let http = reqwest::Client::new();
    proc.wait_healthy(&http, Duration::from_secs(30), "serve")
        .await;

    let (ok, out) = cli(
        &config,
        &db,
        &["killswitch", "trip", "--reason", "fire drill"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("tripped"), "{out}");
    let (ok, out) = cli(&config, &db, &["killswitch", "trip", "--reason", "again"]);
    assert!(ok && out.contains("already tripped"), "{out}");

    // serve's job runner delivers the alert on both channels.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (sink.messages().is_empty() || chat.lock().unwrap().is_empty())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let subject = mails[0]["subject"].as_str().unwrap();
    assert!(
        subject.contains("kill switch tripped (global)"),
        "{subject}"
    );
    assert!(subject.contains("fire drill"), "{subject}");
    let body = mails[0]["body"].as_str().unwrap();
    for needle in [
        "Reason: fire drill",
        "calls in flight",
        "What to do",
        "outdial killswitch resume",
    ] {
        assert!(body.contains(needle), "mail body lacks '{needle}': {body}");
    }
    assert_eq!(mails[0]["rcpt_tos"][0], "ops@example.com");
    let chats = chat.lock().unwrap().clone();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert!(chats[0]["text"].as_str().unwrap().contains("fire drill"));

    // The switch shows on the API and the CLI, and holds until an operator resumes it.
    let status: Value = http
        .get(proc.api("/api/v1/status"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["kill_switches_tripped"][0], "global", "{status}");
    assert_eq!(status["jobs"]["done"], 2, "{status}");
    let (ok, out) = cli(&config, &db, &["killswitch", "status"]);
    assert!(
        ok && out.contains("TRIPPED") && out.contains("fire drill"),
        "{out}"
    );
    let (ok, out) = cli(
        &config,
        &db,
        &["killswitch", "resume", "--reason", "drill over"],
    );
    assert!(ok && out.contains("resumed"), "{out}");
    let v: Value = http
        .get(proc.api("/api/v1/killswitch"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["global_tripped"], false, "{v}");
    assert_eq!(v["switches"][0]["reason"], "drill over");
    let (ok, out) = cli(&config, &db, &["jobs", "list", "--state", "done"]);
    assert!(
        ok && out.contains("alert.email") && out.contains("alert.chat"),
        "{out}"
    );
    let (ok, out) = cli(&config, &db, &["alerts", "list"]);
    assert!(ok && out.contains("kill_switch.tripped"), "{out}");
    let (ok, out) = cli(&config, &db, &["killswitch", "trip", "--reason", " "]);
    assert!(!ok && out.contains("--reason"), "{out}");
    let (ok, out) = cli(
        &config,
        &db,
        &["killswitch", "trip", "--reason", "x", "--campaign", "nope"],
    );
    assert!(!ok && out.contains("no campaign named 'nope'"), "{out}");
    proc.kill();
}
