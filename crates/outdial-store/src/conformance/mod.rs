//! The backend conformance suite: each case is written once, against `&dyn Store`, in the
//! file of its aggregate, and every backend stamps one test per case with
//! [`conformance_tests!`](crate::conformance_tests), each on a fresh, empty database.
//!
//! Each case declares the trait methods it covers (the table in [`__conformance_cases!`]);
//! the stamped test `every_store_method_has_a_conformance_case` ([`check_coverage`]) fails
//! when a method of a sub-trait has no case, or a case names a method that does not exist.
//!
//! Each case panics with a message naming the broken rule.

pub mod account_limits;
pub mod attempts;
pub mod backfill;
pub mod campaigns;
pub mod coordination;
pub mod dnc;
pub mod errors;
pub mod jobs;
pub mod leads;
pub mod report_groups;
pub mod reports;
pub mod safety;

use crate::prelude::*;
use crate::{
    to_micros, AlertId, AlertRecord, Attempt, DncEntry, DncScope, EventOutcome, Job, JobId,
    JobState, KillScope, KillSwitch, LeadPlacement, NewAlert, NewJob, Placement, RawEvent,
    StoreError,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnswerBehaviour, AttemptId, AttemptState, CallEvent, CallStatus, CampaignId, CampaignSettings,
    Disposition, LeadContact, LeadId, LeadStatus, NewLead, ProviderCallId, Region, E164,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Stamps, into the calling module, one `#[tokio::test]` per conformance case (named after
/// the case) and the test `every_store_method_has_a_conformance_case`.
///
/// `$make` is the path of an `async fn() -> Option<(Arc<dyn Store>, K)>`: a fresh, empty
/// store and whatever must outlive it (a temporary directory, a test database dropped
/// afterwards), or `None` to skip the case (PostgreSQL without a URL outside CI; under
/// `CI=true` the function must panic instead).
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::__conformance_cases!([stamp $make]);
    };
}

/// The case table: each case of the suite, by aggregate module, with the [`Store`] methods
/// it covers. One list feeds both [`conformance_tests!`](crate::conformance_tests) and
/// [`check_coverage`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($($mode:tt)*) => {
        $crate::__conformance_expand! { $($mode)*
            campaigns::campaign_round_trip: [create_campaign, campaign, campaign_by_name],
            campaigns::campaigns_listed_and_updated: [create_campaign, update_campaign, campaign, campaigns],
            campaigns::close_after_use: [create_campaign, close],
            leads::leads_unique_per_campaign: [create_campaign, insert_leads, leads_by_phone],
            leads::phone_attempt_times_across_campaigns: [phone_attempt_times, reserve_attempt, mark_rejected, mark_unknown, mark_not_placed, apply_call_event],
            leads::phone_attempt_times_many_answers_as_phone_attempt_times: [phone_attempt_times, phone_attempt_times_many, reserve_attempt, mark_rejected, mark_unknown, apply_call_event],
            leads::due_leads_skip_campaigns_with_a_tripped_switch: [due_leads, set_kill_switch],
            leads::leads_after_pages_by_id: [leads_after],
            leads::leads_by_external_id_in_one_campaign: [insert_leads, leads_by_external_id],
            leads::park_lead_is_guarded: [lead, park_lead, reserve_attempt],
            leads::operator_pause_resume_remove_are_guarded: [lead, change_lead_by_operator, reserve_attempt, lead_events],
            attempts::one_in_flight_per_number_across_campaigns: [lead, reserve_attempt, apply_call_event],
            attempts::reserve_is_guarded: [lead, due_leads, reserve_attempt],
            attempts::guarded_transitions: [lead_attempt_times, reserve_attempt, attempt, mark_placed, mark_rejected, mark_unknown, mark_not_placed, attempts_to_conclude],
            attempts::webhook_duplicates_and_reorders: [attempt, apply_call_event, lead_events],
            attempts::webhook_before_placement_uses_hint: [reserve_attempt, attempt, mark_placed, apply_call_event],
            attempts::provider_times_are_clamped_to_our_clock: [attempt, apply_call_event, lead_events],
            attempts::late_events_change_nothing_of_a_final_attempt: [lead, attempt, apply_call_event, conclude_attempt, lead_events],
            attempts::sequence_numbers_do_not_order_events: [reserve_attempt, attempt, apply_call_event],
            attempts::conclude_applies_decision_once: [lead, reserve_attempt, apply_call_event, attempts_to_conclude, conclude_attempt],
            attempts::timestamps_round_trip: [create_campaign, campaign, insert_leads, lead, leads_by_phone, reschedule_lead, reserve_attempt, attempt, apply_call_event],
            attempts::concurrent_reservations_exclusive: [reserve_attempt],
            attempts::dispositions_requested_and_redisposed: [lead, reserve_attempt, attempt, apply_call_event, request_disposition, redispose_attempt, conclude_attempt],
            attempts::reconcile_queue_and_in_flight_count: [reserve_attempt, attempt, lead_attempts, mark_rejected, mark_not_placed, attempts_to_reconcile, in_flight_count, mark_reconciled],
            dnc::dnc_add_is_idempotent: [create_campaign, dnc_add, dnc_check, dnc_count],
            dnc::dnc_scopes_apply_to_their_campaigns: [create_campaign, dnc_add, dnc_check],
            dnc::dnc_remove_takes_one_list_entry: [create_campaign, dnc_add, dnc_remove, dnc_check, dnc_count],
            dnc::dnc_check_many_answers_as_dnc_check: [create_campaign, dnc_add, dnc_check, dnc_check_many],
            safety::kill_switch_trip_and_resume: [create_campaign, set_kill_switch, kill_switches, latest_event_at],
            safety::alerts_raise_once_with_a_job_per_channel: [raise_alert, alert, alerts, jobs],
            jobs::jobs_lifecycle: [enqueue_job, claim_jobs, finish_job, retry_job, dead_letter_job, requeue_job, job, jobs, job_counts],
            jobs::jobs_claimed_exclusively: [enqueue_job, claim_jobs, job_counts],
            jobs::conclude_enqueues_follow_up_once: [reserve_attempt, apply_call_event, conclude_attempt, jobs, job_counts],
            coordination::settings_persist: [setting, set_setting],
            coordination::fleet_lease_pacer_and_cap: [lead, reserve_attempt_capped, reserve_pacing_slot, try_acquire_lease],
            reports::recent_attempts_newest_first: [reserve_attempt, mark_unknown, recent_attempts],
            reports::latest_event_at_by_source: [record_event, latest_event_at],
            errors::errors_have_one_shape: [create_campaign, campaign, update_campaign, try_acquire_lease, claim_jobs],
            reports::status_counts_and_attempts_after: [reserve_attempt, mark_rejected, status_counts, attempts_after],
            reports::the_first_price_reported_is_kept: [reserve_attempt, record_attempt_price, attempt],
            report_groups::aggregated_report_reads_match_the_in_memory_figures: [insert_leads, conclude_attempt, outcome_groups, lead_scope_groups, leads_with_recent_dials, dial_buckets],
            reports::report_ranges_are_half_open_and_duplicates_change_nothing: [reserve_attempt, mark_placed, apply_call_event, attempts_reserved_between, leads_in_report_scope, record_event, events_between],
            account_limits::account_caps_hold_at_reservation: [account_usage, reserve_attempt_within, due_leads_outside, mark_not_placed, due_leads],
            backfill::backfill_lead_once_keyed_by_call_id: [backfill_lead, lead, lead_attempts, lead_attempt_times, phone_attempt_times, attempts_to_conclude, lead_events, reserve_attempt],
        }
    };
}

/// Expands the case table ([`__conformance_cases!`]) into tests (`[stamp make]`) or into
/// `(case, methods)` pairs (`[table]`).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_expand {
    ([stamp $make:path] $($module:ident :: $case:ident : [$($method:ident),* $(,)?]),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some((store, _keep)) = $make().await else {
                    return;
                };
                $crate::conformance::$module::$case(store).await;
            }
        )*

        #[test]
        fn every_store_method_has_a_conformance_case() {
            $crate::conformance::check_coverage();
        }
    };
    ([table] $($module:ident :: $case:ident : [$($method:ident),* $(,)?]),* $(,)?) => {
        &[$((stringify!($case), &[$(stringify!($method)),*] as &[&str])),*]
    };
}

/// Each case and the methods it declares it covers.
pub const COVERS: &[(&str, &[&str])] = __conformance_cases!([table]);

/// The sub-trait source files, whose `async fn` declarations are the methods to cover.
const TRAIT_SOURCES: &[(&str, &str)] = &[
    ("campaigns.rs", include_str!("../campaigns.rs")),
    ("leads.rs", include_str!("../leads.rs")),
    ("attempts.rs", include_str!("../attempts.rs")),
    ("events.rs", include_str!("../events.rs")),
    ("dnc.rs", include_str!("../dnc.rs")),
    ("safety.rs", include_str!("../safety.rs")),
    ("jobs.rs", include_str!("../jobs.rs")),
    ("coordination.rs", include_str!("../coordination.rs")),
    ("reports.rs", include_str!("../reports.rs")),
    ("account_limits.rs", include_str!("../account_limits.rs")),
];

/// The methods declared in `pub trait` blocks of `source` (`async fn NAME` lines between
/// `pub trait … {` and its closing `}` at column 0).
pub fn trait_methods(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_trait = false;
    for line in source.lines() {
        if line.starts_with("pub trait ") {
            in_trait = true;
        } else if in_trait && line == "}" {
            in_trait = false;
        } else if let Some(rest) = line
            .trim_start()
            .strip_prefix("async fn ")
            .filter(|_| in_trait)
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// Panics, naming them, when a sub-trait method has no case in [`COVERS`] or a case names a
/// method no sub-trait declares.
pub fn check_coverage() {
    let methods: BTreeSet<String> = TRAIT_SOURCES
        .iter()
        .flat_map(|(_, src)| trait_methods(src))
        .collect();
    assert!(methods.len() > 50, "parsed only {} methods", methods.len());
    let covered: BTreeSet<String> = COVERS
        .iter()
        .flat_map(|(_, ms)| ms.iter().map(|m| (*m).to_owned()))
        .collect();
    let missing: Vec<_> = methods.difference(&covered).collect();
    let unknown: Vec<_> = covered.difference(&methods).collect();
    assert!(
        missing.is_empty(),
        "Store methods no conformance case covers: {missing:?}; add a case (or add the method \
         to a case's `covers` list in conformance/mod.rs)"
    );
    assert!(
        unknown.is_empty(),
        "conformance cases cover methods no sub-trait declares: {unknown:?}"
    );
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::parse("+14155550100", Region::US).unwrap(),
        AnswerBehaviour::inline("<Response><Say>Hi</Say></Response>"),
    )
}

fn lead(phone: &str) -> NewLead {
    NewLead {
        phone: E164::parse(phone, Region::US).unwrap(),
        contact: LeadContact {
            state: Some("NY".into()),
            ..LeadContact::default()
        },
    }
}

async fn seed(store: &dyn Store, campaign: &str, phones: &[&str]) -> Vec<crate::Lead> {
    let c = store
        .create_campaign(campaign, &settings(), t0())
        .await
        .unwrap();
    let rows: Vec<_> = phones
        .iter()
        .map(|p| (lead(p), LeadPlacement::Active(t0())))
        .collect();
    store.insert_leads(c.id, &rows, t0()).await.unwrap();
    let mut out = Vec::new();
    for p in phones {
        let e = E164::parse(p, Region::US).unwrap();
        out.extend(
            store
                .leads_by_phone(&e)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.campaign_id == c.id),
        );
    }
    out
}

fn raw(key: &str) -> RawEvent {
    RawEvent {
        source: "test".into(),
        dedupe_key: key.into(),
        payload: key.into(),
    }
}

fn ev(sid: &str, status: CallStatus, seq: u32) -> CallEvent {
    CallEvent {
        call_id: ProviderCallId::parse(sid).unwrap(),
        status,
        sequence: Some(seq),
        at: t0() + Duration::seconds(i64::from(seq)),
        duration_s: status.is_final().then_some(42),
        answered_by: None,
        sip_response_code: None,
    }
}

/// Reserves an attempt for `lead` at `at` and marks it placed as call `sid` (queued).
async fn placed(store: &dyn Store, lead: LeadId, sid: &str, at: DateTime<Utc>) -> Attempt {
    let a = store
        .reserve_attempt(lead, at)
        .await
        .unwrap()
        .expect("the number is free");
    let placement = Placement {
        call_id: ProviderCallId::parse(sid).unwrap(),
        status: CallStatus::Queued,
    };
    store.mark_placed(a.id, &placement, at).await.unwrap();
    a
}

fn phone(p: &str) -> E164 {
    E164::parse(p, Region::US).unwrap()
}

fn dnc(p: &str, scope: DncScope, source: &str) -> DncEntry {
    DncEntry {
        phone: phone(p),
        scope,
        source: source.into(),
        reason: None,
        added_at: t0(),
    }
}

fn scopes(entries: &[DncEntry]) -> Vec<DncScope> {
    let mut s: Vec<DncScope> = entries.iter().map(|e| e.scope).collect();
    s.sort();
    s
}

fn new_job(kind: &str, run_at: DateTime<Utc>, dedupe_key: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: format!("{{\"kind\":\"{kind}\"}}"),
        run_at,
        dedupe_key: dedupe_key.map(str::to_owned),
    }
}

fn ids(jobs: &[Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}
