//! A bounds-checked reader over untrusted bytes.
//!
//! Every read checks the remaining length first and returns `None` instead
//! of panicking; [`Cursor::need`] distinguishes "too short so far" from
//! "malformed" for sniffers that must answer NeedMore.

/// A forward-only reader over a byte slice.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }

    /// Bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Number of bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Reads `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.buf.split_first()?;
        self.buf = tail;
        Some(b)
    }

    /// Reads a big-endian u16.
    pub fn be16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// Reads a big-endian 24-bit integer.
    pub fn be24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
    }

    /// Reads a big-endian u32.
    pub fn be32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }

    /// Reads a little-endian u16.
    pub fn le16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    /// Reads a little-endian u32.
    pub fn le32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }

    /// Reads a length-prefixed (u8) vector.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// Reads a length-prefixed (big-endian u16) vector.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.be16()? as usize;
        self.take(n)
    }
}

/// Byte at `i`, or `None`.
pub fn at(buf: &[u8], i: usize) -> Option<u8> {
    buf.get(i).copied()
}

/// Big-endian u16 at `i`, or `None`.
pub fn be16_at(buf: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*buf.get(i)?, *buf.get(i + 1)?]))
}

/// Big-endian u32 at `i`, or `None`.
pub fn be32_at(buf: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *buf.get(i)?,
        *buf.get(i + 1)?,
        *buf.get(i + 2)?,
        *buf.get(i + 3)?,
    ]))
}

/// Little-endian u32 at `i`, or `None`.
pub fn le32_at(buf: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *buf.get(i)?,
        *buf.get(i + 1)?,
        *buf.get(i + 2)?,
        *buf.get(i + 3)?,
    ]))
}

/// Compares a prefix of `buf` with `lit`: `Some(true)` when `buf` starts
/// with `lit`, `Some(false)` when it cannot, `None` when `buf` is a proper
/// prefix of `lit` (more bytes needed).
pub fn prefix(buf: &[u8], lit: &[u8]) -> Option<bool> {
    if buf.len() >= lit.len() {
        Some(buf.starts_with(lit))
    } else if lit.starts_with(buf) {
        None
    } else {
        Some(false)
    }
}

/// Case-insensitive variant of [`prefix`] for ASCII.
pub fn prefix_ci(buf: &[u8], lit: &[u8]) -> Option<bool> {
    let n = buf.len().min(lit.len());
    let (b, l) = (buf.get(..n)?, lit.get(..n)?);
    if !b.eq_ignore_ascii_case(l) {
        Some(false)
    } else if buf.len() >= lit.len() {
        Some(true)
    } else {
        None
    }
}

/// The first line of `buf` (without CR LF), if a LF was seen within `max`
/// bytes. `Err(())` if `max` bytes passed without a LF.
#[allow(clippy::result_unit_err)]
pub fn first_line(buf: &[u8], max: usize) -> Result<Option<&[u8]>, ()> {
    let window = buf.get(..buf.len().min(max)).unwrap_or(buf);
    match memchr_lf(window) {
        Some(i) => {
            let line = window.get(..i).unwrap_or(window);
            Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
        }
        None if buf.len() >= max => Err(()),
        None => Ok(None),
    }
}

fn memchr_lf(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut c = Cursor::new(&[1, 2, 3]);
        assert_eq!(c.be16(), Some(0x0102));
        assert_eq!(c.be16(), None);
        assert_eq!(c.u8(), Some(3));
        assert_eq!(c.u8(), None);
    }

    #[test]
    fn prefix_three_way() {
        assert_eq!(prefix(b"GE", b"GET "), None);
        assert_eq!(prefix(b"GET /", b"GET "), Some(true));
        assert_eq!(prefix(b"PUT", b"GET "), Some(false));
        assert_eq!(prefix_ci(b"ehlo x", b"EHLO "), Some(true));
    }

    #[test]
    fn first_line_bounds() {
        assert_eq!(first_line(b"abc\r\ndef", 100), Ok(Some(&b"abc"[..])));
        assert_eq!(first_line(b"abc", 100), Ok(None));
        assert_eq!(first_line(b"abcdef", 4), Err(()));
    }
}
