//! IKE detector tests over ike-scan's IKEv1 main mode, IKEv2 IKE_SA_INIT and
//! IKEv1 aggressive mode behind the non-ESP marker.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const V1: &[u8] = include_bytes!("testdata/udp/ike/ike-scan-v1.client.bin");
const V2: &[u8] = include_bytes!("testdata/udp/ike/ike-scan-v2.client.bin");
const NATT: &[u8] = include_bytes!("testdata/udp/ike/ike-scan-aggressive-natt.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 500,
        server_port: 500,
        complete: false,
    }
}

fn meta(buf: &[u8]) -> (Option<u32>, &[u8]) {
    match detect(&input(buf, b"")) {
        Sniff::Match(m) => (m.version, m.method.unwrap()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ike_scan_messages_match() {
    assert_eq!(meta(V1), (Some(1), &b"main"[..]));
    assert_eq!(meta(V2), (Some(2), &b"ike_sa_init"[..]));
    assert_eq!(&NATT[..4], &[0, 0, 0, 0]);
    assert_eq!(meta(NATT), (Some(1), &b"aggressive"[..]));
}

#[test]
fn near_misses_are_not_ike() {
    // Length off by one, version 3.0, unknown exchange, zero initiator SPI,
    // a first message from the responder (zero responder SPI).
    let mut long = V2.to_vec();
    long.push(0);
    assert_eq!(detect(&input(&long, b"")), Sniff::NotThis);
    for (i, v) in [(17usize, 0x30u8), (18, 99), (27, V2[27] ^ 4)] {
        let mut b = V2.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    let mut b = V1.to_vec();
    b[..8].fill(0);
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(b"", V2)), Sniff::NotThis);
    // A payload length that breaks the chain.
    let mut b = V1.to_vec();
    b[28 + 3] ^= 0x10;
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    // NAT-T keepalive, ESP (non-zero SPI on 4500).
    assert_eq!(detect(&input(&[0xff], b"")), Sniff::NotThis);
    assert_eq!(detect(&input(&NATT[4..][..40], b"")), Sniff::NotThis);
}

#[test]
fn every_truncation_is_safe() {
    for buf in [V1, V2, NATT] {
        for n in 1..buf.len() {
            assert_eq!(detect(&input(&buf[..n], b"")), Sniff::NotThis, "{n}");
        }
    }
}
