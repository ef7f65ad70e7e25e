//! QUIC detector tests over aioquic Initials (v1, v2) and a server Initial.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const V1: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v1.client.bin");
const V2: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v2.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/udp/quic/aioquic-v1.server.bin");

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
    for buf in [V1, V2, SERVER] {
        for n in 0..buf.len() {
            let _ = detect(&input(&buf[..n], b""));
            let _ = detect(&input(b"", &buf[..n]));
        }
    }
}
