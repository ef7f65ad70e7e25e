//! BitTorrent detector tests over libtorrent's peer handshake, a DHT query
//! it sent to a bootstrap node and its DHT node's answer to a ping.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const HANDSHAKE: &[u8] = include_bytes!("testdata/tcp/bittorrent/libtorrent.client.bin");
const QUERY: &[u8] = include_bytes!("testdata/udp/bittorrent-dht/libtorrent-query.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/bittorrent-dht/libtorrent-ping.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 6881,
        complete: false,
    }
}

#[test]
fn peer_handshake_every_prefix() {
    for n in 0..20 {
        assert_eq!(
            detect_peer(&input(&HANDSHAKE[..n], b"", Transport::Tcp)),
            Sniff::NeedMore
        );
    }
    match detect_peer(&input(HANDSHAKE, b"", Transport::Tcp)) {
        Sniff::Match(m) => assert_eq!(m.software, Some(&b"LT2080"[..])),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        detect_peer(&input(b"", HANDSHAKE, Transport::Tcp)),
        Sniff::Match(_)
    ));
}

#[test]
fn dht_query_and_answer_match() {
    match detect_dht(&input(QUERY, b"", Transport::Udp)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"get_peers"[..])),
        other => panic!("{other:?}"),
    }
    match detect_dht(&input(b"", ANSWER, Transport::Udp)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"response"[..])),
        other => panic!("{other:?}"),
    }
    let ping = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert!(matches!(
        detect_dht(&input(ping, b"", Transport::Udp)),
        Sniff::Match(_)
    ));
    let err = b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
    assert!(matches!(
        detect_dht(&input(err, b"", Transport::Udp)),
        Sniff::Match(_)
    ));
}

#[test]
fn near_misses_are_not_bittorrent() {
    for bad in [
        &b"\x13BitTorrent protocoX"[..],
        b"\x12BitTorrent protocol",
        b"GET /announce?info_hash=x HTTP/1.1\r\n",
    ] {
        assert_eq!(
            detect_peer(&input(bad, b"", Transport::Tcp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    for bad in [
        // Unknown method, id of 19 bytes, unsorted keys, trailing bytes,
        // a leading-zero length, no transaction id, a bare list.
        &b"d1:ad2:id20:abcdefghij0123456789e1:q4:pong1:t2:aa1:y1:qe"[..],
        b"d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe",
        b"d1:q4:ping1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe",
        b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qex",
        b"d1:ad2:id020:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe",
        b"l4:spam4:eggse",
        b"d",
        b"d999999999999:",
    ] {
        assert_eq!(
            detect_dht(&input(bad, b"", Transport::Udp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    // Deep nesting is bounded.
    let deep = [&b"d1:a"[..], &b"l".repeat(5000), &b"e".repeat(5000), b"e"].concat();
    assert_eq!(
        detect_dht(&input(&deep, b"", Transport::Udp)),
        Sniff::NotThis
    );
}

#[test]
fn every_truncation_is_safe() {
    for buf in [QUERY, ANSWER] {
        for n in 1..buf.len() {
            assert_eq!(
                detect_dht(&input(&buf[..n], b"", Transport::Udp)),
                Sniff::NotThis,
                "{n}"
            );
        }
    }
}
