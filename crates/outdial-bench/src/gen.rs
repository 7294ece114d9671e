//! Lead files for the import workloads: every number distinct and valid, in VICIdial's
//! list-load layout (tab-separated, no header, 23 columns, the phone in column 5) or in CSV
//! with a header.
//!
//! Numbers: 20 US area codes × exchanges 200–999 × lines 0000–9999, row `i` taking area
//! `i mod 20`; so up to 160,000,000 distinct numbers. Some are real subscribers' numbers:
//! these files are only ever dialed through an in-process provider or the fake carrier.

use std::io::{BufWriter, Write};
use std::path::Path;

// The synthetic list's tables: area codes with their state, first and last names.
use outdial_import::synthetic::{AREAS, FIRST, LAST};

/// The layout of a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// VICIdial's list-load layout: tab-separated, no header.
    Vicidial,
    /// CSV with a header row (`lead_id,First Name,Last Name,Phone,City,State,Zip,Email`).
    Csv,
}

impl Layout {
    /// Name for tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Vicidial => "VICIdial",
            Layout::Csv => "CSV",
        }
    }
}

/// The ten national digits of row `i` (`2125550000` style), distinct for every `i` below
/// 160,000,000.
pub fn national_number(i: u64) -> String {
    let (area, _) = AREAS[(i % 20) as usize];
    let rest = i / 20;
    let exchange = 200 + (rest / 10_000) % 800;
    let line = rest % 10_000;
    format!("{area}{exchange:03}{line:04}")
}

/// Writes `rows` leads to `path` in `layout`. Errors: the file cannot be written.
pub fn write_leads(path: &Path, layout: Layout, rows: u64) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    if layout == Layout::Csv {
        writeln!(w, "lead_id,First Name,Last Name,Phone,City,State,Zip,Email")?;
    }
    for i in 0..rows {
        let (_, state) = AREAS[(i % 20) as usize];
        let first = FIRST[(i % 8) as usize];
        let last = LAST[((i / 8) % 8) as usize];
        let phone = national_number(i);
        match layout {
            Layout::Vicidial => writeln!(
                w,
                "VL{i}\tBENCH\t1001\t1\t{phone}\t\t{first}\t\t{last}\t{n} Main St\t\t\tSpringfield\t{state}\t\t{zip:05}\tUSA\tU\t\t\t{fl}.{ll}{i}@example.org\t\tbenchmark row",
                n = i % 9000 + 100,
                zip = 10_000 + i % 89_999,
                fl = first.to_lowercase(),
                ll = last.to_lowercase(),
            )?,
            Layout::Csv => writeln!(
                w,
                "C-{i},{first},{last},({a}) {b}-{c},Springfield,{state},{zip:05},{fl}.{ll}{i}@example.org",
                a = &phone[..3],
                b = &phone[3..6],
                c = &phone[6..],
                zip = 10_000 + i % 89_999,
                fl = first.to_lowercase(),
                ll = last.to_lowercase(),
            )?,
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_distinct() {
        let n: std::collections::HashSet<String> = (0..50_000).map(national_number).collect();
        assert_eq!(n.len(), 50_000);
        assert_eq!(national_number(0), "2122000000");
    }
}
