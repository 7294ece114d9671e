//! Dashboard sessions: the admin API key exchanged for a session cookie, and CSRF tokens.
//!
//! - `GET /dashboard/login` shows the form and sets a short-lived `outdial_login` cookie
//!   holding a random token that the form repeats (a double-submit token: a page of
//!   another site cannot read the cookie, so it cannot post a matching form);
//! - `POST /dashboard/login` with `key` (an admin API key, compared in constant time) and
//!   the token opens a session: cookie `outdial_session` (random 256-bit id, `HttpOnly`,
//!   `SameSite=Strict`, `Path=/dashboard`, `Secure` when `public_url` is `https`, no
//!   `Max-Age`: it ends with the browser; the server forgets it after [`SESSION_TTL`]);
//! - every state-changing form carries the session's CSRF token in a hidden `csrf` field
//!   ([`Session::check_csrf`], 403 otherwise);
//! - `POST /dashboard/logout` forgets the session.
//!
//! Sessions live in this process's memory ([`Sessions`]): a restart, or another instance of
//! a fleet, asks for the key again. At most [`MAX_SESSIONS`] are kept; beyond it the oldest
//! is forgotten.

use crate::guard::RejectionKind;
use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use rand::RngCore;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "outdial_session";
/// Name of the login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "outdial_login";
/// How long the server keeps a session after it was opened: 12 hours (a shift).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once.
pub const MAX_SESSIONS: usize = 1_000;

/// One open session.
#[derive(Debug, Clone)]
struct Entry {
    csrf: String,
    opened: Instant,
}

/// The open sessions of this process, by session id.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Entry>>,
}

/// 32 random bytes from the OS, hex-encoded.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether two tokens are equal, in constant time.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

impl Sessions {
    /// Opens a session; answers its id and CSRF token.
    fn open(&self) -> (String, String) {
        let id = random_token();
        let csrf = random_token();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, e| e.opened.elapsed() < SESSION_TTL);
        if open.len() >= MAX_SESSIONS {
            if let Some(oldest) = open
                .iter()
                .min_by_key(|(_, e)| e.opened)
                .map(|(k, _)| k.clone())
            {
                open.remove(&oldest);
            }
        }
        open.insert(
            id.clone(),
            Entry {
                csrf: csrf.clone(),
                opened: Instant::now(),
            },
        );
        (id, csrf)
    }

    /// The CSRF token of session `id` while it is open.
    fn csrf_of(&self, id: &str) -> Option<String> {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(id)
            .filter(|e| e.opened.elapsed() < SESSION_TTL)
            .map(|e| e.csrf.clone())
    }

    fn close(&self, id: &str) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// Extractor: a request with an open dashboard session. Without one, the answer is a
/// redirect to `/dashboard/login` (303).
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl Session {
    /// Checks a form's `csrf` field against the session's token (403 otherwise).
    ///
    /// # Errors
    /// [`ApiError`] 403 `the form's CSRF token does not match this session`.
    pub fn check_csrf(&self, given: &str) -> Result<(), ApiError> {
        if same_token(&self.csrf, given) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "the form's CSRF token does not match this session: reload the page",
            ))
        }
    }
}

impl Session {
    /// Reads a form body into `T` after checking its `csrf` field (the fields of `T` are
    /// the form's others; unknown fields are ignored).
    ///
    /// # Errors
    /// 403 for a missing or wrong token, 400 for a form that cannot be read.
    pub fn checked_form<T: serde::de::DeserializeOwned>(&self, body: &[u8]) -> Result<T, ApiError> {
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            csrf: String,
        }
        let token: Token = super::form(body)?;
        self.check_csrf(&token.csrf)?;
        super::form(body)
    }
}

/// The rejection of [`Session`]: to the login page.
#[derive(Debug)]
pub struct LoginFirst;

impl IntoResponse for LoginFirst {
    fn into_response(self) -> Response {
        Redirect::to("/dashboard/login").into_response()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = LoginFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let csrf = jar
            .get(SESSION_COOKIE)
            .and_then(|c| state.sessions.csrf_of(c.value()))
            .ok_or(LoginFirst)?;
        Ok(Session { csrf })
    }
}

/// A cookie of the dashboard: `HttpOnly`, `SameSite=Strict`, path `/dashboard`, `Secure`
/// when the public URL is https.
fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/dashboard")
        .secure(state.public_url.starts_with("https://"))
        .build()
}

/// The login form's token: a new one in a cookie, repeated in the form.
pub(crate) fn login_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let token = random_token();
    (jar.add(cookie(state, LOGIN_COOKIE, token.clone())), token)
}

/// Whether `key` is one of the configured admin API keys (constant time per key).
fn known_key(state: &AppState, key: &str) -> bool {
    state
        .api_keys
        .iter()
        .any(|k| same_token(k.expose_secret(), key))
}

/// A login attempt: the form's token must match its cookie and the key must be known.
///
/// # Errors
/// 403 for a token that does not match (a form from elsewhere), 401 for an unknown key
/// (counted as a refused API key).
pub(crate) fn log_in(
    state: &AppState,
    jar: CookieJar,
    key: &str,
    token: &str,
) -> Result<CookieJar, ApiError> {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| same_token(&e, token)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the login form's token does not match: open /dashboard/login again",
        ));
    }
    if !known_key(state, key.trim()) {
        state.rejections.record(
            RejectionKind::BadApiKey,
            "dashboard login with an unknown key rejected",
            "/dashboard/login",
        );
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API key"));
    }
    let (id, _csrf) = state.sessions.open();
    Ok(jar
        .remove(Cookie::build(LOGIN_COOKIE).path("/dashboard"))
        .add(cookie(state, SESSION_COOKIE, id)))
}

/// Forgets the request's session and clears its cookie.
pub(crate) fn log_out(state: &AppState, jar: CookieJar) -> CookieJar {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        state.sessions.close(c.value());
    }
    jar.remove(Cookie::build(SESSION_COOKIE).path("/dashboard"))
}
