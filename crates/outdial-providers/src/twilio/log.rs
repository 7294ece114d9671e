//! [`CallLog`] for [`TwilioClient`]: `GET {api_base}/2010-04-01/Accounts/{sid}/Calls.json`,
//! read for backfill.
//!
//! One window per UTC day D from the day of `since` through the day of `until`:
//! `StartTime>=D&StartTime<=D&PageSize=L` (the `>` and `<` are part of the parameter names,
//! dates are UTC days; twilio-oai `ListCall`, `reference/telephony-apis.md` §4), following
//! `next_page_uri` (a path relative to the API base) until it is null. Only outbound calls
//! (`direction` starting with `outbound`: `outbound-api`, `outbound-dial`) are kept; calls
//! are deduplicated by `sid` and kept when `date_created` (else `start_time`) lies in
//! `[since, until)`. Twilio's call resource carries no error code, so no call is marked a
//! bad number.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use outdial_core::{AnsweredBy, CallStatus, ProviderCallId, ProviderKind, Region, E164};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::client::{fetch_failure, parse_twilio_date, TwilioClient};
use crate::calllog::{days, with_context, CallLog, Collector, LogFetch, LogProgress, LogQuery};
use crate::calllog::{LoggedCall, Skip};
use crate::http::u64_of;
use crate::FetchError;

/// Most pages read in one day before the fetch fails with [`FetchError::Protocol`].
pub const MAX_LOG_PAGES_PER_WINDOW: u32 = 1000;

/// The fields of a call resource the log reads.
#[derive(Debug, Deserialize)]
struct LogCall {
    sid: Option<String>,
    to: Option<String>,
    from: Option<String>,
    status: Option<String>,
    direction: Option<String>,
    date_created: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    /// Seconds, as a string; empty or null until final.
    duration: Option<Value>,
    answered_by: Option<String>,
}

/// One page of the list.
#[derive(Debug, Deserialize)]
struct LogPage {
    calls: Vec<LogCall>,
    next_page_uri: Option<String>,
}

impl TwilioClient {
    /// The first page of one day's window.
    fn log_url(&self, day: NaiveDate, page_size: u32) -> Url {
        let d = day.format("%Y-%m-%d").to_string();
        let mut url = self.endpoint(&["Calls.json"]);
        url.query_pairs_mut()
            .append_pair("StartTime>", &d)
            .append_pair("StartTime<", &d)
            .append_pair("PageSize", &page_size.to_string());
        url
    }
}

#[async_trait]
impl CallLog for TwilioClient {
    fn provider(&self) -> ProviderKind {
        ProviderKind::Twilio
    }

    #[tracing::instrument(name = "twilio.fetch_log", skip_all, fields(since = %query.since, until = %query.until))]
    async fn fetch_log(
        &self,
        query: &LogQuery,
        progress: &(dyn Fn(LogProgress) + Send + Sync),
    ) -> Result<LogFetch, FetchError> {
        if query.page_size == 0 || query.page_size > 1000 {
            return Err(FetchError::Protocol(
                "page size must be 1 to 1000 (Twilio's PageSize)".into(),
            ));
        }
        let windows = days(query.since.date_naive(), query.until.date_naive());
        let mut col = Collector::new(query);
        for (i, day) in windows.iter().enumerate() {
            let context = format!("Twilio call log of {day}");
            let mut next = Some(self.log_url(*day, query.page_size));
            let mut pages = 0u32;
            while let Some(url) = next.take() {
                if pages == MAX_LOG_PAGES_PER_WINDOW {
                    return Err(FetchError::Protocol(format!(
                        "{context}: more than {MAX_LOG_PAGES_PER_WINDOW} pages"
                    )));
                }
                pages += 1;
                let body = col
                    .get(|| self.get(url.clone()), &query.retry, fetch_failure)
                    .await
                    .map_err(|e| with_context(e, &context))?;
                let page: LogPage = serde_json::from_slice(&body).map_err(|e| {
                    FetchError::Protocol(format!("{context}: not a call page: {e}"))
                })?;
                for call in page.calls {
                    col.push(logged_call(call));
                }
                progress(col.progress(i, windows.len()));
                next = match page.next_page_uri.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(uri) => Some(
                        self.next_page_url(uri)
                            .map_err(|e| with_context(e, &context))?,
                    ),
                };
            }
        }
        progress(col.progress(windows.len(), windows.len()));
        Ok(col.finish())
    }
}

/// A date field, or the reason the call is unusable.
fn date(raw: Option<&str>, sid: &str, field: &str) -> Result<Option<DateTime<Utc>>, Skip> {
    parse_twilio_date(raw, sid, field).map_err(|e| Skip::Unusable(e.to_string()))
}

/// One call resource as a logged call (see the module docs).
fn logged_call(c: LogCall) -> Result<LoggedCall, Skip> {
    let sid = c.sid.as_deref().unwrap_or_default();
    let call_id = ProviderCallId::parse(sid)
        .ok_or_else(|| Skip::Unusable("a call without a usable sid".into()))?;
    if !c
        .direction
        .as_deref()
        .is_some_and(|d| d.trim().starts_with("outbound"))
    {
        return Err(Skip::Inbound(sid.to_owned()));
    }
    let to = E164::parse(c.to.as_deref().unwrap_or_default(), Region::US)
        .map_err(|_| Skip::Unusable(format!("call {sid}: 'to' is not a phone number")))?;
    let raw_status = c.status.as_deref().unwrap_or_default();
    let status = CallStatus::parse(raw_status)
        .ok_or_else(|| Skip::Unusable(format!("call {sid}: unknown status '{raw_status}'")))?;
    let created = date(c.date_created.as_deref(), sid, "date_created")?;
    let started = date(c.start_time.as_deref(), sid, "start_time")?;
    let created_at = created
        .or(started)
        .ok_or_else(|| Skip::Unusable(format!("call {sid}: no date_created")))?;
    let duration_s = match &c.duration {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(
            u64_of(v)
                .and_then(|d| u32::try_from(d).ok())
                .ok_or_else(|| Skip::Unusable(format!("call {sid}: bad duration {v}")))?,
        ),
    };
    Ok(LoggedCall {
        call_id,
        to,
        from: c.from.filter(|f| !f.trim().is_empty()),
        created_at,
        ended_at: date(c.end_time.as_deref(), sid, "end_time")?,
        status,
        answered_by: c.answered_by.as_deref().and_then(AnsweredBy::parse),
        duration_s: status.is_final().then_some(duration_s).flatten(),
        disposition_tag: None,
        bad_number: false,
    })
}

#[cfg(test)]
mod tests;
