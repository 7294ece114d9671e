//! Leads: one phone number to call within a campaign, with its contact data.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::phone::E164;

/// Contact data kept with a lead. Every field is optional; `state` is a two-letter USPS code
/// when known (upper-cased on import), `time_zone` an IANA zone given explicitly for the lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadContact {
    /// Outside id (VICIdial `vendor_lead_code`, a CRM id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province, two letters (USPS / Canada Post), upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal (ZIP) code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Explicit IANA time zone of the called party; wins over every other source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Tz>,
    /// Free-form comments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
}

/// A lead to be inserted into a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLead {
    /// The number to call.
    pub phone: E164,
    /// Contact data.
    pub contact: LeadContact,
}

/// A lead's lifecycle (design notes, "Lifecycles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Waiting for its `next_attempt_at`.
    Active,
    /// One attempt in flight (or ended and not yet concluded).
    Dialing,
    /// Finished, with a reason (terminal disposition or limits reached).
    Done,
    /// Held: not dialed until resumed, with a reason.
    Paused,
}

impl LeadStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [LeadStatus; 4] = [
        LeadStatus::Active,
        LeadStatus::Dialing,
        LeadStatus::Done,
        LeadStatus::Paused,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Active => "active",
            LeadStatus::Dialing => "dialing",
            LeadStatus::Done => "done",
            LeadStatus::Paused => "paused",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<LeadStatus> {
        [
            LeadStatus::Active,
            LeadStatus::Dialing,
            LeadStatus::Done,
            LeadStatus::Paused,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}
