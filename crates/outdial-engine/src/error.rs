//! The engine's error type.

use outdial_core::{CampaignId, ProviderKind};
use outdial_store::StoreError;

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A disposition label that the campaign's catalog does not know.
    #[error("unknown disposition '{0}'")]
    UnknownDisposition(String),
    /// The request conflicts with the record's state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A campaign uses a provider this engine was not given.
    #[error("campaign {campaign} uses provider {provider}, which is not configured")]
    NoProvider {
        /// Campaign.
        campaign: CampaignId,
        /// Its provider.
        provider: ProviderKind,
    },
}
