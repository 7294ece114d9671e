//! Campaigns: the record and the [`Campaigns`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, CampaignSettings};
use serde::Serialize;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    /// Id.
    pub id: CampaignId,
    /// Unique name.
    pub name: String,
    /// Settings.
    pub settings: CampaignSettings,
    /// Whether its leads are dialed.
    pub active: bool,
    /// Creation time, UTC.
    pub created_at: DateTime<Utc>,
}

/// Campaigns: create, change and look up. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Campaigns: Send + Sync {
    /// Creates a campaign. Errors: [`StoreError::Conflict`] if the name exists.
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign>;

    /// Replaces a campaign's settings. Errors: [`StoreError::NotFound`].
    async fn update_campaign(
        &self,
        id: CampaignId,
        settings: &CampaignSettings,
        active: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign>;

    /// A campaign by id. Errors: [`StoreError::NotFound`].
    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign>;

    /// A campaign by name, if any.
    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>>;

    /// Every campaign, by id.
    async fn campaigns(&self) -> StoreResult<Vec<Campaign>>;
}

/// A campaign named by an operator: by id when `text` is a number that is a campaign's id,
/// else by name; `None` when neither matches.
///
/// # Errors
/// The store's, other than [`StoreError::NotFound`].
pub async fn campaign_by_id_or_name<S: Campaigns + ?Sized>(
    store: &S,
    text: &str,
) -> StoreResult<Option<Campaign>> {
    if let Ok(id) = text.trim().parse::<i64>() {
        match store.campaign(CampaignId(id)).await {
            Ok(c) => return Ok(Some(c)),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    store.campaign_by_name(text).await
}
