//! `outdial carrier`: the fake Twilio-compatible carrier as a process.

use anyhow::Context;
use outdial_carrier::{CarrierConfig, FaultSpec};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::app::ClockArgs;

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
        ..CarrierConfig::default()
    };
    let clock = args.clock.clock()?;
    let carrier = outdial_carrier::start(config, clock, args.listen)
        .await
        .with_context(|| format!("starting the carrier on {}", args.listen))?;
    println!("carrier listening on {}", carrier.addr());
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
