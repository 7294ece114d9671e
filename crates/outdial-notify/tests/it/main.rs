//! outdial-notify's integration tests, one binary: the SMTP channel against a real SMTP
//! server ([`smtp`]) and the webhook channels against an axum server ([`webhooks`]).

mod smtp;
mod webhooks;
