//! [`CallLog`] for [`BlandClient`]: `GET {api_base}/v1/calls`, read for backfill.
//!
//! Bland's list has no cursor and ignores `page`; its default newest-first order shifts
//! every index as calls arrive; the boundary and time zone of `start_date`/`end_date` are
//! undocumented (`reference/bland.md` A3, <https://docs.bland.ai/api-v1/get/calls>). So the
//! log is read in fixed windows of two UTC days, `start_date = D`, `end_date = D + 1`, for
//! every day D from the day before `since` through the day of `until` (each window overlaps
//! the next by a day), each in ascending order (`ascending=true`) by index steps
//! `from=N&to=N+L&limit=L` (`to` exclusive; an inclusive `to` only repeats a call, which the
//! deduplication by `call_id` drops) until a page is short. `page` is never sent.
//!
//! Each item is read with [`CallObject::from_map`]: `to` (which may lack `+1`) is normalised
//! to E.164 ([`normalise_number`]); `inbound: true` items are left out; `disposition_tag` is
//! kept as given. A failed call whose `error_message` says the number is invalid is a bad
//! number (inference: the wording is undocumented).

use async_trait::async_trait;
use chrono::{Duration, NaiveDate};
use outdial_core::{ProviderKind, E164};
use serde_json::{Map, Value};
use url::Url;

use super::call::{normalise_number, str_field, CallObject};
use super::client::{fetch_failure, BlandClient};
use crate::calllog::{days, with_context, CallLog, Collector, LogFetch, LogProgress, LogQuery};
use crate::calllog::{LoggedCall, Skip};
use crate::FetchError;

/// Most pages read in one window before the fetch fails with [`FetchError::Protocol`]
/// (1,000,000 calls in two days at the default page size).
pub const MAX_LOG_PAGES_PER_WINDOW: u32 = 1000;

impl BlandClient {
    /// One page of the log: the window starting on `start` (two days), from index `from`.
    fn log_url(&self, start: NaiveDate, from: u64, limit: u64) -> Url {
        let mut url = self.endpoint(&["calls"]);
        url.query_pairs_mut()
            .append_pair("start_date", &start.format("%Y-%m-%d").to_string())
            .append_pair(
                "end_date",
                &(start + Duration::days(1)).format("%Y-%m-%d").to_string(),
            )
            .append_pair("ascending", "true")
            .append_pair("from", &from.to_string())
            .append_pair("to", &(from + limit).to_string())
            .append_pair("limit", &limit.to_string());
        url
    }
}

#[async_trait]
impl CallLog for BlandClient {
    fn provider(&self) -> ProviderKind {
        ProviderKind::Bland
    }

    #[tracing::instrument(name = "bland.fetch_log", skip_all, fields(since = %query.since, until = %query.until))]
    async fn fetch_log(
        &self,
        query: &LogQuery,
        progress: &(dyn Fn(LogProgress) + Send + Sync),
    ) -> Result<LogFetch, FetchError> {
        if query.page_size == 0 {
            return Err(FetchError::Protocol("page size must be at least 1".into()));
        }
        let limit = u64::from(query.page_size);
        let first = query.since.date_naive() - Duration::days(1);
        let windows = days(first, query.until.date_naive());
        let mut col = Collector::new(query);
        for (i, start) in windows.iter().enumerate() {
            let context = format!("Bland call log from {start} (two days)");
            let mut from = 0u64;
            for page in 0.. {
                if page == MAX_LOG_PAGES_PER_WINDOW {
                    return Err(FetchError::Protocol(format!(
                        "{context}: more than {MAX_LOG_PAGES_PER_WINDOW} pages"
                    )));
                }
                let url = self.log_url(*start, from, limit);
                let body = col
                    .get(|| self.http.get(url.clone()), &query.retry, fetch_failure)
                    .await
                    .map_err(|e| with_context(e, &context))?;
                let items = list_items(&body).map_err(|e| with_context(e, &context))?;
                let short = (items.len() as u64) < limit;
                for item in &items {
                    col.push(logged_call(item));
                }
                progress(col.progress(i, windows.len()));
                if short {
                    break;
                }
                from += limit;
            }
        }
        progress(col.progress(windows.len(), windows.len()));
        Ok(col.finish())
    }
}

/// The call objects of a list page: `{calls:[…]}` (`null` or absent: none) or a bare array.
pub fn list_items(body: &[u8]) -> Result<Vec<Map<String, Value>>, FetchError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| FetchError::Protocol(format!("list page is not JSON: {e}")))?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("calls") {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => {
                return Err(FetchError::Protocol(format!("list page: calls is {other}")))
            }
        },
        other => return Err(FetchError::Protocol(format!("list page is {other}"))),
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::Object(m) => Ok(m),
            other => Err(FetchError::Protocol(format!(
                "list item is not an object: {other}"
            ))),
        })
        .collect()
}

/// True when a failed call's `error_message` says the number is invalid (inference:
/// Bland's wording is undocumented; "invalid" with "number" or "phone").
pub fn says_bad_number(error_message: &str) -> bool {
    let t = error_message.to_ascii_lowercase();
    t.contains("invalid") && (t.contains("number") || t.contains("phone"))
}

/// One list item as a logged call (see the module docs).
fn logged_call(map: &Map<String, Value>) -> Result<LoggedCall, Skip> {
    if map.get("inbound").and_then(Value::as_bool) == Some(true) {
        return Err(Skip::Inbound(str_field(map, "call_id").unwrap_or_default()));
    }
    let obj = CallObject::from_map(map);
    let id = obj.call_id.clone().unwrap_or_default();
    let status = obj.status();
    let duration_s = obj.duration_s();
    let ended_at = obj.end_time();
    let answered = super::call::map_answered_by(obj.answered_by.as_deref());
    let raw_to = obj.to.clone().unwrap_or_default();
    let created_at = obj.created_at.or(obj.started_at);
    let snap = obj
        .into_snapshot()
        .ok_or_else(|| Skip::Unusable("a list item without a usable call_id".into()))?;
    let to = E164::from_stored(&normalise_number(&raw_to))
        .map_err(|_| Skip::Unusable(format!("call {id}: 'to' is not a phone number")))?;
    let created_at =
        created_at.ok_or_else(|| Skip::Unusable(format!("call {id}: no created_at")))?;
    let bad_number = status == outdial_core::CallStatus::Failed
        && str_field(map, "error_message").is_some_and(|m| says_bad_number(&m));
    Ok(LoggedCall {
        call_id: snap.call_id,
        to,
        from: str_field(map, "from"),
        created_at,
        ended_at: ended_at
            .or_else(|| duration_s.map(|d| created_at + chrono::Duration::seconds(i64::from(d)))),
        status,
        answered_by: answered,
        duration_s,
        disposition_tag: str_field(map, "disposition_tag"),
        bad_number,
    })
}

#[cfg(test)]
mod tests;
