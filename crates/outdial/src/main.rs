//! `outdial`: the command-line entry point. See `outdial --help`.

use outdial::commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// outdial — an outbound-call orchestrator for cloud voice providers.
#[derive(Debug, Parser)]
#[command(name = "outdial", version, about)]
struct Cli {
    /// Configuration file (TOML). Environment variables `OUTDIAL_*` override it.
    #[arg(long, global = true, env = "OUTDIAL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (webhooks, admin API) and the dialer.
    Serve(commands::serve::ServeArgs),
    /// Import a lead list (CSV with a header, or VICIdial's list-load layout) into a campaign.
    Import(commands::import::ImportArgs),
    /// Add the numbers an earlier system called (the provider's call log) to a campaign, with
    /// those calls as their history.
    Backfill(commands::backfill::BackfillArgs),
    /// Manage campaigns.
    #[command(subcommand)]
    Campaign(commands::campaign::CampaignCommand),
    /// Export records.
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    /// Reports from the attempt log: outcomes, kpis, hourly, daily, best-time, funnel, compliance.
    Report(commands::report::ReportArgs),
    /// Run the fake carrier, which speaks a provider's wire protocol (for tests and demos).
    Carrier(commands::carrier::CarrierArgs),
    /// Run the whole loop on a new SQLite file against the in-process fake carrier.
    Demo(commands::demo::DemoArgs),
    /// Deterministic simulation: the real engine and SQLite store against an in-process fake
    /// provider on virtual time, with seeded faults; checks every invariant.
    Simulate(commands::simulate::SimulateArgs),
    /// Manage the Do-Not-Call lists (internal, per campaign, national registry).
    #[command(subcommand)]
    Dnc(commands::dnc::DncCommand),
    /// Compliance verdicts: may this number be called at this instant?
    #[command(subcommand)]
    Compliance(commands::compliance::ComplianceCommand),
    /// Why a lead (by id or phone) is or is not being called, and when it will be.
    Explain(commands::compliance::ExplainArgs),
    /// Check the configuration and print it with secrets redacted.
    #[command(subcommand)]
    Config(commands::config_cmd::ConfigCommand),
    /// Kill switches: stop or resume dialing, globally or per campaign.
    #[command(subcommand)]
    Killswitch(commands::safety::KillswitchCommand),
    /// Durable jobs (post-call work, alert deliveries) and their dead letters.
    #[command(subcommand)]
    Jobs(commands::safety::JobsCommand),
    /// Alerts raised by the safety monitor and the reconciler.
    #[command(subcommand)]
    Alerts(commands::safety::AlertsCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let config = cli.config.as_deref();
        match cli.command {
            Command::Serve(a) => commands::serve::run(config, a).await,
            Command::Import(a) => commands::import::run(config, a).await,
            Command::Backfill(a) => commands::backfill::run(config, a).await,
            Command::Campaign(c) => commands::campaign::run(config, c).await,
            Command::Export(c) => commands::export::run(config, c).await,
            Command::Report(a) => commands::report::run(config, a).await,
            Command::Carrier(a) => commands::carrier::run(a).await,
            Command::Demo(a) => commands::demo::run(a).await,
            Command::Simulate(a) => commands::simulate::run(a).await,
            Command::Dnc(c) => commands::dnc::run(config, c).await,
            Command::Compliance(c) => commands::compliance::run_check(config, c).await,
            Command::Explain(a) => commands::compliance::run_explain(config, a).await,
            Command::Config(c) => commands::config_cmd::run(config, c),
            Command::Killswitch(c) => commands::safety::run_killswitch(config, c).await,
            Command::Jobs(c) => commands::safety::run_jobs(config, c).await,
            Command::Alerts(c) => commands::safety::run_alerts(config, c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
