//! The lead-list layouts outdial reads, their column names, and format detection.

use std::fmt;
use std::str::FromStr;

/// A lead-list layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row naming the columns (RFC 4180 quoting).
    /// Column names are recognised case-insensitively, with aliases: see [`Field::aliases`].
    Csv,
    /// VICIdial's standard list-load layout, tab-delimited, no header row: the fields of
    /// [`VICIDIAL_FIELDS`] in that order, then optional extra fields that are ignored.
    VicidialTab,
    /// VICIdial's standard list-load layout, pipe-delimited (`|`), no header row.
    VicidialPipe,
}

impl Format {
    /// Every format, in the order [`Format::detect`] considers them.
    pub const ALL: [Format; 3] = [Format::Csv, Format::VicidialTab, Format::VicidialPipe];

    /// Guesses the format from the file's first line:
    ///
    /// 1. split on commas, one of the cells is a recognised phone column name → [`Format::Csv`];
    /// 2. else the line contains a tab → [`Format::VicidialTab`];
    /// 3. else it contains `|` → [`Format::VicidialPipe`];
    /// 4. else [`Format::Csv`] (whose header check then reports a missing phone column).
    ///
    /// A UTF-8 byte-order mark and a trailing line break are ignored.
    pub fn detect(first_line: &str) -> Format {
        let line = first_line.trim_start_matches('\u{feff}');
        let line = line.trim_end_matches(['\r', '\n']);
        if line
            .split(',')
            .any(|cell| Field::from_header(cell) == Some(Field::Phone))
        {
            Format::Csv
        } else if line.contains('\t') {
            Format::VicidialTab
        } else if line.contains('|') {
            Format::VicidialPipe
        } else {
            Format::Csv
        }
    }

    /// The field delimiter byte: `,`, tab or `|`.
    pub fn delimiter(self) -> u8 {
        match self {
            Format::Csv => b',',
            Format::VicidialTab => b'\t',
            Format::VicidialPipe => b'|',
        }
    }

    /// Whether the first line is a header row naming the columns.
    pub fn has_header(self) -> bool {
        matches!(self, Format::Csv)
    }

    /// The name used by [`FromStr`] and [`fmt::Display`]: `csv`, `vicidial-tab`,
    /// `vicidial-pipe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::VicidialTab => "vicidial-tab",
            Format::VicidialPipe => "vicidial-pipe",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parses `csv`, `vicidial-tab` (or `tab`, `vicidial`) and `vicidial-pipe` (or `pipe`),
    /// case-insensitively; `_` may stand for `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "csv" => Ok(Format::Csv),
            "vicidial-tab" | "vicidial" | "tab" | "tsv" => Ok(Format::VicidialTab),
            "vicidial-pipe" | "pipe" => Ok(Format::VicidialPipe),
            _ => Err(format!(
                "'{s}' is not a lead-list format (expected csv, vicidial-tab or vicidial-pipe)"
            )),
        }
    }
}

/// A lead field that a list can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The number to call (required).
    Phone,
    /// The country calling code to read the number with (`1` for NANP), when the number
    /// has no `+`.
    PhoneCode,
    /// Outside id (VICIdial `vendor_lead_code`, a CRM id).
    ExternalId,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// City.
    City,
    /// State or province (upper-cased on import).
    State,
    /// Postal (ZIP) code.
    PostalCode,
    /// E-mail address.
    Email,
    /// Explicit IANA time zone name (`America/Chicago`).
    TimeZone,
    /// Free-form comments.
    Comments,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 11] = [
        Field::Phone,
        Field::PhoneCode,
        Field::ExternalId,
        Field::FirstName,
        Field::LastName,
        Field::City,
        Field::State,
        Field::PostalCode,
        Field::Email,
        Field::TimeZone,
        Field::Comments,
    ];

    /// The CSV header names recognised for this field, after normalisation (lower case,
    /// spaces, `-` and `.` read as `_`), in order of preference: when a file has several
    /// columns for one field, a row takes the value of the first non-empty one in this order.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Phone => &["phone", "phone_number", "number", "phonenumber", "mobile"],
            Field::PhoneCode => &["phone_code"],
            Field::ExternalId => &["vendor_lead_code", "external_id", "lead_id", "id"],
            Field::FirstName => &["first_name", "firstname", "first"],
            Field::LastName => &["last_name", "lastname", "last"],
            Field::City => &["city"],
            Field::State => &["state", "province"],
            Field::PostalCode => &["postal_code", "zip", "zipcode", "postcode"],
            Field::Email => &["email", "e_mail"],
            Field::TimeZone => &["timezone", "time_zone", "tz"],
            Field::Comments => &["comments", "notes"],
        }
    }

    /// The field a CSV header cell names, if any (case-insensitive, aliases accepted).
    pub fn from_header(header: &str) -> Option<Field> {
        Self::from_header_ranked(header).map(|(field, _)| field)
    }

    /// The field and the alias's rank in [`Field::aliases`] (0 = most preferred).
    pub(crate) fn from_header_ranked(header: &str) -> Option<(Field, usize)> {
        let name = normalise_header(header);
        Field::ALL.into_iter().find_map(|field| {
            field
                .aliases()
                .iter()
                .position(|alias| *alias == name)
                .map(|rank| (field, rank))
        })
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Lower-cases a header cell, drops a byte-order mark, surrounding blanks and quotes, and
/// reads spaces, `-` and `.` as `_` (so `First Name` and `first-name` mean `first_name`).
fn normalise_header(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .trim()
        .trim_matches('"')
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// VICIdial's standard list-load layout: the field names in file order. Files may carry
/// more fields after these; they are ignored. A row needs at least the first five
/// (through `phone_number`).
pub const VICIDIAL_FIELDS: [&str; 23] = [
    "vendor_lead_code",
    "source_id",
    "list_id",
    "phone_code",
    "phone_number",
    "title",
    "first_name",
    "middle_initial",
    "last_name",
    "address1",
    "address2",
    "address3",
    "city",
    "state",
    "province",
    "postal_code",
    "country_code",
    "gender",
    "date_of_birth",
    "alt_phone",
    "email",
    "security_phrase",
    "comments",
];

/// The fewest fields a VICIdial row may have: through `phone_number`.
pub const VICIDIAL_MIN_FIELDS: usize = 5;

/// Where each [`Field`] comes from in one file: candidate column indexes in order of
/// preference, and the column names to quote in errors.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Per [`Field::index`]: the columns to try, first non-empty wins.
    pub(crate) columns: [Vec<usize>; Field::ALL.len()],
    /// Column names as the file (or the VICIdial layout) calls them.
    pub(crate) names: Vec<String>,
    /// The fewest fields a row must have (VICIdial only).
    pub(crate) min_fields: usize,
}

impl Layout {
    /// The fixed VICIdial layout.
    pub(crate) fn vicidial() -> Layout {
        let col = |name: &str| {
            VICIDIAL_FIELDS
                .iter()
                .position(|n| *n == name)
                .expect("known VICIdial field")
        };
        let mut columns: [Vec<usize>; Field::ALL.len()] = Default::default();
        columns[Field::Phone.index()] = vec![col("phone_number")];
        columns[Field::PhoneCode.index()] = vec![col("phone_code")];
        columns[Field::ExternalId.index()] = vec![col("vendor_lead_code")];
        columns[Field::FirstName.index()] = vec![col("first_name")];
        columns[Field::LastName.index()] = vec![col("last_name")];
        columns[Field::City.index()] = vec![col("city")];
        columns[Field::State.index()] = vec![col("state"), col("province")];
        columns[Field::PostalCode.index()] = vec![col("postal_code")];
        columns[Field::Email.index()] = vec![col("email")];
        columns[Field::Comments.index()] = vec![col("comments")];
        Layout {
            columns,
            names: VICIDIAL_FIELDS.iter().map(|s| s.to_string()).collect(),
            min_fields: VICIDIAL_MIN_FIELDS,
        }
    }

    /// The layout a CSV header row describes; `None` when no column names the phone.
    pub(crate) fn from_headers(headers: &[String]) -> Option<Layout> {
        let mut ranked: [Vec<(usize, usize)>; Field::ALL.len()] = Default::default();
        for (col, header) in headers.iter().enumerate() {
            if let Some((field, rank)) = Field::from_header_ranked(header) {
                ranked[field.index()].push((rank, col));
            }
        }
        if ranked[Field::Phone.index()].is_empty() {
            return None;
        }
        let columns = ranked.map(|mut cands| {
            // Stable: equal ranks keep file order.
            cands.sort_by_key(|&(rank, _)| rank);
            cands.into_iter().map(|(_, col)| col).collect()
        });
        Some(Layout {
            columns,
            names: headers.iter().map(|h| h.trim().to_string()).collect(),
            min_fields: 0,
        })
    }

    /// The name of column `col`, for error messages.
    pub(crate) fn name(&self, col: usize) -> String {
        self.names
            .get(col)
            .cloned()
            .unwrap_or_else(|| format!("column {}", col + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_table() {
        let cases: &[(&str, Format)] = &[
            ("phone,first_name,last_name", Format::Csv),
            ("First Name,Last Name,Phone Number\r\n", Format::Csv),
            ("\u{feff}MOBILE,city", Format::Csv),
            ("id,name,\"tz\"", Format::Csv),
            ("VL1\t\t101\t1\t4155552671\tMr.\tAl", Format::VicidialTab),
            ("VL1|src|101|1|4155552671", Format::VicidialPipe),
            ("a\tb|c", Format::VicidialTab),
            ("name,city", Format::Csv),
            ("", Format::Csv),
        ];
        for (line, want) in cases {
            assert_eq!(Format::detect(line), *want, "line {line:?}");
        }
    }

    #[test]
    fn aliases_resolve_case_insensitively() {
        let cases: &[(&str, Option<Field>)] = &[
            ("PHONE", Some(Field::Phone)),
            ("Phone Number", Some(Field::Phone)),
            ("phone-number", Some(Field::Phone)),
            ("PhoneNumber", Some(Field::Phone)),
            ("Mobile", Some(Field::Phone)),
            ("number", Some(Field::Phone)),
            ("FirstName", Some(Field::FirstName)),
            ("first", Some(Field::FirstName)),
            ("LAST_NAME", Some(Field::LastName)),
            ("Vendor_Lead_Code", Some(Field::ExternalId)),
            ("lead_id", Some(Field::ExternalId)),
            ("ID", Some(Field::ExternalId)),
            ("Province", Some(Field::State)),
            ("ZIP", Some(Field::PostalCode)),
            ("zipcode", Some(Field::PostalCode)),
            ("Postcode", Some(Field::PostalCode)),
            ("TZ", Some(Field::TimeZone)),
            ("Time Zone", Some(Field::TimeZone)),
            ("notes", Some(Field::Comments)),
            ("e-mail", Some(Field::Email)),
            ("email_address", None),
            ("alt_phone", None),
            ("", None),
        ];
        for (header, want) in cases {
            assert_eq!(Field::from_header(header), *want, "header {header:?}");
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert_eq!("PIPE".parse::<Format>().unwrap(), Format::VicidialPipe);
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn layout_prefers_earlier_aliases() {
        let headers: Vec<String> = [
            "lead_id",
            "number",
            "vendor_lead_code",
            "phone",
            "province",
            "state",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let layout = Layout::from_headers(&headers).unwrap();
        assert_eq!(layout.columns[Field::ExternalId.index()], vec![2, 0]);
        assert_eq!(layout.columns[Field::Phone.index()], vec![3, 1]);
        assert_eq!(layout.columns[Field::State.index()], vec![5, 4]);
        assert!(Layout::from_headers(&["name".to_string()]).is_none());
    }
}
