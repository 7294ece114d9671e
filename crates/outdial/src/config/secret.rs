//! Secret-typed settings: how a secret is read (any text, including all digits), kept
//! ([`SecretString`], [`SecretUrl`]) and shown (never: `[redacted]`, or a URL with its
//! password replaced by `***`).

use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// What replaces a password (URL userinfo or a `password` query parameter) when a URL is
/// shown.
pub const REDACTED_PASSWORD: &str = "***";

/// A location that may carry a credential: a SQLite file path, or a URL such as
/// `postgres://user:password@host:5432/outdial` or `smtps://user:password@mail.example.com`.
///
/// The text is held as a [`SecretString`]; `Display`, `Debug` and `Serialize` show
/// [`redact_location`]'s form (`postgres://user:***@host:5432/outdial`), and only
/// [`SecretUrl::expose_secret`] gives the text itself, for the code that connects.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// Wraps `location` (a path or a URL, possibly with a password).
    pub fn new(location: impl Into<String>) -> Self {
        SecretUrl(SecretString::from(location.into()))
    }

    /// The location as configured, password included. Use it only to connect.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The location as it may be shown: see [`redact_location`].
    pub fn redacted(&self) -> String {
        redact_location(self.expose_secret())
    }
}

impl From<String> for SecretUrl {
    fn from(s: String) -> Self {
        SecretUrl::new(s)
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> Self {
        SecretUrl::new(s)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({:?})", self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SecretUrl(SecretText::deserialize(d)?.0))
    }
}

/// Query parameters whose value is a credential (libpq and sqlx read `password`).
fn is_secret_param(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("token")
}

/// `location` as it may be printed: a path unchanged; a URL with the password of its
/// userinfo and the values of `password`-like query parameters replaced by `***`
/// (`postgres://user:***@host/db?sslmode=require&password=***`). A URL the `url` crate
/// cannot parse (a bad port, say) keeps only its scheme and what follows the last `@`
/// before any query: `postgres://***@host:99999/db`.
pub fn redact_location(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        // A file path: no credential.
        return location.to_owned();
    };
    match url::Url::parse(location.trim()) {
        Ok(mut u) => {
            let mut changed = false;
            if u.password().is_some() {
                changed |= u.set_password(Some(REDACTED_PASSWORD)).is_ok();
            }
            if u.query_pairs().any(|(k, _)| is_secret_param(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_param(&k) {
                            REDACTED_PASSWORD.to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
                changed = true;
            }
            if changed {
                u.to_string()
            } else {
                location.to_owned()
            }
        }
        Err(_) => {
            let (userinfo, host) = match rest.rsplit_once('@') {
                Some((_, host)) => ("***@", host),
                None => ("", rest),
            };
            let (host, query) = match host.split_once('?') {
                Some((h, _)) => (h, "?***"),
                None => (host, ""),
            };
            format!("{scheme}://{userinfo}{host}{query}")
        }
    }
}

/// A secret read from the configuration: any text, or an integer taken as its decimal digits
/// (a TOML `auth_token = 987654321987`, or an array element figment parsed as a number).
/// Other types are refused with a message that names the type found, never the value.
struct SecretText(SecretString);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (a secret)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v)))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v.to_string())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v.to_string())))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v.to_string())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v.to_string())))
    }

    // The refusals below name the type only: serde's defaults would print the value.
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretText, E> {
        Err(E::invalid_type(
            Unexpected::Other("a floating-point number (quote the secret)"),
            &self,
        ))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretText, E> {
        Err(E::invalid_type(
            Unexpected::Other("a boolean (quote the secret)"),
            &self,
        ))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<SecretText, E> {
        Ok(SecretText(SecretString::from(v.to_string())))
    }
}

/// Deserializes a required secret ([`SecretText`]).
pub fn de_secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    Ok(SecretText::deserialize(d)?.0)
}

/// Deserializes an optional secret ([`SecretText`]).
pub fn de_opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<SecretText>::deserialize(d)?.map(|s| s.0))
}

/// Deserializes a list of secrets ([`SecretText`] each).
pub fn de_secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(Vec::<SecretText>::deserialize(d)?
        .into_iter()
        .map(|s| s.0)
        .collect())
}

/// Serializes a secret as `[redacted]` (or `""` when empty, so `config check` shows an unset
/// secret as unset).
pub fn redact<S: Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if v.expose_secret().is_empty() {
        ""
    } else {
        "[redacted]"
    })
}

/// [`redact`] for an optional secret.
pub fn redact_opt<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(v) => redact(v, s),
    }
}

/// Serializes a list of secrets as as many `[redacted]`.
pub fn redact_list<S: Serializer>(v: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for _ in v {
        seq.serialize_element("[redacted]")?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_shown_without_passwords() {
        for (given, shown) in [
            ("outdial.db", "outdial.db"),
            ("/var/lib/outdial/o@1.db", "/var/lib/outdial/o@1.db"),
            ("sqlite://outdial.db", "sqlite://outdial.db"),
            (
                "postgres://user:pw@host:5432/db",
                "postgres://user:***@host:5432/db",
            ),
            ("postgres://user@host/db", "postgres://user@host/db"),
            (
                "postgres://host/db?sslmode=require&password=pw",
                "postgres://host/db?sslmode=require&password=***",
            ),
            (
                "smtps://u:p%40ss@mail.example.com",
                "smtps://u:***@mail.example.com",
            ),
            (
                "postgres://u:pw@host:99999/db",
                "postgres://***@host:99999/db",
            ),
            ("postgres://u:p/w@host/db?x=1", "postgres://***@host/db?***"),
        ] {
            assert_eq!(redact_location(given), shown, "{given}");
        }
    }
}
