//! Where a lead may be: candidate time zones and states from the explicit zone, the
//! number, the state and the campaign's fallback.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::phone::E164;

/// IANA zones a US state or Canadian province spans (two-letter code, upper case).
/// Multi-zone states list every zone. Source: IANA tz database `zone1970.tab` comments and
/// the US DOT time-zone boundaries (49 CFR part 71).
pub fn region_time_zones(state: &str) -> &'static [Tz] {
    use chrono_tz::America::*;
    use chrono_tz::Pacific::Honolulu;
    match state {
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH"
        | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => &[New_York],
        "MI" => &[Detroit, Chicago],
        "IN" => &[Indiana::Indianapolis, Chicago],
        "FL" => &[New_York, Chicago],
        "KY" => &[New_York, Chicago],
        "TN" => &[New_York, Chicago],
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" => &[Chicago],
        "KS" | "NE" | "ND" | "SD" | "TX" => &[Chicago, Denver],
        "CO" | "MT" | "NM" | "UT" | "WY" => &[Denver],
        "ID" => &[Boise, Los_Angeles],
        "OR" => &[Los_Angeles, Boise],
        "AZ" => &[Phoenix],
        "CA" | "WA" | "NV" => &[Los_Angeles],
        "AK" => &[Anchorage, Adak],
        "HI" => &[Honolulu],
        "PR" | "VI" => &[Puerto_Rico],
        "ON" | "QC" => &[Toronto],
        "BC" => &[Vancouver],
        "AB" => &[Edmonton],
        "MB" => &[Winnipeg],
        "SK" => &[Regina],
        "NS" | "NB" | "PE" => &[Halifax],
        "NL" => &[St_Johns],
        "YT" => &[Whitehorse],
        "NT" => &[Yellowknife],
        "NU" => &[Iqaluit, Winnipeg, Cambridge_Bay],
        "GU" | "MP" => &[chrono_tz::Pacific::Guam],
        "AS" => &[chrono_tz::Pacific::Pago_Pago],
        _ => &[],
    }
}

/// Where a lead may be: its candidate time zones and states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whereabouts {
    /// Candidate IANA zones; a call must be allowed in each.
    pub zones: Vec<Tz>,
    /// Candidate states or provinces (two letters); each one's rules apply.
    pub states: Vec<String>,
    /// Where the zones came from, for `explain`.
    pub zone_source: String,
}

/// A lead's candidate zones and states.
///
/// Zones: the explicit lead zone alone when given; else the zones of the number's NPA-NXX
/// (libphonenumber's data, [`crate::nanp::time_zones`]) together with the zones of the lead's
/// state; else the campaign's fallback zone; else none (the lead is not dialable).
/// States: the lead's own state and the state of the number's area code
/// ([`crate::nanp::region`]); Florida and Oklahoma presume the called party's location from
/// the area code, so both apply.
pub fn whereabouts(
    phone: &E164,
    explicit: Option<Tz>,
    state: Option<&str>,
    fallback: Option<Tz>,
) -> Whereabouts {
    let lead_state = state
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty());
    let mut states: Vec<String> = lead_state.iter().cloned().collect();
    if let Some(r) = crate::nanp::region(phone) {
        if !states.iter().any(|s| s == r) {
            states.push(r.to_owned());
        }
    }
    if let Some(tz) = explicit {
        return Whereabouts {
            zones: vec![tz],
            states,
            zone_source: "lead time zone".into(),
        };
    }
    let mut zones: Vec<Tz> = crate::nanp::time_zones(phone).to_vec();
    let mut sources = Vec::new();
    if !zones.is_empty() {
        sources.push("number prefix (libphonenumber)");
    }
    if let Some(st) = &lead_state {
        let extra = region_time_zones(st);
        if !extra.is_empty() {
            sources.push("lead state");
        }
        for z in extra {
            if !zones.contains(z) {
                zones.push(*z);
            }
        }
    }
    if zones.is_empty() {
        if let Some(f) = fallback {
            zones.push(f);
            sources.push("campaign fallback zone");
        }
    }
    Whereabouts {
        zones,
        states,
        zone_source: sources.join(" + "),
    }
}

/// A lead's candidate time zones from an explicit zone, a state and a fallback only (no
/// number): see [`whereabouts`] for the full resolution.
pub fn candidate_zones(explicit: Option<Tz>, state: Option<&str>, fallback: Option<Tz>) -> Vec<Tz> {
    if let Some(tz) = explicit {
        return vec![tz];
    }
    if let Some(st) = state {
        let zones = region_time_zones(&st.trim().to_ascii_uppercase());
        if !zones.is_empty() {
            return zones.to_vec();
        }
    }
    fallback.into_iter().collect()
}
