//! [`LeadReader`]: one lead (or one row error) at a time, in constant memory.

use std::cell::Cell;
use std::io::{self, Read};
use std::iter::FusedIterator;

use chrono_tz::Tz;
use outdial_core::{LeadContact, NewLead, PhoneError, Region, E164};

use crate::error::{ImportError, RowError};
use crate::format::{Field, Format, Layout};
use crate::records::{Next, Records, Unreadable, MAX_RECORD_BYTES};

/// One row that became a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based line number in the file where the row starts, counting the header line.
    pub row: u64,
    /// The lead, its number validated and in E.164 form.
    pub lead: NewLead,
}

/// The most bytes [`LeadReader::detect`] reads to find the end of the first line: the
/// longest line read, [`MAX_RECORD_BYTES`].
pub const MAX_PEEK_BYTES: usize = MAX_RECORD_BYTES;

/// A reader whose first bytes were read ahead by [`LeadReader::detect`] and are given
/// back before the rest.
#[derive(Debug)]
pub struct Peeked<R> {
    inner: io::Chain<io::Cursor<Vec<u8>>, R>,
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// Reads a lead list row by row: an [`Iterator`] of [`ParsedRow`] or [`RowError`].
///
/// A bad row (empty or invalid phone number, unknown time zone name, too few VICIdial
/// fields, invalid UTF-8 in a field that is used) yields one [`RowError`] of kind
/// [`RowErrorKind::Rejected`] and the reader goes on with the next row. Rows whose every
/// field is blank are skipped, like blank lines. Nothing is collected: memory stays
/// bounded whatever the file's size (one row of at most [`MAX_RECORD_BYTES`] at a time, a
/// replay buffer of as much, and a fixed read buffer).
///
/// A row that cannot be read yields one [`RowError`] of kind [`RowErrorKind::Unreadable`]
/// naming the line where it starts, and reading resumes on the next line, so an
/// unbalanced quote costs one row, never the rows after it:
/// - a line longer than [`MAX_RECORD_BYTES`] (it is skipped without being buffered);
/// - in CSV, a quoted value not closed on its line. Only a comments column (`comments`,
///   `notes`) or a column the reader ignores may hold a quoted line break, and then for at
///   most [`MAX_QUOTED_LINES`] lines, within [`MAX_RECORD_BYTES`], only while no line it
///   runs into holds, inside the value, as many commas as a row (one fewer than the header's
///   columns: such a line is taken for the row it is), and only if the row then has no more
///   fields than the header. When the value turns out unreadable, the lines it ran into are
///   read again as rows.
///
/// Field values are trimmed; an empty value is `None`; `state` is upper-cased. In the
/// VICIdial layouts, quoting is off (a `"` is an ordinary character) and one pair of
/// surrounding double quotes is removed from a value. Duplicate numbers are not detected
/// here: the store decides what a duplicate is.
///
/// If the underlying reader fails mid-file, the iterator yields one last (unreadable)
/// [`RowError`] without a field and ends; [`LeadReader::stopped_early`] then returns `true`.
///
/// [`RowErrorKind::Rejected`]: crate::RowErrorKind::Rejected
/// [`RowErrorKind::Unreadable`]: crate::RowErrorKind::Unreadable
/// [`MAX_QUOTED_LINES`]: crate::MAX_QUOTED_LINES
#[derive(Debug)]
pub struct LeadReader<R: Read> {
    records: Records<R>,
    layout: Layout,
    format: Format,
    default_region: Region,
    source_name: String,
    done: bool,
    stopped_early: bool,
    /// The last country calling code looked up, and the region it maps to.
    code_cache: Cell<Option<(u16, Option<Region>)>>,
}

impl<R: Read> LeadReader<R> {
    /// A reader of `reader` in the given `format`. Numbers written without `+` and without
    /// a VICIdial `phone_code` are read as numbers of `default_region`. `source_name` (a
    /// file name) is quoted in file-level errors.
    ///
    /// For [`Format::Csv`] this reads the header row now. Errors: [`ImportError::NoHeader`]
    /// for an empty file, [`ImportError::MissingPhoneColumn`] when no header names the
    /// phone, [`ImportError::UnreadableHeader`] when the header row is longer than
    /// [`MAX_RECORD_BYTES`] or holds an unclosed quote, [`ImportError::Io`] when the header
    /// cannot be read.
    pub fn new(
        reader: R,
        format: Format,
        default_region: Region,
        source_name: &str,
    ) -> Result<LeadReader<R>, ImportError> {
        let mut records = Records::new(reader, format.delimiter(), format == Format::Csv);
        let layout = if format.has_header() {
            let found = records.read().map_err(|error| ImportError::Io {
                source_name: source_name.to_owned(),
                error,
            })?;
            match found {
                Next::Record(_) => {}
                Next::End => {
                    return Err(ImportError::NoHeader {
                        source_name: source_name.to_owned(),
                    })
                }
                Next::Unreadable(_, why) => {
                    return Err(ImportError::UnreadableHeader {
                        source_name: source_name.to_owned(),
                        reason: why.describe(),
                    })
                }
            }
            let headers: Vec<String> = records
                .iter()
                .map(|cell| {
                    String::from_utf8_lossy(cell)
                        .trim_start_matches('\u{feff}')
                        .trim()
                        .to_owned()
                })
                .collect();
            let layout =
                Layout::from_headers(&headers).ok_or_else(|| ImportError::MissingPhoneColumn {
                    source_name: source_name.to_owned(),
                    headers,
                })?;
            // Free text may hold a quoted line break: comments, and columns not read.
            let multiline = (0..layout.names.len())
                .map(|col| {
                    let field = layout.columns.iter().position(|c| c.contains(&col));
                    field.is_none_or(|f| f == Field::Comments.index())
                })
                .collect();
            records.allow_line_breaks(multiline, layout.names.len().saturating_sub(1));
            layout
        } else {
            Layout::vicidial()
        };
        Ok(LeadReader {
            records,
            layout,
            format,
            default_region,
            source_name: source_name.to_owned(),
            done: false,
            stopped_early: false,
            code_cache: Cell::new(None),
        })
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The source name given at construction.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// CSV header cells that name no known field (their columns are ignored), in file
    /// order. Always empty for the VICIdial layouts.
    pub fn unrecognised_columns(&self) -> Vec<&str> {
        if !self.format.has_header() {
            return Vec::new();
        }
        self.layout
            .names
            .iter()
            .enumerate()
            .filter(|(col, _)| !self.layout.columns.iter().any(|c| c.contains(col)))
            .map(|(_, name)| name.as_str())
            .collect()
    }

    /// Whether reading ended on an I/O error before the end of the file (the last item
    /// yielded was that error).
    pub fn stopped_early(&self) -> bool {
        self.stopped_early
    }

    /// The error for an unreadable row starting on line `row`.
    fn unreadable(&self, row: u64, why: Unreadable) -> RowError {
        let field = why.column().map(|col| self.layout.name(col));
        let value = why.column().map(|_| {
            // Enough bytes for the quoted prefix; the error cuts it to its length.
            let bytes = self.records.open_value();
            let head = &bytes[..bytes.len().min(4 * crate::MAX_QUOTED_VALUE_CHARS)];
            // Line breaks shown escaped, so that the error stays on one line.
            String::from_utf8_lossy(head)
                .trim()
                .replace('\r', "\\r")
                .replace('\n', "\\n")
        });
        let hint = match why {
            Unreadable::QuoteAcrossLine { .. } => {
                " (only a comments column or an ignored column may hold a line break)"
            }
            _ => "",
        };
        RowError::unreadable(
            row,
            field.as_deref(),
            value.as_deref().filter(|v| !v.is_empty()),
            format!(
                "{}{hint}; the row was not read, reading went on with the next line",
                why.describe()
            ),
        )
    }

    fn parse_current(&self, row: u64) -> Result<NewLead, RowError> {
        let found = self.records.len();
        if found < self.layout.min_fields {
            let sep = match self.format {
                Format::VicidialPipe => "pipe-separated",
                _ => "tab-separated",
            };
            return Err(RowError::row(
                row,
                format!(
                    "expected at least {} {sep} fields (VICIdial list layout, vendor_lead_code \
                     through phone_number), found {found}",
                    self.layout.min_fields
                ),
            ));
        }
        build_lead(self, row, self.default_region, &self.code_cache)
    }
}

impl<R: Read> RecordValues for LeadReader<R> {
    type Column = usize;

    fn value(&self, row: u64, field: Field) -> Result<Option<(usize, &str)>, RowError> {
        for &col in &self.layout.columns[field.index()] {
            let Some(bytes) = self.records.get(col) else {
                continue;
            };
            let text = std::str::from_utf8(bytes).map_err(|_| {
                RowError::field(
                    row,
                    self.layout.name(col),
                    Some(&String::from_utf8_lossy(bytes)),
                    "not valid UTF-8 (save the list as UTF-8)",
                )
            })?;
            let mut text = text.trim_start_matches('\u{feff}').trim();
            if self.format != Format::Csv && text.len() >= 2 {
                if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    text = inner.trim();
                }
            }
            if !text.is_empty() {
                return Ok(Some((col, text)));
            }
        }
        Ok(None)
    }

    fn column_name(&self, col: usize) -> String {
        self.layout.name(col)
    }

    fn phone_column_name(&self) -> String {
        self.layout
            .name(self.layout.columns[Field::Phone.index()][0])
    }
}

/// One record's values by field, wherever they come from (a list file's row, a lead sent
/// to the API as named fields): what [`build_lead`] reads.
trait RecordValues {
    /// A handle on the column (or field name) a value came from, for error messages.
    type Column: Copy;

    /// The first non-empty value of `field`, trimmed, with its column. Errors: a value
    /// that cannot be read (invalid UTF-8).
    fn value(&self, row: u64, field: Field) -> Result<Option<(Self::Column, &str)>, RowError>;

    /// The column's name as the source calls it.
    fn column_name(&self, col: Self::Column) -> String;

    /// The name blamed when no phone column holds a value.
    fn phone_column_name(&self) -> String;
}

/// The lead a record describes: the one normalisation of every lead outdial takes in
/// (trimmed values, `state` upper-cased, the number validated into E.164 with the record's
/// `phone_code` or `default_region`, the time zone an IANA name). Errors: the
/// [`RowError`] naming the field at fault.
fn build_lead<V: RecordValues>(
    v: &V,
    row: u64,
    default_region: Region,
    code_cache: &Cell<Option<(u16, Option<Region>)>>,
) -> Result<NewLead, RowError> {
    let Some((phone_col, raw_phone)) = v.value(row, Field::Phone)? else {
        return Err(RowError::field(
            row,
            v.phone_column_name(),
            None,
            "phone number is empty",
        ));
    };
    let phone_code = v.value(row, Field::PhoneCode)?;
    let phone = parse_phone(
        v,
        row,
        phone_col,
        raw_phone,
        phone_code,
        default_region,
        code_cache,
    )?;

    let time_zone = match v.value(row, Field::TimeZone)? {
        None => None,
        Some((col, name)) => Some(name.parse::<Tz>().map_err(|_| {
            RowError::field(
                row,
                v.column_name(col),
                Some(name),
                "not an IANA time zone name (for example America/New_York)",
            )
        })?),
    };
    let text = |field| -> Result<Option<String>, RowError> {
        Ok(v.value(row, field)?.map(|(_, value)| value.to_owned()))
    };
    let contact = LeadContact {
        external_id: text(Field::ExternalId)?,
        first_name: text(Field::FirstName)?,
        last_name: text(Field::LastName)?,
        city: text(Field::City)?,
        state: text(Field::State)?.map(|s| s.to_uppercase()),
        postal_code: text(Field::PostalCode)?,
        email: text(Field::Email)?,
        time_zone,
        comments: text(Field::Comments)?,
    };
    Ok(NewLead { phone, contact })
}

fn parse_phone<V: RecordValues>(
    v: &V,
    row: u64,
    phone_col: V::Column,
    raw: &str,
    phone_code: Option<(V::Column, &str)>,
    default_region: Region,
    code_cache: &Cell<Option<(u16, Option<Region>)>>,
) -> Result<E164, RowError> {
    let region = match phone_code {
        Some((code_col, code)) if !raw.starts_with('+') => {
            let digits = code.trim_start_matches('+').trim();
            let parsed = (digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u16>().ok())
                .flatten()
                .filter(|&c| c > 0);
            let Some(code) = parsed else {
                return Err(RowError::field(
                    row,
                    v.column_name(code_col),
                    Some(code),
                    "not a country calling code (1 to 3 digits, such as 1 or 44)",
                ));
            };
            match region_for_code(code_cache, code) {
                Some(region) => Ok(region),
                // A code with no single region (such as 800, international freephone):
                // write the number in full.
                None => Err(format!("+{code}{raw}")),
            }
        }
        _ => Ok(default_region),
    };
    let result = match &region {
        Ok(region) => E164::parse(raw, *region),
        Err(full) => E164::parse(full, default_region),
    };
    result.map_err(|e| {
        let reason = match e {
            PhoneError::Empty => "phone number is empty".to_owned(),
            PhoneError::Unparseable { reason, .. } => format!("not a valid number ({reason})"),
            PhoneError::Invalid { e164, .. } => format!("not a valid number (read as {e164})"),
        };
        RowError::field(row, v.column_name(phone_col), Some(raw), reason)
    })
}

/// The main region for a country calling code (`US` for 1, `GB` for 44), cached.
fn region_for_code(cache: &Cell<Option<(u16, Option<Region>)>>, code: u16) -> Option<Region> {
    if let Some((cached, region)) = cache.get() {
        if cached == code {
            return region;
        }
    }
    let region = phonenumber::metadata::DATABASE
        .region(&code)
        .and_then(|ids| ids.first().and_then(|id| id.parse::<Region>().ok()));
    cache.set(Some((code, region)));
    region
}

/// A lead given as named values (a lead sent to the admin API as JSON, one object a lead),
/// read with exactly the normalisation of a list file's row ([`LeadReader`]): `fields`
/// pairs each [`Field`] with its name as the caller's input spells it (quoted in errors)
/// and its value; a field absent, or whose value is blank, is empty. When a field appears
/// more than once, the first non-blank value wins. `row` is the number reported in a
/// [`RowError`] (the caller's position of the lead, such as its index in a request).
///
/// Errors: a [`RowError`] ([`RowErrorKind::Rejected`](crate::RowErrorKind::Rejected))
/// naming the field and value at fault: an empty or invalid number, an invalid
/// `phone_code`, a time zone that is not an IANA name.
///
/// ```
/// use outdial_core::Region;
/// use outdial_import::{lead_from_fields, Field};
///
/// let lead = lead_from_fields(
///     0,
///     &[(Field::Phone, "phone", "(415) 555-0123"), (Field::State, "state", " ca ")],
///     Region::US,
/// )
/// .unwrap();
/// assert_eq!(lead.phone.as_str(), "+14155550123");
/// assert_eq!(lead.contact.state.as_deref(), Some("CA"));
///
/// let err = lead_from_fields(7, &[(Field::Phone, "phone", "12")], Region::US).unwrap_err();
/// assert_eq!(err.row, 7);
/// assert_eq!(err.field.as_deref(), Some("phone"));
/// ```
pub fn lead_from_fields(
    row: u64,
    fields: &[(Field, &str, &str)],
    default_region: Region,
) -> Result<NewLead, RowError> {
    build_lead(&Named(fields), row, default_region, &Cell::new(None))
}

/// [`RecordValues`] of named values; the column is the index in the slice.
struct Named<'a>(&'a [(Field, &'a str, &'a str)]);

impl RecordValues for Named<'_> {
    type Column = usize;

    fn value(&self, _row: u64, field: Field) -> Result<Option<(usize, &str)>, RowError> {
        Ok(self
            .0
            .iter()
            .enumerate()
            .filter(|(_, (f, _, _))| *f == field)
            .map(|(i, (_, _, value))| (i, value.trim_start_matches('\u{feff}').trim()))
            .find(|(_, value)| !value.is_empty()))
    }

    fn column_name(&self, col: usize) -> String {
        self.0
            .get(col)
            .map_or_else(String::new, |(_, name, _)| (*name).to_owned())
    }

    fn phone_column_name(&self) -> String {
        self.0
            .iter()
            .find(|(f, _, _)| *f == Field::Phone)
            .map_or("phone", |(_, name, _)| name)
            .to_owned()
    }
}

impl<R: Read> LeadReader<Peeked<R>> {
    /// Reads the first line (at most [`MAX_PEEK_BYTES`]), picks the format with
    /// [`Format::detect`], and returns a reader of the whole input in that format. See
    /// [`LeadReader::new`] for the other arguments and the errors.
    pub fn detect(
        mut reader: R,
        default_region: Region,
        source_name: &str,
    ) -> Result<LeadReader<Peeked<R>>, ImportError> {
        let mut head = Vec::new();
        let mut chunk = [0u8; 8 * 1024];
        while head.len() < MAX_PEEK_BYTES && !head.contains(&b'\n') {
            let want = chunk.len().min(MAX_PEEK_BYTES - head.len());
            match reader.read(&mut chunk[..want]) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(ImportError::Io {
                        source_name: source_name.to_owned(),
                        error,
                    })
                }
            }
        }
        let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
        let format = Format::detect(&String::from_utf8_lossy(&head[..line_end]));
        let peeked = Peeked {
            inner: io::Cursor::new(head).chain(reader),
        };
        LeadReader::new(peeked, format, default_region, source_name)
    }
}

impl<R: Read> Iterator for LeadReader<R> {
    type Item = Result<ParsedRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.records.read() {
                Ok(Next::End) => self.done = true,
                Ok(Next::Unreadable(row, why)) => return Some(Err(self.unreadable(row, why))),
                Ok(Next::Record(row)) => {
                    if self
                        .records
                        .iter()
                        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
                    {
                        continue;
                    }
                    return Some(self.parse_current(row).map(|lead| ParsedRow { row, lead }));
                }
                Err(e) => {
                    self.done = true;
                    self.stopped_early = true;
                    return Some(Err(RowError::unreadable(
                        self.records.line(),
                        None,
                        None,
                        format!(
                            "cannot read {} further: {e}; the rest of the file was not imported",
                            self.source_name
                        ),
                    )));
                }
            }
        }
        None
    }
}

impl<R: Read> FusedIterator for LeadReader<R> {}
