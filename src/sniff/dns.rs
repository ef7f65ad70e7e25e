//! DNS messages (RFC 1035) over UDP, and over TCP with the two-byte length
//! prefix (RFC 1035 section 4.2.2, RFC 7766). mDNS and LLMNR share the wire
//! format; the registry names them by their fixed ports after a match.
//!
//! A match needs a header with a valid opcode, sane section counts, at least
//! one record, and every question parsed to its end (labels of at most 63
//! bytes, a name of at most 255, a known class). The initiator's side is
//! tried first; a response alone matches when the initiator was not seen.

use super::cursor::{be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, Transport};

/// The DNS detector (names DNS, mDNS and LLMNR).
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Dns,
    tcp: true,
    udp: true,
    detect,
}];

const HEADER: usize = 12;
const MAX_QUESTIONS: u16 = 16;
const MAX_RECORDS: u16 = 256;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, query) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    match input.transport {
        Transport::Udp => message(side, query, true),
        Transport::Tcp => {
            let Some(len) = be16_at(side, 0) else {
                return Sniff::NeedMore;
            };
            let len = len as usize;
            if len < HEADER {
                return Sniff::NotThis;
            }
            let body = side.get(2..).unwrap_or_default();
            match body.get(..len) {
                Some(msg) => message(msg, query, true),
                None => match message(body, query, false) {
                    Sniff::Match(_) if input.complete => Sniff::Match(Meta::default()),
                    Sniff::NotThis => Sniff::NotThis,
                    _ if input.complete => Sniff::NotThis,
                    _ => Sniff::NeedMore,
                },
            }
        }
    }
}

/// Parses one DNS message. `whole` says `msg` is the entire message.
fn message(msg: &[u8], from_initiator: bool, whole: bool) -> Sniff<Meta<'_>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    // Judge the flags as soon as they are present, so a text protocol
    // read as a length prefix is ruled out without waiting.
    let Some(flags) = be16_at(msg, 2) else {
        return short;
    };
    let is_response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let z = flags & 0x0040 != 0;
    let rcode = flags & 0xf;
    // QUERY, STATUS, NOTIFY, UPDATE, DSO (IQUERY is obsolete, RFC 3425).
    if !matches!(opcode, 0 | 2 | 4 | 5 | 6) || z || rcode > 10 || (!is_response && rcode != 0) {
        return Sniff::NotThis;
    }
    let mut c = Cursor::new(msg);
    let (Some(_id), Some(_flags), Some(qd), Some(an), Some(ns), Some(ar)) =
        (c.be16(), c.be16(), c.be16(), c.be16(), c.be16(), c.be16())
    else {
        return short;
    };
    if qd > MAX_QUESTIONS || an > MAX_RECORDS || ns > MAX_RECORDS || ar > MAX_RECORDS {
        return Sniff::NotThis;
    }
    if qd == 0 && an == 0 && ns == 0 {
        return Sniff::NotThis;
    }
    if !is_response {
        // A query: questions (or an update's zone), no answers except in
        // mDNS known-answer lists and updates.
        if qd == 0 && opcode != 5 {
            return Sniff::NotThis;
        }
    } else if from_initiator && qd == 0 && an == 0 {
        return Sniff::NotThis;
    }
    for _ in 0..qd {
        match question(&mut c) {
            Some(true) => {}
            Some(false) => return Sniff::NotThis,
            None => return short,
        }
    }
    if an + ns + ar > 0 && qd == 0 {
        // An unsolicited response (mDNS announcement): check the first record.
        match record_head(&mut c) {
            Some(true) => {}
            Some(false) => return Sniff::NotThis,
            None => return short,
        }
    }
    Sniff::Match(Meta {
        method: Some(if is_response { b"response" } else { b"query" }),
        ..Meta::default()
    })
}

/// A name; `Some(false)` when malformed, `None` when truncated.
fn name(c: &mut Cursor<'_>) -> Option<bool> {
    let mut total = 0usize;
    loop {
        let len = c.u8()?;
        match len {
            0 => return Some(true),
            1..=63 => {
                let label = c.take(len as usize)?;
                if total == 0 && netbios_encoded(label) {
                    // RFC 1001 first-level encoding: NBNS, not DNS.
                    return Some(false);
                }
                if label.contains(&0) && total == 0 && label.len() > 1 {
                    // NUL bytes inside the first label: binary, not a name.
                    return Some(false);
                }
                total += len as usize + 1;
                if total > 255 {
                    return Some(false);
                }
            }
            0xc0..=0xff => {
                c.u8()?;
                return Some(true);
            }
            _ => return Some(false),
        }
    }
}

/// A 32-byte label of `A`..`P` only: a NetBIOS name (RFC 1001 section 14.1).
fn netbios_encoded(label: &[u8]) -> bool {
    label.len() == 32 && label.iter().all(|b| (b'A'..=b'P').contains(b))
}

fn known_class(class: u16) -> bool {
    // IN, CH, HS, NONE, ANY; mDNS sets the top bit (unicast-response / cache-flush).
    matches!(class & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

fn question(c: &mut Cursor<'_>) -> Option<bool> {
    if !name(c)? {
        return Some(false);
    }
    let qtype = c.be16()?;
    let class = c.be16()?;
    Some(qtype != 0 && known_class(class))
}

fn record_head(c: &mut Cursor<'_>) -> Option<bool> {
    if !name(c)? {
        return Some(false);
    }
    let rtype = c.be16()?;
    let class = c.be16()?;
    let _ttl = c.be32()?;
    let _rdlen = c.be16()?;
    Some(rtype != 0 && known_class(class))
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
