//! The markdown report: machine, commit, command, then one table per workload.

use crate::stats::{fmt_num, Better};
use crate::{Args, Bench, Section};
use std::process::Command;

fn first_line_of(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The machine in one line: CPU model, cores, memory.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or("?".into(), |kib| {
            format!("{:.0} GiB", kib / 1024.0 / 1024.0)
        });
    format!("{cpu}, {cores} cores, {mem}")
}

/// The report for `sections`.
pub fn markdown(bench: &Bench, args: &Args, sections: &[Section]) -> String {
    let commit = first_line_of(Command::new("git").args(["rev-parse", "--short", "HEAD"]));
    let dirty = !first_line_of(Command::new("git").args(["status", "--porcelain"])).is_empty()
        && first_line_of(Command::new("git").args(["status", "--porcelain"])) != "?";
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let mut s = String::new();
    s.push_str("# outdial benchmarks\n\n");
    s.push_str(&format!(
        "- machine: {}\n- commit: `{commit}`{}\n- run: {date}, size `{:?}`, {} run(s) of each measurement\n- command: `target/release/outdial-bench --size {} --repeat {}{}`\n\n",
        machine(),
        if dirty { " (with uncommitted changes)" } else { "" },
        bench.size,
        bench.repeat,
        format!("{:?}", bench.size).to_lowercase(),
        bench.repeat,
        if args.only.is_empty() { String::new() } else { format!(" --only {}", args.only.join(",")) },
    ));
    s.push_str(
        "Figures are min / median / max over the runs. The ratio is ours ÷ floor on the \
         medians: for a throughput (`/s`) 1.0 means as fast as the floor and 0.5 half as \
         fast; for a time, 2.0 means twice the floor's time.\n\n",
    );
    for sec in sections {
        s.push_str(&format!("## {}\n\n{}\n\n", sec.title, sec.about));
        if !sec.rows.is_empty() {
            s.push_str("| case | unit | outdial | floor | floor figures | ratio | goal | also |\n|---|---|---|---|---|---|---|---|\n");
            for r in &sec.rows {
                let (fname, ffig) = match &r.floor {
                    Some((n, f)) => (n.clone(), f.summary()),
                    None => ("—".into(), "—".into()),
                };
                let ratio = r.ratio().map_or("—".into(), |x| {
                    format!(
                        "{}{}",
                        fmt_num(x),
                        if r.better == Better::Lower { "×" } else { "" }
                    )
                });
                s.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    r.case,
                    r.unit,
                    r.ours.summary(),
                    fname,
                    ffig,
                    ratio,
                    r.goal.as_deref().unwrap_or("—"),
                    if r.extra.is_empty() { "—" } else { &r.extra },
                ));
            }
            s.push('\n');
        }
        for k in &sec.skipped {
            s.push_str(&format!("- not run: {k}\n"));
        }
        if !sec.skipped.is_empty() {
            s.push('\n');
        }
    }
    s
}
