//! [`outdial_store::DncLists`] on PostgreSQL.

use super::*;

#[async_trait]
impl DncLists for PgStore {
    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        // Rows go in key order, so two batches racing over the same numbers take their
        // index locks in the same order and cannot deadlock. The sort is stable: of two
        // entries with one key in a batch, the earlier one is stored.
        let mut sorted: Vec<(String, &DncEntry)> =
            entries.iter().map(|e| (e.scope.as_key(), e)).collect();
        sorted.sort_by(|a, b| (&a.0, a.1.phone.as_str()).cmp(&(&b.0, b.1.phone.as_str())));
        let mut scopes_col = Vec::with_capacity(sorted.len());
        let mut phones = Vec::with_capacity(sorted.len());
        let mut sources = Vec::with_capacity(sorted.len());
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(sorted.len());
        let mut added_at = Vec::with_capacity(sorted.len());
        for (scope, e) in sorted {
            scopes_col.push(scope);
            phones.push(e.phone.as_str().to_owned());
            sources.push(e.source.clone());
            reasons.push(e.reason.clone());
            added_at.push(ts(e.added_at));
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let added = sqlx::query(
            "INSERT INTO dnc (scope, phone, source, reason, added_at)
             SELECT scope, phone, source, reason, added_at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                 WITH ORDINALITY AS i (scope, phone, source, reason, added_at, ord)
             ORDER BY ord
             ON CONFLICT (scope, phone) DO NOTHING",
        )
        .bind(scopes_col)
        .bind(phones)
        .bind(sources)
        .bind(reasons)
        .bind(added_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if added > 0 {
            let detail = if let [e] = entries {
                serde_json::json!({
                    "phone": e.phone.as_str(), "scope": e.scope.as_key(), "source": e.source,
                    "reason": e.reason, "added_at": ts_text(e.added_at),
                })
            } else {
                let scopes: BTreeSet<String> = entries.iter().map(|e| e.scope.as_key()).collect();
                let sources: BTreeSet<&str> = entries.iter().map(|e| e.source.as_str()).collect();
                serde_json::json!({
                    "batch": entries.len(), "added": added, "scopes": scopes, "sources": sources,
                    "first": entries[0].phone.as_str(),
                    "last": entries[entries.len() - 1].phone.as_str(),
                })
            };
            let source = match entries {
                [e] => e.source.as_str(),
                _ if entries.iter().all(|e| e.source == entries[0].source) => {
                    entries[0].source.as_str()
                }
                _ => "batch",
            };
            insert_event(
                &mut tx,
                now,
                None,
                None,
                EventKind::DncAdded.as_str(),
                source,
                None,
                &detail.to_string(),
            )
            .await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(added)
    }

    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let Some(row) = sqlx::query(
            "DELETE FROM dnc WHERE scope = $1 AND phone = $2
             RETURNING scope, phone, source, reason, added_at",
        )
        .bind(scope.as_key())
        .bind(phone.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        else {
            return Ok(false);
        };
        let removed = dnc_from_row(&row)?;
        let detail = serde_json::json!({
            "phone": removed.phone.as_str(), "scope": removed.scope.as_key(),
            "source": removed.source, "reason": removed.reason,
            "added_at": ts_text(removed.added_at),
        })
        .to_string();
        insert_event(
            &mut tx,
            now,
            None,
            None,
            EventKind::DncRemoved.as_str(),
            "operator",
            None,
            &detail,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>> {
        // Up to three primary-key probes; a NULL third key matches nothing. Byte order
        // (COLLATE "C") whatever the database's collation, as in SQLite.
        sqlx::query(
            "SELECT scope, phone, source, reason, added_at FROM dnc
             WHERE phone = $1 AND scope IN ('internal', 'national', $2)
             ORDER BY scope COLLATE \"C\"",
        )
        .bind(phone.as_str())
        .bind(campaign.map(|c| DncScope::Campaign(c).as_key()))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(dnc_from_row)
        .collect()
    }

    async fn dnc_check_many(
        &self,
        phones: &[E164],
        campaign: Option<CampaignId>,
    ) -> StoreResult<HashMap<E164, Vec<DncEntry>>> {
        let mut found: HashMap<E164, Vec<DncEntry>> = HashMap::new();
        if phones.is_empty() {
            return Ok(found);
        }
        // One statement whatever the batch's length (a repeated number matches once);
        // primary-key probes per (scope, number), ordered as `dnc_check` orders.
        let asked: Vec<&str> = phones.iter().map(E164::as_str).collect();
        let rows = sqlx::query(
            "SELECT scope, phone, source, reason, added_at FROM dnc
             WHERE phone = ANY($1) AND scope IN ('internal', 'national', $2)
             ORDER BY phone COLLATE \"C\", scope COLLATE \"C\"",
        )
        .bind(asked)
        .bind(campaign.map(|c| DncScope::Campaign(c).as_key()))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for row in &rows {
            let entry = dnc_from_row(row)?;
            found.entry(entry.phone.clone()).or_default().push(entry);
        }
        Ok(found)
    }

    async fn dnc_count(&self) -> StoreResult<BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT scope, COUNT(*) FROM dnc GROUP BY scope")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(k, v)| (k, v as u64)).collect())
    }
}
