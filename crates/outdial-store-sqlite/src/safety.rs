//! [`outdial_store::Safety`] on SQLite.

use super::*;

#[async_trait]
impl Safety for SqliteStore {
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let key = scope.as_key();
        // Tripping creates the row of a scope never set; resuming a scope never set changes
        // nothing (it is not tripped). Either way only a change of position writes.
        let res = if tripped {
            sqlx::query(
                "INSERT INTO kill_switches (scope, tripped, reason, source, changed_at)
                 VALUES (?, 1, ?, ?, ?)
                 ON CONFLICT (scope) DO UPDATE SET tripped = 1, reason = excluded.reason,
                        source = excluded.source, changed_at = excluded.changed_at
                 WHERE kill_switches.tripped = 0",
            )
            .bind(&key)
            .bind(reason)
            .bind(source)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query(
                "UPDATE kill_switches SET tripped = 0, reason = ?, source = ?, changed_at = ?
                 WHERE scope = ? AND tripped = 1",
            )
            .bind(reason)
            .bind(source)
            .bind(ts(now))
            .bind(&key)
            .execute(&mut *tx)
            .await
        }
        .map_err(backend)?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        let kind = if tripped {
            EventKind::KillSwitchTripped.as_str()
        } else {
            EventKind::KillSwitchResumed.as_str()
        };
        let detail = serde_json::json!({"scope": key, "reason": reason}).to_string();
        insert_event(&mut tx, now, None, None, kind, source, None, &detail).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>> {
        sqlx::query("SELECT * FROM kill_switches ORDER BY scope")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(kill_switch_from_row)
            .collect()
    }

    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO alerts (kind, scope, subject, body, dedupe_key, raised_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&alert.kind)
        .bind(&alert.scope)
        .bind(&alert.subject)
        .bind(&alert.body)
        .bind(alert.dedupe_key.as_deref())
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(None);
        };
        for job in alert_jobs(AlertId(id), channels, now) {
            insert_job(&mut tx, &job, now).await?;
        }
        let detail = serde_json::json!({
            "alert_id": id, "kind": alert.kind, "scope": alert.scope, "subject": alert.subject,
            "channels": channels,
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            EventKind::AlertRaised.as_str(),
            ALERTS_SOURCE,
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(AlertId(id)))
    }

    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(alert_from_row)
            .transpose()
    }

    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(alert_from_row)
            .collect()
    }
}
