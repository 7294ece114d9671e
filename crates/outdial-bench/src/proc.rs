//! Running a command and measuring it: wall time and peak resident memory.

use anyhow::{bail, Context};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a command took.
#[derive(Debug, Clone)]
pub struct Run {
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident set size in MiB: the largest `VmHWM` of `/proc/{pid}/status` read while
    /// the process ran (polled every 5 ms; a process shorter than that may read 0).
    pub peak_rss_mib: f64,
    /// Its standard output.
    pub stdout: String,
}

/// Runs `cmd` to completion with its stdout captured and stderr discarded (`quiet`) or
/// inherited.
///
/// Errors: it cannot be spawned, or it exits non-zero (the error holds the command and its
/// status; pass `allow_failure` to accept a non-zero exit, as for an import that reports
/// unreadable rows).
pub fn measure(cmd: &mut Command, quiet: bool, allow_failure: bool) -> anyhow::Result<Run> {
    let shown = format!("{cmd:?}");
    let out_file = tempfile::tempfile()?;
    cmd.stdout(Stdio::from(out_file.try_clone()?));
    if quiet {
        cmd.stderr(Stdio::null());
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    if !status.success() && !allow_failure {
        bail!("{shown} failed: {status}");
    }
    use std::io::{Read, Seek};
    let mut f = out_file;
    f.rewind()?;
    let mut stdout = String::new();
    f.read_to_string(&mut stdout)?;
    Ok(Run {
        wall,
        peak_rss_mib: peak_kib as f64 / 1024.0,
        stdout,
    })
}

/// Runs `cmd` and returns its stdout; errors as [`measure`] without `allow_failure`.
pub fn run_ok(cmd: &mut Command) -> anyhow::Result<String> {
    Ok(measure(cmd, true, false)?.stdout)
}
