//! DNS detector tests over dig queries and a dnsmasq answer.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const UDP_QUERY: &[u8] = include_bytes!("testdata/udp/dns/dig.client.bin");
const TCP_QUERY: &[u8] = include_bytes!("testdata/tcp/dns/dig.client.bin");
const UDP_ANSWER: &[u8] = include_bytes!("testdata/udp/dns/dnsmasq.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 53,
        complete: false,
    }
}

#[test]
fn dig_queries_match() {
    assert!(matches!(
        detect(&input(UDP_QUERY, b"", Transport::Udp)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        detect(&input(TCP_QUERY, b"", Transport::Tcp)),
        Sniff::Match(_)
    ));
    for n in 0..TCP_QUERY.len() {
        assert_eq!(
            detect(&input(&TCP_QUERY[..n], b"", Transport::Tcp)),
            Sniff::NeedMore,
            "{n}"
        );
    }
}

#[test]
fn answer_alone_matches() {
    assert!(matches!(
        detect(&input(b"", UDP_ANSWER, Transport::Udp)),
        Sniff::Match(_)
    ));
}

#[test]
fn truncated_udp_query_is_not_dns() {
    assert_eq!(
        detect(&input(&UDP_QUERY[..20], b"", Transport::Udp)),
        Sniff::NotThis
    );
}

#[test]
fn rejects_other_protocols() {
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        &[0u8; 48][..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        assert_eq!(
            detect(&input(bad, b"", Transport::Udp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
}

const KDIG: &[u8] = include_bytes!("testdata/tcp/dns/kdig.client.bin");
const DRILL: &[u8] = include_bytes!("testdata/tcp/dns/drill.client.bin");

#[test]
fn pipelined_tcp_queries_in_one_segment_match_on_the_first() {
    // RFC 7766 section 6.2.1.1: a client may send several queries at once;
    // the segment then holds two length-prefixed messages back to back.
    for (a, b) in [(KDIG, DRILL), (TCP_QUERY, KDIG), (DRILL, TCP_QUERY)] {
        let both = [a, b].concat();
        assert!(
            matches!(detect(&input(&both, b"", Transport::Tcp)), Sniff::Match(_)),
            "{both:02x?}"
        );
        // Every cut of the pair is "need more" or DNS.
        for n in 0..both.len() {
            let r = detect(&input(&both[..n], b"", Transport::Tcp));
            assert!(
                matches!(r, Sniff::Match(_) | Sniff::NeedMore),
                "cut {n}: {r:?}"
            );
        }
    }
}
