//! `outdial config check`.

use std::path::Path;

use crate::config::Config;

/// Configuration subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration; print it with secrets redacted.
    Check,
}

/// Runs a configuration subcommand.
pub fn run(file: Option<&Path>, cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check => {
            let cfg = Config::load(file)?;
            cfg.validate_for_serve()?;
            println!("{}", serde_json::to_string_pretty(&cfg)?);
            println!("configuration OK");
            Ok(())
        }
    }
}
