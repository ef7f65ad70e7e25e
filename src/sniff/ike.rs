//! IKE (ISAKMP) over UDP: IKEv1 (RFC 2408 / 2409) and IKEv2 (RFC 7296), on
//! port 500 or behind the four-zero-byte non-ESP marker of NAT traversal
//! (RFC 3948, used on port 4500).
//!
//! A datagram matches with a 28-byte ISAKMP header whose initiator SPI is
//! non-zero, version 1.0 or 2.0, an exchange type of that version, only the
//! flag bits that version defines, and a length equal to the datagram's.
//! The payload chain (next payload, reserved, length) must then end exactly
//! at that length, with payload types of that version (an encrypted IKEv1
//! body or an IKEv2 SK payload is taken as one opaque payload). A zero
//! responder SPI is only accepted on a first exchange with message id 0, and
//! the responder's side alone needs a non-zero responder SPI.

use super::cursor::{at, be16_at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The IKE detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Ike,
    tcp: false,
    udp: true,
    detect,
}];

/// IKEv2's Encrypted and Authenticated payload.
const SK: u8 = 46;
/// IKEv2's Encrypted and Authenticated Fragment payload (RFC 7383).
const SKF: u8 = 53;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let (side, from_initiator) = if input.client.is_empty() {
        (input.server, false)
    } else {
        (input.client, true)
    };
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    // RFC 3948: on the NAT-T port, IKE follows a non-ESP marker.
    let msg = match side.strip_prefix(&[0, 0, 0, 0]) {
        Some(rest) => rest,
        None => side,
    };
    match message(msg, from_initiator) {
        Some(meta) => Sniff::Match(meta),
        None => Sniff::NotThis,
    }
}

fn message(buf: &[u8], from_initiator: bool) -> Option<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let ispi = c.take(8)?;
    let rspi = c.take(8)?;
    let (np, version, exchange, flags) = (c.u8()?, c.u8()?, c.u8()?, c.u8()?);
    let msg_id = c.be32()?;
    let len = c.be32()?;
    if ispi.iter().all(|&b| b == 0) || usize::try_from(len).ok()? != buf.len() {
        return None;
    }
    let zero_rspi = rspi.iter().all(|&b| b == 0);
    let (major, name): (u32, &'static [u8]) = match (version, exchange) {
        (0x10, 1) => (1, b"base"),
        (0x10, 2) => (1, b"main"),
        (0x10, 3) => (1, b"auth-only"),
        (0x10, 4) => (1, b"aggressive"),
        (0x10, 5) => (1, b"informational"),
        (0x10, 32) => (1, b"quick"),
        (0x10, 33) => (1, b"new-group"),
        (0x20, 34) => (2, b"ike_sa_init"),
        (0x20, 35) => (2, b"ike_auth"),
        (0x20, 36) => (2, b"create_child_sa"),
        (0x20, 37) => (2, b"informational"),
        (0x20, 43) => (2, b"ike_session_resume"),
        _ => return None,
    };
    let first_exchange = matches!(exchange, 1..=4 | 34 | 43) && msg_id == 0;
    if zero_rspi && !(from_initiator && first_exchange) {
        return None;
    }
    let encrypted = if major == 1 {
        // Encryption, Commit, Authentication Only.
        if flags & !0x07 != 0 {
            return None;
        }
        flags & 0x01 != 0
    } else {
        // Initiator, Version, Response; the initiator's requests carry I
        // and not R on a first exchange.
        if flags & !0x38 != 0 || (zero_rspi && flags & 0x28 != 0x08) {
            return None;
        }
        false
    };
    payloads(c.rest(), np, major, encrypted)?;
    Some(Meta {
        method: Some(name),
        version: Some(major),
        ..Meta::default()
    })
}

/// Walks the payload chain; it must end exactly at the message's end.
fn payloads(mut body: &[u8], mut np: u8, major: u32, encrypted: bool) -> Option<()> {
    if encrypted {
        // IKEv1 with the E flag: the payloads are ciphertext, in whole blocks.
        return (!body.is_empty() && body.len() % 8 == 0 && known(np, major)).then_some(());
    }
    let mut count = 0;
    while np != 0 {
        if !known(np, major) || count > 64 {
            return None;
        }
        let next = at(body, 0)?;
        let critical = at(body, 1)?;
        let len = usize::from(be16_at(body, 2)?);
        // IKEv1 reserves the byte; IKEv2 uses its top bit as "critical".
        let reserved_ok = if major == 1 {
            critical == 0
        } else {
            critical & 0x7f == 0
        };
        if len < 4 || !reserved_ok {
            return None;
        }
        body = body.get(len..)?;
        if np == SK || np == SKF {
            // Everything after the SK header is ciphertext: the chain ends.
            return body.is_empty().then_some(());
        }
        np = next;
        count += 1;
    }
    body.is_empty().then_some(())
}

fn known(np: u8, major: u32) -> bool {
    if major == 1 {
        // RFC 2408 payloads, NAT-D / NAT-OA (RFC 3947) and their drafts.
        matches!(np, 1..=13 | 15 | 16 | 20 | 21 | 130..=132)
    } else {
        // RFC 7296 payloads 33-48, and later ones up to 54.
        matches!(np, 33..=54)
    }
}

#[cfg(test)]
#[path = "ike_tests.rs"]
mod tests;
