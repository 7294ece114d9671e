//! Table-driven tests of both layouts: values, row numbers and row errors.

use std::io::{self, Read};

use outdial_core::{LeadContact, Region};
use outdial_import::{Format, ImportError, LeadReader, ParsedRow, RowError};

type Item = Result<ParsedRow, RowError>;

fn read(input: &[u8], format: Format) -> Vec<Item> {
    LeadReader::new(input, format, Region::US, "test")
        .expect("header ok")
        .collect()
}

fn detect(input: &[u8]) -> (Format, Vec<Item>) {
    let reader = LeadReader::detect(input, Region::US, "test").expect("header ok");
    let format = reader.format();
    (format, reader.collect())
}

/// What one item should be: a lead (row, E.164) or an error (row, field, reason prefix).
#[derive(Debug)]
enum Want {
    Lead(u64, &'static str),
    Bad(u64, Option<&'static str>, &'static str),
}

fn check(items: &[Item], want: &[Want], label: &str) {
    assert_eq!(
        items.len(),
        want.len(),
        "{label}: got {items:#?}, want {want:#?}"
    );
    for (got, want) in items.iter().zip(want) {
        match (got, want) {
            (Ok(row), Want::Lead(n, phone)) => {
                assert_eq!(row.row, *n, "{label}: {row:?}");
                assert_eq!(row.lead.phone.as_str(), *phone, "{label}: {row:?}");
            }
            (Err(e), Want::Bad(n, field, reason)) => {
                assert_eq!(e.row, *n, "{label}: {e}");
                assert_eq!(e.field.as_deref(), *field, "{label}: {e}");
                assert!(e.reason.starts_with(reason), "{label}: {e}");
            }
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn csv_table() {
    let cases: &[(&str, &str, &[Want])] = &[
        (
            "plain",
            "phone,first_name\n4155550123,Ada\n2125550199,Bob\n",
            &[
                Want::Lead(2, "+14155550123"),
                Want::Lead(3, "+12125550199"),
            ],
        ),
        (
            "formatted numbers",
            "phone\n(415) 555-0123\n415.555.0124\n+1 415 555 0125\n1-415-555-0126\n+44 20 7946 0958\n",
            &[
                Want::Lead(2, "+14155550123"),
                Want::Lead(3, "+14155550124"),
                Want::Lead(4, "+14155550125"),
                Want::Lead(5, "+14155550126"),
                Want::Lead(6, "+442079460958"),
            ],
        ),
        (
            "blank lines and blank rows are skipped but counted",
            "phone,name\n\n4155550123,a\n,\n  ,  \n2125550199,b\n",
            &[
                Want::Lead(3, "+14155550123"),
                Want::Lead(6, "+12125550199"),
            ],
        ),
        (
            "CRLF line endings",
            "phone,name\r\n4155550123,a\r\n2125550199,b\r\n",
            &[
                Want::Lead(2, "+14155550123"),
                Want::Lead(3, "+12125550199"),
            ],
        ),
        (
            "no trailing newline",
            "phone\n4155550123",
            &[Want::Lead(2, "+14155550123")],
        ),
        (
            "bad rows",
            "Phone,TZ\n4155550123,\n,America/Chicago\n12,\nN/A,\n2125550199,Mars/Olympus\n(011) 555-0123,\n3125550100,America/Chicago\n",
            &[
                Want::Lead(2, "+14155550123"),
                Want::Bad(3, Some("Phone"), "phone number is empty"),
                Want::Bad(4, Some("Phone"), "not a valid number"),
                Want::Bad(5, Some("Phone"), "not a valid number"),
                Want::Bad(6, Some("TZ"), "not an IANA time zone name"),
                Want::Bad(7, Some("Phone"), "not a valid number"),
                Want::Lead(8, "+13125550100"),
            ],
        ),
        (
            "short rows are fine when the phone is there (flexible)",
            "first,last,phone,city\nAda,Lovelace,4155550123\nBob\n",
            &[
                Want::Lead(2, "+14155550123"),
                Want::Bad(3, Some("phone"), "phone number is empty"),
            ],
        ),
    ];
    for (label, input, want) in cases {
        check(&read(input.as_bytes(), Format::Csv), want, label);
    }
}

#[test]
fn vicidial_table_tab_and_pipe() {
    // (label, rows with '\t', expected) — each case also runs with '|' as the delimiter.
    let cases: &[(&str, &str, &[Want])] = &[
        (
            "full row",
            "VL1\tWEB\t101\t1\t4155550123\tMs.\tAda\tK\tLovelace\t1 Main St\t\t\tSan Francisco\tca\t\t94102\tUSA\tF\t1970-01-01\t\tada@example.com\t\tcall after 5\n",
            &[Want::Lead(1, "+14155550123")],
        ),
        (
            "only the first five fields",
            "VL2\t\t101\t1\t2125550199\n",
            &[Want::Lead(1, "+12125550199")],
        ),
        (
            "extra fields after comments are ignored",
            "VL3\t\t101\t1\t3125550100\t\tA\t\tB\t\t\t\tChicago\tIL\t\t60601\tUSA\tU\t\t\t\t\tnote\textra1\textra2\n",
            &[Want::Lead(1, "+13125550100")],
        ),
        (
            "too few fields",
            "VL4\t\t101\t1\nVL5\t\t101\t1\t6025550100\n",
            &[
                Want::Bad(1, None, "expected at least 5"),
                Want::Lead(2, "+16025550100"),
            ],
        ),
        (
            "bad numbers name the phone_number field",
            "A\t\t101\t1\t\nB\t\t101\t1\t12\nC\t\t101\t1\tN/A\nD\t\t101\t1\t8085550100\n",
            &[
                Want::Bad(1, Some("phone_number"), "phone number is empty"),
                Want::Bad(2, Some("phone_number"), "not a valid number"),
                Want::Bad(3, Some("phone_number"), "not a valid number"),
                Want::Lead(4, "+18085550100"),
            ],
        ),
        (
            "quotes are ordinary characters; one surrounding pair is dropped",
            "\"VL6\"\t\t101\t1\t\"9075550100\"\t\t\"Al \"\"Bo\"\"\"\n",
            &[Want::Lead(1, "+19075550100")],
        ),
    ];
    for (label, input, want) in cases {
        check(&read(input.as_bytes(), Format::VicidialTab), want, label);
        let piped = input.replace('\t', "|");
        check(
            &read(piped.as_bytes(), Format::VicidialPipe),
            want,
            &format!("{label} (pipe)"),
        );
        // Detection picks the same layout from the first line.
        let (format, items) = detect(input.as_bytes());
        assert_eq!(format, Format::VicidialTab, "{label}");
        check(&items, want, &format!("{label} (detected)"));
        let (format, items) = detect(piped.as_bytes());
        assert_eq!(format, Format::VicidialPipe, "{label}");
        check(&items, want, &format!("{label} (pipe, detected)"));
    }
}

#[test]
fn vicidial_fields_land_in_the_contact() {
    let line = "VL1\tWEB\t101\t1\t4155550123\tMs.\t Ada \tK\tLovelace\t1 Main St\t\t\tSan Francisco\tca\tON\t94102\tUSA\tF\t1970-01-01\t4155550999\tada@example.com\tswordfish\tcall after 5\n";
    let items = read(line.as_bytes(), Format::VicidialTab);
    let lead = &items[0].as_ref().unwrap().lead;
    assert_eq!(
        lead.contact,
        LeadContact {
            external_id: Some("VL1".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            city: Some("San Francisco".into()),
            state: Some("CA".into()),
            postal_code: Some("94102".into()),
            email: Some("ada@example.com".into()),
            time_zone: None,
            comments: Some("call after 5".into()),
        }
    );
    // Province stands in for an empty state.
    let line = "VL2\t\t101\t1\t4165550123\t\t\t\t\t\t\t\tToronto\t\ton\t\n";
    let items = read(line.as_bytes(), Format::VicidialTab);
    let lead = &items[0].as_ref().unwrap().lead;
    assert_eq!(lead.contact.state.as_deref(), Some("ON"));
    assert_eq!(lead.contact.first_name, None);
    assert_eq!(lead.phone.as_str(), "+14165550123");
}

/// An E.164 result, or the (field, reason prefix) of the error.
type Outcome = Result<&'static str, (&'static str, &'static str)>;

#[test]
fn phone_code_combination() {
    let cases: &[(&str, &str, Outcome)] = &[
        ("1", "4155552671", Ok("+14155552671")),
        ("1", "(415) 555-2671", Ok("+14155552671")),
        ("+1", "4155552671", Ok("+14155552671")),
        // The code written again in the number is tolerated (NANP national prefix 1).
        ("1", "14155552671", Ok("+14155552671")),
        ("44", "2079460958", Ok("+442079460958")),
        // A trunk 0 is read the way the code's country writes numbers.
        ("44", "020 7946 0958", Ok("+442079460958")),
        // Empty code: the default region (US).
        ("", "4155552671", Ok("+14155552671")),
        // A '+' in the number wins over the code.
        ("1", "+44 20 7946 0958", Ok("+442079460958")),
        (
            "44",
            "4155552671",
            Err(("phone_number", "not a valid number")),
        ),
        (
            "abc",
            "4155552671",
            Err(("phone_code", "not a country calling code")),
        ),
        (
            "1234",
            "4155552671",
            Err(("phone_code", "not a country calling code")),
        ),
        (
            "0",
            "4155552671",
            Err(("phone_code", "not a country calling code")),
        ),
    ];
    for (code, number, want) in cases {
        let line = format!("VL\t\t101\t{code}\t{number}\n");
        let items = read(line.as_bytes(), Format::VicidialTab);
        assert_eq!(items.len(), 1);
        match (&items[0], want) {
            (Ok(row), Ok(e164)) => assert_eq!(row.lead.phone.as_str(), *e164, "{code} {number}"),
            (Err(e), Err((field, reason))) => {
                assert_eq!(e.field.as_deref(), Some(*field), "{e}");
                assert!(e.reason.starts_with(reason), "{e}");
                assert_eq!(e.row, 1);
            }
            (got, want) => panic!("{code} {number}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn default_region_reads_national_numbers() {
    let gb: Region = "GB".parse().unwrap();
    let items: Vec<Item> = LeadReader::new(
        "phone\n020 7946 0958\n".as_bytes(),
        Format::Csv,
        gb,
        "uk.csv",
    )
    .unwrap()
    .collect();
    assert_eq!(
        items[0].as_ref().unwrap().lead.phone.as_str(),
        "+442079460958"
    );
}

#[test]
fn header_aliases_all_map_to_the_same_lead() {
    let headers = [
        "phone,first_name,last_name,external_id,state,postal_code,city,email,timezone,comments",
        "Phone Number,FirstName,LastName,Vendor_Lead_Code,Province,ZIP,City,EMAIL,Time Zone,Notes",
        "NUMBER,First,Last,lead_id,STATE,zipcode,city,e-mail,TZ,notes",
        "\u{feff}PhoneNumber,first-name,last name,ID,state,Postcode,CITY,Email,time_zone,Comments",
        "mobile,firstname,lastname,id,province,postcode,city,email,tz,comments",
    ];
    let row = "4155550123,Ada,Lovelace,X-9,ca,94102,San Francisco,ada@example.com,America/Los_Angeles,VIP";
    let want = LeadContact {
        external_id: Some("X-9".into()),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        city: Some("San Francisco".into()),
        state: Some("CA".into()),
        postal_code: Some("94102".into()),
        email: Some("ada@example.com".into()),
        time_zone: Some(chrono_tz::America::Los_Angeles),
        comments: Some("VIP".into()),
    };
    for header in headers {
        let input = format!("{header}\n{row}\n");
        let (format, items) = detect(input.as_bytes());
        assert_eq!(format, Format::Csv, "{header}");
        let lead = &items[0]
            .as_ref()
            .unwrap_or_else(|e| panic!("{header}: {e}"))
            .lead;
        assert_eq!(lead.phone.as_str(), "+14155550123", "{header}");
        assert_eq!(lead.contact, want, "{header}");
    }
}

#[test]
fn columns_in_any_order_and_unknown_columns_are_reported() {
    let input = "Company,Email,Phone,Alt Phone,First Name\nAcme,a@b.c,4155550123,2125550199,Ada\n";
    let reader = LeadReader::new(input.as_bytes(), Format::Csv, Region::US, "t.csv").unwrap();
    assert_eq!(reader.unrecognised_columns(), vec!["Company", "Alt Phone"]);
    let items: Vec<Item> = reader.collect();
    let lead = &items[0].as_ref().unwrap().lead;
    assert_eq!(lead.phone.as_str(), "+14155550123");
    assert_eq!(lead.contact.email.as_deref(), Some("a@b.c"));
    assert_eq!(lead.contact.first_name.as_deref(), Some("Ada"));
}

#[test]
fn a_second_phone_column_fills_in_when_the_first_is_empty() {
    let input = "mobile,phone\n,4155550123\n2125550199,4155550123\n";
    let items = read(input.as_bytes(), Format::Csv);
    assert_eq!(
        items[0].as_ref().unwrap().lead.phone.as_str(),
        "+14155550123"
    );
    // "phone" outranks "mobile" when both are filled.
    assert_eq!(
        items[1].as_ref().unwrap().lead.phone.as_str(),
        "+14155550123"
    );
}

#[test]
fn missing_phone_header_is_a_file_error() {
    let input = "Name,City,Alt Phone\nAda,Paris,4155550123\n";
    let err =
        LeadReader::new(input.as_bytes(), Format::Csv, Region::US, "leads-may.csv").unwrap_err();
    match &err {
        ImportError::MissingPhoneColumn {
            source_name,
            headers,
        } => {
            assert_eq!(source_name, "leads-may.csv");
            assert_eq!(headers, &["Name", "City", "Alt Phone"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("leads-may.csv"), "{msg}");
    assert!(msg.contains("'Name', 'City', 'Alt Phone'"), "{msg}");

    // Detection falls back to CSV and reports the same.
    let err = LeadReader::detect(input.as_bytes(), Region::US, "x.csv").unwrap_err();
    assert!(matches!(err, ImportError::MissingPhoneColumn { .. }));

    let err = LeadReader::new(&b""[..], Format::Csv, Region::US, "empty.csv").unwrap_err();
    assert!(matches!(err, ImportError::NoHeader { .. }), "{err:?}");
    assert!(err.to_string().starts_with("empty.csv: "));

    // An empty VICIdial list is no error: it has no rows.
    let reader = LeadReader::new(&b""[..], Format::VicidialTab, Region::US, "e.txt").unwrap();
    assert_eq!(reader.count(), 0);
}

#[test]
fn csv_quoting() {
    let input = concat!(
        "id,phone,last_name,comments\n",
        "1,\"(415) 555-0123\",\"O'Brien, Jr.\",\"said \"\"call me\"\", then hung up\"\n",
        "2,2125550199,Smith,\"two\nlines\"\n",
        "3,3125550100,\"  Padded  \",\n",
    );
    let items = read(input.as_bytes(), Format::Csv);
    assert_eq!(items.len(), 3);
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.row, 2);
    assert_eq!(first.lead.phone.as_str(), "+14155550123");
    assert_eq!(
        first.lead.contact.last_name.as_deref(),
        Some("O'Brien, Jr.")
    );
    assert_eq!(
        first.lead.contact.comments.as_deref(),
        Some("said \"call me\", then hung up")
    );
    let second = items[1].as_ref().unwrap();
    assert_eq!(second.row, 3);
    assert_eq!(second.lead.contact.comments.as_deref(), Some("two\nlines"));
    // The quoted newline makes the next row start on line 5.
    let third = items[2].as_ref().unwrap();
    assert_eq!(third.row, 5);
    assert_eq!(third.lead.contact.last_name.as_deref(), Some("Padded"));
    assert_eq!(third.lead.contact.comments, None);
}

#[test]
fn invalid_utf8_rejects_the_row_and_reading_goes_on() {
    let mut input = b"phone,first_name,notes\n4155550123,Jos".to_vec();
    input.extend_from_slice(&[0xE9]); // Latin-1 'é'
    input.extend_from_slice(b",ok\n2125550199,Ann,ok\n");
    let items = read(&input, Format::Csv);
    assert_eq!(items.len(), 2);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.row, 2);
    assert_eq!(err.field.as_deref(), Some("first_name"));
    assert_eq!(err.value.as_deref(), Some("Jos\u{fffd}"));
    assert!(err.reason.contains("UTF-8"), "{err}");
    assert_eq!(items[1].as_ref().unwrap().row, 3);

    // Invalid bytes in a column that is not used do not matter.
    let mut input = b"phone,other\n4155550123,".to_vec();
    input.extend_from_slice(&[0xFF, 0xFE]);
    input.push(b'\n');
    assert!(read(&input, Format::Csv)[0].is_ok());
}

#[test]
fn row_error_display_matches_the_documented_shape() {
    let items = read(b"VL\t\t101\t1\t12\n", Format::VicidialTab);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "row 1, field phone_number ('12'): not a valid number (the number is too short after the country code)"
    );
}

/// A reader that fails after handing out its data.
struct FailsAfter<'a>(&'a [u8]);

impl Read for FailsAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "link dropped",
            ));
        }
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn an_io_error_ends_the_import_with_one_error() {
    let data = b"phone\n4155550123\n2125550199\n";
    let mut reader = LeadReader::new(FailsAfter(data), Format::Csv, Region::US, "net.csv").unwrap();
    let items: Vec<Item> = reader.by_ref().collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(items[0].is_ok() && items[1].is_ok());
    let err = items[2].as_ref().unwrap_err();
    assert_eq!(err.field, None);
    assert!(err.reason.contains("link dropped"), "{err}");
    assert!(err.reason.contains("net.csv"), "{err}");
    assert!(reader.stopped_early());
    assert!(reader.next().is_none());
}

#[test]
fn detect_handles_a_first_line_longer_than_one_read() {
    let mut input = String::from("phone");
    for i in 0..3000 {
        input.push_str(&format!(",extra_column_{i}"));
    }
    input.push('\n');
    input.push_str("4155550123\n");
    assert!(input.len() > 16 * 1024);
    let (format, items) = detect(input.as_bytes());
    assert_eq!(format, Format::Csv);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap().row, 2);
}
