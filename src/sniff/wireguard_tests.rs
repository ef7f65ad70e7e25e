//! WireGuard detector tests over wireguard-go's handshake initiation and
//! response.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const INIT: &[u8] = include_bytes!("testdata/udp/wireguard/wireguard-go.client.bin");
const RESP: &[u8] = include_bytes!("testdata/udp/wireguard/wireguard-go.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 51820,
        complete: false,
    }
}

#[test]
fn handshake_matches() {
    assert!(
        matches!(detect(&input(INIT, RESP)), Sniff::Match(m) if m.method == Some(b"initiation"))
    );
    assert!(matches!(detect(&input(b"", RESP)), Sniff::Match(m) if m.method == Some(b"response")));
}

#[test]
fn near_misses_are_not_wireguard() {
    let mut long = INIT.to_vec();
    long.push(0);
    assert_eq!(detect(&input(&long, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(&INIT[..147], b"")), Sniff::NotThis);
    assert_eq!(detect(&input(RESP, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(b"", INIT)), Sniff::NotThis);
    for (i, v) in [(0usize, 4u8), (1, 1), (3, 1)] {
        let mut b = INIT.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i}");
    }
    // The right size and type, but zero padding where the key should be.
    let mut zeros = [0u8; 148];
    zeros[0] = 1;
    zeros[4] = 7;
    assert_eq!(detect(&input(&zeros, b"")), Sniff::NotThis);
}
