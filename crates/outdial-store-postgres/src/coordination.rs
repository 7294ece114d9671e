//! [`outdial_store::Coordination`] on PostgreSQL.

use super::*;

#[async_trait]
impl Coordination for PgStore {
    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        let micros = interval.num_microseconds().unwrap_or(i64::MAX);
        let slot: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO pacers (name, next_slot) VALUES ($1, $2 + $3 * interval '1 microsecond')
             ON CONFLICT (name) DO UPDATE
                SET next_slot = GREATEST(pacers.next_slot, $2) + $3 * interval '1 microsecond'
             RETURNING next_slot - $3 * interval '1 microsecond'",
        )
        .bind(name)
        .bind(ts(now))
        .bind(micros as f64)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(slot)
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.lease(name, holder, ttl, now).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let detail = serde_json::json!({"key": key, "value": value}).to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            EventKind::Setting.as_str(),
            source,
            None,
            &detail,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
