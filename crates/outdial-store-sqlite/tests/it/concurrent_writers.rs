//! Two stores on one WAL file (issue 9, item 7): a lead import in one process must not make
//! the other's read-then-write transactions fail with "database is locked". Transactions
//! that may write begin as writers (`BEGIN IMMEDIATE`), so a writer waits for the lock within
//! the busy timeout instead of failing when its read snapshot is overtaken.

use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnswerBehaviour, CallEvent, CallStatus, CampaignSettings, Disposition, LeadContact, NewLead,
    ProviderCallId, Region, E164,
};
use outdial_store::prelude::*;
use outdial_store::{LeadPlacement, Placement, RawEvent};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response><Say>Hi</Say></Response>"),
    )
}

/// The `n`-th distinct number of exchange block `block` (10,000 per block).
fn phone(block: u32, n: u32) -> E164 {
    E164::parse(
        &format!("+1212{}{:04}", 200 + block + n / 10_000, n % 10_000),
        Region::US,
    )
    .unwrap()
}

fn leads(block: u32, range: std::ops::Range<u32>) -> Vec<(NewLead, LeadPlacement)> {
    range
        .map(|n| {
            (
                NewLead {
                    phone: phone(block, n),
                    contact: LeadContact::default(),
                },
                LeadPlacement::Active(t0()),
            )
        })
        .collect()
}

fn event(sid: &str, status: CallStatus, seq: u32) -> CallEvent {
    CallEvent {
        call_id: ProviderCallId::parse(sid).unwrap(),
        status,
        sequence: Some(seq),
        at: t0() + Duration::seconds(i64::from(seq)),
        duration_s: status.is_final().then_some(30),
        answered_by: None,
        sip_response_code: None,
    }
}

fn raw(key: String) -> RawEvent {
    RawEvent {
        source: "test".into(),
        payload: key.clone(),
        dedupe_key: key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_in_another_process_does_not_fail_read_then_write_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let importer = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let server = Arc::new(SqliteStore::open(&path, OpenMode::MustExist).await.unwrap());
    let imported = importer
        .create_campaign("import", &settings(), t0())
        .await
        .unwrap();
    let live = server
        .create_campaign("live", &settings(), t0())
        .await
        .unwrap();
    const LIVE: u32 = 400;
    const IMPORT_BATCHES: u32 = 25;
    server
        .insert_leads(live.id, &leads(0, 0..LIVE), t0())
        .await
        .unwrap();
    let live_leads = server
        .leads_after(outdial_core::LeadId(0), LIVE)
        .await
        .unwrap();

    // The import: batches of 1,000, as `outdial import` writes them, back to back.
    let importing = Arc::new(AtomicBool::new(true));
    let import = {
        let importing = importing.clone();
        tokio::spawn(async move {
            for b in 0..IMPORT_BATCHES {
                importer
                    .insert_leads(imported.id, &leads(1, b * 1000..(b + 1) * 1000), t0())
                    .await
                    .unwrap_or_else(|e| panic!("import batch {b}: {e}"));
            }
            importing.store(false, Ordering::SeqCst);
            importer.close().await;
        })
    };

    // Meanwhile the server dials: reserve, place, follow the callbacks, conclude. Each is a
    // transaction that reads and then writes.
    let mut done = 0u32;
    let busy = Disposition::normalise("BUSY").unwrap();
    for lead in &live_leads {
        if !importing.load(Ordering::SeqCst) && done >= 20 {
            break;
        }
        let now = t0();
        let a = server
            .reserve_attempt(lead.id, now)
            .await
            .unwrap_or_else(|e| panic!("reserve during the import: {e}"))
            .expect("the lead is due");
        let sid = format!("CA{:032}", a.id.0);
        server
            .mark_placed(
                a.id,
                &Placement {
                    call_id: ProviderCallId::parse(&sid).unwrap(),
                    status: CallStatus::Queued,
                },
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("mark_placed during the import: {e}"));
        for (seq, status) in [(1, CallStatus::Ringing), (2, CallStatus::Busy)] {
            server
                .apply_call_event(
                    Some(a.id),
                    &event(&sid, status, seq),
                    &raw(format!("{sid}:{seq}")),
                    now,
                )
                .await
                .unwrap_or_else(|e| panic!("a status callback during the import: {e}"));
        }
        server
            .reserve_pacing_slot("global", Duration::milliseconds(10), now)
            .await
            .unwrap_or_else(|e| panic!("pacing during the import: {e}"));
        assert!(server
            .conclude_attempt(
                a.id,
                &busy,
                &LeadDecision::Done {
                    reason: "test".into()
                },
                &[],
                now,
            )
            .await
            .unwrap_or_else(|e| panic!("conclude during the import: {e}")));
        done += 1;
    }
    import.await.expect("the import task");
    assert!(
        done >= 20,
        "only {done} calls went through during the import"
    );
    let counts = server.status_counts(t0(), t0()).await.unwrap();
    assert_eq!(
        counts.leads_by_status.values().sum::<u64>(),
        u64::from(LIVE) + u64::from(IMPORT_BATCHES) * 1000,
        "every imported lead is stored"
    );
}
