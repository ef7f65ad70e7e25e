//! AMQP 0-9-1 (and 0-8 / 0-9) and AMQP 1.0: the protocol header.
//!
//! Every AMQP client opens with 8 bytes: `AMQP`, then either `0 0 9 1`
//! (0-9-1), `1 1 0 9` (0-9) or `1 1 8 0` / `1 1 0 8` (0-8), or a 1.0 header
//! `id 1 0 0` with protocol id 0 (AMQP), 2 (TLS) or 3 (SASL). A 1.0 header
//! is followed by frames only once the peer answered; a 0-9-1 client sends
//! nothing more until the server's Connection.Start.
//!
//! A broker answers 1.0 with its own header, and 0-9-1 with a method frame
//! (type 1, channel 0) carrying Connection.Start (class 10, method 10,
//! version 0.9); a broker that refuses the version answers with the header
//! it supports. Either answer seen alone matches; the broker's `product`
//! property, when present in the first frame, is the software.
//! `version` is the four bytes after `AMQP`, big-endian (0x0000_0901 for
//! 0-9-1, 0x0001_0000 for 1.0, 0x0301_0000 for 1.0 SASL).

use super::cursor::{be32_at, prefix, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The AMQP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Amqp,
    tcp: true,
    udp: false,
    detect,
}];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let server = input.server;
    if input.client.is_empty() {
        if server.is_empty() {
            return Sniff::NeedMore;
        }
        return match header(server) {
            Sniff::NotThis => start(server),
            other => other,
        };
    }
    let answered = !server.is_empty();
    let client = match header(input.client) {
        Sniff::NeedMore if answered => return Sniff::NotThis,
        Sniff::Match(m) => m,
        other => return other,
    };
    if !answered {
        return Sniff::Match(client);
    }
    // The broker's answer: a protocol header, or Connection.Start.
    match (header(server), start(server)) {
        (Sniff::Match(_), _) => Sniff::Match(client),
        (_, Sniff::Match(m)) => Sniff::Match(Meta {
            software: m.software,
            ..client
        }),
        (Sniff::NotThis, Sniff::NotThis) => Sniff::NotThis,
        _ => Sniff::Match(client),
    }
}

/// The 8-byte protocol header.
fn header(buf: &[u8]) -> Sniff<Meta<'_>> {
    match prefix(buf, b"AMQP") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let tail = buf.get(4..8.min(buf.len())).unwrap_or_default();
    const KNOWN: &[&[u8]] = &[
        b"\x00\x00\x09\x01",
        b"\x01\x01\x00\x09",
        b"\x01\x01\x09\x01",
        b"\x01\x01\x08\x00",
        b"\x01\x01\x00\x08",
        b"\x00\x01\x00\x00",
        b"\x02\x01\x00\x00",
        b"\x03\x01\x00\x00",
    ];
    if !KNOWN.iter().any(|k| k.starts_with(tail)) {
        return Sniff::NotThis;
    }
    match be32_at(buf, 4) {
        None => Sniff::NeedMore,
        Some(v) => Sniff::Match(Meta {
            version: Some(v),
            ..Meta::default()
        }),
    }
}

/// A 0-9-1 method frame carrying Connection.Start.
fn start(buf: &[u8]) -> Sniff<Meta<'_>> {
    const HEAD: &[u8] = b"\x01\x00\x00";
    match prefix(buf, HEAD) {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let mut c = Cursor::new(buf);
    c.skip(3);
    let Some(size) = c.be32() else {
        return Sniff::NeedMore;
    };
    if !(14..=131_072).contains(&size) {
        return Sniff::NotThis;
    }
    let frame = c.rest();
    match prefix(frame, b"\x00\x0a\x00\x0a\x00\x09") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let body = frame
        .get(6..(size as usize).min(frame.len()))
        .unwrap_or_default();
    Sniff::Match(Meta {
        version: Some(0x0000_0901),
        software: product(body),
        ..Meta::default()
    })
}

/// The `product` long string of the server-properties field table.
fn product(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(body);
    let len = c.be32()? as usize;
    let mut t = Cursor::new(c.take(len).unwrap_or(c.rest()));
    for _ in 0..32 {
        let name = t.vec8()?;
        let kind = t.u8()?;
        let value = match kind {
            b'S' => {
                let n = t.be32()? as usize;
                t.take(n)?
            }
            b'F' => {
                let n = t.be32()? as usize;
                t.skip(n)?;
                continue;
            }
            b't' => {
                t.skip(1)?;
                continue;
            }
            _ => return None,
        };
        if name == b"product" {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
#[path = "amqp_tests.rs"]
mod tests;
