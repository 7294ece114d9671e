//! `SmtpChannel` against a real SMTP server: the test kit's aiosmtpd sink
//! ([`outdial_testkit::smtp::SmtpSink`]).
//!
//! Without aiosmtpd these tests print a notice and pass, except under `CI=true`, where they
//! fail (CI installs it: `.ci/run`). Install it with `python3 -m pip install aiosmtpd`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use outdial_notify::{Channel, Message, SendError, SmtpChannel, SmtpConfig};
use outdial_testkit::smtp::{aiosmtpd_available, SmtpSink};
use secrecy::SecretString;

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn channel(url: &str, to: &[&str]) -> SmtpChannel {
    SmtpChannel::new(
        "ops-mail",
        SmtpConfig {
            url: url.to_owned(),
            from: "Outdial Alerts <alerts@outdial.test>".to_owned(),
            to: to.iter().map(|s| (*s).to_owned()).collect(),
            username: None,
            password: None,
            timeout_s: 10,
        },
    )
    .unwrap()
}

#[tokio::test]
async fn delivers_a_mail_the_server_stores() {
    if !aiosmtpd_available("the SMTP test") {
        return;
    }
    let sink = SmtpSink::start();
    let ch = channel(
        &sink.url(),
        &["ops@example.com", "Lead Desk <desk@example.com>"],
    );
    assert_eq!(ch.name(), "ops-mail");
    let msg = Message::new(
        "Dialer stopped: credentials refused — café",
        "Twilio answered 401 / 20003.\nThe dialer is stopped until an operator starts it.",
    );
    ch.send(&msg).await.expect("sent");

    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m["mail_from"], "alerts@outdial.test");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.com", "desk@example.com"])
    );
    assert_eq!(m["from"], "Outdial Alerts <alerts@outdial.test>");
    let to = m["to"].as_str().unwrap();
    assert!(
        to.contains("ops@example.com") && to.contains("Lead Desk <desk@example.com>"),
        "{to}"
    );
    assert_eq!(m["subject"], "Dialer stopped: credentials refused — café");
    assert_eq!(
        m["body"].as_str().unwrap().replace("\r\n", "\n").trim_end(),
        "Twilio answered 401 / 20003.\nThe dialer is stopped until an operator starts it."
    );
}

#[tokio::test]
async fn refused_recipients_are_classified() {
    if !aiosmtpd_available("the SMTP test") {
        return;
    }
    let sink = SmtpSink::start();
    let msg = Message::new("s", "b");

    let err = channel(&sink.url(), &["reject@example.com"])
        .send(&msg)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    assert_eq!(err.code(), "smtp-550");
    assert!(err.message().contains("mailbox unavailable"), "{err}");

    let err = channel(&sink.url(), &["busy@example.com"])
        .send(&msg)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_eq!(err.code(), "smtp-451");

    // One refused recipient among good ones fails the whole send; nothing is stored.
    let err = channel(&sink.url(), &["ops@example.com", "reject@example.com"])
        .send(&msg)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "smtp-550");
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
}

#[tokio::test]
async fn closed_port_is_transient() {
    // No server needed: a port nobody listens on.
    let port = free_port();
    let err = channel(&format!("smtp://127.0.0.1:{port}"), &["ops@example.com"])
        .send(&Message::new("s", "b"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_eq!(err.code(), "connect", "{err}");
}

#[tokio::test]
async fn silent_server_times_out_as_transient() {
    // Accepts the connection and never greets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let (_sock, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let ch = SmtpChannel::new(
        "ops-mail",
        SmtpConfig {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "alerts@outdial.test".into(),
            to: vec!["ops@example.com".into()],
            username: Some("u".into()),
            password: Some(SecretString::from("pw")),
            timeout_s: 1,
        },
    )
    .unwrap();
    let started = Instant::now();
    let err = ch.send(&Message::new("s", "b")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.code(), "timeout", "{err}");
    hold.abort();
}
