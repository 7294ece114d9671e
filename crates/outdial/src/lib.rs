//! # outdial (library half of the binary)
//!
//! The binary's commands, configuration and wiring, exposed as a library so the end-to-end
//! tests can reuse the demo's building blocks. The simulator and the invariant checks live in
//! `outdial-sim`.

pub mod app;
pub mod commands;
pub mod config;
pub mod import;
pub mod jobs;
