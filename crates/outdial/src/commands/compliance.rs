//! `outdial compliance check` and `outdial explain`: why a number or a lead may or may not be
//! dialed, and when.

use anyhow::Context;
use chrono::{DateTime, Utc};
use outdial_clock::{Clock, SystemClock};
use outdial_core::{LeadId, E164};
use outdial_engine::{Engine, EngineConfig};
use outdial_store::Store;
use outdial_store_sqlite::SqliteStore;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::app::StoreArgs;
use crate::config::Config;

/// Compliance subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ComplianceCommand {
    /// The verdict for dialing a number at an instant.
    Check(CheckArgs),
}

/// Arguments of `outdial compliance check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The number to check.
    #[arg(long)]
    pub phone: String,
    /// The called party's state or province (two letters), if known.
    #[arg(long)]
    pub state: Option<String>,
    /// An explicit IANA time zone for the called party.
    #[arg(long)]
    pub tz: Option<chrono_tz::Tz>,
    /// The instant to check (RFC 3339); default now.
    #[arg(long, value_parser = crate::app::parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
    /// Apply this campaign's settings and lists (needs the database).
    #[arg(long)]
    pub campaign: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size. Without an existing database, no history or DNC list is
    /// consulted.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Arguments of `outdial explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A lead id, or a phone number (every lead with that number is explained).
    pub lead: String,
    /// The instant to explain at (RFC 3339); default now.
    #[arg(long, value_parser = crate::app::parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
}

fn engine(cfg: &Config, store: Arc<dyn Store>) -> anyhow::Result<Engine> {
    let config = EngineConfig {
        state_rules: Arc::new(crate::app::state_rules(cfg)?),
        ..EngineConfig::default()
    };
    Ok(Engine::new(
        store,
        HashMap::new(),
        Arc::new(SystemClock),
        config,
    ))
}

/// Runs `outdial compliance check`.
pub async fn run_check(config: Option<&Path>, cmd: ComplianceCommand) -> anyhow::Result<()> {
    let ComplianceCommand::Check(args) = cmd;
    let cfg = Config::load(config)?;
    let region = cfg.region()?;
    let phone = E164::parse(&args.phone, region).map_err(|e| anyhow::anyhow!("--phone: {e}"))?;
    let db = args.store.database(&cfg);
    let exists = db.sqlite_path().is_none_or(Path::exists);
    let store: Arc<dyn Store> = if exists {
        args.store.open_existing(&cfg).await?
    } else if args.campaign.is_some() {
        anyhow::bail!("--campaign needs the database, and {db} does not exist");
    } else {
        Arc::new(SqliteStore::in_memory().await?)
    };
    let engine = engine(&cfg, store.clone())?;
    let campaign = match &args.campaign {
        Some(name) => Some(
            store
                .campaign_by_name(name)
                .await?
                .with_context(|| format!("no campaign named '{name}'"))?,
        ),
        None => None,
    };
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let v = engine
        .compliance_check(
            &phone,
            args.state.as_deref(),
            args.tz,
            at,
            campaign.as_ref(),
            &outdial_engine::explain::default_check_settings(),
        )
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} at {}: {}",
            v.phone,
            v.at.to_rfc3339(),
            if v.allowed { "ALLOWED" } else { "BLOCKED" }
        );
        println!(
            "  zones   {} ({})",
            v.zones
                .iter()
                .map(|z| z.name())
                .collect::<Vec<_>>()
                .join(", "),
            v.zone_source
        );
        println!("  states  {}", v.states.join(", "));
        for r in &v.reasons {
            println!("  blocked by {}: {} [{}]", r.rule, r.message, r.source);
        }
        match v.next_allowed_at {
            Some(t) => println!("  next allowed at {}", t.to_rfc3339()),
            None => println!("  no allowed instant"),
        }
    }
    Ok(())
}

/// Runs `outdial explain`.
pub async fn run_explain(config: Option<&Path>, args: ExplainArgs) -> anyhow::Result<()> {
    let cfg = Config::load(config)?;
    let store = args.store.open_existing(&cfg).await?;
    let engine = engine(&cfg, store.clone())?;
    let leads = match args.lead.parse::<i64>() {
        Ok(id) if !args.lead.starts_with('+') && args.lead.len() < 10 => store
            .lead(LeadId(id))
            .await?
            .into_iter()
            .collect::<Vec<_>>(),
        _ => {
            let phone = E164::parse(&args.lead, cfg.region()?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.lead))?;
            store.leads_by_phone(&phone).await?
        }
    };
    if leads.is_empty() {
        anyhow::bail!("no lead matches '{}'", args.lead);
    }
    let at = args.at.unwrap_or_else(|| SystemClock.now());
    let mut out = Vec::new();
    for lead in leads {
        out.push(engine.explain_lead(lead, at).await?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    for e in out {
        let l = &e.lead;
        println!(
            "lead {} ({}) in campaign '{}' (provider {}): {}",
            l.id,
            l.phone,
            e.campaign,
            e.provider,
            l.status.as_str()
        );
        if let Some(r) = &l.status_reason {
            println!("  reason      {r}");
        }
        if let Some(d) = &l.disposition {
            println!("  last disposition {d}");
        }
        println!(
            "  zones       {} ({})",
            e.now
                .zones
                .iter()
                .map(|z| z.name())
                .collect::<Vec<_>>()
                .join(", "),
            e.now.zone_source
        );
        println!("  states      {}", e.now.states.join(", "));
        println!("  attempts    {}", e.attempts.len());
        for a in &e.attempts {
            println!(
                "    #{} {} {} {} {}",
                a.number,
                a.reserved_at.to_rfc3339(),
                a.state.as_str(),
                a.call_status.map(|s| s.as_str()).unwrap_or("-"),
                a.disposition.as_ref().map(|d| d.as_str()).unwrap_or("-")
            );
        }
        for c in &e.caps {
            println!(
                "  cap         {}: {} of {} [{}]",
                c.cap, c.count, c.limit, c.source
            );
        }
        for r in &e.now.reasons {
            println!("  blocked now {}: {}", r.rule, r.message);
        }
        println!("  next        {}", e.next);
    }
    Ok(())
}
