//! The run's trace: ordered lines `time what`, hashed as they are written (SHA-256), with the
//! last lines kept for violation reports. Two runs of one seed must give the same hash.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Lines kept for the tail shown with a violation.
const TAIL: usize = 200;

#[derive(Debug)]
struct Inner {
    hasher: Sha256,
    lines: u64,
    tail: VecDeque<String>,
    full: Option<Vec<String>>,
    live: bool,
}

/// A shared, append-only trace. Cloning gives another handle on the same trace.
#[derive(Debug, Clone)]
pub struct Trace(Arc<Mutex<Inner>>);

impl Trace {
    /// A new, empty trace; `keep_all` also keeps every line (for `--trace`). With the
    /// environment variable `OUTDIAL_SIM_LIVE` set, every line is also written to stderr as
    /// it happens (for a seed that hangs).
    pub fn new(keep_all: bool) -> Trace {
        Trace(Arc::new(Mutex::new(Inner {
            hasher: Sha256::new(),
            lines: 0,
            tail: VecDeque::with_capacity(TAIL),
            full: keep_all.then(Vec::new),
            live: std::env::var_os("OUTDIAL_SIM_LIVE").is_some(),
        })))
    }

    /// Appends `what` at simulated instant `at` (true time, UTC).
    pub fn line(&self, at: DateTime<Utc>, what: impl AsRef<str>) {
        let line = format!(
            "{} {}",
            at.to_rfc3339_opts(SecondsFormat::Millis, true),
            what.as_ref()
        );
        let mut g = self.0.lock().expect("trace lock");
        g.hasher.update(line.as_bytes());
        g.hasher.update(b"\n");
        g.lines += 1;
        if g.tail.len() == TAIL {
            g.tail.pop_front();
        }
        g.tail.push_back(line.clone());
        if g.live {
            eprintln!("{line}");
        }
        if let Some(full) = g.full.as_mut() {
            full.push(line);
        }
    }

    /// Lines written so far.
    pub fn len(&self) -> u64 {
        self.0.lock().expect("trace lock").lines
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hex SHA-256 of every line so far (each followed by a newline).
    pub fn hash(&self) -> String {
        let g = self.0.lock().expect("trace lock");
        let digest = g.hasher.clone().finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The last `n` lines (at most 200 are kept).
    pub fn tail(&self, n: usize) -> Vec<String> {
        let g = self.0.lock().expect("trace lock");
        let skip = g.tail.len().saturating_sub(n);
        g.tail.iter().skip(skip).cloned().collect()
    }

    /// Every line, when the trace was created with `keep_all`.
    pub fn all(&self) -> Option<Vec<String>> {
        self.0.lock().expect("trace lock").full.clone()
    }
}
