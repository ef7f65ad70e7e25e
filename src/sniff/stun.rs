//! STUN and TURN (RFC 5389 / 8489, RFC 5766 / 8656, RFC 6062) over UDP and
//! TCP, and classic STUN (RFC 3489) over UDP.
//!
//! A message matches with a 20-byte header whose two top bits are zero, a
//! known method and class (requests and indications from the initiator,
//! responses from the responder), a length that is a multiple of 4 and,
//! for RFC 5389, the magic cookie `0x2112A442`. The attributes must then
//! tile the body exactly (type, length, value padded to 4 bytes). Classic
//! STUN has no cookie, so it is only accepted over UDP with a binding or
//! shared-secret message type, RFC 3489 attribute types, a datagram that is
//! exactly the message, and a transaction id that looks random. The
//! SOFTWARE attribute, when present, is the metadata's software.

use super::cursor::{at, be16_at, be32_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, Transport, SAMPLE_MAX};

/// The STUN detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Stun,
    tcp: true,
    udp: true,
    detect,
}];

const HEADER: usize = 20;
const COOKIE: u32 = 0x2112_a442;
const COOKIE_BYTES: [u8; 4] = COOKIE.to_be_bytes();
const ATTR_SOFTWARE: u16 = 0x8022;
/// Largest message accepted (STUN over TCP allows 64 KiB; real ones are small).
const MAX_LEN: usize = 4096;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_initiator) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    let udp = input.transport == Transport::Udp;
    let whole = udp || input.complete || side.len() >= SAMPLE_MAX;
    message(side, from_initiator, udp, whole)
}

/// `whole` says no more bytes of this side will come.
fn message(buf: &[u8], from_initiator: bool, udp: bool, whole: bool) -> Sniff<Meta<'_>> {
    let more = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    match at(buf, 0) {
        Some(b) if b < 0x40 => {}
        Some(_) => return Sniff::NotThis,
        None => return more,
    }
    let Some(kind) = be16_at(buf, 0) else {
        return more;
    };
    let Some(method) = method_name(kind, from_initiator) else {
        return Sniff::NotThis;
    };
    let Some(len) = be16_at(buf, 2) else {
        return more;
    };
    let len = usize::from(len);
    if len % 4 != 0 || len > MAX_LEN {
        return Sniff::NotThis;
    }
    // The cookie, checked byte by byte as it arrives.
    let cookie = buf.get(4..8.min(buf.len())).unwrap_or_default();
    let modern = COOKIE_BYTES.starts_with(cookie);
    if !(modern || (udp && classic_type(kind))) {
        return Sniff::NotThis;
    }
    if buf.len() < 8 {
        return more;
    }
    let Some(body) = buf.get(HEADER..HEADER + len) else {
        return more;
    };
    if udp && buf.len() != HEADER + len {
        return Sniff::NotThis;
    }
    let modern = be32_at(buf, 4) == Some(COOKIE);
    if !modern && !random_transaction(buf.get(4..HEADER).unwrap_or_default()) {
        return Sniff::NotThis;
    }
    match attributes(body, modern) {
        Some(software) => Sniff::Match(Meta {
            method: Some(method),
            software,
            ..Meta::default()
        }),
        None => Sniff::NotThis,
    }
}

/// The method of a message type, if the class fits the sender.
fn method_name(kind: u16, from_initiator: bool) -> Option<&'static [u8]> {
    let method = (kind & 0x000f) | ((kind & 0x00e0) >> 1) | ((kind & 0x3e00) >> 2);
    let class = ((kind & 0x0010) >> 4) | ((kind & 0x0100) >> 7);
    // 0 request, 1 indication, 2 success response, 3 error response.
    let class_ok = match class {
        0 => from_initiator,
        1 => true,
        _ => !from_initiator,
    };
    let (name, indication): (&'static [u8], bool) = match method {
        0x001 => (b"binding", true),
        0x002 => (b"shared-secret", false),
        0x003 => (b"allocate", false),
        0x004 => (b"refresh", false),
        0x006 => (b"send", true),
        0x007 => (b"data", true),
        0x008 => (b"create-permission", false),
        0x009 => (b"channel-bind", false),
        0x00a => (b"connect", false),
        0x00b => (b"connection-bind", false),
        0x00c => (b"connection-attempt", true),
        _ => return None,
    };
    // Send and Data only exist as indications.
    let only_indication = matches!(method, 0x006 | 0x007);
    let ok = class_ok && (class != 1 || indication) && (!only_indication || class == 1);
    ok.then_some(name)
}

/// RFC 3489 message types: binding and shared secret requests/responses.
fn classic_type(kind: u16) -> bool {
    matches!(kind, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112)
}

/// A classic transaction id is 128 random bits.
fn random_transaction(id: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in id {
        if let Some(s) = seen.get_mut(usize::from(b)) {
            distinct += usize::from(!*s);
            *s = true;
        }
    }
    distinct >= 8
}

/// Walks the attributes; `None` when they do not tile the body. Returns
/// the SOFTWARE value, if any.
fn attributes(body: &[u8], modern: bool) -> Option<Option<&[u8]>> {
    let mut c = Cursor::new(body);
    let mut software = None;
    while c.remaining() > 0 {
        let kind = c.be16()?;
        let len = usize::from(c.be16()?);
        let value = c.take(len)?;
        let pad = (4 - len % 4) % 4;
        // The last attribute's padding may be left out by old stacks.
        if c.skip(pad).is_none() && c.remaining() != 0 {
            return None;
        }
        let known_classic = matches!(kind, 0x0001..=0x000b | 0x0020 | 0x8000..=0xffff);
        if kind == 0 || (!modern && !known_classic) {
            return None;
        }
        if kind == ATTR_SOFTWARE && value.iter().all(|&b| b >= 0x20 || b == 0) {
            let text = value.split(|&b| b == 0).next().unwrap_or_default();
            software = (!text.is_empty()).then_some(text);
        }
    }
    Some(software)
}

#[cfg(test)]
#[path = "stun_tests.rs"]
mod tests;
