//! Microsoft SQL Server TDS 7.x / 8: the PRELOGIN exchange.
//!
//! A TDS packet has an 8-byte header: type, status, big-endian length,
//! SPID, packet id, window. The client's first packet is PRELOGIN (type
//! 0x12, end-of-message status, SPID 0, window 0) whose payload is an
//! option table: 5-byte entries (token, offset, length) in increasing token
//! order (0x00 VERSION first, 6 bytes long, up to 0x07 NONCEOPT), ended by
//! 0xff, every option's data lying inside the packet; ENCRYPTION, when
//! present, is one byte of 0 to 3. The server answers with a tabular result
//! packet (type 0x04) holding the same kind of table; seen alone (client
//! side empty) that answer matches too. `version` is the VERSION option's
//! first four bytes (the client library's or the server's version).
//!
//! TDS 8 (strict encryption) starts with a TLS ClientHello and is TLS on the
//! wire; the LOGIN7-first handshake of pre-7.1 clients is not matched.

use super::cursor::{at, be16_at, be32_at};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The TDS detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Tds,
    tcp: true,
    udp: false,
    detect,
}];

const PRELOGIN: u8 = 0x12;
const TABULAR_RESULT: u8 = 0x04;
const HEADER: usize = 8;
const TERMINATOR: u8 = 0xff;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        return packet(input.server, TABULAR_RESULT, input.complete);
    }
    let answered = !input.server.is_empty();
    let got = packet(input.client, PRELOGIN, input.complete || answered);
    if answered && matches!(got, Sniff::Match(_)) && input.server.first() != Some(&TABULAR_RESULT) {
        return Sniff::NotThis;
    }
    got
}

fn packet(buf: &[u8], kind: u8, whole: bool) -> Sniff<Meta<'_>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    // Type, end-of-message status, and the length's high byte (a PRELOGIN
    // is far below 4096 bytes).
    for (i, lo, hi) in [(0, kind, kind), (1, 0x01, 0x01), (2, 0x00, 0x0f)] {
        match at(buf, i) {
            None => return short,
            Some(b) if (lo..=hi).contains(&b) => {}
            Some(_) => return Sniff::NotThis,
        }
    }
    let Some(len) = be16_at(buf, 2) else {
        return short;
    };
    let len = usize::from(len);
    if len < HEADER + 6 + 1 {
        return Sniff::NotThis;
    }
    let request = kind == PRELOGIN;
    let tail = [at(buf, 4), at(buf, 5), at(buf, 6), at(buf, 7)];
    let tail_ok = match tail {
        [spid_hi, spid_lo, id, window] => {
            (!request || (spid_hi.is_none_or(|b| b == 0) && spid_lo.is_none_or(|b| b == 0)))
                && id.is_none_or(|b| b <= 1)
                && window.is_none_or(|b| b == 0)
        }
    };
    if !tail_ok {
        return Sniff::NotThis;
    }
    let payload = buf.get(HEADER..len.min(buf.len())).unwrap_or_default();
    let complete_pkt = buf.len() >= len;
    options(payload, len - HEADER, complete_pkt, short)
}

/// The PRELOGIN option table.
fn options<'a>(
    payload: &'a [u8],
    size: usize,
    whole: bool,
    short: Sniff<Meta<'a>>,
) -> Sniff<Meta<'a>> {
    let mut prev: Option<u8> = None;
    let mut version = None;
    for i in 0..9 {
        let at_entry = i * 5;
        let Some(token) = at(payload, at_entry) else {
            return if whole { Sniff::NotThis } else { short };
        };
        if token == TERMINATOR {
            // The first option's data starts right after the table.
            if let Some(v) = version {
                return Sniff::Match(Meta {
                    method: Some(b"PRELOGIN"),
                    version: Some(v),
                    ..Meta::default()
                });
            }
            return if prev.is_none() {
                Sniff::NotThis
            } else {
                short
            };
        }
        if token > 0x07 || prev.is_some_and(|p| token <= p) || (i == 0 && token != 0) {
            return Sniff::NotThis;
        }
        prev = Some(token);
        let (Some(off), Some(n)) = (
            be16_at(payload, at_entry + 1),
            be16_at(payload, at_entry + 3),
        ) else {
            return short;
        };
        let (off, n) = (usize::from(off), usize::from(n));
        if off + n > size || off < at_entry + 6 {
            return Sniff::NotThis;
        }
        match token {
            0 if n != 6 => return Sniff::NotThis,
            0 => match be32_at(payload, off) {
                Some(v) => version = Some(v),
                None if whole => return Sniff::NotThis,
                None => return short,
            },
            1 if n != 1 => return Sniff::NotThis,
            1 => match at(payload, off) {
                Some(0..=3) => {}
                Some(_) => return Sniff::NotThis,
                None if whole => return Sniff::NotThis,
                None => return short,
            },
            _ => {}
        }
    }
    Sniff::NotThis
}

#[cfg(test)]
#[path = "tds_tests.rs"]
mod tests;
