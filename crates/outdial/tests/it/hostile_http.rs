//! Hostile HTTP clients against a real `outdial serve` (issue 9, items 2 and 6): huge,
//! many-keyed webhooks with bogus signatures do not stall `/healthz` or the dialer; slow
//! clients are cut off; SIGTERM ends the process within a few seconds whatever a client does.

use super::support::{self, LeadFile, Serve, SimClock, AREAS, TOKEN};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A well-formed `X-Twilio-Signature` (28 characters of base64) that verifies nothing.
const BOGUS_SIG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// The three hostile bodies: the 900 KB of 100,000 keys; 20,000 empty fields under
/// 64 KiB; 256 fields of 240 bytes (at the bounds: decoded and verified, then refused).
fn hostile_bodies() -> [String; 3] {
    [
        (0..100_000).map(|i| format!("k{i:06}=&")).collect(),
        "a=&".repeat(20_000),
        (0..256)
            .map(|i| format!("f{i:03}={}&", "v".repeat(240)))
            .collect(),
    ]
}

/// Sum of the attempts that reached a final call status (each through a callback or the
/// reconciler).
fn ended(status: &serde_json::Value) -> u64 {
    status["counts"]["attempts_by_call_status"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(|v| v.as_u64()).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_webhooks_leave_healthz_and_dialing_answering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    let leads = dir.path().join("leads.txt");
    LeadFile {
        areas: &AREAS[..1],
        valid: 400,
        duplicates: 0,
        duplicate_stride: 1,
        invalid: 0,
    }
    .write(&leads);
    support::create_campaign(&db, "hostile", dir.path());
    // Monday 10:00 in New York: inside every calling window.
    let start = outdial_testkit::t0();
    support::import_leads(&db, &leads, "hostile", start);
    let sim = SimClock::new(start, 60.0, 1000);
    let carrier =
        support::start_carrier(support::carrier_config(9, "", &[], &[], &[]), sim.clock()).await;
    let serve = Serve::new(&db, sim, &carrier.base_url(), 10.0, 30);
    let base = serve.public_url();
    let mut serve = serve.spawn();
    let http = reqwest::Client::new();
    serve
        .wait_healthy(&http, Duration::from_secs(10), "outdial serve")
        .await;
    // Dialing has begun.
    let deadline = Instant::now() + Duration::from_secs(20);
    while carrier.ledger().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "no calls placed before the attack"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The attack: 10 clients, each sending one kind of hostile body back to back for 5 s.
    let attack_for = Duration::from_secs(5);
    let calls_before = carrier.ledger().len();
    let ended_before = ended(&support::status(&http, &base, "serve").await);
    let attack_start = Instant::now();
    let bodies = hostile_bodies();
    let mut attackers = Vec::new();
    for i in 0..10 {
        let body = bodies[i % 3].clone();
        let url = format!("{base}/webhooks/twilio/status?attempt=1");
        attackers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut answers = std::collections::BTreeMap::<u16, u32>::new();
            while attack_start.elapsed() < attack_for {
                let sent = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", BOGUS_SIG)
                    .body(body.clone())
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                // A 413 may come before the body is sent and the connection be closed on
                // the sender: a send error then.
                *answers
                    .entry(sent.map_or(0, |r| r.status().as_u16()))
                    .or_default() += 1;
            }
            answers
        }));
    }

    // Meanwhile: /healthz every 100 ms, and one valid signed callback (for a call outdial
    // does not know: recorded, answered 200).
    let probe = reqwest::Client::new();
    let mut latencies = Vec::new();
    let mut valid_answer = None;
    tokio::time::sleep(Duration::from_millis(300)).await;
    while attack_start.elapsed() < attack_for {
        let t = Instant::now();
        let res = probe
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        let took = t.elapsed();
        assert!(
            res.as_ref().is_ok_and(|r| r.status() == 200),
            "healthz during the attack: {res:?} after {took:?}"
        );
        latencies.push(took);
        if valid_answer.is_none() && attack_start.elapsed() > Duration::from_secs(2) {
            let path = "/webhooks/twilio/status";
            let params: Vec<(String, String)> = [
                ("CallSid", "CA00000000000000000000000000000099"),
                ("AccountSid", support::SID),
                ("CallStatus", "completed"),
                ("SequenceNumber", "3"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let sig = outdial_providers::twilio::compute_signature(
                TOKEN,
                &format!("{base}{path}"),
                &params,
            );
            let res = probe
                .post(format!("{base}{path}"))
                .header("x-twilio-signature", sig)
                .form(&params)
                .timeout(Duration::from_secs(3))
                .send()
                .await;
            valid_answer = Some(res.map(|r| r.status().as_u16()).map_err(|e| e.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls_during = carrier.ledger().len() - calls_before;
    let mut answers = std::collections::BTreeMap::<u16, u32>::new();
    for a in attackers {
        for (k, v) in a.await.unwrap() {
            *answers.entry(k).or_default() += v;
        }
    }
    let status = support::status(&http, &base, "serve").await;
    let ended_during = ended(&status) - ended_before;
    latencies.sort();
    eprintln!(
        "attack answers {answers:?}; healthz {} probes, median {:?}, max {:?}; \
         {calls_during} calls placed and {ended_during} attempts ended during the attack; \
         rejected {}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        status["rejected_requests"]
    );
    serve.assert_running("outdial serve");
    // /healthz answered within 100 ms (the bound). On a loaded 2-core CI machine a
    // probe can miss it for scheduling reasons alone, so 9 in 10 must meet it and every one
    // must answer within 1 s (before the fix: no answer for minutes).
    let slow = latencies
        .iter()
        .filter(|l| **l > Duration::from_millis(100))
        .count();
    assert!(
        slow * 10 <= latencies.len(),
        "{slow} of {} healthz probes slower than 100 ms: {latencies:?}",
        latencies.len()
    );
    assert!(
        latencies.iter().all(|l| *l < Duration::from_secs(1)),
        "{latencies:?}"
    );
    // The dialer kept dialing, and callbacks kept being applied.
    assert!(
        calls_during >= 10,
        "only {calls_during} calls during the attack"
    );
    assert!(
        ended_during >= 5,
        "only {ended_during} attempts ended during the attack"
    );
    assert_eq!(
        valid_answer,
        Some(Ok(200)),
        "a valid callback during the attack"
    );
    // The attack was refused and counted.
    assert!(answers.get(&413).is_some_and(|n| *n > 0), "{answers:?}");
    assert!(answers.get(&403).is_some_and(|n| *n > 0), "{answers:?}");
    let r = &status["rejected_requests"];
    assert!(r["too_large"].as_u64().unwrap() > 0, "{r}");
    assert!(r["bad_signature"].as_u64().unwrap() > 0, "{r}");

    let code = serve.signal_and_wait("TERM");
    assert!(code.success(), "serve exited with {code}");
    carrier.shutdown().await;
}

/// An `outdial serve` with no leads (nothing to dial) on a fresh database.
async fn idle_serve(dir: &std::path::Path) -> (support::ServeProcess, std::net::SocketAddr) {
    let db = dir.join("idle.db");
    support::create_campaign(&db, "idle", dir);
    let start = outdial_testkit::t0();
    let serve = Serve::new(
        &db,
        SimClock::new(start, 1.0, 0),
        "http://127.0.0.1:9",
        1.0,
        1,
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", serve.port).parse().unwrap();
    let mut serve = serve.spawn();
    serve
        .wait_healthy(
            &reqwest::Client::new(),
            Duration::from_secs(10),
            "outdial serve",
        )
        .await;
    (serve, addr)
}

/// Sends a webhook head announcing 1,000 bytes, then one byte every 200 ms from a task of
/// its own; returns the read half.
async fn dribble(addr: std::net::SocketAddr) -> tokio::net::tcp::OwnedReadHalf {
    let (read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
    let head = format!(
        "POST /webhooks/twilio/status?attempt=1 HTTP/1.1\r\nHost: x\r\n\
         X-Twilio-Signature: {BOGUS_SIG}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    read
}

/// Reads until the server closes the connection; `None` if it is still open after `within`.
async fn read_to_close(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> Option<String> {
    let mut out = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn slow_clients_are_cut_off_after_the_default_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, addr) = idle_serve(dir.path()).await;
    let started = Instant::now();
    // A body dribbled a byte every 200 ms (1,000 bytes: 200 s) is answered 408 after the
    // 10 s body read timeout...
    let mut body = dribble(addr).await;
    // ...and half a request head is dropped after the 10 s header read timeout.
    let mut head = TcpStream::connect(addr).await.unwrap();
    head.write_all(b"POST /webhooks/twilio/status HTTP/1.1\r\nHost: x\r\nX-Twi")
        .await
        .unwrap();
    let (body_answer, head_answer) = tokio::join!(
        read_to_close(&mut body, Duration::from_secs(30)),
        read_to_close(&mut head, Duration::from_secs(30)),
    );
    let took = started.elapsed();
    let body_answer = body_answer.expect("the dribbling client was not cut off within 30 s");
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    assert!(
        head_answer.is_some(),
        "half a header was held open for 30 s"
    );
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(25),
        "{took:?}"
    );
    serve.assert_running("outdial serve");
}

#[tokio::test]
async fn sigterm_while_a_client_dribbles_exits_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (mut serve, addr) = idle_serve(dir.path()).await;
    let _body = dribble(addr).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = serve.pid();
    let sent = Instant::now();
    support::send_signal(pid, "TERM");
    // The grace is 5 s, the body read timeout 10 s: the grace ends it.
    let code = loop {
        if let Some(code) = serve.exited() {
            break code;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "serve still running 20 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = sent.elapsed();
    eprintln!("serve exited {took:?} after SIGTERM with {code}");
    assert!(code.success(), "{code}");
    assert!(took < Duration::from_secs(9), "exit took {took:?}");
}
