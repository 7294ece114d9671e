//! The fake Bland (`/v1/…`) over loopback HTTP: the wire by raw reqwest, and the real
//! `BlandClient` against it, on a stepped clock.

use super::*;
use outdial_carrier::{
    Answerer, BlandFake, FinalStatus, PastCall, ProviderApi, DEFAULT_BLAND_API_KEY,
    DEFAULT_BLAND_WEBHOOK_SECRET,
};
use outdial_clock::Clock;
use outdial_core::campaign::{
    AgentBehaviour, AgentScript, AnswerBehaviour, DetectionMode, MachineHandling, VoicemailAction,
};
use outdial_core::{CallStatus, ProviderCallId, Region, E164};
use outdial_providers::bland::client::{BlandClient, BlandConfig};
use outdial_providers::bland::webhook::{parse_call_webhook, verify_signature, SIGNATURE_HEADER};
use outdial_providers::bland::BlandCallback;
use outdial_providers::{FetchError, PlaceCall, PlaceError, Provider};
use secrecy::SecretString;
use serde_json::json;

/// One webhook as the receiver got it: the raw body and the signature header.
#[derive(Debug, Clone)]
struct Hook {
    body: Vec<u8>,
    signature: Option<String>,
}

impl Hook {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct HookRx {
    base: String,
    answer: StatusCode,
    got: Arc<Mutex<Vec<Hook>>>,
}

impl HookRx {
    fn all(&self) -> Vec<Hook> {
        self.got.lock().unwrap().clone()
    }
    fn for_call(&self, id: &str) -> Vec<Hook> {
        self.all()
            .into_iter()
            .filter(|h| h.json()["call_id"] == id)
            .collect()
    }
    fn url(&self) -> String {
        format!("{}/webhooks/bland/call?attempt=7", self.base)
    }
}

/// A webhook receiver recording raw bodies, answering `answer`.
async fn hook_receiver(answer: StatusCode) -> HookRx {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rx = HookRx {
        base: format!("http://{}", listener.local_addr().unwrap()),
        answer,
        got: Arc::default(),
    };
    async fn handle(State(rx): State<HookRx>, headers: HeaderMap, body: Bytes) -> StatusCode {
        rx.got.lock().unwrap().push(Hook {
            body: body.to_vec(),
            signature: headers
                .get(SIGNATURE_HEADER)
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

fn bland_cfg(f: impl FnOnce(&mut BlandFake)) -> CarrierConfig {
    let mut b = BlandFake::default();
    f(&mut b);
    CarrierConfig {
        bland: Some(b),
        outcomes: human_only(),
        ..CarrierConfig::default()
    }
}

/// POST /v1/calls with the default key.
async fn bland_create(c: &CarrierHandle, body: &Value) -> (StatusCode, Value) {
    let r = http()
        .post(format!("{}/v1/calls", c.base_url()))
        .header("Authorization", DEFAULT_BLAND_API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn bland_get(c: &CarrierHandle, path_and_query: &str) -> (StatusCode, Value) {
    let r = http()
        .get(format!("{}{path_and_query}", c.base_url()))
        .header("Authorization", format!("Bearer {DEFAULT_BLAND_API_KEY}"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn ids(list: &Value) -> Vec<String> {
    list["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_string())
        .collect()
}

fn client(c: &CarrierHandle) -> BlandClient {
    let mut cfg = BlandConfig::new(SecretString::from(DEFAULT_BLAND_API_KEY));
    cfg.api_base = c.bland_base_url();
    BlandClient::new(cfg).unwrap()
}

fn place_req(to: &str, webhook: &str) -> PlaceCall {
    PlaceCall {
        to: E164::parse(to, Region::US).unwrap(),
        from: E164::parse("+14155550199", Region::US).unwrap(),
        answer: AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task {
                prompt: "Ask about the quote.".into(),
            },
            voice: Some("maya".into()),
            first_sentence: Some("Hi, this is Ava.".into()),
            wait_for_greeting: true,
            record: true,
        }),
        machine: MachineHandling {
            detection: DetectionMode::Detect,
            on_machine: VoicemailAction::HangUp,
        },
        options: Default::default(),
        status_callback: webhook.to_string(),
        ring_timeout_s: 30,
        time_limit_s: 600,
        context: outdial_providers::CallContext {
            dispositions: vec!["SALE".into(), "NOT_INTERESTED".into(), "TRANSFER".into()],
            ..outdial_providers::CallContext::new(
                // The attempt id of the receiver's webhook URL.
                outdial_core::AttemptId(7),
                outdial_core::LeadId(3),
                outdial_core::CampaignId(1),
            )
        },
    }
}

fn body(to: &str, webhook: &str) -> Value {
    json!({
        "phone_number": to,
        "from": "+14155550199",
        "task": "Ask about the quote.",
        "webhook": webhook,
        "max_duration": 10,
        "answered_by_enabled": true,
        "record": true,
        "dispositions": ["SALE", "TRANSFER_SALE", "NOT_INTERESTED"],
        "metadata": {"outdial_attempt_id": 7, "lead": "L-1"},
        "request_data": {"name": "Ann"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_signed_webhook_that_parses() {
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(bland_cfg(|_| {})).await;
    let (status, created) = bland_create(&c, &body("4155550101", &rx.url())).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "success");
    assert_eq!(created["message"], "Call successfully queued.");
    assert!(created["batch_id"].is_null());
    let id = created["call_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);

    // Live: not completed, no status, the number normalised.
    let (_, live) = bland_get(&c, &format!("/v1/calls/{id}")).await;
    assert_eq!(live["to"], "+14155550101");
    assert_eq!(live["completed"], false);
    assert!(live["status"].is_null());
    assert!(live["call_length"].is_null());
    assert!(["new", "queued"].contains(&live["queue_status"].as_str().unwrap()));
    // No `step` while a webhook is pending: it would wait for it.
    clock.advance(chrono::Duration::seconds(8));
    let (_, talking) = bland_get(&c, &format!("/v1/calls/{id}")).await;
    assert_eq!(talking["queue_status"], "started", "{talking}");
    assert!(rx.all().is_empty());

    step(&c, &clock, chrono::Duration::seconds(60)).await;
    let hooks = rx.for_call(&id);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let hook = &hooks[0];
    let secret = DEFAULT_BLAND_WEBHOOK_SECRET;
    let sig = hook.signature.as_deref().unwrap();
    assert!(verify_signature(secret, &hook.body, sig));
    assert!(!verify_signature("another-secret", &hook.body, sig));
    // The same JSON re-serialised (serde's key order, other whitespace) does not verify.
    let reserialised = serde_json::to_vec_pretty(&hook.json()).unwrap();
    assert_ne!(reserialised, hook.body);
    assert!(!verify_signature(secret, &reserialised, sig));

    let BlandCallback::Call(result) = parse_call_webhook(&hook.body).unwrap() else {
        panic!("a post-call payload");
    };
    assert_eq!(result.call_id.as_str(), id);
    assert_eq!(result.status, CallStatus::Completed);
    assert_eq!(result.attempt_id, Some(7));
    assert_eq!(result.answered_by.as_deref(), Some("human"));
    let tag = result.disposition_tag.clone().unwrap();
    assert!(["SALE", "TRANSFER_SALE", "NOT_INTERESTED"].contains(&tag.as_str()));
    assert_eq!(result.transferred_to.is_some(), tag == "TRANSFER_SALE");
    assert!(result.recording_url.is_some());
    assert!(matches!(
        result.call_ended_by.as_deref(),
        Some("ASSISTANT" | "USER")
    ));

    // Units: call_length minutes, corrected_duration seconds as a string.
    let v = hook.json();
    let secs: u32 = v["corrected_duration"].as_str().unwrap().parse().unwrap();
    assert!((10..=20).contains(&secs), "{secs}");
    let minutes = v["call_length"].as_f64().unwrap();
    assert!((minutes * 60.0 - f64::from(secs)).abs() < 0.01, "{minutes}");
    assert_eq!(result.duration_s, Some(secs));
    assert!(v["price"].as_f64().unwrap() >= 0.015);
    // Echoes, in both places.
    let md = json!({"outdial_attempt_id": 7, "lead": "L-1"});
    assert_eq!(v["metadata"], md);
    assert_eq!(v["variables"]["metadata"], md);
    assert_eq!(v["request_data"], json!({"name": "Ann"}));
    assert_eq!(v["queue_status"], "complete");
    assert_eq!(v["completed"], true);
    assert!(v["transcripts"].as_array().unwrap().len() >= 2);

    // The ledger holds the Bland call, ended when the webhook says.
    let l = c.ledger();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].provider(), ProviderApi::Bland);
    assert_eq!(l[0].call_sid, id);
    assert_eq!(l[0].to, "+14155550101");
    assert_eq!(l[0].final_status.as_deref(), Some("completed"));
    assert_eq!(
        (l[0].ended_at.unwrap() - l[0].answered_at.unwrap()).num_seconds(),
        i64::from(secs)
    );
    assert_eq!(result.ended_at, l[0].ended_at);

    // The client reads the same call.
    let snap = client(&c)
        .fetch_call(&ProviderCallId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    assert_eq!(snap.duration_s, Some(secs));
    assert_eq!(snap.end_time, l[0].ended_at);
    assert_eq!(snap.to, "+14155550101");
    let stats = c.stats();
    assert_eq!((stats.calls_placed, stats.callbacks_delivered), (1, 1));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_validation_refuse_without_a_call() {
    let invalid = "+14155550103";
    let c = carrier(CarrierConfig {
        invalid: vec![invalid.into()],
        ..bland_cfg(|b| b.api_key = "k-123".into())
    })
    .await;
    let good = json!({"phone_number": "+14155550102", "task": "hi"});
    for auth in [None, Some("wrong"), Some("Bearer wrong")] {
        let mut req = http()
            .post(format!("{}/v1/calls", c.base_url()))
            .json(&good);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["status"], "error");
        assert_eq!(err["message"], "Invalid API key");
        assert!(!err["errors"].as_array().unwrap().is_empty());
    }
    let post = |b: Value, auth: &'static str| {
        let url = format!("{}/v1/calls", c.base_url());
        async move {
            let r = http()
                .post(url)
                .header("Authorization", auth)
                .json(&b)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    for (bad, field) in [
        (
            json!({"phone_number": "555-01", "task": "x"}),
            "phone_number",
        ),
        (json!({"task": "x"}), "phone_number"),
        (
            json!({"phone_number": "+14155550102"}),
            "task or pathway_id",
        ),
        (
            json!({"phone_number": "+14155550102", "task": "x", "webhook": "nope"}),
            "webhook",
        ),
        (
            json!({"phone_number": "+14155550102", "task": "x", "max_duration": 0}),
            "max_duration",
        ),
        (
            json!({"phone_number": "+14155550102", "task": "x", "metadata": [1]}),
            "metadata",
        ),
        (
            json!({"phone_number": "+14155550102", "task": "x", "from": "12"}),
            "from",
        ),
    ] {
        let (s, err) = post(bad.clone(), "Bearer k-123").await;
        assert_eq!(s, 400, "{bad}");
        assert_eq!(err["status"], "error");
        assert!(err.to_string().contains(field), "{bad}: {err}");
    }
    assert!(c.ledger().is_empty());
    assert_eq!(c.stats().creates_rejected, 7);
    assert_eq!(c.stats().requests_unauthorized, 3);

    // The client classifies the bad number as a bad number, the key as auth.
    let mut cfg = BlandConfig::new(SecretString::from("k-123"));
    cfg.api_base = c.bland_base_url();
    let bc = BlandClient::new(cfg).unwrap();
    let err = bc
        .place_call(&place_req(invalid, "https://x.test/h"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PlaceError::Rejected {
                reason: outdial_providers::RejectReason::BadNumber,
                http_status: 400,
                ..
            }
        ),
        "{err:?}"
    );
    let err = client(&c)
        .place_call(&place_req("+14155550104", "https://x.test/h"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PlaceError::Auth {
                http_status: 401,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(c.ledger().is_empty());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_caps_answer_429_and_place_nothing() {
    let stuck = ["+14155550111", "+14155550112", "+14155550113"];
    let rx = hook_receiver(StatusCode::OK).await;
    let hook = rx.url();
    let (c, clock) = stepped(CarrierConfig {
        never_ends: stuck.iter().map(|s| s.to_string()).collect(),
        ..bland_cfg(|b| {
            b.concurrency_cap = Some(2);
            b.hourly_cap = Some(3);
        })
    })
    .await;
    let bc = client(&c);
    for to in &stuck[..2] {
        bc.place_call(&place_req(to, &hook)).await.unwrap();
    }
    let err = bc
        .place_call(&place_req(stuck[2], &hook))
        .await
        .unwrap_err();
    let PlaceError::RateLimited { message, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("Concurrency"), "{message}");
    assert_eq!(c.ledger().len(), 2);

    // Ending one frees a slot; the hourly cap (3) then refuses the fourth.
    let first = c.ledger()[0].call_sid.clone();
    bc.end_call(&ProviderCallId::parse(&first).unwrap())
        .await
        .unwrap();
    bc.place_call(&place_req("+14155550114", &hook))
        .await
        .unwrap();
    step(&c, &clock, chrono::Duration::minutes(10)).await;
    let err = bc
        .place_call(&place_req("+14155550115", &hook))
        .await
        .unwrap_err();
    let PlaceError::RateLimited { message, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("Hourly"), "{message}");
    assert_eq!(c.ledger().len(), 3);
    assert_eq!(c.stats().creates_over_cap, 2);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_create_places_the_call_and_list_finds_it() {
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        faults: "ambiguous=1".parse().unwrap(),
        ..bland_cfg(|_| {})
    })
    .await;
    let bc = client(&c);
    let to = "+14155550121";
    let err = bc.place_call(&place_req(to, &rx.url())).await.unwrap_err();
    assert!(matches!(err, PlaceError::Ambiguous { .. }), "{err:?}");
    let l = c.ledger();
    assert_eq!(l.len(), 1);
    assert_eq!(c.stats().creates_ambiguous, 1);
    let found = bc
        .list_calls_to(&E164::parse(to, Region::US).unwrap(), clock.now())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].call_id.as_str(), l[0].call_sid);
    // And its webhook comes as for any call.
    step(&c, &clock, chrono::Duration::seconds(60)).await;
    assert_eq!(rx.for_call(&l[0].call_sid).len(), 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_by_index_orders_and_filters_by_date() {
    let (c, clock) = stepped(bland_cfg(|_| {})).await;
    let to = "+14155550131";
    let mut created = Vec::new();
    for i in 0..7 {
        let (s, v) = bland_create(
            &c,
            &json!({"phone_number": to, "task": format!("call {i}")}),
        )
        .await;
        assert_eq!(s, 200);
        created.push(v["call_id"].as_str().unwrap().to_string());
        step(&c, &clock, chrono::Duration::seconds(10)).await;
    }
    // Another number and an older day (a past call) must be filtered out.
    bland_create(&c, &json!({"phone_number": "+14155550132", "task": "x"})).await;
    let yesterday = outdial_testkit::t0() - chrono::Duration::days(1);
    let past = c
        .insert_past_calls(&[PastCall::new(
            ProviderApi::Bland,
            to,
            "+14155550199",
            yesterday,
            FinalStatus::Busy,
        )])
        .unwrap();

    let q = format!("/v1/calls?to_number={}", to.replace('+', "%2B"));
    let (s, all) = bland_get(&c, &q).await;
    assert_eq!(s, 200);
    assert_eq!(all["total_count"], 8);
    let mut newest_first: Vec<String> = created.iter().rev().cloned().collect();
    newest_first.push(past[0].clone());
    assert_eq!(ids(&all), newest_first, "default order is newest first");
    assert!(
        all["calls"][0].get("transcripts").is_none(),
        "no transcripts in the list"
    );

    // from inclusive, to exclusive; page ignored; limit bounds.
    let (_, p) = bland_get(&c, &format!("{q}&from=2&to=5")).await;
    assert_eq!(
        (p["count"].as_u64(), p["total_count"].as_u64()),
        (Some(3), Some(8))
    );
    assert_eq!(ids(&p), newest_first[2..5].to_vec());
    let (_, p1) = bland_get(&c, &format!("{q}&from=2&to=5&page=1")).await;
    let (_, p9) = bland_get(&c, &format!("{q}&from=2&to=5&page=9")).await;
    assert_eq!(ids(&p1), ids(&p));
    assert_eq!(ids(&p9), ids(&p));
    let (_, lim) = bland_get(&c, &format!("{q}&limit=2")).await;
    assert_eq!(ids(&lim), newest_first[..2].to_vec());

    // ascending=true pages walk oldest first.
    let mut walked = Vec::new();
    for start in (0..10).step_by(3) {
        let (_, page) = bland_get(
            &c,
            &format!("{q}&ascending=true&from={start}&to={}&limit=3", start + 3),
        )
        .await;
        walked.extend(ids(&page));
    }
    let mut oldest_first = newest_first.clone();
    oldest_first.reverse();
    assert_eq!(walked, oldest_first);

    // Date filters: UTC days of created_at, both inclusive.
    let today = outdial_testkit::t0().format("%Y-%m-%d").to_string();
    let yday = yesterday.format("%Y-%m-%d").to_string();
    let (_, d) = bland_get(&c, &format!("{q}&start_date={today}")).await;
    assert_eq!(d["total_count"], 7);
    let (_, d) = bland_get(&c, &format!("{q}&end_date={yday}")).await;
    assert_eq!(ids(&d), vec![past[0].clone()]);
    let (_, d) = bland_get(&c, &format!("{q}&start_date={yday}&end_date={today}")).await;
    assert_eq!(d["total_count"], 8);
    let (s, e) = bland_get(&c, &format!("{q}&start_date=05-01-2026")).await;
    assert_eq!(s, 400);
    assert!(e.to_string().contains("start_date"), "{e}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_never_ending_call_completes_it_with_a_webhook() {
    let rx = hook_receiver(StatusCode::OK).await;
    let stuck = "+14155550141";
    let (c, clock) = stepped(CarrierConfig {
        never_ends: vec![stuck.into()],
        ..bland_cfg(|_| {})
    })
    .await;
    let bc = client(&c);
    let placed = bc.place_call(&place_req(stuck, &rx.url())).await.unwrap();
    let id = placed.call_id.clone();
    step(&c, &clock, chrono::Duration::hours(2)).await;
    assert_eq!(
        bc.fetch_call(&id).await.unwrap().status,
        CallStatus::InProgress
    );
    assert!(rx.all().is_empty());

    let snap = bc.end_call(&id).await.unwrap();
    assert_eq!(snap.status, CallStatus::Completed);
    assert!(snap.duration_s.is_some_and(|d| d >= 7000), "{snap:?}");
    let l = &c.ledger()[0];
    assert_eq!(l.final_status.as_deref(), Some("completed"));
    assert_eq!(l.ended_at, Some(clock.now()));
    step(&c, &clock, chrono::Duration::seconds(1)).await;
    let hooks = rx.for_call(id.as_str());
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].json()["status"], "completed");

    // Stopping again, or an unknown call: Bland's "SID not found" (404).
    for target in [id.as_str(), "9d404c1b-0000-4000-8000-000000000000"] {
        let r = http()
            .post(format!("{}/v1/calls/{target}/stop", c.base_url()))
            .header("Authorization", DEFAULT_BLAND_API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["message"], "SID not found for the given c_id.");
    }
    let unknown = ProviderCallId::parse("9d404c1b-0000-4000-8000-000000000000").unwrap();
    assert_eq!(
        bc.end_call(&unknown).await.unwrap_err(),
        FetchError::NotFound
    );
    assert_eq!(c.stats().calls_ended_by_request, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_webhook_comes_30_to_60_seconds_later() {
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(bland_cfg(|b| b.second_webhook = 1.0)).await;
    let (_, v) = bland_create(&c, &body("+14155550151", &rx.url())).await;
    let id = v["call_id"].as_str().unwrap().to_string();
    // The call has ended by 40 s (answered within 10 s, 10–20 s of talk).
    clock.advance(chrono::Duration::seconds(40));
    let first_at = c.ledger()[0].ended_at.unwrap();
    // Just before the earliest second webhook: the first only.
    clock.set(first_at + chrono::Duration::seconds(29));
    eventually("the first webhook", || rx.for_call(&id).len() == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.for_call(&id).len(), 1, "the second is not due yet");
    // By the latest: both, and nothing pending.
    step(&c, &clock, chrono::Duration::seconds(32)).await;
    let hooks = rx.for_call(&id);
    let (a, b) = (hooks[0].json(), hooks[1].json());
    assert!(a.get("corrected_transcript").is_none());
    assert!(!b["corrected_transcript"].as_str().unwrap().is_empty());
    assert_eq!(a["status"], b["status"]);
    assert_eq!(a["corrected_duration"], b["corrected_duration"]);
    for h in &hooks {
        assert!(verify_signature(
            DEFAULT_BLAND_WEBHOOK_SECRET,
            &h.body,
            h.signature.as_deref().unwrap()
        ));
    }
    assert_eq!(c.stats().second_webhooks, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_faults_and_retries() {
    // duplicate: the same body twice.
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        faults: "duplicate=1".parse().unwrap(),
        ..bland_cfg(|_| {})
    })
    .await;
    let (_, v) = bland_create(&c, &body("+14155550161", &rx.url())).await;
    let id = v["call_id"].as_str().unwrap().to_string();
    step(&c, &clock, chrono::Duration::seconds(60)).await;
    let hooks = rx.for_call(&id);
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].body, hooks[1].body);
    assert_eq!(c.stats().callbacks_duplicated, 1);
    c.shutdown().await;

    // lose: nothing, though the call ended.
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        faults: "lose=1".parse().unwrap(),
        ..bland_cfg(|_| {})
    })
    .await;
    bland_create(&c, &body("+14155550162", &rx.url())).await;
    step(&c, &clock, chrono::Duration::seconds(60)).await;
    assert!(rx.all().is_empty());
    assert_eq!(c.ledger()[0].final_status.as_deref(), Some("completed"));
    assert_eq!(c.stats().callbacks_lost, 1);
    c.shutdown().await;

    // reorder with a second webhook: the second arrives first, keys in another order.
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(CarrierConfig {
        faults: "reorder=1".parse().unwrap(),
        ..bland_cfg(|b| b.second_webhook = 1.0)
    })
    .await;
    let (_, v) = bland_create(&c, &body("+14155550163", &rx.url())).await;
    let id = v["call_id"].as_str().unwrap().to_string();
    step(&c, &clock, chrono::Duration::seconds(200)).await;
    let hooks = rx.for_call(&id);
    assert_eq!(hooks.len(), 2);
    assert!(
        hooks[0].json().get("corrected_transcript").is_some(),
        "second first"
    );
    assert!(!String::from_utf8_lossy(&hooks[1].body).starts_with("{\"call_id\""));
    for h in &hooks {
        assert!(verify_signature(
            DEFAULT_BLAND_WEBHOOK_SECRET,
            &h.body,
            h.signature.as_deref().unwrap()
        ));
        assert!(matches!(
            parse_call_webhook(&h.body),
            Ok(BlandCallback::Call(_))
        ));
    }
    c.shutdown().await;

    // A failing receiver gets one retry (non-2xx, here a 4xx).
    let rx = hook_receiver(StatusCode::BAD_REQUEST).await;
    let (c, clock) = stepped(bland_cfg(|_| {})).await;
    bland_create(&c, &body("+14155550164", &rx.url())).await;
    // The retry waits a simulated second after the refusal: advance, then step past it.
    clock.advance(chrono::Duration::seconds(60));
    eventually("the first try", || rx.all().len() == 1).await;
    step(&c, &clock, chrono::Duration::seconds(2)).await;
    assert_eq!(rx.all().len(), 2);
    let s = c.stats();
    assert_eq!(
        (s.callbacks_sent, s.callbacks_retried, s.callbacks_failed),
        (2, 1, 1)
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_calls_are_listed_not_in_the_ledger() {
    let rx = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(bland_cfg(|_| {})).await;
    let to = "+14155550171";
    let at = outdial_testkit::t0() - chrono::Duration::days(3);
    let mut answered = PastCall::new(
        ProviderApi::Bland,
        to,
        "+14155550199",
        at,
        FinalStatus::Completed,
    );
    answered.answered_by = Some(Answerer::Machine);
    answered.length_s = 42;
    answered.disposition_tag = Some("VOICEMAIL".into());
    answered.metadata.insert("legacy_id".into(), json!("old-9"));
    let twilio = PastCall::new(
        ProviderApi::Twilio,
        to,
        "+14155550199",
        at,
        FinalStatus::NoAnswer,
    );
    let ids_in = c.insert_past_calls(&[answered, twilio]).unwrap();
    assert!(ids_in[1].starts_with("CA") && ids_in[1].len() == 34);
    // A live Bland call to the same number, which is in the ledger.
    let (_, v) = bland_create(&c, &body(to, &rx.url())).await;
    let live = v["call_id"].as_str().unwrap().to_string();
    step(&c, &clock, chrono::Duration::seconds(60)).await;

    let l = c.ledger();
    assert_eq!(
        l.iter().map(|e| e.call_sid.clone()).collect::<Vec<_>>(),
        vec![live.clone()]
    );
    assert_eq!(c.stats().calls_placed, 1);
    assert_eq!(rx.all().len(), 1, "no webhooks for past calls");

    let (s, one) = bland_get(&c, &format!("/v1/calls/{}", ids_in[0])).await;
    assert_eq!(s, 200);
    assert_eq!(one["status"], "completed");
    assert_eq!(one["answered_by"], "voicemail");
    assert_eq!(one["corrected_duration"], "42");
    assert_eq!(one["disposition_tag"], "VOICEMAIL");
    assert_eq!(one["metadata"]["legacy_id"], "old-9");
    let (_, list) = bland_get(&c, "/v1/calls").await;
    assert_eq!(ids(&list), vec![live.clone(), ids_in[0].clone()]);
    // The Twilio one is in the Twilio list only.
    let account = CarrierConfig::default().account_sid;
    let (_, tl) = get_json(&c, &format!("/2010-04-01/Accounts/{account}/Calls.json")).await;
    let sids: Vec<&str> = tl["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, vec![ids_in[1].as_str()]);
    assert_eq!(tl["calls"][0]["status"], "no-answer");
    let (s, _) = bland_get(&c, &format!("/v1/calls/{}", ids_in[1])).await;
    assert_eq!(s, 404);

    // The reconciler's view of the number: only calls outdial created (each carries its
    // attempt in metadata); the old system's call, listed by the API above, is never
    // offered as one of ours.
    let snaps = client(&c)
        .list_calls_to(
            &E164::parse(to, Region::US).unwrap(),
            at - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert!(snaps.iter().all(|s| s.attempt.is_some()), "{snaps:?}");
    assert!(snaps.iter().all(|s| s.call_id.as_str() != ids_in[0]));
    // Fetched by id, the old call reads as it was made.
    let old = client(&c)
        .fetch_call(&outdial_core::ProviderCallId::parse(&ids_in[0]).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (old.status, old.duration_s, old.attempt),
        (CallStatus::Completed, Some(42), None)
    );
    assert_eq!(old.created_at, Some(at));

    let bad = PastCall::new(
        ProviderApi::Bland,
        "555",
        "+14155550199",
        at,
        FinalStatus::Busy,
    );
    let e = c.insert_past_calls(&[bad]).unwrap_err();
    assert_eq!(e.index, 0);
    assert!(e.reason.contains("to"), "{e}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_carrier_serves_both_apis_into_one_ledger() {
    let rx = receiver(StatusCode::OK).await;
    let hooks = hook_receiver(StatusCode::OK).await;
    let (c, clock) = stepped(bland_cfg(|_| {})).await;
    let (s, tw) = create(&c, &basic_form("+14155550181", &format!("{}/cb", rx.base))).await;
    assert_eq!(s, 201);
    let (_, bl) = bland_create(&c, &body("+14155550182", &hooks.url())).await;
    step(&c, &clock, chrono::Duration::seconds(60)).await;
    let l = c.ledger();
    assert_eq!(l.len(), 2);
    assert_eq!(l[0].provider(), ProviderApi::Twilio);
    assert_eq!(l[0].call_sid, tw["sid"].as_str().unwrap());
    assert_eq!(l[1].provider(), ProviderApi::Bland);
    assert_eq!(l[1].call_sid, bl["call_id"].as_str().unwrap());
    assert!(all_ended(&c));
    // Each API sees only its own calls.
    let (_, list) = bland_get(&c, "/v1/calls").await;
    assert_eq!(ids(&list), vec![l[1].call_sid.clone()]);
    let (s, _) = fetch(&c, &l[1].call_sid).await;
    assert_eq!(s, 404);
    let (s, _) = bland_get(&c, &format!("/v1/calls/{}", l[0].call_sid)).await;
    assert_eq!(s, 404);

    // Active calls need the org id header.
    let (s, _) = bland_get(&c, "/v1/calls/active").await;
    assert_eq!(s, 400);
    let (_, live) = bland_create(&c, &json!({"phone_number": "+14155550183", "task": "t"})).await;
    let r = http()
        .get(format!("{}/v1/calls/active", c.base_url()))
        .header("Authorization", DEFAULT_BLAND_API_KEY)
        .header("x-bland-org-id", outdial_carrier::DEFAULT_BLAND_ORG_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let active: Value = r.json().await.unwrap();
    let data = active["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["call_id"], live["call_id"]);
    assert_eq!(data[0]["status"], "QUEUED");
    assert!(active["errors"].is_null());
    c.shutdown().await;
}
