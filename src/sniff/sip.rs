//! SIP (RFC 3261) over UDP and TCP: a request from the initiator, or a
//! response when only the responder was seen.
//!
//! A request matches once its request line is whole: a method of RFC 3261
//! or its extensions, one space, a request URI with a scheme and no space
//! or control byte, one space, and `SIP/2.0`. A response matches on
//! `SIP/2.0 NNN ` with a status of 100..=699. Over TCP, every prefix of
//! those is "need more". The request URI is the host metadata and the
//! `User-Agent` (or, in a response, `Server`) header the software.

use super::cursor::{first_line, prefix};
use super::{Detector, Input, Meta, Proto, Sniff, Transport, SAMPLE_MAX};

/// The SIP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Sip,
    tcp: true,
    udp: true,
    detect,
}];

const METHODS: &[&[u8]] = &[
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
];
const VERSION: &[u8] = b"SIP/2.0";
const MAX_LINE: usize = 1024;
/// How much of the message is searched for the software header.
const MAX_HEADERS: usize = 4096;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let whole = input.transport == Transport::Udp || input.complete;
    if !input.client.is_empty() {
        let whole = whole || input.client.len() >= SAMPLE_MAX;
        return request(input.client, whole);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    response(input.server, whole)
}

fn request(buf: &[u8], whole: bool) -> Sniff<Meta<'_>> {
    let mut method = None;
    let mut partial = false;
    for m in METHODS {
        match prefix(buf, m) {
            Some(true) => match buf.get(m.len()) {
                Some(b' ') => method = Some(*m),
                Some(_) => {}
                None => partial = true,
            },
            None => partial = true,
            Some(false) => {}
        }
    }
    let Some(method) = method else {
        return if partial && !whole {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    };
    let line = match first_line(buf, MAX_LINE) {
        Ok(Some(line)) => line,
        Ok(None) => {
            // Wait only while this can still become a request line.
            let body = buf.strip_suffix(b"\r").unwrap_or(buf);
            let ok = body.iter().all(|&b| (0x20..0x7f).contains(&b));
            let spaces = body.iter().filter(|&&b| b == b' ').count();
            let last = body.rsplit(|&b| b == b' ').next().unwrap_or_default();
            let can_end = spaces < 2 || (spaces == 2 && VERSION.starts_with(last));
            return if ok && can_end && !whole {
                Sniff::NeedMore
            } else {
                Sniff::NotThis
            };
        }
        Err(()) => return Sniff::NotThis,
    };
    let rest = line.get(method.len() + 1..).unwrap_or_default();
    let mut parts = rest.split(|&b| b == b' ');
    let (Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next()) else {
        return Sniff::NotThis;
    };
    if version != VERSION || !uri_ok(uri) {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(method),
        host: Some(uri),
        software: header(buf, b"user-agent"),
        version: Some(2),
        ..Meta::default()
    })
}

/// `scheme:rest`, scheme letters then letters, digits, `+-.`; no controls.
fn uri_ok(uri: &[u8]) -> bool {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, tail) = uri.split_at(colon);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok && tail.len() > 1 && uri.iter().all(|&b| (0x21..0x7f).contains(&b))
}

fn response(buf: &[u8], whole: bool) -> Sniff<Meta<'_>> {
    let head = b"SIP/2.0 ";
    match prefix(buf, head) {
        None if !whole => return Sniff::NeedMore,
        Some(true) => {}
        _ => return Sniff::NotThis,
    }
    let Some(code) = buf.get(8..12) else {
        return if whole {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    let status_ok = matches!(code.first(), Some(b'1'..=b'6'))
        && code
            .get(1..3)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && code.get(3) == Some(&b' ');
    if !status_ok {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(b"response"),
        software: header(buf, b"server"),
        version: Some(2),
        ..Meta::default()
    })
}

/// The value of header `name` (lowercase), trimmed, within the header block.
fn header<'a>(msg: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let window = msg.get(..msg.len().min(MAX_HEADERS))?;
    for line in window.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (k, v) = line.split_at(colon);
        if k.trim_ascii().eq_ignore_ascii_case(name) {
            let v = v.get(1..)?.trim_ascii();
            return (!v.is_empty()).then_some(v);
        }
    }
    None
}

#[cfg(test)]
#[path = "sip_tests.rs"]
mod tests;
