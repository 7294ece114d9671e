//! Engine tests: the real engine and the real SQLite store, the test kit's scripted provider,
//! and a manual clock driven step by step with `tick(now)`.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_clock::ManualClock;
use outdial_core::{
    AnswerBehaviour, AttemptState, CallEvent, CallStatus, CampaignSettings, LeadContact,
    LeadStatus, NewLead, ProviderCallId, ProviderKind, Region, E164,
};
use outdial_engine::{Engine, EngineConfig};
use outdial_providers::Provider;
use outdial_store::{LeadPlacement, RawEvent, Store};
use outdial_store_sqlite::SqliteStore;
use outdial_testkit::{t0, Script, ScriptedProvider};
use std::collections::HashMap;
use std::sync::Arc;

struct Rig {
    engine: Engine,
    store: Arc<dyn Store>,
    provider: ScriptedProvider,
    clock: Arc<ManualClock>,
}

async fn rig(phones: &[&str]) -> Rig {
    rig_with(phones, |_| {}).await
}

async fn rig_with(phones: &[&str], adjust: impl FnOnce(&mut EngineConfig)) -> Rig {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    rig_on(store, phones, adjust).await
}

/// A rig over a given store (a file on a small file system, a store with a fault planted).
async fn rig_on(
    store: Arc<dyn Store>,
    phones: &[&str],
    adjust: impl FnOnce(&mut EngineConfig),
) -> Rig {
    let clock = Arc::new(ManualClock::new(t0()));
    let provider = ScriptedProvider::new(clock.clone());
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    providers.insert(ProviderKind::Twilio, Arc::new(provider.clone()));
    let settings = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).unwrap(),
        AnswerBehaviour::flow_url("https://example.com/twiml"),
    );
    let c = store.create_campaign("c", &settings, t0()).await.unwrap();
    let leads: Vec<_> = phones
        .iter()
        .map(|p| {
            (
                NewLead {
                    phone: E164::parse(p, Region::US).unwrap(),
                    contact: LeadContact {
                        state: Some("NY".into()),
                        ..Default::default()
                    },
                },
                LeadPlacement::Active(t0()),
            )
        })
        .collect();
    store.insert_leads(c.id, &leads, t0()).await.unwrap();
    let mut config = EngineConfig {
        calls_per_second: 1000.0,
        ..EngineConfig::default()
    };
    adjust(&mut config);
    let engine = Engine::new(store.clone(), providers, clock.clone(), config);
    Rig {
        engine,
        store,
        provider,
        clock,
    }
}

impl Rig {
    async fn tick(
        &self,
        t: DateTime<Utc>,
    ) -> Result<outdial_engine::TickReport, outdial_engine::EngineError> {
        self.clock.set(t);
        self.engine.tick(t).await
    }
    async fn reconcile(
        &self,
        t: DateTime<Utc>,
    ) -> Result<outdial_engine::ReconcileReport, outdial_engine::EngineError> {
        self.clock.set(t);
        self.engine.reconcile(t).await
    }
}

fn ev(sid: &str, status: CallStatus, seq: u32, at: DateTime<Utc>) -> (CallEvent, RawEvent) {
    (
        CallEvent {
            call_id: ProviderCallId::parse(sid).unwrap(),
            status,
            sequence: Some(seq),
            at,
            duration_s: status.is_final().then_some(20),
            answered_by: None,
            sip_response_code: None,
        },
        RawEvent {
            source: "test".into(),
            dedupe_key: format!("{sid}:{seq}"),
            payload: String::new(),
        },
    )
}

async fn lead_of(r: &Rig, phone: &str) -> outdial_store::Lead {
    r.store
        .leads_by_phone(&E164::parse(phone, Region::US).unwrap())
        .await
        .unwrap()
        .remove(0)
}

#[tokio::test]
async fn places_then_redials_busy_by_the_policy() {
    let r = rig(&["+12125550101"]).await;
    let rep = r.tick(t0()).await.unwrap();
    assert_eq!(rep.placed, 1);
    let req = r.provider.calls.lock().unwrap().requests[0].clone();
    assert!(
        req.status_callback
            .contains("/webhooks/twilio/status?attempt="),
        "{}",
        req.status_callback
    );
    // Nothing more is dialed while the call is in flight.
    assert_eq!(r.tick(t0() + Duration::minutes(1)).await.unwrap().placed, 0);
    let sid = r.provider.placed()[0].0.clone();
    let (e, raw) = ev(&sid, CallStatus::Busy, 3, t0() + Duration::seconds(10));
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    let lead = lead_of(&r, "+12125550101").await;
    assert_eq!(lead.status, LeadStatus::Active);
    assert_eq!(lead.disposition.unwrap().as_str(), "BUSY");
    // Second attempt waits the policy's 2 minutes after the first ended, on outdial's own
    // clock: from when the final status was heard (the clock reads t0 + 1 min), not from the
    // provider's timestamp.
    assert_eq!(
        lead.next_attempt_at,
        Some(t0() + Duration::minutes(1) + Duration::minutes(2))
    );
    assert_eq!(r.tick(t0() + Duration::minutes(2)).await.unwrap().placed, 0);
    assert_eq!(r.tick(t0() + Duration::minutes(3)).await.unwrap().placed, 1);
}

#[tokio::test]
async fn every_final_status_ends_the_attempt_and_feeds_the_policy() {
    let phones = [
        "+12125550101",
        "+12125550102",
        "+12125550103",
        "+12125550104",
        "+12125550105",
    ];
    let r = rig(&phones).await;
    assert_eq!(r.tick(t0()).await.unwrap().placed, 5);
    let placed = r.provider.placed();
    let finals = [
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];
    for (p, status) in placed.iter().zip(finals) {
        let (e, raw) = ev(&p.0, status, 3, t0() + Duration::seconds(30));
        r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    }
    for (p, status) in placed.iter().zip(finals) {
        let lead = lead_of(&r, &p.1).await;
        let attempts = r.store.lead_attempts(lead.id).await.unwrap();
        assert_eq!(attempts[0].state, AttemptState::Ended, "{status:?}");
        assert!(
            attempts[0].concluded_at.is_some(),
            "{status:?} not concluded"
        );
        let expected = if status == CallStatus::Completed {
            LeadStatus::Done
        } else {
            LeadStatus::Active
        };
        assert_eq!(lead.status, expected, "{status:?}");
    }
}

#[tokio::test]
async fn bad_number_is_terminal_and_rate_limit_retries_later() {
    let r = rig(&["+12125550101", "+12125550102"]).await;
    r.provider
        .script(vec![Script::Reject(21211), Script::RateLimit]);
    let rep = r.tick(t0()).await.unwrap();
    assert_eq!((rep.rejected, rep.not_placed), (1, 1));
    let bad = lead_of(&r, "+12125550101").await;
    assert_eq!(bad.status, LeadStatus::Done);
    assert_eq!(bad.disposition.unwrap().as_str(), "BAD_NUMBER");
    let limited = lead_of(&r, "+12125550102").await;
    assert_eq!(limited.status, LeadStatus::Active);
    assert!(limited.next_attempt_at.unwrap() > t0());
    assert!(r.engine.dialer_running().await.unwrap());
}

#[tokio::test]
async fn auth_failure_trips_the_global_kill_switch_persistently() {
    let r = rig(&["+12125550101", "+12125550102"]).await;
    r.provider.script(vec![Script::AuthFail, Script::AuthFail]);
    r.tick(t0()).await.unwrap();
    let switches = r.engine.kill_switches().await.unwrap();
    assert!(switches.global_tripped(), "{switches:?}");
    let sw = switches.get(outdial_store::KillScope::Global).unwrap();
    assert_eq!(sw.source, "engine:provider-auth");
    assert!(sw.reason.contains("credentials"), "{}", sw.reason);
    // Persisted: a new engine over the same store sees it.
    let fresh = Engine::new(
        r.store.clone(),
        HashMap::new(),
        r.clock.clone(),
        EngineConfig::default(),
    );
    assert!(fresh.kill_switches().await.unwrap().global_tripped());
    let alerts = r.store.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, "kill_switch.tripped");
    let n = r.provider.calls.lock().unwrap().requests.len();
    r.tick(t0() + Duration::minutes(10)).await.unwrap();
    assert_eq!(
        r.provider.calls.lock().unwrap().requests.len(),
        n,
        "dialed while stopped"
    );
}

#[tokio::test]
async fn ambiguous_create_blocks_the_number_until_reconciled() {
    let r = rig(&["+12125550101"]).await;
    r.provider.script(vec![Script::Ambiguous]);
    assert_eq!(r.tick(t0()).await.unwrap().ambiguous, 1);
    let lead = lead_of(&r, "+12125550101").await;
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert_eq!(a.state, AttemptState::Unknown);
    // Never re-posted blindly: ticks place nothing while unknown.
    for m in 1..5 {
        assert_eq!(r.tick(t0() + Duration::minutes(m)).await.unwrap().placed, 0);
    }
    assert_eq!(r.provider.calls.lock().unwrap().requests.len(), 1);
    // The reconciler lists the provider's calls and links the real call.
    let sid = r.provider.placed()[0].0.clone();
    r.provider.set_status(&sid, CallStatus::NoAnswer);
    let rep = r.reconcile(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(rep.advanced, 1, "{rep:?}");
    let a = &r.store.lead_attempts(lead.id).await.unwrap()[0];
    assert_eq!(a.state, AttemptState::Ended);
    assert_eq!(a.call_id.as_ref().unwrap().as_str(), sid);
}

#[tokio::test]
async fn an_ambiguous_create_is_matched_to_its_own_tagged_call_not_another_attempts() {
    let r = rig(&["+12125550101"]).await;
    r.provider.script(vec![Script::Ambiguous]);
    r.tick(t0()).await.unwrap();
    let lead = lead_of(&r, "+12125550101").await;
    let a = r.store.lead_attempts(lead.id).await.unwrap().remove(0);
    assert_eq!(a.state, AttemptState::Unknown);
    // The provider lists two calls to the number since the reservation: first one whose
    // record names another attempt (an echo of someone else's metadata), then ours.
    let ours = r.provider.placed()[0].clone();
    let foreign = (
        format!("CA{:032}", 999),
        ours.1.clone(),
        CallStatus::Completed,
        ours.3,
    );
    {
        let mut c = r.provider.calls.lock().unwrap();
        c.placed.insert(0, foreign.clone());
        c.tags
            .insert(foreign.0.clone(), outdial_core::AttemptId(a.id.0 + 1000));
        c.tags.insert(ours.0.clone(), a.id);
    }
    r.provider.set_status(&ours.0, CallStatus::Busy);
    let rep = r.reconcile(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(rep.advanced, 1, "{rep:?}");
    let a = r.store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        a.call_id.as_ref().unwrap().as_str(),
        ours.0,
        "linked to its own call"
    );
    assert_eq!(a.call_status, Some(CallStatus::Busy));
}

#[tokio::test]
async fn unknown_with_no_call_at_the_provider_becomes_not_placed() {
    let r = rig(&["+12125550101"]).await;
    // The provider says 500 but placed nothing: simulate by removing the call it recorded.
    r.provider.script(vec![Script::Ambiguous]);
    r.tick(t0()).await.unwrap();
    r.provider.calls.lock().unwrap().placed.clear();
    let rep = r.reconcile(t0() + Duration::minutes(5)).await.unwrap();
    assert_eq!(rep.not_placed, 1, "{rep:?}");
    let lead = lead_of(&r, "+12125550101").await;
    assert_eq!(
        lead.status,
        LeadStatus::Active,
        "lead returns to the due queue"
    );
}

#[tokio::test]
async fn lost_final_webhook_is_recovered_by_fetch() {
    let r = rig(&["+12125550101"]).await;
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    r.provider.set_status(&sid, CallStatus::Completed);
    // Too early: nothing is asked.
    assert_eq!(
        r.reconcile(t0() + Duration::seconds(30))
            .await
            .unwrap()
            .examined,
        0
    );
    let rep = r.reconcile(t0() + Duration::minutes(3)).await.unwrap();
    assert_eq!((rep.examined, rep.advanced), (1, 1));
    let lead = lead_of(&r, "+12125550101").await;
    assert_eq!(lead.status, LeadStatus::Done);
}

#[tokio::test]
async fn outside_the_window_is_rescheduled_not_dialed() {
    let r = rig(&["+12125550101"]).await;
    // 22:00 in New York.
    let late = Utc.with_ymd_and_hms(2026, 1, 6, 3, 0, 0).unwrap();
    let rep = r.tick(late).await.unwrap();
    assert_eq!((rep.placed, rep.rescheduled), (0, 1));
    let lead = lead_of(&r, "+12125550101").await;
    assert_eq!(
        lead.next_attempt_at,
        Some(Utc.with_ymd_and_hms(2026, 1, 6, 13, 0, 0).unwrap())
    );
    assert!(lead
        .status_reason
        .unwrap()
        .contains("outside the calling window"));
}

#[tokio::test]
async fn callback_requested_during_the_call_is_honoured_or_moved_into_the_window() {
    let r = rig(&["+12125550101", "+12125550102"]).await;
    assert_eq!(r.tick(t0()).await.unwrap().placed, 2);
    let placed = r.provider.placed();
    let lead_a = lead_of(&r, &placed[0].1).await;
    let lead_b = lead_of(&r, &placed[1].1).await;
    let att_a = r.store.lead_attempts(lead_a.id).await.unwrap()[0].id;
    let att_b = r.store.lead_attempts(lead_b.id).await.unwrap()[0].id;
    // During the calls, the call flow asks for callbacks: one at 14:00 EST, one at 22:30 EST.
    let ok_time = Utc.with_ymd_and_hms(2026, 1, 5, 19, 0, 0).unwrap();
    let late = Utc.with_ymd_and_hms(2026, 1, 6, 3, 30, 0).unwrap();
    assert_eq!(
        r.engine
            .set_disposition(att_a, "callback", Some(ok_time), "test")
            .await
            .unwrap(),
        outdial_engine::DispositionOutcome::Pending
    );
    assert_eq!(
        r.engine
            .set_disposition(att_b, "CALLBK", Some(late), "test")
            .await
            .unwrap(),
        outdial_engine::DispositionOutcome::Pending
    );
    for p in &placed {
        let (e, raw) = ev(&p.0, CallStatus::Completed, 3, t0() + Duration::minutes(3));
        r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    }
    let a = lead_of(&r, &placed[0].1).await;
    assert_eq!(
        (a.status, a.next_attempt_at),
        (LeadStatus::Active, Some(ok_time))
    );
    assert_eq!(a.disposition.unwrap().as_str(), "CALLBACK");
    let b = lead_of(&r, &placed[1].1).await;
    // 22:30 is after the window: moved to 08:00 the next morning.
    assert_eq!(
        b.next_attempt_at,
        Some(Utc.with_ymd_and_hms(2026, 1, 6, 13, 0, 0).unwrap())
    );
    // Unknown labels are refused.
    assert!(matches!(
        r.engine
            .set_disposition(att_a, "WHATEVER", None, "test")
            .await,
        Err(outdial_engine::EngineError::UnknownDisposition(_))
    ));
}

#[tokio::test]
async fn a_later_sale_or_dnc_disposition_decides_the_lead_again() {
    let r = rig(&["+12125550101", "+12125550102"]).await;
    r.tick(t0()).await.unwrap();
    let placed = r.provider.placed();
    for p in &placed {
        let (e, raw) = ev(&p.0, CallStatus::NoAnswer, 3, t0() + Duration::minutes(1));
        r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    }
    let a = lead_of(&r, &placed[0].1).await;
    assert_eq!(a.status, LeadStatus::Active);
    let att = r.store.lead_attempts(a.id).await.unwrap()[0].id;
    assert_eq!(
        r.engine
            .set_disposition(att, "TRANSFER_SALE", None, "crm")
            .await
            .unwrap(),
        outdial_engine::DispositionOutcome::Applied
    );
    let a = lead_of(&r, &placed[0].1).await;
    assert_eq!(
        (a.status, a.disposition.unwrap().as_str().to_owned()),
        (LeadStatus::Done, "SALE".to_owned())
    );
    // DNC: the number goes on the internal list at once.
    let b = lead_of(&r, &placed[1].1).await;
    let att_b = r.store.lead_attempts(b.id).await.unwrap()[0].id;
    r.engine
        .set_disposition(att_b, "do not call", None, "agent")
        .await
        .unwrap();
    let lists = r.store.dnc_check(&b.phone, None).await.unwrap();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert_eq!(lead_of(&r, &placed[1].1).await.status, LeadStatus::Done);
}

#[tokio::test]
async fn a_dnc_number_is_not_dialed_in_any_campaign() {
    let r = rig(&["+12125550101"]).await;
    let lead = lead_of(&r, "+12125550101").await;
    let entry = outdial_store::DncEntry {
        phone: lead.phone.clone(),
        scope: outdial_store::DncScope::Internal,
        source: "test".into(),
        reason: None,
        added_at: t0(),
    };
    r.store.dnc_add(&[entry], t0()).await.unwrap();
    let rep = r.tick(t0()).await.unwrap();
    assert_eq!((rep.placed, rep.parked), (0, 1));
    let lead = lead_of(&r, "+12125550101").await;
    assert_eq!(lead.status, LeadStatus::Paused);
    assert!(lead.status_reason.unwrap().contains("do-not-call"));
    assert!(r.provider.calls.lock().unwrap().requests.is_empty());
}

mod account_limits;
mod blocked;
mod conclusion_race;
mod dispatch;
mod enqueue;
mod hardening;
mod safety;
mod step;
