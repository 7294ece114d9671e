//! Lead intake (`POST /api/v1/campaigns/{campaign}/leads`), lead search and the campaign
//! routes.

use super::*;
use outdial_core::LeadId;
use outdial_store::{DncEntry, DncScope};
use serde_json::{json, Value};

async fn lead_count(store: &Arc<dyn Store>) -> usize {
    store.leads_after(LeadId(0), 100_000).await.unwrap().len()
}

#[tokio::test]
async fn intake_takes_good_leads_reports_bad_ones_and_a_repeat_changes_nothing() {
    let (app, store, _) = app().await;
    store
        .dnc_add(
            &[DncEntry {
                phone: E164::parse("+14155550199", Region::US).unwrap(),
                scope: DncScope::Internal,
                source: "operator".into(),
                reason: None,
                added_at: t0(),
            }],
            t0(),
        )
        .await
        .unwrap();
    // The router's one lead, +12125550101, is in campaign "c" already.
    let before = lead_count(&store).await;
    assert_eq!(before, 1);
    let body = json!({"leads": [
        {"phone": "(415) 555-0123", "external_id": "crm-1", "first_name": " Ada ", "state": "ca"},
        {"phone": "12", "external_id": "crm-2"},
        {"phone": "4155550123", "external_id": "crm-3"},
        {"phone": "+14155550199", "external_id": "crm-4"},
        {"phone": "+13125550100", "external_id": "crm-1"},
        {"phone": "+16175550100", "time_zone": "Mars/Olympus"},
        {"phone": "+16175550101", "favourite_colour": "blue"},
        {"phone": 2125550101u64, "zip": null},
    ]})
    .to_string();
    let (status, r) = send_json(&app, "POST", "/api/v1/campaigns/c/leads", Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["received"], 8);
    assert_eq!(r["inserted"], 2, "{r}");
    assert_eq!(r["paused"], 1, "{r}");
    assert_eq!(r["duplicates"], 3, "{r}");
    assert_eq!(r["rejected"], 3, "{r}");
    let rows = r["leads"].as_array().unwrap();
    let results: Vec<&str> = rows.iter().map(|x| x["result"].as_str().unwrap()).collect();
    assert_eq!(
        results,
        [
            "inserted",
            "rejected",
            "duplicate",
            "inserted",
            "duplicate",
            "rejected",
            "rejected",
            "duplicate"
        ]
    );
    let ada = rows[0]["lead_id"].as_i64().unwrap();
    assert_eq!(rows[0]["status"], "active");
    assert!(rows[0]["next_attempt_at"].is_string(), "{r}");
    // The same number written another way is the same lead; so is the same external id.
    assert_eq!(rows[2]["lead_id"], ada);
    assert_eq!(rows[2]["matched_by"], "phone");
    assert_eq!(rows[4]["lead_id"], ada);
    assert_eq!(rows[4]["matched_by"], "external_id");
    // A listed number is taken, paused with the list named.
    assert_eq!(rows[3]["status"], "paused");
    assert!(
        rows[3]["status_reason"]
            .as_str()
            .unwrap()
            .contains("do-not-call"),
        "{r}"
    );
    // The lead the campaign had before.
    assert_eq!(rows[7]["matched_by"], "phone");
    let errors: Vec<(u64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(1, "phone"), (5, "time_zone"), (6, "favourite_colour")]
    );
    assert!(r["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not a valid number"));

    // Stored with the import's normalisation.
    let stored = store.lead(LeadId(ada)).await.unwrap().unwrap();
    assert_eq!(stored.phone.as_str(), "+14155550123");
    assert_eq!(stored.contact.first_name.as_deref(), Some("Ada"));
    assert_eq!(stored.contact.state.as_deref(), Some("CA"));
    assert_eq!(stored.contact.external_id.as_deref(), Some("crm-1"));
    assert_eq!(lead_count(&store).await, before + 2);

    // The same request again changes nothing.
    let (status, again) =
        send_json(&app, "POST", "/api/v1/campaigns/c/leads", Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["inserted"], 0, "{again}");
    assert_eq!(again["duplicates"], 5, "{again}");
    assert_eq!(again["rejected"], 3);
    assert_eq!(again["leads"][0]["lead_id"], ada);
    assert_eq!(lead_count(&store).await, before + 2);
    assert_eq!(store.lead(LeadId(ada)).await.unwrap().unwrap(), stored);

    // A known external id with a new number: the CRM's lead is the one outdial has.
    let (_, moved) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns/c/leads",
        Some(KEY),
        r#"{"leads": [{"phone": "+13125550177", "external_id": "crm-1"}]}"#,
    )
    .await;
    assert_eq!(moved["duplicates"], 1, "{moved}");
    assert_eq!(moved["leads"][0]["matched_by"], "external_id");
    assert_eq!(lead_count(&store).await, before + 2);

    // Search by external id and by number.
    let (status, found) = send_json(
        &app,
        "GET",
        "/api/v1/leads?external_id=crm-1&campaign=c",
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], ada);
    let (_, found) = send_json(
        &app,
        "GET",
        "/api/v1/leads?phone=415-555-0123",
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(found[0]["id"], ada, "{found}");
    let (status, _) = send_json(
        &app,
        "GET",
        "/api/v1/leads?external_id=crm-1",
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn intake_refuses_bad_requests_whole_and_takes_a_batch_over_the_usual_body_bound() {
    let (app, store, _) = app().await;
    let one = r#"{"leads": [{"phone": "+14155550123"}]}"#;
    let path = "/api/v1/campaigns/c/leads";
    let cases: [(Option<&str>, &str, &str, StatusCode); 6] = [
        (None, path, one, StatusCode::UNAUTHORIZED),
        (
            Some(KEY),
            "/api/v1/campaigns/nope/leads",
            one,
            StatusCode::NOT_FOUND,
        ),
        (Some(KEY), path, r#"{"leads": []}"#, StatusCode::BAD_REQUEST),
        (
            Some(KEY),
            path,
            "phone\n4155550123",
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(KEY),
            path,
            r#"{"leads": [], "x": 1}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            Some(KEY),
            path,
            r#"{"leads": [7]}"#,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (key, p, body, want) in cases {
        let (status, r) = send_json(&app, "POST", p, key, body).await;
        assert_eq!(status, want, "{p} {body}: {r}");
    }
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| json!({"phone": format!("+1415555{:04}", i % 10_000)}))
        .collect();
    let (status, r) = send_json(
        &app,
        "POST",
        path,
        Some(KEY),
        &json!({ "leads": too_many }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(
        lead_count(&store).await,
        1,
        "nothing of a refused request is taken"
    );

    // 2,500 leads (about 150 KB, over the 64 KiB of other bodies), in three store batches.
    let leads: Vec<Value> = (0..2_500)
        .map(|i| json!({"phone": format!("+1312555{i:04}"), "external_id": format!("b-{i}")}))
        .collect();
    let body = json!({ "leads": leads }).to_string();
    assert!(body.len() > 64 * 1024);
    let (status, r) = send_json(&app, "POST", path, Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["inserted"], 2_500);
    assert_eq!(lead_count(&store).await, 2_501);
}

#[tokio::test]
async fn campaigns_are_created_validated_paused_and_resumed() {
    let (app, store, _) = app().await;
    let settings = json!({"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "https://flows.example.com/a"}});
    let (status, created) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns",
        Some(KEY),
        &json!({"name": "spring", "settings": settings}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["active"], true);
    let (status, _) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns",
        Some(KEY),
        &json!({"name": "spring", "settings": settings}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The CLI's validation: a plain-http call flow URL is refused by name.
    let (status, bad) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns",
        Some(KEY),
        &json!({"name": "autumn", "settings": {"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "ftp://x"}}}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("url"), "{bad}");
    assert!(store.campaign_by_name("autumn").await.unwrap().is_none());

    let (_, paused) = send_json(
        &app,
        "POST",
        &format!("/api/v1/campaigns/{id}/pause"),
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(paused["active"], false, "{paused}");
    assert!(
        !store
            .campaign(outdial_core::CampaignId(id))
            .await
            .unwrap()
            .active
    );
    let (_, resumed) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns/spring/resume",
        Some(KEY),
        "",
    )
    .await;
    assert_eq!(resumed["active"], true);
    let (status, list) = send_json(&app, "GET", "/api/v1/campaigns", Some(KEY), "").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "spring"]);
    let (status, _) = send_json(&app, "GET", "/api/v1/campaigns/nope", Some(KEY), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dnc_numbers_are_added_checked_and_removed_per_list() {
    let (app, store, _) = app().await;
    let add = |body: Value| {
        let app = app.clone();
        async move { send_json(&app, "POST", "/api/v1/dnc", Some(KEY), &body.to_string()).await }
    };
    let (status, r) = add(json!({"phone": "(415) 555-0123", "reason": "asked on the call"})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["added"], true);
    assert_eq!(r["list"], "internal");
    assert_eq!(r["entry"]["source"], "api");
    let (_, again) = add(json!({"phone": "+14155550123", "reason": "other"})).await;
    assert_eq!(again["added"], false, "{again}");
    assert_eq!(again["entry"]["reason"], "asked on the call");
    let (_, r) = add(json!({"phone": "+14155550123", "campaign": "c"})).await;
    assert_eq!(r["list"], "campaign:1", "{r}");

    let check = |q: &'static str| {
        let app = app.clone();
        async move {
            send_json(
                &app,
                "GET",
                &format!("/api/v1/dnc/check?{q}"),
                Some(KEY),
                "",
            )
            .await
        }
    };
    let (_, r) = check("phone=%2B14155550123&campaign=c").await;
    assert_eq!(r["callable"], false);
    assert_eq!(r["entries"].as_array().unwrap().len(), 2, "{r}");
    let (status, r) = send_json(
        &app,
        "POST",
        "/api/v1/dnc/remove",
        Some(KEY),
        r#"{"phone": "4155550123"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["removed"], true);
    let (_, r) = check("phone=%2B14155550123").await;
    assert_eq!(
        r["callable"], true,
        "the campaign's list does not apply without it: {r}"
    );
    let (_, r) = check("phone=%2B14155550123&campaign=1").await;
    assert_eq!(r["entries"][0]["list"], "campaign:1", "{r}");
    let phone = E164::parse("+14155550123", Region::US).unwrap();
    assert_eq!(store.dnc_check(&phone, None).await.unwrap().len(), 0);

    for (body, want) in [
        (json!({"phone": "12"}), StatusCode::BAD_REQUEST),
        (
            json!({"phone": "+14155550123", "list": "vip"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"phone": "+14155550123", "list": "campaign"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"phone": "+14155550123", "campaign": "nope"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"phone": "+14155550123", "colour": "red"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, r) = add(body.clone()).await;
        assert_eq!(status, want, "{body}: {r}");
    }
    let (status, _) = send_json(
        &app,
        "POST",
        "/api/v1/dnc",
        None,
        r#"{"phone": "+14155550123"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn leads_are_paused_resumed_and_removed_with_a_reason_and_a_dialing_lead_is_not() {
    let (app, store, _) = app().await;
    // The router's lead 1 has a call in flight (CA1): it is dialing.
    let body = json!({"reason": "asked to be called next month"}).to_string();
    let (status, r) = send_json(&app, "POST", "/api/v1/leads/1/pause", Some(KEY), &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert!(r["error"].as_str().unwrap().contains("dialing"), "{r}");
    let (_, r) = send_json(
        &app,
        "POST",
        "/api/v1/campaigns/c/leads",
        Some(KEY),
        &json!({"leads": [{"phone": "+14155550123"}]}).to_string(),
    )
    .await;
    let id = r["leads"][0]["lead_id"].as_i64().unwrap();
    let path = |what: &str| format!("/api/v1/leads/{id}/{what}");
    for bad in ["{}", r#"{"reason": "  "}"#, r#"{"why": "x"}"#] {
        let (status, r) = send_json(&app, "POST", &path("pause"), Some(KEY), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {r}");
    }
    let (status, r) = send_json(&app, "POST", &path("resume"), Some(KEY), &body).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an active lead is not resumed: {r}"
    );
    let (status, r) = send_json(&app, "POST", &path("pause"), Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "paused");
    assert_eq!(
        r["status_reason"],
        "operator: asked to be called next month"
    );
    let (status, r) = send_json(&app, "POST", &path("resume"), Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "active");
    let (status, r) = send_json(&app, "POST", &path("remove"), Some(KEY), &body).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "done");
    let (status, _) = send_json(&app, "POST", &path("resume"), Some(KEY), &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send_json(&app, "POST", "/api/v1/leads/999/pause", Some(KEY), &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send_json(&app, "POST", &path("pause"), None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let operator: Vec<String> = store
        .lead_events(LeadId(id))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.source == "operator")
        .map(|e| e.kind)
        .collect();
    assert_eq!(operator, ["lead.paused", "lead.resumed", "lead.removed"]);
}
