//! Integration tests of outdial-core.

mod tidy;
