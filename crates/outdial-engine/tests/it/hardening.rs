//! Issue 9: a store error or a panic in one placement loses no other; refusals are acted on
//! by what they are about; a storage failure stops new calls at once and persists the stop.

use super::*;
use outdial_store::KillScope;

const FIVE: [&str; 5] = [
    "+12125550101",
    "+12125550102",
    "+12125550103",
    "+12125550104",
    "+12125550105",
];

fn batch_of_five(c: &mut EngineConfig) {
    c.claim_batch = 5;
}

/// A SQLite file store in `dir` and a plain second connection to it, for planting faults.
pub(super) async fn file_store(dir: &std::path::Path) -> (Arc<dyn Store>, sqlx::SqliteConnection) {
    use sqlx::Connection;
    let path = dir.join("outdial.db");
    let store = SqliteStore::open(&path, outdial_store_sqlite::OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let side = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    (Arc::new(store), side)
}

#[tokio::test]
async fn a_store_error_recording_one_placement_loses_none_of_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut side) = file_store(dir.path()).await;
    let r = rig_on(store, &FIVE, batch_of_five).await;
    // Slow answers: all five requests are under way when the first is recorded.
    r.provider.calls.lock().unwrap().delay_ms = 3000;
    // The first attempt's call id cannot be stored: recording its placement fails.
    sqlx::query(
        "CREATE TRIGGER fail_first_placement BEFORE UPDATE OF call_id ON attempts
         WHEN NEW.call_id IS NOT NULL AND OLD.id = 1
         BEGIN SELECT RAISE(ABORT, 'planted failure'); END",
    )
    .execute(&mut side)
    .await
    .unwrap();
    let err = r.tick(t0()).await.unwrap_err();
    assert!(err.to_string().contains("planted failure"), "{err}");
    let placed = r.provider.placed();
    assert_eq!(placed.len(), 5, "every create went out");
    let attempts = r.store.recent_attempts(None, 10).await.unwrap();
    let by_id = |id: i64| attempts.iter().find(|a| a.id.0 == id).unwrap().clone();
    for id in 2..=5 {
        let a = by_id(id);
        assert_eq!(a.state, AttemptState::Placed, "attempt {id}: {a:?}");
        assert!(a.call_id.is_some(), "attempt {id} lost its call id");
    }
    let first = by_id(1);
    assert_eq!(first.state, AttemptState::Reserved);
    assert!(first.call_id.is_none());
    // Left for the reconciler: once the request bound has passed it links the real call.
    sqlx::query("DROP TRIGGER fail_first_placement")
        .execute(&mut side)
        .await
        .unwrap();
    let rep = r.reconcile(t0() + Duration::seconds(90)).await.unwrap();
    assert_eq!(rep.advanced, 1, "{rep:?}");
    let first = r.store.attempt(first.id).await.unwrap().unwrap();
    assert_eq!(
        first.call_id.as_ref().map(|c| c.as_str().to_owned()),
        Some(placed[0].0.clone()),
        "the reconciler linked the call placed for attempt 1"
    );
}

#[tokio::test]
async fn a_panicking_create_request_is_an_ambiguous_outcome_not_a_panic_of_the_loop() {
    let r = rig_with(&FIVE[..3], batch_of_five).await;
    r.provider
        .script(vec![Script::Accept, Script::Panic, Script::Accept]);
    let rep = r.tick(t0()).await.unwrap();
    assert_eq!((rep.placed, rep.ambiguous), (2, 1), "{rep:?}");
    let attempts = r.store.recent_attempts(None, 10).await.unwrap();
    let unknown: Vec<_> = attempts
        .iter()
        .filter(|a| a.state == AttemptState::Unknown)
        .collect();
    assert_eq!(unknown.len(), 1, "{attempts:?}");
    // The number stays blocked until the reconciler proves no call exists.
    assert_eq!(r.store.in_flight_count().await.unwrap(), 3);
}

#[tokio::test]
async fn a_refused_destination_parks_its_lead_and_dialing_goes_on() {
    let r = rig_with(&FIVE[..3], batch_of_five).await;
    // Geographic permissions (21215), then a blocked number (21216).
    r.provider
        .script(vec![Script::Reject(21215), Script::Reject(21216)]);
    let rep = r.tick(t0()).await.unwrap();
    assert_eq!((rep.placed, rep.not_placed), (1, 2), "{rep:?}");
    assert!(!r.engine.kill_switches().await.unwrap().global_tripped());
    for phone in &FIVE[..2] {
        let lead = lead_of(&r, phone).await;
        assert_eq!(lead.status, LeadStatus::Paused, "{lead:?}");
        let reason = lead.status_reason.clone().unwrap_or_default();
        assert!(
            reason.contains("refuses calls to this destination"),
            "{reason}"
        );
        assert!(
            reason.contains("2121"),
            "the provider's code is kept: {reason}"
        );
    }
    // Many of them in a row never trip the consecutive-failure rule either.
    let r = rig_with(&FIVE, batch_of_five).await;
    r.provider.script(vec![Script::Reject(21215); 5]);
    r.tick(t0()).await.unwrap();
    r.engine.monitor(t0() + Duration::seconds(1)).await.unwrap();
    assert!(r.engine.kill_switches().await.unwrap().switches.is_empty());
}

#[tokio::test]
async fn an_account_refusal_trips_the_global_switch() {
    let r = rig_with(&FIVE[..2], batch_of_five).await;
    // The caller id is not a Twilio number nor a verified caller id.
    r.provider.script(vec![Script::Reject(21210)]);
    r.tick(t0()).await.unwrap();
    let switches = r.engine.kill_switches().await.unwrap();
    assert!(switches.global_tripped(), "{switches:?}");
    assert_eq!(
        switches.get(KillScope::Global).unwrap().source,
        "engine:provider-refusal"
    );
}

#[tokio::test]
async fn one_other_refusal_retries_the_lead_and_three_in_a_row_trip_the_switch() {
    let r = rig_with(&FIVE, batch_of_five).await;
    r.provider
        .script(vec![Script::Reject(21201), Script::Accept]);
    r.tick(t0()).await.unwrap();
    r.engine.monitor(t0() + Duration::seconds(1)).await.unwrap();
    assert!(
        !r.engine.kill_switches().await.unwrap().global_tripped(),
        "a single refusal must not stop every campaign"
    );
    let lead = lead_of(&r, FIVE[0]).await;
    assert_eq!(lead.status, LeadStatus::Active);
    assert!(lead.next_attempt_at.unwrap() > t0());
    // The consecutive-failure rule (default 3) still applies to these refusals.
    let r = rig_with(&FIVE[..3], batch_of_five).await;
    r.provider.script(vec![Script::Reject(21201); 3]);
    r.tick(t0()).await.unwrap();
    r.engine.monitor(t0() + Duration::seconds(1)).await.unwrap();
    assert!(r.engine.kill_switches().await.unwrap().global_tripped());
}

#[tokio::test]
async fn a_full_disk_stops_new_calls_at_once_and_the_stop_persists_when_writable_again() {
    let Some(disk) = outdial_testkit::small_fs::SmallFs::mount("4m") else {
        return;
    };
    let phones: Vec<String> = (0..400)
        .map(|i| format!("+1212555{:04}", 1000 + i))
        .collect();
    let phones: Vec<&str> = phones.iter().map(String::as_str).collect();
    let (store, _side) = file_store(disk.path()).await;
    let r = rig_on(store, &phones, |c| {
        c.claim_batch = 5;
        c.max_concurrent = 10_000;
    })
    .await;
    disk.fill();
    // Dial until the store refuses a write.
    let mut t = t0();
    let mut failure = None;
    for _ in 0..80 {
        t += Duration::seconds(1);
        match r.tick(t).await {
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("the full disk never refused a write");
    assert!(
        matches!(
            failure,
            outdial_engine::EngineError::Store(outdial_store::StoreError::Unavailable { .. })
        ),
        "a full disk is a storage failure: {failure}"
    );
    assert!(r.engine.storage_fault().is_some());
    // While the disk stays full, no new call goes out.
    let sent = r.provider.calls.lock().unwrap().requests.len();
    for _ in 0..5 {
        t += Duration::seconds(1);
        let _ = r.tick(t).await;
    }
    assert_eq!(
        r.provider.calls.lock().unwrap().requests.len(),
        sent,
        "dialed on a store that cannot save"
    );
    // Disk freed: the stop is persisted as a tripped global kill switch with an alert, and
    // dialing stays stopped until an operator resumes.
    disk.free();
    t += Duration::seconds(1);
    r.tick(t).await.unwrap();
    let switches = r.engine.kill_switches().await.unwrap();
    let global = switches.get(KillScope::Global).expect("global switch");
    assert!(global.tripped, "{global:?}");
    assert_eq!(global.source, "engine:storage");
    assert!(
        global.reason.contains("storage failure"),
        "{}",
        global.reason
    );
    assert!(r.engine.storage_fault().is_none());
    for _ in 0..3 {
        t += Duration::seconds(1);
        r.tick(t).await.unwrap();
    }
    assert_eq!(r.provider.calls.lock().unwrap().requests.len(), sent);
    // Every call that went out is matched to its attempt once reconciled.
    t += Duration::seconds(200);
    r.reconcile(t).await.unwrap();
    let attempts = r.store.recent_attempts(None, 10_000).await.unwrap();
    for (sid, to, _, _) in r.provider.placed() {
        assert!(
            attempts
                .iter()
                .any(|a| a.call_id.as_ref().map(|c| c.as_str()) == Some(sid.as_str())),
            "call {sid} to {to} has no attempt"
        );
    }
}

#[tokio::test]
async fn a_provider_end_time_before_the_reservation_never_shortens_the_redial_interval() {
    let r = rig(&FIVE[..1]).await;
    r.tick(t0()).await.unwrap();
    let sid = r.provider.placed()[0].0.clone();
    // Busy, reported 13 s after the reservation with a timestamp 5 minutes before it.
    let heard = t0() + Duration::seconds(13);
    r.clock.set(heard);
    let (mut e, raw) = ev(&sid, CallStatus::Busy, 3, t0() - Duration::minutes(5));
    e.duration_s = Some(0);
    r.engine.ingest_call_event(None, &e, &raw).await.unwrap();
    let lead = lead_of(&r, FIVE[0]).await;
    let next = lead.next_attempt_at.expect("redialed");
    // The first redial of a busy number waits 2 minutes (default progressive intervals),
    // measured from when outdial heard the call end.
    assert!(
        next >= heard + Duration::minutes(2),
        "next attempt at {next}, only {} s after the call ended",
        (next - heard).num_seconds()
    );
}

/// A campaign whose provider this engine was not given (here Bland, with only a Twilio
/// adapter configured) trips its own kill switch, reserves nothing, and leaves the other
/// campaigns dialing. Before, the tick failed with `NoProvider` after reserving the attempt,
/// and the leads claimed after it were not dialed in that tick.
#[tokio::test]
async fn a_campaign_without_its_provider_trips_its_switch_and_the_others_dial() {
    let r = rig_with(&FIVE[..2], batch_of_five).await;
    let mut settings = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).unwrap(),
        AnswerBehaviour::flow_url("https://example.com/flow"),
    );
    settings.provider = ProviderKind::Bland;
    let other = r
        .store
        .create_campaign("agents", &settings, t0())
        .await
        .unwrap();
    let lead = NewLead {
        phone: E164::parse(FIVE[4], Region::US).unwrap(),
        contact: LeadContact {
            state: Some("NY".into()),
            ..Default::default()
        },
    };
    r.store
        .insert_leads(other.id, &[(lead, LeadPlacement::Active(t0()))], t0())
        .await
        .unwrap();
    let rep = r.tick(t0()).await.expect("the tick goes on");
    assert_eq!(rep.placed, 2, "{rep:?}");
    let switches = r.engine.kill_switches().await.unwrap();
    assert!(switches.stops(other.id), "{switches:?}");
    assert!(!switches.global_tripped());
    let s = switches.get(KillScope::Campaign(other.id)).unwrap();
    assert_eq!(s.source, "engine:no-provider");
    assert!(s.reason.contains("bland"), "{}", s.reason);
    let bland_lead = lead_of(&r, FIVE[4]).await;
    assert!(r
        .store
        .lead_attempts(bland_lead.id)
        .await
        .unwrap()
        .is_empty());
    // `explain` names each lead's provider.
    let why = r.engine.explain_lead(bland_lead, t0()).await.unwrap();
    assert_eq!(why.provider, ProviderKind::Bland);
    let twilio_lead = lead_of(&r, FIVE[0]).await;
    let why = r.engine.explain_lead(twilio_lead, t0()).await.unwrap();
    assert_eq!(why.provider, ProviderKind::Twilio);
    assert_eq!(why.attempts.len(), 1);
}
