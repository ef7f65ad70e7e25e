//! Kerberos 5 (RFC 4120) KDC exchanges: over UDP one message per datagram,
//! over TCP each message behind a 4-byte big-endian record mark (section
//! 7.2.2) whose reserved top bit is clear.
//!
//! A match needs the APPLICATION tag of a KDC message for the side
//! (AS-REQ 10 / TGS-REQ 12 from the initiator; AS-REP 11, TGS-REP 13 or
//! KRB-ERROR 30 from the responder), a SEQUENCE inside it, `pvno` 5 and a
//! `msg-type` equal to the application tag, each under its context tag. On
//! TCP the record mark must equal the message's encoded length. The realm
//! of a request body is reported as the host.

use super::cursor::{be32_at, Cursor};
use super::ldap::{expect, small_int, tlv, Tlv};
use super::{Detector, Input, Meta, Proto, Sniff, Transport};

/// The Kerberos detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Krb5,
    tcp: true,
    udp: true,
    detect,
}];

/// Largest message accepted (tickets with PACs run to tens of KB).
const MAX_MESSAGE: usize = 1 << 20;

const REQUESTS: &[(u8, &[u8])] = &[(10, b"as-req"), (12, b"tgs-req")];
const REPLIES: &[(u8, &[u8])] = &[(11, b"as-rep"), (13, b"tgs-rep"), (30, b"krb-error")];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, table) = if !input.client.is_empty() {
        (input.client, REQUESTS)
    } else if !input.server.is_empty() {
        (input.server, REPLIES)
    } else {
        return Sniff::NeedMore;
    };
    match input.transport {
        Transport::Udp => message(side, table, Some(side.len())),
        Transport::Tcp => {
            let Some(mark) = be32_at(side, 0) else {
                // Record marks of real messages start 00 00 or 00 01..
                return match side.first() {
                    Some(0) | None => Sniff::NeedMore,
                    Some(_) => Sniff::NotThis,
                };
            };
            let mark = mark as usize;
            if !(16..=MAX_MESSAGE).contains(&mark) {
                return Sniff::NotThis;
            }
            match message(side.get(4..).unwrap_or_default(), table, Some(mark)) {
                Sniff::NeedMore if input.complete => Sniff::NotThis,
                other => other,
            }
        }
    }
}

/// One KDC message. `total` is the length it must have when known.
fn message<'a>(
    buf: &'a [u8],
    table: &[(u8, &'static [u8])],
    total: Option<usize>,
) -> Sniff<Meta<'a>> {
    let mut c = Cursor::new(buf);
    let (tag, len) = match tlv(&mut c) {
        Tlv::Short => {
            return match buf.first() {
                Some(t) if !table.iter().any(|(n, _)| 0x60 | n == *t) => Sniff::NotThis,
                _ => Sniff::NeedMore,
            }
        }
        Tlv::Bad => return Sniff::NotThis,
        Tlv::Head(t, n) => (t, n),
    };
    let Some((number, name)) = table.iter().find(|(n, _)| 0x60 | n == tag).copied() else {
        return Sniff::NotThis;
    };
    let header = buf.len() - c.remaining();
    if total.is_some_and(|t| header + len != t) {
        return Sniff::NotThis;
    }
    let whole = c.remaining() >= len;
    let body = c.rest().get(..len).unwrap_or(c.rest());
    let mut b = Cursor::new(body);
    let request = number == 10 || number == 12;
    // KDC-REQ numbers pvno [1], msg-type [2]; KDC-REP and KRB-ERROR [0], [1].
    let first_ctx = if request { 0xa1 } else { 0xa0 };
    // The SEQUENCE header only: its content may be longer than the sample.
    match tlv(&mut b) {
        Tlv::Short if whole => return Sniff::NotThis,
        Tlv::Short => return Sniff::NeedMore,
        Tlv::Head(0x30, n) if n == b.remaining() || (!whole && n > b.remaining()) => {}
        _ => return Sniff::NotThis,
    }
    let mut s = b;
    for (ctx, want) in [(first_ctx, 5u32), (first_ctx + 1, u32::from(number))] {
        let field = match expect::<Meta<'a>>(&mut s, ctx, 3..=6, whole) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let mut f = Cursor::new(field);
        match expect::<Meta<'a>>(&mut f, 0x02, 1..=4, whole) {
            Ok(v) if v.len() == 1 && small_int(v) == Some(want) => {}
            Ok(v) if v.is_empty() && !whole => return Sniff::NeedMore,
            Ok(_) => return Sniff::NotThis,
            Err(e) => return e,
        }
    }
    Sniff::Match(Meta {
        method: Some(name),
        version: Some(5),
        host: if request { realm(s) } else { None },
        ..Meta::default()
    })
}

/// The realm of a KDC-REQ: skips padata [3], then req-body [4] SEQUENCE
/// { kdc-options [0], cname [1] OPTIONAL, realm [2] GeneralString }.
fn realm(mut s: Cursor<'_>) -> Option<&[u8]> {
    let mut body = None;
    while let Tlv::Head(t, n) = tlv(&mut s) {
        let v = s.take(n)?;
        if t == 0xa4 {
            body = Some(v);
            break;
        }
    }
    let mut b = Cursor::new(body?);
    let Tlv::Head(0x30, n) = tlv(&mut b) else {
        return None;
    };
    let mut r = Cursor::new(b.take(n)?);
    while let Tlv::Head(t, n) = tlv(&mut r) {
        let v = r.take(n)?;
        if t == 0xa2 {
            let mut g = Cursor::new(v);
            let Tlv::Head(0x1b, n) = tlv(&mut g) else {
                return None;
            };
            return g.take(n).filter(|r| !r.is_empty());
        }
    }
    None
}

#[cfg(test)]
#[path = "krb5_tests.rs"]
mod tests;
