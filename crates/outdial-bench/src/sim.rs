//! Simulator: `outdial simulate` on one seed, simulated lead-days per second of wall time.

use std::process::Command;

use crate::proc::measure;
use crate::stats::{Better, Row, Samples};
use crate::{Bench, Section};

/// Runs the simulator workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    let cases: Vec<(u32, u32)> = bench.pick(vec![(50, 2)], vec![(200, 10), (1_400, 2)]);
    let mut rows = Vec::new();
    for (leads, days) in cases {
        let mut s = Samples::default();
        let mut walls = Vec::new();
        for _ in 0..bench.repeat {
            let run = measure(
                Command::new(&bench.outdial).args([
                    "simulate",
                    "--seeds",
                    "1",
                    "--leads",
                    &leads.to_string(),
                    "--days",
                    &days.to_string(),
                    "--quiet",
                ]),
                true,
                false,
            )?;
            let wall = run.wall.as_secs_f64();
            walls.push(wall);
            s.push(f64::from(leads) * f64::from(days) / wall);
        }
        rows.push(
            Row::alone(
                format!("{leads} leads × {days} days, 1 seed"),
                "lead-days/s",
                Better::Higher,
                s,
            )
            .goal("10k leads × 30 days in ≤ 60 s: ≥ 5,000 lead-days/s")
            .extra(format!(
                "wall {:.1} s (median)",
                crate::stats::Samples { values: walls }.median()
            )),
        );
    }
    Ok(Section {
        title: "Simulator".into(),
        about: "`outdial simulate --seeds 1` (the real engine and SQLite store against the \
                in-process fake provider on virtual time, with its faults and crashes): \
                simulated lead-days per second of wall time. The simulator takes at most \
                1,400 leads per seed."
            .into(),
        rows,
        skipped: Vec::new(),
    })
}
