//! Conformance cases of dnc.

use super::*;

/// Conformance case `dnc_add_is_idempotent`.
pub async fn dnc_add_is_idempotent(store: Arc<dyn Store>) {
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

/// Conformance case `dnc_scopes_apply_to_their_campaigns`.
pub async fn dnc_scopes_apply_to_their_campaigns(store: Arc<dyn Store>) {
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

/// Conformance case `dnc_remove_takes_one_list_entry`.
pub async fn dnc_remove_takes_one_list_entry(store: Arc<dyn Store>) {
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

/// Conformance case `dnc_check_many_answers_as_dnc_check`: the batch look-up gives each
/// number exactly what [`DncLists::dnc_check`] gives it (entries and order), for every
/// campaign scope, with repeated numbers and a batch long enough to be split.
pub async fn dnc_check_many_answers_as_dnc_check(store: Arc<dyn Store>) {
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let b = store.create_campaign("b", &settings(), t0()).await.unwrap();
    let later = t0() + Duration::microseconds(7);
    store
        .dnc_add(
            &[
                dnc("+12125550101", DncScope::Internal, "operator"),
                dnc("+12125550102", DncScope::Campaign(a.id), "disposition"),
                dnc("+12125550103", DncScope::National, "import:n.txt"),
                DncEntry {
                    reason: Some("asked twice".into()),
                    added_at: later,
                    ..dnc("+12125550104", DncScope::Campaign(b.id), "operator")
                },
                dnc("+12125550104", DncScope::National, "import:n.txt"),
                dnc("+12125550104", DncScope::Internal, "operator"),
                dnc("+12125550104", DncScope::Campaign(a.id), "operator"),
            ],
            t0(),
        )
        .await
        .unwrap();
    let mixed: Vec<E164> = [
        "+12125550104",
        "+12125550105",
        "+12125550101",
        "+12125550102",
        "+12125550103",
        "+12125550101",
        "+12125550106",
    ]
    .iter()
    .map(|p| phone(p))
    .collect();
    // Unlisted numbers around the mixed ones, the first of them repeated past the middle:
    // longer than any backend's single statement (a few thousand numbers).
    let mut long: Vec<E164> = (0..6000)
        .map(|i| phone(&format!("+1212200{i:04}")))
        .collect();
    long.splice(10..10, mixed.iter().cloned());
    long.splice(5500..5500, mixed.iter().cloned());
    for c in [Some(a.id), Some(b.id), None] {
        for asked in [&mixed, &long] {
            let many = store.dnc_check_many(asked, c).await.unwrap();
            for p in &mixed {
                let single = store.dnc_check(p, c).await.unwrap();
                assert_eq!(
                    many.get(p).cloned().unwrap_or_default(),
                    single,
                    "dnc_check_many({p}, {c:?}) differs from dnc_check"
                );
                assert!(
                    many.get(p).is_none_or(|e| !e.is_empty()),
                    "a number no list blocks is present with no entry"
                );
            }
            let distinct: BTreeSet<&E164> = mixed.iter().collect();
            let listed = distinct.iter().filter(|p| many.contains_key(**p)).count();
            assert_eq!(
                many.len(),
                listed,
                "dnc_check_many answered numbers not listed"
            );
        }
    }
    assert!(store
        .dnc_check_many(&[], Some(a.id))
        .await
        .unwrap()
        .is_empty());
}
