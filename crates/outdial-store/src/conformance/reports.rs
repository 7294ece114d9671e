//! Conformance cases of reports.

use super::*;

/// Conformance case `recent_attempts_newest_first`.
pub async fn recent_attempts_newest_first(store: Arc<dyn Store>) {
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

/// Conformance case `latest_event_at_by_source`.
pub async fn latest_event_at_by_source(store: Arc<dyn Store>) {
    assert_eq!(
        store.latest_event_at("provider-webhook").await.unwrap(),
        None
    );
    let late = t0() + Duration::seconds(5) + Duration::nanoseconds(123_456_789);
    store
        .record_event(None, None, "webhook", "provider-webhook", "{}", late)
        .await
        .unwrap();
    // Recorded after, but stamped earlier: the newest instant wins, not the newest row.
    store
        .record_event(None, None, "webhook", "provider-webhook", "{}", t0())
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
        store.latest_event_at("provider-webhook").await.unwrap(),
        Some(to_micros(late))
    );
    assert_eq!(
        store.latest_event_at("reconciler").await.unwrap(),
        Some(t0() + Duration::hours(1))
    );
    assert_eq!(store.latest_event_at("provider").await.unwrap(), None);
}

/// Conformance case `status_counts_and_attempts_after`.
pub async fn status_counts_and_attempts_after(store: Arc<dyn Store>) {
    let leads = seed(
        &*store,
        "a",
        &["+12125550101", "+12125550102", "+12125550103"],
    )
    .await;
    let a = placed(&*store, leads[0].id, "CA_sc_a", t0()).await;
    let later = t0() + Duration::minutes(2);
    let b = store
        .reserve_attempt(leads[1].id, later)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .mark_rejected(b.id, "21211", "bad number", later)
        .await
        .unwrap());
    let now = t0() + Duration::minutes(5);
    let c = store
        .status_counts(now, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(c.leads_by_status.get("dialing"), Some(&2));
    assert_eq!(c.leads_by_status.get("active"), Some(&1));
    assert_eq!(c.leads_due, 1, "the active lead is due");
    assert_eq!(c.attempts_in_flight, 1);
    assert_eq!(c.attempts_since, 1, "only attempts reserved since `since`");
    assert_eq!(c.attempts_by_state.get("placed"), Some(&1));
    assert_eq!(c.attempts_by_state.get("rejected"), Some(&1));
    let ids = |v: Vec<Attempt>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.attempts_after(AttemptId(0), 10).await.unwrap()),
        vec![a.id, b.id]
    );
    assert_eq!(
        ids(store.attempts_after(AttemptId(0), 1).await.unwrap()),
        vec![a.id]
    );
    assert_eq!(
        ids(store.attempts_after(a.id, 10).await.unwrap()),
        vec![b.id]
    );
    assert!(store.attempts_after(b.id, 10).await.unwrap().is_empty());
}
