//! Conformance cases of the reports' aggregated reads (issue 13): the store's SQL counts give
//! the figures the in-memory computation gives on the same attempts.

use super::*;
use outdial_core::report::{
    best_time, best_time_of, least_daily_max, outcome_breakdown, outcome_breakdown_of,
    HumanContactRule, OutcomeInput, ReportInput, ReportQuery, ReportZone,
};
use outdial_core::AnsweredBy;
use std::collections::BTreeMap;

/// One hand-made attempt: its lead (index), when it is reserved, and how it ends.
struct Made {
    lead: usize,
    at: DateTime<Utc>,
    /// `None`: never placed (refused); else the final status and detection.
    end: Option<(CallStatus, Option<AnsweredBy>)>,
    /// Concluded with this disposition (`None`: left pending, only a lead's last attempt).
    disposition: Option<&'static str>,
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Conformance case `aggregated_report_reads_match_the_in_memory_figures`: leads in four
/// zones (an own zone that overrides the number's, a number's zone, a state's zone for a
/// number without one, Arizona without daylight saving), attempts on both sides of the
/// March 2026 clock change, placed or not, answered by people and machines, concluded or
/// pending; outcome breakdown and best-time heat map from the store's rows equal those from
/// the attempts read one by one, for every campaign, one campaign and a sub-range.
pub async fn aggregated_report_reads_match_the_in_memory_figures(store: Arc<dyn Store>) {
    let mut fallback = settings();
    fallback.fallback_time_zone = Some(chrono_tz::America::Denver);
    fallback.redial.max_per_local_day = 2;
    let ca = store.create_campaign("z", &fallback, t0()).await.unwrap();
    let cb = store.create_campaign("y", &settings(), t0()).await.unwrap();
    let contact = |tz: Option<chrono_tz::Tz>, state: Option<&str>| LeadContact {
        time_zone: tz,
        state: state.map(str::to_owned),
        ..LeadContact::default()
    };
    let made_leads = [
        (
            ca.id,
            "+12125550111",
            contact(Some(chrono_tz::America::Los_Angeles), None),
        ),
        (ca.id, "+13125550112", contact(None, Some("IL"))),
        (ca.id, "+16025550113", contact(None, None)),
        // A toll-free number has no zone of its own: the state's, then the fallback.
        (ca.id, "+18005550114", contact(None, Some("NY"))),
        (cb.id, "+18005550115", contact(None, None)),
        (cb.id, "+12125550116", contact(None, Some("NY"))),
    ];
    let mut leads = Vec::new();
    for (c, p, contact) in &made_leads {
        let row = (
            NewLead {
                phone: phone(p),
                contact: contact.clone(),
            },
            LeadPlacement::Active(t0()),
        );
        store.insert_leads(*c, &[row], t0()).await.unwrap();
        let lead = store.leads_by_phone(&phone(p)).await.unwrap();
        leads.push(lead.into_iter().find(|l| l.campaign_id == *c).unwrap());
    }
    use AnsweredBy::{Human, MachineStart};
    use CallStatus::{Busy, Completed, NoAnswer};
    let human = Some((Completed, Some(Human)));
    let machine = Some((Completed, Some(MachineStart)));
    let plain = Some((Completed, None));
    let made = [
        Made {
            lead: 0,
            at: utc("2026-03-07T06:30:00Z"),
            end: human,
            disposition: Some("SALE"),
        },
        Made {
            lead: 0,
            at: utc("2026-03-08T06:50:00Z"),
            end: machine,
            disposition: Some("VOICEMAIL"),
        },
        Made {
            lead: 0,
            at: utc("2026-03-08T10:14:59Z"),
            end: plain,
            disposition: Some("ANSWERED"),
        },
        Made {
            lead: 1,
            at: utc("2026-03-08T07:10:00Z"),
            end: Some((NoAnswer, None)),
            disposition: Some("NO_ANSWER"),
        },
        Made {
            lead: 1,
            at: utc("2026-03-08T08:20:00Z"),
            end: plain,
            disposition: Some("CALLBACK"),
        },
        Made {
            lead: 1,
            at: utc("2026-03-09T14:45:00Z"),
            end: plain,
            disposition: None,
        },
        Made {
            lead: 2,
            at: utc("2026-03-08T07:15:00Z"),
            end: human,
            disposition: Some("NOT_INTERESTED"),
        },
        Made {
            lead: 2,
            at: utc("2026-03-08T09:30:00Z"),
            end: None,
            disposition: Some("NOT_PLACED"),
        },
        Made {
            lead: 3,
            at: utc("2026-03-08T07:59:59Z"),
            end: Some((Busy, None)),
            disposition: Some("BUSY"),
        },
        Made {
            lead: 3,
            at: utc("2026-03-08T08:00:00Z"),
            end: plain,
            disposition: Some("CALLBACK"),
        },
        Made {
            lead: 4,
            at: utc("2026-03-08T07:45:00Z"),
            end: human,
            disposition: Some("TRANSFERRED"),
        },
        Made {
            lead: 5,
            at: utc("2026-03-08T23:59:00Z"),
            end: machine,
            disposition: Some("VOICEMAIL"),
        },
        Made {
            lead: 5,
            at: utc("2026-03-09T00:30:00Z"),
            end: human,
            disposition: Some("DNC"),
        },
    ];
    for (i, m) in made.iter().enumerate() {
        let lead = &leads[m.lead];
        let a = match m.end {
            Some((status, answered_by)) => {
                let sid = format!("CA9{i:03}");
                let a = placed(&*store, lead.id, &sid, m.at).await;
                let mut e = ev(&sid, status, 3);
                e.at = m.at + Duration::seconds(30);
                e.answered_by = answered_by;
                e.duration_s = (status == Completed).then_some(10 + i as u32);
                store
                    .apply_call_event(Some(a.id), &e, &raw(&sid), m.at)
                    .await
                    .unwrap();
                a
            }
            None => {
                let a = store.reserve_attempt(lead.id, m.at).await.unwrap().unwrap();
                assert!(store
                    .mark_rejected(a.id, "21211", "refused", m.at)
                    .await
                    .unwrap());
                a
            }
        };
        if let Some(d) = m.disposition {
            // Each lead's last attempt ends it (two reasons `done_reason` tells apart).
            let decision = if d == "ANSWERED" || d == "DNC" {
                LeadDecision::Done {
                    reason: format!("attempt limit reached (1 of 1), last disposition {d}"),
                }
            } else {
                LeadDecision::Redial { at: m.at }
            };
            let d = Disposition::normalise(d).unwrap();
            store
                .conclude_attempt(a.id, &d, &decision, &[], m.at + Duration::minutes(1))
                .await
                .unwrap();
        }
    }

    let campaigns: BTreeMap<CampaignId, CampaignSettings> = store
        .campaigns()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.settings))
        .collect();
    let now = utc("2026-03-09T15:00:00Z");
    for (campaign, from, to) in [
        (
            None,
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-10T00:00:00Z"),
        ),
        (
            Some(ca.id),
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-10T00:00:00Z"),
        ),
        (
            None,
            utc("2026-03-08T07:00:00Z"),
            utc("2026-03-08T10:14:59Z"),
        ),
        (
            Some(cb.id),
            utc("2026-03-08T08:00:00Z"),
            utc("2026-03-09T00:00:00Z"),
        ),
    ] {
        let q = ReportQuery {
            from,
            to,
            campaign,
            zone: ReportZone::Lead,
        };
        let attempts: Vec<_> = store
            .attempts_reserved_between(campaign, from, to, None, 1000)
            .await
            .unwrap()
            .iter()
            .map(Attempt::report_fact)
            .collect();
        let in_scope: Vec<_> = store
            .leads_in_report_scope(campaign, from, to, LeadId(0), 1000)
            .await
            .unwrap()
            .iter()
            .map(crate::Lead::report_fact)
            .collect();
        let mut recent: Vec<_> = store
            .attempts_reserved_between(campaign, now - Duration::hours(26), now, None, 1000)
            .await
            .unwrap()
            .iter()
            .map(Attempt::report_fact)
            .collect();
        recent.retain(|a| in_scope.iter().any(|l| l.id == a.lead_id));
        let input = ReportInput {
            query: &q,
            attempts: &attempts,
            leads: &in_scope,
            campaigns: &campaigns,
            recent: &recent,
            now,
        };
        let case = format!("campaign {campaign:?}, [{from}, {to})");

        let groups = store.outcome_groups(campaign, from, to).await.unwrap();
        let lead_groups = store.lead_scope_groups(campaign, from, to).await.unwrap();
        let busy = store
            .leads_with_recent_dials(
                campaign,
                from,
                to,
                now - Duration::hours(26),
                now,
                least_daily_max(&campaigns),
            )
            .await
            .unwrap();
        let sql = outcome_breakdown_of(&OutcomeInput {
            query: &q,
            attempts: &groups,
            leads: &lead_groups,
            recent: &busy,
            campaigns: &campaigns,
            now,
        });
        let memory = outcome_breakdown(&input);
        assert_eq!(sql, memory, "outcome breakdown, {case}");
        assert!(memory.attempts.reserved > 0, "{case}: no attempt in range");
        assert!(
            groups.len() as u64 <= memory.attempts.reserved,
            "{case}: more groups than attempts"
        );

        let rule = HumanContactRule::new(&campaigns);
        let buckets = store.dial_buckets(campaign, from, to, &rule).await.unwrap();
        assert!(!buckets.is_empty(), "{case}: no dial counted");
        assert!(
            buckets.iter().all(|b| b.start.timestamp() % 900 == 0),
            "{case}: a bucket not on a quarter hour"
        );
        assert_eq!(
            best_time_of(&q, &campaigns, &buckets),
            best_time(&input),
            "best-time heat map, {case}"
        );
    }
    // Lead 5's two dials fall in the last 26 hours: the store hands it over with both.
    let busy = store
        .leads_with_recent_dials(
            None,
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-10T00:00:00Z"),
            now - Duration::hours(26),
            now,
            2,
        )
        .await
        .unwrap();
    assert!(busy.iter().all(|b| b.dials.len() >= 2), "{busy:?}");
    assert!(busy.iter().any(|b| b.lead.id == leads[5].id), "{busy:?}");
}
