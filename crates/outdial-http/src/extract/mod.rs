//! Extractors: what a handler gets only once the request passed a check.
//! - [`ApiKey`]: `Authorization: Bearer <key>` with a configured key (401 otherwise);
//! - [`TwilioCallback`]: a Twilio status callback whose `X-Twilio-Signature` verified over
//!   the configured public URL (403/413/400 otherwise; see [`callback`]);
//! - [`PathId`]: a numeric id in the path (`/leads/{id}`), 400 naming the parameter;
//! - [`JsonBody`]: a JSON body read through [`crate::guard::LimitedBody`], 400 in the
//!   [`crate::ApiError`] shape when it does not parse;
//! - [`ApiQuery`]: a query string, 400 in the [`crate::ApiError`] shape when it does not
//!   read.

mod api_key;
pub mod callback;
mod json;
mod path;
mod query;

pub use api_key::ApiKey;
pub use callback::TwilioCallback;
pub use json::{parse_json, JsonBody, JsonShape};
pub use path::{PathId, PathIdKind};
pub use query::ApiQuery;
