//! `X-Twilio-Signature`: computing and verifying Twilio's webhook signature.
//!
//! Algorithm (https://www.twilio.com/docs/usage/security, "Explore the algorithm yourself"):
//! take the full URL (scheme through query string); for a form POST append every parameter
//! as name then value, keys sorted in byte order and, for a repeated key, its distinct values
//! sorted in byte order (as twilio-python and twilio-node do); HMAC-SHA1 with the auth token;
//! base64. JSON bodies are signed over the URL alone, which carries `bodySHA256` (lowercase hex
//! SHA-256 of the raw body).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Computes the signature Twilio sends for a request to `url` with form `params`
/// (name, value pairs in any order, repeats allowed). Returns base64 of HMAC-SHA1.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut data = String::from(url);
    for key in keys {
        let mut values: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            data.push_str(key);
            data.push_str(v);
        }
    }
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
