//! What the fake provider counted.

/// Counters of what the provider did and which faults it injected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderStats {
    /// Create requests received.
    pub requests: u64,
    /// Calls created (the ledger's length).
    pub calls: u64,
    /// Requests refused as invalid numbers.
    pub rejected: u64,
    /// Requests refused with 429.
    pub rate_limited: u64,
    /// Requests answered 5xx without a call.
    pub server_errors: u64,
    /// Requests that created a call whose response was lost (ambiguous, call exists).
    pub ambiguous_created: u64,
    /// Requests during an outage (ambiguous, call may exist).
    pub outage_requests: u64,
    /// Outages that happened.
    pub outages: u64,
    /// Webhook blackouts that happened.
    pub blackouts: u64,
    /// Calls that would never end on their own.
    pub never_ending: u64,
    /// Calls ended through `end_call`.
    pub ended_by_api: u64,
    /// Callbacks fired.
    pub callbacks: u64,
    /// Callbacks lost by the provider.
    pub lost: u64,
    /// Callbacks duplicated.
    pub duplicated: u64,
    /// Callbacks delivered after a later one.
    pub reordered: u64,
    /// Bland second post-call deliveries (corrected transcript) sent.
    pub second_webhooks: u64,
    /// Callbacks delayed by seconds to minutes.
    pub delayed: u64,
    /// Fetch, list and end requests.
    pub api_reads: u64,
}
