//! RDP: the X.224 Connection Request in a TPKT (MS-RDPBCGR 2.2.1.1), or the
//! server's Connection Confirm (2.2.1.2) when only the responder was seen.
//!
//! TPKT is version 3, reserved 0, a length that holds the whole TPDU; the
//! X.224 length indicator must be the TPKT length less five, the TPDU code
//! CR (0xE0) with DST-REF 0 and class 0. What follows must be RDP's own
//! variable part: a `Cookie: mstshash=...` or routing token line ending in
//! CR LF, and/or an RDP_NEG_REQ (type 1, length 8, known protocol bits).
//! ISO transport users such as S7comm send X.224 parameter codes there
//! instead, and are not claimed. A Connection Confirm must carry an
//! RDP_NEG_RSP or RDP_NEG_FAILURE. The requested (or selected) protocol
//! flags are reported as the version.

use super::cursor::{be16_at, le32_at, prefix, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The RDP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Rdp,
    tcp: true,
    udp: false,
    detect,
}];

const TPDU_CR: u8 = 0xe0;
const TPDU_CC: u8 = 0xd0;
const NEG_REQ: u8 = 1;
const NEG_RSP: u8 = 2;
const NEG_FAILURE: u8 = 3;
/// TPKT (4) + X.224 fixed part (7).
const HEADER: usize = 11;
/// Cookie lines are short; routing tokens are bounded by the MS docs.
const MAX_TPKT: usize = 1024;
/// PROTOCOL_SSL | HYBRID | RDSTLS | HYBRID_EX | RDSAAD.
const KNOWN_PROTOCOLS: u32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x10;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return tpdu(input.client, TPDU_CR, input.complete);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    tpdu(input.server, TPDU_CC, input.complete)
}

fn tpdu(buf: &[u8], code: u8, complete: bool) -> Sniff<Meta<'_>> {
    // Each header byte is checked as soon as it is present.
    let checks: [&dyn Fn(u8) -> bool; 7] = [
        &|b| b == 3,
        &|b| b == 0,
        &|b| b == 0,
        &|b| b as usize >= HEADER,
        &|_| true,
        &|b| b & 0xf0 == code,
        &|_| true,
    ];
    for (i, ok) in checks.iter().enumerate() {
        match buf.get(i) {
            None => return Sniff::NeedMore,
            Some(&b) if !ok(b) => return Sniff::NotThis,
            Some(_) => {}
        }
    }
    let Some(len) = be16_at(buf, 2).map(usize::from) else {
        return Sniff::NeedMore;
    };
    if !(HEADER..=MAX_TPKT).contains(&len) || buf.get(4).map(|&li| usize::from(li) + 5) != Some(len)
    {
        return Sniff::NotThis;
    }
    // CR/CC: CDT nibble 0, DST-REF (0 for a request), SRC-REF, class 0.
    let fixed = (buf.get(5), be16_at(buf, 6), buf.get(10));
    match fixed {
        (Some(&c), _, _) if c != code => return Sniff::NotThis,
        (_, Some(dst), _) if code == TPDU_CR && dst != 0 => return Sniff::NotThis,
        (_, _, Some(&class)) if class != 0 => return Sniff::NotThis,
        (_, _, None) => return Sniff::NeedMore,
        _ => {}
    }
    let Some(var) = buf.get(HEADER..len) else {
        return match variable(buf.get(HEADER..).unwrap_or_default(), code, false) {
            Sniff::NotThis => Sniff::NotThis,
            _ if complete => Sniff::NotThis,
            _ => Sniff::NeedMore,
        };
    };
    variable(var, code, true)
}

/// The RDP variable part of a CR or CC. `whole` says `var` is all of it.
fn variable(var: &[u8], code: u8, whole: bool) -> Sniff<Meta<'_>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    let mut rest = var;
    let mut signed = false;
    if code == TPDU_CR {
        match prefix(rest, b"Cookie: ") {
            None => return short,
            Some(true) => {
                let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                    return short;
                };
                let line = rest.get(..lf).unwrap_or_default();
                if !line.ends_with(b"\r") || line.iter().any(|&b| b < 0x20 && b != b'\r') {
                    return Sniff::NotThis;
                }
                rest = rest.get(lf + 1..).unwrap_or_default();
                signed = true;
            }
            Some(false) => {}
        }
    }
    if rest.is_empty() {
        return if signed {
            Sniff::Match(Meta::default())
        } else {
            short
        };
    }
    let mut c = Cursor::new(rest);
    let (kind, _flags, len, protocols) = (c.u8(), c.u8(), c.le16(), c.le32());
    let want: &[u8] = if code == TPDU_CR {
        &[NEG_REQ]
    } else {
        &[NEG_RSP, NEG_FAILURE]
    };
    match kind {
        Some(k) if !want.contains(&k) => return Sniff::NotThis,
        None => return short,
        _ => {}
    }
    match len {
        Some(8) => {}
        Some(_) => return Sniff::NotThis,
        None => return short,
    }
    let Some(protocols) = protocols else {
        return short;
    };
    if kind == Some(NEG_FAILURE) {
        // failureCode: SSL_REQUIRED_BY_SERVER (1) .. HYBRID_REQUIRED_BY_SERVER (5, 6).
        if !(1..=6).contains(&protocols) {
            return Sniff::NotThis;
        }
    } else if protocols & !KNOWN_PROTOCOLS != 0 {
        return Sniff::NotThis;
    }
    if whole && c.remaining() != 0 {
        // MS-RDPBCGR allows an RDP_NEG_CORRELATION_INFO after a request.
        let corr = le32_at(c.rest(), 0);
        if code != TPDU_CR || corr != Some(0x0024_0006) {
            return Sniff::NotThis;
        }
    }
    Sniff::Match(Meta {
        version: (kind != Some(NEG_FAILURE)).then_some(protocols),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "rdp_tests.rs"]
mod tests;
