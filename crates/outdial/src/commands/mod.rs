//! One module per subcommand.

pub mod campaign;
pub mod carrier;
pub mod config_cmd;
pub mod demo;
pub mod export;
pub mod import;
pub mod serve;
