//! QUIC v1 (RFC 9000), v2 (RFC 9369), the IETF drafts 27 to 34 that
//! preceded v1, and Google QUIC Q046, over UDP: the long-header Initial
//! packet that opens every connection.
//!
//! A datagram matches when it starts with a long header (form and fixed
//! bits set) of version 1 (`0x00000001`), 2 (`0x6b3343cf`) or a draft
//! (`0xff00001b` to `0xff000022`, with v1's packet types) whose packet
//! type is that version's Initial, with connection ids of at most 20 bytes,
//! a token length and a payload length (variable-length integers) that fit
//! the datagram, and a payload long enough for a packet number and an AEAD
//! tag. The initiator's Initial must also have a destination connection id
//! of at least 8 bytes and fill a datagram of at least 1200 bytes (RFC 9000
//! section 14.1); a responder's Initial needs no minimum. The version is
//! the metadata; the encrypted ClientHello (and its SNI) is not read.
//! Meta's mvfst versions (`0xfaceb0xx`, v1's layout) are read like v1.
//!
//! Google QUIC Q046 (still sent by Chromium when asked, and by older
//! Google clients) has the same long-header invariants but its own packet
//! layout, and its handshake travels in clear: a datagram matches when its
//! version is `Q046`, its connection-id lengths are packed in one byte (the
//! client's destination id 8 bytes, no source id; the server's the other
//! way round), and after the packet number and the 12-byte message hash,
//! past any padding, comes a STREAM frame on the crypto stream (id 1) at
//! offset 0 whose data opens with the handshake message tag: `CHLO` from a
//! client, `REJ\0` or `SHLO` from a server. The `SNI` tag of a CHLO is the
//! `sni` metadata; `version` is the version tag read as a big-endian number.

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
/// IETF drafts 27 to 34: v1's packet types and Initial layout.
const DRAFTS: std::ops::RangeInclusive<u32> = 0xff00_001b..=0xff00_0022;
/// Meta's mvfst (Facebook, Instagram, WhatsApp apps and their servers):
/// `0xfaceb001` to `0xfaceb013` so far (MVFST, MVFST_ALIAS,
/// MVFST_EXPERIMENTAL...), each with draft 29's / v1's packet layout and
/// packet types.
const MVFST: std::ops::RangeInclusive<u32> = 0xface_b001..=0xface_b0ff;
/// Google QUIC version tag `Q046`.
const Q046: u32 = u32::from_be_bytes(*b"Q046");
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
    initial(side, from_client)
        .or_else(|| gquic(side, from_client))
        .map_or(Sniff::NotThis, Sniff::Match)
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
        v if DRAFTS.contains(&v) || MVFST.contains(&v) => 0,
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

/// The 12-byte hash that authenticates a Google QUIC packet in clear.
const GQUIC_HASH: usize = 12;
/// Google QUIC connection ids are 8 bytes.
const GQUIC_CID: u8 = 8;
/// Tag-value pairs in one handshake message (QUICHE's kMaxEntries).
const GQUIC_MAX_TAGS: u16 = 128;

/// A Google QUIC Q046 packet carrying the first handshake message.
fn gquic(buf: &[u8], from_client: bool) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let first = c.u8()?;
    // Long header, fixed bit, Initial (type 0).
    if first & 0xf0 != 0xc0 || c.be32()? != Q046 {
        return None;
    }
    // Connection-id lengths, one nibble each: 0, or 3 + the nibble.
    let lens = c.u8()?;
    let len = |n: u8| if n == 0 { 0 } else { n + 3 };
    let (dcid, scid) = (len(lens >> 4), len(lens & 0x0f));
    let expect = if from_client {
        (GQUIC_CID, 0)
    } else {
        (0, GQUIC_CID)
    };
    if (dcid, scid) != expect {
        return None;
    }
    c.skip(usize::from(dcid + scid))?;
    c.skip(usize::from(first & 0x03) + 1)?;
    c.skip(GQUIC_HASH)?;
    // Padding (zero bytes) may come first; then the STREAM frame.
    let frame = c.rest().iter().position(|&b| b != 0)?;
    c.skip(frame)?;
    let kind = c.u8()?;
    // 1fdooos s: STREAM, FIN, data-length present, offset and id lengths.
    if kind & 0x80 == 0 {
        return None;
    }
    let id_len = usize::from(kind & 0x03) + 1;
    let offset_len = match (kind >> 2) & 0x07 {
        0 => 0,
        n => usize::from(n) + 1,
    };
    let id = c
        .take(id_len)?
        .iter()
        .fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let offset = c.take(offset_len)?.iter().any(|&b| b != 0);
    if id != 1 || offset {
        return None;
    }
    let data = if kind & 0x20 != 0 {
        let n = usize::from(c.be16()?);
        c.take(n)?
    } else {
        c.rest()
    };
    let tag = data.get(..4)?;
    let ok = if from_client {
        tag == b"CHLO"
    } else {
        tag == b"REJ\0" || tag == b"SHLO"
    };
    if !ok {
        return None;
    }
    Some(Meta {
        sni: handshake_tag(data, *b"SNI\0"),
        version: Some(Q046),
        ..Meta::default()
    })
}

/// The value of `want` in a Google QUIC handshake message: tag, entry
/// count (little-endian), two bytes of padding, then (tag, end offset)
/// pairs and the values they delimit.
fn handshake_tag(msg: &[u8], want: [u8; 4]) -> Option<&[u8]> {
    let mut c = Cursor::new(msg);
    c.skip(4)?;
    let n = c.le16()?;
    c.skip(2)?;
    if n > GQUIC_MAX_TAGS {
        return None;
    }
    let values = msg.get(8 + 8 * usize::from(n)..)?;
    let mut start = 0usize;
    for _ in 0..n {
        let tag = c.take(4)?;
        let end = usize::try_from(c.le32()?).ok()?;
        if end < start {
            return None;
        }
        if tag == want {
            return values.get(start..end).filter(|v| !v.is_empty());
        }
        start = end;
    }
    None
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
