//! Bland's plans and the limits each one publishes, so an operator can write `plan =
//! "build"` instead of copying figures. Source: <https://docs.bland.ai/platform/billing>
//! (`reference/bland.md` A6); Enterprise limits are negotiated, so none are assumed.

use serde::{Deserialize, Serialize};

/// A Bland plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Free: 100 calls a day, 100 an hour, 10 at once.
    Start,
    /// $299 a month: 2,000 calls a day, 1,000 an hour, 50 at once.
    Build,
    /// $499 a month: 5,000 calls a day, 1,000 an hour, 100 at once.
    Scale,
    /// Contract: no published limit.
    Enterprise,
}

/// The limits of a plan; `None` = none published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanLimits {
    /// Calls live at once.
    pub max_concurrent: Option<u32>,
    /// Calls created in a rolling hour.
    pub calls_per_hour: Option<u32>,
    /// Calls created in a rolling day.
    pub calls_per_day: Option<u32>,
}

impl Plan {
    /// The plan's published limits.
    pub fn limits(self) -> PlanLimits {
        let l = |c, h, d| PlanLimits {
            max_concurrent: Some(c),
            calls_per_hour: Some(h),
            calls_per_day: Some(d),
        };
        match self {
            Plan::Start => l(10, 100, 100),
            Plan::Build => l(50, 1_000, 2_000),
            Plan::Scale => l(100, 1_000, 5_000),
            Plan::Enterprise => PlanLimits::default(),
        }
    }
}
