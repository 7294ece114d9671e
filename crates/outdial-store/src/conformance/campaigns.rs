//! Conformance cases of campaigns.

use super::*;

/// Conformance case `campaign_round_trip`.
pub async fn campaign_round_trip(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    assert_eq!(store.campaign(c.id).await.unwrap().settings, settings());
    assert!(
        store.create_campaign("a", &settings(), t0()).await.is_err(),
        "duplicate campaign name accepted"
    );
    assert_eq!(store.campaign_by_name("a").await.unwrap().unwrap().id, c.id);
    assert!(store.campaign_by_name("nope").await.unwrap().is_none());
}

/// Conformance case `campaigns_listed_and_updated`.
pub async fn campaigns_listed_and_updated(store: Arc<dyn Store>) {
    assert!(store.campaigns().await.unwrap().is_empty());
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let b = store.create_campaign("b", &settings(), t0()).await.unwrap();
    let ids: Vec<_> = store
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![a.id, b.id], "every campaign, by id");
    let mut changed = settings();
    changed.ring_timeout_s += 1;
    let later = t0() + Duration::minutes(5);
    let u = store
        .update_campaign(a.id, &changed, false, later)
        .await
        .unwrap();
    assert_eq!(u.settings, changed);
    assert!(!u.active);
    assert_eq!(
        store.campaign(a.id).await.unwrap(),
        u,
        "the update is stored"
    );
    assert_eq!(u.created_at, a.created_at, "creation time kept");
    assert!(matches!(
        store
            .update_campaign(CampaignId(a.id.0 + b.id.0 + 100), &changed, true, later)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Conformance case `close_after_use`.
pub async fn close_after_use(store: Arc<dyn Store>) {
    store.create_campaign("a", &settings(), t0()).await.unwrap();
    store.close().await;
}
