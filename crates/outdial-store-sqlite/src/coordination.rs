//! [`outdial_store::Coordination`] on SQLite.

use super::*;

#[async_trait]
impl Coordination for SqliteStore {
    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let next: Option<String> =
            sqlx::query_scalar("SELECT next_slot FROM pacers WHERE name = ?")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        let slot = match next {
            Some(n) => parse_ts(&n)?.max(now),
            None => now,
        };
        sqlx::query(
            "INSERT INTO pacers (name, next_slot) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET next_slot = excluded.next_slot",
        )
        .bind(name)
        .bind(ts(slot + interval))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await?;
        Ok(to_micros(slot))
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if ttl <= chrono::Duration::zero() {
            return Err(StoreError::InvalidArgument(format!(
                "lease '{name}': the time to live must be positive, got {ttl}"
            )));
        }
        let row: Option<String> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(ts(now + ttl))
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
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
        let mut tx = WriteTx::begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
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
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
