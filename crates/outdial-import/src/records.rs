//! Delimited records with exact line numbers, on top of `csv-core`, that cannot swallow a
//! file.
//!
//! The `csv` crate's record positions do not count the blank lines it skips, so a row after
//! a blank line would be reported one line early. Here every consumed byte is counted:
//! a record's line is the line of its first byte.
//!
//! A record is one line, with one exception: a quoted value in a column that may hold a
//! line break (a comments column, an ignored column: see [`Records::allow_line_breaks`]) may
//! span up to [`MAX_QUOTED_LINES`] lines, as long as no line it runs into looks like a row of
//! its own and the record then has no more fields than the header. Anything else (an unclosed quote elsewhere, a quote still open at a line that
//! looks like a row, after [`MAX_QUOTED_LINES`] lines or at the end of the file, a record
//! longer than [`MAX_RECORD_BYTES`]) is an [`Unreadable`] record reported at the line where
//! it starts, and reading resumes on the next line: the lines a quote ran into are read
//! again (from a replay buffer of at most [`MAX_RECORD_BYTES`]) as the rows they are. So an
//! unbalanced quote costs one row, never the rest of the file, and memory stays bounded.

use std::io::{self, BufRead, BufReader, Read};

use csv_core::ReadRecordResult;

/// Bytes read from the source at a time.
const READ_BUFFER: usize = 64 * 1024;

/// The longest record (row) read, in bytes, line breaks included: a lead row is a few
/// hundred bytes. A longer single line is skipped to its end and reported; a quoted value
/// that grows a record past this is reported and its lines are read again as rows.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The most lines one quoted value may span (in a column that may hold a line break).
pub const MAX_QUOTED_LINES: u32 = 10;

/// Why a record could not be read. It is reported at the line where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// The line is longer than [`MAX_RECORD_BYTES`]; it was skipped to its end.
    LineTooLong,
    /// A quoted value in `column` (0-based) is still open at the end of its line, and the
    /// column may not hold a line break.
    QuoteAcrossLine { column: usize },
    /// A quoted value in `column` ran into line `line`, which has as many delimiters as a
    /// row of the file.
    QuoteIntoRow { column: usize, line: u64 },
    /// A quoted value in `column` is still open after [`MAX_QUOTED_LINES`] lines or
    /// [`MAX_RECORD_BYTES`] bytes.
    QuoteTooLong { column: usize },
    /// A quoted value in `column` is still open at the end of the input.
    QuoteAtEnd { column: usize },
    /// A quoted value in `column` spanned lines, and the record it ended then has `fields`
    /// fields, more than the header's `columns`: the value ran into the rows after it.
    QuoteThenTooManyFields {
        column: usize,
        fields: usize,
        columns: usize,
    },
}

impl Unreadable {
    /// The column where the fault lies, if any.
    pub(crate) fn column(self) -> Option<usize> {
        match self {
            Unreadable::LineTooLong => None,
            Unreadable::QuoteAcrossLine { column }
            | Unreadable::QuoteIntoRow { column, .. }
            | Unreadable::QuoteTooLong { column }
            | Unreadable::QuoteAtEnd { column }
            | Unreadable::QuoteThenTooManyFields { column, .. } => Some(column),
        }
    }

    /// What happened, as a sentence fragment (no row number, no consequence).
    pub(crate) fn describe(self) -> String {
        match self {
            Unreadable::LineTooLong => {
                format!("the line is longer than {MAX_RECORD_BYTES} bytes")
            }
            Unreadable::QuoteAcrossLine { .. } => "a quoted value is not closed on its line \
                 (only a comments column or an ignored column may hold a line break)"
                .to_owned(),
            Unreadable::QuoteIntoRow { line, .. } => format!(
                "a quoted value is not closed before line {line}, which looks like a row of \
                 its own"
            ),
            Unreadable::QuoteTooLong { .. } => format!(
                "a quoted value is not closed within {MAX_QUOTED_LINES} lines or \
                 {MAX_RECORD_BYTES} bytes"
            ),
            Unreadable::QuoteAtEnd { .. } => {
                "a quoted value is not closed before the end of the file".to_owned()
            }
            Unreadable::QuoteThenTooManyFields {
                fields, columns, ..
            } => format!(
                "a quoted value spans lines, and the row then has {fields} fields where the \
                 header has {columns}: the value ran into the rows after it"
            ),
        }
    }
}

/// What [`Records::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// A record starting on this 1-based line; its fields are in [`Records::get`].
    Record(u64),
    /// A record starting on this line that could not be read; [`Records::open_value`]
    /// holds the start of the value at fault, if any.
    Unreadable(u64, Unreadable),
    /// The end of the input.
    End,
}

/// The input: bytes to read again first (lines a bad quote ran into), then the source.
#[derive(Debug)]
struct Input<R> {
    replay: Vec<u8>,
    pos: usize,
    src: BufReader<R>,
}

impl<R: Read> Input<R> {
    /// Unread bytes; empty only at the end of the input.
    fn buffer(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.replay.len() {
            return Ok(&self.replay[self.pos..]);
        }
        loop {
            match self.src.fill_buf() {
                Ok(_) => return Ok(self.src.buffer()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pos < self.replay.len() {
            self.pos += n;
            if self.pos >= self.replay.len() {
                self.replay.clear();
                self.pos = 0;
            }
        } else {
            self.src.consume(n);
        }
    }

    /// Makes `bytes`, then whatever was still to be replayed, the next bytes read.
    fn push_back(&mut self, mut bytes: Vec<u8>) {
        bytes.extend_from_slice(&self.replay[self.pos..]);
        self.replay = bytes;
        self.pos = 0;
    }
}

/// A quoted value that has run past the end of the line where its record starts.
#[derive(Debug, Clone, Copy)]
struct Span {
    column: usize,
    /// Whether the value is still open (its closing quote not yet read).
    open: bool,
    /// Lines the record spans so far.
    lines: u32,
    /// The line the value has reached (1-based).
    line: u64,
    /// Delimiters inside the value on that line so far.
    delimiters: usize,
}

/// Reads one record at a time into reused buffers: memory is bounded by
/// [`MAX_RECORD_BYTES`] (fields, plus the replay buffer) whatever the input.
#[derive(Debug)]
pub(crate) struct Records<R> {
    input: Input<R>,
    core: csv_core::Reader,
    delimiter: u8,
    /// Per column: whether a quoted value there may span lines.
    multiline: Vec<bool>,
    /// Delimiters on one line that make it look like a row (a line a quote ran into).
    row_delimiters: usize,
    /// The current record's field bytes, back to back.
    fields: Vec<u8>,
    /// End offset of each field in `fields`.
    ends: Vec<usize>,
    len: usize,
    /// After an [`Unreadable`] quote: where the open value's bytes end in `fields`.
    open_end: usize,
    /// The raw bytes of the current record after its first line (kept while a quoted value
    /// spans lines, to be read again if the record turns out unreadable).
    raw: Vec<u8>,
    /// 1-based line of the next byte to consume.
    line: u64,
    /// The last byte consumed was `\r` (so a following `\n` ends no further line).
    after_cr: bool,
}

impl<R: Read> Records<R> {
    /// Records of `src` split on `delimiter`; `quoting` turns RFC 4180 double quotes on.
    /// No column may hold a line break until [`Records::allow_line_breaks`] says so.
    pub(crate) fn new(src: R, delimiter: u8, quoting: bool) -> Records<R> {
        Records {
            input: Input {
                replay: Vec::new(),
                pos: 0,
                src: BufReader::with_capacity(READ_BUFFER, src),
            },
            core: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .quoting(quoting)
                .build(),
            delimiter,
            multiline: Vec::new(),
            row_delimiters: 1,
            fields: vec![0; 1024],
            ends: vec![0; 32],
            len: 0,
            open_end: 0,
            raw: Vec::new(),
            line: 1,
            after_cr: false,
        }
    }

    /// Lets a quoted value in each column marked `true` span lines (at most
    /// [`MAX_QUOTED_LINES`]), unless a line it runs into holds `row_delimiters` or more
    /// delimiters: that line is taken for a row of its own, and the record is unreadable.
    pub(crate) fn allow_line_breaks(&mut self, columns: Vec<bool>, row_delimiters: usize) {
        self.multiline = columns;
        self.row_delimiters = row_delimiters.max(1);
    }

    /// Reads the next record. Empty lines before it are skipped (and counted). After
    /// [`Next::Unreadable`], reading resumes on the line after the one the bad record
    /// starts on. Errors: the source's.
    pub(crate) fn read(&mut self) -> io::Result<Next> {
        self.len = 0;
        self.open_end = 0;
        // Skip line breaks before the record, so its line is the line of its first byte.
        loop {
            let input = self.input.buffer()?;
            if input.is_empty() {
                return Ok(Next::End);
            }
            let n = input
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let rest = n < input.len();
            count_lines(&mut self.line, &mut self.after_cr, &input[..n]);
            self.input.consume(n);
            if rest {
                break;
            }
        }
        let start = self.line;
        let delimiter = self.delimiter;
        let (mut out, mut nend, mut bytes) = (0usize, 0usize, 0usize);
        let mut span: Option<Span> = None;
        // Where to resume when a quoted value spanning lines turns out unreadable: the
        // line after the first, with its line-break state.
        let mut resume = None;
        self.raw.clear();
        loop {
            if out == self.fields.len() {
                self.fields.resize(self.fields.len() * 2, 0);
            }
            if nend == self.ends.len() {
                self.ends.resize(self.ends.len() * 2, 0);
            }
            let input = self.input.buffer()?;
            let at_end = input.is_empty();
            // One line at a time, its line break included. At the end of the input, a line
            // break closes the record, unless a quoted value is still open.
            let chunk: &[u8] = if at_end {
                b"\n"
            } else {
                let len = input
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .map_or(input.len(), |i| i + 1);
                &input[..len]
            };
            if !at_end && bytes + chunk.len() > MAX_RECORD_BYTES {
                return Ok(match span {
                    None => {
                        self.skip_line()?;
                        self.give_up(start, Unreadable::LineTooLong, None, 0, 0)
                    }
                    Some(s) => {
                        let why = Unreadable::QuoteTooLong { column: s.column };
                        self.give_up(start, why, resume, nend, out)
                    }
                });
            }
            // While a value spanning lines is open, the parser stops where it closes (one
            // field end), so that only the delimiters inside it are counted.
            let ends_to = match span {
                Some(s) if s.open => nend + 1,
                _ => self.ends.len(),
            };
            let (res, nin, nout, ne) = self.core.read_record(
                chunk,
                &mut self.fields[out..],
                &mut self.ends[nend..ends_to],
            );
            let mut ended = 0;
            if !at_end {
                let consumed = &chunk[..nin];
                ended = count_lines(&mut self.line, &mut self.after_cr, consumed);
                if let Some(s) = span.as_mut() {
                    self.raw.extend_from_slice(consumed);
                    if s.open {
                        s.delimiters += consumed.iter().filter(|&&b| b == delimiter).count();
                        if ne > 0 {
                            // Closed; the delimiter that ends it is not inside it.
                            s.open = false;
                            s.delimiters -= usize::from(consumed.last() == Some(&delimiter));
                        }
                    }
                }
                self.input.consume(nin);
                bytes += nin;
            }
            out += nout;
            nend += ne;
            if let Some(s) = span {
                if s.delimiters >= self.row_delimiters {
                    let why = Unreadable::QuoteIntoRow {
                        column: s.column,
                        line: s.line,
                    };
                    return Ok(self.give_up(start, why, resume, nend, out));
                }
            }
            match res {
                ReadRecordResult::InputEmpty if at_end => {
                    let why = Unreadable::QuoteAtEnd { column: nend };
                    return Ok(self.give_up(start, why, resume, nend, out));
                }
                // Outside quotes a line break ends the record: this line ended inside a
                // quoted value.
                ReadRecordResult::InputEmpty if ended > 0 => match span.as_mut() {
                    None => {
                        if !self.multiline.get(nend).copied().unwrap_or(false) {
                            let why = Unreadable::QuoteAcrossLine { column: nend };
                            return Ok(self.give_up(start, why, None, nend, out));
                        }
                        resume = Some((self.line, self.after_cr));
                        span = Some(Span {
                            column: nend,
                            open: true,
                            lines: 2,
                            delimiters: 0,
                            line: self.line,
                        });
                    }
                    Some(s) => {
                        if !s.open {
                            // Another quoted value of the record runs past its line.
                            if !self.multiline.get(nend).copied().unwrap_or(false) {
                                let why = Unreadable::QuoteAcrossLine { column: nend };
                                return Ok(self.give_up(start, why, resume, nend, out));
                            }
                            s.column = nend;
                            s.open = true;
                        }
                        s.lines += 1;
                        s.delimiters = 0;
                        s.line = self.line;
                        if s.lines > MAX_QUOTED_LINES {
                            let why = Unreadable::QuoteTooLong { column: s.column };
                            return Ok(self.give_up(start, why, resume, nend, out));
                        }
                    }
                },
                ReadRecordResult::InputEmpty
                | ReadRecordResult::OutputFull
                | ReadRecordResult::OutputEndsFull => {}
                ReadRecordResult::Record => {
                    if let Some(s) = span {
                        let columns = self.multiline.len();
                        if nend > columns {
                            let why = Unreadable::QuoteThenTooManyFields {
                                column: s.column,
                                fields: nend,
                                columns,
                            };
                            let value_end = self.ends[s.column];
                            return Ok(self.give_up(start, why, resume, s.column, value_end));
                        }
                    }
                    self.len = nend;
                    return Ok(Next::Record(start));
                }
                ReadRecordResult::End => return Ok(Next::End),
            }
        }
    }

    /// Ends an unreadable record: resets the parser, keeps the `nend` fields before the
    /// value at fault and that value's bytes up to `out`, and, when `resume` is given, makes
    /// the lines after the record's first line the next ones read.
    fn give_up(
        &mut self,
        start: u64,
        why: Unreadable,
        resume: Option<(u64, bool)>,
        nend: usize,
        out: usize,
    ) -> Next {
        self.core.reset();
        self.len = nend;
        self.open_end = out;
        if let Some((line, after_cr)) = resume {
            self.input.push_back(std::mem::take(&mut self.raw));
            self.line = line;
            self.after_cr = after_cr;
        }
        Next::Unreadable(start, why)
    }

    /// Consumes the rest of the current line, its line break included.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let input = self.input.buffer()?;
            if input.is_empty() {
                return Ok(());
            }
            let (n, found) = match input.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => (i + 1, true),
                None => (input.len(), false),
            };
            count_lines(&mut self.line, &mut self.after_cr, &input[..n]);
            self.input.consume(n);
            if found {
                return Ok(());
            }
        }
    }

    /// The line of the next unread byte.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// How many fields the current record has (after [`Next::Unreadable`]: the fields
    /// before the one at fault).
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

    /// After an unreadable quoted value: the bytes of that value read (the quotes
    /// removed); empty otherwise.
    pub(crate) fn open_value(&self) -> &[u8] {
        let start = if self.len == 0 {
            0
        } else {
            self.ends[self.len - 1]
        };
        self.fields.get(start..self.open_end).unwrap_or(&[])
    }

    /// The fields of the current record.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

/// Advances `line` over `bytes`: `\n`, `\r\n` and a lone `\r` each end one line. Returns
/// how many lines ended.
fn count_lines(line: &mut u64, after_cr: &mut bool, bytes: &[u8]) -> u64 {
    let before = *line;
    for &b in bytes {
        match b {
            b'\n' if *after_cr => {}
            b'\n' | b'\r' => *line += 1,
            _ => {}
        }
        *after_cr = b == b'\r';
    }
    *line - before
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rec = (u64, Vec<String>);

    /// Every record of `input` (comma-separated); unreadable ones as `(line, ["!why"])`.
    fn all_with(input: &[u8], quoting: bool, multiline: Vec<bool>, row_delims: usize) -> Vec<Rec> {
        let mut r = Records::new(input, b',', quoting);
        r.allow_line_breaks(multiline, row_delims);
        let mut out = Vec::new();
        loop {
            match r.read().unwrap() {
                Next::End => break,
                Next::Record(line) => {
                    let fields = r
                        .iter()
                        .map(|f| String::from_utf8(f.to_vec()).unwrap())
                        .collect();
                    out.push((line, fields));
                }
                Next::Unreadable(line, why) => out.push((line, vec![format!("!{why:?}")])),
            }
        }
        out
    }

    fn all(input: &str, quoting: bool) -> Vec<Rec> {
        all_with(input.as_bytes(), quoting, Vec::new(), 1)
    }

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
            ("", vec![]),
            ("\n\n", vec![]),
            ("a,,b,\n", vec![rec(1, &["a", "", "b", ""])]),
            ("\"a,b\",\"c\"\"d\"\n", vec![rec(1, &["a,b", "c\"d"])]),
        ];
        for (input, want) in cases {
            assert_eq!(&all(input, true), want, "input {input:?}");
        }
    }

    #[test]
    fn quoted_line_breaks_only_where_allowed() {
        // Three columns: 0 and 1 may hold a line break, 2 may not; two delimiters make a row.
        let allow = || vec![true, true, false];
        let cases: &[(&str, Vec<Rec>)] = &[
            (
                "x,\"a\nb\"\nz\n",
                vec![rec(1, &["x", "a\nb"]), rec(3, &["z"])],
            ),
            (
                "x,\"a\r\nb\"\r\nz\r\n",
                vec![rec(1, &["x", "a\r\nb"]), rec(3, &["z"])],
            ),
            // Not allowed in column 2: the row is unreadable, the next line is read.
            (
                "1,2,\"a\nb\"\nz\n",
                vec![
                    rec(1, &["!QuoteAcrossLine { column: 2 }"]),
                    rec(2, &["b\""]),
                    rec(3, &["z"]),
                ],
            ),
            // The quote runs into a line with two delimiters: a row of its own.
            (
                "x,\"a\n1,2,3\n4,5,6\n",
                vec![
                    rec(1, &["!QuoteIntoRow { column: 1, line: 2 }"]),
                    rec(2, &["1", "2", "3"]),
                    rec(3, &["4", "5", "6"]),
                ],
            ),
            // Still open at the end: the lines it ran into are read again.
            (
                "x,\"a\nb\r\nc",
                vec![
                    rec(1, &["!QuoteAtEnd { column: 1 }"]),
                    rec(2, &["b"]),
                    rec(3, &["c"]),
                ],
            ),
            ("x,\"a", vec![rec(1, &["!QuoteAtEnd { column: 1 }"])]),
            // Only the delimiters inside the value count: the row's own come after it.
            (
                "\"a\nb\",1,2\nz\n",
                vec![rec(1, &["a\nb", "1", "2"]), rec(3, &["z"])],
            ),
            // Two values spanning lines in one record.
            (
                "\"a\nb\",\"c\nd\"\nz\n",
                vec![rec(1, &["a\nb", "c\nd"]), rec(4, &["z"])],
            ),
            // The second one is in a column that may not span lines: read again from line 2.
            (
                "\"a\nb\",1,\"c\nd\"\nz\n",
                vec![
                    rec(1, &["!QuoteAcrossLine { column: 2 }"]),
                    rec(2, &["!QuoteAcrossLine { column: 2 }"]),
                    rec(3, &["d\""]),
                    rec(4, &["z"]),
                ],
            ),
            // A stray quote closes the value on a later row, which then has too many fields.
            (
                "x,\"a\n1\"2,3,4\nz\n",
                vec![
                    rec(
                        1,
                        &["!QuoteThenTooManyFields { column: 1, fields: 4, columns: 3 }"],
                    ),
                    rec(2, &["1\"2", "3", "4"]),
                    rec(3, &["z"]),
                ],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                &all_with(input.as_bytes(), true, allow(), 2),
                want,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn a_quote_spans_at_most_max_quoted_lines() {
        let lines = MAX_QUOTED_LINES as usize;
        let ok = format!("x,\"{}\"\nz\n", vec!["l"; lines].join("\n"));
        let got = all_with(ok.as_bytes(), true, vec![false, true], 2);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].0, lines as u64 + 1);

        let long = format!("x,\"{}\"\nz\n", vec!["l"; lines + 1].join("\n"));
        let got = all_with(long.as_bytes(), true, vec![false, true], 2);
        assert_eq!(got[0], rec(1, &["!QuoteTooLong { column: 1 }"]));
        // Every line after the first is read again as a row.
        assert_eq!(got.len(), lines + 2, "{got:?}");
        assert_eq!(got.last().unwrap(), &rec(lines as u64 + 2, &["z"]));
    }

    #[test]
    fn long_records_grow_the_buffers_up_to_the_bound() {
        let wide: Vec<String> = (0..500).map(|i| format!("field{i}")).collect();
        let long = "x".repeat(MAX_RECORD_BYTES - 1);
        let input = format!("{}\n{long}\nend\n", wide.join(","));
        let got = all(&input, true);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].1, wide);
        assert_eq!(got[1], (2, vec![long]));
        assert_eq!(got[2], rec(3, &["end"]));
    }

    #[test]
    fn an_over_long_line_is_skipped_in_bounded_memory() {
        for quoting in [true, false] {
            for quote in ["", "\""] {
                let mut input = format!("a\nb,{quote}").into_bytes();
                input.resize(input.len() + 5 * MAX_RECORD_BYTES, b'x');
                input.extend_from_slice(b"\r\nc\n");
                let mut r = Records::new(&input[..], b',', quoting);
                assert_eq!(r.read().unwrap(), Next::Record(1));
                assert_eq!(
                    r.read().unwrap(),
                    Next::Unreadable(2, Unreadable::LineTooLong)
                );
                assert!(r.fields.len() <= 2 * MAX_RECORD_BYTES);
                assert_eq!(r.read().unwrap(), Next::Record(3));
                assert_eq!(r.get(0), Some(&b"c"[..]));
                assert_eq!(r.read().unwrap(), Next::End);
            }
        }
    }

    #[test]
    fn without_quoting_quotes_are_data() {
        assert_eq!(all("\"a,b\"\n", false), vec![rec(1, &["\"a", "b\""])]);
        assert_eq!(
            all("\"a\nb\"\n", false),
            vec![rec(1, &["\"a"]), rec(2, &["b\""])]
        );
    }
}
