//! The run checks must catch what they claim to: a synthetic ledger with violations fails.

use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_carrier::LedgerEntry;
use outdial_core::compliance::StateRules;
use outdial_core::{AnswerBehaviour, CampaignSettings, LeadContact, NewLead, Region, E164};
use outdial_sim::checks::check_all;
use outdial_store::prelude::*;
use outdial_store::LeadPlacement;
use outdial_store_sqlite::SqliteStore;

fn call(sid: &str, to: &str, created: DateTime<Utc>, minutes: i64) -> LedgerEntry {
    LedgerEntry {
        call_sid: sid.into(),
        to: to.into(),
        from: "+15005550006".into(),
        created_at: created,
        answered_at: None,
        ended_at: Some(created + Duration::minutes(minutes)),
        final_status: Some("no-answer".into()),
    }
}

async fn store_with(phones: &[(&str, &str)]) -> SqliteStore {
    let store = SqliteStore::in_memory().await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 13, 0, 0).unwrap();
    let c = store
        .create_campaign(
            "c",
            &CampaignSettings::new(
                E164::parse("+15005550006", Region::US).unwrap(),
                AnswerBehaviour::inline("<Response/>"),
            ),
            t0,
        )
        .await
        .unwrap();
    let leads: Vec<_> = phones
        .iter()
        .map(|(p, st)| {
            (
                NewLead {
                    phone: E164::parse(p, Region::US).unwrap(),
                    contact: LeadContact {
                        state: Some(st.to_string()),
                        ..Default::default()
                    },
                },
                LeadPlacement::Active(t0),
            )
        })
        .collect();
    store.insert_leads(c.id, &leads, t0).await.unwrap();
    store
}

fn failed(report: &outdial_sim::checks::CheckReport) -> Vec<&'static str> {
    report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect()
}

#[tokio::test]
async fn overlap_late_call_and_florida_cap_are_caught() {
    let store = store_with(&[("+13055550101", "FL"), ("+12125550102", "NY")]).await;
    let t = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 1, 6, h, m, 0).unwrap();
    let ledger = vec![
        // Four calls to a Florida number within 24 hours (cap 3), 15:00Z = 10:00 EST onwards.
        call("CA1", "+13055550101", t(15, 0), 1),
        call("CA2", "+13055550101", t(16, 0), 1),
        call("CA3", "+13055550101", t(17, 0), 1),
        call("CA4", "+13055550101", t(18, 0), 1),
        // A New York call at 21:30 EST, and two overlapping calls.
        call("CA5", "+12125550102", t(2, 30) + Duration::days(1), 1),
        call("CA6", "+12125550102", t(15, 0), 10),
        call("CA7", "+12125550102", t(15, 5), 1),
    ];
    let report = check_all(&store, &ledger, &StateRules::builtin())
        .await
        .unwrap();
    let lines = report.lines().join("\n");
    let failed = failed(&report);
    assert!(
        failed.contains(&"no overlapping calls to one number"),
        "{lines}"
    );
    assert!(
        failed
            .contains(&"every call allowed by every rule (windows, state rules, caps) when placed"),
        "{lines}"
    );
    assert!(
        lines.contains("CA4") && lines.contains("FL state cap"),
        "{lines}"
    );
    // Calls with no attempt in the store are caught too.
    assert!(
        failed.contains(&"no provider call without its attempt"),
        "{lines}"
    );
}

#[tokio::test]
async fn a_clean_ledger_passes_the_call_checks() {
    let store = store_with(&[("+12125550102", "NY")]).await;
    let t = Utc.with_ymd_and_hms(2026, 1, 6, 15, 0, 0).unwrap();
    let ledger = vec![
        call("CA1", "+12125550102", t, 1),
        call("CA2", "+12125550102", t + Duration::hours(1), 1),
    ];
    let report = check_all(&store, &ledger, &StateRules::builtin())
        .await
        .unwrap();
    let failed = failed(&report);
    // Only the attempt linkage fails here: the store has no attempts for these calls.
    assert_eq!(
        failed,
        vec!["no provider call without its attempt"],
        "{:?}",
        report.lines()
    );
}
