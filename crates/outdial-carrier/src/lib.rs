//! # outdial-carrier
//!
//! A fake carrier that speaks the part of Twilio's 2010 REST API outdial uses, runs every call
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
