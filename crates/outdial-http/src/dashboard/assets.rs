//! The vendored front-end files, compiled into the binary: htmx 2.0.11 and its SSE
//! extension 2.2.4 (npm packages `htmx.org` and `htmx-ext-sse`, both BSD Zero Clause;
//! their licences sit beside them in `crates/outdial-http/assets/`, see its README).
//!
//! `GET /dashboard/assets/{file}` needs no session (the files are public code). The
//! version is in each file name, so they are served `Cache-Control: public,
//! max-age=31536000, immutable`; an unknown name is 404.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where the page loads htmx from.
pub const HTMX_PATH: &str = "/dashboard/assets/htmx-2.0.11.min.js";
/// Where the page loads htmx's SSE extension from.
pub const SSE_PATH: &str = "/dashboard/assets/htmx-ext-sse-2.2.4.min.js";

const HTMX: &str = include_str!("../../assets/htmx-2.0.11/htmx.min.js");
const SSE: &str = include_str!("../../assets/htmx-ext-sse-2.2.4/sse.min.js");

/// One vendored file by name.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let body = match file.as_str() {
        "htmx-2.0.11.min.js" => HTMX,
        "htmx-ext-sse-2.2.4.min.js" => SSE,
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
