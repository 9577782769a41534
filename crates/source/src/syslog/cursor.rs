//! A position in a message's bytes whose errors carry their column.

use super::SyslogError;

/// Largest PRI value: facility 23, severity 7.
const PRI_MAX: u32 = 191;

pub(super) struct Cursor<'a> {
    pub(super) input: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(input: &'a [u8]) -> Cursor<'a> {
        Cursor { input, at: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.at + ahead).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.at >= self.input.len()
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        &self.input[self.at.min(self.input.len())..]
    }

    /// An error at the current byte.
    pub(super) fn error(&self, expected: &'static str) -> SyslogError {
        self.error_at(self.at, expected)
    }

    pub(super) fn error_at(&self, at: usize, expected: &'static str) -> SyslogError {
        SyslogError { column: at + 1, expected }
    }

    /// Consumes `byte` or fails with `expected`.
    pub(super) fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), SyslogError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Consumes `byte` if it is next.
    pub(super) fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    /// Consumes the bytes up to the first for which `stop` holds.
    pub(super) fn take_until(&mut self, stop: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.at;
        while self.peek().is_some_and(|b| !stop(b)) {
            self.at += 1;
        }
        &self.input[start..self.at]
    }

    /// Exactly `count` decimal digits as a number; an error points at the number's start.
    pub(super) fn digits(
        &mut self,
        count: usize,
        expected: &'static str,
    ) -> Result<u32, SyslogError> {
        let start = self.at;
        let mut value = 0u32;
        for _ in 0..count {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.at += 1;
                }
                _ => return Err(self.error_at(start, expected)),
            }
        }
        Ok(value)
    }

    /// `<PRI>`: returns (facility, severity).
    pub(super) fn pri(&mut self) -> Result<(u8, u8), SyslogError> {
        self.expect(b'<', "'<' starting the priority")?;
        let start = self.at;
        let mut value = 0u32;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if self.at - start == 3 {
                return Err(self.error("'>' after at most 3 priority digits"));
            }
            value = value * 10 + u32::from(b - b'0');
            self.at += 1;
        }
        if self.at == start {
            return Err(self.error("a priority number"));
        }
        if value > PRI_MAX {
            return Err(self.error_at(start, "a priority of at most 191"));
        }
        self.expect(b'>', "'>' after the priority")?;
        Ok(((value / 8) as u8, (value % 8) as u8))
    }
}
