//! STUN detector tests over coturn's client and server, and the classic
//! RFC 3489 `stun` client.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const BINDING: &[u8] = include_bytes!("testdata/udp/stun/coturn-binding.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/stun/coturn-binding.server.bin");
const CLASSIC: &[u8] = include_bytes!("testdata/udp/stun/stun-client-classic.client.bin");
const ALLOCATE: &[u8] = include_bytes!("testdata/tcp/stun/coturn-allocate.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 3478,
        complete: false,
    }
}

fn meta<'a>(client: &'a [u8], server: &'a [u8], t: Transport) -> Meta<'a> {
    match detect(&input(client, server, t)) {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn messages_match_with_method_and_software() {
    assert_eq!(
        meta(BINDING, b"", Transport::Udp).method,
        Some(&b"binding"[..])
    );
    assert_eq!(
        meta(CLASSIC, b"", Transport::Udp).method,
        Some(&b"binding"[..])
    );
    assert_eq!(
        meta(ALLOCATE, b"", Transport::Tcp).method,
        Some(&b"allocate"[..])
    );
    let m = meta(b"", ANSWER, Transport::Udp);
    assert!(m.software.unwrap().starts_with(b"Coturn"), "{m:?}");
}

#[test]
fn tcp_prefixes_need_more() {
    for n in 0..ALLOCATE.len() {
        assert_eq!(
            detect(&input(&ALLOCATE[..n], b"", Transport::Tcp)),
            Sniff::NeedMore,
            "{n}"
        );
    }
}

#[test]
fn near_misses_are_not_stun() {
    // A request from the responder, a response from the initiator.
    assert_eq!(detect(&input(b"", BINDING, Transport::Udp)), Sniff::NotThis);
    assert_eq!(detect(&input(ANSWER, b"", Transport::Udp)), Sniff::NotThis);
    // Classic STUN is UDP only; a broken cookie; a length off by four.
    assert_eq!(detect(&input(CLASSIC, b"", Transport::Tcp)), Sniff::NotThis);
    assert!(matches!(
        detect(&input(ALLOCATE, b"", Transport::Udp)),
        Sniff::Match(_)
    ));
    let mut b = ALLOCATE.to_vec();
    b[5] ^= 1;
    assert_eq!(detect(&input(&b, b"", Transport::Udp)), Sniff::NotThis);
    let mut b = ANSWER.to_vec();
    b[3] -= 4;
    assert_eq!(detect(&input(b"", &b, Transport::Udp)), Sniff::NotThis);
    // Unknown method, top bits set, zero transaction id without cookie.
    for bad in [
        &b"\x00\x0f\x00\x00\x21\x12\xa4\x42aaaaaaaaaaaa"[..],
        b"\xc0\x01\x00\x00",
        &[0, 1, 0, 0].repeat(5),
    ] {
        assert_eq!(
            detect(&input(bad, b"", Transport::Udp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    assert_eq!(
        detect(&input(b"GET / HTTP/1.1\r\n", b"", Transport::Tcp)),
        Sniff::NotThis
    );
}

#[test]
fn every_truncation_is_safe() {
    for buf in [BINDING, ANSWER, CLASSIC, ALLOCATE] {
        for n in 1..buf.len() {
            assert_eq!(
                detect(&input(&buf[..n], b"", Transport::Udp)),
                Sniff::NotThis,
                "{n}"
            );
            let _ = detect(&input(b"", &buf[..n], Transport::Tcp));
        }
    }
}
