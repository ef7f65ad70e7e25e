//! OpenVPN: the first control packet of a session, over UDP or over TCP
//! with the two-byte length prefix of each packet.
//!
//! The initiator's first packet is a `P_CONTROL_HARD_RESET_CLIENT_V2`
//! (opcode 7), `_V3` (opcode 10, tls-crypt-v2) or `_V1` (opcode 1), key id
//! 0; the responder's is `P_CONTROL_HARD_RESET_SERVER_V2` / `_V1`. After
//! the opcode byte and the 8-byte session id, the packet must have exactly
//! the size and zero fields of one of the wire layouts OpenVPN uses:
//! - no control channel protection: ack count (0 from the client; 1, the
//!   acked packet id 0 and the client's session id from the server) and
//!   message packet id 0;
//! - `--tls-auth` with an HMAC of 16, 20, 32, 48 or 64 bytes: the same,
//!   after the HMAC, a small replay packet id and a plausible timestamp;
//! - `--tls-crypt`: replay packet id and timestamp, a 32-byte tag and the
//!   encrypted ack count and packet id (5 or 13 bytes, plus the optional
//!   6-byte early-negotiation TLV);
//! - `--tls-crypt-v2` (V3 only): the same, followed by the wrapped client
//!   key, whose last two bytes give its length.

use super::cursor::{at, be16_at, be32_at};
use super::{Detector, Input, Meta, Proto, Sniff, Transport, SAMPLE_MAX};

/// The OpenVPN detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Openvpn,
    tcp: true,
    udp: true,
    detect,
}];

const CLIENT_V1: u8 = 1 << 3;
const SERVER_V1: u8 = 2 << 3;
const CLIENT_V2: u8 = 7 << 3;
const SERVER_V2: u8 = 8 << 3;
const CLIENT_V3: u8 = 10 << 3;
/// Opcode byte + session id.
const HEAD: usize = 9;
const HMAC_SIZES: &[usize] = &[16, 20, 32, 48, 64];
/// The early-negotiation TLV OpenVPN 2.6 may append (type 0x0f00).
const TLV: usize = 6;
const TAG: usize = 32;
/// Replay packet id + timestamp.
const REPLAY: usize = 8;
/// A TCP packet never exceeds this (a control packet with a wrapped key).
const MAX_TCP_PACKET: usize = 2048;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_client) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    if input.transport == Transport::Udp {
        return verdict(packet(side, from_client));
    }
    let Some(len) = be16_at(side, 0).map(usize::from) else {
        return Sniff::NeedMore;
    };
    if !(14..=MAX_TCP_PACKET).contains(&len) {
        return Sniff::NotThis;
    }
    match at(side, 2) {
        None => return Sniff::NeedMore,
        Some(op) if opcode(op, from_client).is_none() => return Sniff::NotThis,
        Some(_) => {}
    }
    match side.get(2..2 + len) {
        Some(p) => verdict(packet(p, from_client)),
        None if input.complete || side.len() >= SAMPLE_MAX => Sniff::NotThis,
        None => Sniff::NeedMore,
    }
}

fn verdict(meta: Option<Meta<'_>>) -> Sniff<Meta<'_>> {
    meta.map_or(Sniff::NotThis, Sniff::Match)
}

/// The reset's name and version for a sender, if the opcode byte fits.
fn opcode(op: u8, from_client: bool) -> Option<(&'static [u8], u32)> {
    match (op, from_client) {
        (CLIENT_V2, true) => Some((b"hard-reset-client", 2)),
        (CLIENT_V3, true) => Some((b"hard-reset-client", 3)),
        (CLIENT_V1, true) => Some((b"hard-reset-client", 1)),
        (SERVER_V2, false) => Some((b"hard-reset-server", 2)),
        (SERVER_V1, false) => Some((b"hard-reset-server", 1)),
        _ => None,
    }
}

/// One whole packet.
fn packet(p: &[u8], from_client: bool) -> Option<Meta<'_>> {
    let (name, version) = opcode(at(p, 0)?, from_client)?;
    let sid = p.get(1..HEAD)?;
    if sid.iter().all(|&b| b == 0) {
        return None;
    }
    // ack count, acked ids and the peer's session id, message packet id.
    let clear = if from_client { 1 + 4 } else { 1 + 4 + 8 + 4 };
    let after = p.get(HEAD..)?;
    let ok = if version == 3 {
        crypt_v2(after, clear)
    } else {
        clear_reset(after, from_client)
            || HMAC_SIZES.iter().any(|&h| {
                after.get(h..).is_some_and(|a| {
                    replay_ok(a) && clear_reset(a.get(REPLAY..).unwrap_or_default(), from_client)
                })
            })
            || crypt(after, clear)
    };
    ok.then_some(Meta {
        method: Some(name),
        version: Some(version),
        ..Meta::default()
    })
}

/// The unprotected tail: ack array, message packet id 0, optional TLV.
fn clear_reset(t: &[u8], from_client: bool) -> bool {
    let acks = if from_client { 0 } else { 1 };
    if at(t, 0) != Some(acks) {
        return false;
    }
    let ack_block = if from_client { 1 } else { 1 + 4 + 8 };
    if !from_client {
        // The client's first packet id 0, then the client's session id.
        let remote_sid = t.get(5..13).unwrap_or_default();
        if be32_at(t, 1) != Some(0) || remote_sid.iter().all(|&b| b == 0) {
            return false;
        }
    }
    let rest = t.get(ack_block + 4..);
    be32_at(t, ack_block) == Some(0)
        && match rest {
            Some([]) => true,
            Some(tlv) => tlv.len() == TLV && be16_at(tlv, 0) == Some(0x0f00),
            None => false,
        }
}

/// Replay packet id (a low counter, possibly with the 0x0f early-negotiation
/// marker in its top byte) and a timestamp after 2010.
fn replay_ok(r: &[u8]) -> bool {
    let (Some(pid), Some(time)) = (be32_at(r, 0), be32_at(r, 4)) else {
        return false;
    };
    let marker_ok = matches!(pid >> 24, 0 | 0x0f);
    marker_ok
        && (1..=64).contains(&(pid & 0x00ff_ffff))
        && (0x4b00_0000..0xf000_0000).contains(&time)
}

/// tls-crypt: replay fields, tag, then the encrypted clear tail.
fn crypt(t: &[u8], clear: usize) -> bool {
    let body = t.len().checked_sub(REPLAY + TAG);
    replay_ok(t) && matches!(body, Some(n) if n == clear || n == clear + TLV)
}

/// tls-crypt-v2: a tls-crypt packet followed by the wrapped client key.
fn crypt_v2(t: &[u8], clear: usize) -> bool {
    let Some(wkc_len) = t
        .len()
        .checked_sub(2)
        .and_then(|i| be16_at(t, i))
        .map(usize::from)
    else {
        return false;
    };
    // The wrapped key holds at least a tag and its own length.
    if wkc_len < TAG + 2 || wkc_len > t.len() {
        return false;
    }
    crypt(t.get(..t.len() - wkc_len).unwrap_or_default(), clear)
}

#[cfg(test)]
#[path = "openvpn_tests.rs"]
mod tests;
