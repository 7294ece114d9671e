//! `GET /metrics`: access, the OpenMetrics text, webhook counters by result, and the
//! scrape-time gauges against the store.

use super::*;
use axum::extract::ConnectInfo;
use std::net::SocketAddr;

/// Scrapes `/metrics` with `key` (if any) from `peer` (if any).
async fn scrape(
    app: &axum::Router,
    key: Option<&str>,
    peer: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get("/metrics");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let mut req = req.body(Body::empty()).unwrap();
    if let Some(p) = peer {
        req.extensions_mut()
            .insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
    }
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

/// The value of the sample line `series` (name and labels exactly as encoded).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[tokio::test]
async fn scraping_needs_the_key_unless_the_peer_is_in_an_anonymous_network() {
    let (app, _, _) = app_tuned(outdial_http::HttpLimits::default(), Some(TOKEN), |s| {
        s.metrics_anonymous_from = Arc::new(vec!["10.1.0.0/16".parse().unwrap()]);
    })
    .await;
    let (status, _, _) = scrape(&app, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = scrape(&app, Some("wrong-key-0123456789"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A peer outside the listed network still needs the key.
    let (status, _, _) = scrape(&app, None, Some("10.2.0.1:4000")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, ctype, text) = scrape(&app, None, Some("10.1.200.3:4000")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.unwrap().starts_with("application/openmetrics-text"));
    assert!(text.ends_with("# EOF\n"), "{text}");
    let (status, _, _) = scrape(&app, Some(KEY), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn webhooks_are_counted_by_result_and_the_gauges_match_the_store() {
    let (app, store, id) = app().await;
    let (_, _, before) = scrape(&app, Some(KEY), None).await;
    // Before any callback: the one placed attempt is in flight, one lead is dialing.
    assert_eq!(
        sample(&before, r#"outdial_attempts_in_flight{state="placed"}"#),
        Some(1.0),
        "{before}"
    );
    assert_eq!(
        sample(&before, r#"outdial_leads{status="dialing"}"#),
        Some(1.0)
    );

    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("3");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    // Applied, then its duplicate, then a forgery.
    assert_eq!(
        post(&app, &path, body.clone(), Some(sig.clone())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&app, &path, body.clone(), Some(sig)).await.0,
        StatusCode::OK
    );
    let forged = compute_signature("not-the-token", &format!("{PUBLIC}{path}"), &params);
    assert_eq!(
        post(&app, &path, body, Some(forged)).await.0,
        StatusCode::FORBIDDEN
    );

    let (_, _, text) = scrape(&app, Some(KEY), None).await;
    for (result, n) in [("applied", 1.0), ("duplicate", 1.0), ("bad_signature", 1.0)] {
        assert_eq!(
            sample(
                &text,
                &format!(r#"outdial_webhooks_total{{provider="twilio",result="{result}"}}"#)
            ),
            Some(n),
            "{result} in\n{text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            r#"outdial_webhook_handle_duration_seconds_count{provider="twilio"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"outdial_http_rejections_total{kind="bad_signature"}"#
        ),
        Some(1.0)
    );
    // The final callback concluded the attempt: one outcome, a machine answer (the duplicate
    // counted nothing more).
    assert_eq!(
        sample(
            &text,
            r#"outdial_call_outcomes_total{provider="twilio",outcome="completed",answered_by="machine"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // The scrape-time gauges are the store's figures.
    let now = t0();
    let counts = store.status_counts(now, now).await.unwrap();
    assert_eq!(counts.attempts_in_flight, 0);
    assert!(
        !text.contains("outdial_attempts_in_flight{"),
        "no attempt is in flight any more:\n{text}"
    );
    for (status, n) in &counts.leads_by_status {
        assert_eq!(
            sample(&text, &format!(r#"outdial_leads{{status="{status}"}}"#)),
            Some(*n as f64),
            "{status}"
        );
    }
    assert_eq!(
        sample(&text, "outdial_leads_due"),
        Some(counts.leads_due as f64)
    );
    assert_eq!(
        sample(&text, r#"outdial_kill_switch_engaged{scope="global"}"#),
        Some(0.0)
    );
    assert_eq!(sample(&text, "outdial_dialer_running"), Some(1.0));
    assert!(text.contains("outdial_build_info{version=\""), "{text}");
    // No identifier is ever a label: neither the number nor the call id appear.
    assert!(!text.contains("+1212") && !text.contains("CA1"), "{text}");
}
