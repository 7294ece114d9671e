//! The dashboard over `oneshot`: no page without a session, the key-for-cookie login, the
//! cookie's attributes, CSRF on every form, escaping, the live stream, the kill switch from
//! the page, and a report's CSV equal to the API's.

use super::{app, KEY};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use outdial_core::{LeadContact, NewLead, Region, E164};
use outdial_store::{KillScope, LeadPlacement, Store};
use outdial_testkit::t0;
use std::sync::Arc;
use tower::ServiceExt;

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

fn post_form(path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap()
}

/// The `name=value` of the response's `Set-Cookie` for `name`, and the whole header.
fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<(String, String)> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(|v| (v.split(';').next().unwrap().to_owned(), v.to_owned()))
}

/// The `value` of the first hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no hidden {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Logs in through the form; answers the session cookie (`outdial_session=…`).
async fn log_in(app: &Router) -> String {
    let (status, headers, page) = send(app, get("/dashboard/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (login_cookie, _) = set_cookie(&headers, "outdial_login").expect("login cookie");
    let token = hidden(&page, "token");
    let (status, headers, _) = send(
        app,
        post_form(
            "/dashboard/login",
            Some(&login_cookie),
            &[("key", KEY), ("token", &token)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/dashboard");
    set_cookie(&headers, "outdial_session")
        .expect("session cookie")
        .0
}

#[tokio::test]
async fn no_page_without_a_session() {
    let (app, _, _) = app().await;
    for path in [
        "/dashboard",
        "/dashboard/live",
        "/dashboard/blocked",
        "/dashboard/campaigns",
        "/dashboard/leads/1",
        "/dashboard/leads?ids=1",
        "/dashboard/jobs",
        "/dashboard/reports",
        "/dashboard/reports/outcomes.csv?from=2026-01-01",
    ] {
        let (status, headers, body) = send(&app, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/dashboard/login", "{path}");
        assert!(!body.contains("2125550101"), "{path}: {body}");
        // A made-up session id is no session.
        let (status, _, _) = send(&app, get(path, Some("outdial_session=00ff"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
    }
    // A form posted without a session changes nothing.
    let (status, _, _) = send(
        &app,
        post_form(
            "/dashboard/killswitch",
            None,
            &[("action", "trip"), ("reason", "x")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The vendored scripts need none.
    let (status, headers, body) =
        send(&app, get("/dashboard/assets/htmx-2.0.11.min.js", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(body.len() > 40_000, "htmx is served whole");
    let (status, _, _) = send(&app, get("/dashboard/assets/other.js", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_login_exchanges_the_key_for_a_strict_http_only_cookie() {
    let (app, _, _) = app().await;
    let (_, headers, page) = send(&app, get("/dashboard/login", None)).await;
    let (login_cookie, _) = set_cookie(&headers, "outdial_login").unwrap();
    let token = hidden(&page, "token");
    // A wrong key: 401, no session.
    let (status, headers, _) = send(
        &app,
        post_form(
            "/dashboard/login",
            Some(&login_cookie),
            &[("key", "wrong"), ("token", &token)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&headers, "outdial_session").is_none());
    // The right key from a form without the login cookie (posted from another site): 403.
    let (status, headers, _) = send(
        &app,
        post_form("/dashboard/login", None, &[("key", KEY), ("token", &token)]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&headers, "outdial_session").is_none());
    // The right key through the form.
    let (status, headers, _) = send(
        &app,
        post_form(
            "/dashboard/login",
            Some(&login_cookie),
            &[("key", KEY), ("token", &token)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (session, whole) = set_cookie(&headers, "outdial_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/dashboard"] {
        assert!(whole.contains(attribute), "{attribute} in {whole}");
    }
    assert!(!whole.contains(KEY), "the key is never the cookie");
    assert_eq!(session.len(), "outdial_session=".len() + 64, "{session}");
    let (status, headers, page) = send(&app, get("/dashboard", Some(&session))).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // One attempt is in flight in the fixture.
    assert!(page.contains(r#"<b id="in-flight">1</b>"#), "{page}");
    assert!(page.contains(r#"sse-connect="/dashboard/live""#));
    // Log out: the cookie is no session any more.
    let csrf = hidden(&page, "csrf");
    let (status, _, _) = send(
        &app,
        post_form("/dashboard/logout", Some(&session), &[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = send(&app, get("/dashboard", Some(&session))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// `GET path` with the session cookie.
async fn open(
    app: &Router,
    path: &str,
    session: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    send(app, get(path, Some(session))).await
}

/// Posts the overview's kill-switch form.
async fn kill_switch(
    app: &Router,
    session: &str,
    csrf: &str,
    action: &str,
    reason: &str,
) -> (StatusCode, String) {
    let form = [("csrf", csrf), ("action", action), ("reason", reason)];
    let (status, _, body) = send(
        app,
        post_form("/dashboard/killswitch", Some(session), &form),
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn every_form_needs_the_session_csrf_token_and_the_kill_switch_round_trips() {
    let (app, store, _) = app().await;
    let session = log_in(&app).await;
    let (_, _, page) = send(&app, get("/dashboard", Some(&session))).await;
    let csrf = hidden(&page, "csrf");
    let tripped = |store: Arc<dyn Store>| async move {
        store
            .kill_switches()
            .await
            .unwrap()
            .into_iter()
            .any(|s| s.scope == KillScope::Global && s.tripped)
    };
    // Without the token, or with another: 403, nothing changes.
    for token in ["", "0000"] {
        let (status, _, body) = send(
            &app,
            post_form(
                "/dashboard/killswitch",
                Some(&session),
                &[("csrf", token), ("action", "trip"), ("reason", "test")],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(!tripped(store.clone()).await);
    }
    // Without a reason: 400, nothing changes.
    let (status, body) = kill_switch(&app, &session, &csrf, "trip", " ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("reason"), "{body}");
    assert!(!tripped(store.clone()).await);
    // Trip, then resume.
    let (status, _, _) = send(
        &app,
        post_form(
            "/dashboard/killswitch",
            Some(&session),
            &[
                ("csrf", &csrf),
                ("action", "trip"),
                ("reason", "carrier incident"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(tripped(store.clone()).await);
    let (_, _, page) = send(&app, get("/dashboard", Some(&session))).await;
    assert!(
        page.contains("carrier incident"),
        "the overview shows the trip"
    );
    let (status, _) = kill_switch(&app, &session, &csrf, "resume", "fixed").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!tripped(store.clone()).await);
    // The other forms check the token too.
    for path in [
        "/dashboard/dialer",
        "/dashboard/campaigns/1/pause",
        "/dashboard/jobs/1/requeue",
        "/dashboard/logout",
    ] {
        let (status, _, _) = send(
            &app,
            post_form(path, Some(&session), &[("csrf", "bad"), ("action", "stop")]),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(store.campaigns().await.unwrap()[0].active);
}

#[tokio::test]
async fn pages_escape_what_they_show_and_the_lead_page_has_the_timeline() {
    let (app, store, _) = app().await;
    let c = store.campaigns().await.unwrap().remove(0);
    let phone = E164::parse("+12125550177", Region::US).unwrap();
    let contact = LeadContact {
        first_name: Some("<script>alert(1)</script>".into()),
        state: Some("NY".into()),
        ..LeadContact::default()
    };
    store
        .insert_leads(
            c.id,
            &[(
                NewLead {
                    phone: phone.clone(),
                    contact,
                },
                LeadPlacement::Active(t0()),
            )],
            t0(),
        )
        .await
        .unwrap();
    let lead = store.leads_by_phone(&phone).await.unwrap().remove(0);
    let session = log_in(&app).await;
    let (status, _, page) = open(&app, &format!("/dashboard/leads/{}", lead.id.0), &session).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains(r#"id="timeline""#) && page.contains(r#"id="explain-next""#));
    // Times in UTC and in the lead's zone (New York).
    assert!(page.contains("UTC (") && page.contains("EST)"), "{page}");
    let (status, _, page) = open(
        &app,
        &format!("/dashboard/leads?ids={},x", lead.id.0),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let (status, _, page) = send(&app, get("/dashboard/leads/999999", Some(&session))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no lead 999999"));
}

#[tokio::test]
async fn the_live_stream_sends_the_overview_and_the_csv_is_the_apis() {
    let (app, _, _) = app().await;
    let session = log_in(&app).await;
    let res = app
        .clone()
        .oneshot(get("/dashboard/live", Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("a first event at once")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: overview\n"), "{text}");
    assert!(text.contains(r#"id="in-flight""#), "{text}");

    let query = "from=2026-01-01&to=2026-02-01&tz=UTC";
    let (status, headers, page) = open(
        &app,
        &format!("/dashboard/reports?name=outcomes&{query}"),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"id="csv-link""#), "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (status, headers, csv) = open(
        &app,
        &format!("/dashboard/reports/outcomes.csv?{query}"),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("outcomes.csv"));
    let api = Request::get(format!("/api/v1/reports/outcomes?{query}&format=csv"))
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, api_csv) = send(&app, api).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv, api_csv, "one code path, one CSV");
    assert!(csv.contains("attempts"), "{csv}");
    for name in [
        "best-time",
        "funnel",
        "kpis",
        "hourly",
        "daily",
        "compliance",
    ] {
        let (status, _, page) = open(
            &app,
            &format!("/dashboard/reports?name={name}&{query}"),
            &session,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}: {page}");
    }
    let (_, _, page) = open(
        &app,
        &format!("/dashboard/reports?name=best-time&{query}"),
        &session,
    )
    .await;
    assert!(page.contains(r#"id="heat-map""#));
    let (status, _, _) = open(
        &app,
        &format!("/dashboard/reports?name=nope&{query}"),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
