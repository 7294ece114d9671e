//! Tidy: provider names, wire field names, provider error codes and provider routes stay in
//! the modules that speak to a provider (style of rust-analyzer's `xtask/src/tidy.rs`).
//!
//! Scanned: every `.rs` file under `crates/`, up to its first `#[cfg(test)]` line. Exempt:
//! test code (any `tests/`, `benches/` or `examples/` folder, files named `tests.rs`, and
//! everything after a file's `#[cfg(test)]`) and documentation (`*.md` files, `docs/`: only
//! `.rs` files are read). Each violation is printed as `path:line: rule: text`.
//!
//! Architecture Invariant: outside [`ALLOWED`], no Rust source names a provider (`twilio`,
//! `bland`), a provider's wire field (`CallSid`, `StatusCallback`, `MachineDetection`,
//! `"AnsweredBy"`, …), a provider error code (a 5-digit 2xxxx/3xxxx number on a line about a
//! code or an error) or a provider route (`/webhooks/twilio`).

use std::path::{Path, PathBuf};

/// Where provider vocabulary belongs, for good: path prefix (from the workspace root) and
/// why.
const ALLOWED: &[(&str, &str)] = &[
    (
        "crates/outdial-providers/",
        "the provider adapters: wire formats, codes and routes live here",
    ),
    (
        "crates/outdial-carrier/",
        "the fake carrier speaks a provider's wire protocol",
    ),
    (
        "crates/outdial-http/src/twilio.rs",
        "the HTTP route of Twilio's status callbacks",
    ),
    (
        "crates/outdial-http/src/routes/webhooks",
        "HTTP provider-route modules",
    ),
    (
        "crates/outdial-http/src/providers",
        "HTTP provider-route modules",
    ),
    (
        "crates/outdial-http/src/extract/callback.rs",
        "HTTP provider-route module: the verified provider callback extractor",
    ),
    (
        "crates/outdial-http/src/extract/mod.rs",
        "re-exports the provider callback extractor",
    ),
    (
        "crates/outdial-http/src/state.rs",
        "wiring: holds each provider's callback-verification secret",
    ),
    (
        "crates/outdial-sim/src/provider.rs",
        "the simulator's fake provider imitates one, as the carrier does",
    ),
    (
        "crates/outdial-sim/src/run/mod.rs",
        "wiring: the simulated world runs one provider, as app.rs does",
    ),
    (
        "crates/outdial-sim/src/provider/",
        "the simulator's fake provider's wire formats",
    ),
    (
        "crates/outdial-sim/src/scenario.rs",
        "the simulated world draws which provider a seed's campaign calls through",
    ),
    (
        "crates/outdial-sim/src/run/engine_step.rs",
        "the simulated HTTP layer: stores a callback as the provider route does",
    ),
    (
        "crates/outdial-testkit/",
        "the scripted provider answers with a provider's error codes, as the carrier does",
    ),
    (
        "crates/outdial-core/src/provider.rs",
        "the closed set of provider names a campaign stores (data)",
    ),
    (
        "crates/outdial/src/app.rs",
        "wiring: constructs the configured provider's client",
    ),
    (
        "crates/outdial/src/config",
        "the provider's configuration section (credentials, timeouts)",
    ),
    (
        "crates/outdial/src/commands/carrier.rs",
        "`outdial carrier`: runs the fake carrier",
    ),
    (
        "crates/outdial-bench/",
        "the benchmark harness: signs Twilio status callbacks and runs a Twilio peer server",
    ),
];

/// Known violations still to clean up (left over from issue 10): path and what is left. Remove a row once its file is clean; the test fails on a row with no violation
/// left, so the table only shrinks.
const PENDING: &[(&str, &str)] = &[];

/// Provider wire field names, matched as whole words anywhere.
const WIRE_FIELDS: &[&str] = &[
    "CallSid",
    "AccountSid",
    "StatusCallback",
    "StatusCallbackEvent",
    "MachineDetection",
    "SequenceNumber",
    "SipResponseCode",
    "CallDuration",
];

/// Provider wire field names that are also outdial type names: matched only as a quoted
/// literal (`"AnsweredBy"`) or a form pair (`AnsweredBy=`).
const QUOTED_FIELDS: &[&str] = &["AnsweredBy", "CallStatus"];

/// 5-digit codes that are not a provider's: PostgreSQL SQLSTATE `23505` (unique violation).
const OTHER_CODES: &[&str] = &["23505"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "tests" | "benches" | "examples" | "docs"
            ) && !name.starts_with('.')
            {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `word` occurs in `line` with no word character on either side.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// A 5-digit number starting with 2 or 3, standing alone (not part of `30_000`, `1.20000`
/// or a longer number).
fn has_provider_code(line: &str) -> bool {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(4)).any(|i| {
        let digits = b[i..i + 5].iter().all(u8::is_ascii_digit);
        let standalone = |c: Option<&u8>| {
            !c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        };
        digits
            && matches!(b[i], b'2' | b'3')
            && !OTHER_CODES.contains(&&line[i..i + 5])
            && standalone(i.checked_sub(1).and_then(|j| b.get(j)))
            && standalone(b.get(i + 5))
    })
}

/// The rules a line breaks.
fn violations(line: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let lower = line.to_ascii_lowercase();
    if line.contains("twilio") || line.contains("Twilio") || line.contains("TWILIO") {
        out.push("provider name (twilio)");
    }
    if has_word(line, "bland") || has_word(line, "Bland") || has_word(line, "BLAND") {
        out.push("provider name (bland)");
    }
    if lower.contains("/webhooks/") && !out.is_empty() {
        out.push("provider route");
    }
    if WIRE_FIELDS.iter().any(|f| has_word(line, f)) {
        out.push("provider wire field");
    }
    if QUOTED_FIELDS
        .iter()
        .any(|f| line.contains(&format!("\"{f}\"")) || line.contains(&format!("{f}=")))
    {
        out.push("provider wire field (quoted)");
    }
    if (lower.contains("code") || lower.contains("error")) && has_provider_code(line) {
        out.push("provider error code");
    }
    out
}

/// Every violation in `text`, as `(line number, rule, line)`, up to the first `#[cfg(test)]`.
fn scan(text: &str) -> Vec<(usize, &'static str, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim() == "#[cfg(test)]" {
            break;
        }
        for rule in violations(line) {
            out.push((i + 1, rule, line.trim().to_owned()));
        }
    }
    out
}

#[test]
fn provider_vocabulary_stays_in_provider_modules() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "found only {} source files under {}",
        files.len(),
        root.display()
    );
    let mut errors = Vec::new();
    let mut pending_seen = vec![false; PENDING.len()];
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.iter().any(|(prefix, _)| rel.starts_with(prefix)) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        let found = scan(&text);
        if found.is_empty() {
            continue;
        }
        if let Some(i) = PENDING.iter().position(|(p, _)| *p == rel) {
            pending_seen[i] = true;
            continue;
        }
        for (line, rule, content) in found {
            errors.push(format!("{rel}:{line}: {rule}: {content}"));
        }
    }
    for (seen, (path, _)) in pending_seen.iter().zip(PENDING) {
        if !seen {
            errors.push(format!(
                "{path}: listed in PENDING but has no violation (or no longer exists): remove the row"
            ));
        }
    }
    assert!(
        errors.is_empty(),
        "provider vocabulary outside the provider modules (see ALLOWED and PENDING in {}):\n{}",
        file!(),
        errors.join("\n")
    );
}

#[test]
fn the_rules_catch_what_they_should_and_spare_the_rest() {
    assert!(!violations("see Twilio's docs").is_empty());
    assert!(!violations("use outdial_providers::twilio::webhook;").is_empty());
    assert!(!violations("a Bland pathway").is_empty());
    assert!(violations("a bland remark in Blandford").len() == 1);
    assert!(!violations("form.push((\"MachineDetection\", md))").is_empty());
    assert!(!violations("if code == \"20429\" {").is_empty());
    assert!(!violations("// error 30003: unreachable").is_empty());
    assert!(!violations("let f = \"AnsweredBy\";").is_empty());
    assert!(violations("pub answered_by: Option<AnsweredBy>,").is_empty());
    assert!(violations("let timeout_ms = 30_000; // error budget").is_empty());
    assert!(violations("let n = 25000; // rows").is_empty());
    assert!(violations("exit code 123456").is_empty());
    assert!(violations("unique violations (SQLSTATE 23505) are conflicts").is_empty());
}
