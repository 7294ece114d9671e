//! Streaming: generated lists of any length go through in constant memory.

use outdial_core::Region;
use outdial_import::synthetic::SyntheticVicidial;
use outdial_import::{Format, LeadReader};

/// Reads `source` through a `LeadReader`, counting rows (nothing is kept).
fn count(source: SyntheticVicidial, format: Format) -> (u64, u64, u64) {
    let (mut ok, mut bad, mut last_row) = (0u64, 0u64, 0u64);
    for item in LeadReader::new(source, format, Region::US, "synthetic").unwrap() {
        let row = match item {
            Ok(r) => {
                ok += 1;
                r.row
            }
            Err(e) => {
                bad += 1;
                e.row
            }
        };
        assert_eq!(row, last_row + 1, "rows come in order, one per line");
        last_row = row;
    }
    (ok, bad, last_row)
}

#[test]
fn hundred_thousand_rows_stream() {
    let gen = SyntheticVicidial::new(100_000).invalid_every(1_000);
    let (want_ok, want_bad) = (gen.expected_valid(), gen.expected_invalid());
    assert_eq!((want_ok, want_bad), (99_900, 100));
    assert_eq!(count(gen, Format::VicidialTab), (99_900, 100, 100_000));
}

#[test]
fn pipe_rows_stream_and_detect() {
    let gen = SyntheticVicidial::new(5_000)
        .format(Format::VicidialPipe)
        .invalid_every(7);
    let want = (gen.expected_valid(), gen.expected_invalid());
    let reader = LeadReader::detect(gen, Region::US, "synthetic").unwrap();
    assert_eq!(reader.format(), Format::VicidialPipe);
    let ok = reader.filter(Result::is_ok).count() as u64;
    assert_eq!((ok, 5_000 - ok), want);
}

/// The full memory proof runs in `examples/import_memory.rs`; this is the same count.
#[test]
#[ignore = "slow in debug builds: cargo test --release -p outdial-import -- --ignored"]
fn million_rows_stream() {
    let gen = SyntheticVicidial::new(1_000_000);
    assert_eq!(count(gen, Format::VicidialTab), (1_000_000, 0, 1_000_000));
}
