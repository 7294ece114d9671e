//! outdial-import's integration tests, one binary: both layouts table-driven ([`formats`]),
//! the shipped samples ([`samples`]), streaming in constant memory ([`streaming`],
//! [`bounded_memory`]), broken input ([`robustness`], [`unbalanced`]).

mod bounded_memory;
mod formats;
mod robustness;
mod samples;
mod streaming;
mod unbalanced;
