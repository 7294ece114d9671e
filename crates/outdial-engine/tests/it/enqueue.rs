//! Enqueue-time placement: the batch (`lead_placements`) gives each lead what the per-lead
//! placement (`lead_placement`, one `dnc_check` and one `phone_attempt_times` per lead)
//! gives it.

use chrono::Duration;
use outdial_core::compliance::StateRules;
use outdial_core::{
    AnswerBehaviour, CampaignId, CampaignSettings, LeadContact, NewLead, Region, E164,
};
use outdial_engine::enqueue::{lead_placement, lead_placements};
use outdial_store::prelude::*;
use outdial_store::{DncEntry, DncScope, LeadPlacement, Store};
use outdial_store_sqlite::SqliteStore;
use outdial_testkit::t0;

fn phone(p: &str) -> E164 {
    E164::parse(p, Region::US).unwrap()
}

fn lead(p: &str, state: Option<&str>) -> NewLead {
    NewLead {
        phone: phone(p),
        contact: LeadContact {
            state: state.map(str::to_owned),
            ..Default::default()
        },
    }
}

fn listed(p: &str, scope: DncScope) -> DncEntry {
    DncEntry {
        phone: phone(p),
        scope,
        source: "operator".into(),
        reason: None,
        added_at: t0(),
    }
}

async fn lead_id(store: &dyn Store, campaign: CampaignId, p: &str) -> outdial_core::LeadId {
    store
        .leads_by_phone(&phone(p))
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.campaign_id == campaign)
        .unwrap()
        .id
}

#[tokio::test]
async fn batch_placement_equals_per_lead_placement() {
    let store = SqliteStore::in_memory().await.unwrap();
    let mut settings = CampaignSettings::new(
        phone("+15005550006"),
        AnswerBehaviour::flow_url("https://example.com/twiml"),
    );
    settings.caps.per_number_24h = Some(1);
    settings.caps.min_gap_min = 90;
    let c = store.create_campaign("c", &settings, t0()).await.unwrap();
    let other = store
        .create_campaign("other", &settings, t0())
        .await
        .unwrap();
    let now = t0();
    // Numbers with history, called from the other campaign: +0101 2 h ago (counted),
    // +0102 3 h ago but rejected (not counted), +0103 9 days ago (too old to count).
    let called = ["+12125550101", "+12125550102", "+12125550103"];
    let rows: Vec<_> = called
        .iter()
        .map(|p| {
            (
                lead(p, Some("NY")),
                LeadPlacement::Active(now - Duration::days(10)),
            )
        })
        .collect();
    store.insert_leads(other.id, &rows, now).await.unwrap();
    let reserve = |p: &'static str, at| {
        let store = store.clone();
        async move {
            let id = lead_id(&store, other.id, p).await;
            store.reserve_attempt(id, at).await.unwrap().unwrap()
        }
    };
    reserve(called[0], now - Duration::hours(2)).await;
    let rejected = reserve(called[1], now - Duration::hours(3)).await;
    assert!(store
        .mark_rejected(rejected.id, "21211", "bad", now - Duration::hours(3))
        .await
        .unwrap());
    reserve(called[2], now - Duration::days(9)).await;
    store
        .dnc_add(
            &[
                listed("+12125550111", DncScope::Internal),
                listed("+12125550112", DncScope::National),
                listed("+12125550113", DncScope::Campaign(c.id)),
                listed("+12125550114", DncScope::Campaign(other.id)),
                // Listed and called: the list decides.
                listed("+12125550101", DncScope::Campaign(other.id)),
                listed("+12125550115", DncScope::Internal),
                listed("+12125550115", DncScope::Campaign(c.id)),
            ],
            now,
        )
        .await
        .unwrap();
    let leads = vec![
        lead("+12125550101", Some("NY")),
        lead("+12125550102", Some("NY")),
        lead("+12125550103", Some("NY")),
        lead("+12125550111", Some("NY")),
        lead("+12125550112", None),
        lead("+12125550113", Some("NY")),
        lead("+12125550114", Some("NY")),
        lead("+12125550115", Some("NY")),
        lead("+12125550120", Some("NY")),
        lead("+12125550121", Some("FL")),
        // Area code 212 is New York: no state still places it.
        lead("+12125550122", None),
        // Repeated numbers get the same answer.
        lead("+12125550101", Some("NY")),
        lead("+12125550111", Some("NY")),
    ];
    let rules = StateRules::builtin();
    let batch = lead_placements(&store, &leads, &c, &rules, now)
        .await
        .unwrap();
    assert_eq!(batch.len(), leads.len());
    for (l, got) in leads.iter().zip(&batch) {
        let single = lead_placement(&store, l, &c, &rules, now).await.unwrap();
        assert_eq!(
            got, &single,
            "{}: batch and per-lead placement differ",
            l.phone
        );
    }
    let paused = |i: usize| matches!(&batch[i], LeadPlacement::Paused(r) if r.contains("campaign:") || r.contains("internal") || r.contains("national"));
    for i in [3, 4, 5, 7, 12] {
        assert!(paused(i), "lead {i} on a list that applies: {:?}", batch[i]);
    }
    // The other campaign's list does not apply to c: +0114, never called, is placed as
    // the unlisted, never-called +0120.
    assert_eq!(batch[6], batch[8]);
    let LeadPlacement::Active(free) = batch[8] else {
        panic!(
            "an unlisted, never-called number is placed active: {:?}",
            batch[8]
        );
    };
    // +0101 is listed only by the other campaign; its counted attempt 2 h ago (a cap of 1
    // a day) holds it back 24 h.
    let LeadPlacement::Active(capped) = batch[0] else {
        panic!("a called number is placed active later: {:?}", batch[0]);
    };
    assert!(
        capped >= now - Duration::hours(2) + Duration::hours(24) && capped > free,
        "the counted attempt must hold the number back 24 h: {capped} vs {free}"
    );
    // Rejected and too-old attempts do not count.
    assert_eq!(batch[1], batch[8]);
    assert_eq!(batch[2], batch[8]);
    assert!(lead_placements(&store, &[], &c, &rules, now)
        .await
        .unwrap()
        .is_empty());
}
