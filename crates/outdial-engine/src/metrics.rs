//! Process metrics: what this instance did, as Prometheus counters and histograms.
//!
//! [`Metrics`] holds the families the engine (placements, call outcomes, provider request
//! time, reconciler actions, kill-switch trips, alerts) and the HTTP layer (webhooks by
//! result and their handling time) count as things happen. They are per process, as
//! Prometheus expects: a fleet's figure is the `sum()` over its instances. Figures that are
//! facts of the store (attempts in flight, leads due, kill switches engaged, jobs) are read
//! at scrape time instead, by whoever serves `/metrics` ([`Metrics::register`] takes the
//! registry those go into too).
//!
//! Naming follows <https://prometheus.io/docs/practices/naming/>: the `outdial_` prefix,
//! base units (seconds) in the name, counters ending in `_total` (the encoder appends it).
//! No label ever holds a phone number, lead id, attempt id or call id: every label value is
//! a `&'static str` from a closed set (a provider name, a result or outcome name), so the
//! number of series is bounded by construction.

use std::time::Duration;

use outdial_core::{AnsweredBy, CallStatus, ProviderKind};
use outdial_providers::{PlaceError, PlacedCall};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// Labels of `outdial_dial_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DialLabels {
    /// The provider, as [`ProviderKind::as_str`] names it.
    pub provider: &'static str,
    /// What the create request came back with: [`DialResult::as_str`].
    pub result: &'static str,
}

/// What one create request came back with, as counted by `outdial_dial_requests_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialResult {
    /// Accepted: the call is placed.
    Accepted,
    /// Refused for good (a bad number, a refused destination or account, a request the
    /// provider cannot express).
    Rejected,
    /// Not sent, or failed before the provider could act on it (retried later).
    Transient,
    /// The provider asked us to slow down (HTTP 429 or its equivalent).
    RateLimited,
    /// The outcome is unknown (a timeout or a 5xx after the request was sent): the call may
    /// exist; the reconciler resolves it.
    UnknownOutcome,
}

impl DialResult {
    /// How a create request's answer is counted: accepted; a refusal for good
    /// ([`PlaceError::Rejected`], [`PlaceError::Unsupported`], [`PlaceError::Auth`]);
    /// rate limited; not sent (transient); ambiguous (unknown outcome).
    pub fn of(answer: &Result<PlacedCall, PlaceError>) -> DialResult {
        match answer {
            Ok(_) => DialResult::Accepted,
            Err(
                PlaceError::Rejected { .. }
                | PlaceError::Unsupported { .. }
                | PlaceError::Auth { .. },
            ) => DialResult::Rejected,
            Err(PlaceError::RateLimited { .. }) => DialResult::RateLimited,
            Err(PlaceError::NotSent { .. }) => DialResult::Transient,
            Err(PlaceError::Ambiguous { .. }) => DialResult::UnknownOutcome,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DialResult::Accepted => "accepted",
            DialResult::Rejected => "rejected",
            DialResult::Transient => "transient",
            DialResult::RateLimited => "rate_limited",
            DialResult::UnknownOutcome => "unknown_outcome",
        }
    }
}

/// Labels of `outdial_call_outcomes_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The provider.
    pub provider: &'static str,
    /// The final call status with `-` written `_` (`completed`, `busy`, `no_answer`,
    /// `failed`, `canceled`).
    pub outcome: &'static str,
    /// Who answered: `human`, `machine` (any answering-machine or fax result), `unknown`
    /// (answered, not classified) or `none` (not answered).
    pub answered_by: &'static str,
}

/// Labels of `outdial_provider_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderOpLabels {
    /// The provider.
    pub provider: &'static str,
    /// `create`, `fetch`, `list` or `hangup`.
    pub op: &'static str,
}

/// Labels of `outdial_webhooks_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// The provider whose webhook route received it.
    pub provider: &'static str,
    /// `applied`, `duplicate`, `stale`, `late`, `unknown_call`, `bad_signature`,
    /// `malformed` or `store_error`.
    pub result: &'static str,
}

/// Labels with the provider only.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// The provider.
    pub provider: &'static str,
}

/// Labels of `outdial_reconciler_actions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `advanced` (the provider's answer moved an attempt on), `not_placed` (an unknown or
    /// stale reserved attempt proven never placed), `ended` (a call ended through the
    /// provider because it outlived its bound) or `error` (the provider failed to answer).
    pub action: &'static str,
}

/// Labels of `outdial_kill_switch_trips_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TripLabels {
    /// `global` or `campaign`.
    pub scope: &'static str,
    /// Who tripped it: `engine` (a provider refusal, a failed write, a missing provider),
    /// `monitor` (the safety monitor's rules), `operator` (the API or CLI) or `other`.
    pub by: &'static str,
}

/// Labels of `outdial_alerts_sent_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    /// The alert channel (`email`, `webhook`, ...: the configured channels' names).
    pub channel: String,
    /// `sent`, `retry` (failed, tried again later) or `failed` (dead-lettered).
    pub result: &'static str,
}

/// Labels of `outdial_job_runs_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The job kind: one of the registered handlers' kinds, or `unknown`.
    pub kind: String,
    /// `done`, `retry` or `dead`.
    pub result: &'static str,
}

/// The counters and histograms of one process. Cheap to clone (every family is an `Arc`
/// inside); [`Metrics::default`] starts every figure at zero.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Create requests by provider and result.
    pub dial_requests: Family<DialLabels, Counter>,
    /// Attempts that reached a final call status, by provider, status and who answered.
    pub call_outcomes: Family<OutcomeLabels, Counter>,
    /// Time of each request to a provider's API, seconds.
    pub provider_request_duration: Family<ProviderOpLabels, Histogram>,
    /// Webhooks received by provider and result.
    pub webhooks: Family<WebhookLabels, Counter>,
    /// Time to verify and apply one webhook (from the body read to the answer), seconds.
    pub webhook_handle_duration: Family<ProviderLabels, Histogram>,
    /// Reconciler actions by kind.
    pub reconciler_actions: Family<ActionLabels, Counter>,
    /// Kill-switch trips by scope and by what tripped them.
    pub kill_switch_trips: Family<TripLabels, Counter>,
    /// Alert deliveries by channel and result.
    pub alerts_sent: Family<AlertLabels, Counter>,
    /// Durable job runs by kind and result.
    pub job_runs: Family<JobLabels, Counter>,
}

/// Buckets for request and handling times: 1 ms to about 33 s, doubling.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            dial_requests: Family::default(),
            call_outcomes: Family::default(),
            provider_request_duration: Family::new_with_constructor(seconds_buckets),
            webhooks: Family::default(),
            webhook_handle_duration: Family::new_with_constructor(seconds_buckets),
            reconciler_actions: Family::default(),
            kill_switch_trips: Family::default(),
            alerts_sent: Family::default(),
            job_runs: Family::default(),
        }
    }
}

impl Metrics {
    /// Registers every family in `registry`, under the `outdial_` names listed in the
    /// module docs (the registry's prefix, if any, is prepended).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outdial_dial_requests",
            "Create requests sent to a provider, by result",
            self.dial_requests.clone(),
        );
        registry.register(
            "outdial_call_outcomes",
            "Attempts that reached a final call status, by status and who answered",
            self.call_outcomes.clone(),
        );
        registry.register_with_unit(
            "outdial_provider_request_duration",
            "Time of a request to a provider's API",
            Unit::Seconds,
            self.provider_request_duration.clone(),
        );
        registry.register(
            "outdial_webhooks",
            "Provider webhooks received, by result",
            self.webhooks.clone(),
        );
        registry.register_with_unit(
            "outdial_webhook_handle_duration",
            "Time to verify and apply one provider webhook",
            Unit::Seconds,
            self.webhook_handle_duration.clone(),
        );
        registry.register(
            "outdial_reconciler_actions",
            "What the reconciler did to attempts, by action",
            self.reconciler_actions.clone(),
        );
        registry.register(
            "outdial_kill_switch_trips",
            "Kill switches tripped by this process",
            self.kill_switch_trips.clone(),
        );
        registry.register(
            "outdial_alerts_sent",
            "Alert deliveries, by channel and result",
            self.alerts_sent.clone(),
        );
        registry.register(
            "outdial_job_runs",
            "Durable job runs, by kind and result",
            self.job_runs.clone(),
        );
    }

    /// Counts one create request of `provider` that came back with `result`.
    pub fn dial_request(&self, provider: ProviderKind, result: DialResult) {
        self.dial_requests
            .get_or_create(&DialLabels {
                provider: provider.as_str(),
                result: result.as_str(),
            })
            .inc();
    }

    /// Counts one attempt of `provider` that ended with `status`, answered by
    /// `answered_by` (`None`: not reported).
    pub fn call_outcome(
        &self,
        provider: ProviderKind,
        status: CallStatus,
        answered_by: Option<AnsweredBy>,
    ) {
        let outcome = match status {
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
            // Not final: never counted as an outcome.
            CallStatus::Queued
            | CallStatus::Initiated
            | CallStatus::Ringing
            | CallStatus::InProgress => return,
        };
        let answered_by = match (status, answered_by) {
            (_, Some(AnsweredBy::Human)) => "human",
            (_, Some(AnsweredBy::Unknown)) => "unknown",
            (_, Some(_)) => "machine",
            (CallStatus::Completed, None) => "unknown",
            (_, None) => "none",
        };
        self.call_outcomes
            .get_or_create(&OutcomeLabels {
                provider: provider.as_str(),
                outcome,
                answered_by,
            })
            .inc();
    }

    /// Records one request of `op` (`create`, `fetch`, `list`, `hangup`) to `provider`
    /// that took `elapsed`.
    pub fn provider_request(&self, provider: ProviderKind, op: &'static str, elapsed: Duration) {
        self.provider_request_duration
            .get_or_create(&ProviderOpLabels {
                provider: provider.as_str(),
                op,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one webhook of `provider` with `result` (see [`WebhookLabels::result`]) and,
    /// when given, how long it took to handle.
    pub fn webhook(&self, provider: &'static str, result: &'static str, elapsed: Option<Duration>) {
        self.webhooks
            .get_or_create(&WebhookLabels { provider, result })
            .inc();
        if let Some(elapsed) = elapsed {
            self.webhook_handle_duration
                .get_or_create(&ProviderLabels { provider })
                .observe(elapsed.as_secs_f64());
        }
    }

    /// Adds `n` reconciler actions of kind `action` (see [`ActionLabels::action`]).
    pub fn reconciler_action(&self, action: &'static str, n: u32) {
        if n > 0 {
            self.reconciler_actions
                .get_or_create(&ActionLabels { action })
                .inc_by(u64::from(n));
        }
    }

    /// Counts one kill-switch trip of the switch keyed `scope_key` (`global` or
    /// `campaign:{id}`; only the kind is kept as a label) by `source` (the switch's
    /// `tripped_by`: `engine:...` for the engine's own rules, `monitor:...` for the safety
    /// monitor's, `operator:...` for the API and CLI; only the part before the first `:` is
    /// kept, and anything else is counted as `other`).
    pub fn kill_switch_trip(&self, scope_key: &str, source: &str) {
        let scope = if scope_key.starts_with("campaign") {
            "campaign"
        } else {
            "global"
        };
        let by = match source.split(':').next().unwrap_or("") {
            "engine" => "engine",
            "monitor" => "monitor",
            "operator" => "operator",
            _ => "other",
        };
        self.kill_switch_trips
            .get_or_create(&TripLabels { scope, by })
            .inc();
    }

    /// Counts one run of a durable job of `kind` (a registered handler's kind, or
    /// `unknown`) that ended with `result` (`done`, `retry` or `dead`); a run of an alert
    /// delivery (`alert.{channel}`) is also counted in `outdial_alerts_sent_total`
    /// (`sent`, `retry`, `failed`).
    pub fn job_run(&self, kind: &str, result: &'static str) {
        self.job_runs
            .get_or_create(&JobLabels {
                kind: kind.to_owned(),
                result,
            })
            .inc();
        if let Some(channel) = kind.strip_prefix("alert.") {
            let result = match result {
                "done" => "sent",
                "retry" => "retry",
                _ => "failed",
            };
            self.alerts_sent
                .get_or_create(&AlertLabels {
                    channel: channel.to_owned(),
                    result,
                })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    fn text(m: &Metrics) -> String {
        let mut r = Registry::default();
        m.register(&mut r);
        let mut out = String::new();
        encode(&mut out, &r).unwrap();
        out
    }

    #[test]
    fn families_are_named_by_the_conventions_and_carry_no_identifier() {
        let m = Metrics::default();
        m.dial_request(ProviderKind::Twilio, DialResult::Accepted);
        m.dial_request(ProviderKind::Twilio, DialResult::Accepted);
        m.dial_request(ProviderKind::Twilio, DialResult::RateLimited);
        m.call_outcome(
            ProviderKind::Twilio,
            CallStatus::Completed,
            Some(AnsweredBy::MachineEndBeep),
        );
        m.call_outcome(ProviderKind::Twilio, CallStatus::NoAnswer, None);
        // Not final: not an outcome.
        m.call_outcome(ProviderKind::Twilio, CallStatus::Ringing, None);
        m.webhook("twilio", "duplicate", Some(Duration::from_millis(3)));
        m.reconciler_action("ended", 2);
        m.reconciler_action("advanced", 0);
        m.kill_switch_trip("campaign:7", "engine:provider-auth");
        m.job_run("alert.email", "dead");
        m.provider_request(ProviderKind::Twilio, "create", Duration::from_millis(40));
        let t = text(&m);
        let has = |line: &str| assert!(t.lines().any(|l| l == line), "{line} not in\n{t}");
        has(r#"outdial_dial_requests_total{provider="twilio",result="accepted"} 2"#);
        has(r#"outdial_dial_requests_total{provider="twilio",result="rate_limited"} 1"#);
        has(
            r#"outdial_call_outcomes_total{provider="twilio",outcome="completed",answered_by="machine"} 1"#,
        );
        has(
            r#"outdial_call_outcomes_total{provider="twilio",outcome="no_answer",answered_by="none"} 1"#,
        );
        assert!(!t.contains(r#"outcome="ringing""#), "{t}");
        has(r#"outdial_webhooks_total{provider="twilio",result="duplicate"} 1"#);
        has(r#"outdial_webhook_handle_duration_seconds_count{provider="twilio"} 1"#);
        has(r#"outdial_reconciler_actions_total{action="ended"} 2"#);
        assert!(!t.contains(r#"action="advanced""#), "{t}");
        has(r#"outdial_kill_switch_trips_total{scope="campaign",by="engine"} 1"#);
        has(r#"outdial_job_runs_total{kind="alert.email",result="dead"} 1"#);
        has(r#"outdial_alerts_sent_total{channel="email",result="failed"} 1"#);
        has(r#"outdial_provider_request_duration_seconds_count{provider="twilio",op="create"} 1"#);
        assert!(t.contains("# TYPE outdial_provider_request_duration_seconds histogram"));
    }
}
