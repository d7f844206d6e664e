//! A writer that counts what passes through it, for the size an export reports.

use std::io::{self, Write};

pub struct Counting<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<'a, W: Write> Counting<'a, W> {
    pub fn new(inner: &'a mut W) -> Self {
        Counting { inner, bytes: 0 }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
