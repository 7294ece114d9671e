//! Conformance cases of backfill ([`Leads::backfill_lead`]).

use super::*;
use crate::{PastAttempt, BACKFILL_SOURCE};
use outdial_core::AnsweredBy;

fn past(call: &str, minutes: i64, status: CallStatus, disposition: &str) -> PastAttempt {
    let started_at = t0() - Duration::hours(3) + Duration::minutes(minutes);
    PastAttempt {
        call_id: ProviderCallId::parse(call).unwrap(),
        started_at,
        answered_at: (status == CallStatus::Completed).then(|| started_at + Duration::seconds(5)),
        ended_at: started_at + Duration::seconds(40),
        status,
        answered_by: (status == CallStatus::Completed).then_some(AnsweredBy::MachineStart),
        duration_s: Some(35),
        disposition: Disposition::normalise(disposition).unwrap(),
    }
}

/// Conformance case `backfill_lead_once_keyed_by_call_id`: a backfilled lead starts as its
/// decision says with its past calls as concluded attempts in time order (counted by the
/// caps, never concluded again); a rerun writes nothing; a call id already stored is left out
/// for another campaign's lead; bad input writes nothing.
pub async fn backfill_lead_once_keyed_by_call_id(store: Arc<dyn Store>) {
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let b = store.create_campaign("b", &settings(), t0()).await.unwrap();
    let p = "+12125550101";
    // Given out of time order: stored oldest first.
    let calls = vec![
        past("bf-3", 60, CallStatus::Completed, "VOICEMAIL"),
        past("bf-1", 0, CallStatus::NoAnswer, "NO_ANSWER"),
        past("bf-2", 30, CallStatus::Busy, "BUSY"),
    ];
    let due = t0() + Duration::minutes(90);
    let redial = LeadDecision::Redial { at: due };
    let got = store
        .backfill_lead(a.id, &lead(p), &calls, &redial, t0())
        .await
        .unwrap()
        .expect("a new number is added");
    assert_eq!((got.attempts, got.known_calls), (3, 0));
    let l = store.lead(got.lead_id).await.unwrap().unwrap();
    assert_eq!(l.campaign_id, a.id);
    assert_eq!(l.status, LeadStatus::Active);
    assert_eq!(l.next_attempt_at, Some(due));
    assert_eq!(l.attempt_count, 3);
    assert_eq!(
        l.disposition.as_ref().map(|d| d.as_str()),
        Some("VOICEMAIL")
    );
    let atts = store.lead_attempts(got.lead_id).await.unwrap();
    let ids: Vec<&str> = atts
        .iter()
        .map(|x| x.call_id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["bf-1", "bf-2", "bf-3"], "stored oldest first");
    for (i, x) in atts.iter().enumerate() {
        assert_eq!(x.number, i as u32 + 1);
        assert_eq!(x.state, AttemptState::Ended);
        assert!(x.concluded_at.is_some(), "a past attempt is concluded");
        assert_eq!(x.phone.as_str(), p);
    }
    let third = &atts[2];
    assert_eq!(third.reserved_at, calls[0].started_at);
    assert_eq!(third.placed_at, Some(calls[0].started_at));
    assert_eq!(third.answered_at, calls[0].answered_at);
    assert_eq!(third.ended_at, Some(calls[0].ended_at));
    assert_eq!(third.call_status, Some(CallStatus::Completed));
    assert_eq!(third.answered_by, Some(AnsweredBy::MachineStart));
    assert_eq!(third.duration_s, Some(35));
    assert_eq!(third.disposition.as_ref().unwrap().as_str(), "VOICEMAIL");
    assert!(
        store.attempts_to_conclude(100).await.unwrap().is_empty(),
        "past attempts are never concluded again"
    );
    let mut times: Vec<_> = calls.iter().map(|c| c.started_at).collect();
    times.sort();
    assert_eq!(store.lead_attempt_times(got.lead_id).await.unwrap(), times);
    assert_eq!(
        store
            .phone_attempt_times(&phone(p), t0() - Duration::days(1))
            .await
            .unwrap(),
        times,
        "past calls count against the number's caps"
    );
    let events = store.lead_events(got.lead_id).await.unwrap();
    assert!(
        events.iter().all(|e| e.source == BACKFILL_SOURCE),
        "{events:?}"
    );
    let ended = events.iter().filter(|e| e.kind == "attempt.ended").count();
    assert_eq!(ended, 3, "{events:?}");
    assert!(events.iter().any(|e| e.kind == "lead.concluded"));

    // A rerun: the campaign has the number, nothing is written.
    let again = store
        .backfill_lead(a.id, &lead(p), &calls, &redial, t0())
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(store.lead_attempts(got.lead_id).await.unwrap().len(), 3);
    assert_eq!(store.leads_by_phone(&phone(p)).await.unwrap().len(), 1);

    // The lead goes on where the past left it: the next attempt is number 4.
    let next = store
        .reserve_attempt(got.lead_id, due)
        .await
        .unwrap()
        .expect("the backfilled lead is due and its number free");
    assert_eq!(next.number, 4);

    // Another campaign, one call already stored: left out, the new one kept.
    let done = LeadDecision::Done {
        reason: "terminal disposition SALE".into(),
    };
    let more = vec![
        past("bf-3", 60, CallStatus::Completed, "VOICEMAIL"),
        past("bf-4", 120, CallStatus::Completed, "SALE"),
    ];
    let got_b = store
        .backfill_lead(b.id, &lead(p), &more, &done, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got_b.attempts, got_b.known_calls), (1, 1));
    let lb = store.lead(got_b.lead_id).await.unwrap().unwrap();
    assert_eq!(lb.status, LeadStatus::Done);
    assert_eq!(lb.next_attempt_at, None);
    assert_eq!(
        lb.status_reason.as_deref(),
        Some("terminal disposition SALE")
    );
    assert_eq!(lb.attempt_count, 1);
    let atts_b = store.lead_attempts(got_b.lead_id).await.unwrap();
    assert_eq!(atts_b.len(), 1);
    assert_eq!(atts_b[0].call_id.as_ref().unwrap().as_str(), "bf-4");
    assert_eq!(atts_b[0].number, 1);

    // Bad input is refused before anything is written.
    let q = "+12125550102";
    let mut live = past("bf-5", 0, CallStatus::Completed, "ANSWERED");
    live.status = CallStatus::InProgress;
    let mut backwards = past("bf-6", 0, CallStatus::Busy, "BUSY");
    backwards.ended_at = backwards.started_at - Duration::seconds(1);
    for bad in [live, backwards] {
        let good = past("bf-7", 0, CallStatus::Busy, "BUSY");
        let r = store
            .backfill_lead(a.id, &lead(q), &[good, bad], &redial, t0())
            .await;
        assert!(matches!(r, Err(StoreError::InvalidArgument(_))), "{r:?}");
    }
    assert!(store.leads_by_phone(&phone(q)).await.unwrap().is_empty());

    // A paused decision with no past calls at all.
    let park = LeadDecision::Park {
        reason: "no time zone".into(),
    };
    let got_q = store
        .backfill_lead(a.id, &lead(q), &[], &park, t0())
        .await
        .unwrap()
        .unwrap();
    let lq = store.lead(got_q.lead_id).await.unwrap().unwrap();
    assert_eq!(lq.status, LeadStatus::Paused);
    assert_eq!((lq.attempt_count, lq.disposition), (0, None));
}
