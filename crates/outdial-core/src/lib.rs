//! # outdial-core
//!
//! The pure domain of outdial: who may be called, when, and what an event means.
//!
//! Nothing in this crate reads the clock, the environment, the network or the disk.
//! Every function takes `now` (a UTC instant) and data, and returns a decision; the
//! engine loads the data through the store and acts on the decision through a provider.
//!
//! Modules:
//! - [`phone`]: E.164 parsing and normalisation (libphonenumber rules via the `phonenumber` crate).
//! - [`ids`]: typed identifiers for leads, campaigns, attempts and provider call ids.
//! - [`call`]: provider call status, attempt lifecycle and the monotonic attempt state machine.
//! - [`disposition`]: the disposition catalog (flags, aliases) and automatic dispositions.
//! - [`failure`]: why an attempt was not placed, as a domain failure kind.
//! - [`provider`]: the names of the providers a campaign may use.
//! - [`answer`]: what a call does once answered, and answering-machine handling.
//! - [`campaign`], [`lead`]: the records the store keeps, in domain terms.
//! - [`report`]: the figures of the reports, one definition each, from the attempt log.
//! - [`schedule`]: calling windows, time-zone candidates, daily caps and the redial policy,
//!   which together decide a lead's `next_attempt_at`.

pub mod answer;
pub mod call;
pub mod campaign;
pub mod compliance;
pub mod disposition;
pub mod failure;
pub mod ids;
pub mod lead;
pub mod nanp;
pub mod phone;
pub mod provider;
pub mod report;
pub mod schedule;

pub use answer::{AnswerBehaviour, MachineHandling};
pub use call::{AnsweredBy, AttemptState, CallEvent, CallPrice, CallStatus};
pub use campaign::{CampaignSettings, ProviderKind};
pub use disposition::{Disposition, DispositionCatalog, DispositionFlags};
pub use failure::FailureKind;
pub use ids::{AttemptId, CampaignId, LeadId, ProviderCallId};
pub use lead::{LeadContact, LeadStatus, NewLead};
pub use phone::{PhoneError, Region, E164};
