//! Backfill planning: grouping, each skip reason, history → caps, policy continuation, the
//! forecast, and plan + apply against a SQLite store (a rerun adds nothing).

use super::*;
use chrono::TimeZone;
use chrono_tz::America::New_York;
use outdial_core::{AnswerBehaviour, AnsweredBy, ProviderCallId, Region};
use outdial_store::LeadPlacement;

/// A New York number (area code 212).
const NY: &str = "+12125550101";

fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    New_York
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response/>"),
    )
}

fn logged(id: &str, to: &str, at: DateTime<Utc>, status: CallStatus) -> LoggedCall {
    LoggedCall {
        call_id: ProviderCallId::parse(id).unwrap(),
        to: E164::parse(to, Region::US).unwrap(),
        from: None,
        created_at: at,
        ended_at: status.is_final().then(|| at + Duration::seconds(30)),
        status,
        answered_by: None,
        duration_s: status.is_final().then_some(30),
        disposition_tag: None,
        bad_number: false,
    }
}

fn rules() -> StateRules {
    StateRules::builtin()
}

fn one(calls: &[LoggedCall], facts: &NumberFacts, now: DateTime<Utc>) -> NumberPlan {
    let refs: Vec<&LoggedCall> = calls.iter().collect();
    plan_number(&settings(), &rules(), &refs, facts, now)
}

fn added(p: NumberPlan) -> Addition {
    match p {
        NumberPlan::Add(a) => *a,
        other => panic!("expected an addition, got {other:?}"),
    }
}

fn skipped(p: NumberPlan) -> (SkipReason, Option<String>) {
    match p {
        NumberPlan::Skip { reason, dnc_call } => (reason, dnc_call),
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn calls_group_by_number_oldest_first() {
    let t = ny(2026, 3, 2, 10, 0);
    let calls = vec![
        logged(
            "b2",
            "+12125550102",
            t + Duration::hours(2),
            CallStatus::Busy,
        ),
        logged("a2", NY, t + Duration::hours(1), CallStatus::Busy),
        logged("b1", "(212) 555-0102", t, CallStatus::NoAnswer),
        logged("a1", NY, t, CallStatus::NoAnswer),
    ];
    let g = group_by_number(&calls);
    assert_eq!(g.len(), 2);
    let ids: Vec<Vec<&str>> = g
        .values()
        .map(|v| v.iter().map(|c| c.call_id.as_str()).collect())
        .collect();
    assert_eq!(ids, [vec!["a1", "a2"], vec!["b1", "b2"]]);
}

#[test]
fn each_skip_reason() {
    let t = ny(2026, 3, 2, 10, 0);
    let now = t + Duration::hours(1);
    let base = vec![logged("c1", NY, t, CallStatus::NoAnswer)];
    let facts = NumberFacts::default();
    assert!(matches!(one(&base, &facts, now), NumberPlan::Add(_)));

    let lead = NumberFacts {
        already_lead: true,
        ..NumberFacts::default()
    };
    assert_eq!(skipped(one(&base, &lead, now)).0, SkipReason::AlreadyLead);

    let mut sale = base.clone();
    let mut c = logged("c2", NY, t + Duration::minutes(5), CallStatus::Completed);
    c.disposition_tag = Some("transfer sale".into());
    sale.push(c);
    let code = |s: &str| Disposition::normalise(s).unwrap();
    assert_eq!(
        skipped(one(&sale, &facts, now)),
        (SkipReason::Finished(code("SALE")), None)
    );

    // A do-not-call disposition, later than a sale, wins and names its call.
    let mut dnc = sale.clone();
    let mut c = logged("c3", NY, t + Duration::minutes(9), CallStatus::Completed);
    c.disposition_tag = Some("DO_NOT_CALL".into());
    dnc.push(c);
    assert_eq!(
        skipped(one(&dnc, &facts, now)),
        (SkipReason::Finished(code("DNC")), Some("c3".into()))
    );

    let mut bad = base.clone();
    let mut c = logged("c4", NY, t + Duration::minutes(5), CallStatus::Failed);
    c.bad_number = true;
    bad.push(c);
    assert_eq!(
        skipped(one(&bad, &facts, now)).0,
        SkipReason::Finished(code("BAD_NUMBER"))
    );

    let listed = NumberFacts {
        dnc_lists: vec!["internal".into()],
        ..NumberFacts::default()
    };
    assert_eq!(skipped(one(&base, &listed, now)).0, SkipReason::DncList);
    let excluded = NumberFacts {
        excluded: true,
        ..NumberFacts::default()
    };
    assert_eq!(skipped(one(&base, &excluded, now)).0, SkipReason::Excluded);

    // A live call: skipped while it may still be going; taken as failed once it cannot be.
    let mut live = base.clone();
    live.push(logged(
        "c5",
        NY,
        now - Duration::minutes(2),
        CallStatus::InProgress,
    ));
    assert_eq!(
        skipped(one(&live, &facts, now)).0,
        SkipReason::CallInProgress
    );
    let a = added(one(&live, &facts, now + Duration::hours(2)));
    assert_eq!(a.past[1].status, CallStatus::Failed);
    assert_eq!(a.past[1].disposition.as_str(), "FAILED");
}

#[test]
fn eight_calls_today_are_not_called_again_today() {
    let calls: Vec<LoggedCall> = (0..8)
        .map(|i| {
            logged(
                &format!("c{i}"),
                NY,
                ny(2026, 3, 2, 9 + i, 0),
                CallStatus::NoAnswer,
            )
        })
        .collect();
    let now = ny(2026, 3, 2, 17, 30);
    let a = added(one(&calls, &NumberFacts::default(), now));
    let LeadDecision::Redial { at } = a.decision else {
        panic!("{:?}", a.decision);
    };
    assert_eq!(
        at,
        ny(2026, 3, 3, 8, 0),
        "the next local day, at the window's opening"
    );
    assert_eq!(a.past.len(), 8);
    assert!(a.past.iter().all(|p| p.disposition.as_str() == "NO_ANSWER"));
    // Seven calls leave one for today, after the policy's interval from the last.
    let a = added(one(&calls[..7], &NumberFacts::default(), now));
    let LeadDecision::Redial { at } = a.decision else {
        panic!("{:?}", a.decision);
    };
    assert_eq!(at, now, "the interval after the 7th call has passed");
}

#[test]
fn the_policy_goes_on_from_the_last_call() {
    let t = ny(2026, 3, 2, 10, 0);
    let calls = vec![
        logged("c1", NY, t, CallStatus::NoAnswer),
        logged("c2", NY, t + Duration::minutes(10), CallStatus::Busy),
    ];
    let ended = t + Duration::minutes(10) + Duration::seconds(30);
    let s = settings();
    // After the 2nd attempt: the interval before the 3rd.
    let wait = s.redial.delay_before(3);
    assert!(wait > Duration::zero());
    let now = t + Duration::minutes(11);
    let a = added(one(&calls, &NumberFacts::default(), now));
    assert_eq!(a.decision, LeadDecision::Redial { at: ended + wait });
    assert_eq!(a.past[1].disposition.as_str(), "BUSY");
    assert_eq!(a.past[1].ended_at, ended);
    // Well after: due now, not in the past.
    let later = t + Duration::hours(3);
    let a = added(one(&calls, &NumberFacts::default(), later));
    assert_eq!(a.decision, LeadDecision::Redial { at: later });
    // Calls to the number from another campaign count against its number caps.
    let mut capped = settings();
    capped.caps.per_number_24h = Some(3);
    let facts = NumberFacts {
        number_history: vec![t - Duration::hours(1)],
        ..NumberFacts::default()
    };
    let refs: Vec<&LoggedCall> = calls.iter().collect();
    let p = plan_number(&capped, &rules(), &refs, &facts, later);
    let LeadDecision::Redial { at } = added(p).decision else {
        panic!()
    };
    assert_eq!(at, t - Duration::hours(1) + Duration::hours(24));
    // A total cap reached: added, done.
    let mut total = settings();
    total.redial.max_total = Some(2);
    let p = plan_number(&total, &rules(), &refs, &NumberFacts::default(), later);
    assert!(
        matches!(added(p).decision, LeadDecision::Done { .. }),
        "limits reached"
    );
}

#[test]
fn answered_calls_keep_their_times_and_machines_are_not_finished() {
    let t = ny(2026, 3, 2, 10, 0);
    let mut c = logged("c1", NY, t, CallStatus::Completed);
    c.answered_by = Some(AnsweredBy::MachineStart);
    c.duration_s = Some(20);
    c.ended_at = Some(t + Duration::seconds(50));
    let a = added(one(&[c], &NumberFacts::default(), t + Duration::hours(1)));
    let p = &a.past[0];
    assert_eq!(p.disposition.as_str(), "VOICEMAIL");
    assert_eq!(p.answered_at, Some(t + Duration::seconds(30)));
    assert_eq!((p.started_at, p.ended_at), (t, t + Duration::seconds(50)));
}

#[test]
fn the_forecast_follows_daily_caps() {
    let now = ny(2026, 3, 2, 17, 30);
    let capped: Vec<LoggedCall> = (0..8)
        .map(|i| {
            logged(
                &format!("c{i}"),
                NY,
                ny(2026, 3, 2, 9 + i, 0),
                CallStatus::NoAnswer,
            )
        })
        .collect();
    let fresh = vec![logged(
        "d1",
        "+12125550102",
        now - Duration::hours(1),
        CallStatus::Busy,
    )];
    let a = added(one(&capped, &NumberFacts::default(), now));
    let b = added(one(&fresh, &NumberFacts::default(), now));
    let f = forecast(&settings(), &rules(), &[a, b], now, 3);
    let days: Vec<NaiveDate> = f.iter().map(|d| d.day).collect();
    let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
    assert_eq!(days, [d(2), d(3), d(4)]);
    assert_eq!(f[0].due, 1, "only the fresh number is due today");
    // The fresh number (one call): now (17:30), then the intervals 5, 10, 30, 60 minutes;
    // the next, 120 minutes after 19:15, falls past 21:00.
    assert_eq!(f[0].calls_at_most, 5, "{f:?}");
    assert_eq!(f[1].due, 1, "the capped number is first due tomorrow");
    // Tomorrow both numbers are past the interval list, so every gap is its last value
    // (120 min): 08:00, 10:00, …, 20:00 — 7 calls each, under the daily cap of 8.
    assert_eq!(f[1].calls_at_most, 14, "{f:?}");
    assert!(f[1].calls_at_most <= 2 * u64::from(settings().redial.max_per_local_day));
    assert_eq!(f[2].due, 0);
}

#[tokio::test]
async fn plan_then_apply_and_a_rerun_adds_nothing() {
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        outdial_store_sqlite::SqliteStore::in_memory()
            .await
            .unwrap(),
    );
    let now = ny(2026, 3, 2, 17, 30);
    let campaign = store.create_campaign("c", &settings(), now).await.unwrap();
    let existing = NewLead {
        phone: E164::parse("+12125550103", Region::US).unwrap(),
        contact: LeadContact::default(),
    };
    store
        .insert_leads(campaign.id, &[(existing, LeadPlacement::Active(now))], now)
        .await
        .unwrap();
    let t = ny(2026, 3, 2, 10, 0);
    let mut dnc = logged("x3", "+12125550104", t, CallStatus::Completed);
    dnc.disposition_tag = Some("dnc".into());
    let calls = vec![
        logged("x1", NY, t, CallStatus::NoAnswer),
        logged("x2", NY, t + Duration::hours(1), CallStatus::Busy),
        logged("y1", "+12125550103", t, CallStatus::NoAnswer),
        dnc,
        logged("z1", "+12125550105", t, CallStatus::NoAnswer),
    ];
    let excluded: HashSet<E164> = [E164::parse("+12125550105", Region::US).unwrap()].into();
    let mut ticks = 0;
    let p = plan(
        &*store,
        &campaign,
        &rules(),
        &calls,
        &excluded,
        now,
        &mut |_, _| ticks += 1,
    )
    .await
    .unwrap();
    assert_eq!((p.calls, p.numbers, ticks), (5, 4, 4));
    assert_eq!(p.additions.len(), 1);
    assert_eq!(p.skipped.get(&SkipReason::AlreadyLead), Some(&1));
    assert_eq!(p.skipped.get(&SkipReason::Excluded), Some(&1));
    assert_eq!(p.dnc_requests.len(), 1);
    let r = apply(&*store, &campaign, &p, now, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((r.added, r.active, r.attempts, r.dnc_added), (1, 1, 2, 1));
    let phone = E164::parse(NY, Region::US).unwrap();
    let lead = store.leads_by_phone(&phone).await.unwrap().remove(0);
    assert_eq!(lead.attempt_count, 2);
    assert_eq!(
        store.lead_attempt_times(lead.id).await.unwrap(),
        [t, t + Duration::hours(1)]
    );
    let listed = store
        .dnc_check(&E164::parse("+12125550104", Region::US).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    // Rerun: the added number is a lead now; nothing is written twice.
    let p2 = plan(
        &*store,
        &campaign,
        &rules(),
        &calls,
        &excluded,
        now,
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert!(p2.additions.is_empty());
    assert_eq!(p2.skipped.get(&SkipReason::AlreadyLead), Some(&2));
    let r2 = apply(&*store, &campaign, &p2, now, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((r2.added, r2.dnc_added), (0, 0));
    // Applying the first plan again (an interrupted run's plan) adds nothing either.
    let r3 = apply(&*store, &campaign, &p, now, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((r3.added, r3.already_lead), (0, 1));
    assert_eq!(store.lead_attempts(lead.id).await.unwrap().len(), 2);
}
