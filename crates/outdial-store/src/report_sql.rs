//! What both backends share of the reports' aggregated reads (issue 13): portable SQL
//! fragments (`CASE`, `IN`, `COALESCE`: the same text on SQLite and PostgreSQL) and the
//! mapping of their rows to `outdial_core::report` groups. For backend crates.
//!
//! The outcome counts are one row per (campaign, disposition, call status, detection) with
//! 13 conditional sums ([`OUTCOME_SUMS`]), not a `GROUP BY` over the flags too: SQLite then
//! streams the groups from the covering index `attempts_report_outcomes` instead of
//! sorting every attempt.

use crate::{StoreError, StoreResult};
use outdial_core::report::{AttemptGroup, HumanContactRule};
use outdial_core::{AnsweredBy, CallStatus, CampaignId, Disposition};

/// The `(answered_at, redial)` combinations of a placed attempt, in the order of
/// [`OUTCOME_SUMS`]' triples.
const COMBOS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

/// The 13 aggregate expressions of the outcome counts, comma-separated, over the
/// unqualified columns of `attempts`: attempts not placed; then for each of [`COMBOS`]
/// (answer time or not, attempt number above 1 or not) of the placed attempts: their count,
/// the sum of their talk time, and how many report one.
pub static OUTCOME_SUMS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut sums = vec!["SUM(CASE WHEN placed_at IS NULL THEN 1 ELSE 0 END)".to_owned()];
    for (answered, redial) in COMBOS {
        let cond = format!(
            "placed_at IS NOT NULL AND answered_at IS {} NULL AND number {} 1",
            if answered { "NOT" } else { "" },
            if redial { ">" } else { "<=" }
        );
        sums.push(format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"));
        sums.push(format!("SUM(CASE WHEN {cond} THEN duration_s ELSE 0 END)"));
        sums.push(format!(
            "SUM(CASE WHEN {cond} AND duration_s IS NOT NULL THEN 1 ELSE 0 END)"
        ));
    }
    // PostgreSQL sums a bigint into a numeric: every sum is cast back (SQLite reads the
    // cast as integer affinity).
    sums.iter()
        .map(|s| format!("CAST({s} AS BIGINT)"))
        .collect::<Vec<_>>()
        .join(", ")
});

/// One row of the outcome counts: the group's columns and the 13 sums of [`OUTCOME_SUMS`].
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    /// `campaign_id`.
    pub campaign_id: i64,
    /// `disposition` as stored.
    pub disposition: Option<String>,
    /// `call_status` as stored.
    pub call_status: Option<String>,
    /// `answered_by` as stored.
    pub answered_by: Option<String>,
    /// The sums, in [`OUTCOME_SUMS`]' order.
    pub sums: [i64; 13],
}

impl OutcomeRow {
    /// The row's groups: one for its attempts not placed and one for each combination of
    /// placed attempts, those with no attempt left out. Stored values read as the row
    /// mappers read them (unknown ones as `None`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a negative count.
    pub fn groups(&self) -> StoreResult<Vec<AttemptGroup>> {
        let n = |i: usize| {
            u64::try_from(self.sums[i])
                .map_err(|_| StoreError::Corrupt(format!("negative report count {}", self.sums[i])))
        };
        let group = |placed, answered_at, redial, attempts, talk_s, talk_n| AttemptGroup {
            campaign_id: CampaignId(self.campaign_id),
            placed,
            answered_at,
            redial,
            call_status: self.call_status.as_deref().and_then(CallStatus::parse),
            answered_by: self.answered_by.as_deref().and_then(AnsweredBy::parse),
            disposition: self.disposition.as_deref().and_then(Disposition::normalise),
            attempts,
            talk_s,
            talk_n,
        };
        let mut out = Vec::new();
        if n(0)? > 0 {
            out.push(group(false, false, false, n(0)?, 0, 0));
        }
        for (i, (answered, redial)) in COMBOS.into_iter().enumerate() {
            let base = 1 + 3 * i;
            if n(base)? > 0 {
                out.push(group(
                    true,
                    answered,
                    redial,
                    n(base)?,
                    n(base + 1)?,
                    n(base + 2)?,
                ));
            }
        }
        Ok(out)
    }
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `col IN (...)` of literals; `FALSE`-like `1 = 0` for an empty list (PostgreSQL refuses
/// `IN ()`).
fn is_in(col: &str, values: &[impl AsRef<str>]) -> String {
    if values.is_empty() {
        return "1 = 0".into();
    }
    let list: Vec<String> = values.iter().map(|v| lit(v.as_ref())).collect();
    format!("{col} IN ({})", list.join(", "))
}

/// The condition that a placed attempt (columns qualified by `a.`) is a human contact by
/// `rule`: answered, not by a machine, and said human by detection or by its campaign's
/// catalog. Only literals: the codes and values come from the catalogs and the core's
/// enums, and are quoted.
pub fn human_contact_sql(rule: &HumanContactRule) -> String {
    let mut by_catalog: Vec<String> = rule
        .human_dispositions
        .iter()
        .map(|(c, codes)| {
            format!(
                "(a.campaign_id = {} AND {})",
                c.0,
                is_in("a.disposition", codes)
            )
        })
        .collect();
    let listed: Vec<String> = rule
        .human_dispositions
        .keys()
        .map(|c| c.0.to_string())
        .collect();
    let unlisted = if listed.is_empty() {
        "1 = 1".to_owned()
    } else {
        format!("a.campaign_id NOT IN ({})", listed.join(", "))
    };
    by_catalog.push(format!(
        "({unlisted} AND {})",
        is_in("a.disposition", &rule.default_human_dispositions)
    ));
    format!(
        "((a.answered_at IS NOT NULL OR {answered}) AND NOT ({machine}) \
         AND (COALESCE(a.answered_by, '') = {human} OR {catalog}))",
        answered = is_in("a.call_status", &rule.answered_statuses),
        machine = is_in("COALESCE(a.answered_by, '')", &rule.machine_answers),
        human = lit(rule.human_answer),
        catalog = by_catalog.join(" OR "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_rows_expand_into_their_groups() {
        let mut sums = [0; 13];
        sums[0] = 2; // not placed
        sums[7] = 3; // answered, first attempt
        sums[8] = 120;
        sums[9] = 2;
        let row = OutcomeRow {
            campaign_id: 1,
            disposition: Some("SALE".into()),
            call_status: Some("completed".into()),
            answered_by: Some("human".into()),
            sums,
        };
        let g = row.groups().unwrap();
        assert_eq!(g.len(), 2);
        assert!(!g[0].placed && g[0].attempts == 2);
        assert!(g[1].placed && g[1].answered_at && !g[1].redial);
        assert_eq!((g[1].attempts, g[1].talk_s, g[1].talk_n), (3, 120, 2));
        assert_eq!(OUTCOME_SUMS.matches("CAST(SUM(").count(), 13);
    }

    #[test]
    fn the_human_rule_quotes_and_never_writes_an_empty_list() {
        let rule = HumanContactRule {
            answered_statuses: vec!["completed"],
            machine_answers: vec![],
            human_answer: "human",
            human_dispositions: [(CampaignId(7), vec!["O'K".to_owned()])].into(),
            default_human_dispositions: vec![],
        };
        let sql = human_contact_sql(&rule);
        assert!(sql.contains("'O''K'"), "{sql}");
        assert!(!sql.contains("IN ()"), "{sql}");
        assert!(sql.contains("a.campaign_id NOT IN (7)"), "{sql}");
    }
}
