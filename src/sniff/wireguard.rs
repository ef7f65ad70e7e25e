//! WireGuard over UDP: the handshake initiation (message type 1) and the
//! handshake response (type 2) of the WireGuard protocol paper, section 5.4.
//!
//! A datagram matches only with the exact size of its message type (148
//! bytes for an initiation, 92 for a response), the three reserved bytes
//! zero, a non-zero sender index, and an ephemeral public key that looks
//! random (a Curve25519 key is never a run of a few repeated byte values).
//! Transport data and cookie replies are not matched: a flow is named from
//! its handshake.

use super::cursor::{at, le32_at};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The WireGuard detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Wireguard,
    tcp: false,
    udp: true,
    detect,
}];

const INITIATION: u8 = 1;
const RESPONSE: u8 = 2;
/// type + reserved + sender + ephemeral + static + timestamp + mac1 + mac2.
const INITIATION_LEN: usize = 4 + 4 + 32 + 48 + 28 + 16 + 16;
/// type + reserved + sender + receiver + ephemeral + empty + mac1 + mac2.
const RESPONSE_LEN: usize = 4 + 4 + 4 + 32 + 16 + 16 + 16;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return message(input.client, INITIATION);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    message(input.server, RESPONSE)
}

fn message(buf: &[u8], want: u8) -> Sniff<Meta<'_>> {
    let (len, ephemeral_at) = match want {
        INITIATION => (INITIATION_LEN, 8),
        _ => (RESPONSE_LEN, 12),
    };
    if buf.len() != len || at(buf, 0) != Some(want) || buf.get(1..4) != Some(&[0, 0, 0][..]) {
        return Sniff::NotThis;
    }
    if le32_at(buf, 4).unwrap_or(0) == 0 {
        return Sniff::NotThis;
    }
    if want == RESPONSE && le32_at(buf, 8).unwrap_or(0) == 0 {
        return Sniff::NotThis;
    }
    let Some(ephemeral) = buf.get(ephemeral_at..ephemeral_at + 32) else {
        return Sniff::NotThis;
    };
    if !looks_random(ephemeral) {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(if want == INITIATION {
            b"initiation"
        } else {
            b"response"
        }),
        ..Meta::default()
    })
}

/// 32 random bytes hold about 30 distinct values; fewer than 16 means the
/// field is padding or text, not a public key.
fn looks_random(key: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in key {
        if let Some(s) = seen.get_mut(usize::from(b)) {
            if !*s {
                *s = true;
                distinct += 1;
            }
        }
    }
    distinct >= 16
}

#[cfg(test)]
#[path = "wireguard_tests.rs"]
mod tests;
