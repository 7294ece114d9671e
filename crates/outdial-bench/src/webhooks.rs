//! Webhooks: signed Twilio status callbacks per second into `outdial serve` (the release
//! binary), beside a small Express peer (`peer/server.js`: the `twilio` package's
//! `validateRequest`, one transaction per callback on better-sqlite3 or pg), from `wrk` on
//! loopback with a Lua script that sends each thread's file of pre-signed callbacks in
//! order.
//!
//! Every callback is for a real attempt: before each run a fresh database gets the campaign
//! and a lead file through the outdial binary, then the first leads are turned into attempts
//! `placed` with a call SID by one SQL statement (what `reserve_attempt` and `mark_placed`
//! leave behind, in bulk), so that each callback is applied, not refused. The rest of the
//! leads stay due, and `serve` dials them through the fake carrier (`outdial carrier`) at
//! 10 calls per second during the run; the carrier's own callbacks go to a public URL that
//! points nowhere (`http://127.0.0.1:9`), which is also the URL every signature is made
//! over.
//!
//! Cases: distinct non-final callbacks (`initiated`, `ringing`, `in-progress`, in that
//! order for each attempt, 500 attempts at a time) at 16 and 64 connections; distinct
//! `completed` callbacks (each concludes its attempt inside the request); duplicates (the
//! callbacks a status run applied, sent again). The rate counts 2xx answers only; the
//! applied/duplicate counts read back from the servers (`/metrics`, the peer's `/stats`)
//! are printed to stderr.

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::gen::{write_leads, Layout};
use crate::import::{create_campaign, fresh_pg_database};
use crate::proc::run_ok;
use crate::stats::{fmt_num, Better, Row, Samples};
use crate::{Bench, Section};

mod servers;
mod wrk;

use servers::{
    delta, free_port, install_peer, outdial_results, peer_results, start_carrier, Server,
};
use wrk::{ensure_wrk, write_pool, wrk, Kind, Pool, WrkRun};

/// The URL every callback is signed over, for both servers: nothing listens there, so the
/// fake carrier's own callbacks for the calls `serve` dials go nowhere.
const PUBLIC_URL: &str = "http://127.0.0.1:9";
/// The fake carrier's default account and token: `serve` authenticates to the carrier and
/// verifies callbacks with them, the peer verifies with the same token.
const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const AUTH_TOKEN: &str = "fake-carrier-token";
/// wrk threads (the machine's two cores are shared with the server under test).
const THREADS: usize = 2;
/// Attempts whose callbacks are sent together, one status after the other.
const CHUNK: u64 = 500;
/// Time for the answers still in flight when wrk stops before the server's counts are read.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);
/// Leads left for `serve` to dial while the callbacks arrive.
const DIAL_LEADS: u64 = 2_000;

/// The store a case runs on.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    /// A fresh, empty outdial database: its `--db` value.
    fn fresh_outdial(&self, dir: &Path) -> anyhow::Result<String> {
        match self {
            Backend::Sqlite => {
                let db = dir.join("webhooks.db").display().to_string();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{db}{suffix}"));
                }
                Ok(db)
            }
            Backend::Postgres(admin) => fresh_pg_database(admin, "outdial_bench_webhooks"),
        }
    }

    /// A fresh peer database: the peer's `PEER_DB`.
    fn fresh_peer(&self, dir: &Path) -> anyhow::Result<String> {
        match self {
            Backend::Sqlite => {
                let db = dir.join("peer.db").display().to_string();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{db}{suffix}"));
                }
                Ok(db)
            }
            Backend::Postgres(admin) => fresh_pg_database(admin, "outdial_bench_peer"),
        }
    }

    /// Runs `sql` on `db`; returns what it printed (unaligned, no headers).
    fn sql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        match self {
            Backend::Sqlite => run_ok(Command::new("sqlite3").args([db, sql]))
                .context("sqlite3 (is Debian's sqlite3 installed?)"),
            Backend::Postgres(_) => run_ok(Command::new("psql").args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                db,
                "-c",
                sql,
            ])),
        }
    }

    /// Leads `1..=attempts` become attempts `1..=attempts`, `placed` with call SID
    /// `CA{id:032x}` (reserved and placed at `placed_at`), their leads `dialing`: what
    /// `reserve_attempt` and `mark_placed` leave, without their events.
    fn place(&self, db: &str, attempts: u64, placed_at: &str) -> anyhow::Result<()> {
        let (sid, ts) = match self {
            Backend::Sqlite => ("printf('CA%032x', id)", format!("'{placed_at}'")),
            Backend::Postgres(_) => (
                "'CA' || lpad(to_hex(id), 32, '0')",
                format!("'{placed_at}'::timestamptz"),
            ),
        };
        let mut sql = format!(
            "BEGIN;
             INSERT INTO attempts (id, lead_id, campaign_id, phone, number, state, call_id,
                                   call_status, reserved_at, placed_at, updated_at)
               SELECT id, id, campaign_id, phone, attempt_count + 1, 'placed', {sid}, 'queued',
                      {ts}, {ts}, {ts}
               FROM leads WHERE id <= {attempts} ORDER BY id;
             UPDATE leads SET status = 'dialing', next_attempt_at = NULL,
                              attempt_count = attempt_count + 1, updated_at = {ts}
               WHERE id <= {attempts};
             COMMIT;"
        );
        if let Backend::Postgres(_) = self {
            sql.push_str("SELECT setval(pg_get_serial_sequence('attempts', 'id'), (SELECT max(id) FROM attempts));");
        }
        self.sql(db, &sql)?;
        let n = self.sql(
            db,
            &format!("SELECT count(*) FROM attempts WHERE id <= {attempts} AND state = 'placed'"),
        )?;
        anyhow::ensure!(
            n.trim().lines().last() == Some(&attempts.to_string()),
            "expected {attempts} placed attempts after preparing the store, found {}",
            n.trim()
        );
        Ok(())
    }

    /// Attempts `serve` reserved itself (ids above the prepared ones).
    fn dialed(&self, db: &str, attempts: u64) -> u64 {
        self.sql(
            db,
            &format!("SELECT count(*) FROM attempts WHERE id > {attempts}"),
        )
        .ok()
        .and_then(|s| s.trim().lines().last().and_then(|l| l.parse().ok()))
        .unwrap_or(0)
    }

    fn drop_databases(&self) {
        if let Backend::Postgres(admin) = self {
            for name in ["outdial_bench_webhooks", "outdial_bench_peer"] {
                let _ = self.sql(
                    admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                );
            }
        }
    }
}

/// What a case is measured at.
struct Sizes {
    /// Seconds of each distinct-callback run.
    secs: f64,
    /// Seconds of each duplicates run.
    dup_secs: f64,
    /// Attempts prepared for a status run (three callbacks each).
    progress_attempts: u64,
    /// Attempts prepared for a completed run (one callback each).
    completed_attempts: u64,
}

/// One server's figures over a case's runs.
#[derive(Default)]
struct Figures {
    rate: Samples,
    p50: Samples,
    p99: Samples,
    dialed: Samples,
    load: Samples,
    notes: Vec<String>,
}

impl Figures {
    /// Adds a run; `results` are the server's answers by result during it, of which those
    /// in `expect` (`applied`, `stale`, `duplicate`) should be all; `cycling`: the run sends
    /// its callbacks round and round by design (duplicates).
    fn add(
        &mut self,
        run: &WrkRun,
        results: &BTreeMap<String, u64>,
        expect: &[&str],
        cycling: bool,
    ) {
        self.rate.push(run.rate());
        self.p50.push(run.p50_ms);
        self.p99.push(run.p99_ms);
        self.load.push(run.load);
        let mut note = String::new();
        if run.exhausted() && !cycling {
            note.push_str("ran out of distinct callbacks (wrapped round); ");
        }
        if run.non_2xx > 0 || run.socket_errors > 0 {
            note.push_str(&format!(
                "{} non-2xx, {} socket errors; ",
                run.non_2xx, run.socket_errors
            ));
        }
        let total: u64 = results.values().sum();
        let expected: u64 = expect
            .iter()
            .map(|e| results.get(*e).copied().unwrap_or(0))
            .sum();
        if total > expected {
            note.push_str(&format!(
                "{} of {total} answers not {}; ",
                total - expected,
                expect.join(" or ")
            ));
        }
        if !note.is_empty() && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn latency(&self) -> String {
        format!(
            "p50 {} ms, p99 {} ms",
            fmt_num(self.p50.median()),
            fmt_num(self.p99.median())
        )
    }
}

/// One case's figures: outdial's and the peer's.
struct Case {
    name: String,
    goal: Option<String>,
    ours: Figures,
    peer: Figures,
}

/// The goal of a distinct-callback case on `backend` at `conns` connections.
fn goal(backend: &Backend, conns: usize) -> String {
    match (backend, conns) {
        (Backend::Sqlite, 16) => "≥ 5,000/s with p99 ≤ 10 ms, ≥ 2× the peer".into(),
        (Backend::Sqlite, _) => "≥ 2× the peer".into(),
        (Backend::Postgres(_), _) => "≥ 2,000/s, ≥ 1.5× the peer".into(),
    }
}

/// Everything one measurement needs.
struct Ctx<'a> {
    bench: &'a Bench,
    peer_dir: PathBuf,
    carrier_port: u16,
    sizes: Sizes,
    placed_at: String,
}

impl Ctx<'_> {
    /// A fresh outdial database with `pool.attempts` placed attempts and [`DIAL_LEADS`] due
    /// leads, and `serve` on it.
    fn outdial(&self, backend: &Backend, pool: &Pool) -> anyhow::Result<(Server, String)> {
        let dir = &self.bench.dir;
        let db = backend.fresh_outdial(dir)?;
        create_campaign(self.bench, &db)?;
        let leads = pool.attempts + DIAL_LEADS;
        let file = dir.join(format!("webhook-leads-{leads}.csv"));
        if !file.exists() {
            write_leads(&file, Layout::Csv, leads)?;
        }
        run_ok(Command::new(&self.bench.outdial).args([
            "import",
            &file.display().to_string(),
            "--campaign",
            "bench",
            "--db",
            &db,
        ]))?;
        backend.place(&db, pool.attempts, &self.placed_at)?;
        let port = free_port()?;
        let config = dir.join("webhooks-outdial.toml");
        std::fs::write(
            &config,
            format!(
                "database = \"{db}\"\ndatabase_pool_size = 16\nlisten = \"127.0.0.1:{port}\"\n\
                 public_url = \"{PUBLIC_URL}\"\napi_keys = [\"bench-admin-key-0123456789abcdef\"]\n\
                 metrics_anonymous_from = [\"127.0.0.1/32\"]\n\n[twilio]\n\
                 api_base = \"http://127.0.0.1:{}\"\naccount_sid = \"{ACCOUNT_SID}\"\n\
                 auth_token = \"{AUTH_TOKEN}\"\n\n[dialer]\ncalls_per_second = 10.0\n\
                 max_concurrent = 1000000\nreconcile_after_s = 3600\n",
                self.carrier_port
            ),
        )?;
        let mut cmd = Command::new(&self.bench.outdial);
        cmd.arg("--config").arg(&config).arg("serve");
        cmd.env("RUST_LOG", "warn");
        let server = Server::start(cmd, port, "outdial serve", &dir.join("webhooks-serve.log"))?;
        Ok((server, db))
    }

    /// A fresh peer database with the same calls, and the peer on it.
    fn peer(&self, backend: &Backend, pool: &Pool) -> anyhow::Result<Server> {
        let db = backend.fresh_peer(&self.bench.dir)?;
        let port = free_port()?;
        let mut cmd = Command::new("node");
        cmd.arg("server.js")
            .current_dir(&self.peer_dir)
            .env("PEER_PORT", port.to_string())
            .env("PEER_DB", &db)
            .env("PEER_PUBLIC_URL", PUBLIC_URL)
            .env("PEER_AUTH_TOKEN", AUTH_TOKEN)
            .env("PEER_CALLS", pool.attempts.to_string())
            .env("PEER_POOL", "16");
        Server::start(cmd, port, "peer", &self.bench.dir.join("webhooks-peer.log"))
    }

    /// One run of a distinct-callback case on both servers, and (`dups`) of the duplicates
    /// case after it on the same servers.
    fn measure(
        &self,
        backend: &Backend,
        pool: &Pool,
        conns: usize,
        case: &mut Case,
        dups: Option<&mut Case>,
    ) -> anyhow::Result<()> {
        let dir = &self.bench.dir;
        let s = &self.sizes;
        let mut dups = dups;
        {
            let (server, db) = self.outdial(backend, pool)?;
            let run = wrk(dir, server.port, conns, s.secs, pool, None)?;
            std::thread::sleep(SETTLE);
            let results = outdial_results(server.port);
            eprintln!(
                "webhooks {}: outdial {:.0}/s, p50 {} ms, p99 {} ms, results {results:?}",
                case.name,
                run.rate(),
                fmt_num(run.p50_ms),
                fmt_num(run.p99_ms)
            );
            case.ours.add(&run, &results, pool.kind.expected(), false);
            if let Some(d) = dups.as_deref_mut() {
                let limits = run.answered(conns);
                let dup = wrk(dir, server.port, conns, s.dup_secs, pool, Some(&limits))?;
                std::thread::sleep(SETTLE);
                let after = outdial_results(server.port);
                eprintln!(
                    "webhooks {}: outdial {:.0}/s, results {after:?}",
                    d.name,
                    dup.rate()
                );
                d.ours
                    .add(&dup, &delta(&after, &results), &["duplicate"], true);
            }
            case.ours
                .dialed
                .push(backend.dialed(&db, pool.attempts) as f64);
        }
        let peer = self.peer(backend, pool)?;
        let run = wrk(dir, peer.port, conns, s.secs, pool, None)?;
        std::thread::sleep(SETTLE);
        let results = peer_results(peer.port);
        eprintln!(
            "webhooks {}: peer {:.0}/s, p50 {} ms, p99 {} ms, results {results:?}",
            case.name,
            run.rate(),
            fmt_num(run.p50_ms),
            fmt_num(run.p99_ms)
        );
        case.peer.add(&run, &results, &["applied"], false);
        if let Some(d) = dups {
            let limits = run.answered(conns);
            let dup = wrk(dir, peer.port, conns, s.dup_secs, pool, Some(&limits))?;
            std::thread::sleep(SETTLE);
            let after = peer_results(peer.port);
            eprintln!(
                "webhooks {}: peer {:.0}/s, results {after:?}",
                d.name,
                dup.rate()
            );
            d.peer
                .add(&dup, &delta(&after, &results), &["duplicate"], true);
        }
        Ok(())
    }
}

/// The table row of a case.
fn row_of(case: Case, peer_name: &str) -> Row {
    let mut extra = format!(
        "outdial {}; peer {}",
        case.ours.latency(),
        case.peer.latency()
    );
    if !case.ours.dialed.values.is_empty() {
        extra.push_str(&format!(
            "; dialing: {} calls placed during the run (median)",
            fmt_num(case.ours.dialed.median())
        ));
    }
    extra.push_str(&format!(
        "; load average {} at the runs' start (median)",
        fmt_num(case.ours.load.median().max(case.peer.load.median()))
    ));
    for n in case.ours.notes.iter().map(|n| format!("; outdial: {n}")) {
        extra.push_str(n.trim_end_matches("; "));
    }
    for n in case.peer.notes.iter().map(|n| format!("; peer: {n}")) {
        extra.push_str(n.trim_end_matches("; "));
    }
    let row = Row::alone(case.name, "callbacks/s", Better::Higher, case.ours.rate)
        .against(peer_name, case.peer.rate)
        .extra(extra);
    match case.goal {
        Some(g) => row.goal(g),
        None => row,
    }
}

fn new_case(name: String, goal: Option<String>) -> Case {
    Case {
        name,
        goal,
        ours: Figures::default(),
        peer: Figures::default(),
    }
}

/// Runs the webhooks workload.
pub async fn run(bench: &Bench) -> anyhow::Result<Section> {
    ensure_wrk()?;
    let peer_dir = install_peer(bench)?;
    let sizes = bench.pick(
        Sizes {
            secs: 2.0,
            dup_secs: 1.0,
            progress_attempts: 6_000,
            completed_attempts: 6_000,
        },
        Sizes {
            secs: 10.0,
            dup_secs: 5.0,
            progress_attempts: 40_000,
            completed_attempts: 60_000,
        },
    );
    let t0 = chrono::Utc::now();
    // Provider times inside [reservation, now]: nothing is clamped.
    let placed_at = (t0 - chrono::Duration::seconds(120))
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let at = (t0 - chrono::Duration::seconds(60)).to_rfc2822();
    let progress = write_pool(&bench.dir, Kind::Progress, sizes.progress_attempts, &at)?;
    let completed = write_pool(&bench.dir, Kind::Completed, sizes.completed_attempts, &at)?;

    let carrier_port = free_port()?;
    let mut carrier_cmd = Command::new(&bench.outdial);
    carrier_cmd.args([
        "carrier",
        "--listen",
        &format!("127.0.0.1:{carrier_port}"),
        "--provider",
        "twilio",
        "--auth-token",
        AUTH_TOKEN,
        "--account-sid",
        ACCOUNT_SID,
    ]);
    carrier_cmd.env("RUST_LOG", "warn");
    let carrier = start_carrier(carrier_cmd, carrier_port, &bench.dir)?;

    let ctx = Ctx {
        bench,
        peer_dir,
        carrier_port,
        sizes,
        placed_at,
    };
    let mut backends = vec![Backend::Sqlite];
    let mut skipped = Vec::new();
    match &bench.postgres_url {
        Some(url) => backends.push(Backend::Postgres(url.clone())),
        None => skipped.push("PostgreSQL cases: no --postgres-url".to_string()),
    }
    let mut rows = Vec::new();
    for backend in &backends {
        let b = backend.name();
        let peer_name = match backend {
            Backend::Sqlite => "Express + better-sqlite3",
            Backend::Postgres(_) => "Express + pg",
        };
        let mut c16 = new_case(
            format!("status callbacks, {b}, 16 connections"),
            Some(goal(backend, 16)),
        );
        let mut c64 = new_case(
            format!("status callbacks, {b}, 64 connections"),
            Some(goal(backend, 64)),
        );
        let mut done = new_case(
            format!("completed callbacks (conclude), {b}, 16 connections"),
            Some(goal(backend, 16)),
        );
        let mut dups = new_case(format!("duplicate callbacks, {b}, 16 connections"), None);
        for _ in 0..bench.repeat {
            ctx.measure(backend, &progress, 16, &mut c16, Some(&mut dups))?;
            ctx.measure(backend, &progress, 64, &mut c64, None)?;
            ctx.measure(backend, &completed, 16, &mut done, None)?;
        }
        backend.drop_databases();
        for c in [c16, c64, done, dups] {
            rows.push(row_of(c, peer_name));
        }
    }
    drop(carrier);
    Ok(Section {
        title: "Webhooks".into(),
        about: format!(
            "Signed Twilio status callbacks (about 0.9 KB, 30 fields, `X-Twilio-Signature` over \
             `{PUBLIC_URL}` + path + query) POSTed by wrk ({THREADS} threads, loopback) to \
             `outdial serve` and to the peer, an Express server using the `twilio` package's \
             `validateRequest` with one transaction per callback (insert the raw event, \
             deduplicated; update the call row if the sequence number is newer) on \
             better-sqlite3 (WAL, `synchronous=FULL`, as outdial's SQLite) or pg (pool of 16, \
             as outdial's). Every callback is for an attempt placed in the store, each applied \
             once: `initiated`, `ringing`, `in-progress` for each attempt (status), or \
             `completed`, which concludes the attempt inside the request. Duplicates: the \
             callbacks a status run applied, sent again. {} s per run ({} s for duplicates), \
             a fresh database per run; figures are 2xx answers per second. Dialing runs during \
             outdial's runs: {DIAL_LEADS} due leads dialed at 10 calls/s through `outdial \
             carrier` (the peer dials nothing). Latency is wrk's (from send to answer), the \
             median over runs of each run's p50 and p99.",
            fmt_num(ctx.sizes.secs),
            fmt_num(ctx.sizes.dup_secs)
        ),
        rows,
        skipped,
    })
}
