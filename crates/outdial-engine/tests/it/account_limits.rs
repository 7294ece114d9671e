//! Provider plan limits (`EngineConfig::provider_limits`): an account's hourly cap,
//! concurrency and rate hold; its waiting leads stay due and untouched; campaigns of other
//! providers in the same engine are not held back. The create request carries the call's
//! context.

use super::*;
use outdial_core::campaign::{AgentBehaviour, AgentScript};
use outdial_core::{CampaignId, LeadId};
use outdial_engine::account_limits::provider_pacer_name;
use outdial_engine::ProviderLimits;

struct Fleet {
    engine: Engine,
    store: Arc<dyn Store>,
    /// Serves both providers (one SID sequence); requests tell campaigns apart by context.
    provider: ScriptedProvider,
    clock: Arc<ManualClock>,
    agent_campaign: CampaignId,
    flow_campaign: CampaignId,
}

/// An engine with an AI-agent campaign (`agent_leads` leads due a minute before t0, so they
/// come first in the due queue) and a call-flow campaign (`flow_leads` due at t0), on two
/// providers (one scripted provider behind both); `limits` for the agent provider's account.
async fn fleet(
    agent_leads: u32,
    flow_leads: u32,
    limits: ProviderLimits,
    adjust: impl FnOnce(&mut EngineConfig),
) -> Fleet {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let clock = Arc::new(ManualClock::new(t0()));
    let provider = ScriptedProvider::new(clock.clone());
    let mut providers: HashMap<ProviderKind, Arc<dyn Provider>> = HashMap::new();
    providers.insert(ProviderKind::Bland, Arc::new(provider.clone()));
    providers.insert(ProviderKind::Twilio, Arc::new(provider.clone()));
    let caller = E164::parse("+15005550006", Region::US).unwrap();
    let mut agent_settings = CampaignSettings::new(
        caller.clone(),
        AnswerBehaviour::Agent(AgentBehaviour {
            script: AgentScript::Task {
                prompt: "Confirm the visit.".into(),
            },
            voice: None,
            first_sentence: None,
            wait_for_greeting: false,
            record: false,
        }),
    );
    agent_settings.provider = ProviderKind::Bland;
    let flow_settings = CampaignSettings::new(
        caller,
        AnswerBehaviour::flow_url("https://example.com/twiml"),
    );
    let ca = store
        .create_campaign("agents", &agent_settings, t0())
        .await
        .unwrap();
    let cf = store
        .create_campaign("flows", &flow_settings, t0())
        .await
        .unwrap();
    let leads = |n: u32, exchange: u32, due| -> Vec<_> {
        (0..n)
            .map(|i| {
                (
                    NewLead {
                        phone: E164::parse(&format!("+1212{exchange}{i:04}"), Region::US).unwrap(),
                        contact: LeadContact {
                            state: Some("NY".into()),
                            first_name: Some(format!("Lead{i}")),
                            external_id: Some(format!("V-{exchange}-{i}")),
                            ..Default::default()
                        },
                    },
                    LeadPlacement::Active(due),
                )
            })
            .collect()
    };
    store
        .insert_leads(
            ca.id,
            &leads(agent_leads, 555, t0() - Duration::minutes(1)),
            t0(),
        )
        .await
        .unwrap();
    store
        .insert_leads(cf.id, &leads(flow_leads, 556, t0()), t0())
        .await
        .unwrap();
    let mut config = EngineConfig {
        calls_per_second: 1000.0,
        max_concurrent: 50,
        ..EngineConfig::default()
    };
    config.provider_limits.insert(ProviderKind::Bland, limits);
    adjust(&mut config);
    let engine = Engine::new(store.clone(), providers, clock.clone(), config);
    Fleet {
        engine,
        store,
        provider,
        clock,
        agent_campaign: ca.id,
        flow_campaign: cf.id,
    }
}

impl Fleet {
    async fn tick(&self, t: DateTime<Utc>) -> outdial_engine::TickReport {
        self.clock.set(t);
        self.engine.tick(t).await.unwrap()
    }

    /// The create requests of `campaign`'s calls.
    fn requests_of(&self, campaign: CampaignId) -> Vec<outdial_providers::PlaceCall> {
        self.provider
            .requests()
            .into_iter()
            .filter(|r| r.context.campaign == campaign)
            .collect()
    }

    /// Ends every call still open (completed by a person: the lead is done).
    async fn end_all(&self, at: DateTime<Utc>) {
        let p = &self.provider;
        for (sid, _, status, _) in p.placed() {
            if status.is_final() {
                continue;
            }
            p.set_status(&sid, CallStatus::Completed);
            let (e, raw) = ev(&sid, CallStatus::Completed, 3, at);
            self.engine.ingest_call_event(None, &e, &raw).await.unwrap();
        }
    }

    /// The agent campaign's leads that were never dialed: each must still be active, due at
    /// its original instant, with no attempt.
    async fn untouched_agent_leads(&self) -> usize {
        let mut n = 0;
        let mut after = LeadId(0);
        loop {
            let page = self.store.leads_after(after, 100).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            for l in page
                .iter()
                .filter(|l| l.campaign_id == self.agent_campaign && l.attempt_count == 0)
            {
                assert_eq!(l.status, LeadStatus::Active, "{l:?}");
                assert_eq!(
                    l.next_attempt_at,
                    Some(t0() - Duration::minutes(1)),
                    "{l:?}"
                );
                assert!(self.store.lead_attempts(l.id).await.unwrap().is_empty());
                n += 1;
            }
        }
        n
    }
}

#[tokio::test]
async fn an_hourly_plan_cap_places_exactly_that_many_per_rolling_hour() {
    let limits = ProviderLimits {
        calls_per_hour: Some(5),
        ..ProviderLimits::default()
    };
    let f = fleet(20, 0, limits, |_| {}).await;
    let mut placed_at = Vec::new();
    // Every 10 minutes for a bit over three hours; calls end a minute after each tick.
    for step in 0..=19 {
        let t = t0() + Duration::minutes(10 * step) + Duration::seconds(step);
        let rep = f.tick(t).await;
        for _ in 0..rep.placed {
            placed_at.push(t);
        }
        assert_eq!(rep.rescheduled + rep.parked + rep.not_placed, 0, "{rep:?}");
        f.end_all(t + Duration::minutes(1)).await;
    }
    // 5 in each rolling hour: at 0, then just after 60, 120 and 180 minutes.
    assert_eq!(placed_at.len(), 20, "{placed_at:?}");
    for w in placed_at.windows(6) {
        assert!(
            w[5] - w[0] > Duration::hours(1),
            "six calls within an hour: {w:?}"
        );
    }
    let first_hour = placed_at
        .iter()
        .filter(|t| **t < t0() + Duration::hours(1))
        .count();
    assert_eq!(first_hour, 5);
    assert_eq!(f.untouched_agent_leads().await, 0);
}

#[tokio::test]
async fn leads_over_the_hourly_cap_stay_due_and_untouched() {
    let limits = ProviderLimits {
        calls_per_hour: Some(5),
        ..ProviderLimits::default()
    };
    let f = fleet(20, 0, limits, |_| {}).await;
    assert_eq!(f.tick(t0()).await.placed, 5);
    f.end_all(t0() + Duration::minutes(1)).await;
    for m in [5, 30, 59] {
        let rep = f.tick(t0() + Duration::minutes(m)).await;
        assert_eq!(rep.placed, 0, "minute {m}: {rep:?}");
    }
    assert_eq!(
        f.requests_of(f.agent_campaign).len(),
        5,
        "nothing else was asked for"
    );
    assert_eq!(f.untouched_agent_leads().await, 15);
    // The create requests carried the call context filled by the engine.
    for req in f.requests_of(f.agent_campaign) {
        let ctx = &req.context;
        assert_eq!(ctx.campaign, f.agent_campaign);
        assert_eq!(ctx.campaign_name, "agents");
        let a = f.store.attempt(ctx.attempt).await.unwrap().unwrap();
        assert_eq!((a.lead_id, a.phone.clone()), (ctx.lead, req.to.clone()));
        assert!(req
            .status_callback
            .ends_with(&format!("attempt={}", ctx.attempt)));
        assert!(ctx
            .contact
            .first_name
            .as_deref()
            .unwrap()
            .starts_with("Lead"));
        assert!(ctx.dispositions.iter().any(|d| d == "SALE"));
        assert!(ctx.dispositions.iter().any(|d| d == "TRANSFERRED"));
        assert!(
            !ctx.dispositions.iter().any(|d| d == "TRANSFER_SALE"),
            "aliases are not sent"
        );
    }
}

#[tokio::test]
async fn an_account_concurrency_cap_holds_with_never_ending_calls() {
    let limits = ProviderLimits {
        max_concurrent: Some(2),
        ..ProviderLimits::default()
    };
    let f = fleet(6, 0, limits, |_| {}).await;
    for m in 0..10 {
        f.tick(t0() + Duration::minutes(m)).await;
        assert_eq!(f.store.in_flight_count().await.unwrap(), 2, "minute {m}");
    }
    assert_eq!(f.requests_of(f.agent_campaign).len(), 2);
    assert_eq!(f.untouched_agent_leads().await, 4);
    // One call ends: exactly one more is placed.
    let sid = f.provider.placed()[0].0.clone();
    let (e, raw) = ev(&sid, CallStatus::Completed, 3, t0() + Duration::minutes(10));
    f.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    assert_eq!(f.tick(t0() + Duration::minutes(11)).await.placed, 1);
    assert_eq!(f.tick(t0() + Duration::minutes(12)).await.placed, 0);
    assert_eq!(f.store.in_flight_count().await.unwrap(), 2);
}

#[tokio::test]
async fn other_providers_campaigns_are_not_held_back_by_a_full_account() {
    let limits = ProviderLimits {
        max_concurrent: Some(2),
        calls_per_hour: Some(5),
        ..ProviderLimits::default()
    };
    // The agent leads come first in the due queue and fill a whole claim batch.
    let f = fleet(20, 4, limits, |c| c.claim_batch = 5).await;
    let first = f.tick(t0()).await;
    assert_eq!(first.placed, 2, "{first:?}");
    let second = f.tick(t0() + Duration::seconds(1)).await;
    assert_eq!(second.placed, 4, "the flow campaign's leads: {second:?}");
    assert_eq!(f.requests_of(f.agent_campaign).len(), 2);
    assert_eq!(f.requests_of(f.flow_campaign).len(), 4);
    // Calls end: the agent account has room for 2 more (concurrency), then for 1 (the
    // hourly cap of 5), then none.
    for (minute, want) in [(2, 2), (4, 1), (6, 0)] {
        f.end_all(t0() + Duration::minutes(minute - 1)).await;
        let rep = f.tick(t0() + Duration::minutes(minute)).await;
        assert_eq!(rep.placed, want, "minute {minute}: {rep:?}");
    }
    assert_eq!(f.requests_of(f.agent_campaign).len(), 5);
    assert_eq!(f.untouched_agent_leads().await, 15);
}

#[tokio::test]
async fn an_account_rate_paces_through_its_own_fleet_pacer() {
    let limits = ProviderLimits {
        calls_per_second: Some(0.5),
        ..ProviderLimits::default()
    };
    let f = fleet(3, 2, limits, |_| {}).await;
    // The manual clock does not move while the engine waits: the pacers' next slots show
    // what each was asked for.
    assert_eq!(f.tick(t0()).await.placed, 5);
    let agent_pacer = provider_pacer_name(ProviderKind::Bland);
    assert_eq!(agent_pacer, "calls:bland");
    let next = f
        .store
        .reserve_pacing_slot(&agent_pacer, Duration::seconds(2), t0())
        .await
        .unwrap();
    assert_eq!(
        next,
        t0() + Duration::seconds(6),
        "3 agent calls, 2 s apart"
    );
    let flow_pacer = provider_pacer_name(ProviderKind::Twilio);
    assert_eq!(
        f.store
            .reserve_pacing_slot(&flow_pacer, Duration::seconds(2), t0())
            .await
            .unwrap(),
        t0(),
        "no limit for the flow provider: its pacer was never used"
    );
}

#[test]
fn provider_limits_validate_their_values() {
    assert!(ProviderLimits::default().validate().is_ok());
    let zero = ProviderLimits {
        calls_per_day: Some(0),
        ..ProviderLimits::default()
    };
    assert!(zero.validate().unwrap_err().contains("calls_per_day"));
    let rate = ProviderLimits {
        calls_per_second: Some(f64::NAN),
        ..ProviderLimits::default()
    };
    assert!(rate.validate().unwrap_err().contains("calls_per_second"));
    let start: ProviderLimits = serde_json::from_str(
        r#"{"max_concurrent": 10, "calls_per_hour": 100, "calls_per_day": 100}"#,
    )
    .unwrap();
    assert_eq!(start.max_concurrent, Some(10));
    assert_eq!(start.calls_per_second, None);
    assert!(serde_json::from_str::<ProviderLimits>(r#"{"calls_per_minute": 1}"#).is_err());
}
