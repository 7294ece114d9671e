//! `outdial killswitch status|trip|resume`, `outdial jobs list|requeue` and
//! `outdial alerts list`: the operator's side of the safety monitor, the durable jobs and the
//! alerts, working on the database directly (the same rows `serve` reads before every call,
//! so a trip here stops every running instance at its next call).

use chrono::SecondsFormat;
use outdial_clock::{Clock, SystemClock};
use outdial_core::CampaignId;
use outdial_engine::Engine;
use outdial_store::{JobId, JobState, KillScope, Store};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::app::StoreArgs;
use crate::config::Config;

/// Kill switch subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KillswitchCommand {
    /// Show every kill switch: scope, position, reason, who changed it and when.
    Status(StatusArgs),
    /// Stop placing calls (globally, or for one campaign) until an operator resumes.
    Trip(SwitchArgs),
    /// Resume placing calls after a trip (operator only; the monitor never resumes).
    Resume(SwitchArgs),
}

/// Arguments of `killswitch status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `killswitch trip|resume`.
#[derive(Debug, clap::Args)]
pub struct SwitchArgs {
    /// Campaign name or id; without it, the global switch.
    #[arg(long)]
    pub campaign: Option<String>,
    /// Why (recorded in the event log and the alert).
    #[arg(long)]
    pub reason: String,
    /// Who (recorded as `operator:<name>`). Default: $USER.
    #[arg(long)]
    pub operator: Option<String>,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Job subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first, with counts by state.
    List(JobsListArgs),
    /// Run a dead-lettered job again.
    Requeue(RequeueArgs),
}

/// Arguments of `jobs list`.
#[derive(Debug, clap::Args)]
pub struct JobsListArgs {
    /// Only jobs in this state: pending, running, done, dead.
    #[arg(long)]
    pub state: Option<String>,
    /// Most jobs shown.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `jobs requeue`.
#[derive(Debug, clap::Args)]
pub struct RequeueArgs {
    /// The dead job's id.
    pub id: i64,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Alert subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List(AlertsListArgs),
}

/// Arguments of `alerts list`.
#[derive(Debug, clap::Args)]
pub struct AlertsListArgs {
    /// Most alerts shown.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

async fn open(cfg: &Config, store: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    store.open_existing(cfg).await
}

async fn scope_of(store: &dyn Store, campaign: &Option<String>) -> anyhow::Result<KillScope> {
    let Some(c) = campaign else {
        return Ok(KillScope::Global);
    };
    if let Ok(id) = c.parse::<i64>() {
        let found = store
            .campaign(CampaignId(id))
            .await
            .map_err(|e| anyhow::anyhow!("--campaign {c}: {e}"))?;
        return Ok(KillScope::Campaign(found.id));
    }
    match store.campaign_by_name(c).await? {
        Some(found) => Ok(KillScope::Campaign(found.id)),
        None => anyhow::bail!("--campaign: no campaign named '{c}' (see `outdial campaign list`)"),
    }
}

/// Runs a kill switch subcommand.
pub async fn run_killswitch(config: Option<&Path>, cmd: KillswitchCommand) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    match cmd {
        KillswitchCommand::Status(a) => {
            let store = open(&cfg, &a.store).await?;
            let switches = store.kill_switches().await?;
            store.close().await;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&switches)?);
                return Ok(());
            }
            let global = switches
                .iter()
                .any(|s| s.scope == KillScope::Global && s.tripped);
            println!(
                "dialing: {}",
                if global {
                    "STOPPED everywhere (global kill switch tripped)"
                } else {
                    "allowed (no global trip)"
                }
            );
            if switches.is_empty() {
                println!("no kill switch has ever been set");
            }
            for s in switches {
                println!(
                    "{:<14} {:<8} since {}  by {}  — {}",
                    s.scope.as_key(),
                    if s.tripped { "TRIPPED" } else { "resumed" },
                    s.changed_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    s.source,
                    s.reason
                );
            }
            Ok(())
        }
        KillswitchCommand::Trip(a) | KillswitchCommand::Resume(a) if a.reason.trim().is_empty() => {
            anyhow::bail!("--reason must say why (it goes into the event log and the alert)")
        }
        KillswitchCommand::Trip(a) => {
            let store = open(&cfg, &a.store).await?;
            let scope = scope_of(&*store, &a.campaign).await?;
            let engine = cli_engine(&cfg, store.clone())?;
            let changed = engine
                .trip_kill_switch(
                    scope,
                    a.reason.trim(),
                    &operator(&a.operator),
                    &Default::default(),
                )
                .await?;
            store.close().await;
            if changed {
                println!(
                    "kill switch {} tripped: no new calls until resumed",
                    scope.as_key()
                );
            } else {
                println!(
                    "kill switch {} was already tripped; nothing changed",
                    scope.as_key()
                );
            }
            Ok(())
        }
        KillswitchCommand::Resume(a) => {
            let store = open(&cfg, &a.store).await?;
            let scope = scope_of(&*store, &a.campaign).await?;
            let engine = cli_engine(&cfg, store.clone())?;
            let changed = engine
                .resume_kill_switch(scope, a.reason.trim(), &operator(&a.operator))
                .await?;
            store.close().await;
            if changed {
                println!(
                    "kill switch {} resumed: calls may be placed again",
                    scope.as_key()
                );
            } else {
                println!(
                    "kill switch {} was not tripped; nothing changed",
                    scope.as_key()
                );
            }
            Ok(())
        }
    }
}

fn operator(given: &Option<String>) -> String {
    let name = given
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    format!("operator:{name}")
}

/// An engine without providers, for operator actions that raise alerts.
fn cli_engine(cfg: &Config, store: Arc<dyn Store>) -> anyhow::Result<Engine> {
    Ok(Engine::new(
        store,
        HashMap::new(),
        Arc::new(SystemClock),
        crate::app::engine_config(cfg, "cli")?,
    ))
}

/// Runs a jobs subcommand.
pub async fn run_jobs(config: Option<&Path>, cmd: JobsCommand) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    match cmd {
        JobsCommand::List(a) => {
            let state = match a.state.as_deref() {
                None => None,
                Some(s) => Some(JobState::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("--state: '{s}' is not one of pending, running, done, dead")
                })?),
            };
            let store = open(&cfg, &a.store).await?;
            let jobs = store.jobs(state, a.limit).await?;
            let counts = store.job_counts().await?;
            store.close().await;
            if a.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "counts": counts, "jobs": jobs })
                    )?
                );
                return Ok(());
            }
            println!(
                "jobs: {}",
                counts
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for j in jobs {
                println!(
                    "{:>6} {:<24} {:<7} tries {:<2} run_at {}  {}{}",
                    j.id.0,
                    j.kind,
                    j.state.as_str(),
                    j.attempts,
                    j.run_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    j.payload,
                    match (&j.error_code, &j.error_message) {
                        (Some(c), Some(m)) => format!("  error {c}: {m}"),
                        (Some(c), None) => format!("  error {c}"),
                        _ => String::new(),
                    }
                );
            }
            Ok(())
        }
        JobsCommand::Requeue(a) => {
            let store = open(&cfg, &a.store).await?;
            let id = JobId(a.id);
            let result = match store.job(id).await? {
                None => Err(anyhow::anyhow!("no job {id}")),
                Some(j) if j.state != JobState::Dead => Err(anyhow::anyhow!(
                    "job {id} is {}; only dead jobs are requeued",
                    j.state.as_str()
                )),
                Some(_) => {
                    store.requeue_job(id, SystemClock.now()).await?;
                    println!("job {id} requeued: it runs at the next step of a running serve");
                    Ok(())
                }
            };
            store.close().await;
            result
        }
    }
}

/// Runs an alerts subcommand.
pub async fn run_alerts(config: Option<&Path>, cmd: AlertsCommand) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let cfg = Config::load(config)?;
    match cmd {
        AlertsCommand::List(a) => {
            let store = open(&cfg, &a.store).await?;
            let alerts = store.alerts(a.limit).await?;
            store.close().await;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&alerts)?);
                return Ok(());
            }
            for al in alerts {
                println!(
                    "{:>5} {} {:<22} {:<12} {}",
                    al.id.0,
                    al.raised_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    al.kind,
                    al.scope,
                    al.subject
                );
            }
            Ok(())
        }
    }
}
