//! Delimited records with exact line numbers, on top of `csv-core`.
//!
//! The `csv` crate's record positions do not count the blank lines it skips, so a row after
//! a blank line would be reported one line early. Here every consumed byte is counted:
//! a record's line is the line of its first byte.

use std::io::{self, BufRead, BufReader, Read};

use csv_core::ReadRecordResult;

/// Bytes read from the source at a time.
const READ_BUFFER: usize = 64 * 1024;

/// Reads one record at a time into reused buffers: memory grows only with the longest row.
#[derive(Debug)]
pub(crate) struct Records<R> {
    src: BufReader<R>,
    core: csv_core::Reader,
    /// The current record's field bytes, back to back.
    fields: Vec<u8>,
    /// End offset of each field in `fields`.
    ends: Vec<usize>,
    len: usize,
    /// 1-based line of the next byte to consume.
    line: u64,
    /// The last byte consumed was `\r` (so a following `\n` ends no further line).
    after_cr: bool,
}

impl<R: Read> Records<R> {
    /// Records of `src` split on `delimiter`; `quoting` turns RFC 4180 double quotes on.
    pub(crate) fn new(src: R, delimiter: u8, quoting: bool) -> Records<R> {
        Records {
            src: BufReader::with_capacity(READ_BUFFER, src),
            core: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .quoting(quoting)
                .build(),
            fields: vec![0; 1024],
            ends: vec![0; 32],
            len: 0,
            line: 1,
            after_cr: false,
        }
    }

    /// Reads the next record. `Ok(Some(line))` gives the 1-based line it starts on;
    /// `Ok(None)` is the end of the input. Empty lines are skipped (and counted).
    pub(crate) fn read(&mut self) -> io::Result<Option<u64>> {
        // Skip line breaks before the record, so its line is the line of its first byte.
        loop {
            fill(&mut self.src)?;
            let input = self.src.buffer();
            let n = input
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let more = n == input.len() && n > 0;
            count_lines(&mut self.line, &mut self.after_cr, &input[..n]);
            self.src.consume(n);
            if !more {
                break;
            }
        }
        let start = self.line;
        let (mut out, mut nend) = (0, 0);
        loop {
            fill(&mut self.src)?;
            let input = self.src.buffer();
            let (res, nin, nout, ne) =
                self.core
                    .read_record(input, &mut self.fields[out..], &mut self.ends[nend..]);
            count_lines(&mut self.line, &mut self.after_cr, &input[..nin]);
            self.src.consume(nin);
            out += nout;
            nend += ne;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.fields.len();
                    self.fields.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    self.len = nend;
                    return Ok(Some(start));
                }
                ReadRecordResult::End => {
                    self.len = 0;
                    return Ok(None);
                }
            }
        }
    }

    /// The line of the next unread byte.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// How many fields the current record has.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Field `i` of the current record.
    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.fields[start..self.ends[i]])
    }

    /// The fields of the current record.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

/// Makes sure the buffer holds unread bytes, unless the input is at its end; then
/// `src.buffer()` is the input to parse.
fn fill<R: Read>(src: &mut BufReader<R>) -> io::Result<()> {
    loop {
        match src.fill_buf() {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Advances `line` over `bytes`: `\n`, `\r\n` and a lone `\r` each end one line.
fn count_lines(line: &mut u64, after_cr: &mut bool, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\n' if *after_cr => {}
            b'\n' | b'\r' => *line += 1,
            _ => {}
        }
        *after_cr = b == b'\r';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str, quoting: bool) -> Vec<Rec> {
        let mut r = Records::new(input.as_bytes(), b',', quoting);
        let mut out = Vec::new();
        while let Some(line) = r.read().unwrap() {
            let fields = r
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((line, fields));
        }
        out
    }

    type Rec = (u64, Vec<String>);

    fn rec(line: u64, fields: &[&str]) -> Rec {
        (line, fields.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn line_numbers_count_blank_lines_and_every_line_ending() {
        let cases: &[(&str, Vec<Rec>)] = &[
            ("a\nb\n", vec![rec(1, &["a"]), rec(2, &["b"])]),
            ("a\n\n\nb", vec![rec(1, &["a"]), rec(4, &["b"])]),
            (
                "\n\na,b\r\n\r\nc\r\n",
                vec![rec(3, &["a", "b"]), rec(5, &["c"])],
            ),
            (
                "a\rb\r\rc",
                vec![rec(1, &["a"]), rec(2, &["b"]), rec(4, &["c"])],
            ),
            (
                "\"x\ny\",1\nz\n",
                vec![rec(1, &["x\ny", "1"]), rec(3, &["z"])],
            ),
            (
                "\"x\r\ny\",1\r\nz\r\n",
                vec![rec(1, &["x\r\ny", "1"]), rec(3, &["z"])],
            ),
            ("", vec![]),
            ("\n\n", vec![]),
            ("a,,b,\n", vec![rec(1, &["a", "", "b", ""])]),
        ];
        for (input, want) in cases {
            assert_eq!(&all(input, true), want, "input {input:?}");
        }
    }

    #[test]
    fn long_records_grow_the_buffers() {
        let wide: Vec<String> = (0..500).map(|i| format!("field{i}")).collect();
        let long = "x".repeat(200_000);
        let input = format!("{}\n{long}\nend\n", wide.join(","));
        let got = all(&input, true);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1, wide);
        assert_eq!(got[1], (2, vec![long]));
        assert_eq!(got[2], rec(3, &["end"]));
    }

    #[test]
    fn without_quoting_quotes_are_data() {
        assert_eq!(all("\"a,b\"\n", false), vec![rec(1, &["\"a", "b\""])]);
    }
}
