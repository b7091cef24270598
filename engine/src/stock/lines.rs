//! A reader that drops blank lines and turns CRLF into LF before the `csv`
//! crate sees the input, and maps line numbers back to the original file.
//!
//! The `csv` crate skips blank lines itself but then reports the position of
//! the next record at the first skipped line, and it miscounts CRLF lines;
//! errors must name the right line, so the input is normalised here first.

use std::io::{self, BufRead, Read};

/// Serves the non-blank lines of `inner`, each ending in `\n` (not `\r\n`).
pub(crate) struct BlankLineFilter<R> {
    inner: R,
    line: Vec<u8>,
    pos: usize,
    /// Lines read from `inner`.
    read: u64,
    /// Lines served.
    served: u64,
    /// `(first served line, original minus served)`, ascending, one entry
    /// per change of the offset.
    offsets: Vec<(u64, u64)>,
}

impl<R: BufRead> BlankLineFilter<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> BlankLineFilter<R> {
        BlankLineFilter {
            inner,
            line: Vec::new(),
            pos: 0,
            read: 0,
            served: 0,
            offsets: Vec::new(),
        }
    }

    /// The line of the original input that served line `served_line` (1-based) came from.
    pub(crate) fn original_line(&self, served_line: u64) -> u64 {
        let i = self
            .offsets
            .partition_point(|&(start, _)| start <= served_line);
        served_line + if i == 0 { 0 } else { self.offsets[i - 1].1 }
    }

    /// Loads the next non-blank line; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        loop {
            self.line.clear();
            self.pos = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(false);
            }
            self.read += 1;
            if self.line.trim_ascii().is_empty() {
                continue;
            }
            if self.line.ends_with(b"\r\n") {
                self.line.truncate(self.line.len() - 2);
                self.line.push(b'\n');
            }
            self.served += 1;
            let offset = self.read - self.served;
            if self.offsets.last().map_or(0, |&(_, o)| o) != offset {
                self.offsets.push((self.served, offset));
            }
            return Ok(true);
        }
    }
}

impl<R: BufRead> Read for BlankLineFilter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.line.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.line.len() - self.pos);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_blank_lines_and_maps_line_numbers() {
        let mut f = BlankLineFilter::new("h\r\na\r\n\r\n  \nb\n\nc".as_bytes());
        let mut out = String::new();
        f.read_to_string(&mut out).unwrap();
        assert_eq!(out, "h\na\nb\nc");
        assert_eq!([1, 2, 3, 4].map(|l| f.original_line(l)), [1, 2, 5, 7]);
    }
}
