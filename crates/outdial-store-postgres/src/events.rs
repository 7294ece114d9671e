//! [`outdial_store::EventLog`] on PostgreSQL.

use super::*;

#[async_trait]
impl EventLog for PgStore {
    async fn record_event(
        &self,
        lead_id: Option<LeadId>,
        attempt_id: Option<AttemptId>,
        kind: &str,
        source: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        insert_event(
            &mut conn, now, lead_id, attempt_id, kind, source, None, detail,
        )
        .await?;
        Ok(())
    }

    async fn lead_events(&self, lead_id: LeadId) -> StoreResult<Vec<EventRecord>> {
        sqlx::query(
            "SELECT * FROM events WHERE lead_id = $1
                OR attempt_id IN (SELECT id FROM attempts WHERE lead_id = $1)
             ORDER BY id",
        )
        .bind(lead_id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(event_from_row)
        .collect()
    }
}
