//! Kill switches and alerts: the records and the [`Safety`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::CampaignId;
use serde::Serialize;

/// Where a kill switch applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum KillScope {
    /// Every campaign: no call is placed anywhere.
    Global,
    /// One campaign.
    Campaign(CampaignId),
}

impl KillScope {
    /// Stable key: `global` or `campaign:{id}`.
    pub fn as_key(&self) -> String {
        match self {
            KillScope::Global => "global".into(),
            KillScope::Campaign(c) => format!("campaign:{}", c.0),
        }
    }

    /// Parses [`KillScope::as_key`]'s form; `None` for anything else.
    pub fn parse(key: &str) -> Option<KillScope> {
        if key == "global" {
            return Some(KillScope::Global);
        }
        let digits = key.strip_prefix("campaign:")?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        digits
            .parse()
            .ok()
            .map(|n| KillScope::Campaign(CampaignId(n)))
    }
}

impl From<KillScope> for String {
    fn from(s: KillScope) -> String {
        s.as_key()
    }
}

/// A kill switch as stored: its scope, whether it is tripped, and who changed it last, why
/// and when (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillSwitch {
    /// Scope.
    pub scope: KillScope,
    /// `true`: no call is placed in the scope until an operator resumes.
    pub tripped: bool,
    /// Why it was last tripped or resumed (readable sentence).
    pub reason: String,
    /// Who changed it: `monitor:<rule>` for the safety monitor, `operator:<name>` or `api`.
    pub source: String,
    /// When it last changed, UTC.
    pub changed_at: DateTime<Utc>,
}

/// Identifier of an alert (row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AlertId(pub i64);

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAlert {
    /// What happened, as a stable code (`kill_switch.tripped`, `provider.unreachable`, …).
    pub kind: String,
    /// Scope it concerns (`global`, `campaign:3`).
    pub scope: String,
    /// One line.
    pub subject: String,
    /// Plain text: the reason, the counts, and what to do.
    pub body: String,
    /// When set, a second alert with the same key is not raised (and no job is enqueued).
    pub dedupe_key: Option<String>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// Row id.
    pub id: AlertId,
    /// Stable code.
    pub kind: String,
    /// Scope.
    pub scope: String,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Raised at, UTC.
    pub raised_at: DateTime<Utc>,
}

/// Safety: kill switches and alerts. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Safety: Send + Sync {
    /// Trips (`tripped = true`) or resumes a kill switch, recording `kill_switch.tripped` /
    /// `kill_switch.resumed` in the event log in the same transaction. Returns `false` (and
    /// changes nothing) when the switch is already in that position, so a monitor that trips
    /// again and again records and alerts once. Errors: [`StoreError::Unavailable`].
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Every kill switch ever set, by scope key. A scope never set is not tripped.
    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>>;

    /// Raises an alert: stores it and enqueues one job per channel (`kind` = the channel,
    /// payload `{"alert_id": N}`, `run_at = now`), with an `alert.raised` event, in one
    /// transaction. Returns `None` (nothing written) when an alert with the same
    /// `dedupe_key` exists. Errors: [`StoreError::Unavailable`].
    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>>;

    /// One alert.
    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>>;

    /// Alerts, newest first, at most `limit`.
    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>>;
}
