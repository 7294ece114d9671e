//! `outdial campaign create|list`.

use anyhow::Context;
use outdial_clock::{Clock, SystemClock};
use outdial_core::campaign::{AgentBehaviour, AgentScript, DetectionMode};
use outdial_core::{AnswerBehaviour, CampaignSettings, ProviderKind, E164};
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
    /// Caller id (a number the provider account owns).
    #[arg(long)]
    pub caller_id: Option<String>,
    /// Provider that places the calls (a stored `ProviderKind` name). Default: the settings
    /// file's, or the default provider.
    #[arg(long, value_parser = clap::builder::ValueParser::new(str::parse::<ProviderKind>))]
    pub provider: Option<ProviderKind>,
    /// URL of the call flow the provider fetches when the call is answered.
    #[arg(long, group = "answer")]
    pub answer_url: Option<String>,
    /// An inline call-flow document run when the call is answered (at most 4,000
    /// characters).
    #[arg(long, visible_alias = "twiml", group = "answer")]
    pub answer_document: Option<String>,
    /// An AI voice agent follows this pathway (its id at the provider).
    #[arg(long, group = "answer")]
    pub pathway_id: Option<String>,
    /// An AI voice agent follows this task prompt.
    #[arg(long, group = "answer")]
    pub task: Option<String>,
    /// The agent's voice (with `--pathway-id` or `--task`; default: the provider's).
    #[arg(long)]
    pub voice: Option<String>,
    /// Answering-machine detection: `off`, `detect`, `detect-message-end`.
    #[arg(long, value_enum)]
    pub machine_detection: Option<MachineDetectionArg>,
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
                    let answer = answer_from_flags(&a)?.context(
                        "one of --answer-url, --answer-document, --pathway-id or --task is required without --settings",
                    )?;
                    let caller = E164::parse(caller, region)
                        .map_err(|e| anyhow::anyhow!("--caller-id: {e}"))?;
                    CampaignSettings::new(caller, answer)
                }
            };
            if a.settings.is_some() {
                if let Some(answer) = answer_from_flags(&a)? {
                    settings.answer = answer;
                }
            }
            if let Some(p) = a.provider {
                settings.provider = p;
            }
            if let Some(md) = a.machine_detection {
                settings.machine.detection = md.into();
            }
            if let Some(tz) = a.fallback_time_zone {
                settings.fallback_time_zone = Some(tz);
            }
            outdial_providers::check_campaign(&settings)
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

/// `--machine-detection`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MachineDetectionArg {
    /// No detection.
    Off,
    /// Tell human from machine.
    Detect,
    /// Detect, and wait for the end of a machine's greeting.
    DetectMessageEnd,
}

impl From<MachineDetectionArg> for DetectionMode {
    fn from(a: MachineDetectionArg) -> Self {
        match a {
            MachineDetectionArg::Off => DetectionMode::Off,
            MachineDetectionArg::Detect => DetectionMode::Detect,
            MachineDetectionArg::DetectMessageEnd => DetectionMode::DetectMessageEnd,
        }
    }
}

/// The answer behaviour the flags ask for, if any (`--voice` only with an agent).
fn answer_from_flags(a: &CreateArgs) -> anyhow::Result<Option<AnswerBehaviour>> {
    let agent = |script| {
        AnswerBehaviour::Agent(AgentBehaviour {
            script,
            voice: a.voice.clone(),
            first_sentence: None,
            wait_for_greeting: false,
            record: false,
        })
    };
    let answer = if let Some(url) = &a.answer_url {
        AnswerBehaviour::flow_url(url.clone())
    } else if let Some(doc) = &a.answer_document {
        AnswerBehaviour::inline(doc.clone())
    } else if let Some(id) = &a.pathway_id {
        agent(AgentScript::Pathway {
            id: id.clone(),
            start_node_id: None,
            version: None,
        })
    } else if let Some(prompt) = &a.task {
        agent(AgentScript::Task {
            prompt: prompt.clone(),
        })
    } else {
        return Ok(None);
    };
    if a.voice.is_some() && !matches!(answer, AnswerBehaviour::Agent(_)) {
        anyhow::bail!("--voice needs --pathway-id or --task");
    }
    Ok(Some(answer))
}
