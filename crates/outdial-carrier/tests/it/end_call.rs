//! `POST Calls/{Sid}.json` with `Status=completed|canceled`: ending live calls, and
//! `TwilioClient::end_call` against the running carrier.

use super::*;
use outdial_core::{AnswerBehaviour, CallStatus, ProviderCallId, Region, E164};
use outdial_providers::twilio::client::{TwilioClient, TwilioConfig};
use outdial_providers::{PlaceCall, Provider};
use secrecy::SecretString;

/// A carrier on a clock `speed` times faster than real time.
async fn carrier_at(config: CarrierConfig, speed: f64) -> CarrierHandle {
    let t0 = DateTime::parse_from_rfc3339("2026-01-05T15:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let clock = Arc::new(ScaledClock::starting_now(t0, speed).unwrap());
    start(config, clock, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("carrier starts")
}

/// POSTs `Status=status` to the call's resource with the default credentials.
async fn update(c: &CarrierHandle, sid: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let cfg = CarrierConfig::default();
    let resp = http()
        .post(format!(
            "{}/2010-04-01/Accounts/{}/Calls/{sid}.json",
            c.base_url(),
            cfg.account_sid
        ))
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn end(c: &CarrierHandle, sid: &str, status: &str) -> (StatusCode, Value) {
    update(c, sid, &[("Status", status)]).await
}

async fn status_of(c: &CarrierHandle, sid: &str) -> String {
    fetch(c, sid).await.1["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Callbacks received for `sid`, in arrival order.
fn callbacks_for(rx: &Rx, sid: &str) -> Vec<Received> {
    rx.all()
        .into_iter()
        .filter(|r| r.get("CallSid") == Some(sid))
        .collect()
}

fn no_answer_only() -> OutcomeMix {
    OutcomeMix {
        answered_human: 0,
        answered_machine: 0,
        busy: 0,
        no_answer: 1,
        failed: 0,
        ..OutcomeMix::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_never_ending_call_completes_it() {
    let rx = receiver(StatusCode::OK).await;
    let stuck = "+15551230101";
    let (c, clock) = stepped(CarrierConfig {
        never_ends: vec![stuck.into()],
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let mut form = basic_form(stuck, &cb);
    form.push(("MachineDetection", "Enable"));
    let (status, body) = create(&c, &form).await;
    assert_eq!(status, 201);
    let sid = body["sid"].as_str().unwrap().to_string();
    step(&c, &clock, chrono::Duration::seconds(60)).await;
    assert_eq!(
        callbacks_for(&rx, &sid).len(),
        3,
        "initiated, ringing, answered"
    );
    // Let it talk for five simulated minutes.
    step(&c, &clock, chrono::Duration::minutes(5)).await;
    assert_eq!(status_of(&c, &sid).await, "in-progress");

    let (status, call) = end(&c, &sid, "completed").await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["sid"], sid.as_str());
    assert_eq!(call["status"], "completed");
    let end_time = DateTime::parse_from_rfc2822(call["end_time"].as_str().unwrap()).unwrap();
    let duration: i64 = call["duration"].as_str().unwrap().parse().unwrap();
    assert!(duration >= 250, "{duration}");
    assert_eq!(call["answered_by"], "human");

    // The ledger records the end like any other.
    let l = &c.ledger()[0];
    assert_eq!(l.final_status.as_deref(), Some("completed"));
    assert_eq!(l.ended_at.unwrap().timestamp(), end_time.timestamp());
    assert_eq!(
        (l.ended_at.unwrap() - l.answered_at.unwrap()).num_seconds(),
        duration
    );

    // The final callback, as the carrier sends it for any end.
    eventually("final callback", || callbacks_for(&rx, &sid).len() == 4).await;
    let got = callbacks_for(&rx, &sid);
    let last = &got[3];
    assert_eq!(last.status(), "completed");
    assert_eq!(last.seq(), 3);
    assert_eq!(last.get("SipResponseCode"), Some("200"));
    assert_eq!(
        last.get("CallDuration"),
        Some(duration.to_string().as_str())
    );
    assert_eq!(last.get("AnsweredBy"), Some("human"));
    let expected = compute_signature(&CarrierConfig::default().auth_token, &cb, &last.params);
    assert_eq!(last.signature.as_deref(), Some(expected.as_str()));

    // Ending it again, a simulated second later, changes nothing (200, the same resource).
    step(&c, &clock, chrono::Duration::seconds(1)).await;
    for again in ["completed", "canceled"] {
        let (status, call2) = end(&c, &sid, again).await;
        assert_eq!(status, 200);
        assert_eq!(call2["status"], "completed");
        assert_eq!(call2["end_time"], call["end_time"]);
        assert_eq!(call2["duration"], call["duration"]);
    }
    let (_, fetched) = fetch(&c, &sid).await;
    assert_eq!(fetched["status"], "completed");
    assert_eq!(fetched["end_time"], call["end_time"]);
    let stats = c.stats();
    assert_eq!(stats.calls_ended_by_request, 1);
    assert_eq!(stats.calls_in_flight, 0);
    assert_eq!(stats.calls_by_final_status.get("completed"), Some(&1));
    assert_eq!(callbacks_for(&rx, &sid).len(), 4, "no further callbacks");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_call_in_progress_has_no_effect() {
    let rx = receiver(StatusCode::OK).await;
    let stuck = "+15551230102";
    let c = carrier(CarrierConfig {
        never_ends: vec![stuck.into()],
        ..CarrierConfig::default()
    })
    .await;
    let (_, body) = create(&c, &basic_form(stuck, &format!("{}/cb", rx.base))).await;
    let sid = body["sid"].as_str().unwrap().to_string();
    eventually("answered", || callbacks_for(&rx, &sid).len() == 3).await;
    let (status, call) = end(&c, &sid, "canceled").await;
    assert_eq!(status, 200);
    assert_eq!(call["status"], "in-progress");
    assert!(call["end_time"].is_null());
    assert_eq!(c.stats().calls_ended_by_request, 0);
    assert_eq!(c.stats().calls_in_flight, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_ringing_call_cancels_it() {
    let rx = receiver(StatusCode::OK).await;
    // 10× real time: ringing after ≤ 3.5 s simulated (0.35 s real), no answer for 600 s.
    let c = carrier_at(
        CarrierConfig {
            outcomes: no_answer_only(),
            ..CarrierConfig::default()
        },
        10.0,
    )
    .await;
    let cb = format!("{}/cb", rx.base);
    let mut form = basic_form("+15551230103", &cb);
    form.push(("Timeout", "600"));
    let (_, body) = create(&c, &form).await;
    let sid = body["sid"].as_str().unwrap().to_string();
    eventually("ringing", || {
        callbacks_for(&rx, &sid)
            .iter()
            .any(|r| r.status() == "ringing")
    })
    .await;

    // Either value cancels a call not yet answered.
    let (status, call) = end(&c, &sid, "completed").await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["status"], "canceled");
    assert!(call["duration"].is_null());
    assert!(call["answered_by"].is_null());
    assert!(!call["end_time"].is_null());

    eventually("final callback", || callbacks_for(&rx, &sid).len() == 3).await;
    let got = callbacks_for(&rx, &sid);
    let statuses: Vec<&str> = got.iter().map(Received::status).collect();
    assert_eq!(statuses, vec!["initiated", "ringing", "canceled"]);
    assert_eq!(got[2].seq(), 2);
    assert_eq!(got[2].get("SipResponseCode"), Some("487"));
    assert_eq!(got[2].get("CallDuration"), Some("0"));

    let l = &c.ledger()[0];
    assert_eq!(l.final_status.as_deref(), Some("canceled"));
    assert!(l.answered_at.is_none() && l.ended_at.is_some());
    assert_eq!(c.stats().calls_by_final_status.get("canceled"), Some(&1));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_queued_call_fires_no_callback() {
    let rx = receiver(StatusCode::OK).await;
    // One call per 100 simulated seconds: the second call waits 100 s in the CPS queue.
    let (c, clock) = stepped(CarrierConfig {
        cps: Some(0.01),
        outcomes: human_only(),
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let (_, first) = create(&c, &basic_form("+15551230104", &cb)).await;
    let (_, second) = create(&c, &basic_form("+15551230105", &cb)).await;
    let queued = second["sid"].as_str().unwrap().to_string();
    let queue_ms: u64 = second["queue_time"].as_str().unwrap().parse().unwrap();
    assert!((90_000..=100_000).contains(&queue_ms), "{queue_ms}");

    let (status, call) = end(&c, &queued, "canceled").await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["status"], "canceled");
    assert!(call["start_time"].is_null());

    // The first call's callbacks arrive; the canceled one never gets any.
    // Well past the time the canceled call would have left the queue.
    let first_sid = first["sid"].as_str().unwrap().to_string();
    step(&c, &clock, chrono::Duration::seconds(300)).await;
    assert!(callbacks_for(&rx, &first_sid).len() >= 2, "{:?}", rx.all());
    assert!(callbacks_for(&rx, &queued).is_empty(), "{:?}", rx.all());
    let l = c
        .ledger()
        .into_iter()
        .find(|e| e.call_sid == queued)
        .unwrap();
    assert_eq!(l.final_status.as_deref(), Some("canceled"));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_an_answered_call_early_replaces_its_planned_end() {
    let rx = receiver(StatusCode::OK).await;
    // Answered after 2–5 s simulated, planned to talk 100–120 s.
    let (c, clock) = stepped(CarrierConfig {
        outcomes: OutcomeMix {
            answered_duration_s: 100..=120,
            ..human_only()
        },
        ..CarrierConfig::default()
    })
    .await;
    let cb = format!("{}/cb", rx.base);
    let (_, body) = create(&c, &basic_form("+15551230106", &cb)).await;
    let sid = body["sid"].as_str().unwrap().to_string();
    // The call's timeline runs on (its planned end is due), so wait for the answer only.
    clock.advance(chrono::Duration::seconds(10));
    eventually("answered", || callbacks_for(&rx, &sid).len() == 3).await;
    let (status, call) = end(&c, &sid, "completed").await;
    assert_eq!(status, 200);
    assert_eq!(call["status"], "completed");
    let duration: u64 = call["duration"].as_str().unwrap().parse().unwrap();
    assert!(duration < 100, "{duration}");

    // Past the planned end: still exactly one final callback, the early one.
    step(&c, &clock, chrono::Duration::seconds(300)).await;
    let got = callbacks_for(&rx, &sid);
    let finals: Vec<&Received> = got.iter().filter(|r| r.status() == "completed").collect();
    assert_eq!(finals.len(), 1, "{got:#?}");
    assert_eq!(
        finals[0].get("CallDuration"),
        Some(duration.to_string().as_str())
    );
    let seqs: Vec<u64> = got.iter().map(Received::seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_requests_are_checked() {
    let c = carrier(CarrierConfig::default()).await;
    let cfg = CarrierConfig::default();
    let (_, body) = create(
        &c,
        &[
            ("To", "+15551230107"),
            ("From", FROM),
            ("Url", "https://x.test/t"),
        ],
    )
    .await;
    let sid = body["sid"].as_str().unwrap().to_string();

    let unknown = "CA0123456789abcdef0123456789abcdef";
    let (status, err) = end(&c, unknown, "completed").await;
    assert_eq!(status, 404);
    assert_eq!(err["code"], 20404);
    assert_eq!(err["status"], 404);

    for form in [
        vec![("Status", "ringing")],
        vec![],
        vec![("Url", "https://x.test/other")],
    ] {
        let (status, err) = update(&c, &sid, &form).await;
        assert_eq!(status, 400, "{form:?}");
        assert_eq!(err["code"], 20001, "{form:?}");
    }

    // Same Basic auth as every route.
    let resp = http()
        .post(format!(
            "{}/2010-04-01/Accounts/{}/Calls/{sid}.json",
            c.base_url(),
            cfg.account_sid
        ))
        .basic_auth(&cfg.account_sid, Some("wrong"))
        .form(&[("Status", "completed")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], 20003);
    assert_eq!(c.stats().calls_ended_by_request, 0);
    c.shutdown().await;
}

fn twilio_client(c: &CarrierHandle) -> TwilioClient {
    let cfg = CarrierConfig::default();
    let mut tc = TwilioConfig::new(cfg.account_sid, SecretString::from(cfg.auth_token));
    tc.api_base = c.base_url();
    TwilioClient::new(tc).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_client_ends_a_never_ending_call() {
    let rx = receiver(StatusCode::OK).await;
    let stuck = "+14155550123";
    let (c, clock) = stepped(CarrierConfig {
        never_ends: vec![stuck.into()],
        ..CarrierConfig::default()
    })
    .await;
    let client = twilio_client(&c);
    let placed = client
        .place_call(&PlaceCall {
            to: E164::parse(stuck, Region::US).unwrap(),
            from: E164::parse("+14155550199", Region::US).unwrap(),
            answer: AnswerBehaviour::flow_url("https://outdial.test/twiml"),
            status_callback: format!("{}/webhooks/twilio/status?attempt=1", rx.base),
            ring_timeout_s: 30,
            time_limit_s: 600,
            machine: Default::default(),
            options: Default::default(),
            context: outdial_providers::CallContext::new(
                outdial_core::AttemptId(1),
                outdial_core::LeadId(1),
                outdial_core::CampaignId(1),
            ),
        })
        .await
        .unwrap();
    let id = placed.call_id.clone();
    // Well past ring time + time limit (30 s + 600 s): it is still in progress.
    step(&c, &clock, chrono::Duration::seconds(700)).await;
    assert_eq!(
        client.fetch_call(&id).await.unwrap().status,
        CallStatus::InProgress
    );

    let snap = client.end_call(&id).await.unwrap();
    assert_eq!(snap.call_id, id);
    assert_eq!(snap.status, CallStatus::Completed);
    assert!(snap.end_time.is_some());
    assert!(snap.duration_s.is_some_and(|d| d >= 600), "{snap:?}");
    let event = snap.to_event(Utc::now());
    assert_eq!(event.status, CallStatus::Completed);
    assert_eq!(event.at, snap.end_time.unwrap());

    let l = &c.ledger()[0];
    assert_eq!(l.final_status.as_deref(), Some("completed"));
    assert_eq!(l.ended_at, snap.end_time);
    eventually("final callback", || {
        callbacks_for(&rx, id.as_str())
            .iter()
            .any(|r| r.status() == "completed")
    })
    .await;

    // Again: already final, returned as it is; nothing more is ended.
    let again = client.end_call(&id).await.unwrap();
    assert_eq!(again.status, CallStatus::Completed);
    assert_eq!(again.end_time, snap.end_time);
    assert_eq!(c.stats().calls_ended_by_request, 1);

    // An unknown call is NotFound.
    let unknown = ProviderCallId::parse("CA0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!(
        client.end_call(&unknown).await.unwrap_err(),
        outdial_providers::FetchError::NotFound
    );
    c.shutdown().await;
}
