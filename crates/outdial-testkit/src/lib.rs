//! # outdial-testkit
//!
//! What outdial's tests share. A dev-dependency only: nothing here reaches a release build.
//!
//! - [`ci`]: the skip rule. A test whose precondition is missing (a PostgreSQL server, the
//!   aiosmtpd SMTP sink, `mount` as root) prints a notice and passes, except under `CI=true`,
//!   where the skip is a failure (it would hide a missing install step);
//! - [`pg`]: PostgreSQL test databases on the server named by `OUTDIAL_TEST_POSTGRES_URL`,
//!   one per test, dropped when the value is dropped;
//! - [`small_fs`]: a tmpfs of a fixed size for full-disk tests;
//! - [`smtp`]: a real SMTP server (Python's aiosmtpd running `smtp_sink.py`) that stores
//!   each message as JSON;
//! - [`provider`]: a scripted [`outdial_providers::Provider`];
//! - [`time`]: time fixtures ([`time::t0`], [`time::utc`]).

pub mod ci;
pub mod pg;
pub mod provider;
pub mod small_fs;
pub mod smtp;
pub mod time;

pub use ci::{precondition_missing, under_ci};
pub use provider::{Script, ScriptedProvider};
pub use time::{t0, utc};
