//! Dispositions: the business outcome of an attempt and of a lead.
//!
//! A disposition is an upper-case code (`SALE`, `NO_ANSWER`, …) defined in a
//! [`DispositionCatalog`]. Each entry carries flags in the manner of VICIdial's status flags
//! (`docs/VICIDIAL_statuses.txt`: human_answered, sale, dnc, customer_contact, scheduled_callback,
//! completed): the flags, not the codes, drive the redial policy and the reports. Aliases
//! normalise outside labels (`transfer`, `TRANSFER_SALE`, a provider's disposition tags).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::call::{AnsweredBy, CallStatus};

/// A disposition code, upper-case ASCII letters, digits and `_`, 1 to 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Disposition(String);

impl Disposition {
    /// Builds a code from a label: trims, upper-cases, and turns `-`, `.` and spaces into `_`.
    /// Returns `None` when the result is empty, longer than 32 characters, or holds other
    /// characters.
    pub fn normalise(label: &str) -> Option<Disposition> {
        let code: String = label
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' | '.' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        let ok = !code.is_empty()
            && code.len() <= 32
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        ok.then_some(Disposition(code))
    }

    fn known(code: &str) -> Disposition {
        Disposition(code.to_owned())
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ANSWERED`: a person answered; the campaign's call flow did not report an outcome.
    pub fn answered() -> Disposition {
        Self::known("ANSWERED")
    }
    /// `BAD_NUMBER`: the provider rejected the number for good.
    pub fn bad_number() -> Disposition {
        Self::known("BAD_NUMBER")
    }
    /// `DNC`: the called party asked not to be called again.
    pub fn dnc() -> Disposition {
        Self::known("DNC")
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Flags of a catalog entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionFlags {
    /// The lead is finished: no further attempts.
    #[serde(default)]
    pub terminal: bool,
    /// The attempt reached the right party (counts towards contact rate).
    #[serde(default)]
    pub contact: bool,
    /// A person answered (not a machine).
    #[serde(default)]
    pub human: bool,
    /// The number goes onto the internal DNC list.
    #[serde(default)]
    pub dnc: bool,
    /// A callback was requested: the next attempt is at the requested time.
    #[serde(default)]
    pub callback: bool,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionDef {
    /// Human-readable label for reports.
    pub label: String,
    /// Flags.
    #[serde(flatten)]
    pub flags: DispositionFlags,
}

/// The catalog of dispositions and aliases of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionCatalog {
    /// Entries by code.
    pub entries: BTreeMap<Disposition, DispositionDef>,
    /// Normalised alias → code.
    pub aliases: BTreeMap<Disposition, Disposition>,
}

impl Default for DispositionCatalog {
    /// The built-in catalog. Terminal by default: `SALE`, `DNC`, `BAD_NUMBER` (issue #2) and
    /// `ANSWERED` (a person was reached and the call flow ran to its end).
    fn default() -> Self {
        let f = |terminal, contact, human, dnc, callback| DispositionFlags {
            terminal,
            contact,
            human,
            dnc,
            callback,
        };
        let table: [(&str, &str, DispositionFlags); 14] = [
            ("SALE", "Sale", f(true, true, true, false, false)),
            ("DNC", "Do not call", f(true, true, true, true, false)),
            (
                "BAD_NUMBER",
                "Bad number",
                f(true, false, false, false, false),
            ),
            (
                "ANSWERED",
                "Answered by a person",
                f(true, true, true, false, false),
            ),
            (
                "CALLBACK",
                "Callback requested",
                f(false, true, true, false, true),
            ),
            (
                "NOT_INTERESTED",
                "Not interested",
                f(true, true, true, false, false),
            ),
            (
                "TRANSFERRED",
                "Transferred to an agent",
                f(true, true, true, false, false),
            ),
            ("NO_ANSWER", "No answer", DispositionFlags::default()),
            ("BUSY", "Busy", DispositionFlags::default()),
            (
                "VOICEMAIL",
                "Answering machine",
                DispositionFlags::default(),
            ),
            ("FAILED", "Call failed", DispositionFlags::default()),
            ("CANCELED", "Call canceled", DispositionFlags::default()),
            ("NOT_PLACED", "Call not placed", DispositionFlags::default()),
            ("FAX", "Fax machine", f(true, false, false, false, false)),
        ];
        let entries = table
            .into_iter()
            .map(|(code, label, flags)| {
                (
                    Disposition::known(code),
                    DispositionDef {
                        label: label.to_owned(),
                        flags,
                    },
                )
            })
            .collect();
        let alias_table = [
            ("TRANSFER", "TRANSFERRED"),
            ("TRANSFER_SALE", "SALE"),
            ("XFER", "TRANSFERRED"),
            ("DO_NOT_CALL", "DNC"),
            ("DNCL", "DNC"),
            ("WRONG_NUMBER", "BAD_NUMBER"),
            ("INVALID_NUMBER", "BAD_NUMBER"),
            ("NA", "NO_ANSWER"),
            ("B", "BUSY"),
            ("AM", "VOICEMAIL"),
            ("MACHINE", "VOICEMAIL"),
            ("NI", "NOT_INTERESTED"),
            ("CALLBK", "CALLBACK"),
            ("CALL_BACK", "CALLBACK"),
        ];
        let aliases = alias_table
            .into_iter()
            .map(|(a, c)| (Disposition::known(a), Disposition::known(c)))
            .collect();
        DispositionCatalog { entries, aliases }
    }
}

impl DispositionCatalog {
    /// Resolves an outside label to a catalog code: normalises it, follows an alias, and
    /// returns `None` when neither a code nor an alias matches.
    pub fn resolve(&self, label: &str) -> Option<Disposition> {
        let d = Disposition::normalise(label)?;
        if self.entries.contains_key(&d) {
            return Some(d);
        }
        self.aliases.get(&d).cloned()
    }

    /// The flags of a code; unknown codes have no flags (not terminal).
    pub fn flags(&self, d: &Disposition) -> DispositionFlags {
        self.entries.get(d).map(|e| e.flags).unwrap_or_default()
    }

    /// Checks that every alias points at an entry. Returns the first dangling alias.
    pub fn validate(&self) -> Result<(), String> {
        for (alias, code) in &self.aliases {
            if !self.entries.contains_key(code) {
                return Err(format!(
                    "alias {alias} points at unknown disposition {code}"
                ));
            }
        }
        Ok(())
    }
}

/// The disposition outdial gives an attempt from its final call status alone, before any
/// business outcome is reported: `completed` by a machine → `VOICEMAIL` (fax → `FAX`),
/// `completed` otherwise → `ANSWERED`, `busy` → `BUSY`, `no-answer` → `NO_ANSWER`,
/// `failed` → `FAILED`, `canceled` → `CANCELED`. A non-final status has none.
pub fn auto_disposition(
    status: CallStatus,
    answered_by: Option<AnsweredBy>,
) -> Option<Disposition> {
    let code = match status {
        CallStatus::Completed => match answered_by {
            Some(AnsweredBy::Fax) => "FAX",
            Some(a) if a.is_machine() => "VOICEMAIL",
            _ => "ANSWERED",
        },
        CallStatus::Busy => "BUSY",
        CallStatus::NoAnswer => "NO_ANSWER",
        CallStatus::Failed => "FAILED",
        CallStatus::Canceled => "CANCELED",
        _ => return None,
    };
    Some(Disposition::known(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_terminals_are_as_specified() {
        let c = DispositionCatalog::default();
        c.validate().unwrap();
        for t in ["SALE", "DNC", "BAD_NUMBER"] {
            assert!(c.flags(&c.resolve(t).unwrap()).terminal, "{t}");
        }
        for nt in [
            "BUSY",
            "NO_ANSWER",
            "VOICEMAIL",
            "FAILED",
            "CANCELED",
            "CALLBACK",
        ] {
            assert!(!c.flags(&c.resolve(nt).unwrap()).terminal, "{nt}");
        }
        assert!(c.flags(&Disposition::dnc()).dnc);
    }

    #[test]
    fn aliases_normalise_outside_labels() {
        let c = DispositionCatalog::default();
        let check = |label: &str, want: Option<&str>| {
            assert_eq!(
                c.resolve(label).as_ref().map(|d| d.as_str()),
                want,
                "{label}"
            );
        };
        check("transfer", Some("TRANSFERRED"));
        check("TRANSFER_SALE", Some("SALE"));
        check("no-answer", Some("NO_ANSWER"));
        check(" do not call ", Some("DNC"));
        check("sale", Some("SALE"));
        check("something else", None);
        check("", None);
        check("weird/label", None);
    }

    #[test]
    fn auto_dispositions_cover_all_final_statuses() {
        use CallStatus::*;
        let got: Vec<_> = [Completed, Busy, NoAnswer, Failed, Canceled]
            .into_iter()
            .map(|s| auto_disposition(s, None).unwrap().as_str().to_owned())
            .collect();
        assert_eq!(got, ["ANSWERED", "BUSY", "NO_ANSWER", "FAILED", "CANCELED"]);
        assert_eq!(
            auto_disposition(Completed, Some(AnsweredBy::MachineEndBeep))
                .unwrap()
                .as_str(),
            "VOICEMAIL"
        );
        assert_eq!(auto_disposition(Ringing, None), None);
    }
}
