//! QUIC v1 (RFC 9000) and v2 (RFC 9369) over UDP: the long-header Initial
//! packet that opens every connection.
//!
//! A datagram matches when it starts with a long header (form and fixed
//! bits set) of version 1 (`0x00000001`) or 2 (`0x6b3343cf`) whose packet
//! type is that version's Initial, with connection ids of at most 20 bytes,
//! a token length and a payload length (variable-length integers) that fit
//! the datagram, and a payload long enough for a packet number and an AEAD
//! tag. The initiator's Initial must also have a destination connection id
//! of at least 8 bytes and fill a datagram of at least 1200 bytes (RFC 9000
//! section 14.1); a responder's Initial needs no minimum. The version is
//! the metadata; the encrypted ClientHello (and its SNI) is not read.

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The QUIC detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Quic,
    tcp: false,
    udp: true,
    detect,
}];

const V1: u32 = 0x0000_0001;
const V2: u32 = 0x6b33_43cf;
const MAX_CID: usize = 20;
/// RFC 9000 section 7.2: a client's first destination id is 8+ bytes.
const MIN_CLIENT_DCID: usize = 8;
/// RFC 9000 section 14.1.
const MIN_CLIENT_DATAGRAM: usize = 1200;
/// Packet number (1..=4) + a 16-byte AEAD tag + at least one frame byte.
const MIN_PAYLOAD: u64 = 1 + 16 + 1;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_client) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    initial(side, from_client).map_or(Sniff::NotThis, Sniff::Match)
}

fn initial(buf: &[u8], from_client: bool) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let first = c.u8()?;
    let version = c.be32()?;
    // Long header form, fixed bit set.
    if first & 0xc0 != 0xc0 {
        return None;
    }
    let kind = (first >> 4) & 0x03;
    let initial_type = match version {
        V1 => 0,
        V2 => 1,
        _ => return None,
    };
    if kind != initial_type {
        return None;
    }
    let dcid = c.vec8()?;
    let scid = c.vec8()?;
    if dcid.len() > MAX_CID || scid.len() > MAX_CID {
        return None;
    }
    if from_client && (dcid.len() < MIN_CLIENT_DCID || buf.len() < MIN_CLIENT_DATAGRAM) {
        return None;
    }
    let token_len = varint(&mut c)?;
    // A server's Initial never carries a token (RFC 9000 section 17.2.2).
    if !from_client && token_len != 0 {
        return None;
    }
    c.skip(usize::try_from(token_len).ok()?)?;
    let len = varint(&mut c)?;
    if len < MIN_PAYLOAD || len > c.remaining() as u64 {
        return None;
    }
    // Whatever follows in the datagram must be padding or another
    // long-header packet (coalesced Handshake / 0-RTT).
    c.skip(usize::try_from(len).ok()?)?;
    match at(c.rest(), 0) {
        None | Some(0) => {}
        Some(b) if b & 0xc0 == 0xc0 => {}
        Some(_) if !from_client => {}
        Some(_) => return None,
    }
    Some(Meta {
        version: Some(version),
        ..Meta::default()
    })
}

/// A QUIC variable-length integer (RFC 9000 section 16).
fn varint(c: &mut Cursor<'_>) -> Option<u64> {
    let first = c.u8()?;
    let extra = (1usize << (first >> 6)) - 1;
    let mut v = u64::from(first & 0x3f);
    for _ in 0..extra {
        v = (v << 8) | u64::from(c.u8()?);
    }
    Some(v)
}

#[cfg(test)]
#[path = "quic_tests.rs"]
mod tests;
