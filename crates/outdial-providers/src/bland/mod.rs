//! Bland.ai adapter: AI voice agents placed over Bland's v1 REST API.
//!
//! - [`client`]: [`BlandClient`], the [`crate::Provider`] (create, fetch, list, stop calls),
//!   configured by [`BlandConfig`]; the failure classification table;
//! - [`campaign`]: which campaign settings Bland carries out, and their body fields;
//! - [`call`]: Bland's call object and how its status, `answered_by`, units (`call_length` in
//!   minutes, `corrected_duration` in seconds) and times map to outdial's;
//! - [`log`]: the call log read for backfill ([`crate::calllog::CallLog`]);
//! - [`plan`]: Bland's plans and their published call limits;
//! - [`webhook`]: the post-call webhook: signature, parsing, events, dedupe keys.
//!
//! Facts, units and pitfalls: `reference/bland.md` (supersedes §6 of
//! `reference/telephony-apis.md`); API docs: <https://docs.bland.ai/api-v1/post/calls>,
//! <https://docs.bland.ai/api-v1/get/calls-id>, <https://docs.bland.ai/api-v1/get/calls>,
//! <https://docs.bland.ai/api-v1/post/calls-id-stop>,
//! <https://docs.bland.ai/tutorials/webhook-signing>.

pub mod call;
pub mod campaign;
pub mod client;
pub mod log;
pub mod plan;
pub mod webhook;

pub use client::{
    attempt_from_callback, create_body, BlandClient, BlandConfig, BlandConfigError, BlandErrorBody,
    DEFAULT_API_BASE, DEFAULT_REQUEST_TIMEOUT, LIST_PAGE_SIZE, MAX_LIST_PAGES,
};
pub use webhook::{
    dedupe_key, parse_call_webhook, verify_signature, BlandCallResult, BlandCallback,
    BlandStreamEvent, WebhookError,
};
