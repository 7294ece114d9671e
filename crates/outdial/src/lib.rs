//! # outdial (library half of the binary)
//!
//! The binary's commands, configuration and wiring, exposed as a library so the end-to-end
//! tests can reuse the invariant [`checks`] and the demo's building blocks.

pub mod app;
pub mod checks;
pub mod commands;
pub mod config;
pub mod import;
pub mod jobs;
pub mod sim;
