//! `outdial campaign create|list`.

use anyhow::Context;
use outdial_clock::{Clock, SystemClock};
use outdial_core::{AnswerAction, CampaignSettings, E164};
use outdial_store_sqlite::OpenMode;
use std::path::{Path, PathBuf};

use crate::app::{AdoptArgs, StoreArgs};
use crate::config::Config;

/// Campaign subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign (creates the database file if needed).
    Create(CreateArgs),
    /// List campaigns as JSON.
    List {
        /// Database and pool size.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Arguments of `outdial campaign create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Unique campaign name.
    pub name: String,
    /// Caller id (a number your Twilio account owns).
    #[arg(long)]
    pub caller_id: Option<String>,
    /// URL Twilio fetches TwiML from when the call is answered.
    #[arg(long, conflicts_with = "twiml")]
    pub answer_url: Option<String>,
    /// Inline TwiML to run when the call is answered.
    #[arg(long)]
    pub twiml: Option<String>,
    /// Full settings as a JSON file (see `CampaignSettings`); flags above override it.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// IANA zone for leads with no explicit zone and no known state.
    #[arg(long)]
    pub fallback_time_zone: Option<chrono_tz::Tz>,
    /// Database and pool size.
    #[command(flatten)]
    pub store: StoreArgs,
    /// `--adopt-database`.
    #[command(flatten)]
    pub adopt: AdoptArgs,
}

/// Runs a campaign subcommand.
pub async fn run(config: Option<&Path>, cmd: CampaignCommand) -> anyhow::Result<()> {
    let cfg = Config::load(config)?;
    match cmd {
        CampaignCommand::Create(a) => {
            let region = cfg.region()?;
            let mut settings = match &a.settings {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    serde_json::from_str::<CampaignSettings>(&text)
                        .with_context(|| format!("{}: invalid campaign settings", p.display()))?
                }
                None => {
                    let caller = a
                        .caller_id
                        .as_deref()
                        .context("--caller-id is required without --settings")?;
                    let answer = match (&a.answer_url, &a.twiml) {
                        (Some(url), _) => AnswerAction::TwimlUrl { url: url.clone() },
                        (None, Some(t)) => AnswerAction::Twiml { twiml: t.clone() },
                        (None, None) => anyhow::bail!(
                            "one of --answer-url or --twiml is required without --settings"
                        ),
                    };
                    let caller = E164::parse(caller, region)
                        .map_err(|e| anyhow::anyhow!("--caller-id: {e}"))?;
                    CampaignSettings::new(caller, answer)
                }
            };
            if let Some(tz) = a.fallback_time_zone {
                settings.fallback_time_zone = Some(tz);
            }
            settings
                .validate()
                .map_err(|e| anyhow::anyhow!("campaign settings: {e}"))?;
            let db = a.store.database(&cfg);
            let store = a
                .store
                .open(&cfg, OpenMode::CreateIfMissing, a.adopt.policy())
                .await?;
            let c = store
                .create_campaign(&a.name, &settings, SystemClock.now())
                .await?;
            println!("created campaign '{}' (id {}) in {}", c.name, c.id, db);
            store.close().await;
        }
        CampaignCommand::List { store } => {
            let store = store.open_existing(&cfg).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&store.campaigns().await?)?
            );
            store.close().await;
        }
    }
    Ok(())
}
