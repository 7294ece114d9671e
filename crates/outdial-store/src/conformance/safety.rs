//! Conformance cases of safety.

use super::*;

/// Conformance case `kill_switch_trip_and_resume`.
pub async fn kill_switch_trip_and_resume(store: Arc<dyn Store>) {
    let c = store.create_campaign("a", &settings(), t0()).await.unwrap();
    let t1 = t0() + Duration::minutes(5) + Duration::nanoseconds(1_500);
    assert!(store.kill_switches().await.unwrap().is_empty());
    assert!(
        !store
            .set_kill_switch(KillScope::Global, false, "nothing to resume", "api", t0())
            .await
            .unwrap(),
        "resuming a switch never set changed it"
    );
    assert!(
        store.kill_switches().await.unwrap().is_empty(),
        "a resume of a switch never set stored a row"
    );
    assert_eq!(store.latest_event_at("api").await.unwrap(), None);

    assert!(store
        .set_kill_switch(KillScope::Global, true, "carrier down", "monitor:a", t0())
        .await
        .unwrap());
    assert_eq!(
        store.latest_event_at("monitor:a").await.unwrap(),
        Some(t0()),
        "a trip recorded no event"
    );
    assert!(
        !store
            .set_kill_switch(KillScope::Global, true, "again", "monitor:b", t1)
            .await
            .unwrap(),
        "a second trip reported a change"
    );
    assert_eq!(
        store.latest_event_at("monitor:b").await.unwrap(),
        None,
        "a second trip recorded an event"
    );
    assert!(store
        .set_kill_switch(
            KillScope::Campaign(c.id),
            true,
            "too many failures",
            "monitor:a",
            t0()
        )
        .await
        .unwrap());
    let global = KillSwitch {
        scope: KillScope::Global,
        tripped: true,
        reason: "carrier down".into(),
        source: "monitor:a".into(),
        changed_at: t0(),
    };
    let campaign = KillSwitch {
        scope: KillScope::Campaign(c.id),
        tripped: true,
        reason: "too many failures".into(),
        source: "monitor:a".into(),
        changed_at: t0(),
    };
    assert_eq!(
        store.kill_switches().await.unwrap(),
        vec![campaign.clone(), global.clone()],
        "switches by scope key, unchanged by the repeated trip"
    );

    assert!(store
        .set_kill_switch(KillScope::Global, false, "fixed", "operator:ann", t1)
        .await
        .unwrap());
    assert_eq!(
        store.latest_event_at("operator:ann").await.unwrap(),
        Some(to_micros(t1)),
        "a resume recorded no event"
    );
    assert!(
        !store
            .set_kill_switch(KillScope::Global, false, "fixed again", "operator:bob", t1)
            .await
            .unwrap(),
        "a second resume reported a change"
    );
    assert_eq!(store.latest_event_at("operator:bob").await.unwrap(), None);
    let resumed = KillSwitch {
        tripped: false,
        reason: "fixed".into(),
        source: "operator:ann".into(),
        changed_at: to_micros(t1),
        ..global
    };
    assert_eq!(
        store.kill_switches().await.unwrap(),
        vec![campaign, resumed]
    );
    // And it trips again after a resume.
    assert!(store
        .set_kill_switch(KillScope::Global, true, "down again", "monitor:a", t1)
        .await
        .unwrap());
    assert!(
        store
            .kill_switches()
            .await
            .unwrap()
            .iter()
            .all(|k| k.tripped),
        "a trip after a resume did not take"
    );
}

/// Conformance case `alerts_raise_once_with_a_job_per_channel`.
pub async fn alerts_raise_once_with_a_job_per_channel(store: Arc<dyn Store>) {
    let alert = NewAlert {
        kind: "kill_switch.tripped".into(),
        scope: "global".into(),
        subject: "Dialing stopped".into(),
        body: "The carrier failed 5 calls in a row.\nResume with `outdial resume`.".into(),
        dedupe_key: Some("kill:global:1".into()),
    };
    let t1 = t0() + Duration::seconds(1) + Duration::nanoseconds(999);
    let id = store
        .raise_alert(&alert, &["alert.email", "alert.chat"], t1)
        .await
        .unwrap()
        .expect("alert not raised");
    let record = AlertRecord {
        id,
        kind: alert.kind.clone(),
        scope: alert.scope.clone(),
        subject: alert.subject.clone(),
        body: alert.body.clone(),
        raised_at: to_micros(t1),
    };
    assert_eq!(store.alert(id).await.unwrap(), Some(record.clone()));
    let jobs = store.jobs(None, 10).await.unwrap();
    let mut kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["alert.chat", "alert.email"],
        "one job per channel"
    );
    for j in &jobs {
        let payload: serde_json::Value = serde_json::from_str(&j.payload).unwrap();
        assert_eq!(payload, serde_json::json!({ "alert_id": id.0 }));
        assert_eq!(
            (j.state, j.run_at, j.attempts),
            (JobState::Pending, to_micros(t1), 0)
        );
    }
    // The same dedupe key: nothing raised, nothing enqueued.
    assert_eq!(
        store
            .raise_alert(&alert, &["alert.email", "alert.chat"], t1)
            .await
            .unwrap(),
        None,
        "an alert was raised twice"
    );
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 2);
    assert_eq!(store.alerts(10).await.unwrap(), vec![record.clone()]);

    // Without a key every alert is raised; without channels none is sent.
    let plain = NewAlert {
        dedupe_key: None,
        subject: "Webhooks are late".into(),
        ..alert.clone()
    };
    let second = store.raise_alert(&plain, &[], t1).await.unwrap().unwrap();
    let third = store
        .raise_alert(&plain, &["alert.email"], t1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.jobs(None, 10).await.unwrap().len(), 3);
    let listed: Vec<AlertId> = store
        .alerts(10)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec![third, second, id], "alerts newest first");
    assert_eq!(store.alerts(1).await.unwrap().len(), 1);
    assert_eq!(store.alert(AlertId(third.0 + 1000)).await.unwrap(), None);
}
