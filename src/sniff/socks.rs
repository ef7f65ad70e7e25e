//! SOCKS 4 / 4a and SOCKS 5 (RFC 1928): the client's first message.
//!
//! SOCKS 4: `04`, command CONNECT or BIND, a non-zero port, an address, a
//! printable NUL-terminated user id; with an address `0.0.0.x` (x non-zero)
//! a printable NUL-terminated host name follows (4a). The client then waits
//! for the 8-byte reply (`00`, code 0x5a to 0x5d), so when the server
//! answered it must be that reply, and before it the client says nothing
//! more. The CONNECT host (4a name or dotted address is not borrowed) is
//! the metadata where the request names one.
//!
//! SOCKS 5: `05`, a method count of 1 to 16, that many distinct methods
//! (0x00 to 0x09, or private 0x80 to 0xfe); nothing more until the server's
//! method reply but a pipelined request (curl sends one), which must be `05` and one of the offered methods or
//! `ff`. The greeting is tiny, so it matches only with that reply (or when
//! no more bytes will come). The CONNECT request that follows, when
//! present, must be well formed; its domain name is the `host`.
//!
//! Servers never speak first: server bytes with an empty client rule both out.

use super::cursor::{at, be16_at};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The SOCKS 4 and SOCKS 5 detectors.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Socks4,
        tcp: true,
        udp: false,
        detect: detect4,
    },
    Detector {
        proto: Proto::Socks5,
        tcp: true,
        udp: false,
        detect: detect5,
    },
];

/// Longest user id or 4a host name accepted.
const MAX_FIELD: usize = 255;

fn detect4<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let buf = input.client;
    if buf.is_empty() {
        return if input.server.is_empty() {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    }
    let answered = !input.server.is_empty();
    let short = if answered || input.complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    match at(buf, 0) {
        Some(4) => {}
        _ => return Sniff::NotThis,
    }
    match at(buf, 1) {
        None => return short,
        Some(1 | 2) => {}
        Some(_) => return Sniff::NotThis,
    }
    let Some(port) = be16_at(buf, 2) else {
        return short;
    };
    if port == 0 {
        return Sniff::NotThis;
    }
    let ip = [at(buf, 4), at(buf, 5), at(buf, 6), at(buf, 7)];
    let Some(last) = ip[3] else { return short };
    if ip[0] == Some(0) && ip[1] == Some(0) && ip[2] == Some(0) && last == 0 {
        return Sniff::NotThis;
    }
    let socks4a = ip[0] == Some(0) && ip[1] == Some(0) && ip[2] == Some(0);
    let rest = buf.get(8..).unwrap_or_default();
    let (user_ok, rest) = field(rest, true);
    match user_ok {
        Field::Bad => return Sniff::NotThis,
        Field::Short => return short,
        Field::Ok(_) => {}
    }
    let mut host = None;
    if socks4a {
        match field(rest, false).0 {
            Field::Bad => return Sniff::NotThis,
            Field::Short => return short,
            Field::Ok(name) => host = Some(name),
        }
    }
    // Data may follow the request once the tunnel is up (or from a client
    // that does not wait); the reply, when seen, must be a SOCKS 4 reply.
    if let Some(&reply) = input.server.first() {
        if reply != 0 || !matches!(at(input.server, 1), Some(0x5a..=0x5d) | None) {
            return Sniff::NotThis;
        }
    }
    Sniff::Match(Meta {
        method: Some(if at(buf, 1) == Some(1) {
            b"CONNECT"
        } else {
            b"BIND"
        }),
        host,
        version: Some(if socks4a { 0x4a } else { 4 }),
        ..Meta::default()
    })
}

enum Field<'a> {
    Ok(&'a [u8]),
    Short,
    Bad,
}

/// A printable NUL-terminated string (`may_be_empty` for the user id).
fn field(buf: &[u8], may_be_empty: bool) -> (Field<'_>, &[u8]) {
    let window = buf.get(..buf.len().min(MAX_FIELD + 1)).unwrap_or(buf);
    let Some(nul) = window.iter().position(|&b| b == 0) else {
        let ok = window.len() <= MAX_FIELD && window.iter().all(|&b| (0x20..0x7f).contains(&b));
        return (if ok { Field::Short } else { Field::Bad }, b"");
    };
    let (s, rest) = buf.split_at(nul);
    let rest = rest.get(1..).unwrap_or_default();
    if (s.is_empty() && !may_be_empty) || !s.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return (Field::Bad, rest);
    }
    (Field::Ok(s), rest)
}

fn detect5<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let buf = input.client;
    if buf.is_empty() {
        return if input.server.is_empty() {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    }
    let answered = !input.server.is_empty();
    let short = if answered || input.complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    if at(buf, 0) != Some(5) {
        return Sniff::NotThis;
    }
    let n = match at(buf, 1) {
        None => return short,
        Some(n @ 1..=16) => usize::from(n),
        Some(_) => return Sniff::NotThis,
    };
    let methods = buf.get(2..).unwrap_or_default();
    let methods = methods.get(..n.min(methods.len())).unwrap_or_default();
    for (i, &m) in methods.iter().enumerate() {
        let valid = m <= 0x09 || (0x80..=0xfe).contains(&m);
        if !valid || methods.get(..i).is_some_and(|seen| seen.contains(&m)) {
            return Sniff::NotThis;
        }
    }
    if methods.len() < n {
        return short;
    }
    let rest = buf.get(2 + n..).unwrap_or_default();
    let Some(&version) = input.server.first() else {
        // No reply yet: only a pipelined request may follow the greeting.
        if methods.contains(&0) && request(rest).is_err()
            || !methods.contains(&0) && !rest.is_empty()
        {
            return Sniff::NotThis;
        }
        return if input.complete {
            Sniff::Match(greeting_meta(None))
        } else {
            Sniff::NeedMore
        };
    };
    let chosen = match at(input.server, 1) {
        Some(m) if m == 0xff || methods.contains(&m) => m,
        Some(_) => return Sniff::NotThis,
        None if input.complete => return Sniff::NotThis,
        None => return Sniff::NeedMore,
    };
    if version != 5 {
        return Sniff::NotThis;
    }
    // With no authentication, the CONNECT request follows.
    let host = if chosen == 0 {
        match request(rest) {
            Err(()) => return Sniff::NotThis,
            Ok(host) => host,
        }
    } else {
        None
    };
    Sniff::Match(greeting_meta(host))
}

fn greeting_meta(host: Option<&[u8]>) -> Meta<'_> {
    Meta {
        host,
        version: Some(5),
        ..Meta::default()
    }
}

/// A SOCKS 5 request prefix; `Ok(Some(name))` for a domain-name target.
fn request(buf: &[u8]) -> Result<Option<&[u8]>, ()> {
    let bad = |i: usize, ok: fn(u8) -> bool| at(buf, i).is_some_and(|b| !ok(b));
    if bad(0, |b| b == 5) || bad(1, |b| (1..=3).contains(&b)) || bad(2, |b| b == 0) {
        return Err(());
    }
    if bad(3, |b| matches!(b, 1 | 3 | 4)) {
        return Err(());
    }
    if at(buf, 3) != Some(3) {
        return Ok(None);
    }
    let Some(len) = at(buf, 4) else {
        return Ok(None);
    };
    let name = buf.get(5..5 + usize::from(len));
    match name {
        Some(name) if !name.is_empty() && name.iter().all(|&b| b.is_ascii_graphic()) => {
            Ok(Some(name))
        }
        Some(_) => Err(()),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "socks_tests.rs"]
mod tests;
