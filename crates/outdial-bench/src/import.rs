//! Import: `outdial import` of generated lead files beside `sqlite3 .import` of the same file
//! into a table with the same unique key (the phone), with the same durability (WAL,
//! `synchronous=FULL`), and beside PostgreSQL `COPY` (psql's `\copy`) into a table with a
//! unique index on the phone, when a server is given.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::gen::{write_leads, Layout};
use crate::proc::{measure, run_ok};
use crate::stats::{Better, Row, Samples};
use crate::{Bench, Section};

/// Column names of the floor's table for `layout` (VICIdial: 23 columns, the phone 5th).
fn floor_columns(layout: Layout) -> (Vec<String>, &'static str) {
    match layout {
        Layout::Vicidial => ((1..=23).map(|i| format!("c{i}")).collect(), "c5"),
        Layout::Csv => (
            [
                "lead_id", "first", "last", "phone", "city", "state", "zip", "email",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "phone",
        ),
    }
}

fn create_table_sql(layout: Layout) -> String {
    let (cols, key) = floor_columns(layout);
    let cols: Vec<String> = cols.iter().map(|c| format!("{c} TEXT")).collect();
    format!(
        "CREATE TABLE t ({}); CREATE UNIQUE INDEX t_key ON t ({key});",
        cols.join(", ")
    )
}

/// `sqlite3 .import` of `file` into a fresh database: wall seconds.
fn sqlite_floor(dir: &Path, file: &Path, layout: Layout) -> anyhow::Result<f64> {
    let db = dir.join("floor.db");
    let _ = std::fs::remove_file(&db);
    let setup = format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; {}",
        create_table_sql(layout)
    );
    run_ok(Command::new("sqlite3").arg(&db).arg(&setup))?;
    let mode = match layout {
        Layout::Vicidial => ".mode tabs".to_string(),
        Layout::Csv => ".mode csv".to_string(),
    };
    let import = match layout {
        Layout::Vicidial => format!(".import {} t", file.display()),
        Layout::Csv => format!(".import --skip 1 {} t", file.display()),
    };
    let run = measure(
        Command::new("sqlite3").arg(&db).args([
            "-cmd",
            "PRAGMA synchronous=FULL;",
            "-cmd",
            &mode,
            &import,
        ]),
        true,
        false,
    )
    .context("sqlite3 .import (is Debian's sqlite3 installed?)")?;
    Ok(run.wall.as_secs_f64())
}

/// psql with `url` running `sql`.
fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    run_ok(Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]))
        .map(|_| ())
}

/// A database URL on the same server as `admin` named `name`.
pub fn pg_database(admin: &str, name: &str) -> String {
    let (base, _) = admin.rsplit_once('/').unwrap_or((admin, ""));
    format!("{base}/{name}")
}

/// Drops and creates database `name` on `admin`'s server; returns its URL.
pub fn fresh_pg_database(admin: &str, name: &str) -> anyhow::Result<String> {
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )?;
    psql(admin, &format!("CREATE DATABASE {name}"))?;
    Ok(pg_database(admin, name))
}

/// Drops database `name` on `admin`'s server if it exists.
pub fn drop_pg_database(admin: &str, name: &str) -> anyhow::Result<()> {
    psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
}

/// Drops every database named `outdial_bench_*` on `admin`'s server: the ones each workload
/// made (a 10M-attempt reports database holds several GB). Run at the end of every run, and
/// after a failed one, so the harness never leaves the machine's disk fuller than it found it.
///
/// Returns the names dropped; errors when psql cannot list or drop them.
pub fn drop_bench_databases(admin: &str) -> anyhow::Result<Vec<String>> {
    let listed = run_ok(Command::new("psql").args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        admin,
        "-c",
        r"SELECT datname FROM pg_database WHERE datname LIKE 'outdial\_bench\_%'",
    ]))?;
    let names: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    for name in &names {
        drop_pg_database(admin, name)?;
    }
    Ok(names)
}

/// `COPY` of `file` into a fresh table with a unique phone index: wall seconds.
fn pg_floor(admin: &str, file: &Path, layout: Layout) -> anyhow::Result<f64> {
    let url = fresh_pg_database(admin, "outdial_bench_floor")?;
    psql(&url, &create_table_sql(layout))?;
    let copy = match layout {
        Layout::Vicidial => format!("\\copy t FROM '{}'", file.display()),
        Layout::Csv => format!(
            "\\copy t FROM '{}' WITH (FORMAT csv, HEADER true)",
            file.display()
        ),
    };
    let run = measure(
        Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url, "-c", &copy]),
        true,
        false,
    )?;
    psql(
        admin,
        "DROP DATABASE IF EXISTS outdial_bench_floor WITH (FORCE)",
    )?;
    Ok(run.wall.as_secs_f64())
}

/// Creates the campaign `bench` in database `db` with the outdial binary.
pub fn create_campaign(bench: &Bench, db: &str) -> anyhow::Result<()> {
    run_ok(Command::new(&bench.outdial).args([
        "campaign",
        "create",
        "bench",
        "--db",
        db,
        "--caller-id",
        "+14155550100",
        "--answer-url",
        "https://flows.example.com/answer",
        "--fallback-time-zone",
        "America/New_York",
    ]))?;
    Ok(())
}

/// One `outdial import` into a fresh database (`db`, made by `fresh`): wall seconds, peak
/// RSS in MiB, and the summary line.
fn ours(
    bench: &Bench,
    file: &Path,
    db: &str,
    fresh: &dyn Fn() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64, String)> {
    fresh()?;
    create_campaign(bench, db)?;
    let run = measure(
        Command::new(&bench.outdial).args([
            "import",
            &file.display().to_string(),
            "--campaign",
            "bench",
            "--db",
            db,
        ]),
        true,
        false,
    )?;
    Ok((
        run.wall.as_secs_f64(),
        run.peak_rss_mib,
        run.stdout.trim().to_owned(),
    ))
}

fn row_of(
    case: String,
    rows: u64,
    ours_s: &[(f64, f64, String)],
    floor_name: &str,
    floor_s: &[f64],
) -> Row {
    let mut ours = Samples::default();
    let mut floor = Samples::default();
    let mut peak: f64 = 0.0;
    for (wall, rss, _) in ours_s {
        ours.push(*wall);
        peak = peak.max(*rss);
    }
    for f in floor_s {
        floor.push(*f);
    }
    let rate = rows as f64 / ours.median();
    let summary = ours_s.last().map(|o| o.2.clone()).unwrap_or_default();
    let summary = summary.split(": ").nth(1).unwrap_or(&summary).to_owned();
    Row::alone(case, "s", Better::Lower, ours)
        .against(floor_name, floor)
        .goal("≤ 2× the floor, peak RSS ≤ 100 MiB")
        .extra(format!(
            "{rate:.0} rows/s; peak RSS {peak:.0} MiB; {}",
            summary.split(", ").take(3).collect::<Vec<_>>().join(", ")
        ))
}

/// Runs the import workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    let sizes: Vec<u64> = if bench.import_rows.is_empty() {
        bench.pick(vec![2_000], vec![10_000, 100_000, 1_000_000])
    } else {
        bench.import_rows.clone()
    };
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for &n in &sizes {
        for layout in [Layout::Vicidial, Layout::Csv] {
            let file: PathBuf = bench
                .dir
                .join(format!("leads-{n}.{}", layout.name().to_lowercase()));
            if !file.exists() {
                write_leads(&file, layout, n)?;
            }
            let db_path = bench.dir.join("import.db");
            let db = db_path.display().to_string();
            let fresh = || {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{db}{suffix}"));
                }
                Ok(())
            };
            let mut o = Vec::new();
            let mut f = Vec::new();
            for _ in 0..bench.repeat {
                o.push(ours(bench, &file, &db, &fresh)?);
                f.push(sqlite_floor(&bench.dir, &file, layout)?);
            }
            eprintln!("import {n} {} sqlite: {:?} vs {:?}", layout.name(), o, f);
            rows.push(row_of(
                format!("{n} rows, {}, SQLite", layout.name()),
                n,
                &o,
                "sqlite3 .import",
                &f,
            ));
            match &bench.postgres_url {
                Some(admin) => {
                    let url = pg_database(admin, "outdial_bench_import");
                    let fresh = || fresh_pg_database(admin, "outdial_bench_import").map(|_| ());
                    let mut o = Vec::new();
                    let mut f = Vec::new();
                    for _ in 0..bench.repeat {
                        o.push(ours(bench, &file, &url, &fresh)?);
                        f.push(pg_floor(admin, &file, layout)?);
                    }
                    psql(
                        admin,
                        "DROP DATABASE IF EXISTS outdial_bench_import WITH (FORCE)",
                    )?;
                    eprintln!("import {n} {} pg: {:?} vs {:?}", layout.name(), o, f);
                    rows.push(row_of(
                        format!("{n} rows, {}, PostgreSQL", layout.name()),
                        n,
                        &o,
                        "COPY",
                        &f,
                    ));
                }
                None => {
                    if !skipped.iter().any(|s: &String| s.contains("PostgreSQL")) {
                        skipped.push("PostgreSQL cases: no --postgres-url".into());
                    }
                }
            }
        }
    }
    Ok(Section {
        title: "Import".into(),
        about: "`outdial import FILE --campaign bench` into a fresh database (every number \
                distinct; the campaign's fallback zone America/New_York), wall time and peak \
                RSS of the process, beside `sqlite3 .import` of the same file into a table \
                with a unique index on the phone (WAL, `synchronous=FULL`) and psql's `\\copy` \
                into a table with a unique phone index on the same PostgreSQL server."
            .into(),
        rows,
        skipped,
    })
}
