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
    let campaign = leads[0].campaign_id.0;
    assert_eq!(
        c.leads_by_campaign.get(&campaign),
        Some(&[("active".to_string(), 1), ("dialing".to_string(), 2)].into()),
        "the same counts by campaign"
    );
    assert_eq!(c.leads_by_campaign.len(), 1, "{:?}", c.leads_by_campaign);
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

/// Conformance case `report_ranges_are_half_open_and_duplicates_change_nothing`.
pub async fn report_ranges_are_half_open_and_duplicates_change_nothing(store: Arc<dyn Store>) {
    use outdial_core::report::{kpis, ReportInput, ReportQuery, ReportZone};
    let a = seed(
        &*store,
        "a",
        &["+12125550101", "+12125550102", "+12125550103"],
    )
    .await;
    let b = seed(&*store, "b", &["+12125550104"]).await;
    let h = Duration::hours(1);
    let a0 = placed(&*store, a[0].id, "CA10", t0()).await;
    let a1 = placed(&*store, a[1].id, "CA11", t0() + h).await;
    let b0 = placed(&*store, b[0].id, "CA12", t0() + h).await;
    let a2 = store
        .reserve_attempt(a[2].id, t0() + h * 2)
        .await
        .unwrap()
        .unwrap();
    let page = |c: Option<CampaignId>,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                after: Option<(DateTime<Utc>, AttemptId)>,
                limit: u32| {
        let store = store.clone();
        async move {
            store
                .attempts_reserved_between(c, from, to, after, limit)
                .await
                .unwrap()
        }
    };
    let ids = |v: &[Attempt]| v.iter().map(|x| x.id).collect::<Vec<_>>();
    let ca = Some(a0.campaign_id);
    // Half-open: the attempt reserved at `to` is out, the one at `from` is in.
    assert_eq!(
        ids(&page(ca, t0(), t0() + h * 2, None, 10).await),
        vec![a0.id, a1.id]
    );
    assert_eq!(
        ids(&page(ca, t0() + h, t0() + h * 3, None, 10).await),
        vec![a1.id, a2.id]
    );
    // Every campaign, by (reserved_at, id); pages continue after the cursor.
    let all = page(None, t0(), t0() + h * 3, None, 2).await;
    assert_eq!(ids(&all), vec![a0.id, a1.id]);
    let last = all.last().unwrap();
    let rest = page(
        None,
        t0(),
        t0() + h * 3,
        Some((last.reserved_at, last.id)),
        2,
    )
    .await;
    assert_eq!(ids(&rest), vec![b0.id, a2.id]);
    let last = rest.last().unwrap();
    assert!(page(
        None,
        t0(),
        t0() + h * 3,
        Some((last.reserved_at, last.id)),
        2
    )
    .await
    .is_empty());

    // Leads in scope: imported in range, or with an attempt in range (seeded at t0).
    let scope = |c: Option<CampaignId>, from: DateTime<Utc>, to: DateTime<Utc>, after: LeadId| {
        let store = store.clone();
        async move {
            store
                .leads_in_report_scope(c, from, to, after, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|l| l.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        scope(ca, t0() + h, t0() + h * 2, LeadId(0)).await,
        vec![a[1].id],
        "no import in range; lead 1's attempt only"
    );
    assert_eq!(
        scope(ca, t0(), t0() + h, LeadId(0)).await,
        vec![a[0].id, a[1].id, a[2].id],
        "imported at t0"
    );
    assert_eq!(
        scope(None, t0() + h, t0() + h * 3, a[1].id).await,
        vec![a[2].id, b[0].id]
    );
    assert!(scope(ca, t0() + h * 3, t0() + h * 4, LeadId(0))
        .await
        .is_empty());

    // Figures from the store's rows; duplicate and replayed webhooks leave them unchanged.
    let figures = || {
        let store = store.clone();
        async move {
            let attempts: Vec<_> = store
                .attempts_reserved_between(ca, t0(), t0() + h * 3, None, 100)
                .await
                .unwrap()
                .iter()
                .map(Attempt::report_fact)
                .collect();
            let leads: Vec<_> = store
                .leads_in_report_scope(ca, t0(), t0() + h * 3, LeadId(0), 100)
                .await
                .unwrap()
                .iter()
                .map(crate::Lead::report_fact)
                .collect();
            let campaigns = [(a0.campaign_id, settings())].into_iter().collect();
            let q = ReportQuery {
                from: t0(),
                to: t0() + h * 3,
                campaign: ca,
                zone: ReportZone::Utc,
            };
            let k = kpis(&ReportInput {
                query: &q,
                attempts: &attempts,
                leads: &leads,
                campaigns: &campaigns,
                recent: &[],
                now: t0() + h * 3,
            });
            (k.attempts, k.connect_rate)
        }
    };
    let apply = |sid: &'static str, status: CallStatus, seq: u32| {
        let store = store.clone();
        async move {
            store
                .apply_call_event(
                    None,
                    &ev(sid, status, seq),
                    &raw(&format!("{sid}:{seq}")),
                    t0(),
                )
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        apply("CA10", CallStatus::InProgress, 2).await,
        EventOutcome::Applied { .. }
    ));
    apply("CA10", CallStatus::Completed, 3).await;
    apply("CA11", CallStatus::NoAnswer, 3).await;
    let before = figures().await;
    // a0 answered and completed, a1 no answer, a2 reserved only: 3 reserved, 2 dials,
    // 1 answered → connect rate 1/2.
    assert_eq!(before.0.reserved, 3);
    assert_eq!(before.0.dials, 2);
    assert_eq!(before.0.answered, 1);
    assert_eq!(before.1.value, Some(0.5));
    assert_eq!(
        apply("CA10", CallStatus::Completed, 3).await,
        EventOutcome::Duplicate
    );
    assert_eq!(
        apply("CA11", CallStatus::NoAnswer, 3).await,
        EventOutcome::Duplicate
    );
    apply("CA10", CallStatus::Ringing, 1).await;
    assert_eq!(
        figures().await,
        before,
        "duplicates and replays change no figure"
    );

    // Events of one kind in a half-open range, by campaign, paged by (at, id).
    for (lead, at) in [
        (a[0].id, t0()),
        (a[1].id, t0() + h),
        (b[0].id, t0() + h),
        (a[2].id, t0() + h * 2),
    ] {
        store
            .record_event(
                Some(lead),
                None,
                "test.deferred",
                "scheduler",
                "outside the calling window in America/New_York",
                at,
            )
            .await
            .unwrap();
    }
    store
        .record_event(None, None, "test.deferred", "operator", "no lead", t0() + h)
        .await
        .unwrap();
    let events = |c: Option<CampaignId>, after: Option<(DateTime<Utc>, i64)>, limit: u32| {
        let store = store.clone();
        async move {
            store
                .events_between("test.deferred", c, t0(), t0() + h * 2, after, limit)
                .await
                .unwrap()
        }
    };
    let leads_of = |v: &[crate::EventRecord]| v.iter().map(|e| e.lead_id).collect::<Vec<_>>();
    assert_eq!(
        leads_of(&events(ca, None, 10).await),
        vec![Some(a[0].id), Some(a[1].id)],
        "campaign a, [t0, t0+2h)"
    );
    let all = events(None, None, 10).await;
    assert_eq!(all.len(), 4, "every campaign and the event without a lead");
    let first = events(None, None, 2).await;
    let last = first.last().unwrap();
    let rest = events(None, Some((last.at, last.id)), 10).await;
    assert_eq!(first.len() + rest.len(), 4);
    assert_eq!(rest.last().unwrap().id, all.last().unwrap().id);
    assert!(store
        .events_between("test.other", None, t0(), t0() + h * 3, None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A provider's price is stored once: the first report wins, a repeat or another figure
/// changes nothing, an unknown attempt records nothing.
pub async fn the_first_price_reported_is_kept(store: Arc<dyn Store>) {
    let leads = seed(&*store, "price", &["+12125550151"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.attempt(a.id).await.unwrap().unwrap().price, None);
    let price = outdial_core::CallPrice::from_amount(-0.0325, "USD").unwrap();
    let later = t0() + Duration::minutes(10);
    assert!(store
        .record_attempt_price(a.id, &price, later)
        .await
        .unwrap());
    let other = outdial_core::CallPrice::from_amount(9.0, "EUR").unwrap();
    assert!(!store
        .record_attempt_price(a.id, &other, later)
        .await
        .unwrap());
    assert!(!store
        .record_attempt_price(a.id, &price, later)
        .await
        .unwrap());
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        got.price,
        Some(outdial_core::CallPrice {
            micros: 32_500,
            unit: "USD".into()
        })
    );
    assert!(!store
        .record_attempt_price(AttemptId(a.id.0 + 1000), &price, later)
        .await
        .unwrap());
}
