//! [`outdial_store::DncLists`] on SQLite.

use super::*;

#[async_trait]
impl DncLists for SqliteStore {
    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut tx = WriteTx::begin(&self.pool).await?;
        let mut added = 0u64;
        for chunk in entries.chunks(DNC_ROWS_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO dnc (scope, phone, source, reason, added_at) VALUES {values}
                 ON CONFLICT (scope, phone) DO NOTHING"
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.scope.as_key())
                    .bind(e.phone.as_str())
                    .bind(e.source.as_str())
                    .bind(e.reason.as_deref())
                    .bind(ts(e.added_at));
            }
            added += q.execute(&mut *tx).await.map_err(backend)?.rows_affected();
        }
        if added > 0 {
            let detail = if let [e] = entries {
                serde_json::json!({
                    "phone": e.phone.as_str(), "scope": e.scope.as_key(), "source": e.source,
                    "reason": e.reason, "added_at": ts(e.added_at),
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
        tx.commit().await?;
        Ok(added)
    }

    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = WriteTx::begin(&self.pool).await?;
        let Some(row) = sqlx::query(
            "DELETE FROM dnc WHERE scope = ? AND phone = ?
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
            "added_at": ts(removed.added_at),
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
        tx.commit().await?;
        Ok(true)
    }

    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>> {
        // Up to three primary-key probes; a NULL third key matches nothing.
        sqlx::query(
            "SELECT scope, phone, source, reason, added_at FROM dnc
             WHERE phone = ? AND scope IN ('internal', 'national', ?)
             ORDER BY scope",
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
        let campaign_key = campaign.map(|c| DncScope::Campaign(c).as_key());
        let mut seen: HashSet<&str> = HashSet::with_capacity(phones.len());
        for chunk in phones.chunks(PHONES_PER_LOOKUP) {
            // A number repeated in an earlier chunk has its answer already.
            let asked: Vec<&E164> = chunk.iter().filter(|p| seen.insert(p.as_str())).collect();
            if asked.is_empty() {
                continue;
            }
            // The numbers as one JSON array: one statement text (prepared once) whatever
            // the chunk's length; primary-key probes per (scope, number), as `dnc_check`.
            let rows = sqlx::query(
                "SELECT scope, phone, source, reason, added_at FROM dnc
                 WHERE scope IN ('internal', 'national', ?)
                   AND phone IN (SELECT value FROM json_each(?))
                 ORDER BY phone, scope",
            )
            .bind(campaign_key.as_deref())
            .bind(phones_json(asked.iter().copied()))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            for row in &rows {
                let entry = dnc_from_row(row)?;
                found.entry(entry.phone.clone()).or_default().push(entry);
            }
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
