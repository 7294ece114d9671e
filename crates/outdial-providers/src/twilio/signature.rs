//! `X-Twilio-Signature`: computing and verifying Twilio's webhook signature.
//!
//! Algorithm (<https://www.twilio.com/docs/usage/security>, "Explore the algorithm yourself"):
//! take the full URL (scheme through query string); for a form POST append every parameter
//! as name then value, keys sorted in byte order and, for a repeated key, its distinct values
//! sorted in byte order (as twilio-python and twilio-node do); HMAC-SHA1 with the auth token;
//! base64. JSON bodies are signed over the URL alone, which carries `bodySHA256` (lowercase hex
//! SHA-256 of the raw body).
//!
//! Twilio signs voice callbacks over HTTPS without the port, and other callbacks with it, so
//! the verifiers accept a signature made over either the URL with its port removed or the URL
//! with the scheme's default port added (`:443` for `https`/`wss`, `:80` otherwise), as the
//! official SDKs do (twilio-python `RequestValidator.validate`, twilio-go `Validate`,
//! twilio-node `validateRequest`). Like twilio-node (which parses the URL with WHATWG `URL`),
//! they also try the WHATWG-normalised form of the URL, so a query holding a raw `'` matches a
//! signature made over `%27`. Comparisons are constant-time ([`subtle`]).
//!
//! The URL to verify against must be the public URL Twilio called (scheme and host from
//! configuration, path and query as received), not one rebuilt from the `Host` header alone.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Computes the signature Twilio sends for a request to `url` with form `params`
/// (name, value pairs in any order, repeats allowed). Returns base64 of HMAC-SHA1.
///
/// The URL is signed exactly as given: no port, credential or encoding normalisation (the
/// verifiers try the variants). For a JSON body pass the URL carrying `bodySHA256` and no
/// params.
///
/// Cost: O(n log n) in the number of params (one sort) and linear in their total length.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    sign(auth_token, url, &params_base(params))
}

/// The params part of the signed string: every distinct (name, value) pair, sorted by name
/// then value in byte order, each written as name then value.
///
/// Sorting the pairs once gives the order Twilio's SDKs use (keys in byte order, a repeated
/// key's distinct values in byte order), without a scan of all params per key, which made
/// the base quadratic in the number of keys.
fn params_base(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let len = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
    let mut data = String::with_capacity(len);
    for (k, v) in pairs {
        data.push_str(k);
        data.push_str(v);
    }
    data
}

/// base64 of HMAC-SHA1 over `url` followed by `params_base`.
fn sign(auth_token: &str, url: &str, params_base: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(url.as_bytes());
    mac.update(params_base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header_sig` has the shape of an `X-Twilio-Signature`: standard base64 of the
/// 20-byte HMAC-SHA1 (28 characters, one `=` of padding). A cheap check, made before a
/// request body is read: a header of another shape can never verify.
pub fn is_well_formed(header_sig: &str) -> bool {
    header_sig.len() == 28
        && base64::engine::general_purpose::STANDARD
            .decode(header_sig)
            .is_ok_and(|raw| raw.len() == 20)
}

/// Lowercase hex SHA-256 of `body`: the value Twilio puts in the `bodySHA256` query parameter
/// of a request with a JSON body.
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Verifies `header_sig` (the `X-Twilio-Signature` header) for a form-encoded request to
/// `url` with body `params` (decoded name, value pairs, repeats allowed).
///
/// `url` is the full public URL Twilio requested, scheme through query string. Returns `true`
/// when the signature matches the URL with its port removed or with the scheme's default port
/// added (and the same for the URL's WHATWG-normalised form). An empty or wrong signature
/// returns `false`. Never panics. Cost as for [`compute_signature`], once for the params and
/// once per URL variant (at most five) for the HMAC.
pub fn verify_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header_sig: &str,
) -> bool {
    if header_sig.is_empty() {
        return false;
    }
    // The params part is built once; every URL variant is signed over it. Evaluate every
    // candidate (no early exit), then combine.
    let base = params_base(params);
    url_candidates(url)
        .iter()
        .map(|candidate| ct_eq_str(&sign(auth_token, candidate, &base), header_sig))
        .fold(false, |acc, ok| acc | ok)
}

/// Verifies `header_sig` for a request with a JSON body (Twilio's `bodySHA256` scheme).
///
/// `url` is the full public URL Twilio requested, including the `bodySHA256` query parameter;
/// `raw_body` the body bytes exactly as received. Returns `true` only when (a) the signature
/// matches the URL with no params, in either port variant as for [`verify_form`], **and**
/// (b) [`body_sha256_hex`] of `raw_body` equals the URL's first `bodySHA256` value. A URL
/// without `bodySHA256`, an empty signature or a tampered body returns `false`.
pub fn verify_json(auth_token: &str, url: &str, raw_body: &[u8], header_sig: &str) -> bool {
    let Some(expected_hash) = query_param(url, "bodySHA256") else {
        return false;
    };
    let body_ok = ct_eq_str(&body_sha256_hex(raw_body), &expected_hash);
    let sig_ok = verify_form(auth_token, url, &[], header_sig);
    body_ok & sig_ok
}

/// Constant-time string equality (the length is not secret).
fn ct_eq_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// First value of query parameter `name` in `url` (form-decoded), if any.
fn query_param(url: &str, name: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (_, query) = without_fragment.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URLs a signature may have been computed over, the given one first, without repeats.
fn url_candidates(url: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    push(url.to_owned());
    push(remove_port(url));
    push(add_port(url));
    if let Ok(parsed) = url::Url::parse(url) {
        // WHATWG serialisation: percent-encodes `'` (and others) in the query and drops a
        // default port, as twilio-node's `new URL(...)` does.
        let whatwg = parsed.as_str().to_owned();
        if whatwg != url {
            push(remove_port(&whatwg));
            push(add_port(&whatwg));
        }
    }
    out
}

/// Where the pieces of an absolute URL's authority lie.
struct Authority<'a> {
    /// Everything up to and including `://` and any `user[:pass]@`.
    prefix: &'a str,
    /// The host (an IPv6 literal keeps its brackets).
    host: &'a str,
    /// The port digits, when present.
    port: Option<&'a str>,
    /// Path, query and fragment.
    rest: &'a str,
    /// Lowercased scheme.
    scheme: String,
}

fn split_authority(url: &str) -> Option<Authority<'_>> {
    let scheme_end = url.find("://")?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    let auth_start = scheme_end + 3;
    let auth_len = url[auth_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - auth_start);
    let authority = &url[auth_start..auth_start + auth_len];
    let rest = &url[auth_start + auth_len..];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    let prefix = &url[..auth_start + host_start];
    let (host, port) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(close) => {
                let host = &host_port[..=close];
                match host_port[close + 1..].strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None => (host, None),
                }
            }
            None => (host_port, None),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    let port = port.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host.is_empty() {
        return None;
    }
    Some(Authority {
        prefix,
        host,
        port,
        rest,
        scheme,
    })
}

/// `url` without its port (unchanged when it has none or is not an absolute URL).
fn remove_port(url: &str) -> String {
    match split_authority(url) {
        Some(a) if a.port.is_some() => format!("{}{}{}", a.prefix, a.host, a.rest),
        _ => url.to_owned(),
    }
}

/// `url` with the scheme's default port added (`:443` for `https`/`wss`, `:80` otherwise),
/// unchanged when it already has a port or is not an absolute URL.
fn add_port(url: &str) -> String {
    match split_authority(url) {
        Some(a) if a.port.is_none() => {
            let port = match a.scheme.as_str() {
                "https" | "wss" => 443,
                _ => 80,
            };
            format!("{}{}:{}{}", a.prefix, a.host, port, a.rest)
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    //! Vectors: official SDK unit tests, as recorded in `reference/telephony-apis.md` §3
    //! (twilio-python `tests/unit/test_request_validator.py`, twilio-node
    //! `spec/validation.spec.js`, twilio-go `client/request_validator_test.go`).

    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const BODY: &str = r#"{"property": "value", "boolean": true}"#;
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const DEFAULT_SIG: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// twilio-python / twilio-node default params.
    fn params() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    /// twilio-go params (two extra keys).
    fn go_params() -> Vec<(String, String)> {
        p(&[
            ("Digits", "1234"),
            ("CallSid", "CA1234567890ABCDE"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
            ("From", "+14158675309"),
            ("ReasonConferenceEnded", "test"),
            ("Reason", "Participant"),
        ])
    }

    fn url_with_body() -> String {
        format!("{URL}&bodySHA256={BODY_HASH}")
    }

    // ---- A. twilio-python ----

    #[test]
    fn v1_compute_signature_and_validate() {
        assert_eq!(compute_signature(TOKEN, URL, &params()), DEFAULT_SIG);
        assert!(verify_form(TOKEN, URL, &params(), DEFAULT_SIG));
    }

    #[test]
    fn v1_param_order_does_not_matter() {
        let mut reversed = params();
        reversed.reverse();
        assert_eq!(compute_signature(TOKEN, URL, &reversed), DEFAULT_SIG);
    }

    #[test]
    fn v2_body_hash() {
        assert_eq!(body_sha256_hex(BODY.as_bytes()), BODY_HASH);
    }

    #[test]
    fn v3_duplicate_values_sorted_and_deduped() {
        let dup = p(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            compute_signature(TOKEN, URL, &dup),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
        assert!(verify_form(
            TOKEN,
            URL,
            &dup,
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        ));
        // Same as the QueryDict form body, decoded.
        let decoded: Vec<(String, String)> = serde_urlencoded::from_str(
            "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
        )
        .unwrap();
        assert!(verify_form(
            TOKEN,
            URL,
            &decoded,
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        ));
    }

    #[test]
    fn v4_removes_port_on_https() {
        let url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(verify_form(TOKEN, url, &params(), DEFAULT_SIG));
    }

    #[test]
    fn v5_keeps_port_on_http() {
        let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature(TOKEN, url, &params()),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        assert!(verify_form(
            TOKEN,
            url,
            &params(),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        ));
    }

    #[test]
    fn v6_adds_port_443_on_https() {
        assert_eq!(
            compute_signature(
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &params()
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert!(verify_form(
            TOKEN,
            URL,
            &params(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
    }

    #[test]
    fn v7_adds_port_80_on_http() {
        let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature(
                TOKEN,
                "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                &params()
            ),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
        assert!(verify_form(
            TOKEN,
            url,
            &params(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
    }

    #[test]
    fn v8_json_body_validates() {
        let url = url_with_body();
        assert_eq!(
            compute_signature(TOKEN, &url, &[]),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        );
        assert!(verify_json(
            TOKEN,
            &url,
            BODY.as_bytes(),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    // ---- B. twilio-node ----

    #[test]
    fn n1_empty_json_body_validates_only_with_port_added() {
        let hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(body_sha256_hex(b"{}"), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        let sig = "Ldidvp12m26NI7eqEvxnEpkd9Hc=";
        // The URL as given does not produce it; the default-port variant does.
        assert_ne!(compute_signature(TOKEN, &url, &[]), sig);
        let with_port = url.replacen("mycompany.com", "mycompany.com:443", 1);
        assert_eq!(compute_signature(TOKEN, &with_port, &[]), sig);
        assert!(verify_json(TOKEN, &url, b"{}", sig));
    }

    #[test]
    fn n2_json_body_with_only_sha_param() {
        let url = format!("https://mycompany.com/myapp.php?bodySHA256={BODY_HASH}");
        assert!(verify_json(
            TOKEN,
            &url,
            BODY.as_bytes(),
            "y77kIzt2vzLz71DgmJGsen2scGs="
        ));
    }

    #[test]
    fn n3_url_with_credentials() {
        let url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute_signature(TOKEN, url, &params()),
            "CukzLTc1tT5dXEDIHm/tKBanW10="
        );
        assert!(verify_form(
            TOKEN,
            url,
            &params(),
            "CukzLTc1tT5dXEDIHm/tKBanW10="
        ));
    }

    #[test]
    fn n4_url_with_just_username() {
        let url = "https://user@mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verify_form(
            TOKEN,
            url,
            &params(),
            "2YRLlVAflCqxaNicjMpJcSTgzSs="
        ));
    }

    #[test]
    fn n5_url_with_credentials_by_adding_port() {
        let url = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            add_port(url),
            "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2"
        );
        assert!(verify_form(
            TOKEN,
            url,
            &params(),
            "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="
        ));
    }

    #[test]
    fn n6_special_characters() {
        let sig = "TfZzewPq8wqrGlMfyAud8+/IvJ0=";
        // As received on the wire: `'` already percent-encoded.
        let encoded = "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It%27s+amazing";
        assert_eq!(compute_signature(TOKEN, encoded, &params()), sig);
        assert!(verify_form(TOKEN, encoded, &params(), sig));
        // A raw `'` validates too, through the WHATWG-normalised variant (as in twilio-node).
        let raw = "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing";
        assert!(verify_form(TOKEN, raw, &params(), sig));
    }

    #[test]
    fn n7_array_parameter_either_order() {
        let sig = "83O6e2vORAoJHUNzJjDWN1jz+BA=";
        let a = p(&[
            ("MessagingBinding.Address", "+1325xxxxxxx"),
            ("MessagingBinding.Address", "+1415xxxxxxx"),
        ]);
        let b = p(&[
            ("MessagingBinding.Address", "+1415xxxxxxx"),
            ("MessagingBinding.Address", "+1325xxxxxxx"),
        ]);
        assert!(verify_form(TOKEN, URL, &a, sig));
        assert!(verify_form(TOKEN, URL, &b, sig));
    }

    #[test]
    fn n8_multiple_params_and_values() {
        let multi = p(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert!(verify_form(
            TOKEN,
            URL,
            &multi,
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        ));
    }

    #[test]
    fn n9_port_variants() {
        let cases = [
            (
                "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                DEFAULT_SIG,
            ),
            (
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            ),
            (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
            (
                "http://mycompany.com/myapp.php?foo=1&bar=2",
                "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            ),
        ];
        for (url, sig) in cases {
            assert!(verify_form(TOKEN, url, &params(), sig), "{url}");
        }
    }

    // ---- C. twilio-go ----

    const GO_SIG: &str = "vOEb5UThFn24KEfnOFLQY2AE5FY=";

    #[test]
    fn g1_validates() {
        assert_eq!(compute_signature(TOKEN, URL, &go_params()), GO_SIG);
        assert!(verify_form(TOKEN, URL, &go_params(), GO_SIG));
    }

    #[test]
    fn g2_https_with_port_validates() {
        let url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(verify_form(TOKEN, url, &go_params(), GO_SIG));
    }

    #[test]
    fn g3_http_without_port() {
        let url = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verify_form(
            TOKEN,
            url,
            &go_params(),
            "n2xBNyzSW7rfYStDtOFiFMv7qNo="
        ));
    }

    #[test]
    fn g4_http_with_port_via_remove_port() {
        let url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert!(verify_form(
            TOKEN,
            url,
            &go_params(),
            "n2xBNyzSW7rfYStDtOFiFMv7qNo="
        ));
    }

    #[test]
    fn g5_wrong_sort_order_fails() {
        assert!(!verify_form(
            TOKEN,
            URL,
            &go_params(),
            "95+Bu0JVPi0r/SsESZCVf0dWAjw="
        ));
    }

    #[test]
    fn g6_json_body() {
        let url = url_with_body();
        assert!(verify_json(
            TOKEN,
            &url,
            BODY.as_bytes(),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn g7_form_body() {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_str("property=value&boolean=true").unwrap();
        assert_eq!(
            compute_signature(TOKEN, URL, &form),
            "NBdBDr/T/lgjI+tlgpXjKZQZs/k="
        );
        assert!(verify_form(
            TOKEN,
            URL,
            &form,
            "NBdBDr/T/lgjI+tlgpXjKZQZs/k="
        ));
    }

    #[test]
    fn g8_only_sha_param() {
        let url = format!("https://mycompany.com/myapp.php?bodySHA256={BODY_HASH}");
        assert!(verify_json(
            TOKEN,
            &url,
            BODY.as_bytes(),
            "y77kIzt2vzLz71DgmJGsen2scGs="
        ));
    }

    // ---- D. Twilio docs worked example ----

    #[test]
    fn docs_worked_example() {
        let params = p(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675310"),
            ("Caller", "+14158675310"),
            ("CallSid", "CA1234567890ABCDE"),
        ]);
        let url = "https://example.com/myapp.php?foo=1&bar=2";
        assert!(verify_form(
            TOKEN,
            url,
            &params,
            "L/OH5YylLD5NRKLltdqwSvS0BnU="
        ));
        assert_eq!(
            body_sha256_hex(br#"{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}"#),
            "5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9"
        );
    }

    // ---- negatives ----

    #[test]
    fn wrong_signature_fails() {
        assert!(!verify_form(TOKEN, URL, &params(), "WRONG_SIGNATURE"));
        assert!(!verify_json(
            TOKEN,
            &url_with_body(),
            BODY.as_bytes(),
            "WRONG_SIGNATURE"
        ));
    }

    #[test]
    fn empty_signature_fails() {
        assert!(!verify_form(TOKEN, URL, &params(), ""));
        assert!(!verify_json(TOKEN, &url_with_body(), BODY.as_bytes(), ""));
    }

    #[test]
    fn wrong_token_fails() {
        assert!(!verify_form("54321", URL, &params(), DEFAULT_SIG));
    }

    #[test]
    fn tampered_param_fails() {
        let mut tampered = params();
        tampered[1].1 = "9999".into();
        assert!(!verify_form(TOKEN, URL, &tampered, DEFAULT_SIG));
        let mut added = params();
        added.push(("Extra".into(), "1".into()));
        assert!(!verify_form(TOKEN, URL, &added, DEFAULT_SIG));
        let mut removed = params();
        removed.pop();
        assert!(!verify_form(TOKEN, URL, &removed, DEFAULT_SIG));
    }

    #[test]
    fn tampered_url_fails() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert!(!verify_form(TOKEN, url, &params(), DEFAULT_SIG));
        let slash = "https://mycompany.com/myapp.php/?foo=1&bar=2";
        assert!(!verify_form(TOKEN, slash, &params(), DEFAULT_SIG));
    }

    #[test]
    fn tampered_body_fails() {
        let url = url_with_body();
        let sig = "a9nBmqA0ju/hNViExpshrM61xv4=";
        assert!(!verify_json(
            TOKEN,
            &url,
            br#"{"property": "value", "boolean": false}"#,
            sig
        ));
        assert!(!verify_json(TOKEN, &url, b"", sig));
    }

    #[test]
    fn json_body_without_body_sha256_fails() {
        // Signature over the bare URL is right, but there is no hash to check the body with.
        let sig = compute_signature(TOKEN, URL, &[]);
        assert!(verify_form(TOKEN, URL, &[], &sig));
        assert!(!verify_json(TOKEN, URL, BODY.as_bytes(), &sig));
    }

    #[test]
    fn json_signature_with_params_does_not_count() {
        // A form signature over the URL with params is not a JSON signature.
        let url = url_with_body();
        let sig = compute_signature(TOKEN, &url, &params());
        assert!(!verify_json(TOKEN, &url, BODY.as_bytes(), &sig));
    }

    #[test]
    fn port_helpers() {
        assert_eq!(
            remove_port("https://a.com:8443/x?y=1"),
            "https://a.com/x?y=1"
        );
        assert_eq!(remove_port("https://a.com/x"), "https://a.com/x");
        assert_eq!(add_port("https://a.com/x"), "https://a.com:443/x");
        assert_eq!(add_port("http://a.com?q=1"), "http://a.com:80?q=1");
        assert_eq!(add_port("wss://a.com/s"), "wss://a.com:443/s");
        assert_eq!(add_port("https://a.com:1/x"), "https://a.com:1/x");
        assert_eq!(add_port("http://[::1]/x"), "http://[::1]:80/x");
        assert_eq!(remove_port("http://[::1]:8080/x"), "http://[::1]/x");
        assert_eq!(remove_port("https://u:p@a.com:9/x"), "https://u:p@a.com/x");
        // A colon in the query is not a port.
        assert_eq!(
            add_port("https://a.com/x?t=1:2"),
            "https://a.com:443/x?t=1:2"
        );
        // Not an absolute URL: unchanged.
        assert_eq!(add_port("/relative"), "/relative");
        assert_eq!(remove_port("garbage"), "garbage");
    }

    #[test]
    fn candidates_start_with_given_url_and_have_no_repeats() {
        let c = url_candidates(URL);
        assert_eq!(c[0], URL);
        assert_eq!(c.len(), 2);
        let c = url_candidates("https://mycompany.com:443/myapp.php");
        assert_eq!(
            c,
            vec![
                "https://mycompany.com:443/myapp.php".to_string(),
                "https://mycompany.com/myapp.php".to_string(),
            ]
        );
    }
    /// The signature base as the SDKs describe it: keys sorted, then each key's distinct
    /// values sorted (the quadratic formulation this module used before).
    fn reference_signature(url: &str, params: &[(String, String)]) -> String {
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
        sign(TOKEN, &data, "")
    }

    #[test]
    fn well_formed_signatures() {
        assert!(is_well_formed(DEFAULT_SIG));
        assert!(is_well_formed(&compute_signature("t", "https://a", &[])));
        for bad in [
            "",
            "x",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8==",
            "RSOYDt4T1cUTdK1PDd93/VVr8B*=",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn sorted_pairs_give_the_same_base_as_keys_then_values() {
        let cases = [
            params(),
            go_params(),
            p(&[
                ("b", "2"),
                ("a", "9"),
                ("b", "1"),
                ("a", "9"),
                ("ab", ""),
                ("B", "x"),
            ]),
            p(&[("k", "v2"), ("k", "v1"), ("k", "v2"), ("k", "")]),
            p(&[]),
        ];
        for c in cases {
            assert_eq!(
                compute_signature(TOKEN, URL, &c),
                reference_signature(URL, &c),
                "{c:?}"
            );
        }
    }

    /// Issue 9 item 2: 100,000 keys with a bogus signature took 131 s (quadratic base). Now
    /// one sort: far below a second even unoptimised; the bound is generous.
    #[test]
    fn verifying_many_keys_is_fast() {
        let many: Vec<(String, String)> = (0..100_000)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        let started = std::time::Instant::now();
        assert!(!verify_form(TOKEN, URL, &many, DEFAULT_SIG));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
    }
}
