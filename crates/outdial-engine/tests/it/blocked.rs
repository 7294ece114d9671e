//! "Why is it not dialing": `Engine::not_dialing` counts each lead that is not being called
//! under the first reason that holds.

use super::*;

#[tokio::test]
async fn each_lead_not_dialed_is_counted_under_its_reason() {
    // t0 is Monday 2026-01-05 15:00 UTC: 10:00 in New York, 05:00 in Honolulu.
    let r = rig_with(
        &[
            "+12125550101", // on the DNC list
            "+18085550102", // Hawaii (and the rig's state, NY): Honolulu is closed
            "+12125550103", // called, busy: waits for its redial interval
            "+12125550104", // due, waits for the concurrency cap
            "+12125550105", // due too
        ],
        |c| c.max_concurrent = 1,
    )
    .await;
    let dnc = lead_of(&r, "+12125550101").await;
    r.store
        .dnc_add(
            &[outdial_store::DncEntry {
                phone: dnc.phone.clone(),
                scope: outdial_store::DncScope::Internal,
                source: "test".into(),
                reason: None,
                added_at: t0(),
            }],
            t0(),
        )
        .await
        .unwrap();
    // A tick claims as many due leads as the cap has room for (1): a few ticks park the DNC
    // lead, reschedule Hawaii and place one call.
    let (mut parked, mut rescheduled, mut placed) = (0, 0, 0);
    for _ in 0..5 {
        let rep = r.tick(t0()).await.unwrap();
        parked += rep.parked;
        rescheduled += rep.rescheduled;
        placed += rep.placed;
    }
    assert_eq!((parked, rescheduled, placed), (1, 1, 1));

    // While the call is in flight: its lead is dialing (not counted); two leads are due.
    let nd = r.engine.not_dialing(t0(), None, 100).await.unwrap();
    let by: HashMap<&str, &outdial_engine::BlockedReason> =
        nd.reasons.iter().map(|b| (b.reason.as_str(), b)).collect();
    assert_eq!(nd.attempts_in_flight, 1);
    assert_eq!(nd.max_concurrent, 1);
    assert_eq!(nd.leads_scanned, 5);
    assert!(!nd.truncated);
    assert!(nd.dialer_running && nd.global_kill_switch.is_none());
    assert_eq!(by["dnc"].count, 1);
    assert_eq!(by["dnc"].leads, vec![dnc.id]);
    let hawaii = lead_of(&r, "+18085550102").await;
    let window = nd
        .reasons
        .iter()
        .find(|b| b.leads.contains(&hawaii.id))
        .unwrap();
    assert!(
        ["outside_window", "federal_hours"].contains(&window.reason.as_str()),
        "{window:?}"
    );
    assert_eq!(
        window.by_zone.get("Pacific/Honolulu"),
        Some(&1),
        "{window:?}"
    );
    // Its next attempt time is when Honolulu's window opens: 08:00 local (18:00 UTC) at the
    // earliest.
    assert!(window.next_due_at.unwrap() >= Utc.with_ymd_and_hms(2026, 1, 5, 18, 0, 0).unwrap());
    assert_eq!(by["due"].count, 2);
    assert!(!by.contains_key("redial_interval"));

    // The call ends busy: its lead waits for the policy's 2 minutes.
    let sid = r.provider.placed()[0].0.clone();
    let (e, raw) = ev(&sid, CallStatus::Busy, 3, t0() + Duration::seconds(10));
    r.clock.set(t0() + Duration::seconds(30));
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    let busy = lead_of(&r, "+12125550103").await;
    let nd = r
        .engine
        .not_dialing(t0() + Duration::minutes(1), None, 100)
        .await
        .unwrap();
    let by: HashMap<&str, &outdial_engine::BlockedReason> =
        nd.reasons.iter().map(|b| (b.reason.as_str(), b)).collect();
    assert_eq!(nd.attempts_in_flight, 0);
    assert_eq!(by["redial_interval"].leads, vec![busy.id]);
    assert_eq!(by["redial_interval"].next_due_at, busy.next_attempt_at);
    assert_eq!(by["due"].count, 2);
    // Most leads first.
    assert_eq!(nd.reasons[0].reason, "due");

    // A scan limit of 2 covers the two lowest ids and says it stopped short.
    let nd = r.engine.not_dialing(t0(), None, 2).await.unwrap();
    assert_eq!(nd.leads_scanned, 2);
    assert!(nd.truncated);
}
