//! Conformance cases of leads.

use super::*;

/// Conformance case `leads_unique_per_campaign`.
pub async fn leads_unique_per_campaign(store: Arc<dyn Store>) {
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

/// Conformance case `leads_by_external_id_in_one_campaign`.
pub async fn leads_by_external_id_in_one_campaign(store: Arc<dyn Store>) {
    let a = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let b = store.create_campaign("b", &settings(), t0()).await.unwrap();
    let with_id = |p: &str, id: &str| {
        let mut l = lead(p);
        l.contact.external_id = Some(id.into());
        (l, LeadPlacement::Active(t0()))
    };
    store
        .insert_leads(
            a.id,
            &[
                with_id("+12125550101", "crm-1"),
                with_id("+12125550102", "crm-2"),
            ],
            t0(),
        )
        .await
        .unwrap();
    store
        .insert_leads(b.id, &[with_id("+12125550103", "crm-1")], t0())
        .await
        .unwrap();
    let found = store.leads_by_external_id(a.id, "crm-1").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].phone.as_str(), "+12125550101");
    assert_eq!(found[0].campaign_id, a.id);
    let in_b = store.leads_by_external_id(b.id, "crm-1").await.unwrap();
    assert_eq!(in_b[0].phone.as_str(), "+12125550103");
    // Exact match only.
    assert!(store
        .leads_by_external_id(a.id, "crm")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .leads_by_external_id(a.id, "CRM-1")
        .await
        .unwrap()
        .is_empty());
}

/// Conformance case `phone_attempt_times_across_campaigns`.
pub async fn phone_attempt_times_across_campaigns(store: Arc<dyn Store>) {
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

/// Conformance case `due_leads_skip_campaigns_with_a_tripped_switch`.
pub async fn due_leads_skip_campaigns_with_a_tripped_switch(store: Arc<dyn Store>) {
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

/// Conformance case `leads_after_pages_by_id`.
pub async fn leads_after_pages_by_id(store: Arc<dyn Store>) {
    let a = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let b = seed(&*store, "b", &["+12125550103"]).await;
    let all: Vec<LeadId> = vec![a[0].id, a[1].id, b[0].id];
    let page = |after: LeadId, limit: u32| {
        let store = store.clone();
        async move {
            let got = store.leads_after(after, limit).await.unwrap();
            got.into_iter().map(|l| l.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        page(LeadId(0), 10).await,
        all,
        "every lead, by id, any campaign"
    );
    assert_eq!(page(LeadId(0), 2).await, all[..2].to_vec());
    assert_eq!(page(all[1], 10).await, all[2..].to_vec());
    assert!(page(all[2], 10).await.is_empty());
}

/// Conformance case `park_lead_is_guarded`.
pub async fn park_lead_is_guarded(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let later = t0() + Duration::minutes(1);
    assert!(store
        .park_lead(leads[0].id, "no zone", later)
        .await
        .unwrap());
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(l.status, LeadStatus::Paused);
    assert_eq!(l.status_reason.as_deref(), Some("no zone"));
    assert_eq!(l.next_attempt_at, None, "a paused lead is not due");
    assert!(
        !store.park_lead(leads[0].id, "again", later).await.unwrap(),
        "only an active lead is parked"
    );
    store
        .reserve_attempt(leads[1].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store
            .park_lead(leads[1].id, "dialing", later)
            .await
            .unwrap(),
        "a dialing lead is not parked"
    );
    assert_eq!(
        store.lead(leads[1].id).await.unwrap().unwrap().status,
        LeadStatus::Dialing
    );
    assert!(!store
        .park_lead(LeadId(9_999), "missing", later)
        .await
        .unwrap());
}

/// Conformance case `operator_pause_resume_remove_are_guarded`.
pub async fn operator_pause_resume_remove_are_guarded(store: Arc<dyn Store>) {
    use crate::OperatorLeadChange::{Pause, Remove, Resume};
    let leads = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let (l0, l1) = (leads[0].id, leads[1].id);
    let later = t0() + Duration::minutes(5);
    let change = |id: LeadId, c: crate::OperatorLeadChange, at: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .change_lead_by_operator(id, c, &format!("{c:?} by ops"), at)
                .await
                .unwrap()
        }
    };
    assert!(
        !change(l0, Resume, t0()).await,
        "an active lead is not resumed"
    );
    assert!(change(l0, Pause, t0()).await);
    let got = store.lead(l0).await.unwrap().unwrap();
    assert_eq!(got.status, LeadStatus::Paused);
    assert_eq!(got.next_attempt_at, None);
    assert_eq!(got.status_reason.as_deref(), Some("Pause by ops"));
    assert!(!change(l0, Pause, t0()).await, "paused once");
    assert!(
        store.reserve_attempt(l0, t0()).await.unwrap().is_none(),
        "a paused lead is not reserved"
    );
    assert!(change(l0, Resume, later).await);
    let got = store.lead(l0).await.unwrap().unwrap();
    assert_eq!(got.status, LeadStatus::Active);
    assert_eq!(got.next_attempt_at, Some(later), "due when resumed");
    // A lead with a call in flight is never changed.
    let a = store.reserve_attempt(l1, t0()).await.unwrap().unwrap();
    assert_eq!(
        store.lead(l1).await.unwrap().unwrap().status,
        LeadStatus::Dialing
    );
    for c in [Pause, Resume, Remove] {
        assert!(!change(l1, c, t0()).await, "{c:?} of a dialing lead");
    }
    assert!(change(l0, Remove, later).await);
    let got = store.lead(l0).await.unwrap().unwrap();
    assert_eq!(got.status, LeadStatus::Done);
    assert_eq!(got.next_attempt_at, None);
    assert!(
        !change(l0, Resume, later).await,
        "a removed lead stays done"
    );
    assert!(
        !change(LeadId(l1.0 + 1000), Pause, t0()).await,
        "unknown lead"
    );
    let kinds: Vec<(String, String)> = store
        .lead_events(l0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.source == "operator")
        .map(|e| (e.kind, e.detail))
        .collect();
    assert_eq!(
        kinds,
        [
            ("lead.paused".to_string(), "Pause by ops".to_string()),
            ("lead.resumed".to_string(), "Resume by ops".to_string()),
            ("lead.removed".to_string(), "Remove by ops".to_string()),
        ]
    );
    let _ = a;
}

/// Conformance case `phone_attempt_times_many_answers_as_phone_attempt_times`: the batch
/// look-up gives each number exactly what [`Leads::phone_attempt_times`] gives it, for
/// several `since`, with repeated numbers and a batch long enough to be split.
pub async fn phone_attempt_times_many_answers_as_phone_attempt_times(store: Arc<dyn Store>) {
    let (p, q, r) = ("+12125550101", "+12125550102", "+12125550103");
    let a = seed(&*store, "a", &[p, q, r]).await;
    let b = seed(&*store, "b", &[p]).await;
    let c = seed(&*store, "c", &[p]).await;
    let h = |n: i64| t0() + Duration::hours(n);
    // p: b at +1h ended busy (counted), c at +2h rejected (not counted), a at t0 unknown
    // (counted); q: a at +1h ended busy (counted); r: never called.
    let at = store.reserve_attempt(b[0].id, h(1)).await.unwrap().unwrap();
    store
        .apply_call_event(
            Some(at.id),
            &ev("CA1", CallStatus::Busy, 0),
            &raw("b"),
            h(1),
        )
        .await
        .unwrap();
    let at = store.reserve_attempt(c[0].id, h(2)).await.unwrap().unwrap();
    assert!(store
        .mark_rejected(at.id, "21211", "bad", h(2))
        .await
        .unwrap());
    let at = store.reserve_attempt(a[0].id, t0()).await.unwrap().unwrap();
    assert!(store.mark_unknown(at.id, "timeout", t0()).await.unwrap());
    let at = store.reserve_attempt(a[1].id, h(1)).await.unwrap().unwrap();
    store
        .apply_call_event(
            Some(at.id),
            &ev("CA2", CallStatus::Busy, 0),
            &raw("q"),
            h(1),
        )
        .await
        .unwrap();

    let mixed: Vec<E164> = [q, "+12125550104", p, r, p]
        .iter()
        .map(|x| phone(x))
        .collect();
    // Numbers never called around the mixed ones, repeated past the middle: longer than
    // any backend's single statement (a few thousand numbers).
    let mut long: Vec<E164> = (0..6000)
        .map(|i| phone(&format!("+1212200{i:04}")))
        .collect();
    long.splice(10..10, mixed.iter().cloned());
    long.splice(5500..5500, mixed.iter().cloned());
    let sinces = [
        t0() - Duration::days(1),
        t0(),
        t0() + Duration::microseconds(1),
        h(1),
        h(3),
    ];
    for since in sinces {
        for asked in [&mixed, &long] {
            let many = store.phone_attempt_times_many(asked, since).await.unwrap();
            for x in &mixed {
                let single = store.phone_attempt_times(x, since).await.unwrap();
                assert_eq!(
                    many.get(x).cloned().unwrap_or_default(),
                    single,
                    "phone_attempt_times_many({x}, {since}) differs from phone_attempt_times"
                );
                assert!(
                    many.get(x).is_none_or(|t| !t.is_empty()),
                    "a number without attempts is present with no time"
                );
            }
            let distinct: BTreeSet<&E164> = mixed.iter().collect();
            let called = distinct.iter().filter(|x| many.contains_key(**x)).count();
            assert_eq!(many.len(), called, "answered numbers never called");
        }
    }
    let many = store
        .phone_attempt_times_many(&mixed, t0() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(many[&phone(p)], vec![t0(), h(1)], "p's counted attempts");
    assert_eq!(many[&phone(q)], vec![h(1)]);
    assert!(store
        .phone_attempt_times_many(&[], t0())
        .await
        .unwrap()
        .is_empty());
}
