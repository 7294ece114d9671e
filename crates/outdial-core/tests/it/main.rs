//! Integration tests of outdial-core.

mod shape;
mod tidy;
