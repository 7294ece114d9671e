//! Twilio Programmable Voice adapter.
//!
//! - [`client`]: [`TwilioClient`], the [`crate::Provider`] over Twilio's 2010-04-01 REST API
//!   (create, fetch and list calls), configured by [`TwilioConfig`];
//! - [`campaign`]: which campaign settings Twilio carries out, and their form fields;
//! - [`log`]: the call log read for backfill ([`crate::calllog::CallLog`]);
//! - [`signature`]: `X-Twilio-Signature` computation and verification (form and JSON bodies);
//! - [`webhook`]: status-callback form bodies parsed into [`outdial_core::CallEvent`]s.
//!
//! Facts and test vectors: `reference/telephony-apis.md` §1–4; API description: twilio-oai
//! `spec/json/twilio_api_v2010.json`.

pub mod campaign;
pub mod client;
pub mod log;
pub mod signature;
pub mod webhook;

pub use client::{
    is_valid_account_sid, TwilioClient, TwilioConfig, TwilioConfigError, DEFAULT_API_BASE,
    DEFAULT_REQUEST_TIMEOUT, MAX_LIST_PAGES, STATUS_CALLBACK_EVENTS,
};
pub use signature::{body_sha256_hex, compute_signature, verify_form, verify_json};
pub use webhook::{
    parse_status_callback, parse_status_callback_body, StatusCallback, WebhookError,
};
