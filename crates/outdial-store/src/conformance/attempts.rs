//! Conformance cases of attempts.

use super::*;

/// Conformance case `one_in_flight_per_number_across_campaigns`.
pub async fn one_in_flight_per_number_across_campaigns(store: Arc<dyn Store>) {
    let a = seed(&*store, "a", &["+12125550101"]).await;
    let b = seed(&*store, "b", &["+12125550101"]).await;
    let first = store.reserve_attempt(a[0].id, t0()).await.unwrap();
    assert!(first.is_some());
    let second = store.reserve_attempt(b[0].id, t0()).await.unwrap();
    assert!(
        second.is_none(),
        "a second in-flight attempt to one number was reserved"
    );
    // The second lead is untouched: still active and due.
    assert_eq!(
        store.lead(b[0].id).await.unwrap().unwrap().status,
        LeadStatus::Active
    );
    // Once the first ends, the number is free again.
    let first = first.unwrap();
    store
        .apply_call_event(
            Some(first.id),
            &ev("CA1", CallStatus::Busy, 0),
            &raw("k1"),
            t0(),
        )
        .await
        .unwrap();
    assert!(store
        .reserve_attempt(b[0].id, t0())
        .await
        .unwrap()
        .is_some());
}

/// Conformance case `reserve_is_guarded`.
pub async fn reserve_is_guarded(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    // Not due yet.
    assert!(store
        .reserve_attempt(leads[0].id, t0() - Duration::seconds(1))
        .await
        .unwrap()
        .is_none());
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, AttemptState::Reserved);
    assert_eq!(a.number, 1);
    // Lead is dialing now: a second reservation fails.
    assert!(store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .is_none());
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!((l.status, l.attempt_count), (LeadStatus::Dialing, 1));
    assert!(store.due_leads(t0(), 10).await.unwrap().is_empty());
}

/// Conformance case `guarded_transitions`.
pub async fn guarded_transitions(store: Arc<dyn Store>) {
    let leads = seed(
        &*store,
        "a",
        &["+12125550101", "+12125550102", "+12125550103"],
    )
    .await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store.mark_unknown(a.id, "timeout", t0()).await.unwrap());
    assert!(
        !store.mark_unknown(a.id, "timeout", t0()).await.unwrap(),
        "unknown twice"
    );
    assert!(
        !store
            .mark_rejected(a.id, "21211", "bad", t0())
            .await
            .unwrap(),
        "unknown → rejected allowed"
    );
    let placed = Placement {
        call_id: ProviderCallId::parse("CA9").unwrap(),
        status: CallStatus::Queued,
    };
    assert!(store.mark_placed(a.id, &placed, t0()).await.unwrap());
    assert!(!store.mark_placed(a.id, &placed, t0()).await.unwrap());
    assert!(
        !store.mark_not_placed(a.id, "x", "y", t0()).await.unwrap(),
        "placed → not-placed allowed"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.state, AttemptState::Placed);
    assert_eq!(got.call_id.unwrap().as_str(), "CA9");

    let b = store
        .reserve_attempt(leads[1].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .mark_rejected(b.id, "21211", "invalid", t0())
        .await
        .unwrap());
    assert_eq!(
        store.attempt(b.id).await.unwrap().unwrap().state,
        AttemptState::Rejected
    );
    assert_eq!(store.attempts_to_conclude(10).await.unwrap(), vec![b.id]);

    let c = store
        .reserve_attempt(leads[2].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store.mark_unknown(c.id, "reset", t0()).await.unwrap());
    assert!(store
        .mark_not_placed(c.id, "none", "no call found", t0())
        .await
        .unwrap());
    assert!(
        store
            .lead_attempt_times(leads[2].id)
            .await
            .unwrap()
            .is_empty(),
        "not-placed counted"
    );
}

/// Conformance case `webhook_duplicates_and_reorders`.
pub async fn webhook_duplicates_and_reorders(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = placed(&*store, leads[0].id, "CA1", t0()).await;
    let done = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(done, EventOutcome::Applied { .. }));
    let dup = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(dup, EventOutcome::Duplicate);
    let late = store
        .apply_call_event(
            None,
            &ev("CA1", CallStatus::Ringing, 1),
            &raw("CA1:1"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(late, EventOutcome::Late { attempt_id: a.id });
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.state, AttemptState::Ended);
    assert_eq!(got.call_status, Some(CallStatus::Completed));
    assert_eq!(got.duration_s, Some(42));
    assert_eq!(got.last_sequence, Some(3));
    let unknown = store
        .apply_call_event(
            None,
            &ev("CAX", CallStatus::Completed, 3),
            &raw("CAX:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(unknown, EventOutcome::UnknownCall);
    let timeline = store.lead_events(leads[0].id).await.unwrap();
    assert_eq!(
        timeline.iter().filter(|e| e.kind == "webhook").count(),
        2,
        "raw webhooks recorded once each"
    );
}

/// Conformance case `webhook_before_placement_uses_hint`.
pub async fn webhook_before_placement_uses_hint(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    // The provider's first callback beats the create response.
    let r = store
        .apply_call_event(
            Some(a.id),
            &ev("CA7", CallStatus::Ringing, 1),
            &raw("CA7:1"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(
        r,
        EventOutcome::Applied {
            from: AttemptState::Reserved,
            ..
        }
    ));
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().last_sequence,
        Some(1)
    );
    let placed = Placement {
        call_id: ProviderCallId::parse("CA7").unwrap(),
        status: CallStatus::Queued,
    };
    assert!(
        !store.mark_placed(a.id, &placed, t0()).await.unwrap(),
        "placement regressed a ringing attempt"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.call_id.unwrap().as_str().to_owned()),
        (AttemptState::Ringing, "CA7".to_owned())
    );
    // A hint whose attempt already has another call id is not used.
    let other = store
        .apply_call_event(
            Some(a.id),
            &ev("CA8", CallStatus::Completed, 3),
            &raw("CA8:3"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(other, EventOutcome::UnknownCall);
}

/// Issue 9, item 10: a provider's event time before the reservation (or after `now`) is
/// stored clamped into [reservation, now], and the event detail keeps the provider's value.
/// Conformance case `provider_times_are_clamped_to_our_clock`.
pub async fn provider_times_are_clamped_to_our_clock(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101", "+12125550102"]).await;
    let reserved = t0() + Duration::minutes(10);
    let heard = reserved + Duration::seconds(13);
    let a = placed(&*store, leads[0].id, "CA1", reserved).await;
    // Completed, 42 s long, reported as ending 5 minutes before the reservation.
    let mut e = ev("CA1", CallStatus::Completed, 3);
    e.at = reserved - Duration::minutes(5);
    store
        .apply_call_event(None, &e, &raw("CA1:3"), heard)
        .await
        .unwrap();
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.ended_at, Some(reserved), "{got:?}");
    assert_eq!(got.answered_at, Some(reserved), "{got:?}");
    let events = store.lead_events(leads[0].id).await.unwrap();
    let ended = events
        .iter()
        .find(|r| r.kind == "attempt.ended")
        .expect("attempt.ended event");
    let detail: serde_json::Value = serde_json::from_str(&ended.detail).unwrap();
    assert!(detail["provider_at"].is_string(), "{detail}");
    // A time in the future is clamped to now.
    let b = placed(&*store, leads[1].id, "CA2", reserved).await;
    let mut e = ev("CA2", CallStatus::Busy, 3);
    e.at = heard + Duration::days(400);
    store
        .apply_call_event(None, &e, &raw("CA2:3"), heard)
        .await
        .unwrap();
    let got = store.attempt(b.id).await.unwrap().unwrap();
    assert_eq!(got.ended_at, Some(heard), "{got:?}");
}

/// Issue 9, item 11: callbacks arriving after a final status (provider retries, a delayed AMD
/// result, a forged or garbled sequence number) are kept in the log and change nothing of the
/// attempt, concluded or not; only an explicit re-disposition changes a final attempt.
/// Conformance case `late_events_change_nothing_of_a_final_attempt`.
pub async fn late_events_change_nothing_of_a_final_attempt(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = placed(&*store, leads[0].id, "CA1", t0()).await;
    for (seq, status) in [(1, CallStatus::InProgress), (2, CallStatus::Completed)] {
        let r = store
            .apply_call_event(
                None,
                &ev("CA1", status, seq),
                &raw(&format!("CA1:{seq}")),
                t0(),
            )
            .await
            .unwrap();
        assert!(matches!(r, EventOutcome::Applied { .. }), "{r:?}");
    }
    let ended = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(ended.state, AttemptState::Ended);
    assert_eq!(ended.answered_by, None);
    assert_eq!(ended.last_sequence, Some(2));

    // Late facts that must not land: an AMD result, other figures, a huge sequence number.
    let late = |status: CallStatus, key: &str| {
        let mut e = ev("CA1", status, u32::MAX);
        e.answered_by = Some(outdial_core::AnsweredBy::MachineStart);
        e.duration_s = Some(999);
        e.sip_response_code = Some(486);
        e.at = t0() + Duration::hours(1);
        (e, raw(key))
    };
    let later = t0() + Duration::minutes(5);
    // Final, not yet concluded.
    let (e, r) = late(CallStatus::Completed, "CA1:late-1");
    let outcome = store.apply_call_event(None, &e, &r, later).await.unwrap();
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap(),
        ended,
        "a late event changed a final attempt"
    );
    assert_eq!(outcome, EventOutcome::Late { attempt_id: a.id });
    let d = Disposition::normalise("SALE").unwrap();
    let done = LeadDecision::Done {
        reason: "sold".into(),
    };
    assert!(store
        .conclude_attempt(a.id, &d, &done, &[], later)
        .await
        .unwrap());
    let concluded = store.attempt(a.id).await.unwrap().unwrap();
    // Concluded: neither a late final status, nor a late earlier one, nor one through the
    // attempt hint changes it.
    for (i, status) in [
        CallStatus::Completed,
        CallStatus::InProgress,
        CallStatus::Ringing,
    ]
    .into_iter()
    .enumerate()
    {
        let (e, r) = late(status, &format!("CA1:late-concluded-{i}"));
        let hint = (i == 2).then_some(a.id);
        assert_eq!(
            store.apply_call_event(hint, &e, &r, later).await.unwrap(),
            EventOutcome::Late { attempt_id: a.id },
            "{status:?}"
        );
    }
    let (e, r) = late(CallStatus::Completed, "CA1:late-concluded-0");
    assert_eq!(
        store.apply_call_event(None, &e, &r, later).await.unwrap(),
        EventOutcome::Duplicate,
        "a late event is deduplicated like any other"
    );
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got, concluded, "a late event changed a concluded attempt");
    assert_eq!(got.answered_by, None);
    assert_eq!(got.last_sequence, Some(2));
    assert_eq!(
        store.lead(leads[0].id).await.unwrap().unwrap().status,
        LeadStatus::Done
    );
    // Every raw callback is in the log, once.
    let timeline = store.lead_events(leads[0].id).await.unwrap();
    assert_eq!(
        timeline.iter().filter(|e| e.kind == "webhook").count(),
        6,
        "raw webhooks recorded once each, late ones included"
    );
}

/// Sequence numbers are informational: the state moves by status rank, so an outlandish
/// sequence number (4294967295) neither blocks later events nor reorders them.
/// Conformance case `sequence_numbers_do_not_order_events`.
pub async fn sequence_numbers_do_not_order_events(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let r = store
        .apply_call_event(
            Some(a.id),
            &ev("CA5", CallStatus::Ringing, u32::MAX),
            &raw("CA5:max"),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(r, EventOutcome::Applied { .. }), "{r:?}");
    for (seq, status, state) in [
        (2, CallStatus::InProgress, AttemptState::InProgress),
        (3, CallStatus::Completed, AttemptState::Ended),
    ] {
        let r = store
            .apply_call_event(
                None,
                &ev("CA5", status, seq),
                &raw(&format!("CA5:{seq}")),
                t0(),
            )
            .await
            .unwrap();
        match r {
            EventOutcome::Applied { attempt, .. } => assert_eq!(attempt.state, state),
            other => panic!("{status:?} after a huge sequence number: {other:?}"),
        }
    }
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.call_status, Some(CallStatus::Completed));
    assert_eq!(got.duration_s, Some(42));
}

/// Conformance case `conclude_applies_decision_once`.
pub async fn conclude_applies_decision_once(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let d = Disposition::normalise("BUSY").unwrap();
    let next = LeadDecision::Redial {
        at: t0() + Duration::minutes(2),
    };
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &[], t0())
            .await
            .unwrap(),
        "concluded a non-final attempt"
    );
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Busy, 2),
            &raw("CA1:2"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(store.attempts_to_conclude(10).await.unwrap(), vec![a.id]);
    assert!(store
        .conclude_attempt(a.id, &d, &next, &[], t0())
        .await
        .unwrap());
    assert!(
        !store
            .conclude_attempt(a.id, &d, &next, &[], t0())
            .await
            .unwrap(),
        "concluded twice"
    );
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(l.status, LeadStatus::Active);
    assert_eq!(l.next_attempt_at, Some(t0() + Duration::minutes(2)));
    assert_eq!(l.disposition, Some(d));
    assert!(store.attempts_to_conclude(10).await.unwrap().is_empty());
}

/// Conformance case `timestamps_round_trip`.
pub async fn timestamps_round_trip(store: Arc<dyn Store>) {
    // An event without a sequence number (the reconciler's) leaves none stored.
    let leads = seed(&*store, "seq", &["+12125550199"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let mut e = ev("CA99", CallStatus::Ringing, 0);
    e.sequence = None;
    store
        .apply_call_event(Some(a.id), &e, &raw("CA99:none"), t0())
        .await
        .unwrap();
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().last_sequence,
        None
    );

    let at = Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap() + Duration::microseconds(123_456);
    let c = store.create_campaign("a", &settings(), at).await.unwrap();
    assert_eq!(store.campaign(c.id).await.unwrap().created_at, at);
    let rows = vec![(lead("+12125550101"), LeadPlacement::Active(at))];
    store.insert_leads(c.id, &rows, at).await.unwrap();
    let l = &store.leads_by_phone(&rows[0].0.phone).await.unwrap()[0];
    assert_eq!(l.next_attempt_at, Some(at));
    // Nanoseconds are truncated to microseconds, never rounded up.
    let ns = at + Duration::nanoseconds(999);
    store.reschedule_lead(l.id, ns, "test", at).await.unwrap();
    let l = store.lead(l.id).await.unwrap().unwrap();
    assert_eq!(l.next_attempt_at, Some(at));
}

/// Conformance case `concurrent_reservations_exclusive`.
pub async fn concurrent_reservations_exclusive(store: Arc<dyn Store>) {
    let phones: Vec<String> = (0..40)
        .map(|i| format!("+1212555{:04}", 1000 + i))
        .collect();
    let refs: Vec<&str> = phones.iter().map(|s| s.as_str()).collect();
    let leads = seed(&*store, "a", &refs).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let ids: Vec<_> = leads.iter().map(|l| l.id).collect();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for id in ids {
                if let Some(a) = store.reserve_attempt(id, t0()).await.unwrap() {
                    got.push(a.lead_id);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("reservation task panicked"));
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, all.len(), "a lead was reserved twice");
    assert_eq!(n, 40);
}

/// Conformance case `dispositions_requested_and_redisposed`.
pub async fn dispositions_requested_and_redisposed(store: Arc<dyn Store>) {
    let leads = seed(&*store, "a", &["+12125550101"]).await;
    let a = store
        .reserve_attempt(leads[0].id, t0())
        .await
        .unwrap()
        .unwrap();
    let cb = Disposition::normalise("CALLBACK").unwrap();
    let at = t0() + Duration::hours(3);
    assert!(store
        .request_disposition(a.id, &cb, Some(at), "test", t0())
        .await
        .unwrap());
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.requested_disposition, got.callback_at),
        (Some(cb.clone()), Some(at))
    );
    // Not concluded yet: redisposing is refused.
    let done = LeadDecision::Done {
        reason: "sale".into(),
    };
    let sale = Disposition::normalise("SALE").unwrap();
    assert!(!store
        .redispose_attempt(a.id, &sale, None, &done, "test", t0())
        .await
        .unwrap());
    store
        .apply_call_event(
            Some(a.id),
            &ev("CA1", CallStatus::Completed, 3),
            &raw("CA1:3"),
            t0(),
        )
        .await
        .unwrap();
    store
        .conclude_attempt(a.id, &cb, &LeadDecision::Redial { at }, &[], t0())
        .await
        .unwrap();
    // Concluded: requests are refused, redisposition applies to the lead.
    assert!(!store
        .request_disposition(a.id, &sale, None, "test", t0())
        .await
        .unwrap());
    assert!(store
        .redispose_attempt(a.id, &sale, None, &done, "test", t0())
        .await
        .unwrap());
    let l = store.lead(leads[0].id).await.unwrap().unwrap();
    assert_eq!(
        (l.status, l.disposition),
        (LeadStatus::Done, Some(sale.clone()))
    );
    assert_eq!(
        store.attempt(a.id).await.unwrap().unwrap().disposition,
        Some(sale)
    );
}

/// Conformance case `reconcile_queue_and_in_flight_count`.
pub async fn reconcile_queue_and_in_flight_count(store: Arc<dyn Store>) {
    let leads = seed(
        &*store,
        "a",
        &["+12125550101", "+12125550102", "+12125550103"],
    )
    .await;
    assert_eq!(store.in_flight_count().await.unwrap(), 0);
    let a = placed(&*store, leads[0].id, "CA_rec_a", t0()).await;
    let b = store
        .reserve_attempt(leads[1].id, t0() + Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    let c = store
        .reserve_attempt(leads[2].id, t0())
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .mark_rejected(c.id, "21211", "bad number", t0())
        .await
        .unwrap());
    assert_eq!(
        store.in_flight_count().await.unwrap(),
        2,
        "placed and reserved count, rejected does not"
    );
    let ids = |v: Vec<Attempt>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let now = t0() + Duration::minutes(10);
    assert_eq!(
        ids(store.attempts_to_reconcile(now, now, 10).await.unwrap()),
        vec![a.id, b.id],
        "in-flight attempts, oldest first; final ones left out"
    );
    assert_eq!(
        ids(store
            .attempts_to_reconcile(t0() + Duration::seconds(30), now, 10)
            .await
            .unwrap()),
        vec![a.id],
        "only those reserved before reserved_before"
    );
    assert_eq!(
        ids(store.attempts_to_reconcile(now, now, 1).await.unwrap()),
        vec![a.id]
    );
    store.mark_reconciled(a.id, now).await.unwrap();
    let got = store.attempt(a.id).await.unwrap().unwrap();
    assert_eq!(got.reconciled_at, Some(now));
    assert_eq!(
        ids(store.attempts_to_reconcile(now, now, 10).await.unwrap()),
        vec![b.id],
        "reconciled at reconciled_before: not due again yet"
    );
    assert_eq!(
        ids(store
            .attempts_to_reconcile(now, now + Duration::seconds(1), 10)
            .await
            .unwrap()),
        vec![a.id, b.id],
        "due again once reconciled before reconciled_before"
    );
    assert!(store
        .mark_not_placed(b.id, "none", "no call", now)
        .await
        .unwrap());
    assert_eq!(store.in_flight_count().await.unwrap(), 1);
    let of_lead = store.lead_attempts(leads[0].id).await.unwrap();
    assert_eq!(
        ids(of_lead),
        vec![a.id],
        "lead_attempts: the lead's attempts"
    );
}
