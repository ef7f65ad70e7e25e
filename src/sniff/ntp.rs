//! NTP (RFC 5905, and SNTP RFC 4330) over UDP: the 48-byte packet header of
//! versions 1 to 4, optionally followed by extension fields and a MAC.
//!
//! A datagram matches with a version of 1 to 4 and a mode the sender may
//! use (symmetric active, client or broadcast from the initiator; symmetric
//! passive or server from the responder), a length of 48 bytes plus either
//! a key id and an MD5 / SHA-1 / AES-CMAC digest or whole extension fields,
//! a stratum of at most 16, root delay and dispersion under 1024 s, a poll
//! exponent within -7..=17 and a precision within -40..=0 (SNTP clients
//! zero both; chrony's client requests say 32). A server's answer also needs a
//! non-zero transmit timestamp and, unless it is a kiss-o'-death, a
//! stratum of 1 to 15.
//!
//! Mode 6 control messages (`ntpq`, monitoring probes) match on their own
//! 12-byte header; see [`control`].

use super::cursor::{at, be16_at, be32_at};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The NTP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Ntp,
    tcp: false,
    udp: true,
    detect,
}];

const HEADER: usize = 48;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_initiator) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    match packet(side, from_initiator) {
        Some(meta) => Sniff::Match(meta),
        None => Sniff::NotThis,
    }
}

fn packet(buf: &[u8], from_initiator: bool) -> Option<Meta<'_>> {
    let first = at(buf, 0)?;
    let version = (first >> 3) & 7;
    let mode = first & 7;
    let stratum = at(buf, 1)?;
    let poll = at(buf, 2)? as i8;
    let precision = at(buf, 3)? as i8;
    if mode == 6 {
        return control(buf, version, from_initiator);
    }
    let mode_ok = if from_initiator {
        matches!(mode, 1 | 3 | 5)
    } else {
        matches!(mode, 2 | 4)
    };
    if !(1..=4).contains(&version) || !mode_ok || !tail_ok(buf) {
        return None;
    }
    // chrony's client requests carry a precision of 32 on purpose, so as
    // not to tell the server the client's own (ntp_core.c, chrony 4.x).
    let precision_ok = (-40..=0).contains(&precision) || (mode == 3 && precision == 32);
    if stratum > 16 || !(-7..=17).contains(&poll) || !precision_ok {
        return None;
    }
    // Root delay and dispersion: 16.16 seconds; over 1024 s is absurd.
    if be16_at(buf, 4)? >= 0x0400 || be16_at(buf, 8)? >= 0x0400 {
        return None;
    }
    let transmit = (be32_at(buf, 40)?, be32_at(buf, 44)?);
    let method: &'static [u8] = match mode {
        1 => b"symmetric-active",
        2 => b"symmetric-passive",
        3 => b"client",
        4 => b"server",
        _ => b"broadcast",
    };
    if mode == 4 {
        let kiss = stratum == 0 && buf.get(12..16)?.iter().all(u8::is_ascii_uppercase);
        if transmit == (0, 0) && !kiss {
            return None;
        }
        // Stratum 16 is "unsynchronized", with the alarm leap indicator.
        let unsynced = stratum == 16 && first >> 6 == 3;
        if !(kiss || (1..=15).contains(&stratum) || unsynced) {
            return None;
        }
    }
    Some(Meta {
        method: Some(method),
        version: Some(u32::from(version)),
        ..Meta::default()
    })
}

/// What may follow the header: nothing, a MAC (key id + 16-byte MD5 or
/// AES-CMAC, or 20-byte SHA-1), a 4-byte crypto-NAK, or extension fields
/// (type, length, value; length a multiple of 4 and at least 16), possibly
/// ending in a MAC.
fn tail_ok(buf: &[u8]) -> bool {
    let Some(mut rest) = buf.get(HEADER..) else {
        return false;
    };
    for _ in 0..8 {
        if matches!(rest.len(), 0 | 4 | 20 | 24) {
            return true;
        }
        let Some(len) = be16_at(rest, 2).map(usize::from) else {
            return false;
        };
        if len < 16 || len % 4 != 0 {
            return false;
        }
        let Some(next) = rest.get(len..) else {
            return false;
        };
        rest = next;
    }
    false
}

/// Control message header: flags/version/mode, R/E/M/opcode, sequence,
/// status, association id, offset, count.
const CONTROL_HEADER: usize = 12;
/// Most data bytes one control message carries (ntpd's 468, with room).
const CONTROL_MAX_DATA: usize = 500;

/// A mode 6 control message (RFC 1305 appendix B, RFC 9327), as `ntpq`
/// and monitoring probes (Nagios/Icinga `check_ntp_peer`) send to port 123
/// and servers answer: a known opcode, the response bit set only in the
/// responder's message, the error and more bits only there too, a request
/// at offset 0, and a datagram that holds exactly the header, `count`
/// data bytes, padding to a 4- or 8-byte boundary and optionally a key id
/// with an MD5 or SHA-1 digest.
fn control(buf: &[u8], version: u8, from_initiator: bool) -> Option<Meta<'_>> {
    let op = at(buf, 1)?;
    let (response, opcode) = (op & 0x80 != 0, op & 0x1f);
    let offset = be16_at(buf, 8)?;
    let count = usize::from(be16_at(buf, 10)?);
    let known = matches!(opcode, 1..=12 | 31);
    let flags_ok = if from_initiator {
        op & 0xe0 == 0 && offset == 0
    } else {
        response
    };
    if !(1..=4).contains(&version) || !known || !flags_ok || count > CONTROL_MAX_DATA {
        return None;
    }
    let tail = buf.len().checked_sub(CONTROL_HEADER + count)?;
    let pad = (4 - count % 4) % 4;
    // With a MAC, the data is padded to an 8-byte boundary first.
    let tail_ok = tail == pad
        || [pad, pad + 4]
            .iter()
            .any(|&p| matches!(tail.checked_sub(p), Some(20 | 24)));
    if !tail_ok {
        return None;
    }
    Some(Meta {
        method: Some(if response {
            b"control-response"
        } else {
            b"control"
        }),
        version: Some(u32::from(version)),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "ntp_tests.rs"]
mod tests;
