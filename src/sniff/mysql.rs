//! MySQL / MariaDB client/server protocol: the server's greeting.
//!
//! The server speaks first with a packet (3-byte little-endian length,
//! sequence id 0) holding an Initial Handshake v10: protocol version 10, a
//! printable NUL-terminated server version, a connection id, 8 bytes of
//! scramble, a zero filler, capability flags with CLIENT_PROTOCOL_41, and,
//! when the packet goes on, 10 reserved bytes (MariaDB puts its extended
//! capabilities in the last 4) and a NUL-terminated scramble tail. A server
//! that refuses the host answers with an ERR packet (`0xff`, a known error
//! code, a printable message) instead; that matches too.
//!
//! Seen alone, the client's HandshakeResponse41 or SSLRequest (sequence
//! id 1, CLIENT_PROTOCOL_41, any max_packet_size (node's mysql2 sends 0), a
//! 23-byte filler whose first 19 bytes are zero) matches; any client bytes
//! before the server's greeting rule MySQL out otherwise.

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The MySQL / MariaDB detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Mysql,
    tcp: true,
    udp: false,
    detect,
}];

const CLIENT_PROTOCOL_41: u32 = 0x0200;
/// The greeting is small; a larger first packet is something else.
const MAX_GREETING: usize = 1024;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.server.is_empty() {
        if input.client.is_empty() {
            return Sniff::NeedMore;
        }
        return client_alone(input.client, input.complete);
    }
    if input.client.is_empty() {
        return greeting(input.server, input.complete);
    }
    // The client only speaks after the whole greeting arrived.
    match greeting(input.server, true) {
        Sniff::NeedMore => Sniff::NotThis,
        other => other,
    }
}

/// Reads a packet header; `Err(answer)` when the header rules it out or is short.
fn header(buf: &[u8], seq: u8, max: usize) -> Result<(usize, &[u8]), Sniff<Meta<'static>>> {
    let mut c = Cursor::new(buf);
    let (Some(a), Some(b), Some(d)) = (c.u8(), c.u8(), c.u8()) else {
        // Little-endian length: the high byte is zero for small packets.
        return Err(match at(buf, 2) {
            Some(0) | None => Sniff::NeedMore,
            Some(_) => Sniff::NotThis,
        });
    };
    let len = usize::from(a) | usize::from(b) << 8 | usize::from(d) << 16;
    if len == 0 || len > max {
        return Err(Sniff::NotThis);
    }
    match c.u8() {
        None => Err(Sniff::NeedMore),
        Some(s) if s == seq => Ok((len, c.rest())),
        Some(_) => Err(Sniff::NotThis),
    }
}

fn greeting(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    let (len, body) = match header(buf, 0, MAX_GREETING) {
        Ok(h) => h,
        Err(s) => return s,
    };
    match body.first() {
        None => Sniff::NeedMore,
        Some(10) => v10(body, len, complete),
        Some(0xff) => refusal(body, len, complete),
        Some(_) => Sniff::NotThis,
    }
}

/// The Initial Handshake Packet, protocol version 10.
fn v10(body: &[u8], len: usize, complete: bool) -> Sniff<Meta<'_>> {
    let whole = body.len() >= len;
    let pkt = body.get(..len).unwrap_or(body);
    let more = if whole || complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    let mut c = Cursor::new(pkt);
    c.skip(1);
    let rest = c.rest();
    let Some(nul) = rest.iter().position(|&b| b == 0) else {
        if rest.len() > 64 || !rest.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Sniff::NotThis;
        }
        return more;
    };
    let version = rest.get(..nul).unwrap_or_default();
    if version.is_empty()
        || version.len() > 64
        || !version.first().is_some_and(u8::is_ascii_digit)
        || !version.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
    {
        return Sniff::NotThis;
    }
    c.skip(nul + 1);
    let (Some(_conn_id), Some(_scramble), Some(filler), Some(caps_lo)) =
        (c.le32(), c.take(8), c.u8(), c.le16())
    else {
        return more;
    };
    if filler != 0 || u32::from(caps_lo) & CLIENT_PROTOCOL_41 == 0 {
        return Sniff::NotThis;
    }
    if c.remaining() > 0 {
        // charset, status, capabilities (high), scramble length, 10 reserved.
        let (Some(_charset), Some(_status), Some(_caps_hi), Some(auth_len), Some(reserved)) =
            (c.u8(), c.le16(), c.le16(), c.u8(), c.take(10))
        else {
            return more;
        };
        // MySQL zeroes all 10; MariaDB keeps its extended capabilities in the last 4.
        if reserved.get(..6).is_none_or(|r| r.iter().any(|&b| b != 0))
            || (auth_len != 0 && auth_len < 9)
        {
            return Sniff::NotThis;
        }
    } else if !whole {
        return more;
    }
    Sniff::Match(Meta {
        software: Some(version),
        version: Some(10),
        ..Meta::default()
    })
}

/// An ERR packet instead of the greeting (host blocked, too many connections).
fn refusal(body: &[u8], len: usize, complete: bool) -> Sniff<Meta<'_>> {
    let pkt = body.get(..len).unwrap_or(body);
    let mut c = Cursor::new(pkt);
    c.skip(1);
    let Some(code) = c.le16() else {
        return if complete {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    // ER_CON_COUNT_ERROR, ER_OUT_OF_RESOURCES, ER_HOST_IS_BLOCKED,
    // ER_HOST_NOT_PRIVILEGED, ER_HANDSHAKE_ERROR / ER_SERVER_SHUTDOWN.
    if !matches!(code, 1040 | 1041 | 1043 | 1053 | 1129 | 1130) {
        return Sniff::NotThis;
    }
    let msg = c.rest();
    if !msg.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return Sniff::NotThis;
    }
    if body.len() < len && !complete {
        return Sniff::NeedMore;
    }
    if msg.len() < 8 {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(b"ERR"),
        ..Meta::default()
    })
}

/// The client's HandshakeResponse41 / SSLRequest, seen without the greeting.
fn client_alone(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    let (len, body) = match header(buf, 1, 0x00ff_ffff) {
        Ok(h) => h,
        Err(s) => return s,
    };
    if len < 32 {
        return Sniff::NotThis;
    }
    let more = if complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    let mut c = Cursor::new(body);
    let Some(caps) = c.le32() else { return more };
    if caps & CLIENT_PROTOCOL_41 == 0 {
        return Sniff::NotThis;
    }
    // max_packet_size is not checked: node's mysql2 sends 0 there.
    let (Some(_max_packet), Some(_charset)) = (c.le32(), c.u8()) else {
        return more;
    };
    // 23 filler bytes: MariaDB clients keep extended capabilities in the last 4.
    let filler = c.rest();
    let n = filler.len().min(19);
    if filler.get(..n).is_none_or(|f| f.iter().any(|&b| b != 0)) {
        return Sniff::NotThis;
    }
    if filler.len() < 23 {
        return more;
    }
    Sniff::Match(Meta {
        method: Some(if len == 32 {
            b"SSLRequest"
        } else {
            b"HandshakeResponse"
        }),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "mysql_tests.rs"]
mod tests;
