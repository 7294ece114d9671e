//! Any input, however broken, yields items in line order and never panics.

use outdial_core::Region;
use outdial_import::{Format, LeadReader};
use proptest::prelude::*;

fn lines_in(bytes: &[u8]) -> u64 {
    // A line break is \n, \r\n or a lone \r; a final line without one still counts.
    let mut lines = 1;
    let mut after_cr = false;
    for &b in bytes {
        match b {
            b'\n' if after_cr => {}
            b'\n' | b'\r' => lines += 1,
            _ => {}
        }
        after_cr = b == b'\r';
    }
    lines
}

fn check(bytes: &[u8], format: Format) {
    let Ok(reader) = LeadReader::new(bytes, format, Region::US, "fuzz") else {
        return; // a file-level error is an acceptable answer for CSV
    };
    let max_line = lines_in(bytes);
    let mut last = if format == Format::Csv { 1 } else { 0 };
    for item in reader {
        let row = match item {
            Ok(r) => r.row,
            Err(e) => {
                assert!(!e.reason.is_empty());
                e.row
            }
        };
        assert!(row > last, "rows in order: {row} after {last}");
        assert!(row <= max_line, "row {row} past the last line {max_line}");
        last = row;
    }
}

/// Bytes that look like lead lists: digits, separators, quotes, line breaks, junk.
fn listish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => proptest::char::range('0', '9').prop_map(|c| c as u8),
        2 => Just(b','),
        2 => Just(b'\t'),
        1 => Just(b'|'),
        2 => Just(b'\n'),
        1 => Just(b'\r'),
        1 => Just(b'"'),
        1 => Just(b'+'),
        1 => Just(b' '),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..400)
}

proptest! {
    #[test]
    fn never_panics_and_keeps_line_order(body in listish(), format_idx in 0usize..3) {
        let format = Format::ALL[format_idx];
        let mut bytes = if format == Format::Csv { b"phone,tz,state\n".to_vec() } else { Vec::new() };
        bytes.extend_from_slice(&body);
        check(&bytes, format);
        check(&body, format);
    }

    #[test]
    fn detect_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(reader) = LeadReader::detect(&body[..], Region::US, "fuzz") {
            for item in reader {
                let _ = item;
            }
        }
    }
}
