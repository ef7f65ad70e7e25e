//! VNC remote framebuffer (RFC 6143 section 7.1.1): the `RFB xxx.yyy\n`
//! ProtocolVersion message, which the server sends first and the client
//! echoes with the version it picked.
//!
//! A side matches on exactly twelve bytes `RFB `, three digits, `.`, three
//! digits, `\n` (003.003, 003.007, 003.008 and vendor variants such as
//! Apple's 003.889 and RealVNC's 004.001). The version is reported as
//! `major << 16 | minor`.

use super::cursor::prefix;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The RFB detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Rfb,
    tcp: true,
    udp: false,
    detect,
}];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.server.is_empty() {
        return version(input.client);
    }
    match version(input.server) {
        Sniff::Match(m) if !input.client.is_empty() => match version(input.client) {
            Sniff::NotThis => Sniff::NotThis,
            _ => Sniff::Match(m),
        },
        other => other,
    }
}

/// One ProtocolVersion message at the start of `buf`.
fn version(buf: &[u8]) -> Sniff<Meta<'_>> {
    match prefix(buf, b"RFB ") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let shape = b"RFB 999.999\n";
    for (i, want) in shape.iter().enumerate().skip(4) {
        let Some(&b) = buf.get(i) else {
            return Sniff::NeedMore;
        };
        let ok = if *want == b'9' {
            b.is_ascii_digit()
        } else {
            b == *want
        };
        if !ok {
            return Sniff::NotThis;
        }
    }
    let num = |r: std::ops::Range<usize>| {
        buf.get(r)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
    };
    let (major, minor) = (num(4..7), num(8..11));
    if major == 0 {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        version: Some(major << 16 | minor),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "rfb_tests.rs"]
mod tests;
