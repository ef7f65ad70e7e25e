//! NBNS detector tests: a query sent by nmblookup and an RFC 1002 answer.
//! The DNS detector rules out NetBIOS-encoded names, so these fixtures
//! also run in the shared matrix.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const QUERY: &[u8] = include_bytes!("testdata/udp/nbns/nmblookup.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/nbns/rfc1002.server.bin");
const DNS_QUERY: &[u8] = include_bytes!("testdata/udp/dns/dig.client.bin");
const DNS_ANSWER: &[u8] = include_bytes!("testdata/udp/dns/dnsmasq.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 137,
        complete: true,
    }
}

#[test]
fn query_and_answer() {
    match detect(&input(QUERY, b"")) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"query"[..])),
        other => panic!("{other:?}"),
    }
    assert!(matches!(detect(&input(b"", ANSWER)), Sniff::Match(_)));
    // Broadcast (B flag) and node status (NBSTAT) queries.
    let mut bcast = QUERY.to_vec();
    bcast[3] = 0x10;
    bcast[47] = 0x21;
    assert!(matches!(detect(&input(&bcast, b"")), Sniff::Match(_)));
}

#[test]
fn rejects_dns_and_near_misses() {
    assert_eq!(detect(&input(DNS_QUERY, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(b"", DNS_ANSWER)), Sniff::NotThis);
    let patch = |i: usize, v: u8| {
        let mut b = QUERY.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        patch(2, 0x18),  // opcode 3
        patch(3, 0x40),  // reserved flag
        patch(5, 2),     // two questions
        patch(12, 31),   // name not 32 bytes
        patch(20, b'Q'), // not an encoded nibble
        patch(49, 3),    // class CH
        QUERY[..40].to_vec(),
    ] {
        assert_eq!(detect(&input(&bad, b"")), Sniff::NotThis, "{bad:?}");
    }
    let mut trailing = QUERY.to_vec();
    trailing.push(0);
    assert_eq!(detect(&input(&trailing, b"")), Sniff::NotThis);
    // A query from the responder, an answer from the initiator.
    assert_eq!(detect(&input(b"", QUERY)), Sniff::NotThis);
    assert_eq!(detect(&input(ANSWER, b"")), Sniff::NotThis);
}
