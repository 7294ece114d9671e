//! The load: pools of pre-signed callbacks, one file per wrk thread, and wrk with its Lua
//! script.

use anyhow::{bail, Context};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ACCOUNT_SID, AUTH_TOKEN, CHUNK, PUBLIC_URL, THREADS};
use crate::gen::national_number;
use outdial_providers::twilio::{signature, webhook};

/// wrk's script: each thread sends `{prefix}{thread}.txt` (lines `path TAB signature TAB
/// body`) in order, the first `limit` lines only when a limit is given, wrapping round at
/// the end; `done` prints the figures the harness reads.
const WRK_LUA: &str = r#"
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local limits = {}
  for v in string.gmatch(args[2] or "", "%d+") do limits[#limits + 1] = tonumber(v) end
  local limit = limits[tid + 1] or 0
  reqs = {}
  local f = assert(io.open(args[1] .. tid .. ".txt", "r"))
  for line in f:lines() do
    if limit > 0 and #reqs >= limit then break end
    local path, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig }, body)
  end
  f:close()
  n = #reqs
  sent = 0
end
function request()
  local r = reqs[(sent % n) + 1]
  sent = sent + 1
  return r
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
  for _, t in ipairs(threads) do
    io.write(string.format("BENCH_THREAD sent=%d n=%d\n", t:get("sent"), t:get("n")))
  end
end
"#;

/// Which callbacks a pool holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `initiated`, `ringing`, `in-progress` (sequence 0, 1, 2) for each attempt.
    Progress,
    /// `completed` (sequence 3, 30 s) for each attempt, straight from `placed`.
    Completed,
}

impl Kind {
    /// What outdial answers for each of these callbacks: `initiated` is recorded and
    /// changes nothing (`stale`: it does not move a `placed` attempt), the others are applied.
    pub(super) fn expected(self) -> &'static [&'static str] {
        match self {
            Kind::Progress => &["applied", "stale"],
            Kind::Completed => &["applied"],
        }
    }
}

/// Pre-signed callbacks for attempts `1..=attempts`, one file per wrk thread.
pub(super) struct Pool {
    /// `{prefix}{thread}.txt`.
    pub(super) prefix: PathBuf,
    /// Attempts (and leads) they are for.
    pub(super) attempts: u64,
    /// Which callbacks.
    pub(super) kind: Kind,
}

/// The form Twilio posts for one status of one call, with the fields a real callback
/// carries (about 0.9 KB, 30 fields), signed over [`PUBLIC_URL`].
pub(super) fn callback_line(attempt: u64, status: &str, seq: u32, at: &str) -> String {
    let to = format!("+1{}", national_number(attempt - 1));
    let sid = format!("CA{attempt:032x}");
    let mut pairs: Vec<(&str, String)> = vec![
        ("Called", to.clone()),
        ("ToState", "NY".into()),
        ("CallerCountry", "US".into()),
        ("Direction", "outbound-api".into()),
        ("Timestamp", at.into()),
        ("CallbackSource", "call-progress-events".into()),
        ("CallerState", "CA".into()),
        ("ToZip", String::new()),
        ("SequenceNumber", seq.to_string()),
        ("To", to.clone()),
        ("CallSid", sid),
        ("ToCountry", "US".into()),
        ("CallerZip", "94105".into()),
        ("CalledZip", String::new()),
        ("ApiVersion", "2010-04-01".into()),
        ("CallStatus", status.into()),
        ("CalledCity", "NEW YORK".into()),
        ("From", "+14155550100".into()),
        ("AccountSid", ACCOUNT_SID.into()),
        ("CalledCountry", "US".into()),
        ("CallerCity", "SAN FRANCISCO".into()),
        ("ToCity", "NEW YORK".into()),
        ("FromCountry", "US".into()),
        ("Caller", "+14155550100".into()),
        ("FromCity", "SAN FRANCISCO".into()),
        ("CalledState", "NY".into()),
        ("FromZip", "94105".into()),
        ("FromState", "CA".into()),
    ];
    if status == "completed" {
        pairs.push(("CallDuration", "30".into()));
        pairs.push(("Duration", "1".into()));
        pairs.push(("SipResponseCode", "200".into()));
        pairs.push(("AnsweredBy", "human".into()));
    }
    let path = format!("{}?attempt={attempt}", webhook::STATUS_CALLBACK_PATH);
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let sig = signature::compute_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), &owned);
    let body = serde_urlencoded::to_string(&pairs).expect("string pairs always encode");
    format!("{path}\t{sig}\t{body}\n")
}

/// Writes the pool of `kind` callbacks for attempts `1..=attempts`: attempt `a` goes to
/// thread `(a - 1) mod THREADS`; within a thread, chunks of [`CHUNK`] attempts, each status
/// of the chunk after the one before.
pub(super) fn write_pool(dir: &Path, kind: Kind, attempts: u64, at: &str) -> anyhow::Result<Pool> {
    let prefix = dir.join(format!("callbacks-{kind:?}-{attempts}-").to_lowercase());
    let statuses: &[(&str, u32)] = match kind {
        Kind::Progress => &[("initiated", 0), ("ringing", 1), ("in-progress", 2)],
        Kind::Completed => &[("completed", 3)],
    };
    for t in 0..THREADS {
        let file = PathBuf::from(format!("{}{t}.txt", prefix.display()));
        let mut w = BufWriter::new(std::fs::File::create(&file)?);
        let mine: Vec<u64> = (1..=attempts)
            .filter(|a| (a - 1) % THREADS as u64 == t as u64)
            .collect();
        for chunk in mine.chunks(CHUNK as usize) {
            for (status, seq) in statuses {
                for &a in chunk {
                    w.write_all(callback_line(a, status, *seq, at).as_bytes())?;
                }
            }
        }
        w.flush()?;
    }
    Ok(Pool {
        prefix,
        attempts,
        kind,
    })
}

/// One wrk run's figures.
#[derive(Debug, Clone, Default)]
pub(super) struct WrkRun {
    pub(super) requests: u64,
    pub(super) duration_s: f64,
    /// Answers other than 2xx/3xx.
    pub(super) non_2xx: u64,
    pub(super) socket_errors: u64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    /// Requests each thread sent, and the lines of its file it had.
    pub(super) sent: Vec<(u64, u64)>,
    /// The one-minute load average when the run began (the machine may be shared).
    pub(super) load: f64,
}

impl WrkRun {
    /// 2xx answers per second.
    pub(super) fn rate(&self) -> f64 {
        self.requests.saturating_sub(self.non_2xx) as f64 / self.duration_s
    }

    /// Whether some thread ran out of distinct callbacks and wrapped round.
    pub(super) fn exhausted(&self) -> bool {
        self.sent.iter().any(|(s, n)| s > n)
    }

    /// Per thread, how many of its first lines were surely answered: one request at a time
    /// per connection, so all but the last `per_thread_conns` (twice that, to be safe).
    pub(super) fn answered(&self, conns: usize) -> Vec<u64> {
        let per = (conns / THREADS) as u64;
        self.sent
            .iter()
            .map(|(s, n)| s.min(n).saturating_sub(2 * per).max(1))
            .collect()
    }
}

/// Fails with how to install wrk when it is missing.
pub(super) fn ensure_wrk() -> anyhow::Result<()> {
    match Command::new("wrk").arg("-v").output() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "the webhooks workload needs wrk, the HTTP load generator: install it \
             (Debian/Ubuntu: apt-get install -y wrk) or leave the workload out (--only)"
        ),
        Err(e) => Err(e).context("cannot run wrk"),
    }
}

/// `wrk` at `conns` connections for `secs` against `port`, sending `pool` (the first
/// `limits[t]` lines of thread `t`'s file, when given).
pub(super) fn wrk(
    dir: &Path,
    port: u16,
    conns: usize,
    secs: f64,
    pool: &Pool,
    limits: Option<&[u64]>,
) -> anyhow::Result<WrkRun> {
    let script = dir.join("callbacks.lua");
    if !script.exists() {
        std::fs::write(&script, WRK_LUA)?;
    }
    let limits = limits.map_or(String::new(), |l| {
        l.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    });
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN);
    let out = crate::proc::measure(
        Command::new("wrk").args([
            "-t",
            &THREADS.to_string(),
            "-c",
            &conns.to_string(),
            "-d",
            &format!("{}s", secs.round().max(1.0) as u64),
            "--timeout",
            "10s",
            "-s",
            &script.display().to_string(),
            &format!("http://127.0.0.1:{port}"),
            "--",
            &pool.prefix.display().to_string(),
            &limits,
        ]),
        false,
        false,
    )?
    .stdout;
    let mut run = WrkRun {
        load,
        ..WrkRun::default()
    };
    let field = |line: &str, name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    for line in out.lines() {
        if let Some(l) = line.strip_prefix("BENCH ") {
            run.requests = field(l, "requests");
            run.duration_s = field(l, "duration_us") as f64 / 1e6;
            run.non_2xx = field(l, "status");
            run.socket_errors = ["connect", "read", "write", "timeout"]
                .iter()
                .map(|n| field(l, n))
                .sum();
            run.p50_ms = field(l, "p50_us") as f64 / 1000.0;
            run.p99_ms = field(l, "p99_us") as f64 / 1000.0;
        } else if let Some(l) = line.strip_prefix("BENCH_THREAD ") {
            run.sent.push((field(l, "sent"), field(l, "n")));
        }
    }
    anyhow::ensure!(
        run.duration_s > 0.0,
        "wrk printed no figures (its output: {out})"
    );
    Ok(run)
}
