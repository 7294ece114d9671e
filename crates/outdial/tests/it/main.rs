//! End-to-end tests of the `outdial` binary: real processes, real HTTP, the fake carrier.

mod checks;
mod cli;
mod dnc;
mod e2e;
mod fleet;
