//! Group commit of provider events (issue 13): concurrent `apply_call_event` calls share a
//! transaction, and each is answered after that transaction commits. One event that fails
//! is rolled back alone (the batch is applied again, each event in its own savepoint); the
//! rest of its batch is kept, once.

use chrono::{DateTime, TimeZone, Utc};
use outdial_core::AttemptState;
use outdial_core::{
    AnswerBehaviour, CallEvent, CallStatus, CampaignSettings, LeadContact, LeadId, NewLead,
    ProviderCallId, Region, E164,
};
use outdial_store::prelude::*;
use outdial_store::{EventOutcome, LeadPlacement, Placement, RawEvent};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn sid(n: i64) -> String {
    format!("CA{n:032}")
}

/// A file store with `n` leads, each with a placed attempt whose call id is `sid(attempt)`.
async fn placed_attempts(path: &std::path::Path, n: u32) -> (Arc<SqliteStore>, Vec<i64>) {
    let store = Arc::new(
        SqliteStore::open(path, OpenMode::CreateIfMissing)
            .await
            .unwrap(),
    );
    let settings = CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response><Say>Hi</Say></Response>"),
    );
    let c = store.create_campaign("c", &settings, t0()).await.unwrap();
    let leads: Vec<_> = (0..n)
        .map(|i| {
            (
                NewLead {
                    phone: E164::parse(
                        &format!("+1212{:03}{:04}", 200 + i / 10_000, i % 10_000),
                        Region::US,
                    )
                    .unwrap(),
                    contact: LeadContact::default(),
                },
                LeadPlacement::Active(t0()),
            )
        })
        .collect();
    store.insert_leads(c.id, &leads, t0()).await.unwrap();
    let mut ids = Vec::new();
    for lead in store.leads_after(LeadId(0), n).await.unwrap() {
        let a = store.reserve_attempt(lead.id, t0()).await.unwrap().unwrap();
        store
            .mark_placed(
                a.id,
                &Placement {
                    call_id: ProviderCallId::parse(&sid(a.id.0)).unwrap(),
                    status: CallStatus::Queued,
                },
                t0(),
            )
            .await
            .unwrap();
        ids.push(a.id.0);
    }
    (store, ids)
}

fn ringing(id: i64) -> (CallEvent, RawEvent) {
    (
        CallEvent {
            call_id: ProviderCallId::parse(&sid(id)).unwrap(),
            status: CallStatus::Ringing,
            sequence: Some(1),
            at: t0(),
            duration_s: None,
            answered_by: None,
            sip_response_code: None,
        },
        RawEvent {
            source: "test".into(),
            dedupe_key: format!("{}:1:ringing", sid(id)),
            payload: format!("CallSid={}", sid(id)),
        },
    )
}

/// Sends a ringing event for every id at once; the outcomes in id order.
async fn all_at_once(store: &Arc<SqliteStore>, ids: &[i64]) -> Vec<Result<EventOutcome, String>> {
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let store = store.clone();
            tokio::spawn(async move {
                let (e, raw) = ringing(id);
                store
                    .apply_call_event(None, &e, &raw, t0())
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_events_are_each_applied_once_and_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let (store, ids) = placed_attempts(&path, 300).await;
    for (id, r) in ids.iter().zip(all_at_once(&store, &ids).await) {
        // The attempt of the outcome is the row as the event left it.
        assert!(
            matches!(&r, Ok(EventOutcome::Applied { attempt, .. })
                if attempt.state == AttemptState::Ringing && attempt.id.0 == *id),
            "attempt {id}: {r:?}"
        );
    }
    for (id, r) in ids.iter().zip(all_at_once(&store, &ids).await) {
        assert!(
            matches!(r, Ok(EventOutcome::Duplicate)),
            "attempt {id}: {r:?}"
        );
    }
    store.close().await;
    let reopened = SqliteStore::open(&path, OpenMode::MustExist).await.unwrap();
    for id in ids {
        let a = reopened
            .attempt(outdial_core::AttemptId(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.state, AttemptState::Ringing, "attempt {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_event_is_rolled_back_alone() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let (store, ids) = placed_attempts(&path, 200).await;
    let bad = ids[97];
    let mut side = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE TRIGGER planted BEFORE UPDATE OF state ON attempts WHEN OLD.id = {bad}
         BEGIN SELECT RAISE(ABORT, 'planted failure'); END"
    ))
    .execute(&mut side)
    .await
    .unwrap();
    side.close().await.unwrap();
    let outcomes = all_at_once(&store, &ids).await;
    for (id, r) in ids.iter().zip(&outcomes) {
        if *id == bad {
            assert!(
                r.as_ref().is_err_and(|e| e.contains("planted failure")),
                "{r:?}"
            );
        } else {
            assert!(
                matches!(r, Ok(EventOutcome::Applied { .. })),
                "attempt {id}: {r:?}"
            );
        }
    }
    store.close().await;
    let reopened = SqliteStore::open(&path, OpenMode::MustExist).await.unwrap();
    for id in ids {
        let a = reopened
            .attempt(outdial_core::AttemptId(id))
            .await
            .unwrap()
            .unwrap();
        let want = if id == bad {
            AttemptState::Placed
        } else {
            AttemptState::Ringing
        };
        assert_eq!(a.state, want, "attempt {id}");
        // The failed event's raw record was rolled back with it: a retry is not a duplicate.
        let events = reopened.lead_events(a.lead_id).await.unwrap();
        let webhooks = events.iter().filter(|e| e.kind == "webhook").count();
        assert_eq!(webhooks, usize::from(id != bad), "attempt {id}: {events:?}");
    }
}
