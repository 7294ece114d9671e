//! The processes: `outdial serve`, the peer and the fake carrier, and what is read from them
//! over loopback HTTP.

use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Bench;

/// A free port on loopback (bound and released).
pub(super) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET path` on loopback: the status and the body.
pub(super) fn http_get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped.
pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
    name: &'static str,
}

impl Server {
    /// Starts `cmd` and waits until `GET /healthz` answers 200.
    pub(super) fn start(
        mut cmd: Command,
        port: u16,
        name: &'static str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let log_file = std::fs::File::create(log)?;
        cmd.stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file));
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let mut server = Server { child, port, name };
        let started = Instant::now();
        loop {
            if matches!(http_get(port, "/healthz"), Ok((200, _))) {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{name} exited ({status}) before it answered; its log: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "{name} did not answer /healthz within 60 s (log {})",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `outdial_webhooks_total{provider="twilio"}` by result, from `/metrics`.
pub(super) fn outdial_results(port: u16) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Ok((200, body)) = http_get(port, "/metrics") {
        for line in body.lines() {
            if !line.starts_with("outdial_webhooks_total{") || !line.contains("\"twilio\"") {
                continue;
            }
            let result = line
                .split("result=\"")
                .nth(1)
                .and_then(|r| r.split('"').next());
            let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(r), Some(v)) = (result, value) {
                out.insert(r.to_owned(), v as u64);
            }
        }
    }
    out
}

/// `after - before`, by result.
pub(super) fn delta(
    after: &BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0).min(*v)))
        .collect()
}

/// The peer's `/stats`: answers by result.
pub(super) fn peer_results(port: u16) -> BTreeMap<String, u64> {
    http_get(port, "/stats")
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<BTreeMap<String, u64>>(&body).ok())
        .unwrap_or_default()
}

/// Copies the peer into `{bench.dir}/peer` and installs its packages there (once: kept
/// while its `package.json` is unchanged).
pub(super) fn install_peer(bench: &Bench) -> anyhow::Result<PathBuf> {
    let dir = bench.dir.join("peer");
    std::fs::create_dir_all(&dir)?;
    let package = include_str!("../../peer/package.json");
    let fresh = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .as_deref()
        != Some(package)
        || !dir.join("node_modules").exists();
    std::fs::write(dir.join("server.js"), include_str!("../../peer/server.js"))?;
    if fresh {
        std::fs::write(dir.join("package.json"), package)?;
        std::fs::write(
            dir.join("package-lock.json"),
            include_str!("../../peer/package-lock.json"),
        )?;
        eprintln!(
            "webhooks: installing the Express peer in {} (npm install; better-sqlite3 may \
             compile from source: a few minutes)",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel", "error"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .context("cannot run npm (the webhooks workload's peer needs Node 20+ and npm)")?;
        anyhow::ensure!(status.success(), "npm install of the peer failed: {status}");
    }
    Ok(dir)
}

/// `outdial carrier` on `port`, waited for (it has no `/healthz`: any HTTP answer will do).
pub(super) fn start_carrier(mut cmd: Command, port: u16, dir: &Path) -> anyhow::Result<Server> {
    let log = dir.join("webhooks-carrier.log");
    let f = std::fs::File::create(&log)?;
    cmd.stdout(Stdio::from(f.try_clone()?))
        .stderr(Stdio::from(f));
    let mut child = cmd.spawn().context("cannot start outdial carrier")?;
    let started = Instant::now();
    while http_get(port, "/").is_err() {
        if let Some(status) = child.try_wait()? {
            bail!(
                "outdial carrier exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "outdial carrier did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Server {
        child,
        port,
        name: "outdial carrier",
    })
}
