//! The admin API's JSON, pinned field by field: each answer body the API builds from a
//! stored record, serialized and compared with its exact text. A store column rename must
//! leave these strings unchanged.

use super::alerts::AlertResponse;
use super::jobs::JobResponse;
use super::killswitch::SwitchResponse;
use super::leads::{AttemptResponse, EventResponse, LeadResponse};
use super::status::CountsResponse;
use chrono::{TimeZone, Utc};
use outdial_core::{
    AnsweredBy, AttemptId, AttemptState, CallStatus, CampaignId, Disposition, LeadContact, LeadId,
    LeadStatus, ProviderCallId, E164,
};
use outdial_store::{
    AlertId, AlertRecord, Attempt, EventRecord, Job, JobId, JobState, KillScope, KillSwitch, Lead,
    StatusCounts,
};

fn t(s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 15, 0, s).unwrap()
}

pub(crate) fn lead() -> Lead {
    Lead {
        id: LeadId(7),
        campaign_id: CampaignId(2),
        phone: E164::from_stored("+14155550100").unwrap(),
        contact: LeadContact {
            first_name: Some("Ada".into()),
            state: Some("CA".into()),
            ..LeadContact::default()
        },
        status: LeadStatus::Active,
        next_attempt_at: Some(t(1)),
        status_reason: Some("rescheduled".into()),
        disposition: Disposition::normalise("no answer"),
        attempt_count: 1,
        created_at: t(2),
        updated_at: t(3),
    }
}

pub(crate) fn attempt() -> Attempt {
    Attempt {
        id: AttemptId(11),
        lead_id: LeadId(7),
        campaign_id: CampaignId(2),
        phone: E164::from_stored("+14155550100").unwrap(),
        number: 1,
        state: AttemptState::Ended,
        call_id: ProviderCallId::parse("CA0123456789abcdef0123456789abcdef"),
        call_status: Some(CallStatus::NoAnswer),
        last_sequence: Some(3),
        reserved_at: t(4),
        placed_at: Some(t(5)),
        answered_at: None,
        ended_at: Some(t(6)),
        duration_s: Some(0),
        answered_by: Some(AnsweredBy::Human),
        sip_response_code: Some(487),
        disposition: Disposition::normalise("NA"),
        error_code: None,
        error_message: None,
        concluded_at: Some(t(7)),
        reconciled_at: None,
        requested_disposition: None,
        callback_at: None,
        price: None,
    }
}

pub(crate) fn event() -> EventRecord {
    EventRecord {
        id: 3,
        at: t(8),
        lead_id: Some(LeadId(7)),
        attempt_id: Some(AttemptId(11)),
        kind: "attempt.placed".into(),
        source: "scheduler".into(),
        detail: "{}".into(),
    }
}

pub(crate) fn switch() -> KillSwitch {
    KillSwitch {
        scope: KillScope::Campaign(CampaignId(2)),
        tripped: true,
        reason: "too many failures".into(),
        source: "operator:api".into(),
        changed_at: t(9),
    }
}

pub(crate) fn job() -> Job {
    Job {
        id: JobId(4),
        kind: "alert.email".into(),
        payload: r#"{"alert_id":1}"#.into(),
        state: JobState::Dead,
        attempts: 8,
        run_at: t(10),
        locked_until: None,
        error_code: Some("smtp-550".into()),
        error_message: Some("mailbox unavailable".into()),
        created_at: t(11),
        updated_at: t(12),
    }
}

pub(crate) fn alert() -> AlertRecord {
    AlertRecord {
        id: AlertId(1),
        kind: "kill_switch.tripped".into(),
        scope: "global".into(),
        subject: "stopped".into(),
        body: "why".into(),
        raised_at: t(13),
    }
}

pub(crate) fn counts() -> StatusCounts {
    StatusCounts {
        leads_by_status: [("active".to_string(), 2)].into(),
        leads_by_campaign: [(2, [("active".to_string(), 2)].into())].into(),
        leads_due: 1,
        attempts_in_flight: 0,
        attempts_since: 3,
        attempts_by_state: [("ended".to_string(), 3)].into(),
        attempts_by_disposition: [("NA".to_string(), 3)].into(),
        attempts_by_call_status: [("no-answer".to_string(), 3)].into(),
    }
}

const LEAD: &str = r#"{"id":7,"campaign_id":2,"phone":"+14155550100","contact":{"first_name":"Ada","state":"CA"},"status":"active","next_attempt_at":"2026-01-05T15:00:01Z","status_reason":"rescheduled","disposition":"NO_ANSWER","attempt_count":1,"created_at":"2026-01-05T15:00:02Z","updated_at":"2026-01-05T15:00:03Z"}"#;
const ATTEMPT: &str = r#"{"id":11,"lead_id":7,"campaign_id":2,"phone":"+14155550100","number":1,"state":"ended","call_id":"CA0123456789abcdef0123456789abcdef","call_status":"no-answer","last_sequence":3,"reserved_at":"2026-01-05T15:00:04Z","placed_at":"2026-01-05T15:00:05Z","answered_at":null,"ended_at":"2026-01-05T15:00:06Z","duration_s":0,"answered_by":"human","sip_response_code":487,"disposition":"NA","error_code":null,"error_message":null,"concluded_at":"2026-01-05T15:00:07Z","reconciled_at":null,"requested_disposition":null,"callback_at":null}"#;
const EVENT: &str = r#"{"id":3,"at":"2026-01-05T15:00:08Z","lead_id":7,"attempt_id":11,"kind":"attempt.placed","source":"scheduler","detail":"{}"}"#;
const SWITCH: &str = r#"{"scope":"campaign:2","tripped":true,"reason":"too many failures","source":"operator:api","changed_at":"2026-01-05T15:00:09Z"}"#;
const JOB: &str = r#"{"id":4,"kind":"alert.email","payload":"{\"alert_id\":1}","state":"dead","attempts":8,"run_at":"2026-01-05T15:00:10Z","locked_until":null,"error_code":"smtp-550","error_message":"mailbox unavailable","created_at":"2026-01-05T15:00:11Z","updated_at":"2026-01-05T15:00:12Z"}"#;
const ALERT: &str = r#"{"id":1,"kind":"kill_switch.tripped","scope":"global","subject":"stopped","body":"why","raised_at":"2026-01-05T15:00:13Z"}"#;
const COUNTS: &str = r#"{"attempts_by_call_status":{"no-answer":3},"attempts_by_disposition":{"NA":3},"attempts_by_state":{"ended":3},"attempts_in_flight":0,"attempts_since":3,"leads_by_status":{"active":2},"leads_due":1}"#;

/// As a typed answer body serializes it: fields in declaration order.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

/// As an answer built with `serde_json::json!` serializes it: keys sorted.
fn sorted<T: serde::Serialize>(v: &T) -> String {
    json(&serde_json::to_value(v).unwrap())
}

/// `text` with its keys sorted.
fn sort(text: &str) -> String {
    json(&serde_json::from_str::<serde_json::Value>(text).unwrap())
}

#[test]
fn answers_keep_their_field_names() {
    // `GET /api/v1/leads/{id}`: typed, in declaration order.
    assert_eq!(json(&LeadResponse::from(lead())), LEAD);
    assert_eq!(json(&AttemptResponse::from(attempt())), ATTEMPT);
    assert_eq!(json(&EventResponse::from(event())), EVENT);
    // `POST /api/v1/attempts/{id}/disposition`, the kill-switch, job and alert lists and
    // the status counts: built as JSON values, keys sorted.
    assert_eq!(sorted(&LeadResponse::from(lead())), sort(LEAD));
    assert_eq!(sorted(&AttemptResponse::from(attempt())), sort(ATTEMPT));
    assert_eq!(sorted(&SwitchResponse::from(switch())), sort(SWITCH));
    assert_eq!(sorted(&JobResponse::from(job())), sort(JOB));
    assert_eq!(sorted(&AlertResponse::from(alert())), sort(ALERT));
    assert_eq!(sorted(&CountsResponse::from(counts())), COUNTS);
}
