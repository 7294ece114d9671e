//! `outdial backfill` against a small stub of Bland's `GET /v1/calls`: the dry run's
//! breakdown, the real run, and a rerun that adds nothing.

use crate::support::{bin, create_campaign};
use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use outdial_core::{Region, E164};
use outdial_store::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The stub's calls: two calls to one number (no answer, busy), a sale, an excluded number,
/// and a call outside the dates read.
fn calls() -> Vec<Value> {
    let c = |id: &str, at: &str, to: &str, status: &str, tag: Option<&str>| {
        json!({"call_id": id, "created_at": at, "started_at": at, "to": to,
               "from": "+14155550100", "queue_status": "complete", "status": status,
               "completed": true, "call_length": 0.5, "disposition_tag": tag})
    };
    vec![
        c(
            "a1",
            "2026-03-02T14:00:00Z",
            "2125550101",
            "no-answer",
            None,
        ),
        c("a2", "2026-03-02T15:00:00Z", "+12125550101", "busy", None),
        c(
            "s1",
            "2026-03-02T14:30:00Z",
            "2125550102",
            "completed",
            Some("TRANSFER_SALE"),
        ),
        c(
            "x1",
            "2026-03-02T14:40:00Z",
            "2125550103",
            "no-answer",
            None,
        ),
        c(
            "old",
            "2026-02-20T14:40:00Z",
            "2125550104",
            "no-answer",
            None,
        ),
    ]
}

/// Serves `calls()` as Bland does (inclusive dates, ascending, `[from, to)`).
async fn stub() -> String {
    let app = Router::new().route(
        "/v1/calls",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            let (start, end) = (q["start_date"].clone(), q["end_date"].clone());
            let from: usize = q["from"].parse().unwrap();
            let to: usize = q["to"].parse().unwrap();
            let mut inside: Vec<Value> = calls()
                .into_iter()
                .filter(|c| {
                    let d = c["created_at"].as_str().unwrap()[..10].to_owned();
                    d >= start && d <= end
                })
                .collect();
            inside.sort_by_key(|c| c["created_at"].as_str().unwrap().to_owned());
            let page: Vec<Value> = inside
                .into_iter()
                .skip(from)
                .take(to.saturating_sub(from))
                .collect();
            Json(json!({"count": page.len(), "calls": page}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn run(args: &[&str], dir: &std::path::Path, db: &std::path::Path) -> (bool, String, String) {
    let out = bin()
        .arg("--config")
        .arg(dir.join("outdial.toml"))
        .arg("backfill")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_then_real_run_then_a_rerun_that_adds_nothing() {
    let base = stub().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    create_campaign(&db, "c", dir.path());
    std::fs::write(
        dir.path().join("outdial.toml"),
        format!("[bland]\napi_base = \"{base}\"\napi_key = \"sk-test\"\nwebhook_secret = \"whsec-test\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("crm.csv"),
        "Phone,Status\n(212) 555-0103,opt-out\n",
    )
    .unwrap();
    let crm = dir.path().join("crm.csv");
    let args = [
        "--provider",
        "bland",
        "--campaign",
        "c",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-02",
        "--exclude",
        crm.to_str().unwrap(),
        "--clock-start",
        "2026-03-02T22:00:00Z",
    ];
    let mut dry: Vec<&str> = args.to_vec();
    dry.push("--dry-run");
    let (ok, out, err) = run(&dry, dir.path(), &db);
    assert!(ok, "{out}\n{err}");
    for want in [
        "calls fetched: 4 ",
        "unique numbers: 3",
        "already a lead: 0",
        "SALE: 1",
        "excluded: 1",
        "to be added: 1 (1 active, 0 done: limits reached, 0 paused), 2 past calls",
        "dry run: nothing written",
    ] {
        assert!(out.contains(want), "missing '{want}' in:\n{out}\n{err}");
    }
    assert!(out.contains("leads first due"), "{out}");
    let store =
        outdial_store_sqlite::SqliteStore::open(&db, outdial_store_sqlite::OpenMode::MustExist)
            .await
            .unwrap();
    let phone = E164::parse("+12125550101", Region::US).unwrap();
    assert!(
        store.leads_by_phone(&phone).await.unwrap().is_empty(),
        "a dry run writes nothing"
    );

    let (ok, out, err) = run(&args, dir.path(), &db);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("added: 1 leads (1 active, 0 done, 0 paused), 2 past attempts stored"),
        "{out}"
    );
    let leads = store.leads_by_phone(&phone).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].attempt_count, 2);
    let attempts = store.lead_attempts(leads[0].id).await.unwrap();
    let ids: Vec<&str> = attempts
        .iter()
        .map(|a| a.call_id.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["a1", "a2"]);

    let (ok, out, err) = run(&args, dir.path(), &db);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("already a lead: 1"), "{out}");
    assert!(out.contains("added: 0 leads"), "{out}");
    assert_eq!(store.lead_attempts(leads[0].id).await.unwrap().len(), 2);

    // Bad input: a clear error, no panic.
    let (ok, _, err) = run(
        &[
            "--provider",
            "bland",
            "--campaign",
            "nope",
            "--since",
            "2026-03-01",
        ],
        dir.path(),
        &db,
    );
    assert!(!ok);
    assert!(err.contains("no campaign named 'nope'"), "{err}");
    let (ok, _, err) = run(
        &["--provider", "bland", "--campaign", "c", "--since", "March"],
        dir.path(),
        &db,
    );
    assert!(!ok);
    assert!(err.contains("neither a day"), "{err}");
}
