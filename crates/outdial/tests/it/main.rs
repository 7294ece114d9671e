//! End-to-end tests of the `outdial` binary: real processes, real HTTP, the fake carrier.

mod cli;
mod e2e;
