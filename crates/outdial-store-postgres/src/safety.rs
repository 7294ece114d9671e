//! [`outdial_store::Safety`] on PostgreSQL.

use super::*;

#[async_trait]
impl Safety for PgStore {
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let key = scope.as_key();
        // Tripping creates the row of a scope never set; resuming a scope never set changes
        // nothing (it is not tripped). Either way only a change of position writes; each
        // statement is atomic, so of two instances flipping a switch together one changes it.
        let changed = if tripped {
            sqlx::query_scalar::<_, String>(
                "INSERT INTO kill_switches (scope, tripped, reason, source, changed_at)
                 VALUES ($1, true, $2, $3, $4)
                 ON CONFLICT (scope) DO UPDATE SET tripped = true, reason = EXCLUDED.reason,
                        source = EXCLUDED.source, changed_at = EXCLUDED.changed_at
                 WHERE NOT kill_switches.tripped
                 RETURNING scope",
            )
        } else {
            sqlx::query_scalar::<_, String>(
                "UPDATE kill_switches SET tripped = false, reason = $2, source = $3, changed_at = $4
                 WHERE scope = $1 AND tripped
                 RETURNING scope",
            )
        }
        .bind(&key)
        .bind(reason)
        .bind(source)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        if changed.is_none() {
            return Ok(false);
        }
        let kind = if tripped {
            EventKind::KillSwitchTripped.as_str()
        } else {
            EventKind::KillSwitchResumed.as_str()
        };
        let detail = serde_json::json!({"scope": key, "reason": reason}).to_string();
        insert_event(&mut tx, now, None, None, kind, source, None, &detail).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>> {
        sqlx::query("SELECT * FROM kill_switches ORDER BY scope COLLATE \"C\"")
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
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(id) = sqlx::query_scalar::<_, i64>(
            "INSERT INTO alerts (kind, scope, subject, body, dedupe_key, raised_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
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
        tx.commit().await.map_err(backend)?;
        Ok(Some(AlertId(id)))
    }

    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(alert_from_row)
            .transpose()
    }

    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query("SELECT * FROM alerts ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(alert_from_row)
            .collect()
    }
}
