//! The fake Bland's settings: credentials, plan caps, webhook behaviour, prices.

use std::time::Duration;

/// Default Bland API key of a [`BlandFake`] (`Authorization: <key>` or `Bearer <key>`).
pub const DEFAULT_BLAND_API_KEY: &str = "outdial-carrier-bland-api-key";
/// Default webhook signing secret of a [`BlandFake`] (`X-Webhook-Signature` key).
pub const DEFAULT_BLAND_WEBHOOK_SECRET: &str = "outdial-carrier-bland-webhook-secret";
/// Default org id of a [`BlandFake`] (header `x-bland-org-id` of `GET /v1/calls/active`).
pub const DEFAULT_BLAND_ORG_ID: &str = "org-outdial-carrier";
/// Default caller id of a Bland call created without `from` (Bland dials from its own pool).
pub const DEFAULT_BLAND_FROM: &str = "+15005550000";

/// What the fake Bland (`/v1/…` routes of the carrier) accepts and how it behaves.
/// Build it with struct-update syntax over [`BlandFake::default`].
#[derive(Clone, PartialEq)]
pub struct BlandFake {
    /// The API key every `/v1/…` request must carry as `Authorization: <key>` or
    /// `Authorization: Bearer <key>`. Default [`DEFAULT_BLAND_API_KEY`].
    pub api_key: String,
    /// The org's webhook signing secret: `X-Webhook-Signature` is the lower-case hex
    /// HMAC-SHA256 of each webhook's raw body with it. Default [`DEFAULT_BLAND_WEBHOOK_SECRET`].
    pub webhook_secret: String,
    /// The org id `GET /v1/calls/active` requires in `x-bland-org-id`. Default
    /// [`DEFAULT_BLAND_ORG_ID`].
    pub org_id: String,
    /// Caller id of calls created without `from`. Default [`DEFAULT_BLAND_FROM`].
    pub default_from: String,
    /// Most Bland calls live at once (created, not yet ended); a create over it is refused
    /// with 429 and no call is placed. `None` = unlimited (default). Bland's plans: 10, 50,
    /// 100 (<https://docs.bland.ai/platform/billing>).
    pub concurrency_cap: Option<u32>,
    /// Most Bland calls created in any rolling 60 simulated minutes; over it → 429.
    /// `None` = unlimited (default). Bland's plans: 100, 1,000.
    pub hourly_cap: Option<u32>,
    /// Most Bland calls created in any rolling 24 simulated hours; over it → 429.
    /// `None` = unlimited (default). Bland's plans: 100, 2,000, 5,000.
    pub daily_cap: Option<u32>,
    /// Probability (0..=1) that a call's post-call webhook is followed by a second one,
    /// 30–60 simulated seconds later, carrying `corrected_transcript`. Default 0.
    pub second_webhook: f64,
    /// Probability (0..=1) that a call answered by a person reports `answered_by: "unknown"`
    /// ("not enough audio; most likely a human") instead of `human`. Default 0.
    pub unknown_answer: f64,
    /// Upper bound of an extra random wait (simulated) before the post-call webhook of a
    /// call created with `answered_by_enabled` (Bland: "may be delayed up to a minute").
    /// Default zero.
    pub answered_by_delay: Duration,
    /// Price per minute of call, USD; each dispatch costs at least $0.015
    /// (<https://docs.bland.ai/platform/billing>). Default 0.09.
    pub price_per_minute: f64,
    /// The number an answered call reports in `transferred_to` when its drawn
    /// `disposition_tag` contains `transfer` (any case). Default `+15005550199`.
    pub transfer_number: String,
}

impl std::fmt::Debug for BlandFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlandFake")
            .field("api_key", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .field("org_id", &self.org_id)
            .field("concurrency_cap", &self.concurrency_cap)
            .field("hourly_cap", &self.hourly_cap)
            .field("daily_cap", &self.daily_cap)
            .field("second_webhook", &self.second_webhook)
            .finish_non_exhaustive()
    }
}

impl Default for BlandFake {
    fn default() -> Self {
        BlandFake {
            api_key: DEFAULT_BLAND_API_KEY.into(),
            webhook_secret: DEFAULT_BLAND_WEBHOOK_SECRET.into(),
            org_id: DEFAULT_BLAND_ORG_ID.into(),
            default_from: DEFAULT_BLAND_FROM.into(),
            concurrency_cap: None,
            hourly_cap: None,
            daily_cap: None,
            second_webhook: 0.0,
            unknown_answer: 0.0,
            answered_by_delay: Duration::ZERO,
            price_per_minute: 0.09,
            transfer_number: "+15005550199".into(),
        }
    }
}

impl BlandFake {
    /// Checks the settings; the message names the bad field (`bland.api_key`, …).
    pub fn validate(&self) -> Result<(), String> {
        let header_safe = |s: &str| {
            !s.trim().is_empty() && s.trim() == s && s.bytes().all(|b| b.is_ascii_graphic())
        };
        if !header_safe(&self.api_key) {
            return Err("bland.api_key must be non-empty printable ASCII without spaces".into());
        }
        if self.webhook_secret.trim().is_empty() {
            return Err("bland.webhook_secret must not be empty".into());
        }
        if !header_safe(&self.org_id) {
            return Err("bland.org_id must be non-empty printable ASCII without spaces".into());
        }
        if !super::is_e164(&self.default_from) {
            return Err(format!(
                "bland.default_from must be E.164, got '{}'",
                self.default_from
            ));
        }
        if !super::is_e164(&self.transfer_number) {
            return Err(format!(
                "bland.transfer_number must be E.164, got '{}'",
                self.transfer_number
            ));
        }
        for (name, cap) in [
            ("concurrency_cap", self.concurrency_cap),
            ("hourly_cap", self.hourly_cap),
            ("daily_cap", self.daily_cap),
        ] {
            if cap == Some(0) {
                return Err(format!(
                    "bland.{name} must be at least 1 (leave it unset for no cap)"
                ));
            }
        }
        for (name, p) in [
            ("second_webhook", self.second_webhook),
            ("unknown_answer", self.unknown_answer),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "bland.{name} must be a probability between 0 and 1, got {p}"
                ));
            }
        }
        if !(self.price_per_minute.is_finite() && self.price_per_minute >= 0.0) {
            return Err(format!(
                "bland.price_per_minute must be a finite number >= 0, got {}",
                self.price_per_minute
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_fields_are_named() {
        assert!(BlandFake::default().validate().is_ok());
        for (bad, field) in [
            (
                BlandFake {
                    api_key: "".into(),
                    ..BlandFake::default()
                },
                "api_key",
            ),
            (
                BlandFake {
                    api_key: "a key".into(),
                    ..BlandFake::default()
                },
                "api_key",
            ),
            (
                BlandFake {
                    webhook_secret: " ".into(),
                    ..BlandFake::default()
                },
                "webhook_secret",
            ),
            (
                BlandFake {
                    hourly_cap: Some(0),
                    ..BlandFake::default()
                },
                "hourly_cap",
            ),
            (
                BlandFake {
                    second_webhook: 1.5,
                    ..BlandFake::default()
                },
                "second_webhook",
            ),
            (
                BlandFake {
                    default_from: "5551234".into(),
                    ..BlandFake::default()
                },
                "default_from",
            ),
        ] {
            let e = bad.validate().unwrap_err();
            assert!(e.contains(field), "{e}");
        }
        assert!(!format!("{:?}", BlandFake::default()).contains(DEFAULT_BLAND_API_KEY));
    }
}
