//! The outcome breakdown, the KPIs and the campaign funnel.

use super::*;

/// The outcome breakdown of a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeBreakdown {
    /// The filters.
    pub filters: Filters,
    /// Leads in scope.
    pub leads_in_scope: u64,
    /// Of those, imported in range.
    pub leads_imported: u64,
    /// Still being redialed (active, or dialing now).
    pub still_redialing: u64,
    /// Paused (DNC at import, no time zone, refused destination, operator…).
    pub paused: u64,
    /// Done, by reason: `SALE`, `DNC`, `BAD_NUMBER`, `other_terminal`, `attempt_limit`.
    pub done_by_reason: BTreeMap<&'static str, u64>,
    /// Leads in scope whose dials in their local today (their first zone) reached their
    /// campaign's `max_per_local_day`, at the report's `now`.
    pub reached_daily_max_today: u64,
    /// Attempts in range by class.
    pub attempts: AttemptCounts,
    /// Attempts in range by final (or latest) call status; `not_placed` for none.
    pub by_call_status: BTreeMap<String, u64>,
    /// Attempts in range by disposition; `pending` before conclusion.
    pub by_disposition: BTreeMap<String, u64>,
}

/// The outcome breakdown (on groups of one attempt and one lead: [`outcome_breakdown_of`]).
pub fn outcome_breakdown(input: &ReportInput<'_>) -> OutcomeBreakdown {
    let q = input.query;
    let attempts: Vec<AttemptGroup> = input.attempts.iter().map(AttemptGroup::of).collect();
    let leads: Vec<LeadGroup> = input
        .leads
        .iter()
        .map(|l| {
            let done = l.status == LeadStatus::Done;
            LeadGroup {
                campaign_id: l.campaign_id,
                status: l.status,
                status_reason: l.status_reason.clone().filter(|_| done),
                disposition: l.disposition.clone().filter(|_| done),
                leads: 1,
                imported: u64::from(l.created_at >= q.from && l.created_at < q.to),
            }
        })
        .collect();
    let mut dials: HashMap<LeadId, Vec<DateTime<Utc>>> = HashMap::new();
    for a in input.recent.iter().filter(|a| a.placed_at.is_some()) {
        dials.entry(a.lead_id).or_default().push(a.reserved_at);
    }
    let recent: Vec<LeadDials> = input
        .leads
        .iter()
        .filter_map(|l| {
            dials.remove(&l.id).map(|d| LeadDials {
                lead: l.clone(),
                dials: d,
            })
        })
        .collect();
    outcome_breakdown_of(&OutcomeInput {
        query: q,
        attempts: &attempts,
        leads: &leads,
        recent: &recent,
        campaigns: input.campaigns,
        now: input.now,
    })
}

/// The outcome breakdown's definitions.
pub const OUTCOME_FORMULAS: &[Formula] = &[
    Formula {
        name: "leads in scope",
        formula: "leads imported in [from, to) + leads with an attempt reserved in [from, to)",
    },
    Formula {
        name: "redials",
        formula: "dials in range whose attempt number is above 1 (never negative)",
    },
    Formula {
        name: "reached daily max today",
        formula: "leads in scope with dials today (lead's local day) >= campaign max_per_local_day",
    },
];

/// The KPIs of a range, each with its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// The filters.
    pub filters: Filters,
    /// Answered ÷ dials.
    pub connect_rate: Rate,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
    /// Leads with a human contact in range ÷ leads in scope.
    pub lead_contact_rate: Rate,
    /// Transferred ÷ human contacts.
    pub transfer_rate: Rate,
    /// `SALE` ÷ human contacts.
    pub conversion_rate: Rate,
    /// Machine-answered ÷ answered.
    pub answering_machine_rate: Rate,
    /// Dials in range ÷ leads in scope.
    pub attempts_per_lead_mean: Option<f64>,
    /// Most dials in range to one lead.
    pub attempts_per_lead_max: u64,
    /// Leads in scope attempted at least once (all time) ÷ leads in scope.
    pub list_penetration: Rate,
    /// Σ talk seconds ÷ answered dials that report a talk time, in seconds.
    pub average_talk_time_s: Option<f64>,
    /// Dials whose provider reported a price ÷ dials (a price comes with a provider's
    /// final webhook or with the call the reconciler fetches, as each provider sends it).
    pub priced_dials: Rate,
    /// The currency of the prices (ISO 4217); `None` without a priced dial or when the
    /// prices are in more than one currency (then no cost figure is given).
    pub cost_currency: Option<String>,
    /// Σ price of the priced dials, in `cost_currency`.
    pub cost_total: Option<f64>,
    /// Σ price ÷ priced dials, in `cost_currency`.
    pub cost_per_attempt: Option<f64>,
    /// Σ price ÷ human contacts among the priced dials, in `cost_currency`.
    pub cost_per_contact: Option<f64>,
    /// Human contacts among the priced dials (the denominator of `cost_per_contact`).
    pub priced_contacts: u64,
    /// The attempt counts the rates are made of.
    pub attempts: AttemptCounts,
}

/// The KPIs' definitions, printed with every report that shows them.
pub const KPI_FORMULAS: &[Formula] = &[
    Formula {
        name: "connect rate",
        formula: "answered (person, machine or fax) / dials",
    },
    Formula {
        name: "contact rate",
        formula: "human-answered / dials",
    },
    Formula {
        name: "lead contact rate",
        formula: "leads with a human-answered dial in range / leads in scope",
    },
    Formula {
        name: "transfer rate",
        formula: "dials dispositioned TRANSFERRED / human-answered",
    },
    Formula {
        name: "conversion",
        formula: "dials dispositioned SALE / human-answered",
    },
    Formula {
        name: "answering-machine rate",
        formula: "machine- or fax-answered / answered",
    },
    Formula {
        name: "attempts per lead",
        formula: "dials in range / leads in scope (mean); most dials to one lead (max)",
    },
    Formula {
        name: "list penetration",
        formula: "leads in scope attempted at least once / leads in scope",
    },
    Formula {
        name: "average talk time",
        formula: "sum of talk seconds / answered dials with a talk time",
    },
    Formula {
        name: "cost",
        formula: "sum of the prices providers reported / priced dials (per attempt) or / human-answered priced dials (per contact), in the prices' one currency",
    },
    Formula {
        name: "priced dials",
        formula: "dials whose provider reported a price / dials",
    },
];

/// The KPIs.
pub fn kpis(input: &ReportInput<'_>) -> Kpis {
    let ctx = Ctx::new(input);
    let mut counts = AttemptCounts::default();
    let mut per_lead: HashMap<LeadId, u64> = HashMap::new();
    let mut contacted: HashSet<LeadId> = HashSet::new();
    let mut cost = CostSum::default();
    for a in input.attempts {
        let c = ctx.class(a);
        counts.add(a, c);
        if c.dial {
            cost.add(a.price.as_ref(), c.human);
        }
        if c.dial {
            *per_lead.entry(a.lead_id).or_default() += 1;
        }
        if c.human {
            contacted.insert(a.lead_id);
        }
    }
    let leads = input.leads.len() as u64;
    let attempted = input.leads.iter().filter(|l| l.attempt_count > 0).count() as u64;
    Kpis {
        filters: filters(&ctx),
        connect_rate: counts.connect_rate(),
        contact_rate: counts.contact_rate(),
        lead_contact_rate: Rate::of(contacted.len() as u64, leads),
        transfer_rate: Rate::of(counts.transferred, counts.human),
        conversion_rate: Rate::of(counts.converted, counts.human),
        answering_machine_rate: Rate::of(counts.machine, counts.answered),
        attempts_per_lead_mean: (leads > 0)
            .then(|| (counts.dials as f64 / leads as f64 * 100.0).round() / 100.0),
        attempts_per_lead_max: per_lead.values().copied().max().unwrap_or(0),
        list_penetration: Rate::of(attempted, leads),
        average_talk_time_s: (counts.talk_n > 0)
            .then(|| (counts.talk_s as f64 / counts.talk_n as f64 * 10.0).round() / 10.0),
        priced_dials: Rate::of(cost.priced, counts.dials),
        cost_currency: cost.currency(),
        cost_total: cost.total(),
        cost_per_attempt: cost.per(cost.priced),
        cost_per_contact: cost.per(cost.priced_human),
        priced_contacts: cost.priced_human,
        attempts: counts,
    }
}

/// The prices of the dials, summed in millionths.
#[derive(Debug, Default)]
struct CostSum {
    priced: u64,
    priced_human: u64,
    micros: i64,
    units: std::collections::BTreeSet<String>,
}

impl CostSum {
    fn add(&mut self, price: Option<&crate::CallPrice>, human: bool) {
        let Some(p) = price else { return };
        self.priced += 1;
        self.priced_human += u64::from(human);
        self.micros = self.micros.saturating_add(p.micros);
        self.units.insert(p.unit.clone());
    }

    /// The one currency of the prices.
    fn currency(&self) -> Option<String> {
        (self.units.len() == 1)
            .then(|| self.units.iter().next().cloned())
            .flatten()
    }

    fn total(&self) -> Option<f64> {
        self.currency()?;
        Some(self.micros as f64 / 1e6)
    }

    /// The total ÷ `n`, to a millionth; `None` for `n = 0` or mixed currencies.
    fn per(&self, n: u64) -> Option<f64> {
        let total = self.total()?;
        (n > 0).then(|| (total / n as f64 * 1e6).round() / 1e6)
    }
}

/// One stage of the campaign funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStage {
    /// `imported`, `eligible`, `attempted`, `answered`, `human`, `converted`.
    pub stage: &'static str,
    /// Leads that reached it.
    pub leads: u64,
    /// ÷ the previous stage's leads.
    pub of_previous: Rate,
}

/// One pass of the funnel: the 1st, 2nd, … attempt of each lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelPass {
    /// `1` … `5`, then `6+`.
    pub pass: String,
    /// Dials of that pass in range.
    pub dials: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, human contacts.
    pub human: u64,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
    /// `SALE` ÷ human contacts.
    pub conversion_rate: Rate,
}

/// The campaign funnel over the leads in scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// The filters.
    pub filters: Filters,
    /// imported → eligible → attempted → answered → human → converted.
    pub stages: Vec<FunnelStage>,
    /// Done by the attempt limit.
    pub exhausted: u64,
    /// Still to be dialed (active or dialing).
    pub pending: u64,
    /// Per-pass rates.
    pub passes: Vec<FunnelPass>,
}

/// The funnel's definitions.
pub const FUNNEL_FORMULAS: &[Formula] = &[
    Formula {
        name: "imported",
        formula: "leads in scope",
    },
    Formula {
        name: "eligible",
        formula: "leads in scope not held before a first attempt (DNC, no time zone, bad number at import)",
    },
    Formula {
        name: "attempted",
        formula: "leads with at least one attempt (all time)",
    },
    Formula {
        name: "answered / human / converted",
        formula: "leads with an answered / human-answered / SALE dial in range",
    },
    Formula {
        name: "pass N contact rate",
        formula: "human-answered / dials, over each lead's Nth attempt in range",
    },
];

/// The campaign funnel.
pub fn funnel(input: &ReportInput<'_>) -> Funnel {
    let ctx = Ctx::new(input);
    let mut answered: HashSet<LeadId> = HashSet::new();
    let mut human: HashSet<LeadId> = HashSet::new();
    let mut converted: HashSet<LeadId> = HashSet::new();
    let mut passes: BTreeMap<u32, (AttemptCounts, u64)> = BTreeMap::new();
    for a in input.attempts {
        let c = ctx.class(a);
        if c.answered {
            answered.insert(a.lead_id);
        }
        if c.human {
            human.insert(a.lead_id);
        }
        if c.converted {
            converted.insert(a.lead_id);
        }
        if c.dial {
            passes.entry(a.number.clamp(1, 6)).or_default().0.add(a, c);
        }
    }
    let imported = input.leads.len() as u64;
    let eligible = input
        .leads
        .iter()
        .filter(|l| l.attempt_count > 0 || matches!(l.status, LeadStatus::Active))
        .count() as u64;
    let attempted = input.leads.iter().filter(|l| l.attempt_count > 0).count() as u64;
    let counts = [
        ("imported", imported),
        ("eligible", eligible),
        ("attempted", attempted),
        ("answered", answered.len() as u64),
        ("human", human.len() as u64),
        ("converted", converted.len() as u64),
    ];
    let mut stages = Vec::new();
    let mut previous = None;
    for (stage, leads) in counts {
        stages.push(FunnelStage {
            stage,
            leads,
            of_previous: Rate::of(leads, previous.unwrap_or(leads)),
        });
        previous = Some(leads);
    }
    Funnel {
        filters: filters(&ctx),
        stages,
        exhausted: input
            .leads
            .iter()
            .filter(|l| l.status == LeadStatus::Done && done_reason(l) == "attempt_limit")
            .count() as u64,
        pending: input
            .leads
            .iter()
            .filter(|l| matches!(l.status, LeadStatus::Active | LeadStatus::Dialing))
            .count() as u64,
        passes: passes
            .into_iter()
            .map(|(n, (c, _))| FunnelPass {
                pass: if n >= 6 { "6+".into() } else { n.to_string() },
                dials: c.dials,
                answered: c.answered,
                human: c.human,
                contact_rate: c.contact_rate(),
                conversion_rate: Rate::of(c.converted, c.human),
            })
            .collect(),
    }
}
