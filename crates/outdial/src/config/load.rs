//! Reading the layers without ever echoing a secret: secrets from the environment are taken
//! as text (figment would parse `987654321987` as a number and `"x"` as `x`), a TOML syntax
//! error is reported by line and column without the source excerpt, and figment's
//! extraction errors are rewritten without the offending value.

use figment::error::{Actual, Kind};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use std::path::Path;

/// The environment variables' prefix; nested keys use `__` (`OUTDIAL_TWILIO__AUTH_TOKEN`).
pub const ENV_PREFIX: &str = "OUTDIAL_";

/// Settings whose values are secrets (key paths). Read from the environment as text, never
/// parsed; and scrubbed from any configuration error.
pub const SECRET_SETTINGS: &[&str] = &[
    "database",
    "twilio.auth_token",
    "bland.api_key",
    "bland.webhook_secret",
    "alerts.chat_webhook_url",
    "alerts.email.smtp_url",
    "alerts.email.password",
    "crm.webhook_url",
    "crm.bearer_token",
];

/// The admin API keys: a list of secrets.
pub const API_KEYS: &str = "api_keys";

/// `OUTDIAL_*` variables that belong to other readers and are not settings.
pub const NOT_SETTINGS: &[&str] = &["CONFIG", "TEST_POSTGRES_URL", "CARRIER_AUTH_TOKEN"];

/// The figment environment provider for every setting except the secrets (which
/// [`secret_env`] reads).
pub fn settings_env() -> figment::providers::Env {
    let mut ignored: Vec<&str> = NOT_SETTINGS.to_vec();
    ignored.extend_from_slice(SECRET_SETTINGS);
    ignored.push(API_KEYS);
    figment::providers::Env::prefixed(ENV_PREFIX)
        .split("__")
        .ignore(&ignored)
}

/// One secret from the environment, as text.
struct SecretEnv {
    /// Key path (`twilio.auth_token`).
    path: &'static str,
    value: Value,
}

impl Provider for SecretEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable (secret, read as text)").interpolater(
            |_: &Profile, keys: &[&str]| {
                format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase())
            },
        )
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        match figment::util::nest(self.path, self.value.clone()) {
            Value::Dict(_, dict) => Ok(Profile::Default.collect(dict)),
            _ => Err(figment::Error::from("secret setting path is not a key")),
        }
    }
}

/// The secrets set in the environment, each as a provider to merge after
/// [`settings_env`]. Names match as figment's do (case-insensitive, `__` for nesting). A
/// secret is the variable's exact text; `OUTDIAL_API_KEYS` is one key, or, when it starts
/// with `[`, a list in figment's syntax (`["key1","key2"]`; quote keys there, as an unquoted
/// element is read as figment reads it: trimmed, a number taken as its digits).
pub fn secret_env() -> Vec<impl Provider> {
    let mut wanted: Vec<&'static str> = SECRET_SETTINGS.to_vec();
    wanted.push(API_KEYS);
    let env = figment::providers::Env::prefixed(ENV_PREFIX)
        .split("__")
        .only(&wanted);
    let mut out = Vec::new();
    for (key, raw) in env.iter() {
        let Some(path) = wanted.iter().find(|p| key.as_str().eq_ignore_ascii_case(p)) else {
            continue;
        };
        let value = if *path == API_KEYS {
            if raw.trim_start().starts_with('[') {
                raw.parse::<Value>().unwrap_or_else(|e| match e {})
            } else {
                Value::from(vec![raw])
            }
        } else {
            Value::from(raw)
        };
        out.push(SecretEnv { path, value });
    }
    out
}

/// Checks the TOML syntax of `file`, so that a syntax error is reported without the excerpt
/// of the line (which may hold a secret) that the `toml` crate's message includes.
pub fn check_toml_syntax(file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading configuration file {}: {e}", file.display()))?;
    if let Err(e) = text.parse::<toml::Table>() {
        let at = match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {column}")
            }
            None => String::new(),
        };
        anyhow::bail!(
            "configuration file {} is not valid TOML{at}: {}",
            file.display(),
            e.message().trim()
        );
    }
    Ok(())
}

/// The type of a value, without the value.
fn kind_of(a: &Actual) -> Actual {
    let name = match a {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a floating-point number",
        Actual::Char(_) => "a character",
        Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        // Unit, Seq, Map, Other(type name), …: no value in them.
        other => return other.clone(),
    };
    Actual::Other(name.into())
}

/// `kind` without any value it carries (figment prints the value found).
fn without_value(kind: Kind) -> Kind {
    match kind {
        Kind::InvalidType(a, exp) => Kind::InvalidType(kind_of(&a), exp),
        Kind::InvalidValue(a, exp) => Kind::InvalidValue(kind_of(&a), exp),
        Kind::Unsupported(a) => Kind::Unsupported(kind_of(&a)),
        Kind::UnsupportedKey(a, exp) => Kind::UnsupportedKey(kind_of(&a), exp),
        Kind::UnknownVariant(_, exp) => Kind::Message(format!(
            "unknown variant, expected one of: {}",
            exp.join(", ")
        )),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => {
            Kind::Message("integer out of range".into())
        }
        other => other,
    }
}

/// Every secret value (and URL password) present in `fig`, for scrubbing messages.
fn planted_secrets(fig: &figment::Figment) -> Vec<String> {
    fn leaves(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(_, s) => out.push(s.clone()),
            Value::Num(..) => {
                if let Some(n) = v.to_u128() {
                    out.push(n.to_string());
                } else if let Some(n) = v.to_i128() {
                    out.push(n.to_string());
                }
            }
            Value::Char(_, c) => out.push(c.to_string()),
            Value::Bool(..) => {}
            Value::Array(_, a) => a.iter().for_each(|v| leaves(v, out)),
            Value::Dict(_, d) => d.values().for_each(|v| leaves(v, out)),
            Value::Empty(..) => {}
        }
    }
    let mut found = Vec::new();
    for path in SECRET_SETTINGS.iter().chain([&API_KEYS]) {
        if let Ok(v) = fig.find_value(path) {
            leaves(&v, &mut found);
        }
    }
    let passwords: Vec<String> = found
        .iter()
        .filter_map(|s| {
            let u = url::Url::parse(s.trim()).ok()?;
            let p = u.password()?.to_owned();
            let decoded = percent_decode(&p);
            Some([p, decoded])
        })
        .flatten()
        .collect();
    found.extend(passwords);
    found.retain(|s| s.trim().len() >= 4);
    // Longest first, so a URL is replaced whole before its password.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The message of a failed extraction: figment's, each error on a line, without the values
/// found, and with any secret of `fig` that still shows replaced by `***`.
pub fn describe_error(fig: &figment::Figment, err: figment::Error) -> String {
    let mut lines = Vec::new();
    for mut e in err {
        e.kind = without_value(e.kind);
        lines.push(e.to_string());
    }
    let mut message = lines.join("; ");
    for secret in planted_secrets(fig) {
        message = message.replace(&secret, super::secret::REDACTED_PASSWORD);
    }
    message
}
