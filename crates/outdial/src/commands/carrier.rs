//! `outdial carrier`: the fake carrier (Twilio-shaped API and fake Bland) as a process.

use anyhow::Context;
use outdial_carrier::{
    BlandFake, CarrierConfig, FaultSpec, DEFAULT_BLAND_API_KEY, DEFAULT_BLAND_ORG_ID,
    DEFAULT_BLAND_WEBHOOK_SECRET,
};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::app::ClockArgs;

/// Which APIs the carrier serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CarrierApis {
    /// The Twilio-shaped API only (`/2010-04-01/…`).
    Twilio,
    /// The fake Bland only (`/v1/…`).
    Bland,
    /// Both, on the same port, into one ledger.
    Both,
}

/// Arguments of `outdial carrier`.
#[derive(Debug, clap::Args)]
pub struct CarrierArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Account SID the carrier accepts.
    #[arg(long, default_value = "AC00000000000000000000000000000000")]
    pub account_sid: String,
    /// Auth token the carrier accepts and signs callbacks with.
    #[arg(
        long,
        env = "OUTDIAL_CARRIER_AUTH_TOKEN",
        default_value = "fake-carrier-token"
    )]
    pub auth_token: String,
    /// Seed of the outcome mix and the faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Faults, e.g. `lose=0.3,duplicate=0.2,reorder=0.2,delay=5s,ambiguous=0.05`.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Numbers (E.164) that are always busy.
    #[arg(long)]
    pub always_busy: Vec<String>,
    /// Numbers (E.164) whose calls are answered and never end.
    #[arg(long)]
    pub never_ends: Vec<String>,
    /// Numbers (E.164) the carrier refuses with error 21211.
    #[arg(long)]
    pub invalid: Vec<String>,
    /// Which APIs to serve.
    #[arg(long, value_enum, default_value_t = CarrierApis::Both)]
    pub provider: CarrierApis,
    /// API key the fake Bland accepts (`Authorization: <key>` or `Bearer <key>`).
    #[arg(
        long,
        env = "OUTDIAL_CARRIER_BLAND_API_KEY",
        default_value = DEFAULT_BLAND_API_KEY,
        hide_env_values = true
    )]
    pub bland_api_key: String,
    /// Secret the fake Bland signs its webhooks with (`X-Webhook-Signature`).
    #[arg(
        long,
        env = "OUTDIAL_CARRIER_BLAND_WEBHOOK_SECRET",
        default_value = DEFAULT_BLAND_WEBHOOK_SECRET,
        hide_env_values = true
    )]
    pub bland_webhook_secret: String,
    /// Org id the fake Bland's `GET /v1/calls/active` requires in `x-bland-org-id`.
    #[arg(long, default_value = DEFAULT_BLAND_ORG_ID)]
    pub bland_org_id: String,
    /// Most Bland calls live at once (429 over it); unlimited when not given.
    #[arg(long)]
    pub bland_concurrency_cap: Option<u32>,
    /// Most Bland calls per rolling simulated hour (429 over it).
    #[arg(long)]
    pub bland_hourly_cap: Option<u32>,
    /// Most Bland calls per rolling simulated 24 hours (429 over it).
    #[arg(long)]
    pub bland_daily_cap: Option<u32>,
    /// Probability (0..1) of a second Bland webhook, 30–60 simulated seconds after the first.
    #[arg(long, default_value_t = 0.0)]
    pub bland_second_webhook: f64,
    /// Write the ledger of placed calls here (CSV) on shutdown.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Clock flags.
    #[command(flatten)]
    pub clock: ClockArgs,
}

/// Runs until SIGINT or SIGTERM, then writes the ledger.
pub async fn run(args: CarrierArgs) -> anyhow::Result<()> {
    crate::app::init_tracing(false, "warn");
    let faults: FaultSpec = args
        .faults
        .parse()
        .map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
    let config = CarrierConfig {
        account_sid: args.account_sid.clone(),
        auth_token: args.auth_token.clone(),
        seed: args.seed,
        faults,
        always_busy: args.always_busy.clone(),
        never_ends: args.never_ends.clone(),
        invalid: args.invalid.clone(),
        serve_twilio: args.provider != CarrierApis::Bland,
        bland: (args.provider != CarrierApis::Twilio).then(|| BlandFake {
            api_key: args.bland_api_key.clone(),
            webhook_secret: args.bland_webhook_secret.clone(),
            org_id: args.bland_org_id.clone(),
            concurrency_cap: args.bland_concurrency_cap,
            hourly_cap: args.bland_hourly_cap,
            daily_cap: args.bland_daily_cap,
            second_webhook: args.bland_second_webhook,
            ..BlandFake::default()
        }),
        ..CarrierConfig::default()
    };
    let clock = args.clock.clock()?;
    let carrier = outdial_carrier::start(config, clock, args.listen)
        .await
        .with_context(|| format!("starting the carrier on {}", args.listen))?;
    println!("carrier listening on {}", carrier.addr());
    if args.provider != CarrierApis::Bland {
        println!("[twilio] api_base = \"{}\"", carrier.base_url());
    }
    if args.provider != CarrierApis::Twilio {
        println!("[bland] api_base = \"{}\"", carrier.bland_base_url());
    }
    super::serve::wait_for_signal().await;
    if let Some(path) = &args.ledger {
        carrier
            .write_ledger_csv(path)
            .with_context(|| format!("writing ledger {}", path.display()))?;
        eprintln!("ledger written to {}", path.display());
    }
    carrier.shutdown().await;
    Ok(())
}

/// The carrier of `outdial demo`: `base` with the fake Bland's second post-call webhook on
/// three calls in ten, as Bland sends a corrected transcript 30–60 s after the first.
pub fn demo_config(base: CarrierConfig) -> CarrierConfig {
    CarrierConfig {
        bland: Some(outdial_carrier::BlandFake {
            second_webhook: 0.3,
            ..base.bland.clone().unwrap_or_default()
        }),
        ..base
    }
}
