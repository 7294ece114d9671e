//! A VICIdial list generated on the fly, for streaming tests, benchmarks and the memory
//! proof (`examples/import_memory.rs`): a [`Read`] that produces rows as they are read, so
//! a million-row list costs no more memory than one row.
//!
//! Every number is in the fictional `555-0100`–`555-0199` range of a real area code: valid
//! for libphonenumber, reserved for fiction by NANPA, so nobody is reached if such a list is
//! ever dialed. Numbers repeat every 2,000 rows (20 area codes × 100 lines).

use std::io::{self, Read};

use crate::format::Format;

/// Area codes the generated numbers use, with the state filled in for each.
pub const AREAS: [(&str, &str); 20] = [
    ("212", "NY"),
    ("305", "FL"),
    ("312", "IL"),
    ("415", "CA"),
    ("602", "AZ"),
    ("808", "HI"),
    ("907", "AK"),
    ("214", "TX"),
    ("617", "MA"),
    ("702", "NV"),
    ("206", "WA"),
    ("303", "CO"),
    ("404", "GA"),
    ("503", "OR"),
    ("615", "TN"),
    ("612", "MN"),
    ("313", "MI"),
    ("215", "PA"),
    ("801", "UT"),
    ("504", "LA"),
];

/// First names the generated rows cycle through.
pub const FIRST: [&str; 8] = [
    "James", "Maria", "Robert", "Linda", "Wei", "Aisha", "Carlos", "Emily",
];
/// Last names the generated rows cycle through.
pub const LAST: [&str; 8] = [
    "Smith", "Garcia", "Johnson", "Nguyen", "Brown", "Okafor", "Miller", "Davis",
];

/// Generates `rows` VICIdial rows (all 23 standard fields) as it is read.
#[derive(Debug, Clone)]
pub struct SyntheticVicidial {
    rows: u64,
    next: u64,
    delimiter: u8,
    invalid_every: Option<u64>,
    line: Vec<u8>,
    pos: usize,
}

impl SyntheticVicidial {
    /// `rows` tab-delimited rows, every one valid.
    pub fn new(rows: u64) -> SyntheticVicidial {
        SyntheticVicidial {
            rows,
            next: 0,
            delimiter: b'\t',
            invalid_every: None,
            line: Vec::with_capacity(256),
            pos: 0,
        }
    }

    /// Uses the delimiter of a VICIdial `format` (tab or pipe).
    ///
    /// # Panics
    /// On [`Format::Csv`], which has a header this generator does not write.
    pub fn format(mut self, format: Format) -> SyntheticVicidial {
        assert!(
            format != Format::Csv,
            "SyntheticVicidial writes VICIdial layouts only"
        );
        self.delimiter = format.delimiter();
        self
    }

    /// Makes every `n`th row (rows `n`, `2n`, …) carry the invalid phone number `12`.
    /// `n = 0` means none.
    pub fn invalid_every(mut self, n: u64) -> SyntheticVicidial {
        self.invalid_every = (n > 0).then_some(n);
        self
    }

    /// How many rows a reader should accept.
    pub fn expected_valid(&self) -> u64 {
        self.rows - self.expected_invalid()
    }

    /// How many rows a reader should reject.
    pub fn expected_invalid(&self) -> u64 {
        self.invalid_every.map_or(0, |n| self.rows / n)
    }

    fn fill_line(&mut self, row: u64) {
        use std::io::Write;
        let i = row - 1;
        let (area, state) = AREAS[(i % AREAS.len() as u64) as usize];
        let line_no = 100 + (i / AREAS.len() as u64) % 100;
        let invalid = self.invalid_every.is_some_and(|n| row % n == 0);
        let first = FIRST[(i % 7 % FIRST.len() as u64) as usize];
        let last = LAST[(i % 5 % LAST.len() as u64) as usize];
        let d = self.delimiter as char;
        self.line.clear();
        self.pos = 0;
        let phone = if invalid {
            "12".to_owned()
        } else {
            format!("{area}5550{line_no:03}")
        };
        // vendor_lead_code, source_id, list_id, phone_code, phone_number, title, first_name,
        // middle_initial, last_name, address1, address2, address3, city, state, province,
        // postal_code, country_code, gender, date_of_birth, alt_phone, email,
        // security_phrase, comments
        let _ = writeln!(
            self.line,
            "SYN{row:08}{d}synthetic{d}9001{d}1{d}{phone}{d}{d}{first}{d}{d}{last}{d}\
             {n} Main St{d}{d}{d}Springfield{d}{state}{d}{d}{zip:05}{d}USA{d}U{d}{d}{d}\
             {fl}.{ll}{row}@example.com{d}{d}generated row {row}",
            n = 100 + i % 900,
            zip = 10000 + i % 89999,
            fl = first.to_ascii_lowercase(),
            ll = last.to_ascii_lowercase(),
        );
    }
}

impl Read for SyntheticVicidial {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            if self.pos == self.line.len() {
                if self.next == self.rows {
                    break;
                }
                self.next += 1;
                self.fill_line(self.next);
            }
            let n = (self.line.len() - self.pos).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&self.line[self.pos..self.pos + n]);
            self.pos += n;
            written += n;
        }
        Ok(written)
    }
}
