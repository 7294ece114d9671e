//! `outdial demo`: the whole loop on one machine. A new SQLite file, the in-process fake
//! carrier, the shipped sample lead list (VICIdial layout), a demo campaign with short
//! intervals, the real provider adapter over loopback HTTP, on a fast clock. Prints progress,
//! then a summary and the ledger checks, and exits 0 when every check holds.
//!
//! `--provider` chooses whose API the campaign calls through (the fake carrier serves both
//! on one port, with one ledger); `both` runs two campaigns side by side in one `serve`,
//! the lead list split between them.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use outdial_carrier::{CarrierConfig, FaultSpec};
use outdial_clock::{Clock, ScaledClock};
use outdial_core::schedule::{CallingWindow, RedialPolicy};
use outdial_core::{CampaignSettings, MachineHandling, ProviderKind, Region, E164};
use outdial_store_sqlite::OpenMode;
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use outdial_sim::checks;

/// The sample lead list shipped with outdial (VICIdial standard list-load layout).
pub const SAMPLE_LEADS: &str = include_str!("../../../../samples/leads-vicidial.txt");

const DEMO_ACCOUNT_SID: &str = "ACd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";
const DEMO_AUTH_TOKEN: &str = "demo-auth-token";
const DEMO_API_KEY: &str = "demo-api-key-0123456789";

/// The providers a demo runs campaigns on: one provider's name, or `both`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoProviders(pub Vec<ProviderKind>);

/// The default provider alone.
impl Default for DemoProviders {
    fn default() -> Self {
        DemoProviders(vec![ProviderKind::default()])
    }
}

/// A provider's name, or `both` for all of them.
impl std::fmt::Display for DemoProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            _ => f.write_str("both"),
        }
    }
}

impl std::str::FromStr for DemoProviders {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("both") {
            return Ok(DemoProviders(ProviderKind::ALL.to_vec()));
        }
        s.parse::<ProviderKind>()
            .map(|k| DemoProviders(vec![k]))
            .map_err(|e| format!("{e}, or both"))
    }
}

/// Arguments of `outdial demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Lead file (default: the shipped sample in the VICIdial layout).
    #[arg(long)]
    pub leads: Option<PathBuf>,
    /// New SQLite file to create (must not exist). Default: a new file in the temp folder.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Carrier faults, e.g. `lose=0.3,duplicate=0.2,reorder=0.2,delay=5s,ambiguous=0.05`.
    #[arg(
        long,
        default_value = "lose=0.1,duplicate=0.1,reorder=0.1,delay=3s,ambiguous=0.02"
    )]
    pub faults: String,
    /// Seed of the carrier's outcomes and faults.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated start instant (default Monday 2026-01-05 08:00 in New York).
    #[arg(long, value_parser = crate::app::parse_rfc3339, default_value = "2026-01-05T13:00:00Z")]
    pub clock_start: DateTime<Utc>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 3000.0)]
    pub speed: f64,
    /// Simulated time to run (humantime: `2days`, `36h`); the demo ends sooner when every
    /// lead is done.
    #[arg(long, default_value = "2days", value_parser = humantime::parse_duration)]
    pub run_for: std::time::Duration,
    /// Write the carrier's ledger of placed calls here (CSV).
    #[arg(long)]
    pub carrier_ledger: Option<PathBuf>,
    /// Write the attempt log here (CSV).
    #[arg(long)]
    pub attempts_csv: Option<PathBuf>,
    /// Whose API the demo campaign calls through: a provider's name, or `both` (two
    /// campaigns in one `serve`, the leads split between them).
    #[arg(long, default_value_t = DemoProviders::default())]
    pub provider: DemoProviders,
    /// After the run, keep the server (admin API, `/metrics`) and the fake carrier up until
    /// Ctrl-C, with the dialer stopped, so the results can be looked at.
    #[arg(long)]
    pub serve: bool,
    /// Address the demo's server listens on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

/// The demo campaign on `provider`: short progressive intervals, federal hours, New York as
/// fallback zone, the provider's answer behaviour ([`crate::app::demo_answer`]).
pub fn demo_campaign(provider: ProviderKind) -> CampaignSettings {
    let mut s = CampaignSettings::new(
        E164::parse("+15005550006", Region::US).expect("valid caller id"),
        crate::app::demo_answer(provider),
    );
    s.provider = provider;
    s.redial = RedialPolicy {
        intervals_min: vec![0, 1, 2, 5, 10, 20, 30],
        max_per_local_day: 8,
        max_total: None,
        ..RedialPolicy::default()
    };
    s.calling_window = CallingWindow::default();
    s.ring_timeout_s = 25;
    s.machine = MachineHandling::detect();
    s.fallback_time_zone = Some(chrono_tz::America::New_York);
    s
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "error");
    let faults: FaultSpec = args
        .faults
        .parse()
        .map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
    let run_for = Duration::from_std(args.run_for).context("--run-for is too long")?;
    let work = tempdir()?;
    let db = match &args.db {
        Some(p) if p.exists() => bail!("--db {} exists; the demo needs a new file", p.display()),
        Some(p) => p.clone(),
        None => work.join("outdial-demo.db"),
    };
    let leads_path = match &args.leads {
        Some(p) => p.clone(),
        None => {
            let p = work.join("leads-vicidial.txt");
            std::fs::write(&p, SAMPLE_LEADS)?;
            p
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(
        ScaledClock::starting_now(args.clock_start, args.speed).map_err(anyhow::Error::msg)?,
    );
    let store = crate::app::open_store(&db, OpenMode::CreateIfMissing).await?;
    let kinds = args.provider.0.clone();
    // One campaign per provider; with several, each gets every n-th row of the lead file.
    let parts = split_rows(&leads_path, kinds.len(), &work)?;
    let mut imported = crate::import::ImportOutcome::default();
    let mut rejected_rows = Vec::new();
    let state_rules = outdial_core::compliance::StateRules::builtin();
    for (kind, part) in kinds.iter().zip(&parts) {
        let settings = demo_campaign(*kind);
        outdial_providers::check_campaign(&settings).map_err(anyhow::Error::msg)?;
        let name = if kinds.len() == 1 {
            "demo".to_owned()
        } else {
            format!("demo-{kind}")
        };
        let campaign = store.create_campaign(&name, &settings, clock.now()).await?;
        let target = crate::import::ImportTarget {
            store: &*store,
            campaign: &campaign,
            region: Region::US,
            state_rules: &state_rules,
            dry_run: false,
            now: clock.now(),
        };
        let one = crate::import::import_file(target, part, &mut rejected_rows).await?;
        imported.rows += one.rows;
        imported.inserted += one.inserted;
        imported.duplicates += one.duplicates;
        imported.rejected += one.rejected;
    }
    let special = checks::first_valid_numbers(&leads_path, 2)?;
    println!("outdial demo");
    println!("  database      {}", db.display());
    println!(
        "  leads         {} ({} rows: {} imported, {} duplicates, {} rejected)",
        leads_path.display(),
        imported.rows,
        imported.inserted,
        imported.duplicates,
        imported.rejected
    );
    for line in String::from_utf8_lossy(&rejected_rows).lines() {
        println!("    rejected    {line}");
    }
    println!(
        "  clock         {} at {}x for {}",
        args.clock_start.to_rfc3339(),
        args.speed,
        humantime::format_duration(args.run_for)
    );
    println!(
        "  faults        {}",
        if args.faults.is_empty() {
            "none"
        } else {
            &args.faults
        }
    );
    if let [busy, endless] = special.as_slice() {
        println!("  always busy   {busy}");
        println!("  never ends    {endless}");
    }

    let carrier_config = super::carrier::demo_config(CarrierConfig {
        account_sid: DEMO_ACCOUNT_SID.into(),
        auth_token: DEMO_AUTH_TOKEN.into(),
        seed: args.seed,
        faults,
        always_busy: special.first().cloned().into_iter().collect(),
        never_ends: special.get(1).cloned().into_iter().collect(),
        ..CarrierConfig::default()
    });
    let carrier = outdial_carrier::start(
        carrier_config.clone(),
        clock.clone(),
        "127.0.0.1:0".parse().expect("valid"),
    )
    .await
    .context("starting the fake carrier")?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let mut cfg = Config {
        public_url: public_url.clone(),
        api_keys: vec![SecretString::from(DEMO_API_KEY.to_string())],
        ..Config::default()
    };
    crate::app::use_fake_carrier(&mut cfg, &carrier.base_url(), &carrier_config, &kinds);
    cfg.validate_for_serve()?;
    cfg.dialer.calls_per_second = 5.0;
    cfg.dialer.max_concurrent = 20;
    let engine = crate::app::engine(&cfg, store.clone(), clock.clone(), "demo")?;
    let running = crate::app::start(
        listener,
        engine.clone(),
        &cfg,
        std::time::Duration::from_millis(100),
    )
    .await?;
    println!(
        "  outdial       {public_url} ({} adapter over HTTP → fake carrier at {})",
        kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        carrier.base_url()
    );
    println!();

    let end = args.clock_start + run_for;
    let mut last_print = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = clock.now();
        let counts = store.status_counts(now, args.clock_start).await?;
        let open = counts.leads_by_status.get("active").copied().unwrap_or(0)
            + counts.leads_by_status.get("dialing").copied().unwrap_or(0);
        if last_print.elapsed() >= std::time::Duration::from_secs(3) || now >= end || open == 0 {
            last_print = std::time::Instant::now();
            println!(
                "[{}] attempts {:>5}  in flight {:>3}  leads active {:>4} dialing {:>3} done {:>4} paused {:>3}  carrier calls {:>5}",
                now.format("%a %Y-%m-%d %H:%M UTC"),
                counts.attempts_since,
                counts.attempts_in_flight,
                counts.leads_by_status.get("active").copied().unwrap_or(0),
                counts.leads_by_status.get("dialing").copied().unwrap_or(0),
                counts.leads_by_status.get("done").copied().unwrap_or(0),
                counts.leads_by_status.get("paused").copied().unwrap_or(0),
                carrier.ledger().len(),
            );
        }
        if now >= end || open == 0 {
            break;
        }
    }
    // Stop dialing, then let webhooks and the reconciler finish what is in flight (up to 15
    // real seconds): every attempt should end final or provably in flight.
    engine
        .set_dialer_running(false, "demo finished", "demo")
        .await?;
    let drain_until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < drain_until {
        let c = store.status_counts(clock.now(), args.clock_start).await?;
        let unresolved = ["reserved", "unknown"]
            .iter()
            .any(|s| c.attempts_by_state.contains_key(*s));
        if !unresolved && c.attempts_in_flight <= carrier.stats().calls_in_flight {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The figures below are read with the server stopped, unless `--serve` keeps it up
    // (the dialer is stopped either way).
    let serving = if args.serve {
        Some(running)
    } else {
        running.stop().await;
        None
    };
    let now = clock.now();
    let ledger = carrier.ledger();
    let counts = store.status_counts(now, args.clock_start).await?;
    println!();
    println!("summary at {}", now.format("%Y-%m-%d %H:%M UTC"));
    println!("  attempts by final call status:");
    for (k, v) in &counts.attempts_by_call_status {
        println!("    {k:<14} {v}");
    }
    println!("  attempts by state:");
    for (k, v) in &counts.attempts_by_state {
        println!("    {k:<14} {v}");
    }
    println!("  attempts by disposition:");
    for (k, v) in &counts.attempts_by_disposition {
        println!("    {k:<14} {v}");
    }
    println!("  leads:");
    for (k, v) in &counts.leads_by_status {
        println!("    {k:<14} {v}");
    }
    let stats = carrier.stats();
    println!("  carrier:");
    println!("    calls placed   {}", ledger.len());
    println!(
        "    creates        {} ambiguous, {} answered 5xx, {} rate-limited, {} rejected",
        stats.creates_ambiguous,
        stats.creates_error5xx,
        stats.creates_rate_limited,
        stats.creates_rejected
    );
    println!(
        "    callbacks      {} sent, {} lost, {} duplicated, {} reordered, {} failed",
        stats.callbacks_sent,
        stats.callbacks_lost,
        stats.callbacks_duplicated,
        stats.callbacks_reordered,
        stats.callbacks_failed
    );
    println!(
        "    ended by outdial (outlived ring timeout + longest call): {}",
        stats.calls_ended_by_request
    );
    let switches = store.kill_switches().await?;
    let tripped: Vec<String> = switches
        .iter()
        .filter(|s| s.tripped)
        .map(|s| format!("{} ({})", s.scope.as_key(), s.reason))
        .collect();
    println!(
        "  safety: kill switches tripped: {}; alerts raised: {}",
        if tripped.is_empty() {
            "none".to_string()
        } else {
            tripped.join(", ")
        },
        store.alerts(1000).await?.len()
    );

    let report = checks::check_all(
        &*store,
        &ledger,
        &outdial_core::compliance::StateRules::builtin(),
    )
    .await?;
    println!("  checks:");
    for line in report.lines() {
        println!("    {line}");
    }
    if let Some(path) = &args.carrier_ledger {
        carrier
            .write_ledger_csv(path)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("  carrier ledger written to {}", path.display());
    }
    if let Some(path) = &args.attempts_csv {
        let mut f = std::fs::File::create(path)?;
        let n = crate::commands::export::write_attempts_csv(&*store, &mut f).await?;
        println!("  {n} attempts written to {}", path.display());
    }
    if let Some(running) = serving {
        println!();
        println!("serving {public_url} until Ctrl-C (the dialer is stopped); for example:");
        println!("  curl -H 'Authorization: Bearer {DEMO_API_KEY}' {public_url}/api/v1/status");
        println!("  curl -H 'Authorization: Bearer {DEMO_API_KEY}' {public_url}/metrics");
        println!(
            "  curl -H 'Authorization: Bearer {DEMO_API_KEY}' {public_url}/api/v1/dialer/blocked"
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        running.stop().await;
    }
    carrier.shutdown().await;
    store.close().await;
    if !report.ok() {
        bail!("invariant checks failed (see above)");
    }
    Ok(())
}

/// `path` as `n` files in `dir`, row `i` in file `i % n` (a header line, one naming a
/// phone column, is kept at the top of each); `n` = 1 is `path` itself.
fn split_rows(
    path: &std::path::Path,
    n: usize,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<PathBuf>> {
    if n <= 1 {
        return Ok(vec![path.to_path_buf()]);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().peekable();
    let header = lines
        .next_if(|l| l.to_ascii_lowercase().contains("phone"))
        .map(|h| format!("{h}\n"));
    let mut parts = vec![header.unwrap_or_default(); n];
    for (i, line) in lines.enumerate() {
        parts[i % n].push_str(line);
        parts[i % n].push('\n');
    }
    let name = path
        .file_name()
        .map_or("leads".into(), |f| f.to_string_lossy().into_owned());
    parts
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let p = dir.join(format!("part{}-{name}", i + 1));
            std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))?;
            Ok(p)
        })
        .collect()
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("outdial-demo-{}", outdial_clock::real_unix_ms()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
