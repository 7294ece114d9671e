//! [`outdial_store::Campaigns`] on PostgreSQL.

use super::*;

#[async_trait]
impl Campaigns for PgStore {
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO campaigns (name, settings, active, created_at, updated_at)
             VALUES ($1, $2, true, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING *",
        )
        .bind(name)
        .bind(json)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::Conflict(format!("campaign '{name}' exists")))?;
        campaign_from_row(&row)
    }

    async fn update_campaign(
        &self,
        id: CampaignId,
        settings: &CampaignSettings,
        active: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "UPDATE campaigns SET settings = $1, active = $2, updated_at = $3 WHERE id = $4
             RETURNING *",
        )
        .bind(json)
        .bind(active)
        .bind(ts(now))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found("campaign", id))?;
        campaign_from_row(&row)
    }

    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::not_found("campaign", id))?;
        campaign_from_row(&row)
    }

    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>> {
        sqlx::query("SELECT * FROM campaigns WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(campaign_from_row)
            .transpose()
    }

    async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        sqlx::query("SELECT * FROM campaigns ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(campaign_from_row)
            .collect()
    }
}
