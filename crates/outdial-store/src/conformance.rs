//! The backend conformance suite: each case is written once, against `&dyn Store`, and every
//! backend's tests run all of them ([`run_all`]) on a fresh, empty database per case.
//!
//! Each case panics with a message naming the broken rule.

use crate::{
    to_micros, AlertId, AlertRecord, Attempt, DncEntry, DncScope, EventOutcome, Job, JobId,
    JobState, KillScope, KillSwitch, LeadPlacement, NewAlert, NewJob, Placement, RawEvent, Store,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnswerAction, AttemptState, CallEvent, CallStatus, CampaignSettings, Disposition, LeadContact,
    LeadId, LeadStatus, NewLead, ProviderCallId, Region, E164,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future of one case.
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One case: runs against a fresh store.
pub type Case = fn(Arc<dyn Store>) -> CaseFuture;

/// Every case, by name.
pub fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("campaign_round_trip", |s| Box::pin(campaign_round_trip(s))),
        ("leads_unique_per_campaign", |s| {
            Box::pin(leads_unique_per_campaign(s))
        }),
        ("one_in_flight_per_number_across_campaigns", |s| {
            Box::pin(one_in_flight_per_number(s))
        }),
        ("reserve_is_guarded", |s| Box::pin(reserve_is_guarded(s))),
        ("guarded_transitions", |s| Box::pin(guarded_transitions(s))),
        ("webhook_duplicates_and_reorders", |s| {
            Box::pin(webhook_duplicates_and_reorders(s))
        }),
        ("webhook_before_placement_uses_hint", |s| {
            Box::pin(webhook_before_placement(s))
        }),
        ("late_events_change_nothing_of_a_final_attempt", |s| {
            Box::pin(late_events_change_nothing_of_a_final_attempt(s))
        }),
        ("provider_times_are_clamped_to_our_clock", |s| {
            Box::pin(provider_times_are_clamped_to_our_clock(s))
        }),
        ("sequence_numbers_do_not_order_events", |s| {
            Box::pin(sequence_numbers_do_not_order_events(s))
        }),
        ("conclude_applies_decision_once", |s| {
            Box::pin(conclude_once(s))
        }),
        ("fleet_lease_pacer_and_cap", |s| {
            Box::pin(fleet_lease_pacer_and_cap(s))
        }),
        ("dispositions_requested_and_redisposed", |s| {
            Box::pin(dispositions_requested_and_redisposed(s))
        }),
        ("timestamps_round_trip", |s| {
            Box::pin(timestamps_round_trip(s))
        }),
        ("concurrent_reservations_exclusive", |s| {
            Box::pin(concurrent_reservations(s))
        }),
        ("settings_persist", |s| Box::pin(settings_persist(s))),
        ("dnc_add_is_idempotent", |s| Box::pin(dnc_add_idempotent(s))),
        ("dnc_scopes_apply_to_their_campaigns", |s| {
            Box::pin(dnc_scopes(s))
        }),
        ("dnc_remove_takes_one_list_entry", |s| {
            Box::pin(dnc_remove(s))
        }),
        ("phone_attempt_times_across_campaigns", |s| {
            Box::pin(phone_attempt_times_across_campaigns(s))
        }),
        ("kill_switch_trip_and_resume", |s| {
            Box::pin(kill_switch_trip_and_resume(s))
        }),
        ("jobs_lifecycle", |s| Box::pin(jobs_lifecycle(s))),
        ("jobs_claimed_exclusively", |s| {
            Box::pin(jobs_claimed_exclusively(s))
        }),
        ("alerts_raise_once_with_a_job_per_channel", |s| {
            Box::pin(alerts_raise_once_with_a_job_per_channel(s))
        }),
        ("conclude_enqueues_follow_up_once", |s| {
            Box::pin(conclude_enqueues_follow_up_once(s))
        }),
        ("recent_attempts_newest_first", |s| {
            Box::pin(recent_attempts_newest_first(s))
        }),
        ("latest_event_at_by_source", |s| {
            Box::pin(latest_event_at_by_source(s))
        }),
        ("due_leads_skip_campaigns_with_a_tripped_switch", |s| {
            Box::pin(due_leads_skip_tripped_campaigns(s))
        }),
    ]
}

/// Runs every case, each on a fresh store made by `make`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for (name, case) in cases() {
        eprintln!("conformance: {name}");
        case(make().await).await;
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerAction::Twiml {
            twiml: "<Response><Say>Hi</Say></Response>".into(),
        },
    )
}

fn lead(phone: &str) -> NewLead {
    NewLead {
        phone: E164::parse(phone, Region::US).unwrap(),
        contact: LeadContact {
            state: Some("NY".into()),
            ..LeadContact::default()
        },
    }
}

async fn seed(store: &dyn Store, campaign: &str, phones: &[&str]) -> Vec<crate::Lead> {
    let c = store
        .create_campaign(campaign, &settings(), t0())
        .await
        .unwrap();
    let rows: Vec<_> = phones
        .iter()
        .map(|p| (lead(p), LeadPlacement::Active(t0())))
        .collect();
    store.insert_leads(c.id, &rows, t0()).await.unwrap();
    let mut out = Vec::new();
    for p in phones {
        let e = E164::parse(p, Region::US).unwrap();
        out.extend(
            store
                .leads_by_phone(&e)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.campaign_id == c.id),
        );
    }
    out
}

fn raw(key: &str) -> RawEvent {
    RawEvent {
        source: "test".into(),
        dedupe_key: key.into(),
        payload: key.into(),
    }
}

fn ev(sid: &str, status: CallStatus, seq: u32) -> CallEvent {
    CallEvent {
        call_id: ProviderCallId::parse(sid).unwrap(),
        status,
        sequence: Some(seq),
        at: t0() + Duration::seconds(i64::from(seq)),
        duration_s: status.is_final().then_some(42),
        answered_by: None,
        sip_response_code: None,
    }
}

/// Reserves an attempt for `lead` at `at` and marks it placed as call `sid` (queued).
async fn placed(store: &dyn Store, lead: LeadId, sid: &str, at: DateTime<Utc>) -> Attempt {
    let a = store
        .reserve_attempt(lead, at)
        .await
        .unwrap()
        .expect("the number is free");
    let placement = Placement {
        call_id: ProviderCallId::parse(sid).unwrap(),
        status: CallStatus::Queued,
    };
    store.mark_placed(a.id, &placement, at).await.unwrap();
    a
}

async fn campaign_round_trip(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    assert_eq!(store.campaign(c.id).await.unwrap().settings, settings());
    assert!(
        store.create_campaign("a", &settings(), t0()).await.is_err(),
        "duplicate campaign name accepted"
    );
    assert_eq!(store.campaign_by_name("a").await.unwrap().unwrap().id, c.id);
    assert!(store.campaign_by_name("nope").await.unwrap().is_none());
}

async fn leads_unique_per_campaign(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let rows = vec![
        (lead("+12125550101"), LeadPlacement::Active(t0())),
        (lead("(212) 555-0101"), LeadPlacement::Active(t0())),
        (
            lead("+12125550102"),
            LeadPlacement::Paused("no zone".into()),
        ),
    ];
    let r = store.insert_leads(c.id, &rows, t0()).await.unwrap();
    assert_eq!((r.inserted, r.duplicates), (2, 1));
    let r2 = store.insert_leads(c.id, &rows[..1], t0()).await.unwrap();
    assert_eq!((r2.inserted, r2.duplicates), (0, 1));
    let paused = store
        .leads_by_phone(&E164::parse("+12125550102", Region::US).unwrap())
        .await
        .unwrap();
    assert_eq!(paused[0].status, LeadStatus::Paused);
    assert_eq!(paused[0].status_reason.as_deref(), Some("no zone"));
}

async fn one_in_flight_per_number(store: Arc<dyn Store>) {
    let a = seed(&*store, "a", &["+12125550101"]).await;
    let b = seed(&*store, "b", &["+12125550101"]).await;
    let first = store.reserve_attempt(a[0].id, t0()).await.unwrap();
    assert!(first.is_some());
    let second = store.reserve_attempt(b[0].id, t0()).await.unwrap();
    assert!(
        second.is_none(),
        "a second in-flight attempt to one number was reserved"
    );
    // The second lead is untouched: still active and due.
    assert_eq!(
        store.lead(b[0].id).await.unwrap().unwrap().status,
        LeadStatus::Active
    );
    // Once the first ends, the number is free again.
    let first = first.unwrap();
    store
        .apply_call_event(
            Some(first.id),
            &ev("CA1", CallStatus::Busy, 0),
            &raw("k1"),
            t0(),
        )
        .await
        .unwrap();
    assert!(store
        .reserve_attempt(b[0].id, t0())
        .await
        .unwrap()
        .is_some());
}

async fn reserve_is_guarded(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    // Not due yet.
    assert!(store
        .reserve_attempt(leads[0].id, t0() - Duration::seconds(1))
        .await
        .unwrap()
        .is_none());
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, AttemptState::Reserved);
    assert_eq!(a.number, 1);
    // Lead is dialing now: a second reservation fails.
    assert!(store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .is_none());
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!((l.status, l.attempt_count), (LeadStatus::Dialing, 1));
    assert!(store.due_leads(t0(), 10).await.unwrap().is_empty());
}

async fn guarded_transitions(store: Arc<dyn Store>) {
    let leads = seed(
        &*store,
        "a",
        &["+12125550101", "+12125550102", "+12125550103"],
    )
    .await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store.mark_unknown(a.id, "timeout", t0()).await.unwrap());
    assert!(
        !store.mark_unknown(a.id, "timeout", t0()).await.unwrap(),
        "unknown twice"
    );
    assert!(
        !store
            .mark_rejected(a.id, "21211", "bad", t0())
            .await
            .unwrap(),
        "unknown → rejected allowed"
    );
    let placed = Placement {
        call_id: ProviderCallId::parse("CA9").unwrap(),
        status: CallStatus::Queued,
    };
    assert!(store.mark_placed(a.id, &placed, t0()).await.unwrap());
    assert!(!store.mark_placed(a.id, &placed, t0()).await.unwrap());
    assert!(
        !store.mark_not_placed(a.id, "x", "y", t0()).await.unwrap(),
        "placed → not-placed allowed"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.state, AttemptState::Placed);
    assert_eq!(got.call_id.unwrap().as_str(), "CA9");

    let b = store
        .reserve_attempt(leads[1].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .mark_rejected(b.id, "21211", "invalid", t0())
        .await
        .unwrap());
    assert_eq!(
        store.attempt(b.id).await.unwrap().unwrap().state,
        AttemptState::Rejected
    );
    assert_eq!(store.attempts_to_conclude(10).await.unwrap(), vec![b.id]);

    let c = store
        .reserve_attempt(leads[2].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store.mark_unknown(c.id, "reset", t0()).await.unwrap());
    assert!(store
        .mark_not_placed(c.id, "none", "no call found", t0())
        .await
        .unwrap());
    assert!(
        store
            .lead_attempt_times(leads[2].id)
            .await
            .unwrap()
            .is_empty(),
        "not-placed counted"
    );
}

async fn webhook_duplicates_and_reorders(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = placed(&*store, leads[0].id, "CA1", t0()).await;
    let done = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(done, EventOutcome::Applied { .. }));
    let dup = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(dup, EventOutcome::Duplicate);
    let late = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Ringing, 1),
            &raw("CA1:1"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(late, EventOutcome::Late { attempt_id: a.id });
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.state, AttemptState::Ended);
    assert_eq!(got.call_status, Some(CallStatus::Completed));
    assert_eq!(got.duration_s, Some(42));
    assert_eq!(got.last_sequence, Some(3));
    let unknown = store
        .apply_call_event(
            None,
            &ev("CAX", CallStatus::Completed, 3),
            &raw("CAX:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(unknown, EventOutcome::UnknownCall);
    let timeline = store.lead_events(leads[0].id).await.unwrap();
    assert_eq!(
        timeline.iter().filter(|e| e.kind == "webhook").count(),
        2,
        "raw webhooks recorded once each"
    );
}

async fn webhook_before_placement(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    // The provider's first callback beats the create response.
    let r = store
        .apply_call_event(
            Some(a.id),
            &ev("CA7", CallStatus::Ringing, 1),
            &raw("CA7:1"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(
        r,
        EventOutcome::Applied {
            from: AttemptState::Reserved,
            ..
        }
    ));
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().last_sequence,
        Some(1)
    );
    let placed = Placement {
        call_id: ProviderCallId::parse("CA7").unwrap(),
        status: CallStatus::Queued,
    };
    assert!(
        !store.mark_placed(a.id, &placed, t0()).await.unwrap(),
        "placement regressed a ringing attempt"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.call_id.unwrap().as_str().to_owned()),
        (AttemptState::Ringing, "CA7".to_owned())
    );
    // A hint whose attempt already has another call id is not used.
    let other = store
        .apply_call_event(
            Some(a.id),
            &ev("CA8", CallStatus::Completed, 3),
            &raw("CA8:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(other, EventOutcome::UnknownCall);
}

/// Issue 9, item 10: a provider's event time before the reservation (or after `now`) is
/// stored clamped into [reservation, now], and the event detail keeps the provider's value.
async fn provider_times_are_clamped_to_our_clock(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let reserved = t0() + Duration::minutes(10);
    let heard = reserved + Duration::seconds(13);
    let a = placed(&*store, leads[0].id, "CA1", reserved).await;
    // Completed, 42 s long, reported as ending 5 minutes before the reservation.
    let mut e = ev("CA1", CallStatus::Completed, 3);
    e.at = reserved - Duration::minutes(5);
    store
        .apply_call_event(None, &e, &raw("CA1:3"), heard)
        .await
        .unwrap();
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.ended_at, Some(reserved), "{got:?}");
    assert_eq!(got.answered_at, Some(reserved), "{got:?}");
    let events = store.lead_events(leads[0].id).await.unwrap();
    let ended = events
        .iter()
        .find(|r| r.kind == "attempt.ended")
        .expect("attempt.ended event");
    let detail: serde_json::Value = serde_json::from_str(&ended.detail).unwrap();
    assert!(detail["provider_at"].is_string(), "{detail}");
    // A time in the future is clamped to now.
    let b = placed(&*store, leads[1].id, "CA2", reserved).await;
    let mut e = ev("CA2", CallStatus::Busy, 3);
    e.at = heard + Duration::days(400);
    store
        .apply_call_event(None, &e, &raw("CA2:3"), heard)
        .await
        .unwrap();
    let got = store.attempt(b.id).await.unwrap().unwrap();
    assert_eq!(got.ended_at, Some(heard), "{got:?}");
}

/// Issue 9, item 11: callbacks arriving after a final status (Twilio retries, a delayed AMD
/// result, a forged or garbled sequence number) are kept in the log and change nothing of the
/// attempt, concluded or not; only an explicit re-disposition changes a final attempt.
async fn late_events_change_nothing_of_a_final_attempt(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = placed(&*store, leads[0].id, "CA1", t0()).await;
    for (seq, status) in [(1, CallStatus::InProgress), (2, CallStatus::Completed)] {
        let r = store
            .apply_call_event(
                None,
                &ev("CA1", status, seq),
                &raw(&format!("CA1:{seq}")),
                t0(),
            )
            .await
            .unwrap();
        assert!(matches!(r, EventOutcome::Applied { .. }), "{r:?}");
    }
    let ended = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(ended.state, AttemptState::Ended);
    assert_eq!(ended.answered_by, None);
    assert_eq!(ended.last_sequence, Some(2));

    // Late facts that must not land: an AMD result, other figures, a huge sequence number.
    let late = |status: CallStatus, key: &str| {
        let mut e = ev("CA1", status, u32::MAX);
        e.answered_by = Some(outdial_core::AnsweredBy::MachineStart);
        e.duration_s = Some(999);
        e.sip_response_code = Some(486);
        e.at = t0() + Duration::hours(1);
        (e, raw(key))
    };
    let later = t0() + Duration::minutes(5);
    // Final, not yet concluded.
    let (e, r) = late(CallStatus::Completed, "CA1:late-1");
    let outcome = store.apply_call_event(None, &e, &r, later).await.unwrap();
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap(),
        ended,
        "a late event changed a final attempt"
    );
    assert_eq!(outcome, EventOutcome::Late { attempt_id: a.id });
    let d = Disposition::normalise("SALE").unwrap();
    let done = LeadDecision::Done {
        reason: "sold".into(),
    };
    assert!(store
        .conclude_attempt(a.id, &d, &done, &[], later)
        .await
        .unwrap());
    let concluded = store.attempt(a.id).await.unwrap().unwrap();
    // Concluded: neither a late final status, nor a late earlier one, nor one through the
    // attempt hint changes it.
    for (i, status) in [
        CallStatus::Completed,
        CallStatus::InProgress,
        CallStatus::Ringing,
    ]
    .into_iter()
    .enumerate()
    {
        let (e, r) = late(status, &format!("CA1:late-concluded-{i}"));
        let hint = (i == 2).then_some(a.id);
        assert_eq!(
            store.apply_call_event(hint, &e, &r, later).await.unwrap(),
            EventOutcome::Late { attempt_id: a.id },
            "{status:?}"
        );
    }
    let (e, r) = late(CallStatus::Completed, "CA1:late-concluded-0");
    assert_eq!(
        store.apply_call_event(None, &e, &r, later).await.unwrap(),
        EventOutcome::Duplicate,
        "a late event is deduplicated like any other"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got, concluded, "a late event changed a concluded attempt");
    assert_eq!(got.answered_by, None);
    assert_eq!(got.last_sequence, Some(2));
    assert_eq!(
        store.lead(leads[0].id).await.unwrap().unwrap().status,
        LeadStatus::Done
    );
    // Every raw callback is in the log, once.
    let timeline = store.lead_events(leads[0].id).await.unwrap();
    assert_eq!(
        timeline.iter().filter(|e| e.kind == "webhook").count(),
        6,
        "raw webhooks recorded once each, late ones included"
    );
}

/// Sequence numbers are informational: the state moves by status rank, so an outlandish
/// sequence number (4294967295) neither blocks later events nor reorders them.
async fn sequence_numbers_do_not_order_events(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let r = store
        .apply_call_event(
            Some(a.id),
            &ev("CA5", CallStatus::Ringing, u32::MAX),
            &raw("CA5:max"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(r, EventOutcome::Applied { .. }), "{r:?}");
    for (seq, status, state) in [
        (2, CallStatus::InProgress, AttemptState::InProgress),
        (3, CallStatus::Completed, AttemptState::Ended),
    ] {
        let r = store
            .apply_call_event(
                None,
                &ev("CA5", status, seq),
                &raw(&format!("CA5:{seq}")),
                t0(),
            )
            .await
            .unwrap();
        match r {
            EventOutcome::Applied { attempt, .. } => assert_eq!(attempt.state, state),
            other => panic!("{status:?} after a huge sequence number: {other:?}"),
        }
    }
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.call_status, Some(CallStatus::Completed));
    assert_eq!(got.duration_s, Some(42));
}

async fn conclude_once(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let d = Disposition::normalise("BUSY").unwrap();
    let next = LeadDecision::Redial {
        at: t0() + Duration::minutes(2),
    };
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &[], t0())
            .await
            .unwrap(),
        "concluded a non-final attempt"
    );
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Busy, 2),
            &raw("CA1:2"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(store.attempts_to_conclude(10).await.unwrap(), vec![a.id]);
    assert!(store
        .conclude_attempt(a.id, &d, &next, &[], t0())
        .await
        .unwrap());
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &[], t0())
            .await
            .unwrap(),
        "concluded twice"
    );
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(l.status, LeadStatus::Active);
    assert_eq!(l.next_attempt_at, Some(t0() + Duration::minutes(2)));
    assert_eq!(l.disposition, Some(d));
    assert!(store.attempts_to_conclude(10).await.unwrap().is_empty());
}

async fn timestamps_round_trip(store: Arc<dyn Store>) {
    // An event without a sequence number (the reconciler's) leaves none stored.
    let leads = seed(&*store, "seq", &["+12125550199"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let mut e = ev("CA99", CallStatus::Ringing, 0);
    e.sequence = None;
    store
        .apply_call_event(Some(a.id), &e, &raw("CA99:none"), t0())
        .await
        .unwrap();
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().last_sequence,
        None
    );

    let at = Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap() + Duration::microseconds(123_456);
    let c = store.create_campaign("a", &settings(), at).await.unwrap();
    assert_eq!(store.campaign(c.id).await.unwrap().created_at, at);
    let rows = vec![(lead("+12125550101"), LeadPlacement::Active(at))];
    store.insert_leads(c.id, &rows, at).await.unwrap();
    let l = &store.leads_by_phone(&rows[0].0.phone).await.unwrap()[0];
    assert_eq!(l.next_attempt_at, Some(at));
    // Nanoseconds are truncated to microseconds, never rounded up.
    let ns = at + Duration::nanoseconds(999);
    store.reschedule_lead(l.id, ns, "test", at).await.unwrap();
    let l = store.lead(l.id).await.unwrap().unwrap();
    assert_eq!(l.next_attempt_at, Some(at));
}

async fn concurrent_reservations(store: Arc<dyn Store>) {
    let phones: Vec<String> = (0..40)
        .map(|i| format!("+1212555{:04}", 1000 + i))
        .collect();
    let refs: Vec<&str> = phones.iter().map(|s| s.as_str()).collect();
    let leads = seed(&*store, "a", &refs).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let ids: Vec<_> = leads.iter().map(|l| l.id).collect();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for id in ids {
                if let Some(a) = store.reserve_attempt(id, t0()).await.unwrap() {
                    got.push(a.lead_id);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("reservation task panicked"));
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "a lead was reserved twice");
    assert_eq!(n, 40);
}

async fn settings_persist(store: Arc<dyn Store>) {
    assert_eq!(store.setting("dialer").await.unwrap(), None);
    store
        .set_setting("dialer", "running", "test", t0())
        .await
        .unwrap();
    store
        .set_setting("dialer", "stopped", "test", t0())
        .await
        .unwrap();
    assert_eq!(
        store.setting("dialer").await.unwrap().as_deref(),
        Some("stopped")
    );
}

fn phone(p: &str) -> E164 {
    E164::parse(p, Region::US).unwrap()
}

fn dnc(p: &str, scope: DncScope, source: &str) -> DncEntry {
    DncEntry {
        phone: phone(p),
        scope,
        source: source.into(),
        reason: None,
        added_at: t0(),
    }
}

fn scopes(entries: &[DncEntry]) -> Vec<DncScope> {
    let mut s: Vec<DncScope> = entries.iter().map(|e| e.scope).collect();
    s.sort();
    s
}

async fn dnc_add_idempotent(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let at = t0() + Duration::microseconds(123_456) + Duration::nanoseconds(789);
    let first = DncEntry {
        reason: Some("asked not to be called".into()),
        added_at: at,
        ..dnc("+12125550101", DncScope::Internal, "operator")
    };
    let batch = vec![
        first.clone(),
        dnc("+12125550101", DncScope::Campaign(c.id), "disposition"),
        dnc("+12125550102", DncScope::National, "import:dnc.txt"),
    ];
    assert_eq!(store.dnc_add(&batch, t0()).await.unwrap(), 3);
    assert_eq!(
        store.dnc_add(&batch, t0()).await.unwrap(),
        0,
        "a repeated add counted as new"
    );
    // Duplicates within one batch count once; an already listed entry keeps its original
    // source, reason and time.
    let again = vec![
        dnc("+12125550103", DncScope::Internal, "import:x"),
        dnc("(212) 555-0103", DncScope::Internal, "import:x"),
        dnc("+12125550101", DncScope::Internal, "import:x"),
    ];
    assert_eq!(store.dnc_add(&again, t0()).await.unwrap(), 1);
    assert_eq!(store.dnc_add(&[], t0()).await.unwrap(), 0);
    let got = store.dnc_check(&phone("+12125550101"), None).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0],
        DncEntry {
            added_at: crate::to_micros(at),
            ..first
        },
        "entry fields did not round-trip (or a re-add overwrote them)"
    );
    let counts = store.dnc_count().await.unwrap();
    let expected: std::collections::BTreeMap<String, u64> = [
        ("internal".to_owned(), 2),
        ("national".to_owned(), 1),
        (format!("campaign:{}", c.id), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

async fn dnc_scopes(store: Arc<dyn Store>) {
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let b = store.create_campaign("b", &settings(), t0()).await.unwrap();
    let internal = "+12125550101";
    let only_a = "+12125550102";
    let national = "+12125550103";
    let both = "+12125550104";
    let clean = "+12125550105";
    store
        .dnc_add(
            &[
                dnc(internal, DncScope::Internal, "operator"),
                dnc(only_a, DncScope::Campaign(a.id), "disposition"),
                dnc(national, DncScope::National, "import:n.txt"),
                dnc(both, DncScope::National, "import:n.txt"),
                dnc(both, DncScope::Campaign(b.id), "operator"),
                dnc(both, DncScope::Internal, "operator"),
            ],
            t0(),
        )
        .await
        .unwrap();
    let check = |p: &'static str, c: Option<outdial_core::CampaignId>| {
        let store = store.clone();
        async move { scopes(&store.dnc_check(&phone(p), c).await.unwrap()) }
    };
    for c in [Some(a.id), Some(b.id), None] {
        assert_eq!(
            check(internal, c).await,
            vec![DncScope::Internal],
            "internal list must block every campaign ({c:?})"
        );
        assert_eq!(
            check(national, c).await,
            vec![DncScope::National],
            "national list must block every campaign ({c:?})"
        );
        assert!(check(clean, c).await.is_empty(), "unlisted number blocked");
    }
    assert_eq!(
        check(only_a, Some(a.id)).await,
        vec![DncScope::Campaign(a.id)]
    );
    assert!(
        check(only_a, Some(b.id)).await.is_empty(),
        "campaign a's list blocked campaign b"
    );
    assert!(
        check(only_a, None).await.is_empty(),
        "a campaign list applied without a campaign"
    );
    assert_eq!(
        check(both, Some(b.id)).await,
        vec![
            DncScope::Internal,
            DncScope::National,
            DncScope::Campaign(b.id)
        ],
        "every matching list is reported"
    );
    assert_eq!(
        check(both, Some(a.id)).await,
        vec![DncScope::Internal, DncScope::National]
    );
}

async fn dnc_remove(store: Arc<dyn Store>) {
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let p = phone("+12125550101");
    store
        .dnc_add(
            &[
                dnc("+12125550101", DncScope::Internal, "operator"),
                dnc("+12125550101", DncScope::Campaign(a.id), "operator"),
            ],
            t0(),
        )
        .await
        .unwrap();
    assert!(
        !store
            .dnc_remove(&p, &DncScope::National, t0())
            .await
            .unwrap(),
        "removed from a list the number is not on"
    );
    assert!(store
        .dnc_remove(&p, &DncScope::Internal, t0())
        .await
        .unwrap());
    assert!(
        !store
            .dnc_remove(&p, &DncScope::Internal, t0())
            .await
            .unwrap(),
        "removed twice"
    );
    assert!(store.dnc_check(&p, None).await.unwrap().is_empty());
    assert_eq!(
        scopes(&store.dnc_check(&p, Some(a.id)).await.unwrap()),
        vec![DncScope::Campaign(a.id)],
        "removing one list's entry touched another list"
    );
    assert!(store
        .dnc_remove(&p, &DncScope::Campaign(a.id), t0())
        .await
        .unwrap());
    assert!(store.dnc_check(&p, Some(a.id)).await.unwrap().is_empty());
    assert!(store.dnc_count().await.unwrap().is_empty());
    // Re-adding after a removal works and counts as new.
    assert_eq!(
        store
            .dnc_add(&[dnc("+12125550101", DncScope::Internal, "operator")], t0())
            .await
            .unwrap(),
        1
    );
}

async fn phone_attempt_times_across_campaigns(store: Arc<dyn Store>) {
    let p = "+12125550101";
    let a = seed(&*store, "a", &[p, "+12125550199"]).await;
    let b = seed(&*store, "b", &[p]).await;
    let c = seed(&*store, "c", &[p]).await;
    let d = seed(&*store, "d", &[p]).await;
    let h = |n: i64| t0() + Duration::hours(n);
    // Reserved out of time order (ids do not follow reservation times), one at a time
    // (one attempt in flight per number).
    // c at +2h: rejected, not counted.
    let at = store.reserve_attempt(c[0].id, h(2)).await.unwrap().unwrap();
    assert!(store
        .mark_rejected(at.id, "21211", "bad", h(2))
        .await
        .unwrap());
    // d at +3h: ended busy, counted.
    let at = store.reserve_attempt(d[0].id, h(3)).await.unwrap().unwrap();
    store
        .apply_call_event(
            Some(at.id),
            &ev("CA1", CallStatus::Busy, 0),
            &raw("d"),
            h(3),
        )
        .await
        .unwrap();
    // b at +1h: unknown, then proven not placed, not counted.
    let at = store.reserve_attempt(b[0].id, h(1)).await.unwrap().unwrap();
    assert!(store.mark_unknown(at.id, "timeout", h(1)).await.unwrap());
    assert!(store
        .mark_not_placed(at.id, "none", "no call", h(1))
        .await
        .unwrap());
    // Another number, in a's campaign: never counted for p.
    let other = store.reserve_attempt(a[1].id, h(1)).await.unwrap().unwrap();
    assert!(store.mark_unknown(other.id, "timeout", h(1)).await.unwrap());
    // a at t0: unknown (in doubt), counted.
    let at = store.reserve_attempt(a[0].id, t0()).await.unwrap().unwrap();
    assert!(store.mark_unknown(at.id, "timeout", t0()).await.unwrap());

    let times = |since: DateTime<Utc>| {
        let store = store.clone();
        async move { store.phone_attempt_times(&phone(p), since).await.unwrap() }
    };
    assert_eq!(
        times(t0() - Duration::days(1)).await,
        vec![t0(), h(3)],
        "attempts in every campaign, but not rejected or not-placed, earliest first"
    );
    assert_eq!(times(t0()).await, vec![t0(), h(3)], "since is inclusive");
    assert_eq!(times(t0() + Duration::microseconds(1)).await, vec![h(3)]);
    assert_eq!(times(h(3)).await, vec![h(3)]);
    assert!(times(h(3) + Duration::seconds(1)).await.is_empty());
    assert!(store
        .phone_attempt_times(&phone("+12125550198"), t0() - Duration::days(1))
        .await
        .unwrap()
        .is_empty());
}

async fn dispositions_requested_and_redisposed(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let cb = Disposition::normalise("CALLBACK").unwrap();
    let at = t0() + Duration::hours(3);
    assert!(store
        .request_disposition(a.id, &cb, Some(at), "test", t0())
        .await
        .unwrap());
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.requested_disposition, got.callback_at),
        (Some(cb.clone()), Some(at))
    );
    // Not concluded yet: redisposing is refused.
    let done = LeadDecision::Done {
        reason: "sale".into(),
    };
    let sale = Disposition::normalise("SALE").unwrap();
    assert!(!store
        .redispose_attempt(a.id, &sale, None, &done, "test", t0())
        .await
        .unwrap());
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    store
        .conclude_attempt(a.id, &cb, &LeadDecision::Redial { at }, &[], t0())
        .await
        .unwrap();
    // Concluded: requests are refused, redisposition applies to the lead.
    assert!(!store
        .request_disposition(a.id, &sale, None, "test", t0())
        .await
        .unwrap());
    assert!(store
        .redispose_attempt(a.id, &sale, None, &done, "test", t0())
        .await
        .unwrap());
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(
        (l.status, l.disposition),
        (LeadStatus::Done, Some(sale.clone()))
    );
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().disposition,
        Some(sale)
    );
}

async fn fleet_lease_pacer_and_cap(store: Arc<dyn Store>) {
    let ttl = Duration::seconds(30);
    let at = |s: i64| t0() + Duration::seconds(s);
    assert!(store
        .try_acquire_lease("maintenance", "a", ttl, at(0))
        .await
        .unwrap());
    assert!(
        !store
            .try_acquire_lease("maintenance", "b", ttl, at(10))
            .await
            .unwrap(),
        "two holders"
    );
    assert!(
        store
            .try_acquire_lease("maintenance", "a", ttl, at(20))
            .await
            .unwrap(),
        "renewal refused"
    );
    assert!(
        !store
            .try_acquire_lease("maintenance", "b", ttl, at(49))
            .await
            .unwrap(),
        "taken before expiry"
    );
    assert!(
        store
            .try_acquire_lease("maintenance", "b", ttl, at(50))
            .await
            .unwrap(),
        "no takeover after expiry"
    );
    assert!(store
        .try_acquire_lease("maintenance", "a", Duration::zero(), at(60))
        .await
        .is_err());

    let interval = Duration::milliseconds(250);
    assert_eq!(
        store
            .reserve_pacing_slot("calls", interval, at(0))
            .await
            .unwrap(),
        at(0)
    );
    assert_eq!(
        store
            .reserve_pacing_slot("calls", interval, at(0))
            .await
            .unwrap(),
        at(0) + interval
    );
    assert_eq!(
        store
            .reserve_pacing_slot("calls", interval, at(0))
            .await
            .unwrap(),
        at(0) + interval * 2
    );
    assert_eq!(
        store
            .reserve_pacing_slot("calls", interval, at(10))
            .await
            .unwrap(),
        at(10),
        "an idle pacer lags"
    );

    let leads = seed(
        &*store,
        "cap",
        &["+12125550161", "+12125550162", "+12125550163"],
    )
    .await;
    assert!(store
        .reserve_attempt_capped(leads[0].id, t0(), 2)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .reserve_attempt_capped(leads[1].id, t0(), 2)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .reserve_attempt_capped(leads[2].id, t0(), 2)
            .await
            .unwrap()
            .is_none(),
        "cap exceeded"
    );
    assert_eq!(
        store.lead(leads[2].id).await.unwrap().unwrap().status,
        LeadStatus::Active
    );
}

fn new_job(kind: &str, run_at: DateTime<Utc>, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: format!("{{\"kind\":\"{kind}\"}}"),
        run_at,
        dedupe_key: dedupe_key.map(str::to_owned),
    }
}

fn ids(jobs: &[Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

async fn kill_switch_trip_and_resume(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let t1 = t0() + Duration::minutes(5) + Duration::nanoseconds(1_500);
    assert!(store.kill_switches().await.unwrap().is_empty());
    assert!(
        !store
            .set_kill_switch(KillScope::Global, false, "nothing to resume", "api", t0())
            .await
            .unwrap(),
        "resuming a switch never set changed it"
    );
    assert!(
        store.kill_switches().await.unwrap().is_empty(),
        "a resume of a switch never set stored a row"
    );
    assert_eq!(store.latest_event_at("api").await.unwrap(), None);

    assert!(store
        .set_kill_switch(KillScope::Global, true, "carrier down", "monitor:a", t0())
        .await
        .unwrap());
    assert_eq!(
        store.latest_event_at("monitor:a").await.unwrap(),
        Some(t0()),
        "a trip recorded no event"
    );
    assert!(
        !store
            .set_kill_switch(KillScope::Global, true, "again", "monitor:b", t1)
            .await
            .unwrap(),
        "a second trip reported a change"
    );
    assert_eq!(
        store.latest_event_at("monitor:b").await.unwrap(),
        None,
        "a second trip recorded an event"
    );
    assert!(store
        .set_kill_switch(
            KillScope::Campaign(c.id),
            true,
            "too many failures",
            "monitor:a",
            t0()
        )
        .await
        .unwrap());
    let global = KillSwitch {
        scope: KillScope::Global,
        tripped: true,
        reason: "carrier down".into(),
        source: "monitor:a".into(),
        changed_at: t0(),
    };
    let campaign = KillSwitch {
        scope: KillScope::Campaign(c.id),
        tripped: true,
        reason: "too many failures".into(),
        source: "monitor:a".into(),
        changed_at: t0(),
    };
    assert_eq!(
        store.kill_switches().await.unwrap(),
        vec![campaign.clone(), global.clone()],
        "switches by scope key, unchanged by the repeated trip"
    );

    assert!(store
        .set_kill_switch(KillScope::Global, false, "fixed", "operator:ann", t1)
        .await
        .unwrap());
    assert_eq!(
        store.latest_event_at("operator:ann").await.unwrap(),
        Some(to_micros(t1)),
        "a resume recorded no event"
    );
    assert!(
        !store
            .set_kill_switch(KillScope::Global, false, "fixed again", "operator:bob", t1)
            .await
            .unwrap(),
        "a second resume reported a change"
    );
    assert_eq!(store.latest_event_at("operator:bob").await.unwrap(), None);
    let resumed = KillSwitch {
        tripped: false,
        reason: "fixed".into(),
        source: "operator:ann".into(),
        changed_at: to_micros(t1),
        ..global
    };
    assert_eq!(
        store.kill_switches().await.unwrap(),
        vec![campaign, resumed]
    );
    // And it trips again after a resume.
    assert!(store
        .set_kill_switch(KillScope::Global, true, "down again", "monitor:a", t1)
        .await
        .unwrap());
    assert!(
        store
            .kill_switches()
            .await
            .unwrap()
            .iter()
            .all(|k| k.tripped),
        "a trip after a resume did not take"
    );
}

async fn jobs_lifecycle(store: Arc<dyn Store>) {
    let s = |n: i64| t0() + Duration::seconds(n);
    let lock = Duration::seconds(30);
    assert!(store.job_counts().await.unwrap().is_empty());
    let a = store
        .enqueue_job(&new_job("crm.notify", t0(), Some("a")), t0())
        .await
        .unwrap()
        .expect("enqueue refused");
    assert_eq!(
        store
            .enqueue_job(&new_job("crm.notify", s(5), Some("a")), t0())
            .await
            .unwrap(),
        None,
        "a job with a known dedupe key was enqueued"
    );
    let b = store
        .enqueue_job(&new_job("alert.email", s(60), None), t0())
        .await
        .unwrap()
        .unwrap();
    let c = store
        .enqueue_job(&new_job("alert.chat", s(-1), None), t0())
        .await
        .unwrap()
        .unwrap();
    let got = store.job(a).await.unwrap().unwrap();
    assert_eq!(
        got,
        Job {
            id: a,
            kind: "crm.notify".into(),
            payload: "{\"kind\":\"crm.notify\"}".into(),
            state: JobState::Pending,
            attempts: 0,
            run_at: t0(),
            locked_until: None,
            error_code: None,
            error_message: None,
            created_at: t0(),
            updated_at: t0(),
        }
    );
    assert_eq!(store.job(JobId(a.0 + 1000)).await.unwrap(), None);

    // Due jobs, oldest run_at first; b is not due yet.
    assert!(store
        .claim_jobs("w1", t0(), lock, 0)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_jobs("w1", t0(), lock, 10).await.unwrap();
    assert_eq!(ids(&claimed), vec![c, a]);
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1);
        assert_eq!(j.locked_until, Some(s(30)));
    }
    assert_eq!(store.job(a).await.unwrap().unwrap(), claimed[1]);
    assert!(
        store
            .claim_jobs("w2", s(10), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a held job was claimed again"
    );
    assert!(
        store
            .claim_jobs("w2", s(30), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a claim was taken at the instant it expires"
    );
    // w1 died: its claims expired and are claimable again, oldest first.
    let again = store.claim_jobs("w2", s(31), lock, 1).await.unwrap();
    assert_eq!(ids(&again), vec![c], "an expired claim was not re-claimed");
    assert_eq!((again[0].attempts, again[0].locked_until), (2, Some(s(61))));
    assert!(store.finish_job(c, s(32)).await.unwrap());
    assert!(!store.finish_job(c, s(32)).await.unwrap(), "finished twice");
    let done = store.job(c).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.locked_until, done.updated_at),
        (JobState::Done, None, s(32))
    );
    assert!(
        !store.retry_job(c, s(40), "x", "y", s(33)).await.unwrap(),
        "a done job was retried"
    );
    assert!(
        !store.dead_letter_job(c, "x", "y", s(33)).await.unwrap(),
        "a done job was dead-lettered"
    );

    // a (still running, its claim expired) fails and is retried later, keeping the error.
    assert!(store
        .retry_job(a, s(300), "http-503", "unavailable", s(33))
        .await
        .unwrap());
    assert!(!store
        .retry_job(a, s(300), "http-503", "unavailable", s(33))
        .await
        .unwrap());
    assert!(
        !store.finish_job(a, s(33)).await.unwrap(),
        "finished a pending job"
    );
    let retried = store.job(a).await.unwrap().unwrap();
    assert_eq!(
        (
            retried.state,
            retried.run_at,
            retried.locked_until,
            retried.attempts,
            retried.error_code.as_deref(),
            retried.error_message.as_deref(),
        ),
        (
            JobState::Pending,
            s(300),
            None,
            1,
            Some("http-503"),
            Some("unavailable")
        )
    );
    assert!(
        store
            .claim_jobs("w3", s(299), lock, 10)
            .await
            .unwrap()
            .iter()
            .all(|j| j.id != a),
        "a retried job ran before its time"
    );
    // Dead letters take running jobs (b, due at s(60), was just claimed) and pending ones (a).
    let b_job = store.job(b).await.unwrap().unwrap();
    assert_eq!(b_job.state, JobState::Running);
    assert!(store
        .dead_letter_job(b, "bad_payload", "no such alert", s(300))
        .await
        .unwrap());
    assert!(
        !store
            .dead_letter_job(b, "bad_payload", "again", s(300))
            .await
            .unwrap(),
        "dead-lettered twice"
    );
    assert!(!store.finish_job(b, s(300)).await.unwrap());
    assert!(store
        .dead_letter_job(a, "unknown_kind", "no handler", s(301))
        .await
        .unwrap());
    let dead = store.job(b).await.unwrap().unwrap();
    assert_eq!(
        (
            dead.state,
            dead.locked_until,
            dead.error_code.as_deref(),
            dead.error_message.as_deref()
        ),
        (
            JobState::Dead,
            None,
            Some("bad_payload"),
            Some("no such alert")
        )
    );
    assert!(
        store
            .claim_jobs("w3", s(400), lock, 10)
            .await
            .unwrap()
            .is_empty(),
        "a dead letter was claimed"
    );
    assert_eq!(
        ids(&store.jobs(Some(JobState::Dead), 10).await.unwrap()),
        vec![b, a]
    );
    let counts = store.job_counts().await.unwrap();
    let expected: std::collections::BTreeMap<String, u64> =
        [("dead".to_owned(), 2), ("done".to_owned(), 1)]
            .into_iter()
            .collect();
    assert_eq!(counts, expected);

    // The operator requeues b: pending now, attempts reset, error kept.
    assert!(
        !store.requeue_job(c, s(500)).await.unwrap(),
        "requeued a done job"
    );
    assert!(store.requeue_job(b, s(500)).await.unwrap());
    assert!(
        !store.requeue_job(b, s(500)).await.unwrap(),
        "requeued twice"
    );
    let requeued = store.job(b).await.unwrap().unwrap();
    assert_eq!(
        (
            requeued.state,
            requeued.attempts,
            requeued.run_at,
            requeued.error_code.as_deref()
        ),
        (JobState::Pending, 0, s(500), Some("bad_payload"))
    );
    assert_eq!(ids(&store.jobs(None, 10).await.unwrap()), vec![c, b, a]);
    assert_eq!(ids(&store.jobs(None, 2).await.unwrap()), vec![c, b]);
    assert_eq!(
        ids(&store.jobs(Some(JobState::Pending), 10).await.unwrap()),
        vec![b]
    );
    assert!(store
        .jobs(Some(JobState::Running), 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = store.claim_jobs("w4", s(500), lock, 10).await.unwrap();
    assert_eq!(ids(&claimed), vec![b]);
    assert_eq!(claimed[0].attempts, 1);
}

async fn jobs_claimed_exclusively(store: Arc<dyn Store>) {
    for i in 0..40 {
        store
            .enqueue_job(
                &new_job("crm.notify", t0() - Duration::milliseconds(i), None),
                t0(),
            )
            .await
            .unwrap()
            .unwrap();
    }
    let lock = Duration::seconds(60);
    let claim_all = |now: DateTime<Utc>| {
        let mut tasks = Vec::new();
        for w in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = store
                        .claim_jobs(&format!("worker-{w}"), now, lock, 3)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break got;
                    }
                    got.extend(batch.into_iter().map(|j| (j.id, j.attempts)));
                }
            }));
        }
        async move {
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("claim task panicked"));
            }
            all
        }
    };
    let mut all = claim_all(t0()).await;
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "a job was claimed twice");
    assert_eq!(n, 40);
    assert!(all.iter().all(|(_, attempts)| *attempts == 1));
    // Every claim expires together: each job is claimed once more.
    let mut all = claim_all(t0() + Duration::seconds(61)).await;
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "an expired job was re-claimed twice");
    assert_eq!(n, 40);
    assert!(all.iter().all(|(_, attempts)| *attempts == 2));
    assert_eq!(store.job_counts().await.unwrap().get("running"), Some(&40));
}

async fn alerts_raise_once_with_a_job_per_channel(store: Arc<dyn Store>) {
    let alert = NewAlert {
        kind: "kill_switch.tripped".into(),
        scope: "global".into(),
        subject: "Dialing stopped".into(),
        body: "The carrier failed 5 calls in a row.\nResume with `outdial resume`.".into(),
        dedupe_key: Some("kill:global:1".into()),
    };
    let t1 = t0() + Duration::seconds(1) + Duration::nanoseconds(999);
    let id = store
        .raise_alert(&alert, &["alert.email", "alert.chat"], t1)
        .await
        .unwrap()
        .expect("alert not raised");
    let record = AlertRecord {
        id,
        kind: alert.kind.clone(),
        scope: alert.scope.clone(),
        subject: alert.subject.clone(),
        body: alert.body.clone(),
        raised_at: to_micros(t1),
    };
    assert_eq!(store.alert(id).await.unwrap(), Some(record.clone()));
    let jobs = store.jobs(None, 10).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["alert.chat", "alert.email"],
        "one job per channel"
    );
    for j in &jobs {
        let payload: serde_json::Value = serde_json::from_str(&j.payload).unwrap();
        assert_eq!(payload, serde_json::json!({ "alert_id": id.0 }));
        assert_eq!(
            (j.state, j.run_at, j.attempts),
            (JobState::Pending, to_micros(t1), 0)
        );
    }
    // The same dedupe key: nothing raised, nothing enqueued.
    assert_eq!(
        store
            .raise_alert(&alert, &["alert.email", "alert.chat"], t1)
            .await
            .unwrap(),
        None,
        "an alert was raised twice"
    );
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 2);
    assert_eq!(store.alerts(10).await.unwrap(), vec![record.clone()]);

    // Without a key every alert is raised; without channels none is sent.
    let plain = NewAlert {
        dedupe_key: None,
        subject: "Webhooks are late".into(),
        ..alert.clone()
    };
    let second = store.raise_alert(&plain, &[], t1).await.unwrap().unwrap();
    let third = store
        .raise_alert(&plain, &["alert.email"], t1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 3);
    let listed: Vec<AlertId> = store
        .alerts(10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec![third, second, id], "alerts newest first");
    assert_eq!(store.alerts(1).await.unwrap().len(), 1);
    assert_eq!(store.alert(AlertId(third.0 + 1000)).await.unwrap(), None);
}

async fn conclude_enqueues_follow_up_once(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let d = Disposition::normalise("BUSY").unwrap();
    let next = LeadDecision::Redial {
        at: t0() + Duration::minutes(2),
    };
    let follow_up = vec![
        NewJob {
            kind: "attempt.concluded".into(),
            payload: serde_json::json!({ "attempt_id": a.id.0 }).to_string(),
            run_at: t0(),
            dedupe_key: Some(format!("attempt.concluded:{}", a.id)),
        },
        new_job("crm.notify", t0(), None),
    ];
    assert!(!store
        .conclude_attempt(a.id, &d, &next, &follow_up, t0())
        .await
        .unwrap());
    assert!(
        store.job_counts().await.unwrap().is_empty(),
        "follow-up enqueued for an attempt that was not concluded"
    );
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Busy, 2),
            &raw("CA1:2"),
            t0(),
        )
        .await
        .unwrap();
    assert!(store
        .conclude_attempt(a.id, &d, &next, &follow_up, t0())
        .await
        .unwrap());
    let jobs = store.jobs(None, 10).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["attempt.concluded", "crm.notify"]);
    assert!(jobs.iter().all(|j| j.state == JobState::Pending));
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &follow_up, t0())
            .await
            .unwrap(),
        "concluded twice"
    );
    assert_eq!(
        store.jobs(None, 10).await.unwrap().len(),
        2,
        "a second conclusion enqueued follow-up"
    );
}

async fn recent_attempts_newest_first(store: Arc<dyn Store>) {
    let a = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let b = seed(&*store, "b", &["+12125550103"]).await;
    assert!(store.recent_attempts(None, 10).await.unwrap().is_empty());
    let a0 = store.reserve_attempt(a[0].id, t0()).await.unwrap().unwrap();
    let b0 = store.reserve_attempt(b[0].id, t0()).await.unwrap().unwrap();
    let a1 = store.reserve_attempt(a[1].id, t0()).await.unwrap().unwrap();
    assert!(store.mark_unknown(a0.id, "timeout", t0()).await.unwrap());
    let got = |c: Option<outdial_core::CampaignId>, limit: u32| {
        let store = store.clone();
        async move {
            store
                .recent_attempts(c, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|x| x.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(got(None, 10).await, vec![a1.id, b0.id, a0.id]);
    assert_eq!(got(None, 2).await, vec![a1.id, b0.id]);
    assert_eq!(got(Some(a0.campaign_id), 10).await, vec![a1.id, a0.id]);
    assert_eq!(got(Some(b0.campaign_id), 10).await, vec![b0.id]);
    assert_eq!(got(Some(a0.campaign_id), 1).await, vec![a1.id]);
    assert!(
        got(Some(outdial_core::CampaignId(a0.campaign_id.0 + 1000)), 10)
            .await
            .is_empty()
    );
    let all = store.recent_attempts(None, 10).await.unwrap();
    assert_eq!(
        all[0].state,
        AttemptState::Reserved,
        "reserved attempts included"
    );
    assert_eq!(all[2].state, AttemptState::Unknown);
}

async fn latest_event_at_by_source(store: Arc<dyn Store>) {
    assert_eq!(store.latest_event_at("twilio-webhook").await.unwrap(), None);
    let late = t0() + Duration::seconds(5) + Duration::nanoseconds(123_456_789);
    store
        .record_event(None, None, "webhook", "twilio-webhook", "{}", late)
        .await
        .unwrap();
    // Recorded after, but stamped earlier: the newest instant wins, not the newest row.
    store
        .record_event(None, None, "webhook", "twilio-webhook", "{}", t0())
        .await
        .unwrap();
    store
        .record_event(
            None,
            None,
            "x",
            "reconciler",
            "{}",
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.latest_event_at("twilio-webhook").await.unwrap(),
        Some(to_micros(late))
    );
    assert_eq!(
        store.latest_event_at("reconciler").await.unwrap(),
        Some(t0() + Duration::hours(1))
    );
    assert_eq!(store.latest_event_at("twilio").await.unwrap(), None);
}

async fn due_leads_skip_tripped_campaigns(store: Arc<dyn Store>) {
    let a = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let b = seed(&*store, "b", &["+12125550201"]).await;
    let due = |n| {
        let store = store.clone();
        async move { store.due_leads(t0(), n).await.unwrap() }
    };
    assert_eq!(due(10).await.len(), 3);
    store
        .set_kill_switch(
            KillScope::Campaign(a[0].campaign_id),
            true,
            "review",
            "api",
            t0(),
        )
        .await
        .unwrap();
    let left = due(2).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].id, b[0].id);
    // The global switch is the caller's to check; resuming brings the campaign back.
    store
        .set_kill_switch(KillScope::Global, true, "stop", "api", t0())
        .await
        .unwrap();
    assert_eq!(due(10).await.len(), 1);
    store
        .set_kill_switch(
            KillScope::Campaign(a[0].campaign_id),
            false,
            "ok",
            "api",
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(due(10).await.len(), 3);
}
