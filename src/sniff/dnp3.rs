//! DNP3 (IEEE 1815) link-layer frames over TCP and UDP.
//!
//! A frame starts `05 64`, a length (5 to 255: control, addresses and user
//! data), a control byte, destination and source addresses (little-endian),
//! and a CRC-16/DNP over those 8 bytes. User data follows in blocks of up
//! to 16 bytes, each with its own CRC. A match needs the header CRC to
//! verify, a function code defined for the frame's direction (PRM bit), and
//! every user-data block present in the sample to verify too. The `method`
//! says which station sent the frame (the DIR bit): `master` or `outstation`. The first
//! frame of either side matches (outstations may send unsolicited frames).

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, Transport};

/// The DNP3 detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Dnp3,
    tcp: true,
    udp: true,
    detect,
}];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let side = input.first_side();
    if side.is_empty() {
        return Sniff::NeedMore;
    }
    // A datagram arrives whole; on TCP, the peer only answers a whole frame.
    let answered = !input.client.is_empty() && !input.server.is_empty();
    let whole = input.transport == Transport::Udp || input.complete || answered;
    match frame(side) {
        Sniff::NeedMore if whole => Sniff::NotThis,
        other => other,
    }
}

/// CRC-16/DNP: reflected polynomial 0xA6BC, initial 0, final complement.
pub(crate) fn crc(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa6bc
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn frame(buf: &[u8]) -> Sniff<Meta<'_>> {
    for (i, want) in [(0, 0x05), (1, 0x64)] {
        match at(buf, i) {
            None => return Sniff::NeedMore,
            Some(b) if b == want => {}
            Some(_) => return Sniff::NotThis,
        }
    }
    let len = match at(buf, 2) {
        None => return Sniff::NeedMore,
        Some(n) if n >= 5 => usize::from(n),
        Some(_) => return Sniff::NotThis,
    };
    let Some(ctrl) = at(buf, 3) else {
        return Sniff::NeedMore;
    };
    let prm = ctrl & 0x40 != 0;
    let func = ctrl & 0x0f;
    let known = if prm {
        matches!(func, 0 | 1 | 2 | 3 | 4 | 9)
    } else {
        matches!(func, 0 | 1 | 11 | 15)
    };
    if !known {
        return Sniff::NotThis;
    }
    let mut c = Cursor::new(buf);
    let (Some(head), Some(head_crc)) = (c.take(8), c.le16()) else {
        return Sniff::NeedMore;
    };
    if crc(head) != head_crc {
        return Sniff::NotThis;
    }
    // User data blocks: 16 bytes (the last one shorter) plus a CRC each.
    let mut data = len - 5;
    while data > 0 {
        let n = data.min(16);
        let (Some(block), Some(block_crc)) = (c.take(n), c.le16()) else {
            // The header alone is strong; a frame cut short still matches.
            break;
        };
        if crc(block) != block_crc {
            return Sniff::NotThis;
        }
        data -= n;
    }
    Sniff::Match(Meta {
        // DIR: set on frames from the master.
        method: Some(if ctrl & 0x80 != 0 {
            b"master"
        } else {
            b"outstation"
        }),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "dnp3_tests.rs"]
mod tests;
