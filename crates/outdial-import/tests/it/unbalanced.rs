//! A broken file costs the rows that are broken, never the rows after them: an unbalanced
//! quote, a huge field or a huge header is one reported error (at the line where it starts)
//! and the good rows after it are read. Error messages quote only a short prefix.

use std::io::{self, Read};

use outdial_core::Region;
use outdial_import::{
    Format, ImportError, LeadReader, ParsedRow, RowError, MAX_QUOTED_LINES, MAX_QUOTED_VALUE_CHARS,
};

type Item = Result<ParsedRow, RowError>;

const MB50: u64 = 50 * 1024 * 1024;

/// `head`, then `n` bytes of `x`, then `tail`, without holding the `x`s in memory.
fn with_filler(head: &str, n: u64, tail: String) -> impl Read + std::fmt::Debug {
    io::Cursor::new(head.as_bytes().to_vec())
        .chain(io::repeat(b'x').take(n))
        .chain(io::Cursor::new(tail.into_bytes()))
}

/// `count` good CSV rows of `columns` fields (the phone first), from line `first_line`.
fn good_rows(count: usize, columns: usize) -> String {
    let mut s = String::new();
    for i in 0..count {
        s.push_str(&format!("212{:03}{:04}", 200 + i % 700, i % 10_000));
        for c in 1..columns {
            s.push_str(&format!(",v{c}"));
        }
        s.push('\n');
    }
    s
}

fn split(items: Vec<Item>) -> (Vec<ParsedRow>, Vec<RowError>) {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Ok(r) => ok.push(r),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

fn read_csv(input: impl Read) -> (Vec<ParsedRow>, Vec<RowError>) {
    split(
        LeadReader::new(input, Format::Csv, Region::US, "leads.csv")
            .expect("header ok")
            .collect(),
    )
}

/// Every message quotes at most a short prefix of any value.
fn assert_short(e: &RowError) {
    let msg = e.to_string();
    assert!(msg.len() < 600, "{} bytes: {}…", msg.len(), &msg[..200]);
    if let Some(v) = &e.value {
        assert!(v.chars().count() <= MAX_QUOTED_VALUE_CHARS + 1, "{v}");
    }
}

#[test]
fn an_unbalanced_quote_costs_one_row_not_the_rest_of_the_file() {
    // The issue's reproducer: the quote opened in first_name never closes.
    let input = format!(
        "phone,first_name\n2125550130,\"Smith, J\n{}",
        good_rows(10_000, 2)
    );
    let (ok, bad) = read_csv(input.as_bytes());
    assert_eq!(ok.len(), 10_000, "every row after the bad one is read");
    assert_eq!(bad.len(), 1, "{bad:#?}");
    let e = &bad[0];
    assert_eq!(e.row, 2, "named at the line where the quote opened: {e}");
    assert!(e.is_unreadable(), "{e}");
    assert_eq!(e.field.as_deref(), Some("first_name"), "{e}");
    assert_eq!(e.value.as_deref(), Some("Smith, J"), "{e}");
    assert!(e.reason.contains("not closed on its line"), "{e}");
    assert_short(e);
    assert_eq!(ok[0].row, 3);
    assert_eq!(ok[9_999].row, 10_002);
    assert!(ok
        .iter()
        .all(|r| r.lead.contact.first_name.as_deref() == Some("v1")));
}

#[test]
fn a_quote_in_a_comments_column_stops_at_a_line_that_looks_like_a_row() {
    // Comments may span lines, but not into lines with a row's commas.
    let input = format!(
        "phone,first_name,notes\n2125550130,Ann,\"call back\n{}",
        good_rows(10_000, 3)
    );
    let (ok, bad) = read_csv(input.as_bytes());
    assert_eq!((ok.len(), bad.len()), (10_000, 1), "{bad:#?}");
    let e = &bad[0];
    assert_eq!((e.row, e.field.as_deref()), (2, Some("notes")), "{e}");
    assert!(e.is_unreadable());
    assert!(
        e.reason.contains("before line 3, which looks like a row"),
        "{e}"
    );
    assert_eq!(ok[0].row, 3);
}

#[test]
fn a_quote_in_a_comments_column_is_bounded_in_lines_and_at_the_end_of_the_file() {
    // Rows of the phone alone carry no comma: the quote would run on; it may span at most
    // MAX_QUOTED_LINES lines, and must close before the end of the file.
    let rows = 3 * MAX_QUOTED_LINES as usize;
    let numbers: String = (0..rows).map(|i| format!("21255502{i:02}\n")).collect();
    let input = format!("phone,notes\n2125550130,\"call back\n{numbers}");
    let (ok, bad) = read_csv(input.as_bytes());
    assert_eq!((ok.len(), bad.len()), (rows, 1), "{bad:#?}");
    assert_eq!(bad[0].row, 2);
    assert!(bad[0].reason.contains("within 10 lines"), "{}", bad[0]);

    let input = "phone,notes\n2125550130,\"call back\n2125550131\n2125550132\n";
    let (ok, bad) = read_csv(input.as_bytes());
    assert_eq!((ok.len(), bad.len()), (2, 1), "{bad:#?}");
    assert_eq!(bad[0].row, 2);
    assert!(bad[0].reason.contains("end of the file"), "{}", bad[0]);
    assert_eq!((ok[0].row, ok[1].row), (3, 4));
}

#[test]
fn a_well_formed_multi_line_note_is_still_read() {
    let input =
        "phone,notes,city\n2125550130,\"two numbers;\nuse this one\",Paris\n2125550131,,Lyon\n";
    let (ok, bad) = read_csv(input.as_bytes());
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(ok.len(), 2);
    assert_eq!(
        ok[0].lead.contact.comments.as_deref(),
        Some("two numbers;\nuse this one")
    );
    assert_eq!(ok[0].lead.contact.city.as_deref(), Some("Paris"));
    assert_eq!(ok[1].row, 4);

    // In the first column too: the row's own commas come after the closing quote.
    let input = "notes,phone,city\n\"two\nlines\",2125550130,Paris\n,2125550131,Lyon\n";
    let (ok, bad) = read_csv(input.as_bytes());
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].lead.contact.comments.as_deref(), Some("two\nlines"));
}

#[test]
fn a_stray_quote_that_closes_on_a_later_row_is_caught_by_the_field_count() {
    // The notes quote of row 2 is closed by a stray quote on row 3, whose fields then
    // overflow the header's three columns.
    let input = format!(
        "phone,notes,city\n2125550130,\"call back,Paris\n2125550131\",Bo,Lyon\n{}",
        good_rows(100, 3)
    );
    let (ok, bad) = read_csv(input.as_bytes());
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!((bad[0].row, bad[0].field.as_deref()), (2, Some("notes")));
    assert!(
        bad[0].reason.contains("4 fields where the header has 3"),
        "{}",
        bad[0]
    );
    // The line break is shown escaped: one error, one line.
    assert!(!bad[0].to_string().contains('\n'), "{}", bad[0]);
    // Row 3 is read again on its own (the number parser ignores the stray quote).
    assert_eq!(ok.len(), 101);
    assert_eq!(ok[0].row, 3);
}

#[test]
fn a_50_mb_field_is_one_unreadable_row() {
    for quote in ["", "\""] {
        let head = format!("phone,first_name\n2125550130,{quote}");
        let tail = format!("{quote}\n2125550131,Bob\n");
        let (ok, bad) = read_csv(with_filler(&head, MB50, tail));
        assert_eq!(bad.len(), 1, "quote {quote:?}: {bad:#?}");
        let e = &bad[0];
        assert_eq!(e.row, 2, "{e}");
        assert!(e.is_unreadable(), "{e}");
        assert!(e.reason.contains("longer than 65536 bytes"), "{e}");
        assert_short(e);
        assert_eq!(ok.len(), 1, "quote {quote:?}");
        assert_eq!(ok[0].row, 3);
        assert_eq!(ok[0].lead.contact.first_name.as_deref(), Some("Bob"));
    }
}

#[test]
fn a_50_mb_header_is_a_short_file_error() {
    // With a phone column, and without one (the message once quoted the whole header).
    for head in ["phone,", "name,"] {
        let tail = ",city\n2125550131,Bob\n".to_string();
        let err = LeadReader::detect(with_filler(head, MB50, tail), Region::US, "wide.csv")
            .expect_err("a 50 MB header is refused");
        let msg = err.to_string();
        assert!(msg.len() < 300, "{} bytes: {}…", msg.len(), &msg[..200]);
        assert!(msg.starts_with("wide.csv: "), "{msg}");
        assert!(
            matches!(err, ImportError::UnreadableHeader { .. }),
            "{head}: {msg}"
        );
    }
    // A header with an unclosed quote.
    let err = LeadReader::new(
        &b"phone,\"first\nname\n2125550131\n"[..],
        Format::Csv,
        Region::US,
        "q.csv",
    )
    .expect_err("an unclosed quote in the header is refused");
    assert!(matches!(err, ImportError::UnreadableHeader { .. }), "{err}");
}

#[test]
fn a_long_header_without_a_phone_column_is_quoted_briefly() {
    // Under the line bound, but still far too long to repeat.
    let names: Vec<String> = (0..200)
        .map(|i| format!("col{i}_{}", "n".repeat(200)))
        .collect();
    let input = format!("{}\n1,2\n", names.join(","));
    let err = LeadReader::detect(input.as_bytes(), Region::US, "x.csv").unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ImportError::MissingPhoneColumn { .. }),
        "{msg}"
    );
    assert!(msg.len() < 3_000, "{} bytes", msg.len());
}

#[test]
fn a_long_column_name_is_cut_in_row_errors() {
    // An ignored column may hold line breaks; an unclosed quote there names the column.
    let name = format!("remarks{}", "r".repeat(5_000));
    let input = format!("phone,{name}\n2125550131,\"x\n");
    let (_, bad) = read_csv(input.as_bytes());
    assert_eq!(bad.len(), 1);
    assert!(bad[0].field.as_ref().unwrap().starts_with("remarks"));
    assert_short(&bad[0]);
}

#[test]
fn vicidial_tab_quotes_are_data_and_a_50_mb_field_is_one_unreadable_row() {
    // Quoting is off in the VICIdial layouts: an unbalanced quote is an ordinary character.
    let mut input = String::from("VL1\t\t101\t1\t2125550130\t\t\"Smith, J\n");
    for i in 0..10_000 {
        input.push_str(&format!(
            "V{i}\t\t101\t1\t212{:03}{:04}\t\tAl\n",
            200 + i % 700,
            i
        ));
    }
    let (format, items) = {
        let r = LeadReader::detect(input.as_bytes(), Region::US, "list.txt").unwrap();
        (r.format(), r.collect::<Vec<_>>())
    };
    assert_eq!(format, Format::VicidialTab);
    let (ok, bad) = split(items);
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(ok.len(), 10_001);
    assert_eq!(ok[0].lead.contact.first_name.as_deref(), Some("\"Smith, J"));

    // A 50 MB comments field: one unreadable row, the next row is read.
    let head = "VL1\t\t101\t1\t2125550130\t\tAl\t\tDoe\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    let tail = "\nVL2\t\t101\t1\t2125550131\t\tBo\n".to_string();
    let reader = LeadReader::detect(with_filler(head, MB50, tail), Region::US, "list.txt")
        .expect("no header in this layout");
    assert_eq!(reader.format(), Format::VicidialTab);
    let (ok, bad) = split(reader.collect());
    assert_eq!(bad.len(), 1, "{bad:#?}");
    assert_eq!(bad[0].row, 1);
    assert!(bad[0].is_unreadable());
    assert_short(&bad[0]);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].row, 2);
}
