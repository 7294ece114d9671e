//! End-to-end tests of the fake carrier over loopback HTTP, on a clock 1000× faster than real.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use chrono::{DateTime, Utc};
use outdial_carrier::{
    start, CarrierConfig, CarrierHandle, FaultSpec, OutcomeMix, LEDGER_CSV_HEADER,
};
use outdial_clock::{ManualClock, ScaledClock};
use outdial_providers::twilio::signature::compute_signature;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod bland;
mod end_call;

const SPEED: f64 = 1000.0;
const FROM: &str = "+15005550006";

fn clock() -> Arc<ScaledClock> {
    let start = DateTime::parse_from_rfc3339("2026-01-05T15:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    Arc::new(ScaledClock::starting_now(start, SPEED).unwrap())
}

async fn carrier(config: CarrierConfig) -> CarrierHandle {
    start(config, clock(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("carrier starts")
}

/// A carrier on a stepped clock starting at the kit's `t0()`: simulated time moves only when
/// the test advances it ([`step`]).
async fn stepped(config: CarrierConfig) -> (CarrierHandle, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(outdial_testkit::t0()));
    let c = start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("carrier starts");
    (c, clock)
}

/// Advances the stepped clock by `d` (simulated) and waits until every callback due by then
/// is done (sent, lost or given up on): nothing more arrives until the clock moves again.
async fn step(c: &CarrierHandle, clock: &ManualClock, d: chrono::Duration) {
    clock.advance(d);
    eventually("the callbacks due are done", || c.callbacks_pending() == 0).await;
}

fn human_only() -> OutcomeMix {
    OutcomeMix {
        answered_human: 1,
        answered_machine: 0,
        busy: 0,
        no_answer: 0,
        failed: 0,
        answered_duration_s: 10..=20,
        ring_time_s: 2..=5,
    }
}

/// One status callback as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    /// The URL as Twilio signs it: for POST the callback URL, for GET including the query.
    url: String,
    method: Method,
    params: Vec<(String, String)>,
    signature: Option<String>,
}

impl Received {
    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn seq(&self) -> u64 {
        self.get("SequenceNumber").unwrap().parse().unwrap()
    }
    fn status(&self) -> &str {
        self.get("CallStatus").unwrap()
    }
}

#[derive(Clone)]
struct Rx {
    base: String,
    answer: StatusCode,
    got: Arc<Mutex<Vec<Received>>>,
}

/// A small callback receiver: records every request and answers `answer`.
async fn receiver(answer: StatusCode) -> Rx {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let rx = Rx {
        base,
        answer,
        got: Arc::default(),
    };
    async fn handle(
        State(rx): State<Rx>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let url = format!("{}{}", rx.base, uri.path_and_query().unwrap());
        let params: Vec<(String, String)> = if method == Method::POST {
            serde_urlencoded::from_bytes(&body).unwrap()
        } else {
            serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap()
        };
        rx.got.lock().unwrap().push(Received {
            url,
            method,
            params,
            signature: headers
                .get("X-Twilio-Signature")
                .map(|v| v.to_str().unwrap().to_string()),
        });
        rx.answer
    }
    let app = axum::Router::new()
        .route("/{*rest}", any(handle))
        .with_state(rx.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    rx
}

impl Rx {
    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

fn calls_url(c: &CarrierHandle, sid: &str) -> String {
    format!("{}/2010-04-01/Accounts/{sid}/Calls.json", c.base_url())
}

/// POSTs a create with the default credentials.
async fn create(c: &CarrierHandle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let cfg = CarrierConfig::default();
    let resp = http()
        .post(calls_url(c, &cfg.account_sid))
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn get_json(c: &CarrierHandle, path_and_query: &str) -> (StatusCode, Value) {
    let cfg = CarrierConfig::default();
    let resp = http()
        .get(format!("{}{path_and_query}", c.base_url()))
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn fetch(c: &CarrierHandle, sid: &str) -> (StatusCode, Value) {
    let account = CarrierConfig::default().account_sid;
    get_json(
        c,
        &format!("/2010-04-01/Accounts/{account}/Calls/{sid}.json"),
    )
    .await
}

/// Polls `f` every 10 ms for up to 60 s (a loaded CI machine — two cores shared with the
/// simulator — once took more than 15 s to deliver a Bland webhook retry that takes 0.1 s
/// alone).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn all_ended(c: &CarrierHandle) -> bool {
    c.ledger().iter().all(|e| e.final_status.is_some())
}

fn basic_form<'a>(to: &'a str, cb: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("To", to),
        ("From", FROM),
        ("Url", "https://example.com/twiml"),
        ("StatusCallback", cb),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_required() {
    let c = carrier(CarrierConfig::default()).await;
    let cfg = CarrierConfig::default();
    let form = [
        ("To", "+15551230001"),
        ("From", FROM),
        ("Url", "https://x.test/t"),
    ];

    // No credentials.
    let r = http()
        .post(calls_url(&c, &cfg.account_sid))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 20003);
    assert_eq!(body["status"], 401);
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );

    // Wrong token.
    let r = http()
        .post(calls_url(&c, &cfg.account_sid))
        .basic_auth(&cfg.account_sid, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Right credentials, other account in the path.
    let other = "AC11111111111111111111111111111111";
    let r = http()
        .post(calls_url(&c, other))
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Fetch and list too.
    let r = http()
        .get(calls_url(&c, &cfg.account_sid))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .get(format!(
            "{}/2010-04-01/Accounts/{}/Calls/CA0.json",
            c.base_url(),
            cfg.account_sid
        ))
        .basic_auth(&cfg.account_sid, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    assert!(c.ledger().is_empty());
    assert_eq!(c.stats().requests_unauthorized, 5);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_place_no_call() {
    let c = carrier(CarrierConfig {
        invalid: vec!["+15551239999".into()],
        ..CarrierConfig::default()
    })
    .await;
    let url = ("Url", "https://x.test/t");
    let cases: Vec<(Vec<(&str, &str)>, u64)> = vec![
        (vec![("To", "+15551239999"), ("From", FROM), url], 21211),
        (vec![("To", "5551234567"), ("From", FROM), url], 21211),
        (vec![("To", "+05551234567"), ("From", FROM), url], 21211),
        (vec![("To", FROM), ("From", FROM), url], 21211),
        (vec![("From", FROM), url], 21201),
        (vec![("To", "+15551230001"), ("From", FROM)], 21205),
    ];
    for (form, code) in cases {
        let (status, body) = create(&c, &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_eq!(body["code"], code, "{form:?}: {body}");
        assert_eq!(body["status"], 400);
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(body["message"].as_str().unwrap().len() > 5);
    }
    assert!(c.ledger().is_empty());
    assert_eq!(c.stats().creates_rejected, 6);
    assert_eq!(c.stats().calls_placed, 0);

    // Fetching an unknown SID is a Twilio 404.
    let (status, body) = fetch(&c, "CA00000000000000000000000000000000").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], 20404);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_signed_callbacks_in_sequence() {
    let rx = receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/twilio/status?attempt=42", rx.base);
    let mut form = basic_form("+15551230002", &cb);
    form.push(("MachineDetection", "Enable"));
    form.push(("Timeout", "30"));
    let (status, body) = create(&c, &form).await;
    assert_eq!(status, 201, "{body}");
    let sid = body["sid"].as_str().unwrap().to_string();
    assert!(sid.starts_with("CA") && sid.len() == 34, "{sid}");
    assert!(sid[2..].chars().all(|ch| ch.is_ascii_hexdigit()));
    assert_eq!(body["status"], "queued");
    assert_eq!(body["to"], "+15551230002");
    assert_eq!(body["from"], FROM);
    assert_eq!(body["direction"], "outbound-api");
    assert_eq!(body["queue_time"], "0");
    assert_eq!(body["api_version"], "2010-04-01");
    assert!(body["start_time"].is_null());
    assert!(body["duration"].is_null());
    DateTime::parse_from_rfc2822(body["date_created"].as_str().unwrap()).unwrap();

    // Past the whole timeline (ring 2-5 s, talk 10-20 s): every callback is done.
    step(&c, &clock, chrono::Duration::hours(1)).await;
    let got = rx.all();
    assert_eq!(got.len(), 4, "{got:#?}");
    let token = CarrierConfig::default().auth_token;
    for r in &got {
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.url, cb);
        let expected = compute_signature(&token, &cb, &r.params);
        assert_eq!(r.signature.as_deref(), Some(expected.as_str()), "{r:?}");
        assert_eq!(r.get("CallSid"), Some(sid.as_str()));
        assert_eq!(
            r.get("AccountSid"),
            Some(CarrierConfig::default().account_sid.as_str())
        );
        assert_eq!(r.get("To"), Some("+15551230002"));
        assert_eq!(r.get("Called"), Some("+15551230002"));
        assert_eq!(r.get("From"), Some(FROM));
        assert_eq!(r.get("Caller"), Some(FROM));
        assert_eq!(r.get("ApiVersion"), Some("2010-04-01"));
        assert_eq!(r.get("Direction"), Some("outbound-api"));
        assert_eq!(r.get("CallbackSource"), Some("call-progress-events"));
        DateTime::parse_from_rfc2822(r.get("Timestamp").unwrap()).unwrap();
    }
    let seqs: Vec<u64> = got.iter().map(Received::seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let statuses: Vec<&str> = got.iter().map(Received::status).collect();
    assert_eq!(
        statuses,
        vec!["initiated", "ringing", "in-progress", "completed"]
    );
    let last = &got[3];
    let dur: u64 = last.get("CallDuration").unwrap().parse().unwrap();
    assert!((10..=20).contains(&dur), "{dur}");
    assert_eq!(last.get("SipResponseCode"), Some("200"));
    assert_eq!(last.get("AnsweredBy"), Some("human"));
    assert_eq!(got[2].get("AnsweredBy"), Some("human"));
    assert!(got[0].get("CallDuration").is_none());

    // Fetch agrees with the callbacks; the ledger too.
    let (status, call) = fetch(&c, &sid).await;
    assert_eq!(status, 200);
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration"], dur.to_string());
    assert_eq!(call["answered_by"], "human");
    DateTime::parse_from_rfc2822(call["start_time"].as_str().unwrap()).unwrap();
    let end = DateTime::parse_from_rfc2822(call["end_time"].as_str().unwrap()).unwrap();
    let ledger = c.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].call_sid, sid);
    assert_eq!(ledger[0].final_status.as_deref(), Some("completed"));
    assert_eq!(ledger[0].ended_at.unwrap().timestamp(), end.timestamp());
    let answered = ledger[0].answered_at.unwrap();
    assert_eq!(
        (ledger[0].ended_at.unwrap() - answered).num_seconds() as u64,
        dur
    );
    let stats = c.stats();
    assert_eq!(stats.callbacks_sent, 4);
    assert_eq!(stats.callbacks_delivered, 4);
    assert_eq!(stats.calls_by_final_status.get("completed"), Some(&1));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_completed_by_default_and_get_method_signed() {
    let rx = receiver(StatusCode::NO_CONTENT).await;
    let (c, clock) = stepped(CarrierConfig::default()).await;
    let cb = format!("{}/cb?x=1", rx.base);
    let (status, _) = create(
        &c,
        &[
            ("To", "+15551230003"),
            ("From", FROM),
            ("Twiml", "<Response><Hangup/></Response>"),
            ("StatusCallback", &cb),
            ("StatusCallbackMethod", "GET"),
        ],
    )
    .await;
    assert_eq!(status, 201);
    step(&c, &clock, chrono::Duration::hours(1)).await;
    let got = rx.all();
    assert_eq!(got.len(), 1, "{got:#?}");
    let r = &got[0];
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.seq(), 0);
    assert!(r.url.starts_with(&cb));
    let expected = compute_signature(&CarrierConfig::default().auth_token, &r.url, &[]);
    assert_eq!(r.signature.as_deref(), Some(expected.as_str()));
    assert!(["completed", "busy", "no-answer", "failed"].contains(&r.status()));
    assert!(r.get("SipResponseCode").is_some());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_busy_numbers_end_busy() {
    let rx = receiver(StatusCode::OK).await;
    let busy = "+15551230004";
    let c = carrier(CarrierConfig {
        always_busy: vec![busy.into()],
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let mut sids = Vec::new();
    for _ in 0..3 {
        let (status, body) = create(&c, &basic_form(busy, &cb)).await;
        assert_eq!(status, 201);
        sids.push(body["sid"].as_str().unwrap().to_string());
    }
    eventually("busy calls end", || all_ended(&c)).await;
    for sid in &sids {
        let (_, call) = fetch(&c, sid).await;
        assert_eq!(call["status"], "busy");
        assert!(call["duration"].is_null());
        assert!(call["answered_by"].is_null());
    }
    eventually("3 final callbacks", || {
        rx.all().iter().filter(|r| r.status() == "busy").count() == 3
    })
    .await;
    for r in rx.all().iter().filter(|r| r.status() == "busy") {
        assert_eq!(r.get("SipResponseCode"), Some("486"));
        assert_eq!(r.get("CallDuration"), Some("0"));
        // initiated (0), ringing (1), busy (2): no answered event.
        assert_eq!(r.seq(), 2);
    }
    assert_eq!(c.stats().calls_by_final_status.get("busy"), Some(&3));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_ending_calls_stay_in_progress() {
    let rx = receiver(StatusCode::OK).await;
    let stuck = "+15551230005";
    let (c, clock) = stepped(CarrierConfig {
        never_ends: vec![stuck.into()],
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let (status, body) = create(&c, &basic_form(stuck, &cb)).await;
    assert_eq!(status, 201);
    let sid = body["sid"].as_str().unwrap().to_string();
    // Longer than any ring time + talk time of the default mix (20 s + 300 s simulated).
    step(&c, &clock, chrono::Duration::hours(1)).await;
    let (_, call) = fetch(&c, &sid).await;
    assert_eq!(call["status"], "in-progress");
    assert!(call["end_time"].is_null());
    let statuses: Vec<String> = rx.all().iter().map(|r| r.status().to_string()).collect();
    assert_eq!(statuses, vec!["initiated", "ringing", "in-progress"]);
    let l = &c.ledger()[0];
    assert!(l.answered_at.is_some());
    assert!(l.ended_at.is_none() && l.final_status.is_none());
    assert_eq!(c.stats().calls_in_flight, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_csv_has_exact_header() {
    let c = carrier(CarrierConfig {
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    for to in ["+15551230006", "+15551230007"] {
        let (status, _) = create(
            &c,
            &[("To", to), ("From", FROM), ("Url", "https://x.test/t")],
        )
        .await;
        assert_eq!(status, 201);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.csv");
    // Mid-flight: empty answered/ended fields are allowed; then again after the end.
    c.write_ledger_csv(&path).unwrap();
    eventually("calls end", || all_ended(&c)).await;
    c.write_ledger_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "call_sid,to,from,created_at,answered_at,ended_at,final_status"
    );
    assert_eq!(
        LEDGER_CSV_HEADER,
        "call_sid,to,from,created_at,answered_at,ended_at,final_status"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 7, "{row}");
        assert!(f[0].starts_with("CA"));
        for t in &f[3..6] {
            let t = DateTime::parse_from_rfc3339(t).unwrap();
            assert_eq!(t.offset().local_minus_utc(), 0);
        }
        assert_eq!(f[6], "completed");
    }
    c.shutdown().await;
}

/// Places `tos` in order and returns (sid, final status) per create, after all calls ended.
async fn run_creates(seed: u64, tos: &[&str]) -> Vec<(String, String, String)> {
    let c = carrier(CarrierConfig {
        seed,
        outcomes: OutcomeMix {
            answered_duration_s: 5..=30,
            ..OutcomeMix::default()
        },
        ..CarrierConfig::default()
    })
    .await;
    for to in tos {
        let (status, _) = create(
            &c,
            &[
                ("To", to),
                ("From", FROM),
                ("Url", "https://x.test/t"),
                ("Timeout", "20"),
            ],
        )
        .await;
        assert_eq!(status, 201);
    }
    eventually("all calls end", || all_ended(&c)).await;
    let mut out: Vec<(String, String, String)> = c
        .ledger()
        .into_iter()
        .map(|e| (e.to, e.call_sid, e.final_status.unwrap()))
        .collect();
    c.shutdown().await;
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_outcomes_regardless_of_order() {
    let numbers: Vec<String> = (0..12).map(|i| format!("+1555123{:04}", 100 + i)).collect();
    let mut tos: Vec<&str> = numbers.iter().map(String::as_str).collect();
    tos.extend(numbers[..4].iter().map(String::as_str)); // repeat calls to some numbers
    let a = run_creates(7, &tos).await;
    let mut reversed = tos.clone();
    reversed.reverse(); // different arrival order; same per-number sequence for repeats
    let b = run_creates(7, &reversed).await;
    assert_eq!(a, b);
    let statuses: std::collections::BTreeSet<&str> = a.iter().map(|x| x.2.as_str()).collect();
    assert!(statuses.len() >= 2, "a mix of outcomes: {statuses:?}");
    let other = run_creates(8, &tos).await;
    assert_ne!(a, other, "another seed gives other SIDs/outcomes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lose_all_sends_nothing() {
    let rx = receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        faults: "lose=1.0".parse().unwrap(),
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    for to in ["+15551230010", "+15551230011"] {
        let (status, _) = create(&c, &basic_form(to, &cb)).await;
        assert_eq!(status, 201);
    }
    step(&c, &clock, chrono::Duration::hours(1)).await;
    assert!(all_ended(&c));
    assert_eq!(c.stats().callbacks_lost, 8);
    assert!(rx.all().is_empty());
    assert_eq!(c.stats().callbacks_sent, 0);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_create_places_the_call() {
    let rx = receiver(StatusCode::OK).await;
    let c = carrier(CarrierConfig {
        faults: "ambiguous=1.0".parse().unwrap(),
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let to = "+15551230012";
    let (status, body) = create(&c, &basic_form(to, &cb)).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["code"], 20500);
    let ledger = c.ledger();
    assert_eq!(ledger.len(), 1);
    let sid = ledger[0].call_sid.clone();
    let (status, call) = fetch(&c, &sid).await;
    assert_eq!(status, 200);
    assert_eq!(call["to"], to);
    let account = CarrierConfig::default().account_sid;
    let (status, list) = get_json(
        &c,
        &format!("/2010-04-01/Accounts/{account}/Calls.json?To=%2B15551230012"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["calls"].as_array().unwrap().len(), 1);
    assert_eq!(list["calls"][0]["sid"], sid.as_str());
    // Callbacks proceed as for any placed call.
    eventually("final callback", || {
        rx.all().iter().any(|r| r.status() == "completed")
    })
    .await;
    assert_eq!(c.stats().creates_ambiguous, 1);
    assert_eq!(c.stats().calls_placed, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error5xx_and_rate429_place_nothing() {
    let c = carrier(CarrierConfig {
        faults: "rate429=1".parse().unwrap(),
        ..CarrierConfig::default()
    })
    .await;
    let form = [
        ("To", "+15551230013"),
        ("From", FROM),
        ("Url", "https://x.test/t"),
    ];
    let (status, body) = create(&c, &form).await;
    assert_eq!(status, 429);
    assert_eq!(body["code"], 20429);
    assert_eq!(body["status"], 429);
    assert!(c.ledger().is_empty());
    assert_eq!(c.stats().creates_rate_limited, 1);
    c.shutdown().await;

    let c = carrier(CarrierConfig {
        faults: "error5xx=1".parse().unwrap(),
        ..CarrierConfig::default()
    })
    .await;
    let (status, body) = create(&c, &form).await;
    assert_eq!(status, 500);
    assert_eq!(body["status"], 500);
    assert!(c.ledger().is_empty());
    assert_eq!(c.stats().creates_error5xx, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_reorder_faults() {
    let rx = receiver(StatusCode::OK).await;
    let c = carrier(CarrierConfig {
        faults: FaultSpec {
            duplicate: 1.0,
            ..FaultSpec::none()
        },
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let (status, _) = create(&c, &basic_form("+15551230014", &format!("{}/cb", rx.base))).await;
    assert_eq!(status, 201);
    eventually("8 deliveries", || rx.all().len() == 8).await;
    let seqs: Vec<u64> = rx.all().iter().map(Received::seq).collect();
    assert_eq!(seqs, vec![0, 0, 1, 1, 2, 2, 3, 3]);
    assert_eq!(c.stats().callbacks_duplicated, 4);
    c.shutdown().await;

    let rx = receiver(StatusCode::OK).await;
    let c = carrier(CarrierConfig {
        faults: "reorder=1".parse().unwrap(),
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let (status, _) = create(&c, &basic_form("+15551230015", &format!("{}/cb", rx.base))).await;
    assert_eq!(status, 201);
    eventually("4 deliveries", || rx.all().len() == 4).await;
    // Every callback but the last is held back after its successor.
    let seqs: Vec<u64> = rx.all().iter().map(Received::seq).collect();
    assert_eq!(seqs, vec![3, 2, 1, 0]);
    assert_eq!(c.stats().callbacks_reordered, 3);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_gets_one_retry() {
    let rx = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    let c = carrier(CarrierConfig::default()).await;
    let (status, _) = create(
        &c,
        &[
            ("To", "+15551230016"),
            ("From", FROM),
            ("Url", "https://x.test/t"),
            ("StatusCallback", &format!("{}/cb", rx.base)),
        ],
    )
    .await;
    assert_eq!(status, 201);
    eventually("failure recorded", || c.stats().callbacks_failed == 1).await;
    let got = rx.all();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].params, got[1].params);
    let s = c.stats();
    assert_eq!(
        (s.callbacks_sent, s.callbacks_retried, s.callbacks_delivered),
        (2, 1, 0)
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cps_limit_queues_calls() {
    // One call per 1000 simulated seconds.
    let c = carrier(CarrierConfig {
        cps: Some(0.001),
        ..CarrierConfig::default()
    })
    .await;
    let mut queue = Vec::new();
    let mut sids = Vec::new();
    for i in 0..3 {
        let to = format!("+1555123002{i}");
        let (status, body) = create(
            &c,
            &[("To", &to), ("From", FROM), ("Url", "https://x.test/t")],
        )
        .await;
        assert_eq!(status, 201);
        queue.push(body["queue_time"].as_str().unwrap().parse::<i64>().unwrap());
        sids.push(body["sid"].as_str().unwrap().to_string());
    }
    assert_eq!(queue[0], 0);
    assert!(queue[1] > 500_000 && queue[1] <= 1_000_000, "{queue:?}");
    assert!(queue[2] > queue[1] + 500_000, "{queue:?}");
    let (_, call) = fetch(&c, &sids[2]).await;
    assert_eq!(call["status"], "queued");
    assert!(call["start_time"].is_null());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages() {
    let c = carrier(CarrierConfig {
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let mut sids = Vec::new();
    for i in 0..5 {
        let to = format!("+1555123003{i}");
        let (status, body) = create(
            &c,
            &[("To", &to), ("From", FROM), ("Url", "https://x.test/t")],
        )
        .await;
        assert_eq!(status, 201);
        sids.push(body["sid"].as_str().unwrap().to_string());
    }
    let account = CarrierConfig::default().account_sid;
    let base = format!("/2010-04-01/Accounts/{account}/Calls.json");

    // Paging through everything.
    let mut seen = Vec::new();
    let mut next = Some(format!("{base}?PageSize=2"));
    let mut pages = 0;
    while let Some(uri) = next {
        let (status, page) = get_json(&c, &uri).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["page_size"], 2);
        for call in page["calls"].as_array().unwrap() {
            seen.push(call["sid"].as_str().unwrap().to_string());
        }
        next = page["next_page_uri"].as_str().map(str::to_string);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let mut newest_first = sids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let (_, one) = get_json(&c, &format!("{base}?To=%2B15551230032")).await;
    assert_eq!(one["calls"].as_array().unwrap().len(), 1);
    assert_eq!(one["calls"][0]["sid"], sids[2].as_str());
    assert!(one["next_page_uri"].is_null());

    let (_, by_date) = get_json(&c, &format!("{base}?StartTime%3E=2026-01-05")).await;
    assert_eq!(by_date["calls"].as_array().unwrap().len(), 5);
    let (_, none) = get_json(&c, &format!("{base}?StartTime%3C=2026-01-04")).await;
    assert_eq!(none["calls"].as_array().unwrap().len(), 0);
    let (_, day) = get_json(&c, &format!("{base}?StartTime=2026-01-05")).await;
    assert_eq!(day["calls"].as_array().unwrap().len(), 5);

    eventually("calls end", || all_ended(&c)).await;
    let (_, done) = get_json(&c, &format!("{base}?Status=completed")).await;
    assert_eq!(done["calls"].as_array().unwrap().len(), 5);
    let (_, busy) = get_json(&c, &format!("{base}?Status=busy")).await;
    assert_eq!(busy["calls"].as_array().unwrap().len(), 0);
    let (status, bad) = get_json(&c, &format!("{base}?StartTime%3E=yesterday")).await;
    assert_eq!(status, 400);
    assert_eq!(bad["code"], 20001);
    c.shutdown().await;
}
