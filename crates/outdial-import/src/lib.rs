//! # outdial-import
//!
//! A streaming lead-list parser: turns a CSV file with a header row, or a list in VICIdial's
//! standard list-load layout (tab- or pipe-delimited, no header), into [`NewLead`]s with
//! validated E.164 numbers, one row at a time and in constant memory.
//!
//! - [`Format`]: the layouts, and [`Format::detect`] from a file's first line.
//! - [`LeadReader`]: an iterator of [`ParsedRow`] or [`RowError`]; a bad row is reported with
//!   its line number, column and value, and reading goes on. A row that cannot be read (an
//!   unbalanced quote, a line over [`MAX_RECORD_BYTES`]) is one [`RowErrorKind::Unreadable`]
//!   error at the line where it starts, and the rows after it are still read.
//! - [`ImportError`]: the file as a whole cannot be read (no phone column, empty CSV).
//! - [`ImportSummary`], [`RowErrors`]: counts and a bounded error list for the caller.
//! - [`synthetic`]: a generated VICIdial list of any length, for streaming tests.
//!
//! Duplicate numbers are not detected here: the store enforces one lead per number and
//! campaign, and the caller counts what it refused in [`ImportSummary::duplicates`].
//!
//! ```
//! use outdial_import::{ImportSummary, LeadReader, RowErrors};
//! use outdial_core::Region;
//!
//! let list = "phone,First Name,state,tz\n\
//!             (415) 555-0123,Ada,ca,America/Los_Angeles\n\
//!             12,Bob,NY,\n";
//! let mut summary = ImportSummary::default();
//! let mut errors = RowErrors::default();
//! for item in LeadReader::detect(list.as_bytes(), Region::US, "inline.csv").unwrap() {
//!     summary.rows_read += 1;
//!     match item {
//!         Ok(row) => {
//!             assert_eq!(row.lead.phone.as_str(), "+14155550123");
//!             assert_eq!(row.lead.contact.state.as_deref(), Some("CA"));
//!             summary.accepted += 1; // or duplicates += 1, as the store says
//!         }
//!         Err(e) if e.is_unreadable() => {
//!             summary.unreadable += 1; // the row's content is lost: not a success
//!             errors.push(e);
//!         }
//!         Err(e) => {
//!             summary.rejected += 1;
//!             errors.push(e);
//!         }
//!     }
//! }
//! assert_eq!(summary.to_string(), "2 rows read: 1 accepted, 1 rejected, 0 duplicates");
//! assert!(errors
//!     .to_string()
//!     .starts_with("row 3, field phone ('12'): not a valid number"));
//! ```
//!
//! [`NewLead`]: outdial_core::NewLead

mod error;
mod format;
mod reader;
mod records;
pub mod synthetic;

pub use error::{
    ImportError, ImportSummary, RowError, RowErrorKind, RowErrors, MAX_QUOTED_VALUE_CHARS,
};
pub use format::{Field, Format, VICIDIAL_FIELDS, VICIDIAL_MIN_FIELDS};
pub use reader::{lead_from_fields, LeadReader, ParsedRow, Peeked, MAX_PEEK_BYTES};
pub use records::{MAX_QUOTED_LINES, MAX_RECORD_BYTES};
