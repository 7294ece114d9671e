//! Memory proof: reads generated VICIdial lists of 1,000 and 1,000,000 rows through
//! `LeadReader` and prints each run's peak resident memory (VmHWM from /proc/self/status).
//!
//! ```text
//! cargo run --release -p outdial-import --example import_memory            # both sizes
//! cargo run --release -p outdial-import --example import_memory -- 250000  # one size
//! ```
//!
//! Each size runs in a fresh process, so one run's peak cannot hide the other's.

use std::process::{Command, ExitCode};
use std::time::Instant;

use outdial_core::Region;
use outdial_import::synthetic::SyntheticVicidial;
use outdial_import::{Format, LeadReader};

const SIZES: [u64; 2] = [1_000, 1_000_000];

fn main() -> ExitCode {
    match std::env::args().nth(1) {
        Some(arg) => match arg.replace('_', "").parse::<u64>() {
            Ok(rows) => run(rows),
            Err(_) => {
                eprintln!("usage: import_memory [ROWS]");
                ExitCode::FAILURE
            }
        },
        None => {
            let exe = std::env::current_exe().expect("own path");
            for rows in SIZES {
                let status = Command::new(&exe)
                    .arg(rows.to_string())
                    .status()
                    .expect("run child");
                if !status.success() {
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
    }
}

fn run(rows: u64) -> ExitCode {
    let before = peak_rss_kib();
    let started = Instant::now();
    let source = SyntheticVicidial::new(rows).invalid_every(1_000);
    let want = source.expected_valid();
    let reader = LeadReader::new(source, Format::VicidialTab, Region::US, "generated")
        .expect("VICIdial lists have no header to fail");
    let (mut accepted, mut rejected) = (0u64, 0u64);
    for item in reader {
        match item {
            Ok(_) => accepted += 1,
            Err(_) => rejected += 1,
        }
    }
    let elapsed = started.elapsed();
    let after = peak_rss_kib();
    println!(
        "rows={rows:>9} accepted={accepted:>9} rejected={rejected:>5} time={:>7.2}s \
         rows/s={:>9.0} peak_rss_before={} peak_rss_after={}",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        show(before),
        show(after),
    );
    if accepted == want {
        ExitCode::SUCCESS
    } else {
        eprintln!("expected {want} accepted rows");
        ExitCode::FAILURE
    }
}

/// VmHWM (peak resident set size) in KiB, on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{k} KiB"))
}
