//! The CI skip rule, written once: outside CI a test whose precondition is missing prints a
//! notice and passes; under `CI=true` it fails, because there a skip would hide a missing
//! install step.

use std::io::Write;

/// True when the environment variable `CI` is `true` (as GitHub Actions and `.ci/run` set it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports that `what` (a test or a group of tests) cannot run because `why` (the missing
/// precondition, with how to provide it). Panics under `CI=true`; otherwise prints
/// `skipping {what}: {why}` on stderr, past libtest's output capture so the skip is seen, and
/// returns, so the caller returns early.
pub fn precondition_missing(what: &str, why: &str) {
    if under_ci() {
        panic!("{why}, and CI=true: {what} must run in CI");
    }
    let _ = writeln!(std::io::stderr(), "NOTICE: skipping {what}: {why}");
}
