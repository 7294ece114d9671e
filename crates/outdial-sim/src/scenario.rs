//! What one seed simulates: the start instant (some just before a US DST change), the
//! campaign, the leads (in several zones, Arizona and Hawaii included), the engine settings,
//! the provider's fault rates and the harness's own faults (crashes, clock jumps, outages).
//! Everything is drawn from the seed.

use super::provider::ProviderProfile;
use super::FaultSet;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use outdial_carrier::rng::keyed;
use outdial_core::answer::{AgentBehaviour, AgentScript};
use outdial_core::schedule::{CallingWindow, NumberCaps, RedialPolicy};
use outdial_core::{
    AnswerBehaviour, CampaignSettings, LeadContact, MachineHandling, NewLead, ProviderKind, Region,
    E164,
};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeSet;

/// Area codes used for leads, with their state.
/// Share of the seeds whose campaign calls through Bland (the others through Twilio).
pub const BLAND_SHARE: f64 = 0.25;

const AREAS: &[(&str, &str)] = &[
    ("212", "NY"),
    ("305", "FL"),
    ("312", "IL"),
    ("303", "CO"),
    ("602", "AZ"),
    ("808", "HI"),
    ("213", "CA"),
    ("520", "AZ"),
    ("907", "AK"),
    ("405", "OK"),
    ("410", "MD"),
    ("615", "TN"),
    ("206", "WA"),
    ("617", "MA"),
];

/// Zones used for leads with an explicit time zone.
const ZONES: &[Tz] = &[
    chrono_tz::America::New_York,
    chrono_tz::America::Chicago,
    chrono_tz::America::Denver,
    chrono_tz::America::Phoenix,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Pacific::Honolulu,
    chrono_tz::America::Anchorage,
];

/// A fault of the harness, at a true instant.
#[derive(Debug, Clone, PartialEq)]
pub enum WorldEvent {
    /// The engine's process is frozen for this long (a forward clock jump): it does nothing,
    /// and callbacks arriving meanwhile are lost.
    Pause(Duration),
    /// The engine's clock steps back by this much (and stays behind the world).
    ClockBack(Duration),
    /// The provider's API fails for this long, from the next create request on.
    Outage(Duration),
    /// Every status callback is lost for this long, from the next create request on.
    WebhookBlackout(Duration),
    /// The called party opts out: an operator puts the number on the internal
    /// Do-Not-Call list. No call to it may start afterwards.
    DoNotCall(String),
}

/// Engine settings drawn for the seed.
#[derive(Debug, Clone)]
pub struct EngineParams {
    /// Calls per second.
    pub calls_per_second: f64,
    /// Most attempts in flight.
    pub max_concurrent: u32,
    /// Reconciler age, seconds.
    pub reconcile_after_s: i64,
    /// Interval of the maintenance steps (lease and reconcile), seconds.
    pub maintenance_every_s: i64,
}

/// One seed's scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// True start instant.
    pub start: DateTime<Utc>,
    /// Which start family (`spring-dst`, `fall-dst`, `any`).
    pub start_kind: &'static str,
    /// The campaign.
    pub campaign: CampaignSettings,
    /// The leads.
    pub leads: Vec<NewLead>,
    /// Engine settings.
    pub engine: EngineParams,
    /// The fake provider's behaviour.
    pub provider: ProviderProfile,
    /// Harness faults, by true instant.
    pub events: Vec<(DateTime<Utc>, WorldEvent)>,
    /// Crashes to inject.
    pub crashes: u32,
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid instant")
}

fn prob(rng: &mut impl Rng, on: bool, max: f64) -> f64 {
    if on {
        rng.gen_range(0.0..max)
    } else {
        0.0
    }
}

impl Scenario {
    /// The scenario of `seed` with `leads` leads over `days` days.
    pub fn draw(seed: u64, leads: u32, days: u32, f: &FaultSet) -> Scenario {
        let mut rng = keyed(seed, "scenario", "", 0);
        // Start: a third just before the spring-forward night (2026-03-08), a third before
        // the fall-back night (2026-11-01), a third anywhere in 2026.
        let family = if f.dst { rng.gen_range(0..3) } else { 2 };
        let (start, start_kind) = match family {
            0 => (
                utc(2026, 3, 7, rng.gen_range(0..24), rng.gen_range(0..60)),
                "spring-dst",
            ),
            1 => (
                utc(2026, 10, 31, rng.gen_range(0..24), rng.gen_range(0..60)),
                "fall-dst",
            ),
            _ => (
                utc(2026, 1, 1, 0, 0) + Duration::minutes(rng.gen_range(0..(364 * 24 * 60))),
                "any",
            ),
        };
        let span = Duration::days(i64::from(days.max(1)));

        let mut campaign = CampaignSettings::new(
            E164::parse("+15005550006", Region::US).expect("valid caller id"),
            AnswerBehaviour::inline("<Response><Say>Hello from outdial.</Say></Response>"),
        );
        campaign.ring_timeout_s = rng.gen_range(20..=45);
        campaign.max_call_length_s = *[300u32, 600, 900].choose(&mut rng).expect("non-empty");
        campaign.machine = MachineHandling::detect();
        campaign.fallback_time_zone = Some(chrono_tz::America::New_York);
        if rng.gen_bool(0.3) {
            campaign.calling_window = CallingWindow {
                start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
                end: NaiveTime::from_hms_opt(20, 0, 0).expect("valid"),
                days: vec![
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                    Weekday::Sat,
                ],
                per_day: Vec::new(),
            };
        }
        campaign.redial = RedialPolicy {
            intervals_min: if rng.gen_bool(0.5) {
                vec![0, 2, 5, 10, 30, 60, 120]
            } else {
                vec![0, 1, 2, 5, 10, 20, 30]
            },
            max_per_local_day: rng.gen_range(3..=8),
            max_total: rng.gen_bool(0.3).then(|| rng.gen_range(6..=20)),
            ..RedialPolicy::default()
        };
        campaign.caps = NumberCaps {
            per_number_24h: rng.gen_bool(0.3).then(|| rng.gen_range(3..=6)),
            reg_f_7_in_7: rng.gen_bool(0.2),
            min_gap_min: if rng.gen_bool(0.3) {
                rng.gen_range(5..=30)
            } else {
                0
            },
        };
        campaign.no_calls_on_federal_holidays = rng.gen_bool(0.3);

        let mut out = Vec::new();
        for i in 0..leads as usize {
            let (npa, state) = AREAS[i % AREAS.len()];
            let nn = (i / AREAS.len()) % 100;
            let phone = match E164::parse(&format!("+1{npa}55501{nn:02}"), Region::US) {
                Ok(p) => p,
                Err(_) => continue,
            };
            let r: f64 = rng.gen();
            let mut contact = LeadContact {
                external_id: Some(format!("SIM{i:04}")),
                ..LeadContact::default()
            };
            if r < 0.6 {
                contact.state = Some(state.into());
            } else if r < 0.75 {
                // Moved: another state than the number's.
                contact.state = Some(AREAS.choose(&mut rng).expect("non-empty").1.into());
            } else if r < 0.9 {
                contact.time_zone = Some(*ZONES.choose(&mut rng).expect("non-empty"));
            }
            out.push(NewLead { phone, contact });
        }

        let numbers: Vec<String> = out.iter().map(|l| l.phone.to_string()).collect();
        let special = |on: bool, p: f64, rng: &mut rand_chacha::ChaCha8Rng| {
            let mut set = BTreeSet::new();
            if on && !numbers.is_empty() && rng.gen_bool(p) {
                set.insert(numbers[rng.gen_range(0..numbers.len())].clone());
            }
            set
        };
        let always_busy = special(f.busy_numbers, 0.5, &mut rng);
        let invalid = special(f.invalid_numbers, 0.5, &mut rng);
        let never_ends = special(f.never_ends, 0.3, &mut rng);
        // The provider: a share of the seeds runs a Bland campaign (an AI agent with a task,
        // the post-call JSON webhook). Drawn from its own stream so the other draws of a seed
        // are the same whichever provider it runs.
        let kind = if keyed(seed, "provider-kind", "", 0).gen_bool(BLAND_SHARE) {
            ProviderKind::Bland
        } else {
            ProviderKind::Twilio
        };
        if kind == ProviderKind::Bland {
            campaign.provider = kind;
            campaign.answer = AnswerBehaviour::Agent(AgentBehaviour {
                script: AgentScript::Task {
                    prompt: "You are calling on behalf of outdial. Ask whether now is a good time."
                        .into(),
                },
                voice: None,
                first_sentence: None,
                wait_for_greeting: true,
                record: false,
            });
        }
        let provider = ProviderProfile {
            seed,
            wire: kind,
            p_lose: prob(&mut rng, f.lose, 0.25),
            p_duplicate: prob(&mut rng, f.duplicate, 0.2),
            p_reorder: prob(&mut rng, f.reorder, 0.2),
            p_delay: prob(&mut rng, f.delay, 0.2),
            p_rate_limit: prob(&mut rng, f.rate_limits, 0.05),
            p_server_error: prob(&mut rng, f.server_errors, 0.03),
            p_ambiguous_created: prob(&mut rng, f.ambiguous, 0.05),
            p_never_ends: prob(&mut rng, f.never_ends, 0.04),
            p_stuck_queued: prob(&mut rng, f.never_ends, 0.03),
            always_busy,
            invalid,
            never_ends,
        };

        let engine = EngineParams {
            calls_per_second: *[1.0, 2.0, 5.0].choose(&mut rng).expect("non-empty"),
            max_concurrent: rng.gen_range(2..=10),
            reconcile_after_s: *[30i64, 60, 120].choose(&mut rng).expect("non-empty"),
            maintenance_every_s: rng.gen_range(5..=30),
        };

        let mut events = Vec::new();
        let at = |rng: &mut rand_chacha::ChaCha8Rng| {
            start + Duration::seconds(rng.gen_range(0..span.num_seconds()))
        };
        if f.clock_jumps {
            for _ in 0..rng.gen_range(0..=2) {
                let t = at(&mut rng);
                let d = match rng.gen_range(0..3) {
                    0 => Duration::seconds(rng.gen_range(60..600)),
                    1 => Duration::seconds(rng.gen_range(600..3600)),
                    _ => Duration::seconds(rng.gen_range(3600..4 * 3600)),
                };
                events.push((t, WorldEvent::Pause(d)));
            }
        }
        if f.clock_back && rng.gen_bool(0.4) {
            let t = at(&mut rng);
            events.push((
                t,
                WorldEvent::ClockBack(Duration::seconds(rng.gen_range(1..=30))),
            ));
        }
        if f.outages && rng.gen_bool(0.5) {
            let t = at(&mut rng);
            events.push((
                t,
                WorldEvent::Outage(Duration::seconds(rng.gen_range(60..=1800))),
            ));
        }
        if f.lose && rng.gen_bool(0.3) {
            let t = at(&mut rng);
            events.push((
                t,
                WorldEvent::WebhookBlackout(Duration::seconds(rng.gen_range(900..=3600))),
            ));
        }
        if f.dnc && !out.is_empty() && rng.gen_bool(0.3) {
            let t = at(&mut rng);
            let phone = out[rng.gen_range(0..out.len())].phone.to_string();
            events.push((t, WorldEvent::DoNotCall(phone)));
        }
        events.sort_by_key(|e| e.0);
        let crashes = if f.crashes { rng.gen_range(0..=4) } else { 0 };
        Scenario {
            start,
            start_kind,
            campaign,
            leads: out,
            engine,
            provider,
            events,
            crashes,
        }
    }
}
