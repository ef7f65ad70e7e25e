//! LDAP (RFC 4511) over TCP, and connectionless LDAP over UDP: one BER
//! `LDAPMessage` at the start of a side, plus the BER reader Kerberos uses.
//!
//! A match needs a SEQUENCE with a definite length, a non-negative
//! messageID INTEGER of 1 to 4 bytes (never 0 from the initiator), a
//! protocolOp whose APPLICATION tag is a request (initiator) or a response
//! (responder), the op's first fields of the right types (a bind's version
//! 1-3 and DN, a search's base, scope and deref, a result's code and
//! matched DN, an extended request's name) and, once the whole message is
//! in the sample, lengths that add up exactly. The operation is reported as
//! the method, a bind's version as the version.

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The LDAP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Ldap,
    tcp: true,
    udp: true,
    detect,
}];

/// Largest first message considered (a bind with a Kerberos token is a few KB).
const MAX_MESSAGE: usize = 256 * 1024;

/// A BER tag-length header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tlv {
    /// Cut short.
    Short,
    /// Not definite-length BER with a low tag number.
    Bad,
    /// Tag and content length.
    Head(u8, usize),
}

/// Reads a BER identifier and definite length.
pub(super) fn tlv(c: &mut Cursor<'_>) -> Tlv {
    let Some(tag) = c.u8() else { return Tlv::Short };
    if tag & 0x1f == 0x1f {
        return Tlv::Bad;
    }
    let Some(first) = c.u8() else {
        return Tlv::Short;
    };
    if first < 0x80 {
        return Tlv::Head(tag, usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if !(1..=4).contains(&n) {
        return Tlv::Bad;
    }
    let mut len = 0usize;
    for _ in 0..n {
        let Some(b) = c.u8() else { return Tlv::Short };
        len = len << 8 | usize::from(b);
    }
    Tlv::Head(tag, len)
}

/// Expects a TLV with tag `want` and a length in `lens`; `Ok(content)`,
/// `Err(Sniff)` for the caller to return: NeedMore when the content is
/// cut short and `whole` is false.
pub(super) fn expect<'a, T>(
    c: &mut Cursor<'a>,
    want: u8,
    lens: std::ops::RangeInclusive<usize>,
    whole: bool,
) -> Result<&'a [u8], Sniff<T>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    match tlv(c) {
        Tlv::Short => Err(short),
        Tlv::Bad => Err(Sniff::NotThis),
        Tlv::Head(t, n) if t != want || !lens.contains(&n) => Err(Sniff::NotThis),
        Tlv::Head(_, n) => match c.take(n) {
            Some(v) => Ok(v),
            None => Err(short),
        },
    }
}

/// Small non-negative INTEGER content.
pub(super) fn small_int(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 4 || v.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)))
}

const REQUESTS: &[(u8, &[u8])] = &[
    (0x60, b"bind"),
    (0x42, b"unbind"),
    (0x63, b"search"),
    (0x66, b"modify"),
    (0x68, b"add"),
    (0x4a, b"delete"),
    (0x6c, b"modify-dn"),
    (0x6e, b"compare"),
    (0x50, b"abandon"),
    (0x77, b"extended"),
];
const RESPONSES: &[(u8, &[u8])] = &[
    (0x61, b"bind-response"),
    (0x64, b"search-entry"),
    (0x65, b"search-done"),
    (0x73, b"search-reference"),
    (0x67, b"modify-response"),
    (0x69, b"add-response"),
    (0x6b, b"delete-response"),
    (0x6d, b"modify-dn-response"),
    (0x6f, b"compare-response"),
    (0x78, b"extended-response"),
    (0x79, b"intermediate"),
];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return message(input.client, true, input.complete);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    message(input.server, false, input.complete)
}

fn message(buf: &[u8], request: bool, complete: bool) -> Sniff<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let len = match tlv(&mut c) {
        Tlv::Short if buf.first().is_none_or(|&b| b == 0x30) => return Sniff::NeedMore,
        Tlv::Head(0x30, n) if (5..=MAX_MESSAGE).contains(&n) => n,
        _ => return Sniff::NotThis,
    };
    let whole = c.remaining() >= len;
    let body = c.rest().get(..len).unwrap_or(c.rest());
    let mut b = Cursor::new(body);
    let id = match expect(&mut b, 0x02, 1..=4, whole) {
        Ok(v) => v,
        Err(e) => return e,
    };
    match small_int(id) {
        Some(0) if request => return Sniff::NotThis,
        Some(_) => {}
        None if id.len() < 4 && !whole && b.remaining() == 0 => return Sniff::NeedMore,
        None => return Sniff::NotThis,
    }
    let table = if request { REQUESTS } else { RESPONSES };
    let op_start = b;
    let (tag, op_len) = match tlv(&mut b) {
        Tlv::Short if whole => return Sniff::NotThis,
        Tlv::Short => {
            let tag_ok = op_start
                .rest()
                .first()
                .is_none_or(|t| table.iter().any(|(x, _)| x == t));
            return if tag_ok {
                Sniff::NeedMore
            } else {
                Sniff::NotThis
            };
        }
        Tlv::Bad => return Sniff::NotThis,
        Tlv::Head(t, n) => (t, n),
    };
    let Some(name) = table.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n) else {
        return Sniff::NotThis;
    };
    let op_whole = b.remaining() >= op_len;
    if whole && !op_whole {
        return Sniff::NotThis;
    }
    let op = b.rest().get(..op_len).unwrap_or(b.rest());
    let after = b.rest().get(op_len..).unwrap_or_default();
    if whole && !after.is_empty() {
        // Only controls ([0] constructed) may follow, filling the message.
        let mut a = Cursor::new(after);
        match tlv(&mut a) {
            Tlv::Head(0xa0, n) if n == a.remaining() => {}
            _ => return Sniff::NotThis,
        }
    }
    let mut meta = Meta {
        method: Some(name),
        ..Meta::default()
    };
    match fields(tag, op, op_len, op_whole, &mut meta) {
        Sniff::Match(()) => Sniff::Match(meta),
        Sniff::NeedMore if complete => Sniff::Match(meta),
        Sniff::NeedMore => Sniff::NeedMore,
        Sniff::NotThis => Sniff::NotThis,
    }
}

/// Checks the first fields of an operation.
fn fields(tag: u8, op: &[u8], op_len: usize, whole: bool, meta: &mut Meta<'_>) -> Sniff<()> {
    let mut c = Cursor::new(op);
    let r = match tag {
        0x42 => {
            return if op_len == 0 {
                Sniff::Match(())
            } else {
                Sniff::NotThis
            }
        }
        0x50 | 0x4a => {
            return if (1..=MAX_MESSAGE).contains(&op_len) {
                Sniff::Match(())
            } else {
                Sniff::NotThis
            }
        }
        0x60 => expect(&mut c, 0x02, 1..=1, whole).and_then(|v| match small_int(v) {
            Some(n @ 1..=3) => {
                meta.version = Some(n);
                expect(&mut c, 0x04, 0..=MAX_MESSAGE, whole)
            }
            _ => Err(Sniff::NotThis),
        }),
        0x63 => expect(&mut c, 0x04, 0..=MAX_MESSAGE, whole)
            .and_then(|_| expect(&mut c, 0x0a, 1..=1, whole))
            .and_then(|s| enum_le(s, 3))
            .and_then(|_| expect(&mut c, 0x0a, 1..=1, whole))
            .and_then(|d| enum_le(d, 3)),
        0x77 => expect(&mut c, 0x80, 1..=256, whole),
        0x64 => expect(&mut c, 0x04, 0..=MAX_MESSAGE, whole),
        0x61 | 0x65 | 0x67 | 0x69 | 0x6b | 0x6d | 0x6f | 0x78 => expect(&mut c, 0x0a, 1..=2, whole)
            .and_then(|code| small_int(code).map(|_| code).ok_or(Sniff::NotThis))
            .and_then(|_| expect(&mut c, 0x04, 0..=MAX_MESSAGE, whole)),
        _ => Ok(op),
    };
    match r {
        // The fields read so far are right (the rest may still be coming).
        Ok(_) => Sniff::Match(()),
        Err(Sniff::NeedMore) => Sniff::NeedMore,
        Err(_) => Sniff::NotThis,
    }
}

fn enum_le(v: &[u8], max: u8) -> Result<&[u8], Sniff<()>> {
    match v.first() {
        Some(&n) if n <= max => Ok(v),
        None => Err(Sniff::NeedMore),
        _ => Err(Sniff::NotThis),
    }
}

#[cfg(test)]
#[path = "ldap_tests.rs"]
mod tests;
