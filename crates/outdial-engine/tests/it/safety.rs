//! Kill switches, the safety monitor, alerts, durable jobs and the end-of-call bound.

use super::*;
use outdial_engine::{JobError, JobHandler};
use outdial_store::{Job, JobState, KillScope, NewJob};
use std::sync::atomic::{AtomicU32, Ordering};

const CHANNELS: [&str; 2] = ["alert.email", "alert.chat"];

fn with_channels(c: &mut EngineConfig) {
    c.alert_channels = CHANNELS.iter().map(|s| s.to_string()).collect();
}

async fn requests(r: &Rig) -> usize {
    r.provider.calls.lock().unwrap().requests.len()
}

#[tokio::test]
async fn three_failed_creates_in_a_row_trip_the_switch_and_alert_until_an_operator_resumes() {
    let r = rig_with(
        &[
            "+12125550101",
            "+12125550102",
            "+12125550103",
            "+12125550104",
            "+12125550105",
            "+12125550106",
        ],
        |c| {
            with_channels(c);
            c.claim_batch = 4;
        },
    )
    .await;
    // One success, then three ambiguous creates (HTTP 5xx / timeouts) in a row.
    r.provider.script(vec![
        Script::Accept,
        Script::Ambiguous,
        Script::Ambiguous,
        Script::Ambiguous,
    ]);
    r.tick(t0()).await.unwrap();
    assert_eq!(requests(&r).await, 4);
    let rep = r.engine.monitor(t0()).await.unwrap();
    assert!(r.engine.kill_switches().await.unwrap().global_tripped());
    assert_eq!(rep.tripped.len(), 2, "global and the campaign: {rep:?}");
    // An alert per trip, each with a delivery job per channel.
    let alerts = r.store.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts[0].body.contains("What to do"), "{}", alerts[0].body);
    assert!(alerts[0].body.contains("consecutive placement failures"));
    let counts = r.store.job_counts().await.unwrap();
    assert_eq!(counts.get("pending"), Some(&4), "{counts:?}");
    // Tripped: nothing is dialed, however long we wait; the monitor never resumes.
    let n = requests(&r).await;
    for h in 1..4 {
        let t = t0() + Duration::minutes(20 * h);
        r.tick(t).await.unwrap();
        r.engine.monitor(t).await.unwrap();
    }
    assert_eq!(
        requests(&r).await,
        n,
        "dialed while the kill switch was tripped"
    );
    assert!(r.engine.kill_switches().await.unwrap().global_tripped());
    // The operator resumes both; the same three failures do not trip it again.
    let t = t0() + Duration::hours(2);
    r.clock.set(t);
    assert!(r
        .engine
        .resume_kill_switch(KillScope::Global, "provider fixed", "operator:test")
        .await
        .unwrap());
    let campaign = r.store.campaigns().await.unwrap()[0].id;
    r.engine
        .resume_kill_switch(KillScope::Campaign(campaign), "fixed", "operator:test")
        .await
        .unwrap();
    let rep = r.engine.monitor(t).await.unwrap();
    assert!(rep.tripped.is_empty(), "{rep:?}");
    r.tick(t).await.unwrap();
    assert!(requests(&r).await > n, "resumed but nothing dialed");
}

#[tokio::test]
async fn a_campaign_switch_stops_only_that_campaign() {
    let r = rig(&["+12125550101"]).await;
    let other = r
        .store
        .create_campaign(
            "other",
            &r.store.campaigns().await.unwrap()[0].settings,
            t0(),
        )
        .await
        .unwrap();
    r.store
        .insert_leads(
            other.id,
            &[(
                NewLead {
                    phone: E164::parse("+12125550199", Region::US).unwrap(),
                    contact: LeadContact {
                        state: Some("NY".into()),
                        ..Default::default()
                    },
                },
                LeadPlacement::Active(t0()),
            )],
            t0(),
        )
        .await
        .unwrap();
    let first = r.store.campaigns().await.unwrap()[0].id;
    assert_ne!(first, other.id);
    r.clock.set(t0());
    assert!(r
        .engine
        .trip_kill_switch(
            KillScope::Campaign(first),
            "list under review",
            "operator:test",
            &Default::default()
        )
        .await
        .unwrap());
    // Tripping again changes nothing and raises no second alert.
    assert!(!r
        .engine
        .trip_kill_switch(
            KillScope::Campaign(first),
            "again",
            "operator:test",
            &Default::default()
        )
        .await
        .unwrap());
    r.tick(t0()).await.unwrap();
    let reqs = r.provider.calls.lock().unwrap().requests.clone();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].to.as_str(), "+12125550199");
    assert_eq!(r.store.alerts(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_call_that_outlives_its_bound_is_ended_through_the_provider() {
    let r = rig(&["+12125550101"]).await;
    r.tick(t0()).await.unwrap();
    let lead = lead_of(&r, "+12125550101").await;
    let campaign = r.store.campaign(lead.campaign_id).await.unwrap();
    let bound = r.engine.call_bound(&campaign);
    // The provider says in progress, and no webhook ever comes.
    let sid = r.provider.placed()[0].0.clone();
    r.provider.set_status(&sid, CallStatus::InProgress);
    let rep = r.reconcile(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(rep.ended, 0, "ended before its bound: {rep:?}");
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert_eq!(a.state, AttemptState::InProgress);
    let rep = r
        .reconcile(t0() + bound + Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(rep.ended, 1, "{rep:?}");
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert!(a.state.is_final(), "{a:?}");
    assert_eq!(a.call_status, Some(CallStatus::Completed));
    assert!(a.concluded_at.is_some());
    let events = r.store.lead_events(lead.id).await.unwrap();
    assert!(
        events.iter().any(|e| e.kind == "call.end_requested"),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_unreachable_provider_keeps_attempts_blocked_and_alerts_once_an_hour() {
    let r = rig_with(&["+12125550101"], with_channels).await;
    r.provider.script(vec![Script::Ambiguous]);
    r.tick(t0()).await.unwrap();
    // The provider goes away: fetch/list fail.
    r.provider.calls.lock().unwrap().unreachable = true;
    for m in [5, 10, 15] {
        let rep = r.reconcile(t0() + Duration::minutes(m)).await.unwrap();
        assert_eq!(rep.errors, 1, "{rep:?}");
    }
    let lead = lead_of(&r, "+12125550101").await;
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert_eq!(a.state, AttemptState::Unknown, "must stay blocked");
    let alerts = r.store.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1, "deduplicated within the hour: {alerts:?}");
    assert_eq!(alerts[0].kind, "provider.unreachable");
    assert!(alerts[0].body.contains("attempts in flight"));
    assert_eq!(r.store.job_counts().await.unwrap().get("pending"), Some(&2));
}

#[tokio::test]
async fn webhook_silence_while_calls_go_unheard_trips_the_global_switch() {
    let r = rig_with(&["+12125550101", "+12125550102", "+12125550103"], |c| {
        c.safety.webhook_silence_s = 300
    })
    .await;
    r.tick(t0()).await.unwrap();
    assert_eq!(r.provider.placed().len(), 3);
    // Not yet: the engine has not listened for 300 s.
    let rep = r
        .engine
        .monitor(t0() + Duration::seconds(200))
        .await
        .unwrap();
    assert!(rep.tripped.is_empty(), "{rep:?}");
    let rep = r
        .engine
        .monitor(t0() + Duration::seconds(400))
        .await
        .unwrap();
    assert_eq!(rep.tripped.len(), 1, "{rep:?}");
    assert!(rep.tripped[0].1.contains("no status callback"), "{rep:?}");
}

#[tokio::test]
async fn webhooks_arriving_keep_the_silence_rule_quiet() {
    let r = rig_with(&["+12125550101", "+12125550102", "+12125550103"], |c| {
        c.safety.webhook_silence_s = 300
    })
    .await;
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    let (e, mut raw) = ev(&sid, CallStatus::Ringing, 1, t0() + Duration::seconds(350));
    raw.source = outdial_providers::twilio::webhook::WEBHOOK_SOURCE.into();
    r.clock.set(t0() + Duration::seconds(350));
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    let rep = r
        .engine
        .monitor(t0() + Duration::seconds(400))
        .await
        .unwrap();
    assert!(rep.tripped.is_empty(), "{rep:?}");
}

#[tokio::test]
async fn an_attempt_a_cap_forbade_is_an_anomaly_that_trips_its_campaign() {
    let r = rig(&["+12125550101"]).await;
    // Two calls to the lead, a busy one then another, allowed by the default policy.
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    let (e, raw) = ev(&sid, CallStatus::Busy, 1, t0() + Duration::seconds(20));
    r.clock.set(t0() + Duration::seconds(20));
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    r.tick(t0() + Duration::minutes(3)).await.unwrap();
    assert_eq!(r.provider.placed().len(), 2);
    let rep = r.engine.monitor(t0() + Duration::minutes(4)).await.unwrap();
    assert!(rep.tripped.is_empty(), "{rep:?}");
    assert!(rep.scanned >= 2);
    // Someone edits the data: the campaign now allows one call per day. The scan of a fresh
    // engine (a restart) flags the second attempt.
    let mut c = r.store.campaigns().await.unwrap().remove(0);
    c.settings.redial.max_per_local_day = 1;
    r.store
        .update_campaign(c.id, &c.settings, true, t0())
        .await
        .unwrap();
    let fresh = Engine::new(
        r.store.clone(),
        HashMap::new(),
        r.clock.clone(),
        EngineConfig::default(),
    );
    let rep = fresh.monitor(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(rep.tripped.len(), 1, "{rep:?}");
    assert_eq!(rep.tripped[0].0, format!("campaign:{}", c.id.0));
    assert!(rep.tripped[0].1.contains("cap"), "{rep:?}");
}

/// A handler that fails transiently `fail` times, then succeeds.
#[derive(Debug, Default)]
struct Flaky {
    fail: u32,
    runs: AtomicU32,
}

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, _store: &dyn Store, job: &Job) -> Result<(), JobError> {
        outdial_engine::jobs::payload_id(job, "attempt_id")?;
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if n < self.fail {
            return Err(JobError::Transient {
                code: "http-503".into(),
                message: "receiver down".into(),
            });
        }
        Ok(())
    }
}

#[tokio::test]
async fn jobs_retry_with_backoff_and_dead_letter_bad_payloads_and_unknown_kinds() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(t0()));
    let flaky = Arc::new(Flaky {
        fail: 2,
        ..Flaky::default()
    });
    let engine = Engine::new(store.clone(), HashMap::new(), clock.clone(), {
        let mut c = EngineConfig::default();
        with_channels(&mut c);
        c
    })
    .with_job_handler("crm.attempt_concluded", flaky.clone());
    let job = |payload: &str, kind: &str| NewJob {
        kind: kind.into(),
        payload: payload.into(),
        run_at: t0(),
        dedupe_key: None,
    };
    let good = store
        .enqueue_job(&job("{\"attempt_id\":7}", "crm.attempt_concluded"), t0())
        .await
        .unwrap()
        .unwrap();
    let bad = store
        .enqueue_job(&job("{\"attempt\":\"x\"}", "crm.attempt_concluded"), t0())
        .await
        .unwrap()
        .unwrap();
    let unknown = store
        .enqueue_job(&job("{\"attempt_id\":7}", "fax.send"), t0())
        .await
        .unwrap()
        .unwrap();
    let rep = engine.run_jobs(t0()).await.unwrap();
    assert_eq!((rep.done, rep.retried, rep.dead), (0, 1, 2), "{rep:?}");
    let b = store.job(bad).await.unwrap().unwrap();
    assert_eq!(b.state, JobState::Dead);
    assert_eq!(b.error_code.as_deref(), Some("bad_payload"));
    let u = store.job(unknown).await.unwrap().unwrap();
    assert_eq!(u.error_code.as_deref(), Some("unknown_kind"));
    // Dead letters raise alerts (deliveries enqueued on both channels).
    assert_eq!(store.alerts(10).await.unwrap().len(), 2);
    // The retry waits for its backoff: 30 s, then 60 s.
    let g = store.job(good).await.unwrap().unwrap();
    assert_eq!(g.state, JobState::Pending);
    assert_eq!(g.run_at, t0() + Duration::seconds(30));
    assert_eq!(g.error_code.as_deref(), Some("http-503"));
    let rep = engine.run_jobs(t0() + Duration::seconds(10)).await.unwrap();
    assert_eq!(
        flaky.runs.load(Ordering::SeqCst),
        1,
        "ran before its backoff: {rep:?}"
    );
    clock.set(t0() + Duration::seconds(30));
    engine.run_jobs(t0() + Duration::seconds(30)).await.unwrap();
    let g = store.job(good).await.unwrap().unwrap();
    assert_eq!(g.run_at, t0() + Duration::seconds(90));
    clock.set(t0() + Duration::seconds(90));
    engine.run_jobs(t0() + Duration::seconds(90)).await.unwrap();
    let g = store.job(good).await.unwrap().unwrap();
    assert_eq!(g.state, JobState::Done);
    assert_eq!(g.attempts, 3);
}

#[tokio::test]
async fn a_job_failing_every_time_is_dead_lettered_after_max_attempts() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(t0()));
    let flaky = Arc::new(Flaky {
        fail: u32::MAX,
        ..Flaky::default()
    });
    let engine = Engine::new(store.clone(), HashMap::new(), clock.clone(), {
        let mut c = EngineConfig::default();
        c.jobs.max_attempts = 3;
        c
    })
    .with_job_handler("crm.attempt_concluded", flaky.clone());
    let id = store
        .enqueue_job(
            &NewJob {
                kind: "crm.attempt_concluded".into(),
                payload: "{\"attempt_id\":1}".into(),
                run_at: t0(),
                dedupe_key: None,
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    let mut t = t0();
    for _ in 0..10 {
        clock.set(t);
        engine.run_jobs(t).await.unwrap();
        t += Duration::hours(1);
    }
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3, "never in a loop");
    let j = store.job(id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Dead);
    assert_eq!(j.error_code.as_deref(), Some("http-503"));
    assert_eq!(j.error_message.as_deref(), Some("receiver down"));
}

#[tokio::test]
async fn concluding_an_attempt_enqueues_its_post_call_job_once() {
    let r = rig_with(&["+12125550101"], |c| {
        c.post_call_jobs = vec!["crm.attempt_concluded".into()]
    })
    .await;
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    for dup in 0..2 {
        let (e, mut raw) = ev(&sid, CallStatus::Completed, 3, t0() + Duration::seconds(60));
        raw.dedupe_key = format!("{sid}:final:{dup}");
        r.clock.set(t0() + Duration::seconds(60));
        r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    }
    let jobs = r.store.jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let lead = lead_of(&r, "+12125550101").await;
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert_eq!(jobs[0].payload, format!("{{\"attempt_id\":{}}}", a.id.0));
    assert_eq!(jobs[0].kind, "crm.attempt_concluded");
}

#[tokio::test]
async fn a_clock_that_went_backwards_does_not_dial_until_it_catches_up() {
    let one_per_tick = |c: &mut EngineConfig| c.claim_batch = 1;
    let r = rig_with(&["+12125550101", "+12125550102"], one_per_tick).await;
    r.tick(t0() + Duration::minutes(10)).await.unwrap();
    assert_eq!(r.provider.placed().len(), 1);
    // The clock steps back 5 minutes: the second lead is due, but nothing is placed, by this
    // engine or by a restarted one.
    let back = t0() + Duration::minutes(5);
    r.tick(back).await.unwrap();
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    providers.insert(ProviderKind::Twilio, Arc::new(r.provider.clone()));
    let mut config = EngineConfig {
        calls_per_second: 1000.0,
        ..EngineConfig::default()
    };
    one_per_tick(&mut config);
    let restarted = Engine::new(r.store.clone(), providers, r.clock.clone(), config);
    restarted.tick(back).await.unwrap();
    assert_eq!(
        r.provider.placed().len(),
        1,
        "dialed on a clock behind a reservation"
    );
    // Once the clock is past the last reservation, dialing goes on.
    let later = t0() + Duration::minutes(11);
    r.clock.set(later);
    restarted.tick(later).await.unwrap();
    assert_eq!(r.provider.placed().len(), 2, "never resumed dialing");
}

#[tokio::test]
async fn a_reserved_attempt_without_a_call_id_is_resolved_after_sixty_seconds() {
    // Speed 1 and a 15 s request timeout: the request bound is max(2 × 15 s, 60 s) = 60 s.
    let r = rig_with(&["+12125550101"], |c| c.request_timeout_real_ms = 15_000).await;
    let lead = lead_of(&r, "+12125550101").await;
    // A crashed instance reserved it and died before (or while) asking the provider.
    let a = r
        .store
        .reserve_attempt(lead.id, t0())
        .await
        .unwrap()
        .unwrap();
    let rep = r.reconcile(t0() + Duration::seconds(45)).await.unwrap();
    assert_eq!(
        rep.examined, 0,
        "touched while its request may be under way: {rep:?}"
    );
    let rep = r.reconcile(t0() + Duration::seconds(61)).await.unwrap();
    assert_eq!(rep.not_placed, 1, "{rep:?}");
    let a = r.store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(a.state, AttemptState::NotPlaced);
    assert_eq!(a.error_code.as_deref(), Some("no-call-found"));
}
