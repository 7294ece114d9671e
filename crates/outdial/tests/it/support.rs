//! What the multi-process tests (`e2e`, `fleet`, `crash`) share: the lead file, the campaign
//! and the import, the scaled clock every process agrees on, the fake carrier's configuration,
//! the `outdial serve` command line, spawning, signalling and killing it, waiting for
//! `/healthz`, the admin API calls, and running and printing the invariant checks.

use chrono::{DateTime, Utc};
use outdial_carrier::{CarrierConfig, FaultSpec, LedgerEntry};
use outdial_clock::{Clock, ScaledClock};
use outdial_core::compliance::StateRules;
use outdial_core::{AnswerBehaviour, CampaignSettings, MachineHandling, Region, E164};
use outdial_sim::checks::{self, CheckReport};
use outdial_store::{Attempt, Store};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use outdial_testkit::pg::POSTGRES_URL_VAR;
/// Account SID shared by the carrier and every `outdial` process of a test.
pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
/// Auth token shared by the carrier and every `outdial` process of a test.
pub const TOKEN: &str = "it-auth-token";
/// The admin API key of every `outdial serve` of a test.
pub const API_KEY: &str = "it-api-key-0123456789";

/// The `outdial` binary, without the test's own `OUTDIAL_TEST_POSTGRES_URL` (each process is
/// told its database with `--db`).
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
    cmd.env_remove(POSTGRES_URL_VAR);
    cmd
}

/// A TCP port free at the time of the call, for a server started later. It is taken below
/// the kernel's ephemeral range (32768 and up by default), so that no socket bound to port 0
/// meanwhile (a carrier listener, an outgoing connection, another test) can take it before
/// the server binds it, nor while a killed server is being restarted on it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..1000 {
        // Each `RandomState` has new keys: a random number without an extra crate.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends a signal with the `kill` command (no unsafe code, no extra crate).
pub fn send_signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

// ---------------------------------------------------------------------------------------------
// Lead files

/// Area codes with a state each, all valid for libphonenumber, over every US time zone.
pub const AREAS: [(&str, &str); 20] = [
    ("212", "NY"),
    ("415", "CA"),
    ("312", "IL"),
    ("305", "FL"),
    ("602", "AZ"),
    ("808", "HI"),
    ("214", "TX"),
    ("617", "MA"),
    ("702", "NV"),
    ("206", "WA"),
    ("404", "GA"),
    ("303", "CO"),
    ("215", "PA"),
    ("313", "MI"),
    ("612", "MN"),
    ("504", "LA"),
    ("801", "UT"),
    ("907", "AK"),
    ("704", "NC"),
    ("503", "OR"),
];

/// The shape of a generated lead file in the VICIdial layout.
pub struct LeadFile<'a> {
    /// Area codes (with their states) the valid numbers cycle through.
    pub areas: &'a [(&'a str, &'a str)],
    /// Distinct valid numbers.
    pub valid: usize,
    /// Rows repeating valid row `i * duplicate_stride`, written differently.
    pub duplicates: usize,
    /// See `duplicates`.
    pub duplicate_stride: usize,
    /// Rows whose number is invalid.
    pub invalid: usize,
}

impl LeadFile<'_> {
    /// Rows in the file.
    pub fn rows(&self) -> usize {
        self.valid + self.duplicates + self.invalid
    }

    /// Writes the file; returns the valid numbers in E.164, in file order (the first few
    /// are the tests' special numbers: always busy, never ending, refused by the carrier...).
    pub fn write(&self, path: &Path) -> Vec<String> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut rows = Vec::new();
        for i in 0..self.valid {
            let (npa, st) = self.areas[i % self.areas.len()];
            let number = format!("{npa}{:03}{:04}", 200 + (i % 700), 1000 + i);
            rows.push((format!("V{i:05}"), number, st.to_string()));
        }
        for i in 0..self.duplicates {
            let (n, st) = (
                rows[i * self.duplicate_stride].1.clone(),
                rows[i * self.duplicate_stride].2.clone(),
            );
            let pretty = format!("({}) {}-{}", &n[0..3], &n[3..6], &n[6..]);
            rows.push((format!("D{i:05}"), pretty, st));
        }
        for i in 0..self.invalid {
            let bad = match i % 3 {
                0 => format!("12{i}"),
                1 => "not-a-number".to_string(),
                _ => format!("(011) 555-{i:04}"),
            };
            rows.push((format!("X{i:05}"), bad, "NY".into()));
        }
        assert_eq!(rows.len(), self.rows());
        for (code, phone, state) in &rows {
            // vendor_lead_code, source_id, list_id, phone_code, phone_number, title,
            // first_name, middle_initial, last_name, address1, address2, address3, city,
            // state, province, postal_code, country_code, gender, date_of_birth, alt_phone,
            // email, security_phrase, comments
            writeln!(f, "{code}\tsrc\t1001\t1\t{phone}\t\tAlex\t\tDoe\t1 Main St\t\t\tTown\t{state}\t\t10001\tUSA\t\t\t\t\t\t").unwrap();
        }
        f.flush().unwrap();
        rows[..self.valid]
            .iter()
            .map(|(_, n, _)| E164::parse(n, Region::US).unwrap().to_string())
            .collect()
    }

    /// The summary line `outdial import` prints for this file.
    pub fn import_summary(&self) -> String {
        format!(
            "{} rows read, {} imported, {} duplicates skipped, {} rejected",
            self.rows(),
            self.valid,
            self.duplicates,
            self.invalid
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Campaign and import

/// Creates campaign `name` in `db` (a SQLite path or a PostgreSQL URL) with the default
/// policy (0, 2, 5, 10, 30, 60, 120 min; 8 per local day) and machine detection on; the
/// settings file is written into `dir`.
pub fn create_campaign(db: impl AsRef<OsStr>, name: &str, dir: &Path) {
    let mut settings = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).unwrap(),
        AnswerBehaviour::flow_url("https://example.com/twiml"),
    );
    settings.machine = MachineHandling::detect();
    let settings_path = dir.join("campaign.json");
    std::fs::write(&settings_path, serde_json::to_string(&settings).unwrap()).unwrap();
    let out = bin()
        .args(["campaign", "create", name, "--settings"])
        .arg(&settings_path)
        .arg("--db")
        .arg(db.as_ref())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "campaign create failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Imports `leads` into `campaign` with the clock reading `start`. Panics unless the import
/// succeeds; returns its standard output and standard error.
pub fn import_leads(
    db: impl AsRef<OsStr>,
    leads: &Path,
    campaign: &str,
    start: DateTime<Utc>,
) -> (String, String) {
    let out = bin()
        .arg("import")
        .arg(leads)
        .args(["--campaign", campaign, "--clock-start", &start.to_rfc3339()])
        .arg("--db")
        .arg(db.as_ref())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Adds `phone` to the internal DNC list of `db`.
pub fn dnc_add(db: impl AsRef<OsStr>, phone: &str) {
    let st = bin()
        .args(["dnc", "add", phone, "--db"])
        .arg(db.as_ref())
        .status()
        .unwrap();
    assert!(st.success());
}

// ---------------------------------------------------------------------------------------------
// Clock and carrier

/// A scaled clock given to every process of a test by the same three flags, so that all of
/// them (and every restart of one) agree on the simulated time.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    /// The simulated instant at `anchor`.
    pub start: DateTime<Utc>,
    /// Real Unix milliseconds at which the clock reads `start`.
    pub anchor: i64,
    /// Simulated seconds per real second.
    pub speed: f64,
}

impl SimClock {
    /// A clock reading `start` `lead_ms` real milliseconds from now.
    pub fn new(start: DateTime<Utc>, speed: f64, lead_ms: i64) -> SimClock {
        SimClock {
            start,
            anchor: outdial_clock::real_unix_ms() + lead_ms,
            speed,
        }
    }

    /// `--clock-start`, `--speed` and `--clock-anchor`.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--clock-start".into(),
            self.start.to_rfc3339(),
            "--speed".into(),
            self.speed.to_string(),
            "--clock-anchor".into(),
            self.anchor.to_string(),
        ]
    }

    /// The same clock in this process.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(ScaledClock::new(self.start, self.anchor, self.speed).unwrap())
    }
}

/// A carrier configuration with the tests' credentials.
pub fn carrier_config(
    seed: u64,
    faults: &str,
    always_busy: &[String],
    never_ends: &[String],
    invalid: &[String],
) -> CarrierConfig {
    CarrierConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        seed,
        faults: faults.parse::<FaultSpec>().unwrap(),
        always_busy: always_busy.to_vec(),
        never_ends: never_ends.to_vec(),
        invalid: invalid.to_vec(),
        ..CarrierConfig::default()
    }
}

/// Starts the fake carrier in this process on a free port.
pub async fn start_carrier(
    config: CarrierConfig,
    clock: Arc<dyn Clock>,
) -> outdial_carrier::CarrierHandle {
    outdial_carrier::start(config, clock, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// `outdial serve`

/// How to run one `outdial serve` process.
#[derive(Debug, Clone)]
pub struct Serve {
    /// `--db`: a SQLite path or a PostgreSQL URL.
    pub db: OsString,
    /// Listens on `127.0.0.1:port`; also its public URL.
    pub port: u16,
    /// `--instance-id`, if any.
    pub instance_id: Option<String>,
    /// The shared clock.
    pub clock: SimClock,
    /// The carrier's API base URL.
    pub carrier_base: String,
    /// `OUTDIAL_DIALER__CALLS_PER_SECOND`.
    pub calls_per_second: f64,
    /// `OUTDIAL_DIALER__MAX_CONCURRENT`.
    pub max_concurrent: u32,
    /// Further `OUTDIAL_*` variables.
    pub env: Vec<(String, String)>,
}

impl Serve {
    /// A server on a free port.
    pub fn new(
        db: impl AsRef<OsStr>,
        clock: SimClock,
        carrier_base: &str,
        calls_per_second: f64,
        max_concurrent: u32,
    ) -> Serve {
        Serve {
            db: db.as_ref().to_owned(),
            port: free_port(),
            instance_id: None,
            clock,
            carrier_base: carrier_base.to_owned(),
            calls_per_second,
            max_concurrent,
            env: Vec::new(),
        }
    }

    /// Its base URL, also the `--public-url` the carrier's callbacks go to.
    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The full command line and environment.
    pub fn command(&self) -> Command {
        let mut cmd = bin();
        cmd.arg("serve").arg("--db").arg(&self.db);
        if let Some(id) = &self.instance_id {
            cmd.args(["--instance-id", id]);
        }
        cmd.args([
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--public-url",
            &self.public_url(),
        ])
        .args(self.clock.args())
        .env("OUTDIAL_TWILIO__API_BASE", &self.carrier_base)
        .env("OUTDIAL_TWILIO__ACCOUNT_SID", SID)
        .env("OUTDIAL_TWILIO__AUTH_TOKEN", TOKEN)
        .env("OUTDIAL_API_KEYS", format!("[\"{API_KEY}\"]"))
        .env(
            "OUTDIAL_DIALER__CALLS_PER_SECOND",
            self.calls_per_second.to_string(),
        )
        .env(
            "OUTDIAL_DIALER__MAX_CONCURRENT",
            self.max_concurrent.to_string(),
        )
        .env("OUTDIAL_DIALER__TICK_MS", "50")
        .env("RUST_LOG", "warn")
        .envs(self.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        cmd
    }

    /// Starts the process (it is not yet serving: see [`ServeProcess::wait_healthy`]).
    pub fn spawn(&self) -> ServeProcess {
        ServeProcess {
            public_url: self.public_url(),
            child: Some(self.command().spawn().unwrap()),
        }
    }
}

/// A running `outdial serve`; killed (SIGKILL) if still running when dropped, so that a
/// failing test leaves no process behind.
#[derive(Debug)]
pub struct ServeProcess {
    /// Its base URL.
    pub public_url: String,
    child: Option<Child>,
}

impl ServeProcess {
    /// `public_url` + `path`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The process id (panics once it was stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("serve running").id()
    }

    /// The exit status if the process has exited (it has not been waited for by this value).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Panics (naming the process as `what`) if it has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Some(code) = self.exited() {
            panic!("{what} exited early with {code}");
        }
    }

    /// Waits until `/healthz` answers (at most `timeout`); panics if it does not or if the
    /// process exits meanwhile.
    pub async fn wait_healthy(&mut self, http: &reqwest::Client, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            if http.get(self.api("/healthz")).send().await.is_ok() {
                return;
            }
            self.assert_running(what);
            assert!(Instant::now() < deadline, "{what} did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills it with SIGKILL (`Child::kill` on Unix) and reaps it; returns its exit status.
    pub fn kill(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("serve running");
        child.kill().unwrap();
        child.wait().unwrap()
    }

    /// Sends `sig` with `kill` and waits for the process; returns its exit status.
    pub fn signal_and_wait(&mut self, sig: &str) -> ExitStatus {
        let mut child = self.child.take().expect("serve running");
        send_signal(child.id(), sig);
        child.wait().unwrap()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `GET /api/v1/status`, panicking (naming `what`) if it fails.
pub async fn status(http: &reqwest::Client, base: &str, what: &str) -> serde_json::Value {
    let res = http
        .get(format!("{base}/api/v1/status"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("status of {what}: {e}"));
    assert!(
        res.status().is_success(),
        "status of {what}: {}",
        res.status()
    );
    res.json().await.unwrap()
}

/// `GET /api/v1/status` without an API key must be refused.
pub async fn assert_status_needs_key(http: &reqwest::Client, base: &str, what: &str) {
    let unauth = http
        .get(format!("{base}/api/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401, "{what}");
}

/// `POST /api/v1/dialer/stop`.
pub async fn stop_dialer(http: &reqwest::Client, base: &str) {
    let stop = http
        .post(format!("{base}/api/v1/dialer/stop"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert!(stop.status().is_success(), "{}", stop.status());
}

/// Waits (at most `timeout`) until the server reports at most `left` attempts in flight;
/// returns the last count seen.
pub async fn drain(
    http: &reqwest::Client,
    base: &str,
    left: u64,
    timeout: Duration,
) -> Option<u64> {
    let deadline = Instant::now() + timeout;
    loop {
        let in_flight = status(http, base, base).await["attempts_in_flight"].as_u64();
        if in_flight.is_some_and(|n| n <= left) || Instant::now() > deadline {
            return in_flight;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Runs `checks::check_all` with the built-in state rules and prints its lines.
pub async fn run_checks(store: &dyn Store, ledger: &[LedgerEntry]) -> CheckReport {
    let report = checks::check_all(store, ledger, &StateRules::builtin())
        .await
        .unwrap();
    for line in report.lines() {
        eprintln!("{line}");
    }
    report
}

/// Prints, for the numbers named in failed checks (at most five), their attempts in the store
/// and their calls in the carrier's ledger, side by side in time.
pub fn explain_failures(report: &CheckReport, attempts: &[Attempt], ledger: &[LedgerEntry]) {
    let mut numbers = Vec::new();
    for c in report.checks.iter().filter(|c| !c.ok) {
        let d = c.detail.as_bytes();
        for (i, _) in c.detail.match_indices("+1") {
            let end = i + 1 + d[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            let n = &c.detail[i..end];
            if n.len() == 12 && !numbers.iter().any(|m| m == n) {
                numbers.push(n.to_string());
            }
        }
    }
    for n in numbers.iter().take(5) {
        explain_number(n, attempts, ledger);
    }
}

/// Prints one number's attempts in the store and calls in the carrier's ledger.
pub fn explain_number(n: &str, attempts: &[Attempt], ledger: &[LedgerEntry]) {
    eprintln!("-- {n}");
    for a in attempts.iter().filter(|a| a.phone.as_str() == n) {
        eprintln!(
            "   attempt {} #{} {} reserved {} placed {:?} ended {:?} concluded {:?} call {:?} \
             error {:?}",
            a.id,
            a.number,
            a.state.as_str(),
            a.reserved_at,
            a.placed_at,
            a.ended_at,
            a.concluded_at,
            a.call_id.as_ref().map(|c| c.to_string()),
            a.error_code
        );
    }
    for e in ledger.iter().filter(|e| e.to == n) {
        eprintln!(
            "   carrier {} created {} ended {:?} {:?}",
            e.call_sid, e.created_at, e.ended_at, e.final_status
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Providers other than the default one (issue 11): `outdial serve` with a chosen set of
// provider sections, campaigns created from CLI flags, the fake Bland's call list, `explain`.

/// The Bland API key every `outdial serve` of a test is given: the fake Bland's default.
pub const BLAND_API_KEY: &str = outdial_carrier::DEFAULT_BLAND_API_KEY;
/// The Bland webhook signing secret every `outdial serve` of a test is given: the fake
/// Bland's default.
pub const BLAND_WEBHOOK_SECRET: &str = outdial_carrier::DEFAULT_BLAND_WEBHOOK_SECRET;

/// The Twilio variables [`Serve::command`] sets.
const TWILIO_ENV: [&str; 3] = [
    "OUTDIAL_TWILIO__API_BASE",
    "OUTDIAL_TWILIO__ACCOUNT_SID",
    "OUTDIAL_TWILIO__AUTH_TOKEN",
];

impl Serve {
    /// [`Serve::command`] with exactly the provider sections of `providers`: without Twilio,
    /// no `OUTDIAL_TWILIO__*` variable reaches the process (not even one inherited from the
    /// test's environment), so the Twilio section stays empty; with Bland, `OUTDIAL_BLAND__*`
    /// points the `[bland]` section at the carrier (`carrier_base`) with the fake Bland's
    /// default key and secret ([`BLAND_API_KEY`], [`BLAND_WEBHOOK_SECRET`]) and a 10 s
    /// request timeout. `env` still applies last for Bland variables.
    pub fn command_for(&self, providers: &[outdial_core::ProviderKind]) -> Command {
        use outdial_core::ProviderKind;
        let mut cmd = self.command();
        if !providers.contains(&ProviderKind::Twilio) {
            for var in TWILIO_ENV {
                cmd.env_remove(var);
            }
        }
        if providers.contains(&ProviderKind::Bland) {
            cmd.env("OUTDIAL_BLAND__API_BASE", &self.carrier_base)
                .env("OUTDIAL_BLAND__API_KEY", BLAND_API_KEY)
                .env("OUTDIAL_BLAND__WEBHOOK_SECRET", BLAND_WEBHOOK_SECRET)
                .env("OUTDIAL_BLAND__REQUEST_TIMEOUT_S", "10")
                .envs(
                    self.env
                        .iter()
                        .filter(|(k, _)| k.starts_with("OUTDIAL_BLAND__"))
                        .map(|(k, v)| (k, v)),
                );
        }
        cmd
    }

    /// Starts [`Serve::command_for`] `providers` (not yet serving: see
    /// [`ServeProcess::wait_healthy`]).
    pub fn spawn_for(&self, providers: &[outdial_core::ProviderKind]) -> ServeProcess {
        ServeProcess {
            public_url: self.public_url(),
            child: Some(self.command_for(providers).spawn().unwrap()),
        }
    }
}

/// Runs `outdial campaign create NAME ARGS… --db DB` (flags only, no settings file); panics
/// unless it succeeds.
pub fn create_campaign_with_flags(db: impl AsRef<OsStr>, name: &str, args: &[&str]) {
    let out = bin()
        .args(["campaign", "create", name])
        .args(args)
        .arg("--db")
        .arg(db.as_ref())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "campaign create {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every call the fake Bland at `carrier_base` lists (`GET /v1/calls`, one page holding
/// all), as call objects with their `metadata` and `disposition_tag`.
pub async fn bland_calls(http: &reqwest::Client, carrier_base: &str) -> Vec<serde_json::Value> {
    let res = http
        .get(format!(
            "{carrier_base}/v1/calls?limit=1000000&ascending=true"
        ))
        .header("Authorization", BLAND_API_KEY)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "GET /v1/calls: {}", res.status());
    let body: serde_json::Value = res.json().await.unwrap();
    let calls = body["calls"].as_array().expect("a calls array").clone();
    assert_eq!(
        body["total_count"].as_u64(),
        Some(calls.len() as u64),
        "one page should hold every call"
    );
    calls
}

/// `outdial explain LEAD --json --db DB` (a lead id or a phone number): its JSON array of
/// lead explanations. Panics unless the command succeeds.
pub fn explain_json(db: impl AsRef<OsStr>, lead: &str) -> serde_json::Value {
    let out = bin()
        .args(["explain", lead, "--json", "--db"])
        .arg(db.as_ref())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "explain {lead} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `GET /api/v1/leads/{id}/explain` of the server at `base`.
pub async fn explain_api(http: &reqwest::Client, base: &str, lead: i64) -> serde_json::Value {
    let res = http
        .get(format!("{base}/api/v1/leads/{lead}/explain"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "explain {lead}: {}",
        res.status()
    );
    res.json().await.unwrap()
}
