//! The fake Bland's routes: `POST /v1/calls`, `GET /v1/calls/{id}`, `GET /v1/calls`,
//! `POST /v1/calls/{id}/stop`, `GET /v1/calls/active` (see the crate docs, "Bland API").

use super::json::{call_fields, ts_offset, view, write_object};
use super::{normalise_phone, plan_call, Asked, BlandCall, BlandFake, Extras};
use crate::carrier::{
    CallRecord, CallbackCtl, CallbackMethod, Carrier, Counters, EventMask, Inner,
};
use crate::sim::{rng_for, Forced, Stream};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Default `limit` of `GET /v1/calls` (<https://docs.bland.ai/api-v1/get/calls>).
pub const DEFAULT_LIST_LIMIT: usize = 1000;

pub(crate) fn router() -> Router<Carrier> {
    Router::new()
        .route("/v1/calls", get(list_calls).post(create_call))
        .route("/v1/calls/active", get(active_calls))
        .route("/v1/calls/{id}", get(get_call))
        .route("/v1/calls/{id}/stop", post(stop_call))
}

/// A JSON response from a pre-written body.
fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Bland's error shape: `{"status":"error","message":…,"errors":[{"error":…,"message":…}]}`.
pub(crate) fn bland_error(
    status: StatusCode,
    message: &str,
    errors: &[(&str, String)],
) -> Response {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(e, m)| json!({"error": e, "message": m}))
        .collect();
    let body = write_object(&[
        ("status", json!("error")),
        ("message", json!(message)),
        ("errors", Value::Array(errors)),
    ]);
    json_response(status, body)
}

/// The 404 of an unknown `/v1/…` route.
pub(crate) fn route_not_found() -> Response {
    bland_error(
        StatusCode::NOT_FOUND,
        "Not found",
        &[("not_found", "No such endpoint".into())],
    )
}

/// The Bland settings and the auth check: `Authorization: <key>` or `Bearer <key>`.
fn authorize<'a>(inner: &'a Inner, headers: &HeaderMap) -> Result<&'a BlandFake, Box<Response>> {
    let Some(cfg) = inner.config.bland.as_ref() else {
        return Err(Box::new(route_not_found()));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(|v| match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => v,
        });
    if given == Some(cfg.api_key.as_str()) {
        return Ok(cfg);
    }
    Counters::bump(&inner.counters.requests_unauthorized);
    Err(Box::new(bland_error(
        StatusCode::UNAUTHORIZED,
        "Invalid API key",
        &[(
            "invalid_api_key",
            "The authorization header is missing or does not hold a valid API key".into(),
        )],
    )))
}

fn rejected(inner: &Inner, error: &str, message: String) -> Response {
    Counters::bump(&inner.counters.creates_rejected);
    bland_error(
        StatusCode::BAD_REQUEST,
        &message,
        &[(error, message.clone())],
    )
}

/// A field that must be a JSON `kind` when present (`null` counts as absent).
fn opt<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

/// Reads the create body's fields; `Err` is the 400 message, naming the field.
fn read_asked(body: &Map<String, Value>) -> Result<(Asked, Option<String>), String> {
    let string = |key: &str| -> Result<Option<String>, String> {
        match opt(body, key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{key} must be a string, got {other}")),
        }
    };
    let boolean = |key: &str| -> Result<bool, String> {
        match opt(body, key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("{key} must be a boolean, got {other}")),
        }
    };
    let object = |key: &str| -> Result<Option<Map<String, Value>>, String> {
        match opt(body, key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(other) => Err(format!("{key} must be an object, got {other}")),
        }
    };
    let pathway_id = string("pathway_id")?;
    let task = string("task")?;
    if pathway_id.is_none() && task.is_none() {
        return Err("Either task or pathway_id is required".into());
    }
    let max_duration_min = match opt(body, "max_duration") {
        None => super::DEFAULT_MAX_DURATION_MIN,
        Some(v) => match v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(m) if m.is_finite() && m > 0.0 => m,
            _ => {
                return Err(format!(
                    "max_duration must be a number of minutes > 0, got {v}"
                ))
            }
        },
    };
    let webhook = match string("webhook")? {
        None => None,
        Some(w) => match url::Url::parse(&w) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(w),
            _ => return Err(format!("webhook must be an http(s) URL, got '{w}'")),
        },
    };
    let dispositions = match opt(body, "dispositions") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                other => Err(format!(
                    "dispositions must hold non-empty strings, got {other}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("dispositions must be an array, got {other}")),
    };
    if let Some(v) = opt(body, "voicemail").filter(|v| !v.is_object()) {
        return Err(format!("voicemail must be an object, got {v}"));
    }
    boolean("wait_for_greeting")?;
    let asked = Asked {
        webhook,
        answered_by_enabled: boolean("answered_by_enabled")?,
        record: boolean("record")?,
        max_duration_min,
        pathway_id,
        task,
        first_sentence: string("first_sentence")?,
        voice: string("voice")?,
        metadata: object("metadata")?.unwrap_or_default(),
        request_data: object("request_data")?.map(Value::Object),
        dispositions,
    };
    Ok((asked, string("from")?))
}

/// The plan cap a new Bland call would exceed at `now`, as a 429 message.
fn over_cap(cfg: &BlandFake, calls: &[Arc<CallRecord>], now: DateTime<Utc>) -> Option<String> {
    let bland = || calls.iter().filter(|c| c.bland.is_some() && !c.past);
    let count = |since: Duration| bland().filter(|c| c.created_at > now - since).count();
    if let Some(cap) = cfg.concurrency_cap {
        let live = bland()
            .filter(|c| c.plan.at(c.created_at, now).final_status.is_none())
            .count();
        if live >= cap as usize {
            return Some(format!(
                "Concurrency limit reached: {live} calls in progress, the plan allows {cap}"
            ));
        }
    }
    if let Some(cap) = cfg.hourly_cap {
        let n = count(Duration::hours(1));
        if n >= cap as usize {
            return Some(format!(
                "Hourly limit reached: {n} calls in the last hour, the plan allows {cap} calls per hour"
            ));
        }
    }
    if let Some(cap) = cfg.daily_cap {
        let n = count(Duration::hours(24));
        if n >= cap as usize {
            return Some(format!(
                "Daily limit reached: {n} calls in the last 24 hours, the plan allows {cap} calls per day"
            ));
        }
    }
    None
}

/// `POST /v1/calls`
async fn create_call(State(carrier): State<Carrier>, headers: HeaderMap, body: Bytes) -> Response {
    let inner = &carrier.inner;
    let cfg = match authorize(inner, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return rejected(
                inner,
                "invalid_body",
                "The body must be a JSON object".into(),
            )
        }
        Err(e) => return rejected(inner, "invalid_body", format!("Invalid JSON body: {e}")),
    };
    let raw_phone = match body.get("phone_number") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let to = normalise_phone(&raw_phone);
    let fault_key = to.clone().unwrap_or_else(|| raw_phone.clone());

    // Request faults, deterministic in (seed, number, n-th request for it), as for Twilio.
    let (r429, r5xx, ramb) = {
        let mut book = inner.book.lock().expect("carrier lock");
        let n = book.requests_per_to.entry(fault_key.clone()).or_insert(0);
        let mut rng = rng_for(inner.config.seed, Stream::RequestFaults, &fault_key, *n);
        *n += 1;
        (rng.gen::<f64>(), rng.gen::<f64>(), rng.gen::<f64>())
    };
    let faults = &inner.config.faults;
    if r429 < faults.rate429 {
        Counters::bump(&inner.counters.creates_rate_limited);
        return bland_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests, please slow down",
            &[("rate_limited", "Too many requests".into())],
        );
    }
    if r5xx < faults.error5xx {
        Counters::bump(&inner.counters.creates_error5xx);
        return bland_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error.",
            &[],
        );
    }

    if raw_phone.is_empty() {
        return rejected(
            inner,
            "missing_parameter",
            "phone_number is required".into(),
        );
    }
    let Some(to) = to.filter(|t| !inner.invalid.contains(t)) else {
        return rejected(
            inner,
            "invalid_parameter",
            format!("phone_number '{raw_phone}' is not a valid phone number"),
        );
    };
    let (asked, from) = match read_asked(&body) {
        Ok(a) => a,
        Err(msg) => {
            let code = if msg.contains("required") {
                "missing_parameter"
            } else {
                "invalid_parameter"
            };
            return rejected(inner, code, msg);
        }
    };
    let from = match from {
        None => cfg.default_from.clone(),
        Some(f) => match normalise_phone(&f) {
            Some(f) => f,
            None => {
                return rejected(
                    inner,
                    "invalid_parameter",
                    format!("from '{f}' is not a valid phone number"),
                )
            }
        },
    };
    if from == to {
        return rejected(
            inner,
            "invalid_parameter",
            format!("phone_number {to} is the same as from"),
        );
    }
    let forced = if inner.always_busy.contains(&to) {
        Forced::Busy
    } else if inner.never_ends.contains(&to) {
        Forced::NeverEnds
    } else {
        Forced::None
    };
    let time_limit_s = (asked.max_duration_min * 60.0)
        .round()
        .clamp(1.0, f64::from(u32::MAX)) as u32;

    // Place the call (caps checked under the same lock).
    let ctl = Arc::new(CallbackCtl::default());
    let now = inner.clock.now();
    let record = {
        let mut book = inner.book.lock().expect("carrier lock");
        if let Some(msg) = over_cap(cfg, &book.calls, now) {
            drop(book);
            Counters::bump(&inner.counters.creates_over_cap);
            return bland_error(
                StatusCode::TOO_MANY_REQUESTS,
                &msg,
                &[("plan_limit_reached", msg.clone())],
            );
        }
        let n = book.placed_per_to.entry(to.clone()).or_insert(0);
        let ordinal = *n;
        *n += 1;
        let mut rng = rng_for(inner.config.seed, Stream::Outcome, &to, ordinal);
        let call_id = super::draw_uuid(&mut rng);
        let extras = Extras::draw(&mut rng_for(
            inner.config.seed,
            Stream::BlandExtras,
            &to,
            ordinal,
        ));
        let plan = plan_call(
            &mut rng,
            &inner.config.outcomes,
            now,
            time_limit_s,
            forced,
            extras.unknown_roll < cfg.unknown_answer,
        );
        let record = Arc::new(CallRecord {
            sid: call_id.clone(),
            to: to.clone(),
            from,
            ordinal,
            created_at: now,
            queue_time_ms: 0,
            plan,
            status_callback: None,
            callback_method: CallbackMethod::Post,
            events: EventMask::default(),
            bland: Some(Arc::new(BlandCall::draw(asked, &extras, cfg))),
            past: false,
        });
        let idx = book.calls.len();
        book.calls.push(record.clone());
        book.by_sid.insert(call_id.clone(), idx);
        book.callbacks.insert(call_id, ctl.clone());
        super::webhooks::start(inner, cfg, &record, ctl, &Default::default());
        record
    };
    tracing::debug!(call_id = %record.sid, to = %record.to, status = ?record.plan.final_status, "Bland call placed");

    if ramb < faults.ambiguous {
        Counters::bump(&inner.counters.creates_ambiguous);
        return bland_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error.",
            &[],
        );
    }
    let body = write_object(&[
        ("status", json!("success")),
        ("message", json!("Call successfully queued.")),
        ("call_id", json!(record.sid)),
        ("batch_id", Value::Null),
    ]);
    json_response(StatusCode::OK, body)
}

/// The Bland call `id`, if there is one.
fn find(inner: &Inner, id: &str) -> Option<Arc<CallRecord>> {
    let book = inner.book.lock().expect("carrier lock");
    book.by_sid
        .get(id)
        .map(|i| book.calls[*i].clone())
        .filter(|c| c.bland.is_some())
}

fn call_not_found(id: &str) -> Response {
    bland_error(
        StatusCode::NOT_FOUND,
        "Call not found",
        &[("not_found", format!("No call with call_id {id}"))],
    )
}

/// `GET /v1/calls/{id}`
async fn get_call(
    State(carrier): State<Carrier>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = &carrier.inner;
    let cfg = match authorize(inner, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(rec) = find(inner, &id) else {
        return call_not_found(&id);
    };
    let b = rec.bland.as_deref().expect("a Bland call");
    let now = inner.clock.now();
    json_response(
        StatusCode::OK,
        write_object(&call_fields(cfg, &rec, b, now, true)),
    )
}

/// `POST /v1/calls/{id}/stop`: ends a live call now; 404 with "SID not found for the given
/// c_id." for an unknown or already ended call.
async fn stop_call(
    State(carrier): State<Carrier>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = &carrier.inner;
    let cfg = match authorize(inner, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let not_found = || {
        bland_error(
            StatusCode::NOT_FOUND,
            "SID not found for the given c_id.",
            &[("not_found", format!("No live call with call_id {id}"))],
        )
    };
    {
        let mut book = inner.book.lock().expect("carrier lock");
        let Some(idx) = book.by_sid.get(&id).copied() else {
            return not_found();
        };
        let old = book.calls[idx].clone();
        if old.bland.is_none() {
            return not_found();
        }
        let ctl = book.callbacks.get(&id).cloned();
        let taken_guard = ctl.as_ref().map(|c| c.taken.lock().expect("callback lock"));
        let now = inner.clock.now();
        if old.plan.at(old.created_at, now).final_status.is_some() {
            return not_found();
        }
        let new = Arc::new(CallRecord {
            plan: old.plan.ended_by_request(now),
            ..(*old).clone()
        });
        book.calls[idx] = new.clone();
        let taken = match (&ctl, taken_guard) {
            (Some(c), Some(guard)) => {
                c.ended.send_replace(true);
                guard.clone()
            }
            _ => Default::default(),
        };
        let ctl = Arc::new(CallbackCtl::default());
        book.callbacks.insert(new.sid.clone(), ctl.clone());
        super::webhooks::start(inner, cfg, &new, ctl, &taken);
        Counters::bump(&inner.counters.calls_ended_by_request);
        tracing::debug!(call_id = %new.sid, status = ?new.plan.final_status, "Bland call stopped");
    }
    let body = write_object(&[
        ("status", json!("success")),
        ("message", json!("Call ended successfully.")),
    ]);
    json_response(StatusCode::OK, body)
}

fn bad_query(param: String, message: String) -> Response {
    bland_error(
        StatusCode::BAD_REQUEST,
        &message,
        &[("invalid_parameter", format!("{param}: {message}"))],
    )
}

/// The query of `GET /v1/calls`, read.
#[derive(Debug, Default)]
struct ListQuery {
    to_number: Option<String>,
    from_number: Option<String>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    completed: Option<bool>,
    ascending: bool,
    from_idx: usize,
    to_idx: Option<usize>,
    limit: usize,
}

impl ListQuery {
    /// Reads the query string; `Err` names the parameter and says what is wrong.
    fn parse(raw: &str) -> Result<Self, (String, String)> {
        let params: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| ("query".to_string(), format!("unreadable query: {e}")))?;
        let mut q = ListQuery {
            limit: DEFAULT_LIST_LIMIT,
            ..ListQuery::default()
        };
        for (k, v) in &params {
            let v = v.trim();
            let bad = |what: &str| (k.clone(), format!("{k} must be {what}, got '{v}'"));
            let number = || normalise_phone(v).unwrap_or_else(|| v.to_string());
            let date =
                || NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad("a date YYYY-MM-DD"));
            let index = || {
                v.parse::<usize>()
                    .map_err(|_| bad("a non-negative integer"))
            };
            let flag = || match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad("true or false")),
            };
            match k.as_str() {
                "to_number" => q.to_number = Some(number()),
                "from_number" => q.from_number = Some(number()),
                "start_date" => q.start_date = Some(date()?),
                "end_date" => q.end_date = Some(date()?),
                "completed" => q.completed = Some(flag()?),
                "ascending" => q.ascending = flag()?,
                "from" => q.from_idx = index()?,
                "to" => q.to_idx = Some(index()?),
                "limit" => match index()? {
                    0 => return Err(bad("at least 1")),
                    n => q.limit = n,
                },
                // `page`, `sort_by`, … are ignored, as Bland ignores `page`.
                _ => {}
            }
        }
        Ok(q)
    }
}

/// `GET /v1/calls`: filters `to_number`, `from_number`, `start_date`, `end_date`
/// (`YYYY-MM-DD`, UTC day of `created_at`, both inclusive), `completed`; order `ascending`
/// (default false: newest first); index window `from` (inclusive) … `to` (exclusive), then
/// at most `limit` (default 1000); `page` ignored.
async fn list_calls(
    State(carrier): State<Carrier>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let inner = &carrier.inner;
    let cfg = match authorize(inner, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let q = match ListQuery::parse(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err((param, message)) => return bad_query(param, message),
    };
    let ListQuery {
        to_number,
        from_number,
        start_date,
        end_date,
        completed,
        ascending,
        from_idx,
        to_idx,
        limit,
    } = q;
    let now = inner.clock.now();
    let mut calls: Vec<Arc<CallRecord>> = carrier
        .calls()
        .into_iter()
        .filter(|c| c.bland.is_some())
        .filter(|c| to_number.as_ref().is_none_or(|t| &c.to == t))
        .filter(|c| from_number.as_ref().is_none_or(|f| &c.from == f))
        .filter(|c| start_date.is_none_or(|d| c.created_at.date_naive() >= d))
        .filter(|c| end_date.is_none_or(|d| c.created_at.date_naive() <= d))
        .filter(|c| {
            completed.is_none_or(|want| c.plan.at(c.created_at, now).final_status.is_some() == want)
        })
        .collect();
    // Insertion order breaks ties between calls created at the same instant.
    if ascending {
        calls.sort_by_key(|c| c.created_at);
    } else {
        calls.reverse();
        calls.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    }
    let total = calls.len();
    let end = to_idx.unwrap_or(total).min(total);
    let start = from_idx.min(end);
    let items: Vec<String> = calls[start..end]
        .iter()
        .take(limit)
        .map(|c| {
            let b = c.bland.as_deref().expect("a Bland call");
            write_object(&call_fields(cfg, c, b, now, false))
        })
        .collect();
    let body = format!(
        "{{\"total_count\":{total},\"count\":{},\"calls\":[{}]}}",
        items.len(),
        items.join(",")
    );
    json_response(StatusCode::OK, body)
}

/// `GET /v1/calls/active`: the live Bland calls; needs `x-bland-org-id` equal to the
/// configured org id (400 without it, 403 for another).
async fn active_calls(State(carrier): State<Carrier>, headers: HeaderMap) -> Response {
    let inner = &carrier.inner;
    let cfg = match authorize(inner, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match headers.get("x-bland-org-id").and_then(|v| v.to_str().ok()) {
        None => {
            return bland_error(
                StatusCode::BAD_REQUEST,
                "Missing x-bland-org-id header",
                &[("missing_parameter", "x-bland-org-id is required".into())],
            )
        }
        Some(org) if org.trim() != cfg.org_id => {
            return bland_error(
                StatusCode::FORBIDDEN,
                "Organization not found for this API key",
                &[("forbidden", format!("org {org} is not this key's org"))],
            )
        }
        Some(_) => {}
    }
    let now = inner.clock.now();
    let data: Vec<String> = carrier
        .calls()
        .iter()
        .filter(|c| !c.past)
        .filter_map(|c| {
            let b = c.bland.as_deref()?;
            let v = view(c, now);
            if v.final_status.is_some() {
                return None;
            }
            let status = if v.queue_status == "started" {
                "IN_PROGRESS"
            } else {
                "QUEUED"
            };
            Some(write_object(&[
                ("call_id", json!(c.sid)),
                ("user_id", json!(format!("user-{}", cfg.org_id))),
                ("from", json!(c.from)),
                ("to", json!(c.to)),
                ("objective", json!(b.task)),
                ("pathway_id", json!(b.pathway_id)),
                ("start_time", json!(ts_offset(c.created_at))),
                (
                    "international",
                    json!((!c.to.starts_with("+1")).to_string()),
                ),
                ("status", json!(status)),
                (
                    "timestamp",
                    json!(c.created_at.timestamp_millis().to_string()),
                ),
            ]))
        })
        .collect();
    json_response(
        StatusCode::OK,
        format!("{{\"data\":[{}],\"errors\":null}}", data.join(",")),
    )
}
