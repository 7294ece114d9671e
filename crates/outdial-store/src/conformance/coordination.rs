//! Conformance cases of coordination.

use super::*;

/// Conformance case `settings_persist`.
pub async fn settings_persist(store: Arc<dyn Store>) {
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

/// Conformance case `fleet_lease_pacer_and_cap`.
pub async fn fleet_lease_pacer_and_cap(store: Arc<dyn Store>) {
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
