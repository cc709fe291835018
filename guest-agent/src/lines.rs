//! Reading newline-terminated lines with a length limit, so that one oversized or endless line
//! costs bounded memory and the stream stays usable after it.

use std::io::{self, Read};

/// What [`LineReader::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its `\n` (and without a `\r` before it).
    Complete(Vec<u8>),
    /// A line longer than the limit; it was read up to its newline and dropped.
    TooLong {
        /// How many bytes the line had (newline excluded).
        len: usize,
    },
    /// The stream ended in the middle of a line (these bytes, no newline).
    Truncated(Vec<u8>),
    /// The stream ended between lines.
    Eof,
}

/// A line splitter that keeps its read-ahead between calls; the source is passed to each call
/// so that a reader and a writer may share one stream.
pub struct LineReader {
    max: usize,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

const CHUNK: usize = 64 * 1024;

impl LineReader {
    /// A reader that refuses lines longer than `max` bytes.
    pub fn new(max: usize) -> LineReader {
        LineReader {
            max,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// The next line from `src`. Interrupted reads are retried; other errors are returned
    /// (the partial line is kept and completed by a later call).
    pub fn next(&mut self, src: &mut impl Read) -> io::Result<Line> {
        let mut line: Vec<u8> = Vec::new();
        let mut len = 0usize;
        loop {
            if self.start < self.end {
                let avail = &self.buf[self.start..self.end];
                let (piece, found) = match avail.iter().position(|&b| b == b'\n') {
                    Some(i) => (&avail[..i], true),
                    None => (avail, false),
                };
                len += piece.len();
                if len <= self.max {
                    line.extend_from_slice(piece);
                } else {
                    // Drop what was kept: the line is answered by its length only.
                    line = Vec::new();
                }
                self.start += piece.len() + usize::from(found);
                if found {
                    if len > self.max {
                        return Ok(Line::TooLong { len });
                    }
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Line::Complete(line));
                }
            }
            self.start = 0;
            self.end = 0;
            let n = match src.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Keep the partial line for the next call: it is still in flight.
                    self.pushback(&line, len);
                    return Err(e);
                }
            };
            if n == 0 {
                return Ok(if len == 0 {
                    Line::Eof
                } else if len > self.max {
                    Line::TooLong { len }
                } else {
                    Line::Truncated(line)
                });
            }
            self.end = n;
        }
    }

    /// Puts a partial line back in front of the buffer after a read error (only lines under
    /// the limit are kept; an oversized partial line is dropped, its tail still gets drained).
    fn pushback(&mut self, line: &[u8], len: usize) {
        if len == 0 || len > self.max {
            return;
        }
        let mut buf = line.to_vec();
        buf.extend_from_slice(&self.buf[self.start..self.end]);
        if buf.len() < CHUNK {
            buf.resize(CHUNK, 0);
        }
        self.end = line.len() + (self.end - self.start);
        self.start = 0;
        self.buf = buf;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers its data in small pieces, to cross buffer boundaries.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn splits_limits_and_recovers() {
        let mut data = b"one\r\ntwo\n".to_vec();
        data.extend(vec![b'x'; 100]);
        data.extend(b"\nthree\npartial");
        for step in [1, 3, 7, 1000] {
            let mut r = LineReader::new(10);
            let mut src = Trickle(&data, step);
            assert_eq!(r.next(&mut src).unwrap(), Line::Complete(b"one".to_vec()));
            assert_eq!(r.next(&mut src).unwrap(), Line::Complete(b"two".to_vec()));
            assert_eq!(r.next(&mut src).unwrap(), Line::TooLong { len: 100 });
            assert_eq!(r.next(&mut src).unwrap(), Line::Complete(b"three".to_vec()));
            assert_eq!(
                r.next(&mut src).unwrap(),
                Line::Truncated(b"partial".to_vec())
            );
            assert_eq!(r.next(&mut src).unwrap(), Line::Eof);
        }
    }

    #[test]
    fn oversized_at_eof_and_exact_limit() {
        let mut r = LineReader::new(4);
        let mut src = Trickle(b"abcd\nabcdef", 2);
        assert_eq!(r.next(&mut src).unwrap(), Line::Complete(b"abcd".to_vec()));
        assert_eq!(r.next(&mut src).unwrap(), Line::TooLong { len: 6 });
        assert_eq!(r.next(&mut src).unwrap(), Line::Eof);
    }
}
