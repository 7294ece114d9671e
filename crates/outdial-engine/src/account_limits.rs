//! Plan limits of provider accounts: concurrency, calls per hour and per day, calls per
//! second, each shared by every campaign placed through the provider ([`ProviderLimits`],
//! configured per [`ProviderKind`] in [`EngineConfig::provider_limits`]).
//!
//! They hold across the fleet (several engine instances over one store):
//! - concurrency and the hourly and daily caps are checked by the store in the transaction
//!   that reserves the attempt ([`AccountLimits::reserve_attempt_within`]), counting the
//!   attempts of every campaign whose provider is the account's: in flight, or reserved in
//!   the last 3,600 s / 86,400 s of the engine's clock (rolling windows; attempts proven not
//!   placed — `rejected`, `not-placed` — do not count);
//! - calls per second through the fleet-wide pacer `calls:{provider}` (after the global
//!   pacer [`crate::PACER_NAME`]).
//!
//! A lead held back by a plan limit is not dialed and not touched: it stays due, with no
//! attempt and no penalty, and is dialed when the account has room. While an account is full,
//! a tick claims due leads of the other campaigns only
//! ([`AccountLimits::due_leads_outside`]), so a full account never crowds out another's leads.
//!
//! [`EngineConfig::provider_limits`]: crate::EngineConfig::provider_limits
//! [`AccountLimits::reserve_attempt_within`]: outdial_store::AccountLimits::reserve_attempt_within
//! [`AccountLimits::due_leads_outside`]: outdial_store::AccountLimits::due_leads_outside

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use outdial_core::{CampaignId, ProviderKind};
use outdial_store::{AccountCaps, AccountUsage, WindowCap};
use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// Length of the hourly window, seconds.
pub const HOUR_S: i64 = 3_600;
/// Length of the daily window, seconds (a rolling 24 h, not a calendar day).
pub const DAY_S: i64 = 86_400;

/// The plan limits of one provider account. Every field is optional; `None` is no limit.
/// The figures come from the account's plan: the provider adapters publish each provider's
/// plans with their sources (the AI-voice adapter's `plan` module: for instance its entry
/// plan allows 100 calls a day, 100 an hour, 10 at once), and the configuration may
/// replace any of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderLimits {
    /// Most attempts in flight at once through the account (its concurrency).
    #[serde(default)]
    pub max_concurrent: Option<u32>,
    /// Most attempts reserved in any rolling hour (3,600 clock seconds).
    #[serde(default)]
    pub calls_per_hour: Option<u32>,
    /// Most attempts reserved in any rolling day (86,400 clock seconds).
    #[serde(default)]
    pub calls_per_day: Option<u32>,
    /// Most calls placed per clock second through the account (a fleet-wide pacer); the
    /// global [`EngineConfig::calls_per_second`](crate::EngineConfig::calls_per_second) still
    /// applies on top.
    #[serde(default)]
    pub calls_per_second: Option<f64>,
}

impl ProviderLimits {
    /// Checks the values: counts at least 1, `calls_per_second` finite and above 0. The error
    /// names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("max_concurrent", self.max_concurrent),
            ("calls_per_hour", self.calls_per_hour),
            ("calls_per_day", self.calls_per_day),
        ] {
            if v == Some(0) {
                return Err(format!(
                    "{name} must be at least 1 (leave it out for no limit)"
                ));
            }
        }
        if let Some(r) = self.calls_per_second {
            if !(r.is_finite() && r > 0.0) {
                return Err(format!(
                    "calls_per_second must be a number above 0, got {r}"
                ));
            }
        }
        Ok(())
    }

    /// Whether a limit counts attempts (concurrency, hourly or daily cap).
    pub fn counts_attempts(&self) -> bool {
        self.max_concurrent.is_some()
            || self.calls_per_hour.is_some()
            || self.calls_per_day.is_some()
    }

    /// The caps of the account at `now` over `campaigns`.
    pub fn caps(&self, campaigns: Vec<CampaignId>, now: DateTime<Utc>) -> AccountCaps {
        let windows = [(self.calls_per_hour, HOUR_S), (self.calls_per_day, DAY_S)]
            .into_iter()
            .filter_map(|(max, len)| {
                max.map(|max| WindowCap {
                    since: now - Duration::seconds(len),
                    max,
                })
            })
            .collect();
        AccountCaps {
            campaigns,
            max_in_flight: self.max_concurrent,
            windows,
        }
    }

    /// Time between two calls at `calls_per_second` (clock time), if set.
    pub(crate) fn pacing_interval(&self) -> Option<Duration> {
        self.calls_per_second
            .map(|r| Duration::microseconds(((1_000_000.0 / r) as i64).max(1)))
    }
}

/// The name of the fleet-wide pacer of `provider`'s account: `calls:{provider}`.
pub fn provider_pacer_name(provider: ProviderKind) -> String {
    format!("{}:{}", crate::PACER_NAME, provider.as_str())
}

/// One account's state during a tick.
#[derive(Debug)]
struct Account {
    limits: ProviderLimits,
    campaigns: Vec<CampaignId>,
    usage: AccountUsage,
    full: bool,
}

/// The accounts with limits that count attempts, as one tick sees them.
#[derive(Debug, Default)]
pub(crate) struct AccountGates {
    accounts: HashMap<ProviderKind, Account>,
}

impl AccountGates {
    /// The campaigns of the accounts that are full.
    pub(crate) fn excluded(&self) -> Vec<CampaignId> {
        self.accounts
            .values()
            .filter(|a| a.full)
            .flat_map(|a| a.campaigns.iter().copied())
            .collect()
    }

    /// Whether `provider`'s account has no room now.
    pub(crate) fn is_full(&self, provider: ProviderKind) -> bool {
        self.accounts.get(&provider).is_some_and(|a| a.full)
    }

    /// The caps to reserve an attempt of `campaign` under at `now`, if its provider's account
    /// has counting limits.
    pub(crate) fn caps(
        &mut self,
        provider: ProviderKind,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Option<AccountCaps> {
        let a = self.accounts.get_mut(&provider)?;
        if !a.campaigns.contains(&campaign) {
            a.campaigns.push(campaign);
        }
        Some(a.limits.caps(a.campaigns.clone(), now))
    }
}

impl Engine {
    /// The plan limits of `provider`'s account, if configured.
    pub(crate) fn provider_limits(&self, provider: ProviderKind) -> Option<&ProviderLimits> {
        self.config.provider_limits.get(&provider)
    }

    /// Measures every account with counting limits at `now` (one store read of the campaigns,
    /// and one usage query per account). Empty when no limit counts attempts.
    pub(crate) async fn account_gates(
        &self,
        now: DateTime<Utc>,
    ) -> Result<AccountGates, EngineError> {
        let mut gates = AccountGates::default();
        let limited: Vec<(ProviderKind, ProviderLimits)> = self
            .config
            .provider_limits
            .iter()
            .filter(|(_, l)| l.counts_attempts())
            .map(|(p, l)| (*p, *l))
            .collect();
        if limited.is_empty() {
            return Ok(gates);
        }
        let campaigns = self.store.campaigns().await?;
        for (provider, limits) in limited {
            let ids: Vec<CampaignId> = campaigns
                .iter()
                .filter(|c| c.settings.provider == provider)
                .map(|c| c.id)
                .collect();
            let mut account = Account {
                limits,
                campaigns: ids,
                usage: AccountUsage::default(),
                full: false,
            };
            self.measure(provider, &mut account, now).await?;
            gates.accounts.insert(provider, account);
        }
        Ok(gates)
    }

    /// Measures the usage of `provider`'s account again at `now` (after a reservation was
    /// refused, or one was made).
    pub(crate) async fn remeasure(
        &self,
        gates: &mut AccountGates,
        provider: ProviderKind,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if let Some(mut account) = gates.accounts.remove(&provider) {
            let res = self.measure(provider, &mut account, now).await;
            gates.accounts.insert(provider, account);
            res?;
        }
        Ok(())
    }

    async fn measure(
        &self,
        provider: ProviderKind,
        account: &mut Account,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let caps = account.limits.caps(account.campaigns.clone(), now);
        let since: Vec<DateTime<Utc>> = caps.windows.iter().map(|w| w.since).collect();
        account.usage = self.store.account_usage(&account.campaigns, &since).await?;
        let full = !caps.has_room(&account.usage);
        if full && !account.full {
            tracing::info!(
                provider = provider.as_str(),
                in_flight = account.usage.in_flight,
                reserved = ?account.usage.reserved_since,
                "provider account at its plan limit; its leads wait"
            );
        }
        account.full = full;
        Ok(())
    }
}
