//! The OpenAPI description (`outdial_http::openapi`): the committed snapshot is current,
//! every described operation is served behind the API key, the description is served
//! without one, and operation ids are unique.

use super::app;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use outdial_http::openapi::{spec, spec_json, SPEC_PATH};
use tower::ServiceExt;

/// The committed snapshot, beside the crate's `Cargo.toml`.
const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// The command that writes the snapshot anew.
const REGENERATE: &str = "OUTDIAL_UPDATE_OPENAPI=1 cargo nextest run -p outdial-http openapi";

#[test]
fn the_snapshot_is_current() {
    let generated = spec_json();
    if std::env::var_os("OUTDIAL_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, &generated).expect("write the snapshot");
        return;
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "the API changed: its OpenAPI description differs from the snapshot {SNAPSHOT} \
             from line {} on (committed: {:?}, generated: {:?}); regenerate with `{REGENERATE}` \
             and commit openapi.json",
            line + 1,
            committed.lines().nth(line).unwrap_or("<end>"),
            generated.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

/// Each operation of the description with its path's parameters filled in.
fn operations() -> Vec<(String, String)> {
    let doc = serde_json::to_value(spec()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{campaign}", "c")
            .replace("{name}", "kpis");
        assert!(
            !concrete.contains('{'),
            "a path parameter of {path} is not filled in"
        );
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_uppercase(), concrete.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn every_described_operation_is_routed_behind_the_key() {
    let (app, _, _) = app().await;
    let ops = operations();
    assert_eq!(ops.len(), 29, "operations described");
    for (method, path) in ops {
        let res = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(method.as_str())
                    .uri(&path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = serde_json::to_value(spec()).unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a component schema"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is referenced but not among the components"
        );
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(spec()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
        }
    }
}

/// The admin route modules register their handlers only through utoipa-axum's `routes!`
/// (which describes them): a plain `.route(` there would serve an undescribed route.
#[test]
fn admin_routes_are_registered_only_with_their_description() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes");
    let undescribed = ["health.rs", "metrics.rs", "mod.rs", "shapes_tests.rs"];
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() || undescribed.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(".route("),
            "src/routes/{name} registers a route with `.route(`: use `.routes(routes!(handler))` \
             with `#[utoipa::path]` on the handler, so that it is in the OpenAPI description"
        );
        checked += 1;
    }
    assert_eq!(checked, 11, "admin route modules checked");
}

#[tokio::test]
async fn the_description_is_served_without_a_key() {
    let (app, _, _) = app().await;
    let res = app
        .oneshot(
            Request::builder()
                .uri(SPEC_PATH)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, serde_json::to_value(spec()).unwrap());
    assert_eq!(served["openapi"], "3.1.0");
}

/// `LeadContact`'s schema is written by hand (`LeadContactSchema`): it names every field
/// the type serializes. Every field is set here without `..`, so a new one fails to compile.
#[test]
fn the_lead_contact_schema_names_every_field() {
    let text = |s: &str| Some(s.to_owned());
    let full = outdial_core::LeadContact {
        external_id: text("crm-1"),
        first_name: text("Ada"),
        last_name: text("Lovelace"),
        city: text("London"),
        state: text("NY"),
        postal_code: text("10001"),
        email: text("ada@example.com"),
        time_zone: Some(chrono_tz::America::New_York),
        comments: text("first"),
    };
    let serialized = serde_json::to_value(&full).unwrap();
    let doc = serde_json::to_value(spec()).unwrap();
    let schema = &doc["components"]["schemas"]["LeadContact"]["properties"];
    let names = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(schema), names(&serialized));
}
