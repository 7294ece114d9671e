//! # outdial-carrier
//!
//! A fake carrier that speaks the part of Twilio's 2010 REST API outdial uses and, on the same
//! server, a fake Bland.ai v1 API (see "Bland API" below), runs every call
//! on a simulated [`Clock`](outdial_clock::Clock), sends signed status callbacks, injects
//! faults, and keeps a ledger of every call it really placed: the ground truth the
//! end-to-end tests, crash tests and the simulator check outdial against.
//!
//! ## HTTP API
//! All routes live under `/2010-04-01/Accounts/{AccountSid}/` and need HTTP Basic auth
//! `AccountSid:AuthToken` with the path's `AccountSid` equal to the configured one; otherwise
//! **401** `{"code":20003,…}`. Errors use Twilio's shape
//! `{"code":…,"message":…,"more_info":"https://www.twilio.com/docs/errors/CODE","status":…}`.
//!
//! - `POST Calls.json` (form: `To`, `From`, `Url` | `Twiml` | `ApplicationSid`,
//!   `StatusCallback`, `StatusCallbackMethod` (`POST` default, or `GET`), `StatusCallbackEvent`
//!   (repeated, or space-separated), `Timeout` (s, default 60, clamped to 1..=600),
//!   `TimeLimit` (s, default 14400), `MachineDetection` (ignored with `SendDigits`))
//!   → **201** call JSON with `status` `queued`. Refusals (no call placed):
//!   - 429 / 20429 (`rate429` fault), 500 / 20500 (`error5xx` fault) — drawn before validation;
//!   - 400 / 21201 missing `To`; 21213 missing `From`; 21211 `To` not E.164
//!     (`^\+[1-9]\d{7,14}$`), listed in [`CarrierConfig::invalid`], or equal to `From`;
//!     21212 `From` not E.164; 21205 none of `Url`/`Twiml`/`ApplicationSid` (or `Twiml` over
//!     4000 characters); 21609 bad `StatusCallback`; 21610 bad `StatusCallbackMethod`;
//!     20001 non-integer `Timeout`/`TimeLimit`; 22005 CPS queue over 24 simulated hours.
//!   - With the `ambiguous` fault the call **is** placed but the answer is 500 / 20500.
//! - `GET Calls/{Sid}.json` → **200** call JSON at the current simulated instant, or
//!   **404** / 20404.
//! - `POST Calls/{Sid}.json` (form: `Status` = `canceled` | `completed`) ends a live call at
//!   the current simulated instant, as Twilio's call update does: a call not yet answered ends
//!   `canceled`, an answered one `completed` (`Status=completed` only: `canceled` does not
//!   affect a call in progress). The ledger records the end, the final status callback is
//!   sent (none for a call canceled before dialing started, as at Twilio), and the answer is
//!   **200** call JSON. A final call is returned unchanged (200); unknown call → **404** /
//!   20404; no or another `Status` → **400** / 20001 (no redirects). Works for
//!   [`CarrierConfig::never_ends`] numbers.
//! - `GET Calls.json` → **200** `{calls, page, page_size, start, end, uri, first_page_uri,
//!   next_page_uri (null on the last page), previous_page_uri}`, newest first. Filters: `To`,
//!   `From`, `Status`, `StartTime`, `StartTime>`, `StartTime<` (also `>=`, `<=`), and the same
//!   for `EndTime`; values are `YYYY-MM-DD` (UTC day) or an RFC 3339 / RFC 2822 instant; `>`
//!   and `>=` both mean "on or after", `<` and `<=` "on or before", as in Twilio's date
//!   filters. A call not yet started matches `StartTime` filters on its `date_created`.
//!   Paging: `PageSize` (default 50, 1..=1000), `Page` (0-based); page URIs are relative.
//!
//! Call JSON: `sid` (`CA` + 32 hex), `account_sid`, `to`, `from`, `status`, `date_created`,
//! `date_updated`, `start_time`, `end_time` (RFC 2822 or null), `duration` (string seconds, set
//! only for `completed`), `answered_by`, `queue_time` (string, simulated ms in the CPS queue),
//! `direction` (`outbound-api`), `api_version`, `uri`, `subresource_uris`, and Twilio's other
//! fields as null. REST `status` is `queued` until `ringing` (Twilio's REST enum has no
//! `initiated`), then `ringing`, `in-progress`, and the final status.
//!
//! ## Call simulation
//! Each placed call's whole timeline is drawn at creation from a random stream keyed by
//! `(seed, To, number of calls to To placed before)`, so a run is reproducible whatever the
//! order in which calls to different numbers arrive. In simulated time: `queued` at creation;
//! `initiated` 50–500 ms after the call leaves the CPS queue; `ringing` 1–3 s later; then by
//! [`OutcomeMix`]: answered (human or machine; `in-progress` after the ring time, `completed`
//! after the talk time capped by `TimeLimit`), `busy` 2–5 s after ringing, `no-answer` at
//! `Timeout` after `initiated` (also when an answer would come later than that), or `failed`
//! 1–3 s after `initiated` without ringing. Numbers in [`CarrierConfig::always_busy`] always end
//! `busy`; numbers in [`CarrierConfig::never_ends`] are answered and stay `in-progress` until ended
//! through the API.
//! `answered_by` is set only when `MachineDetection` was requested (as at Twilio): `human`, or
//! `machine_start` (`machine_end_beep` for `DetectMessageEnd`).
//!
//! ## Status callbacks
//! Sent to the exact `StatusCallback` URL for the subscribed events (`initiated`, `ringing`,
//! `answered` → `CallStatus=in-progress`) plus the final event, always (`CallStatus` = the
//! final status). Parameters: `CallSid`, `AccountSid`, `From`, `To`, `Called`, `Caller`,
//! `CallStatus`, `ApiVersion=2010-04-01`, `Direction=outbound-api`, `SequenceNumber` (0-based
//! in firing order over the subscribed events; a lost callback still uses its number),
//! `Timestamp` (RFC 2822, the event's simulated instant), `CallbackSource=call-progress-events`;
//! on the final event `CallDuration` (s), `SipResponseCode` (200 completed, 486 busy,
//! 487 no-answer, 500 failed) and, for `completed`, `Duration` (billed minutes); `AnsweredBy`
//! on the answered and final events when set. Each request carries `X-Twilio-Signature`
//! (computed by `outdial_providers::twilio::signature::compute_signature` over the callback
//! URL and the form parameters; for `GET`, over the URL with the parameters in its query).
//! A callback answered with 5xx or whose connection fails is retried once, one simulated
//! second later; later failures are ignored. Faults: see [`FaultSpec`]. Real-time request
//! timeout: [`CALLBACK_TIMEOUT`].
//!
//! ## Bland API
//! Served under `/v1/…` when [`CarrierConfig::bland`] is set (the default), by the same
//! server, clock, book, outcome draw, faults and ledger as the Twilio routes: one carrier
//! serves a Twilio and a Bland campaign at once, and [`Carrier::ledger`] holds both (a Bland
//! call's `call_sid` is its `call_id`, a UUID v4; [`LedgerEntry::provider`] tells them
//! apart). Settings: [`BlandFake`]. Facts: `reference/bland.md` A1–A7,
//! <https://docs.bland.ai/api-v1/post/calls>, <https://docs.bland.ai/api-v1/get/calls-id>,
//! <https://docs.bland.ai/api-v1/get/calls>, <https://docs.bland.ai/api-v1/post/calls-id-stop>,
//! <https://docs.bland.ai/api-v1/get/active>, <https://docs.bland.ai/tutorials/webhook-signing>.
//!
//! Every route needs `Authorization: <key>` or `Authorization: Bearer <key>` equal to
//! [`BlandFake::api_key`]; otherwise **401** `{"status":"error","message":"Invalid API
//! key","errors":[…]}`. Errors use Bland's shape
//! `{"status":"error","message":…,"errors":[{"error":…,"message":…}]}`; unknown `/v1/…`
//! routes answer 404 in it. Responses are JSON with Bland's key order.
//!
//! - `POST /v1/calls` (JSON): `phone_number` (E.164; 10 digits are read as US, 11 starting
//!   with `1` too, punctuation ignored), `from` (optional, default
//!   [`BlandFake::default_from`]), `pathway_id` | `task` (one required), `voice`,
//!   `first_sentence`, `max_duration` (**minutes**, default 30, caps the talk time),
//!   `wait_for_greeting`, `record`, `voicemail` (object, not acted on), `answered_by_enabled`,
//!   `dispositions` (labels), `request_data` and `metadata` (objects, echoed), `webhook`
//!   (http(s) URL); other fields are ignored. → **200**
//!   `{"status":"success","message":"Call successfully queued.","call_id":"<uuid>","batch_id":null}`.
//!   Refusals (no call placed):
//!   - **429** (`rate429` fault, message "Too many requests…"), **500** "Internal server
//!     error." (`error5xx` fault) — drawn before validation, keyed like Twilio's on the number;
//!   - **400** naming the field: `phone_number` missing, not a number, listed in
//!     [`CarrierConfig::invalid`] or equal to `from`; `task or pathway_id` missing; `from`,
//!     `webhook`, `max_duration` (> 0), `dispositions`, `metadata`, `request_data`,
//!     `voicemail` or a flag of the wrong type; a body that is not a JSON object;
//!   - **429** over a plan cap ([`BlandFake::concurrency_cap`]: live Bland calls;
//!     [`BlandFake::hourly_cap`] / [`BlandFake::daily_cap`]: Bland calls created in the last
//!     rolling 60 min / 24 h, simulated), message "Concurrency limit reached…", "Hourly limit
//!     reached…", "Daily limit reached…" (what the client's `is_plan_limit` recognises).
//!   - With the `ambiguous` fault the call **is** placed but the answer is 500.
//! - `GET /v1/calls/{id}` → **200** the call object at the current simulated instant, or
//!   **404** "Call not found" (also for a Twilio SID).
//! - `GET /v1/calls` → **200** `{"total_count":N,"count":n,"calls":[…]}` (call objects without
//!   `transcripts` / `concatenated_transcript`). Filters: `to_number`, `from_number`
//!   (normalised like `phone_number`), `start_date` / `end_date` (`YYYY-MM-DD`, the UTC day
//!   of `created_at`, both inclusive), `completed` (`true`/`false`). Order: `ascending`
//!   (default `false`: newest first; calls created at the same instant keep creation order).
//!   Then the index window `from` (inclusive, default 0) … `to` (exclusive, default the end)
//!   over the filtered, sorted list, then at most `limit` (default 1000). `page`, `sort_by`
//!   and other parameters are ignored, as Bland ignores `page`. `total_count` counts every
//!   match. A bad date, index, flag or `limit=0` → **400** naming the parameter.
//! - `POST /v1/calls/{id}/stop` ends a live call at the current simulated instant (answered →
//!   `completed` with the talk time so far, else `canceled`), the ledger records the end and
//!   the post-call webhook is sent → **200** `{"status":"success","message":"Call ended
//!   successfully."}`. An unknown, Twilio or already ended call → **404**
//!   `{"status":"error","message":"SID not found for the given c_id.",…}` (Bland's status code
//!   is undocumented; 404 lets the client treat it as "not live"). Works for
//!   [`CarrierConfig::never_ends`] numbers.
//! - `GET /v1/calls/active` needs `x-bland-org-id` = [`BlandFake::org_id`] (400 without, 403
//!   for another) → **200** `{"data":[{call_id,user_id,from,to,objective,pathway_id,
//!   start_time,international:"false",status:"QUEUED"|"IN_PROGRESS",timestamp:"<epoch
//!   ms>"}],"errors":null}` for the live Bland calls.
//!
//! Call object: `call_id`, `c_id`, `call_length` (**minutes**, float; null while live),
//! `batch_id` (null), `to`, `from`, `completed`, `created_at` (`…+00:00`), `inbound` (false),
//! `queue_status` (`new` for the first half of the wait before dialing, `queued`,
//! `allocated` while dialing, `started` from ringing on, `complete`), `max_duration`,
//! `error_message` (set for `failed`), `variables` (with `metadata`), `answered_by` (only with
//! `answered_by_enabled`, once ended: `human`, `unknown` ([`BlandFake::unknown_answer`]),
//! `voicemail`, `no-answer`, else null), `record`, `recording_url` (answered calls with
//! `record`), `metadata`, `summary`, `price` (USD, `call_length` ×
//! [`BlandFake::price_per_minute`], at least $0.015), `started_at` (when answered, else when
//! dialing started; `…Z`), `call_ended_by` (`ASSISTANT`/`USER`, answered calls),
//! `transferred_to` ([`BlandFake::transfer_number`] when the tag contains `transfer`),
//! `pathway_tags` (`[]`), `status` (null while live, then `completed` (human or voicemail),
//! `busy`, `no-answer`, `failed`, `canceled`), `pathway_id`, `task`, `voice`, `request_data`,
//! `concatenated_transcript` and `transcripts` (not in the list), `corrected_duration`
//! (**seconds as a string**), `end_at` (`started_at` + `max_duration`: when the call would be
//! cut), `disposition_tag` (answered calls: a seeded pick from the request's `dispositions`;
//! null when none were given), and a few other fields as null. `call_length` and
//! `corrected_duration` cover `started_at` to the end, so `started_at` + the duration is the
//! ledger's `ended_at`. Bland calls ring at most 60 s (Bland has no ring-timeout field).
//!
//! Webhooks: when a call with `webhook` ends (plus up to [`BlandFake::answered_by_delay`]
//! with `answered_by_enabled`), one POST of the full call object, `Content-Type:
//! application/json`, `X-Webhook-Signature` = lower-case hex HMAC-SHA256 of the raw body
//! with [`BlandFake::webhook_secret`] (`outdial_providers::bland::webhook::sign`); with
//! probability [`BlandFake::second_webhook`] a second POST 30–60 simulated seconds later with
//! the same fields plus `corrected_transcript`. A POST answered non-2xx or whose connection
//! fails is re-sent once, one simulated second later. Faults per webhook: `lose`,
//! `duplicate`, `delay` as for Twilio; `reorder` writes the body's keys in another order and
//! holds a first webhook back until after the second. Counted in [`CarrierStats`] with the
//! Twilio callbacks.
//!
//! Past calls: [`Carrier::insert_past_calls`] adds finished calls "made by an old system"
//! ([`PastCall`]: Bland or Twilio), listed and fetched by their API but not in the ledger or
//! the stats, and never sent as webhooks.
//!
//! ## Example
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use outdial_carrier::{start, CarrierConfig};
//! use outdial_clock::ScaledClock;
//! use std::sync::Arc;
//! let clock = Arc::new(ScaledClock::starting_now(chrono::Utc::now(), 1000.0)?);
//! let config = CarrierConfig { seed: 42, faults: "lose=0.1".parse()?, ..Default::default() };
//! let carrier = start(config, clock, "127.0.0.1:0".parse()?).await?;
//! println!("Twilio base URL: {}", carrier.base_url());
//! println!("[bland] api_base = {}", carrier.bland_base_url());
//! // … run outdial against it …
//! carrier.write_ledger_csv("ledger.csv")?;
//! carrier.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
pub mod bland;
mod callbacks;
mod carrier;
mod config;
mod ledger;
pub mod outcome;
mod past;
pub mod rng;
mod sim;

pub use api::{API_VERSION, DEFAULT_TIMEOUT_S, DEFAULT_TIME_LIMIT_S, MAX_TIMEOUT_S};
pub use bland::{
    BlandFake, DEFAULT_BLAND_API_KEY, DEFAULT_BLAND_FROM, DEFAULT_BLAND_ORG_ID,
    DEFAULT_BLAND_WEBHOOK_SECRET,
};
pub use carrier::{
    router, start, Carrier, CarrierError, CarrierHandle, CarrierStats, CALLBACK_TIMEOUT,
};
pub use config::{
    CarrierConfig, FaultSpec, FaultSpecError, OutcomeMix, OutcomeMixError, DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
};
pub use ledger::{write_ledger, write_ledger_csv, LedgerEntry, LEDGER_CSV_HEADER};
pub use outcome::{sip_response_code, Answerer, FinalStatus};
pub use past::{PastCall, PastCallError, ProviderApi};
