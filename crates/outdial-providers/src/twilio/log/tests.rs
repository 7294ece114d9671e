//! The Twilio call log against an in-test stub of `GET Calls.json` that filters by the
//! `StartTime>`/`StartTime<` days and pages with `next_page_uri`.

use super::*;
use crate::calllog::RetryPolicy;
use crate::test_server::{canned, Canned};
use crate::twilio::client::TwilioConfig;
use chrono::TimeZone;
use secrecy::SecretString;
use serde_json::json;
use std::sync::{Arc, Mutex};

const SID: &str = "AC0123456789abcdef0123456789ABCDEF";

#[derive(Default)]
struct Fake {
    calls: Vec<Value>,
    queries: Vec<(String, Vec<(String, String)>)>,
    rate_limit_first: usize,
}

fn call(sid: &str, created: &str, direction: &str, status: &str) -> Value {
    json!({"sid": sid, "to": "+14155550101", "from": "+14155550100", "status": status,
           "direction": direction, "date_created": created, "start_time": created,
           "end_time": null, "duration": if status == "completed" { "42" } else { "0" },
           "answered_by": "machine_start"})
}

fn q<'a>(query: &'a [(String, String)], k: &str) -> Option<&'a str> {
    query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// RFC 2822 dates as Twilio writes them; the day is read back from them.
fn day_of(rfc2822: &str) -> String {
    DateTime::parse_from_rfc2822(rfc2822)
        .unwrap()
        .with_timezone(&Utc)
        .format("%Y-%m-%d")
        .to_string()
}

fn respond(fake: &Mutex<Fake>, path: String, query: Vec<(String, String)>) -> Canned {
    let mut f = fake.lock().unwrap();
    f.queries.push((path.clone(), query.clone()));
    if f.queries.len() <= f.rate_limit_first {
        return canned(429, r#"{"code":20429,"message":"Too Many Requests"}"#);
    }
    assert_eq!(path, format!("/2010-04-01/Accounts/{SID}/Calls.json"));
    let (from, to) = (
        q(&query, "StartTime>").unwrap(),
        q(&query, "StartTime<").unwrap(),
    );
    let size: usize = q(&query, "PageSize").unwrap().parse().unwrap();
    let page: usize = q(&query, "Page").map_or(0, |p| p.parse().unwrap());
    let inside: Vec<&Value> = f
        .calls
        .iter()
        .filter(|c| {
            let d = day_of(c["date_created"].as_str().unwrap());
            d.as_str() >= from && d.as_str() <= to
        })
        .collect();
    let start = (page * size).min(inside.len());
    let stop = (start + size).min(inside.len());
    let next = (stop < inside.len()).then(|| {
        format!(
            "/2010-04-01/Accounts/{SID}/Calls.json?StartTime%3E={from}&StartTime%3C={to}&PageSize={size}&Page={}",
            page + 1
        )
    });
    let body = json!({"calls": inside[start..stop], "next_page_uri": next, "page": page});
    canned(200, body.to_string())
}

async fn stub(fake: Fake) -> (String, Arc<Mutex<Fake>>) {
    let fake = Arc::new(Mutex::new(fake));
    let f2 = fake.clone();
    let (base, _log) = crate::test_server::serve_with(
        |parts, _| {
            let query = parts
                .uri
                .query()
                .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap())
                .unwrap_or_default();
            (parts.uri.path().to_owned(), query)
        },
        move |(path, query): &(String, Vec<(String, String)>)| {
            respond(&f2, path.clone(), query.clone())
        },
    )
    .await;
    (base, fake)
}

fn client(base: &str) -> TwilioClient {
    TwilioClient::new(TwilioConfig {
        api_base: base.to_owned(),
        ..TwilioConfig::new(SID, SecretString::from("tok"))
    })
    .unwrap()
}

fn query(page_size: u32) -> LogQuery {
    LogQuery {
        page_size,
        retry: RetryPolicy {
            max_retries: 2,
            first_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        ..LogQuery::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap(),
        )
    }
}

#[tokio::test]
async fn days_pages_outbound_only_after_a_rate_limit() {
    let calls = vec![
        call(
            "CA1",
            "Mon, 02 Mar 2026 11:00:00 +0000",
            "outbound-api",
            "busy",
        ),
        call(
            "CA2",
            "Mon, 02 Mar 2026 13:00:00 +0000",
            "outbound-api",
            "no-answer",
        ),
        call(
            "CA3",
            "Mon, 02 Mar 2026 14:00:00 +0000",
            "inbound",
            "completed",
        ),
        call(
            "CA4",
            "Mon, 02 Mar 2026 15:00:00 +0000",
            "outbound-dial",
            "completed",
        ),
        call(
            "CA5",
            "Mon, 02 Mar 2026 16:00:00 +0000",
            "outbound-api",
            "busy",
        ),
        call(
            "CA6",
            "Tue, 03 Mar 2026 09:00:00 +0000",
            "outbound-api",
            "failed",
        ),
        call(
            "CA7",
            "Tue, 03 Mar 2026 13:00:00 +0000",
            "outbound-api",
            "busy",
        ),
        call(
            "CA8",
            "Tue, 03 Mar 2026 10:00:00 +0000",
            "outbound-api",
            "ringing",
        ),
    ];
    let (base, fake) = stub(Fake {
        calls,
        rate_limit_first: 1,
        ..Fake::default()
    })
    .await;
    let got = client(&base).fetch_log(&query(2), &|_| {}).await.unwrap();
    let ids: Vec<&str> = got.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, ["CA2", "CA4", "CA5", "CA6", "CA8"]);
    assert_eq!((got.inbound, got.rate_limited), (1, 1));
    let f = fake.lock().unwrap();
    // 1 rate-limited + day 1: 3 pages (5 calls, 2 a page) + day 2: 2 pages (3 calls).
    assert_eq!(f.queries.len(), 6);
    assert_eq!(got.requests, 6);
    let ca4 = &got.calls[1];
    assert_eq!(ca4.duration_s, Some(42));
    assert_eq!(ca4.answered_by, Some(AnsweredBy::MachineStart));
    assert_eq!(ca4.from.as_deref(), Some("+14155550100"));
    assert_eq!(ca4.disposition_tag, None);
    assert_eq!(got.calls[4].status, CallStatus::Ringing);
    assert_eq!(got.calls[4].duration_s, None, "no duration before the end");
}

#[tokio::test]
async fn persistent_rate_limits_and_bad_pages_fail_naming_the_day() {
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
    assert!(
        e.to_string().contains("Twilio call log of 2026-03-02"),
        "{e}"
    );
    let (base, _) =
        crate::test_server::serve_with(|_, _| (), |_: &()| canned(200, r#"{"nope":1}"#)).await;
    let e = client(&base)
        .fetch_log(&query(2), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Protocol(_)), "{e}");
    let e = client(&base)
        .fetch_log(&query(1001), &|_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1 to 1000"), "{e}");
}
