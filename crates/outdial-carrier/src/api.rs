//! The Twilio-shaped HTTP API: create, fetch, end and list calls.

use crate::callbacks;
use crate::carrier::{
    CallRecord, CallbackCtl, CallbackMethod, Carrier, Counters, EventMask, Inner,
};
use crate::sim::{draw_sid, plan_call, rng_for, Forced, PlanInput, Stream};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;

/// Twilio's API version path segment.
pub const API_VERSION: &str = "2010-04-01";

/// Default ring timeout (`Timeout`), seconds.
pub const DEFAULT_TIMEOUT_S: u32 = 60;
/// Largest accepted `Timeout`, seconds; larger values are clamped.
pub const MAX_TIMEOUT_S: u32 = 600;
/// Default `TimeLimit`, seconds (4 hours, Twilio's default).
pub const DEFAULT_TIME_LIMIT_S: u32 = 14_400;
/// Longest CPS queue before creates are refused with 22005 (24 simulated hours).
const MAX_QUEUE: i64 = 24 * 3600 * 1000;

/// The carrier's whole router: the Twilio-shaped routes (unless
/// [`CarrierConfig::serve_twilio`](crate::CarrierConfig::serve_twilio) is off) and the fake
/// Bland's `/v1/…` routes (when [`CarrierConfig::bland`](crate::CarrierConfig::bland) is set).
pub(crate) fn router(carrier: Carrier) -> Router {
    let mut r = Router::new();
    if carrier.inner.config.serve_twilio {
        r = r
            .route(
                "/2010-04-01/Accounts/{account_sid}/Calls.json",
                get(list_calls).post(create_call),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Calls/{call_file}",
                get(fetch_call).post(update_call),
            );
    }
    if carrier.inner.config.bland.is_some() {
        r = r.merge(crate::bland::router());
    }
    r.fallback(not_found).with_state(carrier)
}

/// A Twilio 2010-API error response: `{code, message, more_info, status}`.
fn twilio_error(status: StatusCode, code: u32, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "code": code,
        "message": message.into(),
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

/// Unknown routes: Bland's error shape under `/v1/`, Twilio's elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path() == "/v1" || uri.path().starts_with("/v1/") {
        return crate::bland::route_not_found();
    }
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// Checks HTTP Basic credentials and the path's account SID. `Some` is the 401 response.
fn unauthorized(inner: &Inner, path_sid: &str, headers: &HeaderMap) -> Option<Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_string())
        })
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|creds| {
            let (user, pass) = creds.split_once(':')?;
            Some(user == inner.config.account_sid && pass == inner.config.auth_token)
        })
        .unwrap_or(false)
        && path_sid == inner.config.account_sid;
    if ok {
        return None;
    }
    Counters::bump(&inner.counters.requests_unauthorized);
    let mut resp = twilio_error(
        StatusCode::UNAUTHORIZED,
        20003,
        "Authentication Error - invalid username",
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
    );
    Some(resp)
}

/// Twilio's `Call` resource (`api.v2010.account.call`), JSON.
#[derive(Debug, Serialize)]
struct CallJson {
    sid: String,
    date_created: String,
    date_updated: String,
    parent_call_sid: Option<String>,
    account_sid: String,
    to: String,
    to_formatted: String,
    from: String,
    from_formatted: String,
    phone_number_sid: Option<String>,
    status: &'static str,
    start_time: Option<String>,
    end_time: Option<String>,
    duration: Option<String>,
    price: Option<String>,
    price_unit: &'static str,
    direction: &'static str,
    answered_by: Option<&'static str>,
    api_version: &'static str,
    forwarded_from: Option<String>,
    group_sid: Option<String>,
    caller_name: Option<String>,
    queue_time: String,
    trunk_sid: Option<String>,
    uri: String,
    subresource_uris: serde_json::Value,
}

fn call_json(account_sid: &str, c: &CallRecord, now: DateTime<Utc>) -> CallJson {
    let snap = c.plan.at(c.created_at, now);
    let base = format!("/{API_VERSION}/Accounts/{account_sid}/Calls/{}", c.sid);
    let sub = |name: &str| format!("{base}/{name}.json");
    CallJson {
        sid: c.sid.clone(),
        date_created: c.created_at.to_rfc2822(),
        date_updated: snap.updated.to_rfc2822(),
        parent_call_sid: None,
        account_sid: account_sid.to_string(),
        to: c.to.clone(),
        to_formatted: c.to.clone(),
        from: c.from.clone(),
        from_formatted: c.from.clone(),
        phone_number_sid: None,
        status: snap.status,
        start_time: snap.start_time.map(|t| t.to_rfc2822()),
        end_time: snap.end_time.map(|t| t.to_rfc2822()),
        duration: match snap.final_status {
            Some(crate::sim::FinalStatus::Completed) => Some(c.plan.duration_s.to_string()),
            _ => None,
        },
        price: None,
        price_unit: "USD",
        direction: "outbound-api",
        answered_by: snap.answered_at.and(c.plan.answered_by),
        api_version: API_VERSION,
        forwarded_from: None,
        group_sid: None,
        caller_name: None,
        queue_time: c.queue_time_ms.to_string(),
        trunk_sid: None,
        uri: format!("{base}.json"),
        subresource_uris: serde_json::json!({
            "notifications": sub("Notifications"),
            "recordings": sub("Recordings"),
            "payments": sub("Payments"),
            "events": sub("Events"),
            "siprec": sub("Siprec"),
            "streams": sub("Streams"),
            "user_defined_message_subscriptions": sub("UserDefinedMessageSubscriptions"),
            "user_defined_messages": sub("UserDefinedMessages"),
        }),
    }
}

/// `^\+[1-9]\d{7,14}$`
fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn bad_request(inner: &Inner, code: u32, message: impl Into<String>) -> Response {
    Counters::bump(&inner.counters.creates_rejected);
    twilio_error(StatusCode::BAD_REQUEST, code, message)
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`
async fn create_call(
    State(carrier): State<Carrier>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &carrier.inner;
    if let Some(resp) = unauthorized(inner, &account_sid, &headers) {
        return resp;
    }
    let form: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(inner, 20001, format!("Invalid form body: {e}")),
    };
    let to = form_value(&form, "To").unwrap_or("").to_string();

    // Request faults, deterministic in (seed, To, n-th request for To).
    let (r429, r5xx, ramb) = {
        let mut book = inner.book.lock().expect("carrier lock");
        let n = book.requests_per_to.entry(to.clone()).or_insert(0);
        let mut rng = rng_for(inner.config.seed, Stream::RequestFaults, &to, *n);
        *n += 1;
        (rng.gen::<f64>(), rng.gen::<f64>(), rng.gen::<f64>())
    };
    let faults = &inner.config.faults;
    if r429 < faults.rate429 {
        Counters::bump(&inner.counters.creates_rate_limited);
        return twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
    }
    if r5xx < faults.error5xx {
        Counters::bump(&inner.counters.creates_error5xx);
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        );
    }

    // Validation.
    if to.is_empty() {
        return bad_request(inner, 21201, "No 'To' number is specified");
    }
    let Some(from) = form_value(&form, "From").map(str::to_string) else {
        return bad_request(inner, 21213, "No 'From' number is specified");
    };
    if !is_e164(&to) || inner.invalid.contains(&to) {
        return bad_request(
            inner,
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if !is_e164(&from) {
        return bad_request(
            inner,
            21212,
            format!("The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."),
        );
    }
    if to == from {
        return bad_request(
            inner,
            21211,
            format!("The 'To' number {to} is not a valid phone number: it is the same as the 'From' number."),
        );
    }
    if form_value(&form, "Url").is_none()
        && form_value(&form, "Twiml").is_none()
        && form_value(&form, "ApplicationSid").is_none()
    {
        return bad_request(
            inner,
            21205,
            "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required",
        );
    }
    if let Some(twiml) = form_value(&form, "Twiml") {
        if twiml.chars().count() > 4000 {
            return bad_request(inner, 21205, "Twiml must be at most 4000 characters");
        }
    }
    let int_param = |key: &str, default: u32| -> Result<u32, String> {
        match form_value(&form, key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| format!("{key} must be a non-negative integer, got '{v}'")),
        }
    };
    let timeout_s = match int_param("Timeout", DEFAULT_TIMEOUT_S) {
        Ok(t) => t.clamp(1, MAX_TIMEOUT_S),
        Err(msg) => return bad_request(inner, 20001, msg),
    };
    let time_limit_s = match int_param("TimeLimit", DEFAULT_TIME_LIMIT_S) {
        Ok(t) => t.max(1),
        Err(msg) => return bad_request(inner, 20001, msg),
    };
    let status_callback = match form_value(&form, "StatusCallback") {
        None => None,
        Some(cb) => match url::Url::parse(cb) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Some(cb.to_string())
            }
            _ => return bad_request(inner, 21609, format!("Invalid StatusCallback url: '{cb}'")),
        },
    };
    let callback_method = match form_value(&form, "StatusCallbackMethod") {
        None => CallbackMethod::Post,
        Some(m) if m.eq_ignore_ascii_case("POST") => CallbackMethod::Post,
        Some(m) if m.eq_ignore_ascii_case("GET") => CallbackMethod::Get,
        Some(m) => {
            return bad_request(
                inner,
                21610,
                format!("StatusCallbackMethod must be GET or POST, got '{m}'"),
            )
        }
    };
    let mut events = EventMask::default();
    for (k, v) in &form {
        if k != "StatusCallbackEvent" {
            continue;
        }
        for ev in v.split([' ', ',']) {
            match ev.trim() {
                "initiated" => events.initiated = true,
                "ringing" => events.ringing = true,
                "answered" => events.answered = true,
                _ => {}
            }
        }
    }
    let machine_detection = if form_value(&form, "SendDigits").is_some() {
        None
    } else {
        form_value(&form, "MachineDetection").map(str::to_string)
    };
    let forced = if inner.always_busy.contains(&to) {
        Forced::Busy
    } else if inner.never_ends.contains(&to) {
        Forced::NeverEnds
    } else {
        Forced::None
    };

    // Place the call.
    let ctl = Arc::new(CallbackCtl::default());
    let now = inner.clock.now();
    let record = {
        let mut book = inner.book.lock().expect("carrier lock");
        let dial_at = match inner.config.cps {
            None => now,
            Some(cps) => {
                let slot = book.next_dial_slot.map_or(now, |s| s.max(now));
                if (slot - now).num_milliseconds() > MAX_QUEUE {
                    drop(book);
                    return bad_request(
                        inner,
                        22005,
                        "Call Queue Full: more than 24 hours of calls are queued",
                    );
                }
                let interval = Duration::microseconds((1_000_000.0 / cps) as i64);
                book.next_dial_slot = Some(slot + interval);
                slot
            }
        };
        let n = book.placed_per_to.entry(to.clone()).or_insert(0);
        let ordinal = *n;
        *n += 1;
        let mut rng = rng_for(inner.config.seed, Stream::Outcome, &to, ordinal);
        let sid = draw_sid(&mut rng);
        let plan = plan_call(
            &mut rng,
            &inner.config.outcomes,
            &PlanInput {
                dial_at,
                timeout_s,
                time_limit_s,
                machine_detection: machine_detection.as_deref(),
                forced,
            },
        );
        let record = Arc::new(CallRecord {
            sid: sid.clone(),
            to: to.clone(),
            from,
            ordinal,
            created_at: now,
            queue_time_ms: (dial_at - now).num_milliseconds(),
            plan,
            status_callback,
            callback_method,
            events,
            bland: None,
            past: false,
        });
        let idx = book.calls.len();
        book.calls.push(record.clone());
        if record.status_callback.is_some() {
            book.callbacks.insert(sid.clone(), ctl.clone());
        }
        book.by_sid.insert(sid, idx);
        record
    };

    tracing::debug!(call_sid = %record.sid, to = %record.to, status = ?record.plan.final_status, "call placed");
    let deliveries = callbacks::schedule(
        &record,
        &inner.config.account_sid,
        inner.config.seed,
        faults,
    );
    if !deliveries.is_empty() {
        callbacks::spawn(inner.clone(), record.clone(), deliveries, ctl);
    }

    if ramb < faults.ambiguous {
        Counters::bump(&inner.counters.creates_ambiguous);
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        );
    }
    let body = call_json(&inner.config.account_sid, &record, now);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`
async fn fetch_call(
    State(carrier): State<Carrier>,
    Path((account_sid, call_file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let inner = &carrier.inner;
    if let Some(resp) = unauthorized(inner, &account_sid, &headers) {
        return resp;
    }
    let found = call_file.strip_suffix(".json").and_then(|sid| {
        let book = inner.book.lock().expect("carrier lock");
        book.by_sid
            .get(sid)
            .map(|i| book.calls[*i].clone())
            .filter(|c| c.bland.is_none())
    });
    match found {
        Some(c) => {
            let now = inner.clock.now();
            Json(call_json(&inner.config.account_sid, &c, now)).into_response()
        }
        None => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            format!(
                "The requested resource /{API_VERSION}/Accounts/{account_sid}/Calls/{call_file} was not found"
            ),
        ),
    }
}

/// What `POST Calls/{Sid}.json` asks for (`Status`, Twilio's `call_enum_update_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndRequest {
    /// `Status=canceled`: hang up a queued or ringing call; no effect once answered.
    Canceled,
    /// `Status=completed`: hang up the call whatever its state.
    Completed,
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json` with `Status=completed|canceled`.
///
/// Twilio's semantics (<https://www.twilio.com/docs/api/rest/change-call-state>: "Specifying
/// canceled will attempt to hangup calls that are queued or ringing but not affect calls
/// already in progress. Specifying completed will attempt to hang up a call even if it's
/// already in progress."):
/// - a live call not yet answered ends `canceled` (either value); an answered one ends
///   `completed` with `Status=completed`, and is left unchanged by `Status=canceled`;
/// - the end is the current simulated instant: the ledger's `ended_at`, the call's
///   `end_time`; the final status callback is sent as for any end (none at all when the call
///   had not started dialing, as Twilio fires none for a call canceled while queued);
/// - a call already final is returned unchanged (200);
/// - unknown call → 404 / 20404; `Status` missing or another value → 400 / 20001 (the fake
///   supports no redirect: `Url`, `Twiml` are refused the same way).
async fn update_call(
    State(carrier): State<Carrier>,
    Path((account_sid, call_file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inner = &carrier.inner;
    if let Some(resp) = unauthorized(inner, &account_sid, &headers) {
        return resp;
    }
    let bad = |msg: String| twilio_error(StatusCode::BAD_REQUEST, 20001, msg);
    let form: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return bad(format!("Invalid form body: {e}")),
    };
    let request = match form_value(&form, "Status") {
        Some("canceled") => EndRequest::Canceled,
        Some("completed") => EndRequest::Completed,
        Some(other) => {
            return bad(format!(
                "Status must be 'canceled' or 'completed', got '{other}'"
            ))
        }
        None => {
            return bad(
                "This carrier only ends calls: send Status=canceled or Status=completed".into(),
            )
        }
    };
    let not_found = || {
        twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            format!(
                "The requested resource /{API_VERSION}/Accounts/{account_sid}/Calls/{call_file} was not found"
            ),
        )
    };
    let Some(sid) = call_file.strip_suffix(".json") else {
        return not_found();
    };

    // Under the book lock, and the call's callback lock, so that no callback of an event
    // after the end can be taken once `now` is read.
    let (record, now, spawn) = {
        let mut book = inner.book.lock().expect("carrier lock");
        let Some(idx) = book
            .by_sid
            .get(sid)
            .copied()
            .filter(|i| book.calls[*i].bland.is_none())
        else {
            drop(book);
            return not_found();
        };
        let old = book.calls[idx].clone();
        let ctl = book.callbacks.get(sid).cloned();
        let taken_guard = ctl.as_ref().map(|c| c.taken.lock().expect("callback lock"));
        let now = inner.clock.now();
        let snap = old.plan.at(old.created_at, now);
        let unchanged = snap.final_status.is_some()
            || (request == EndRequest::Canceled && snap.answered_at.is_some());
        if unchanged {
            drop(taken_guard);
            (old, now, None)
        } else {
            let plan = old.plan.ended_by_request(now);
            let new = Arc::new(CallRecord {
                plan,
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
            let mut spawn = None;
            if new.status_callback.is_some() {
                let deliveries: Vec<_> = callbacks::schedule(
                    &new,
                    &inner.config.account_sid,
                    inner.config.seed,
                    &inner.config.faults,
                )
                .into_iter()
                .filter(|d| !taken.contains(&d.seq))
                .collect();
                let ctl = Arc::new(CallbackCtl::default());
                book.callbacks.insert(new.sid.clone(), ctl.clone());
                spawn = Some((deliveries, ctl));
            }
            Counters::bump(&inner.counters.calls_ended_by_request);
            (new, now, spawn)
        }
    };
    if let Some((deliveries, ctl)) = spawn {
        tracing::debug!(
            call_sid = %record.sid,
            status = ?record.plan.final_status,
            "call ended by request"
        );
        if !deliveries.is_empty() {
            callbacks::spawn(inner.clone(), record.clone(), deliveries, ctl);
        }
    }
    Json(call_json(&inner.config.account_sid, &record, now)).into_response()
}

/// A parsed `StartTime…`/`EndTime…` filter. Like Twilio's date filters, `>` and `>=` both
/// mean "on or after", `<` and `<=` both "on or before".
#[derive(Debug, Clone, Copy)]
enum Bound {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    AtLeast,
    AtMost,
}

fn parse_bound(v: &str) -> Option<Bound> {
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(Bound::Date(d));
    }
    DateTime::parse_from_rfc3339(v)
        .or_else(|_| DateTime::parse_from_rfc2822(v))
        .ok()
        .map(|t| Bound::Instant(t.with_timezone(&Utc)))
}

fn matches_bound(t: Option<DateTime<Utc>>, cmp: Cmp, b: Bound) -> bool {
    let Some(t) = t else { return false };
    let ord = match b {
        Bound::Date(d) => t.date_naive().cmp(&d),
        Bound::Instant(i) => t.cmp(&i),
    };
    match cmp {
        Cmp::Eq => ord.is_eq(),
        Cmp::AtLeast => ord.is_ge(),
        Cmp::AtMost => ord.is_le(),
    }
}

const STATUSES: [&str; 8] = [
    "queued",
    "ringing",
    "in-progress",
    "canceled",
    "completed",
    "busy",
    "no-answer",
    "failed",
];

/// `GET /2010-04-01/Accounts/{AccountSid}/Calls.json`: filters `To`, `From`, `Status`,
/// `StartTime`, `StartTime>`, `StartTime<` (also `>=`/`<=`), same for `EndTime`; paging with
/// `PageSize` (default 50, max 1000) and `Page` (0-based). Newest first.
async fn list_calls(
    State(carrier): State<Carrier>,
    Path(account_sid): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let inner = &carrier.inner;
    if let Some(resp) = unauthorized(inner, &account_sid, &headers) {
        return resp;
    }
    let raw: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    // `StartTime>=2026-01-01` unencoded parses as key `StartTime>`, value `=2026-01-01`.
    let params: Vec<(String, String)> = raw
        .into_iter()
        .map(|(k, v)| {
            if (k.ends_with('>') || k.ends_with('<')) && v.starts_with('=') {
                (format!("{k}="), v[1..].to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let bad = |msg: String| twilio_error(StatusCode::BAD_REQUEST, 20001, msg);

    let mut to = None;
    let mut from = None;
    let mut status = None;
    let mut page_size: usize = 50;
    let mut page: usize = 0;
    let mut time_filters: Vec<(bool, Cmp, Bound)> = Vec::new(); // (is_start, cmp, bound)
    for (k, v) in &params {
        match k.as_str() {
            "To" => to = Some(v.clone()),
            "From" => from = Some(v.clone()),
            "Status" => {
                if !STATUSES.contains(&v.as_str()) {
                    return bad(format!("Status '{v}' is not a valid call status"));
                }
                status = Some(v.clone());
            }
            "PageSize" => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => page_size = n,
                _ => {
                    return bad(format!(
                        "PageSize must be an integer in 1..=1000, got '{v}'"
                    ))
                }
            },
            "Page" => match v.parse::<usize>() {
                Ok(n) => page = n,
                _ => return bad(format!("Page must be a non-negative integer, got '{v}'")),
            },
            key if key.starts_with("StartTime") || key.starts_with("EndTime") => {
                let is_start = key.starts_with("StartTime");
                let op = key
                    .trim_start_matches("StartTime")
                    .trim_start_matches("EndTime");
                let cmp = match op {
                    "" => Cmp::Eq,
                    ">" | ">=" => Cmp::AtLeast,
                    "<" | "<=" => Cmp::AtMost,
                    _ => return bad(format!("Unknown filter '{key}'")),
                };
                let Some(b) = parse_bound(v) else {
                    return bad(format!(
                        "{key} must be a date YYYY-MM-DD or an RFC 3339 / RFC 2822 time, got '{v}'"
                    ));
                };
                time_filters.push((is_start, cmp, b));
            }
            _ => {}
        }
    }

    let now = inner.clock.now();
    let mut calls = carrier.calls();
    calls.retain(|c| c.bland.is_none());
    // Newest first; among calls created at the same instant, the last created first (past
    // calls are inserted out of creation order).
    calls.reverse();
    calls.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    let matching: Vec<CallJson> = calls
        .iter()
        .filter(|c| to.as_ref().is_none_or(|t| &c.to == t))
        .filter(|c| from.as_ref().is_none_or(|f| &c.from == f))
        .filter_map(|c| {
            let snap = c.plan.at(c.created_at, now);
            if status.as_ref().is_some_and(|s| s != snap.status) {
                return None;
            }
            // A call not yet started is matched on its creation time.
            let start = Some(snap.start_time.unwrap_or(c.created_at));
            let ok = time_filters.iter().all(|(is_start, cmp, b)| {
                matches_bound(if *is_start { start } else { snap.end_time }, *cmp, *b)
            });
            ok.then(|| call_json(&inner.config.account_sid, c, now))
        })
        .collect();

    let total = matching.len();
    let start = page.saturating_mul(page_size).min(total);
    let end = (start + page_size).min(total);
    let page_calls: Vec<CallJson> = matching.into_iter().skip(start).take(end - start).collect();
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "Page" | "PageSize" | "PageToken"))
        .cloned()
        .collect();
    let page_uri = |p: usize| {
        let mut q = filters.clone();
        q.push(("PageSize".into(), page_size.to_string()));
        q.push(("Page".into(), p.to_string()));
        format!(
            "/{API_VERSION}/Accounts/{}/Calls.json?{}",
            inner.config.account_sid,
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    };
    let body = serde_json::json!({
        "calls": page_calls,
        "end": if end > start { end - 1 } else { start },
        "first_page_uri": page_uri(0),
        "next_page_uri": if end < total { Some(page_uri(page + 1)) } else { None },
        "page": page,
        "page_size": page_size,
        "previous_page_uri": if page > 0 { Some(page_uri(page - 1)) } else { None },
        "start": start,
        "uri": page_uri(page),
    });
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+15551234567"));
        assert!(is_e164("+4930123456"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+05551234567"));
        assert!(!is_e164("+1555"));
        assert!(!is_e164("+1555123456789012"));
        assert!(!is_e164("+1555-123-4567"));
    }
}
