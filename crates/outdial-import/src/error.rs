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
    /// The header row is not one readable line: it is longer than
    /// [`MAX_RECORD_BYTES`](crate::MAX_RECORD_BYTES), or a quoted name in it is not closed on
    /// its line. Nothing of the header is quoted in the message.
    #[error("{source_name}: cannot read the header row: {reason}; nothing was imported")]
    UnreadableHeader {
        /// The file's name as the caller gave it.
        source_name: String,
        /// What is wrong with it.
        reason: String,
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

/// At most this many header names are quoted in [`ImportError::MissingPhoneColumn`].
const MAX_QUOTED_HEADERS: usize = 20;

/// The items quoted, each cut to [`MAX_QUOTED_VALUE_CHARS`], at most
/// [`MAX_QUOTED_HEADERS`] of them: a message stays short whatever the file holds.
fn quote_list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let mut list = items
        .iter()
        .take(MAX_QUOTED_HEADERS)
        .map(|h| format!("'{}'", cut(h)))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_QUOTED_HEADERS {
        list.push_str(&format!(" and {} more", items.len() - MAX_QUOTED_HEADERS));
    }
    list
}

/// Values (and column names) quoted in a [`RowError`] or an [`ImportError`] are cut to
/// this many characters.
pub const MAX_QUOTED_VALUE_CHARS: usize = 80;

/// Whether a bad row was read and refused, or could not be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowErrorKind {
    /// The row was read, and a value in it is not acceptable (an invalid number, an
    /// unknown time zone, too few VICIdial fields, invalid UTF-8).
    Rejected,
    /// The row's bytes could not be split into fields: a quoted value not closed on its
    /// line (or, in a column that may hold line breaks, not closed in time), a line longer
    /// than [`MAX_RECORD_BYTES`](crate::MAX_RECORD_BYTES), or an I/O error of the source.
    /// What the row held is lost; reading resumed on the next line (after an I/O error,
    /// reading stopped).
    Unreadable,
}

/// One row that could not become a lead. The import goes on with the next row.
///
/// Displays as `row 17, field phone_number ('12'): not a valid number (read as +112)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file where the row starts, counting the header line
    /// (for an unreadable quoted value: the line where the quote opened).
    pub row: u64,
    /// Refused or unreadable.
    pub kind: RowErrorKind,
    /// The column at fault, as the file's header (CSV) or VICIdial's layout names it
    /// (cut to [`MAX_QUOTED_VALUE_CHARS`] characters); `None` when the fault is the row as
    /// a whole.
    pub field: Option<String>,
    /// The offending value as written (cut to [`MAX_QUOTED_VALUE_CHARS`] characters,
    /// invalid UTF-8 shown as U+FFFD); `None` when there is none to show.
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl RowError {
    /// A fault of the whole row (no field), [`RowErrorKind::Rejected`].
    pub fn row(row: u64, reason: impl Into<String>) -> RowError {
        RowError {
            row,
            kind: RowErrorKind::Rejected,
            field: None,
            value: None,
            reason: reason.into(),
        }
    }

    /// A fault of one field, [`RowErrorKind::Rejected`]; `field` and `value` are cut to
    /// [`MAX_QUOTED_VALUE_CHARS`] characters.
    pub fn field(
        row: u64,
        field: impl Into<String>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> RowError {
        RowError {
            row,
            kind: RowErrorKind::Rejected,
            field: Some(cut(&field.into())),
            value: value.map(cut),
            reason: reason.into(),
        }
    }

    /// A row that could not be read, [`RowErrorKind::Unreadable`]; `field` and `value` are
    /// cut to [`MAX_QUOTED_VALUE_CHARS`] characters.
    pub fn unreadable(
        row: u64,
        field: Option<&str>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> RowError {
        RowError {
            row,
            kind: RowErrorKind::Unreadable,
            field: field.map(cut),
            value: value.map(cut),
            reason: reason.into(),
        }
    }

    /// Whether the row could not be read at all ([`RowErrorKind::Unreadable`]).
    pub fn is_unreadable(&self) -> bool {
        self.kind == RowErrorKind::Unreadable
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
/// which numbers are duplicates. `rows_read = accepted + rejected + duplicates + unreadable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Data rows read (header and blank lines not counted).
    pub rows_read: u64,
    /// Rows that became new leads.
    pub accepted: u64,
    /// Rows with a [`RowError`] of kind [`RowErrorKind::Rejected`].
    pub rejected: u64,
    /// Valid rows whose number was already a lead (in the campaign, or earlier in the file).
    pub duplicates: u64,
    /// Rows with a [`RowError`] of kind [`RowErrorKind::Unreadable`]: their content is
    /// lost, and a caller should not report the import as a success.
    pub unreadable: u64,
}

impl fmt::Display for ImportSummary {
    /// `300 rows read: 290 accepted, 5 rejected, 5 duplicates`, then `, 1 unreadable` when
    /// some rows could not be read.
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
        )?;
        if self.unreadable > 0 {
            write!(f, ", {} unreadable", self.unreadable)?;
        }
        Ok(())
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
            unreadable: 0,
        };
        assert_eq!(
            s.to_string(),
            "300 rows read: 290 accepted, 5 rejected, 5 duplicates"
        );
        let s = ImportSummary {
            rows_read: 301,
            unreadable: 1,
            ..s
        };
        assert!(s.to_string().ends_with("5 duplicates, 1 unreadable"), "{s}");
    }

    #[test]
    fn missing_phone_message_is_bounded() {
        let headers: Vec<String> = (0..1000)
            .map(|i| format!("{i}{}", "h".repeat(5000)))
            .collect();
        let e = ImportError::MissingPhoneColumn {
            source_name: "wide.csv".into(),
            headers,
        };
        let msg = e.to_string();
        assert!(msg.len() < 3000, "{} bytes", msg.len());
        assert!(msg.contains("and 980 more"), "{msg}");
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
