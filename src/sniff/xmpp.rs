//! XMPP (RFC 6120 section 4): the opening `<stream:stream>` tag either side
//! sends first, optionally after an XML declaration.
//!
//! A side matches once the opening tag is complete, starts `<stream:stream`
//! and declares the streams namespace `http://etherx.jabber.org/streams`
//! and a content namespace (`jabber:client`, `jabber:server` or
//! `jabber:component:accept`). The `to` (initiator) or `from` (responder)
//! attribute is reported as the host, `version='1.0'` as version 0x0100.

use super::cursor::prefix;
use super::mail::contains_ci;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The XMPP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Xmpp,
    tcp: true,
    udp: false,
    detect,
}];

/// The XML declaration and the opening tag fit in this.
const MAX_HEAD: usize = 2048;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return stream(input.client, b"to");
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    stream(input.server, b"from")
}

fn stream<'a>(buf: &'a [u8], host_attr: &[u8]) -> Sniff<Meta<'a>> {
    let mut rest = buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(buf);
    rest = rest.trim_ascii_start();
    match prefix(rest, b"<?xml") {
        None => return Sniff::NeedMore,
        Some(true) => {
            let Some(end) = rest.windows(2).position(|w| w == b"?>") else {
                return if rest.len() < 128 {
                    Sniff::NeedMore
                } else {
                    Sniff::NotThis
                };
            };
            rest = rest.get(end + 2..).unwrap_or_default().trim_ascii_start();
        }
        Some(false) => {}
    }
    match prefix(rest, b"<stream:stream") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    match rest.get(14) {
        None => return Sniff::NeedMore,
        Some(b) if b.is_ascii_whitespace() => {}
        Some(_) => return Sniff::NotThis,
    }
    let Some(end) = rest.iter().position(|&b| b == b'>') else {
        return if buf.len() < MAX_HEAD {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    };
    let tag = rest.get(..end).unwrap_or_default();
    let content = [
        &b"jabber:client"[..],
        b"jabber:server",
        b"jabber:component:accept",
    ];
    if !contains_ci(tag, b"http://etherx.jabber.org/streams")
        || !content.iter().any(|ns| contains_ci(tag, ns))
    {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        host: attr(tag, host_attr),
        version: (attr(tag, b"version") == Some(b"1.0")).then_some(0x0100),
        ..Meta::default()
    })
}

/// The value of attribute `name` in an opening tag.
fn attr<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut i = 0usize;
    while let Some(pos) = tag
        .get(i..)?
        .windows(name.len() + 1)
        .position(|w| w.get(..name.len()) == Some(name) && w.get(name.len()) == Some(&b'='))
    {
        let at = i + pos;
        let before = at.checked_sub(1).and_then(|j| tag.get(j));
        let value = tag.get(at + name.len() + 1..)?;
        if before.is_some_and(u8::is_ascii_whitespace) {
            let quote = *value.first()?;
            if quote != b'\'' && quote != b'"' {
                return None;
            }
            let inner = value.get(1..)?;
            let close = inner.iter().position(|&b| b == quote)?;
            return inner.get(..close).filter(|v| !v.is_empty());
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
#[path = "xmpp_tests.rs"]
mod tests;
