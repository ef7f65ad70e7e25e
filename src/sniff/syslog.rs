//! Syslog over UDP (RFC 5426) and TCP (RFC 6587, both octet-counting and
//! LF-terminated framing), with BSD (RFC 3164) or RFC 5424 messages.
//!
//! A message opens with `<PRI>`, PRI 0..=191 without leading zeros, and then
//! one of:
//! - RFC 5424: version `1`, a space, and a `-` or full-date timestamp;
//! - RFC 3164: a `Mmm dd hh:mm:ss ` or ISO 8601 (`YYYY-MM-DDT`) timestamp;
//! - a bare BSD message (as Python's `SysLogHandler` sends): at least 4
//!   bytes of text with no control byte but TAB before the end, LF or NUL.
//!
//! On TCP an octet count (`123 <PRI>...`) may precede the message. Only the
//! initiator sends syslog: a responder that speaks rules it out.

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, Transport, SAMPLE_MAX};

/// The syslog detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Syslog,
    tcp: true,
    udp: true,
    detect,
}];

const MONTHS: &[&[u8]] = &[
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
/// How much text a bare BSD message needs before it is taken as syslog.
const MIN_TEXT: usize = 4;
/// How far a TCP message is read for its header (longer lines are cut).
const MAX_HEADER: usize = 256;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.server.is_empty() {
        return Sniff::NotThis;
    }
    let buf = input.client;
    if buf.is_empty() {
        return Sniff::NeedMore;
    }
    let whole = input.transport == Transport::Udp || input.complete || buf.len() >= SAMPLE_MAX;
    let msg = if input.transport == Transport::Tcp {
        match octet_count(buf) {
            Counted::Message(m) => m,
            Counted::Plain => buf,
            Counted::Partial => {
                return if whole {
                    Sniff::NotThis
                } else {
                    Sniff::NeedMore
                }
            }
            Counted::Bad => return Sniff::NotThis,
        }
    } else {
        buf
    };
    match message(msg, whole || msg.len() >= MAX_HEADER) {
        Some(Some(meta)) => Sniff::Match(meta),
        Some(None) => Sniff::NotThis,
        None => Sniff::NeedMore,
    }
}

enum Counted<'a> {
    /// `LEN SP` then the message (possibly cut short).
    Message(&'a [u8]),
    /// No octet count: the message starts right away.
    Plain,
    /// Digits so far.
    Partial,
    Bad,
}

/// RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN without
/// leading zero.
fn octet_count(buf: &[u8]) -> Counted<'_> {
    if at(buf, 0) == Some(b'<') {
        return Counted::Plain;
    }
    let digits = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if at(buf, 0) == Some(b'0') || digits > 5 || (digits == 0 && !buf.is_empty()) {
        return Counted::Bad;
    }
    match at(buf, digits) {
        None => Counted::Partial,
        Some(b' ') => match buf.get(digits + 1..) {
            Some(m) if !m.is_empty() => Counted::Message(m),
            _ => Counted::Partial,
        },
        Some(_) => Counted::Bad,
    }
}

/// `Some(Some(meta))` syslog, `Some(None)` not syslog, `None` need more.
/// `whole` says no more bytes will come.
fn message(msg: &[u8], whole: bool) -> Option<Option<Meta<'_>>> {
    let mut c = Cursor::new(msg);
    if c.u8()? != b'<' {
        return Some(None);
    }
    let mut pri: u32 = 0;
    let mut digits = 0;
    loop {
        let Some(b) = c.u8() else {
            return if whole { Some(None) } else { None };
        };
        match b {
            b'0'..=b'9' if digits < 3 && !(digits == 1 && pri == 0) => {
                pri = pri * 10 + u32::from(b - b'0');
                digits += 1;
            }
            b'>' if digits > 0 && pri <= 191 => break,
            _ => return Some(None),
        }
    }
    let rest = c.rest();
    if let Some(meta) = rfc5424(rest, whole) {
        return Some(meta);
    }
    if let Some(meta) = rfc3164(rest, whole) {
        return Some(meta);
    }
    bare(rest, whole)
}

/// `1 SP (- | YYYY-MM-DDT...) SP HOSTNAME SP APP-NAME`.
fn rfc5424(rest: &[u8], whole: bool) -> Option<Option<Meta<'_>>> {
    let after = rest.strip_prefix(b"1 ")?;
    let date_ok = after.starts_with(b"- ") || iso_date(after);
    // Not (yet) a 5424 header, or its host and app name still to come:
    // the other forms decide.
    if !date_ok || (!whole && after.iter().filter(|&&b| b == b' ').count() < 3) {
        return None;
    }
    let mut fields = after.split(|&b| b == b' ').skip(1);
    let host = fields
        .next()
        .filter(|h| !h.is_empty() && *h != b"-" && printable(h));
    let app = fields
        .next()
        .filter(|h| !h.is_empty() && *h != b"-" && printable(h));
    Some(Some(Meta {
        host,
        software: app,
        version: Some(1),
        ..Meta::default()
    }))
}

/// `Mmm dd hh:mm:ss HOSTNAME` or an ISO 8601 timestamp.
fn rfc3164(rest: &[u8], whole: bool) -> Option<Option<Meta<'_>>> {
    let stamp_len = if iso_date(rest) {
        rest.iter().position(|&b| b == b' ')?
    } else {
        let month = rest.get(..3)?;
        if !MONTHS.contains(&month) {
            return None;
        }
        let t = rest.get(3..16)?;
        let day_ok = t.first() == Some(&b' ')
            && matches!(t.get(1), Some(b' ' | b'0'..=b'3'))
            && t.get(2).is_some_and(u8::is_ascii_digit)
            && t.get(3) == Some(&b' ');
        if !day_ok || !clock(t.get(4..12)?) || t.get(12) != Some(&b' ') {
            return Some(None);
        }
        15
    };
    let after = rest.get(stamp_len + 1..)?;
    if !whole && !after.contains(&b' ') {
        return None;
    }
    let host = after
        .split(|&b| b == b' ')
        .next()
        .filter(|h| !h.is_empty() && printable(h));
    Some(Some(Meta {
        host,
        version: Some(0),
        ..Meta::default()
    }))
}

/// `YYYY-MM-DDT`.
fn iso_date(s: &[u8]) -> bool {
    let digits =
        |r: std::ops::Range<usize>| s.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && at(s, 4) == Some(b'-')
        && digits(5..7)
        && at(s, 7) == Some(b'-')
        && digits(8..10)
        && at(s, 10) == Some(b'T')
}

/// `hh:mm:ss`.
fn clock(t: &[u8]) -> bool {
    t.len() == 8
        && t.iter().enumerate().all(|(i, b)| {
            if i % 3 == 2 {
                *b == b':'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// A bare message: printable text up to the end, a LF or a NUL.
fn bare(rest: &[u8], whole: bool) -> Option<Option<Meta<'_>>> {
    let end = rest.iter().position(|&b| b == b'\n' || b == 0);
    let text = rest.get(..end.unwrap_or(rest.len()))?;
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    // UTF-8 (>= 0x80) is allowed; other controls are not.
    if text.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Some(None);
    }
    if end.is_none() && !whole {
        return None;
    }
    Some((text.len() >= MIN_TEXT).then_some(Meta {
        version: Some(0),
        ..Meta::default()
    }))
}

fn printable(s: &[u8]) -> bool {
    s.iter().all(|&b| (0x21..0x7f).contains(&b))
}

#[cfg(test)]
#[path = "syslog_tests.rs"]
mod tests;
