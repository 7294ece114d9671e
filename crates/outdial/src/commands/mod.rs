//! One module per subcommand.

pub mod backfill;
pub mod campaign;
pub mod carrier;
pub mod compliance;
pub mod config_cmd;
pub mod demo;
pub mod dnc;
pub mod export;
pub mod import;
pub mod report;
pub mod safety;
pub mod serve;
pub mod simulate;
