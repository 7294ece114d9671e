//! Conformance cases of provider-account limits.

use super::*;
use crate::{AccountCaps, AccountUsage, WindowCap};

fn phones(prefix: u32, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| format!("+1212555{prefix:02}{i:02}"))
        .collect()
}

async fn seed_n(store: &dyn Store, name: &str, prefix: u32, n: u32) -> Vec<crate::Lead> {
    let p = phones(prefix, n);
    let refs: Vec<&str> = p.iter().map(String::as_str).collect();
    seed(store, name, &refs).await
}

/// Conformance case `account_caps_hold_at_reservation`: the in-flight cap and the rolling
/// windows count only the account's campaigns, only attempts that may have made a call, and
/// hold under concurrent reservations; `due_leads_outside` leaves the excluded campaigns out.
pub async fn account_caps_hold_at_reservation(store: Arc<dyn Store>) {
    let a = seed_n(&*store, "account", 10, 4).await;
    let b = seed_n(&*store, "other", 20, 2).await;
    let (ca, cb) = (a[0].campaign_id, b[0].campaign_id);
    let hour_ago = |t: DateTime<Utc>| t - Duration::hours(1);
    let usage = |since: Vec<DateTime<Utc>>| {
        let store = store.clone();
        async move { store.account_usage(&[ca], &since).await.unwrap() }
    };
    assert_eq!(
        usage(vec![hour_ago(t0())]).await,
        AccountUsage {
            in_flight: 0,
            reserved_since: vec![0]
        }
    );
    assert_eq!(
        store.account_usage(&[], &[t0()]).await.unwrap(),
        AccountUsage {
            in_flight: 0,
            reserved_since: vec![0]
        },
        "no campaigns: zeros"
    );

    // In flight: at most 2 of the account's attempts; the other campaign is not counted.
    let two = AccountCaps {
        campaigns: vec![ca],
        max_in_flight: Some(2),
        windows: vec![],
    };
    let first = store
        .reserve_attempt_within(a[0].id, t0(), 100, &two)
        .await
        .unwrap()
        .expect("room");
    store
        .reserve_attempt_within(a[1].id, t0(), 100, &two)
        .await
        .unwrap()
        .expect("room");
    assert!(
        store
            .reserve_attempt_within(a[2].id, t0(), 100, &two)
            .await
            .unwrap()
            .is_none(),
        "account in-flight cap exceeded"
    );
    assert_eq!(
        store.lead(a[2].id).await.unwrap().unwrap().status,
        LeadStatus::Active,
        "a lead refused for the account's cap stays due"
    );
    let other = AccountCaps {
        campaigns: vec![cb],
        max_in_flight: Some(2),
        windows: vec![],
    };
    assert!(store
        .reserve_attempt_within(b[0].id, t0(), 100, &other)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .reserve_attempt_within(b[1].id, t0(), 3, &other)
            .await
            .unwrap()
            .is_none(),
        "the fleet-wide cap still holds"
    );
    assert_eq!(
        usage(vec![hour_ago(t0()), t0() + Duration::seconds(1)]).await,
        AccountUsage {
            in_flight: 2,
            reserved_since: vec![2, 0]
        }
    );

    // Not placed (no call): neither in flight nor in the window.
    store
        .mark_not_placed(first.id, "rate-limited", "429", t0())
        .await
        .unwrap();
    assert_eq!(
        usage(vec![hour_ago(t0())]).await,
        AccountUsage {
            in_flight: 1,
            reserved_since: vec![1]
        }
    );

    // Rolling window: at most 2 reserved in the last hour.
    let t1 = t0() + Duration::minutes(10);
    let hourly = |now: DateTime<Utc>| AccountCaps {
        campaigns: vec![ca],
        max_in_flight: None,
        windows: vec![WindowCap {
            since: hour_ago(now),
            max: 2,
        }],
    };
    store
        .reserve_attempt_within(a[2].id, t1, 100, &hourly(t1))
        .await
        .unwrap()
        .expect("one in the window so far");
    assert!(
        store
            .reserve_attempt_within(a[3].id, t1, 100, &hourly(t1))
            .await
            .unwrap()
            .is_none(),
        "hourly window full"
    );
    let later = t0() + Duration::minutes(61);
    assert!(
        store
            .reserve_attempt_within(a[3].id, later, 100, &hourly(later))
            .await
            .unwrap()
            .is_some(),
        "the window rolled past the first reservation"
    );

    // Due leads outside the excluded campaigns.
    let fresh = seed_n(&*store, "fresh", 30, 2).await;
    let due: Vec<LeadId> = store
        .due_leads_outside(later, 10, &[cb])
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(due, vec![fresh[0].id, fresh[1].id], "b[1] excluded");
    let all: Vec<LeadId> = store
        .due_leads_outside(later, 10, &[])
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    let plain: Vec<LeadId> = store
        .due_leads(later, 10)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(all, plain);
    assert!(all.contains(&b[1].id));

    // Concurrent reservations never exceed the account's cap together.
    let many = seed_n(&*store, "burst", 40, 8).await;
    let caps = AccountCaps {
        campaigns: vec![many[0].campaign_id],
        max_in_flight: Some(3),
        windows: vec![],
    };
    let tasks: Vec<_> = many
        .iter()
        .map(|l| {
            let (store, caps, id) = (store.clone(), caps.clone(), l.id);
            tokio::spawn(async move {
                store
                    .reserve_attempt_within(id, later, 100, &caps)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += u32::from(t.await.unwrap());
    }
    assert_eq!(won, 3, "concurrent reservations over the account cap");
}
