//! `GET /api/v1/reports/{name}`: JSON and CSV of one result, unchanged by a duplicate
//! webhook, and its bad requests.

use super::*;
use serde_json::Value;

async fn get_text(app: &axum::Router, path: &str) -> (StatusCode, String, String) {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn post_completed(app: &axum::Router, id: outdial_core::AttemptId) {
    let path = format!("/webhooks/twilio/status?attempt={id}");
    let p = completed("3");
    let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (params, body) = form(&refs);
    let sig = compute_signature(TOKEN, &format!("{PUBLIC}{path}"), &params);
    let (status, _) = post(app, &path, body, Some(sig)).await;
    assert_eq!(status, StatusCode::OK);
}

const KPIS: &str = "/api/v1/reports/kpis?from=2026-01-05T00:00:00Z&to=2026-01-06T00:00:00Z&tz=UTC";

#[tokio::test]
async fn kpis_in_json_and_csv_agree_and_a_duplicate_webhook_changes_nothing() {
    let (app, _store, id) = app().await;
    // The router's one attempt, placed at t0 (2026-01-05T15:00Z), not yet answered.
    let (status, _, body) = get_text(&app, KPIS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let k: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(k["report"], "kpis");
    assert_eq!(k["attempts"]["dials"], 1);
    assert_eq!(k["attempts"]["answered"], 0);
    assert_eq!(k["connect_rate"]["value"], 0.0);
    assert!(k["formulas"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "connect rate"
            && f["formula"] == "answered (person, machine or fax) / dials"));

    // Completed, answered by a machine, 42 s: connect 1/1, machine rate 1/1, contact 0/1.
    post_completed(&app, id).await;
    let (_, _, once) = get_text(&app, KPIS).await;
    post_completed(&app, id).await;
    let (_, _, twice) = get_text(&app, KPIS).await;
    assert_eq!(once, twice, "a duplicate webhook changes no figure");
    let k: Value = serde_json::from_str(&once).unwrap();
    assert_eq!(k["connect_rate"]["value"], 1.0);
    assert_eq!(k["answering_machine_rate"]["value"], 1.0);
    assert_eq!(k["contact_rate"]["value"], 0.0);
    assert_eq!(k["average_talk_time_s"], 42.0);
    assert_eq!(k["lead_contact_rate"]["numerator"], 0);

    // The CSV of the same report: the same figures, row by row.
    let (status, ctype, csv) = get_text(&app, &format!("{KPIS}&format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/csv; charset=utf-8");
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("kpi,value,numerator,denominator,formula")
    );
    let rows: HashMap<String, Vec<String>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cells: Vec<String> = csv_cells(l);
            (cells[0].clone(), cells)
        })
        .collect();
    for (row, field) in [
        ("connect rate", "connect_rate"),
        ("contact rate", "contact_rate"),
        ("answering-machine rate", "answering_machine_rate"),
        ("lead contact rate", "lead_contact_rate"),
    ] {
        let cells = &rows[row];
        let json = &k[field];
        assert_eq!(
            cells[1].parse::<f64>().unwrap(),
            json["value"].as_f64().unwrap(),
            "{row}"
        );
        assert_eq!(cells[2], json["numerator"].to_string(), "{row}");
        assert_eq!(cells[3], json["denominator"].to_string(), "{row}");
    }
    // No price is stored: an empty cell, not a zero.
    assert_eq!(rows["cost per attempt"][1], "");
}

fn csv_cells(line: &str) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    r.records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn daily_report_reads_dates_in_the_zone_and_bad_queries_are_400_or_404() {
    let (app, _store, _) = app().await;
    let (status, _, body) = get_text(
        &app,
        "/api/v1/reports/daily?from=2026-01-05&to=2026-01-07&tz=America/New_York&campaign=c",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let d: Value = serde_json::from_str(&body).unwrap();
    let rows = d["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["bucket"], "2026-01-05");
    assert_eq!(rows[0]["start"], "2026-01-05T00:00:00-05:00");
    assert_eq!(rows[0]["attempts"]["dials"], 1);
    assert_eq!(rows[1]["attempts"]["dials"], 0);
    assert_eq!(d["filters"]["zone"], "America/New_York");

    for (path, want) in [
        (
            "/api/v1/reports/sales?from=2026-01-05",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/reports/kpis", StatusCode::BAD_REQUEST),
        (
            "/api/v1/reports/kpis?from=yesterday",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/reports/kpis?from=2026-01-05&tz=Mars/Olympus",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/reports/kpis?from=2026-01-05&to=2026-01-05",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/reports/kpis?from=2026-01-05&format=xlsx",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/reports/kpis?from=2026-01-05&colour=red",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/reports/kpis?from=2026-01-05&campaign=nope",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, _, body) = get_text(&app, path).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    let (status, _) = send_json(&app, "GET", KPIS, None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
