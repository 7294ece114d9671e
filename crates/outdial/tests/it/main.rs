//! End-to-end tests of the `outdial` binary: real processes, real HTTP, the fake carrier.

mod alerts;
mod backfill;
mod backfill_fake;
mod browser;
mod checks;
mod cli;
mod crash;
mod dnc;
mod e2e;
mod e2e_bland;
mod fleet;
mod full_disk;
mod hostile_http;
mod import_robust;
mod live_import;
mod secrets;
mod simulate;
mod support;
