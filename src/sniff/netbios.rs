//! NetBIOS name service (RFC 1002 section 4.2) over UDP.
//!
//! The header is DNS-shaped; what sets NBNS apart is its opcodes (query,
//! registration, release, WACK, refresh, multi-homed registration), its
//! reserved flag bits being clear, its section counts (a request carries
//! one question and at most one additional record; a response one answer
//! and nothing else), and above all its names: a 32-byte first-level
//! encoded NetBIOS name (every byte `A`-`P`) with an optional scope, of
//! type NB (0x20) or NBSTAT (0x21) and class IN.

use super::cursor::Cursor;
use super::smb::nb_name;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The NBNS detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Nbns,
    tcp: false,
    udp: true,
    detect,
}];

const OPCODES: &[(u16, &[u8])] = &[
    (0, b"query"),
    (5, b"registration"),
    (6, b"release"),
    (7, b"wack"),
    (8, b"refresh"),
    (9, b"refresh"),
    (15, b"multihomed-registration"),
];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, request) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    match packet(side, request) {
        Some(m) => Sniff::Match(m),
        None => Sniff::NotThis,
    }
}

fn packet(buf: &[u8], request: bool) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let (_id, flags, qd, an, ns, ar) = (
        c.be16()?,
        c.be16()?,
        c.be16()?,
        c.be16()?,
        c.be16()?,
        c.be16()?,
    );
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let name = OPCODES.iter().find(|(o, _)| *o == opcode)?.1;
    if flags & 0x0060 != 0 || response == request || ns != 0 {
        return None;
    }
    let counts_ok = if request {
        qd == 1 && an == 0 && ar <= 1 && (opcode == 0) == (ar == 0)
    } else {
        qd == 0 && an == 1 && ar == 0
    };
    if !counts_ok {
        return None;
    }
    if !nb_name(&mut c)? {
        return None;
    }
    let (rtype, class) = (c.be16()?, c.be16()?);
    if !matches!(rtype, 0x20 | 0x21 | 0x0a) || class != 1 {
        return None;
    }
    if response {
        let (_ttl, rdlen) = (c.be32()?, c.be16()?);
        if usize::from(rdlen) != c.remaining() {
            return None;
        }
    } else if ar == 1 {
        // The additional record names the question by pointer (0xC00C).
        if c.be16()? != 0xc00c {
            return None;
        }
    } else if c.remaining() != 0 {
        return None;
    }
    Some(Meta {
        method: Some(name),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "netbios_tests.rs"]
mod tests;
