//! Conformance cases of the error mapping: the [`StoreError`] variant each backend returns for
//! what both can produce through the trait. (`SchemaTooNew`, `ForeignDatabase` and
//! `Unavailable` need a database from the future, a foreign one or a failing disk or server:
//! each backend's own tests pin them when opening, on a full file system (SQLite, `outdial_testkit::small_fs`)
//! and on a read-only server (PostgreSQL).)

use super::*;

/// Conformance case `errors_have_one_shape`.
pub async fn errors_have_one_shape(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let missing = CampaignId(c.id.0 + 1000);
    match store.campaign(missing).await {
        Err(StoreError::NotFound { entity, id }) => {
            assert_eq!((entity, id), ("campaign", missing.to_string()));
        }
        other => panic!("a missing campaign: {other:?}"),
    }
    match store
        .update_campaign(missing, &settings(), true, t0())
        .await
    {
        Err(StoreError::NotFound { entity, id }) => {
            assert_eq!((entity, id), ("campaign", missing.to_string()));
        }
        other => panic!("updating a missing campaign: {other:?}"),
    }
    assert!(
        matches!(
            store.create_campaign("a", &settings(), t0()).await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate campaign name is a conflict"
    );
    assert!(
        matches!(
            store
                .try_acquire_lease("l", "me", Duration::zero(), t0())
                .await,
            Err(StoreError::InvalidArgument(_))
        ),
        "a lease that does not last is an invalid argument"
    );
    assert!(
        matches!(
            store.claim_jobs("w", t0(), Duration::seconds(-1), 1).await,
            Err(StoreError::InvalidArgument(_))
        ),
        "a job claim that does not last is an invalid argument"
    );
    let e = StoreError::unavailable(std::io::Error::other("disk full"));
    assert_eq!(e.to_string(), "storage unavailable: disk full");
    assert!(
        std::error::Error::source(&e).is_some(),
        "the source is kept"
    );
}
