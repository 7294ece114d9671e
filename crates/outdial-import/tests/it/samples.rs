//! The shipped sample lists parse with exactly the counts their README promises.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use outdial_core::Region;
use outdial_import::{Format, LeadReader, ParsedRow, RowError};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name)
}

fn read_sample(name: &str) -> (Format, Vec<ParsedRow>, Vec<RowError>) {
    let file = File::open(sample(name)).expect("sample file");
    let reader = LeadReader::detect(file, Region::US, name).expect("header ok");
    let format = reader.format();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for item in reader {
        match item {
            Ok(row) => ok.push(row),
            Err(e) => bad.push(e),
        }
    }
    (format, ok, bad)
}

#[test]
fn vicidial_sample_counts() {
    let (format, ok, bad) = read_sample("leads-vicidial.txt");
    assert_eq!(format, Format::VicidialTab);
    assert_eq!(ok.len(), 295, "accepted rows");
    assert_eq!(bad.len(), 5, "rejected rows: {bad:#?}");
    let distinct: BTreeSet<&str> = ok.iter().map(|r| r.lead.phone.as_str()).collect();
    assert_eq!(distinct.len(), 290, "distinct numbers");
    assert_eq!(ok.len() + bad.len(), 300);

    let got: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.row, e.field.as_deref())).collect();
    assert_eq!(
        got,
        vec![
            (37, Some("phone_number")),  // "12": too short
            (88, Some("phone_number")),  // "N/A": letters
            (142, Some("phone_number")), // empty
            (201, None),                 // three fields only
            (263, Some("phone_number")), // exchange starting with 1
        ]
    );
    assert_eq!(bad[2].reason, "phone number is empty");
    assert!(bad[3]
        .reason
        .starts_with("expected at least 5 tab-separated fields"));

    // The five duplicates: the later row repeats an earlier number in another spelling.
    let mut rows_by_number: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &ok {
        rows_by_number
            .entry(r.lead.phone.as_str())
            .or_default()
            .push(r.row);
    }
    let dups: Vec<&Vec<u64>> = rows_by_number.values().filter(|v| v.len() > 1).collect();
    let mut dup_rows: Vec<(u64, u64)> = dups.iter().map(|v| (v[0], v[1])).collect();
    dup_rows.sort();
    assert_eq!(
        dup_rows,
        vec![(5, 120), (60, 175), (99, 230), (150, 250), (210, 290)]
    );

    // Every number is in the fictional 555-01XX range.
    assert!(ok
        .iter()
        .all(|r| r.lead.phone.as_str()[5..].starts_with("55501")));

    // States: upper case, 6 left blank, and one state per area code.
    let blank = ok.iter().filter(|r| r.lead.contact.state.is_none()).count();
    assert_eq!(blank, 6);
    let mut state_of_area: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &ok {
        if let Some(st) = r.lead.contact.state.as_deref() {
            assert_eq!(st, st.to_uppercase());
            let area = r.lead.phone.nanp_area_code().unwrap();
            state_of_area.entry(area).or_default().insert(st);
        }
    }
    assert!(
        state_of_area.len() >= 60,
        "{} area codes",
        state_of_area.len()
    );
    for (area, states) in &state_of_area {
        assert_eq!(states.len(), 1, "area code {area}: {states:?}");
    }
    // Every row carries a vendor_lead_code, a name and a city.
    for r in &ok {
        let c = &r.lead.contact;
        assert_eq!(
            c.external_id.as_deref(),
            Some(format!("VL{}", 10000 + r.row).as_str())
        );
        assert!(c.first_name.is_some() && c.last_name.is_some() && c.city.is_some());
    }
}

#[test]
fn csv_sample_counts() {
    let (format, ok, bad) = read_sample("leads.csv");
    assert_eq!(format, Format::Csv);
    assert_eq!(ok.len(), 18);
    assert_eq!(bad.len(), 2, "{bad:#?}");
    let distinct: BTreeSet<&str> = ok.iter().map(|r| r.lead.phone.as_str()).collect();
    assert_eq!(distinct.len(), 17);
    // C-1011's notes span two lines, so the rows after it start one line later.
    let got: Vec<(u64, Option<&str>, Option<&str>)> = bad
        .iter()
        .map(|e| (e.row, e.field.as_deref(), e.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (16, Some("Phone"), Some("555-0100")),
            (17, Some("Timezone"), Some("Eastern")),
        ]
    );
    let c1011 = &ok.iter().find(|r| r.row == 12).unwrap().lead.contact;
    assert_eq!(c1011.external_id.as_deref(), Some("C-1011"));
    assert_eq!(
        c1011.comments.as_deref(),
        Some("two numbers on file;\nuse this one")
    );
    let c1004 = &ok.iter().find(|r| r.row == 5).unwrap().lead.contact;
    assert_eq!(c1004.first_name.as_deref(), Some("José"));
    assert_eq!(c1004.state.as_deref(), Some("FL"));
    let with_tz = ok
        .iter()
        .filter(|r| r.lead.contact.time_zone.is_some())
        .count();
    assert_eq!(with_tz, 10);
}
