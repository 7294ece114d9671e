//! File-level and row-level import errors, a bounded error list and the import summary.

use std::fmt;
use std::io;

/// A problem with the whole file: nothing can be read from it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A CSV file whose header row names no phone column.
    #[error(
        "{source_name}: no phone column in the header row (headers seen: {}); \
         expected one of: phone, phone_number, number, phonenumber, mobile",
        quote_list(.headers)
    )]
    MissingPhoneColumn {
        /// The file's name as the caller gave it.
        source_name: String,
        /// The header row's cells, trimmed.
        headers: Vec<String>,
    },
    /// A CSV file with no header row at all (empty file).
    #[error("{source_name}: the file is empty; a CSV lead list starts with a header row")]
    NoHeader {
        /// The file's name as the caller gave it.
        source_name: String,
    },
    /// The header row or the first line could not be read.
    #[error("{source_name}: cannot read the file: {error}")]
    Io {
        /// The file's name as the caller gave it.
        source_name: String,
        /// The underlying error.
        #[source]
        error: io::Error,
    },
}

fn quote_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Values quoted in a [`RowError`] are cut to this many characters.
pub const MAX_QUOTED_VALUE_CHARS: usize = 80;

/// One row that could not become a lead. The import goes on with the next row.
///
/// Displays as `row 17, field phone_number ('12'): not a valid number (read as +112)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file where the row starts, counting the header line.
    pub row: u64,
    /// The column at fault, as the file's header (CSV) or VICIdial's layout names it;
    /// `None` when the fault is the row as a whole.
    pub field: Option<String>,
    /// The offending value as written (cut to [`MAX_QUOTED_VALUE_CHARS`] characters,
    /// invalid UTF-8 shown as U+FFFD); `None` when there is none to show.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl RowError {
    /// A fault of the whole row (no field).
    pub fn row(row: u64, reason: impl Into<String>) -> RowError {
        RowError {
            row,
            field: None,
            value: None,
            reason: reason.into(),
        }
    }

    /// A fault of one field; `value` is cut to [`MAX_QUOTED_VALUE_CHARS`] characters.
    pub fn field(
        row: u64,
        field: impl Into<String>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> RowError {
        RowError {
            row,
            field: Some(field.into()),
            value: value.map(cut),
            reason: reason.into(),
        }
    }
}

fn cut(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_VALUE_CHARS) {
        None => value.to_owned(),
        Some((at, _)) => format!("{}…", &value[..at]),
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        if let Some(value) = &self.value {
            write!(f, " ('{value}')")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RowError {}

/// A bounded list of [`RowError`]s: keeps the first `cap` and counts the rest, so a
/// caller can report errors from a file of any size in constant memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowErrors {
    cap: usize,
    kept: Vec<RowError>,
    omitted: u64,
}

impl RowErrors {
    /// How many errors [`RowErrors::default`] keeps.
    pub const DEFAULT_CAP: usize = 100;

    /// An empty list that keeps at most `cap` errors.
    pub fn with_cap(cap: usize) -> RowErrors {
        RowErrors {
            cap,
            kept: Vec::new(),
            omitted: 0,
        }
    }

    /// Records one error: kept if there is room, else only counted.
    pub fn push(&mut self, error: RowError) {
        if self.kept.len() < self.cap {
            self.kept.push(error);
        } else {
            self.omitted += 1;
        }
    }

    /// The errors kept, in the order recorded.
    pub fn kept(&self) -> &[RowError] {
        &self.kept
    }

    /// How many errors were recorded past the cap and dropped.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// How many errors were recorded in all.
    pub fn total(&self) -> u64 {
        self.kept.len() as u64 + self.omitted
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

impl Default for RowErrors {
    fn default() -> Self {
        RowErrors::with_cap(RowErrors::DEFAULT_CAP)
    }
}

impl fmt::Display for RowErrors {
    /// One error per line, then `… and N more` when some were dropped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.kept.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.omitted > 0 {
            if !self.kept.is_empty() {
                writeln!(f)?;
            }
            write!(f, "… and {} more", self.omitted)?;
        }
        Ok(())
    }
}

/// Counts for one import, filled by the caller: this crate parses rows, the store decides
/// which numbers are duplicates. `rows_read = accepted + rejected + duplicates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read (header and blank lines not counted).
    pub rows_read: u64,
    /// Rows that became new leads.
    pub accepted: u64,
    /// Rows with a [`RowError`].
    pub rejected: u64,
    /// Valid rows whose number was already a lead (in the campaign, or earlier in the file).
    pub duplicates: u64,
}

impl fmt::Display for ImportSummary {
    /// `300 rows read: 290 accepted, 5 rejected, 5 duplicates`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} read: {} accepted, {} rejected, {} {}",
            self.rows_read,
            if self.rows_read == 1 { "row" } else { "rows" },
            self.accepted,
            self.rejected,
            self.duplicates,
            if self.duplicates == 1 {
                "duplicate"
            } else {
                "duplicates"
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_error_display() {
        let e = RowError::field(17, "phone_number", Some("12"), "not a valid number");
        assert_eq!(
            e.to_string(),
            "row 17, field phone_number ('12'): not a valid number"
        );
        let e = RowError::field(3, "phone", None, "phone number is empty");
        assert_eq!(e.to_string(), "row 3, field phone: phone number is empty");
        let e = RowError::row(9, "expected at least 5 fields, found 2");
        assert_eq!(e.to_string(), "row 9: expected at least 5 fields, found 2");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(500);
        let e = RowError::field(1, "comments", Some(&long), "bad");
        let v = e.value.unwrap();
        assert_eq!(v.chars().count(), MAX_QUOTED_VALUE_CHARS + 1);
        assert!(v.ends_with('…'));
    }

    #[test]
    fn capped_list_counts_the_rest() {
        let mut errs = RowErrors::with_cap(2);
        assert!(errs.is_empty());
        for row in 1..=5 {
            errs.push(RowError::row(row, "bad"));
        }
        assert_eq!(errs.kept().len(), 2);
        assert_eq!(errs.omitted(), 3);
        assert_eq!(errs.total(), 5);
        assert_eq!(errs.to_string(), "row 1: bad\nrow 2: bad\n… and 3 more");
    }

    #[test]
    fn summary_display() {
        let s = ImportSummary {
            rows_read: 300,
            accepted: 290,
            rejected: 5,
            duplicates: 5,
        };
        assert_eq!(
            s.to_string(),
            "300 rows read: 290 accepted, 5 rejected, 5 duplicates"
        );
    }

    #[test]
    fn missing_phone_message_names_file_and_headers() {
        let e = ImportError::MissingPhoneColumn {
            source_name: "leads.csv".into(),
            headers: vec!["name".into(), "city".into()],
        };
        let msg = e.to_string();
        assert!(msg.starts_with("leads.csv: no phone column"), "{msg}");
        assert!(msg.contains("'name', 'city'"), "{msg}");
    }
}
