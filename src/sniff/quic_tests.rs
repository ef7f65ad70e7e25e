//! QUIC detector tests over aioquic Initials (v1, v2), a server Initial,
//! and Chromium's draft-29 and Google QUIC Q046 Initials.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const V1: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v1.client.bin");
const V2: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v2.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v1.server.bin");
const DRAFT29: &[u8] = include_bytes!("testdata/udp/quic/chromium-h3-29.client.bin");
const GQUIC: &[u8] = include_bytes!("testdata/udp/quic/chromium-q046.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 443,
        complete: false,
    }
}

#[test]
fn client_initials_name_their_version() {
    for (buf, v) in [(V1, 1), (V2, 0x6b33_43cf)] {
        match detect(&input(buf, b"")) {
            Sniff::Match(m) => assert_eq!(m.version, Some(v)),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn server_initial_alone_matches() {
    assert!(matches!(detect(&input(b"", SERVER)), Sniff::Match(_)));
}

#[test]
fn near_misses_are_not_quic() {
    // Truncated below 1200 bytes.
    assert_eq!(detect(&input(&V1[..1199], b"")), Sniff::NotThis);
    // v1 bytes with the v2 version (wrong packet type for v2).
    let mut b = V1.to_vec();
    b[1..5].copy_from_slice(&0x6b33_43cfu32.to_be_bytes());
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    // Unknown version, short header, fixed bit clear, oversized DCID.
    for (i, v) in [(1, 0xffu8), (0, 0x40), (0, 0x80 | (V1[0] & 0x3f)), (5, 21)] {
        let mut b = V1.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    // Payload length larger than the datagram.
    let mut b = vec![
        0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x7f, 0xff,
    ];
    b.resize(1200, 0);
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(&[0u8; 1300], b"")), Sniff::NotThis);
}

#[test]
fn every_truncation_is_safe() {
    for buf in [V1, V2, SERVER, DRAFT29, GQUIC] {
        for n in 0..buf.len() {
            let _ = detect(&input(&buf[..n], b""));
            let _ = detect(&input(b"", &buf[..n]));
        }
    }
}

#[test]
fn draft_29_initial_names_its_version() {
    match detect(&input(DRAFT29, b"")) {
        Sniff::Match(m) => assert_eq!(m.version, Some(0xff00_001d)),
        other => panic!("{other:?}"),
    }
    // Draft 26 predates the Initial layout accepted here.
    let mut b = DRAFT29.to_vec();
    b[1..5].copy_from_slice(&0xff00_001au32.to_be_bytes());
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
}

/// mvfst (Meta's QUIC) keeps v1's Initial layout under its own version
/// numbers (`quic/QuicConstants.h`: MVFST 0xfaceb002, QUIC_V1_ALIAS
/// 0xfaceb003, MVFST_EXPERIMENTAL 0xfaceb00e, MVFST_ALIAS 0xfaceb010...):
/// the recorded v1 Initial under those numbers is still QUIC.
#[test]
fn mvfst_versions_read_like_v1() {
    for v in [
        0xface_b002u32,
        0xface_b003,
        0xface_b00e,
        0xface_b010,
        0xface_b013,
    ] {
        let mut b = V1.to_vec();
        b[1..5].copy_from_slice(&v.to_be_bytes());
        match detect(&input(&b, b"")) {
            Sniff::Match(m) => assert_eq!(m.version, Some(v)),
            other => panic!("{v:#x}: {other:?}"),
        }
    }
    // A version outside the ranges is not claimed.
    let mut b = V1.to_vec();
    b[1..5].copy_from_slice(&0xface_b100u32.to_be_bytes());
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
}

#[test]
fn gquic_q046_chlo_names_version_and_sni() {
    match detect(&input(GQUIC, b"")) {
        Sniff::Match(m) => {
            assert_eq!(m.version, Some(u32::from_be_bytes(*b"Q046")));
            assert_eq!(m.sni, Some(&b"quic.fixture.test"[..]));
        }
        other => panic!("{other:?}"),
    }
}

/// Where Chromium's STREAM frame starts in the Q046 fixture: after the
/// zero padding that follows the header and hash.
fn gquic_frame() -> usize {
    let start = 1 + 4 + 1 + 8 + 4 + 12;
    start + GQUIC[start..].iter().position(|&b| b != 0).unwrap()
}

#[test]
fn gquic_with_an_explicit_data_length_matches() {
    // The same CHLO in a STREAM frame that carries its data length (the
    // layout older Chromium builds sent): type 0xa0, id 1, length 2 bytes.
    let at = gquic_frame();
    assert_eq!(&GQUIC[at..at + 2], &[0x80, 0x01]);
    let data = &GQUIC[at + 2..];
    let mut b = GQUIC[..at].to_vec();
    b.extend_from_slice(&[0xa0, 0x01]);
    b.extend_from_slice(&(data.len() as u16).to_be_bytes());
    b.extend_from_slice(data);
    match detect(&input(&b, b"")) {
        Sniff::Match(m) => assert_eq!(m.sni, Some(&b"quic.fixture.test"[..])),
        other => panic!("{other:?}"),
    }
    // A data length past the datagram.
    let n = b.len();
    b[at + 2..at + 4].copy_from_slice(&((n as u16) + 1).to_be_bytes());
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
}

#[test]
fn gquic_near_misses_are_not_quic() {
    let at = gquic_frame();
    for (i, v) in [
        (0, 0xd3u8),    // not an Initial
        (4, b'7'),      // Q047: not a layout read here
        (5, 0x55),      // a source connection id from a client
        (at, 0x00),     // no STREAM frame
        (at + 1, 0x03), // not the crypto stream
        (at + 2, b'X'), // not CHLO
    ] {
        let mut b = GQUIC.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    // A nonzero stream offset (offset length 2: type 0x84).
    let mut b = GQUIC[..at].to_vec();
    b.extend_from_slice(&[0x84, 0x01, 0x00, 0x10]);
    b.extend_from_slice(&GQUIC[at + 2..]);
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    // The client's CHLO seen from the server side is not a server message.
    assert_eq!(detect(&input(b"", GQUIC)), Sniff::NotThis);
}

#[test]
fn gquic_tag_table_is_bounds_checked() {
    let at = gquic_frame() + 2;
    // An SNI end offset past the message: no SNI, still gQUIC.
    let mut b = GQUIC.to_vec();
    let entries = u16::from_le_bytes([b[at + 4], b[at + 5]]) as usize;
    for e in 0..entries {
        let t = at + 8 + 8 * e;
        if &b[t..t + 4] == b"SNI\0" {
            b[t + 4..t + 8].copy_from_slice(&0xffff_u32.to_le_bytes());
        }
    }
    match detect(&input(&b, b"")) {
        Sniff::Match(m) => assert_eq!(m.sni, None),
        other => panic!("{other:?}"),
    }
    // Too many entries to be a handshake message: still gQUIC, no SNI.
    let mut b = GQUIC.to_vec();
    b[at + 4..at + 6].copy_from_slice(&1000u16.to_le_bytes());
    match detect(&input(&b, b"")) {
        Sniff::Match(m) => assert_eq!(m.sni, None),
        other => panic!("{other:?}"),
    }
}
