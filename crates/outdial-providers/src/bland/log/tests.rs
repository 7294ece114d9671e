//! The Bland call log against an in-test stub of `GET /v1/calls` that filters by
//! `start_date`/`end_date` (inclusive), sorts by `created_at` and slices `[from, to)` (or
//! `[from, to]` in its inclusive mode).

use super::*;
use crate::bland::client::BlandConfig;
use crate::calllog::RetryPolicy;
use crate::test_server::{canned, Canned};
use chrono::{TimeZone, Utc};
use outdial_core::CallStatus;
use secrecy::SecretString;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// The stub's state: the provider's calls, the requests seen, and its faults.
#[derive(Default)]
struct Fake {
    calls: Vec<Value>,
    queries: Vec<Vec<(String, String)>>,
    /// Answer the first this many requests with 429.
    rate_limit_first: usize,
    /// Treat `to` as inclusive (and ignore `limit`).
    inclusive: bool,
    /// A call added after the first page of this window (`start_date`) was served.
    arrives_after_first_page: Option<(String, Value)>,
}

fn call(id: &str, at: &str, to: &str, status: &str) -> Value {
    json!({"call_id": id, "created_at": at, "to": to, "from": "+14155550100",
           "queue_status": "complete", "status": status, "completed": true,
           "call_length": 0.5, "started_at": at, "answered_by": null})
}

fn q<'a>(query: &'a [(String, String)], k: &str) -> Option<&'a str> {
    query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn respond(fake: &Mutex<Fake>, query: Vec<(String, String)>) -> Canned {
    let mut f = fake.lock().unwrap();
    f.queries.push(query.clone());
    if f.queries.len() <= f.rate_limit_first {
        let mut c = canned(429, r#"{"message":"Too many requests"}"#);
        c.headers.push(("retry-after", "0".into()));
        return c;
    }
    assert!(q(&query, "page").is_none(), "page is never sent");
    assert_eq!(q(&query, "ascending"), Some("true"));
    let start = q(&query, "start_date").unwrap().to_owned();
    let end = q(&query, "end_date").unwrap().to_owned();
    let from: usize = q(&query, "from").unwrap().parse().unwrap();
    let to: usize = q(&query, "to").unwrap().parse().unwrap();
    let limit: usize = q(&query, "limit").unwrap().parse().unwrap();
    let mut inside: Vec<&Value> = f
        .calls
        .iter()
        .filter(|c| {
            let day = &c["created_at"].as_str().unwrap()[..10];
            day >= start.as_str() && day <= end.as_str()
        })
        .collect();
    inside.sort_by_key(|c| c["created_at"].as_str().unwrap().to_owned());
    let stop = if f.inclusive {
        (to + 1).min(inside.len())
    } else {
        to.min(from + limit).min(inside.len())
    };
    let page: Vec<Value> = inside
        .get(from.min(stop)..stop)
        .unwrap_or_default()
        .iter()
        .map(|v| (*v).clone())
        .collect();
    let body = json!({"total_count": inside.len(), "count": page.len(), "calls": page});
    if from == 0 && f.arrives_after_first_page.as_ref().map(|(d, _)| d) == Some(&start) {
        let (_, arriving) = f.arrives_after_first_page.take().unwrap();
        f.calls.push(arriving);
    }
    canned(200, body.to_string())
}

async fn stub(fake: Fake) -> (String, Arc<Mutex<Fake>>) {
    let fake = Arc::new(Mutex::new(fake));
    let f2 = fake.clone();
    let (base, _log) = crate::test_server::serve_with(
        |parts, _| {
            parts
                .uri
                .query()
                .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap())
                .unwrap_or_default()
        },
        move |query: &Vec<(String, String)>| respond(&f2, query.clone()),
    )
    .await;
    (base, fake)
}

fn client(base: &str) -> BlandClient {
    BlandClient::new(BlandConfig {
        api_base: base.to_owned(),
        ..BlandConfig::new(SecretString::from("sk-test"))
    })
    .unwrap()
}

fn query(page_size: u32) -> LogQuery {
    LogQuery {
        page_size,
        retry: RetryPolicy {
            max_retries: 3,
            first_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        ..LogQuery::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap(),
        )
    }
}

fn ids(f: &LogFetch) -> Vec<&str> {
    f.calls.iter().map(|c| c.call_id.as_str()).collect()
}

#[tokio::test]
async fn windows_pages_and_a_call_arriving_between_pages() {
    let mut calls: Vec<Value> = (0..5)
        .map(|i| {
            call(
                &format!("c{i}"),
                &format!("2026-03-02T1{i}:00:00Z"),
                "4155550101",
                "no-answer",
            )
        })
        .collect();
    // Outside [since, until), though inside the overlapping windows.
    calls.push(call("before", "2026-03-01T23:00:00Z", "4155550101", "busy"));
    calls.push(call("after", "2026-03-03T01:00:00Z", "4155550101", "busy"));
    let mut inbound = call("in", "2026-03-02T09:30:00Z", "+14155550102", "completed");
    inbound["inbound"] = json!(true);
    calls.push(inbound);
    let mut bad = call("bad", "2026-03-02T09:00:00Z", "+14155550103", "failed");
    bad["queue_status"] = json!("pre_queue_error");
    bad["error_message"] = json!("Invalid phone number provided");
    calls.push(bad);
    let mut sale = call(
        "sale",
        "2026-03-02T08:00:00Z",
        "+1 415 555 0104",
        "completed",
    );
    sale["disposition_tag"] = json!("TRANSFER_SALE");
    sale["answered_by"] = json!("human");
    sale["corrected_duration"] = json!("95");
    calls.push(sale);
    let arriving = call("late", "2026-03-02T20:00:00Z", "4155550105", "busy");
    let (base, fake) = stub(Fake {
        calls,
        rate_limit_first: 2,
        arrives_after_first_page: Some(("2026-03-02".into(), arriving)),
        ..Fake::default()
    })
    .await;
    let seen = Mutex::new(Vec::new());
    let got = client(&base)
        .fetch_log(&query(2), &|p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(
        ids(&got),
        ["sale", "bad", "c0", "c1", "c2", "c3", "c4", "late"],
        "each call once, oldest first, only inside [since, until)"
    );
    assert_eq!((got.inbound, got.unusable, got.rate_limited), (1, 0, 2));
    let f = fake.lock().unwrap();
    assert_eq!(got.requests as usize, f.queries.len());
    // Windows from the day before `since` through the day of `until`, two days each.
    let starts: std::collections::BTreeSet<&str> = f
        .queries
        .iter()
        .filter_map(|q2| q(q2, "start_date"))
        .collect();
    assert_eq!(
        starts.into_iter().collect::<Vec<_>>(),
        ["2026-03-01", "2026-03-02", "2026-03-03"]
    );
    for q2 in &f.queries {
        let from: u64 = q(q2, "from").unwrap().parse().unwrap();
        assert_eq!(q(q2, "to").unwrap(), (from + 2).to_string());
        assert_eq!(q(q2, "limit"), Some("2"));
    }
    let sale = &got.calls[0];
    assert_eq!(sale.to.as_str(), "+14155550104");
    assert_eq!(sale.disposition_tag.as_deref(), Some("TRANSFER_SALE"));
    assert_eq!(sale.status, CallStatus::Completed);
    assert_eq!(sale.duration_s, Some(95));
    assert_eq!(
        sale.ended_at,
        Some(sale.created_at + chrono::Duration::seconds(95))
    );
    assert!(!sale.bad_number);
    let bad = &got.calls[1];
    assert!(bad.bad_number);
    assert_eq!(bad.status, CallStatus::Failed);
    assert_eq!(got.calls[2].to.as_str(), "+14155550101", "+1 added");
    let last = seen.lock().unwrap().last().copied().unwrap();
    assert_eq!((last.windows_done, last.windows_total), (3, 3));
    assert_eq!(last.calls, 8);
}

#[tokio::test]
async fn an_inclusive_to_only_repeats_calls() {
    let calls: Vec<Value> = (0..7)
        .map(|i| {
            call(
                &format!("c{i}"),
                &format!("2026-03-02T1{i}:00:00Z"),
                "4155550101",
                "no-answer",
            )
        })
        .collect();
    let (base, _) = stub(Fake {
        calls,
        inclusive: true,
        ..Fake::default()
    })
    .await;
    let got = client(&base).fetch_log(&query(3), &|_| {}).await.unwrap();
    assert_eq!(ids(&got), ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
}

#[tokio::test]
async fn rate_limits_past_the_retries_and_other_errors_are_clear() {
    let (base, _) = stub(Fake {
        rate_limit_first: 100,
        ..Fake::default()
    })
    .await;
    let e = client(&base)
        .fetch_log(&query(2), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::RateLimited(_)), "{e}");
    assert!(e.to_string().contains("after 3 retries"), "{e}");
    assert!(
        e.to_string().contains("2026-03-01"),
        "names the window: {e}"
    );

    let (base, _) = crate::test_server::serve_with(
        |_, _| (),
        |_: &()| canned(401, r#"{"message":"Invalid API key"}"#),
    )
    .await;
    let e = client(&base)
        .fetch_log(&query(2), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Auth(_)), "{e}");
    assert!(e.to_string().contains("Invalid API key"), "{e}");
}
