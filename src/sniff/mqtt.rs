//! MQTT 3.1, 3.1.1 and 5.0: the client's CONNECT packet.
//!
//! A match needs the fixed header `0x10` (CONNECT, flags zero), a remaining
//! length (1 to 4 byte varint) of at least 12, the protocol name and level
//! pair `MQIsdp`/3 or `MQTT`/4 or `MQTT`/5, connect flags with the reserved
//! bit clear and a consistent will QoS/retain, then (5.0) a property block
//! that fits, and a client identifier whose length fits the packet (a
//! property block or identifier that overruns the packet is a malformed
//! CONNECT, named MQTT all the same: the bytes before it are MQTT's alone).
//! When the broker answered, its first byte must be CONNACK (`0x20`). A
//! broker never speaks first, so server bytes with an empty client side
//! rule MQTT out, except a whole CONNACK, which waits for the client.
//!
//! A session whose CONNECT was not seen (a flow picked up mid-stream, or a
//! capture that lost it) is named from a request and its answer: the
//! client's first packet a well-formed PINGREQ, SUBSCRIBE, UNSUBSCRIBE or
//! PUBLISH (QoS 1 or 2), and the broker's first packet its answer (PINGRESP;
//! SUBACK, UNSUBACK, PUBACK or PUBREC with the same packet identifier), or
//! the broker's first packet a whole CONNACK followed by any of those
//! client packets. A lone request is never enough.

use super::cursor::{at, prefix, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The MQTT detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Mqtt,
    tcp: true,
    udp: false,
    detect,
}];

const CONNECT: u8 = 0x10;
const CONNACK: u8 = 0x20;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        // A broker never speaks first, unless the CONNECT was lost: a whole
        // CONNACK waits for the client's next packet.
        let connack_first =
            !input.complete && super::mqtt_session::starts_with_connack(input.server);
        return if input.server.is_empty() || connack_first {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    }
    let answered = !input.server.is_empty();
    match connect(input.client) {
        Sniff::NotThis => super::mqtt_session::without_connect(input),
        _ if answered && input.server.first() != Some(&CONNACK) => Sniff::NotThis,
        Sniff::NeedMore if answered => Sniff::NotThis,
        other => other,
    }
}

/// Variable byte integer: `Ok(None)` when more bytes are needed.
pub(super) fn varint(c: &mut Cursor<'_>) -> Result<Option<usize>, ()> {
    let mut n = 0usize;
    for i in 0..4 {
        let Some(b) = c.u8() else { return Ok(None) };
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(n));
        }
    }
    Err(())
}

fn connect(buf: &[u8]) -> Sniff<Meta<'_>> {
    let mut c = Cursor::new(buf);
    match c.u8() {
        None => return Sniff::NeedMore,
        Some(CONNECT) => {}
        Some(_) => return Sniff::NotThis,
    }
    let remaining = match varint(&mut c) {
        Ok(Some(n)) if n >= 12 => n,
        Ok(None) => return Sniff::NeedMore,
        _ => return Sniff::NotThis,
    };
    let body_start = buf.len() - c.remaining();
    // Protocol name: 00 04 "MQTT" or 00 06 "MQIsdp", then the level.
    let rest = c.rest();
    let (name_len, level_ok): (usize, fn(u8) -> bool) = match at(rest, 1) {
        None => return need(rest, b"\x00"),
        Some(4) => (4, |l| l == 4 || l == 5),
        Some(6) => (6, |l| l == 3),
        Some(_) => return Sniff::NotThis,
    };
    let lit: &[u8] = if name_len == 4 {
        b"\x00\x04MQTT"
    } else {
        b"\x00\x06MQIsdp"
    };
    match prefix(rest, lit) {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    c.skip(lit.len());
    let Some(level) = c.u8() else {
        return Sniff::NeedMore;
    };
    if !level_ok(level) {
        return Sniff::NotThis;
    }
    let Some(flags) = c.u8() else {
        return Sniff::NeedMore;
    };
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 3;
    let will_retain = flags & 0x20 != 0;
    let password = flags & 0x40 != 0;
    let username = flags & 0x80 != 0;
    if flags & 1 != 0 || will_qos == 3 || (!will && (will_qos != 0 || will_retain)) {
        return Sniff::NotThis;
    }
    if password && !username && level < 5 {
        return Sniff::NotThis;
    }
    let Some(_keep_alive) = c.be16() else {
        return Sniff::NeedMore;
    };
    if level == 5 {
        let props = match varint(&mut c) {
            Ok(Some(n)) => n,
            Ok(None) => return Sniff::NeedMore,
            Err(()) => return Sniff::NotThis,
        };
        let used = buf.len() - c.remaining() - body_start;
        if used + props + 2 > remaining {
            return named(level);
        }
        if c.skip(props).is_none() {
            return Sniff::NeedMore;
        }
    }
    let Some(id_len) = c.be16() else {
        return Sniff::NeedMore;
    };
    let used = buf.len() - c.remaining() - body_start;
    if used + usize::from(id_len) > remaining {
        return named(level);
    }
    let id = c.take(usize::from(id_len));
    if let Some(id) = id {
        if std::str::from_utf8(id).is_err() || id.contains(&0) {
            return Sniff::NotThis;
        }
    }
    named(level)
}

/// A CONNECT read as far as its name, level and flags (the rest may
/// overrun the packet).
fn named<'a>(level: u8) -> Sniff<Meta<'a>> {
    Sniff::Match(Meta {
        method: Some(b"CONNECT"),
        version: Some(u32::from(level)),
        ..Meta::default()
    })
}

/// NeedMore while `rest` is a prefix of `lit`.
fn need<'a>(rest: &[u8], lit: &[u8]) -> Sniff<Meta<'a>> {
    match prefix(rest, lit) {
        Some(false) => Sniff::NotThis,
        _ => Sniff::NeedMore,
    }
}

#[cfg(test)]
#[path = "mqtt_tests.rs"]
mod tests;
