//! PostgreSQL frontend/backend protocol: the frontend's first message.
//!
//! The initiator's first message has no type byte: a big-endian length and
//! a request code. Matched are the StartupMessage v3.x (code `0x0003_00mm`
//! whose key/value parameters, all printable and NUL-terminated, include
//! `user` and end with an empty key exactly at the stated length), the
//! SSLRequest and GSSENCRequest (length 8, codes 80877103 / 80877104) and
//! the CancelRequest (code 80877102, length 16, or up to 16 + 256 with the
//! longer cancel keys of protocol 3.2).
//!
//! An 8-byte SSLRequest / GSSENCRequest is only accepted as the whole client
//! side (the client waits for the one-byte `S`/`N`/`G` answer), and when the
//! server answered, its byte must be one of those. Seen alone, the backend
//! is matched on an AuthenticationRequest (`R`, MD5 salt or SASL mechanism
//! list) and nothing else; the backend never speaks first, so other server
//! bytes with an empty client side rule the protocol out.

use super::cursor::{at, be32_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The PostgreSQL detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Pgsql,
    tcp: true,
    udp: false,
    detect,
}];

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// The backend refuses startup packets longer than this (`MAX_STARTUP_PACKET_LENGTH`).
const MAX_STARTUP: u32 = 10_000;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        return backend(input.server, input.complete);
    }
    frontend(input.client, input.server, input.complete)
}

fn meta(method: &'static [u8], version: Option<u32>) -> Meta<'static> {
    Meta {
        method: Some(method),
        version,
        ..Meta::default()
    }
}

fn frontend<'a>(buf: &'a [u8], server: &[u8], complete: bool) -> Sniff<Meta<'a>> {
    // The length is below 10000: its two high bytes are zero.
    for i in 0..2 {
        match at(buf, i) {
            None => return Sniff::NeedMore,
            Some(0) => {}
            Some(_) => return Sniff::NotThis,
        }
    }
    let Some(len) = be32_at(buf, 0) else {
        return short(server);
    };
    if !(8..=MAX_STARTUP).contains(&len) {
        return Sniff::NotThis;
    }
    // The code's first byte: 0x00 (startup v3) or 0x04 (special requests).
    match at(buf, 4) {
        None => return short(server),
        Some(0 | 4) => {}
        Some(_) => return Sniff::NotThis,
    }
    let Some(code) = be32_at(buf, 4) else {
        return short(server);
    };
    let len = len as usize;
    match code {
        SSL_REQUEST | GSSENC_REQUEST => {
            if len != 8 {
                return Sniff::NotThis;
            }
            let method: &'static [u8] = if code == SSL_REQUEST {
                b"SSLRequest"
            } else {
                b"GSSENCRequest"
            };
            // After the answer the client goes on with TLS, GSSAPI or a
            // StartupMessage. With the answer unseen, what follows must be
            // a TLS record or a StartupMessage.
            let tail = buf.get(8..).unwrap_or_default();
            if server.is_empty() && !tail.is_empty() {
                return match tail.first() {
                    Some(0x16) if code == SSL_REQUEST => Sniff::Match(meta(method, None)),
                    _ => match frontend(tail, server, complete) {
                        Sniff::Match(_) => Sniff::Match(meta(method, None)),
                        other => other,
                    },
                };
            }
            match server.first() {
                None if complete => Sniff::Match(meta(method, None)),
                None => Sniff::NeedMore,
                Some(b'S' | b'N' | b'G') => Sniff::Match(meta(method, None)),
                Some(_) => Sniff::NotThis,
            }
        }
        CANCEL_REQUEST => {
            if !(16..=16 + 256).contains(&len) {
                return Sniff::NotThis;
            }
            if buf.len() < len {
                return short(server);
            }
            // The backend closes a cancel connection without a word.
            if buf.len() != len || !server.is_empty() {
                return Sniff::NotThis;
            }
            Sniff::Match(meta(b"CancelRequest", None))
        }
        0x0003_0000..=0x0003_0002 => startup(buf, len, server, code),
        _ => Sniff::NotThis,
    }
}

/// More client bytes are needed: only possible while the server is silent.
fn short<'a>(server: &[u8]) -> Sniff<Meta<'a>> {
    if server.is_empty() {
        Sniff::NeedMore
    } else {
        Sniff::NotThis
    }
}

/// A StartupMessage's parameter list: `key\0value\0`... then `\0`.
fn startup<'a>(buf: &'a [u8], len: usize, server: &[u8], code: u32) -> Sniff<Meta<'a>> {
    let body = buf.get(8..len.min(buf.len())).unwrap_or_default();
    let whole = buf.len() >= len;
    let mut rest = body;
    let mut user = false;
    let mut app = None;
    let mut key = true;
    let mut last_key: &[u8] = b"";
    loop {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            // A string runs past what we have.
            if whole || !rest.iter().all(|&b| (0x20..0x7f).contains(&b) || b >= 0x80) {
                return Sniff::NotThis;
            }
            return short(server);
        };
        let (s, tail) = rest.split_at(nul);
        rest = tail.get(1..).unwrap_or_default();
        if key {
            if s.is_empty() {
                // The terminator: it must be the last byte of the message.
                if !rest.is_empty() || !whole || !user {
                    return Sniff::NotThis;
                }
                break;
            }
            if s.len() > 64 || !s.iter().all(|&b| b.is_ascii_graphic()) {
                return Sniff::NotThis;
            }
            user |= s == b"user";
            last_key = s;
        } else {
            if s.iter().any(|&b| b < 0x20 && b != b'\t') {
                return Sniff::NotThis;
            }
            if last_key == b"application_name" && !s.is_empty() {
                app = Some(s);
            }
        }
        key = !key;
    }
    if at(buf, len).is_some() && !server.is_empty() {
        // The client never sends more before the backend answered... unless
        // it answers an authentication request, which starts with 'p'.
        if at(buf, len) != Some(b'p') {
            return Sniff::NotThis;
        }
    }
    match server.first() {
        None | Some(b'R' | b'E' | b'v') => Sniff::Match(Meta {
            method: Some(b"StartupMessage"),
            version: Some(code),
            software: app,
            ..Meta::default()
        }),
        Some(_) => Sniff::NotThis,
    }
}

/// The backend's first message seen alone: an AuthenticationRequest.
fn backend<'a>(buf: &'a [u8], complete: bool) -> Sniff<Meta<'a>> {
    let mut c = Cursor::new(buf);
    match c.u8() {
        None => return Sniff::NeedMore,
        Some(b'R') => {}
        Some(_) => return Sniff::NotThis,
    }
    let (Some(len), Some(kind)) = (c.be32(), c.be32()) else {
        return if complete || buf.iter().skip(1).take(2).any(|&b| b != 0) {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    let ok = match kind {
        // MD5Password: a 4-byte salt.
        5 => len == 12 && c.remaining() >= 4,
        // SASL: NUL-terminated mechanism names, then an empty one.
        10 => {
            let Some(body) = c.take((len as usize).saturating_sub(8)) else {
                return if complete || len > 1024 {
                    Sniff::NotThis
                } else {
                    Sniff::NeedMore
                };
            };
            body.starts_with(b"SCRAM-SHA-256") && body.ends_with(b"\0\0")
        }
        _ => false,
    };
    if ok {
        Sniff::Match(meta(b"AuthenticationRequest", None))
    } else {
        Sniff::NotThis
    }
}

#[cfg(test)]
#[path = "pgsql_tests.rs"]
mod tests;
