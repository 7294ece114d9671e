//! [`outdial_store::Campaigns`] on SQLite.

use super::*;

#[async_trait]
impl Campaigns for SqliteStore {
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let res = sqlx::query(
            "INSERT INTO campaigns (name, settings, active, created_at, updated_at)
             VALUES (?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(json)
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("campaign '{name}' exists")));
        }
        self.campaign(CampaignId(res.last_insert_rowid())).await
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
        let res = sqlx::query(
            "UPDATE campaigns SET settings = ?, active = ?, updated_at = ? WHERE id = ?",
        )
        .bind(json)
        .bind(i64::from(active))
        .bind(ts(now))
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::not_found("campaign", id));
        }
        self.campaign(id).await
    }

    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign> {
        let row = sqlx::query("SELECT * FROM campaigns WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::not_found("campaign", id))?;
        campaign_from_row(&row)
    }

    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>> {
        sqlx::query("SELECT * FROM campaigns WHERE name = ?")
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
