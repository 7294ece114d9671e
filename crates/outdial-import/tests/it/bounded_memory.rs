//! Memory stays bounded when a field is huge: a 50 MB field is skipped, not buffered.
//!
//! It compares the process's peak resident memory (VmHWM, Linux) before and after the read;
//! cargo-nextest runs each test in a process of its own, so no other test's allocations
//! count.

use std::io::{self, Read};

use outdial_core::Region;
use outdial_import::{Format, LeadReader};

/// Peak resident memory of this process in KiB, where /proc tells it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_50_mb_field_is_read_in_bounded_memory() {
    let Some(before) = peak_rss_kib() else {
        outdial_testkit::precondition_missing(
            "the bounded-memory test",
            "/proc/self/status is not readable on this system",
        );
        return;
    };
    let size = 50 * 1024 * 1024;
    for (format, head, tail) in [
        (
            Format::Csv,
            "phone,first_name\n2125550130,\"",
            "\"\n2125550131,Bob\n",
        ),
        (
            Format::Csv,
            "phone,notes\n2125550130,\"a\n",
            "\"\n2125550131,Bob\n",
        ),
        (
            Format::VicidialTab,
            "V1\t\t1\t1\t2125550130\t",
            "\nV2\t\t1\t1\t2125550131\n",
        ),
    ] {
        let input = io::Cursor::new(head.as_bytes())
            .chain(io::repeat(b'x').take(size))
            .chain(io::Cursor::new(tail.as_bytes()));
        let reader = LeadReader::new(input, format, Region::US, "big").unwrap();
        let items: Vec<_> = reader.collect();
        assert!(items.iter().any(Result::is_err), "{format}");
        assert!(
            items.last().unwrap().is_ok(),
            "{format}: the row after is read"
        );
    }
    let after = peak_rss_kib().unwrap();
    let grown = after.saturating_sub(before);
    eprintln!("peak resident memory grew by {grown} KiB reading three 50 MB fields");
    // The bounds are 64 KiB per record and as much again to replay; libphonenumber's
    // metadata takes a few MiB on first use. A buffered field would take 50 MiB or more.
    assert!(grown < 16 * 1024, "peak memory grew by {grown} KiB");
}
