//! SIP detector tests over SIPp INVITEs (UDP, TCP), a sipsak OPTIONS and a
//! SIPp answer.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const INVITE: &[u8] = include_bytes!("testdata/udp/sip/sipp-invite.client.bin");
const TCP_INVITE: &[u8] = include_bytes!("testdata/tcp/sip/sipp-invite.client.bin");
const OPTIONS: &[u8] = include_bytes!("testdata/udp/sip/sipsak-options.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/sip/sipp-invite.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 5060,
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
fn requests_and_answer_match() {
    let m = meta(INVITE, b"", Transport::Udp);
    assert_eq!(m.method, Some(&b"INVITE"[..]));
    assert!(m.host.unwrap().starts_with(b"sip:fixture@"));
    assert_eq!(
        meta(TCP_INVITE, b"", Transport::Tcp).method,
        Some(&b"INVITE"[..])
    );
    let m = meta(OPTIONS, b"", Transport::Udp);
    assert_eq!(m.method, Some(&b"OPTIONS"[..]));
    assert!(m.software.unwrap().starts_with(b"sipsak"));
    assert_eq!(
        meta(b"", ANSWER, Transport::Udp).method,
        Some(&b"response"[..])
    );
}

#[test]
fn tcp_prefixes_need_more() {
    let line = TCP_INVITE.iter().position(|&b| b == b'\n').unwrap();
    for n in 0..line {
        assert_eq!(
            detect(&input(&TCP_INVITE[..n], b"", Transport::Tcp)),
            Sniff::NeedMore,
            "{n}"
        );
    }
    for n in 0..12 {
        assert_eq!(
            detect(&input(b"", &ANSWER[..n], Transport::Tcp)),
            Sniff::NeedMore,
            "{n}"
        );
    }
}

#[test]
fn near_misses_are_not_sip() {
    for bad in [
        &b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0 extra\r\n",
        b"INVITE nocolon SIP/2.0\r\n",
        b"INFO\r\n",
        b"SIP/2.0 99 Odd\r\n",
        b"SIP/2.0 700 Odd\r\n",
        b"\r\n\r\n",
    ] {
        let (c, s) = if bad.starts_with(b"SIP/") {
            (&b""[..], bad)
        } else {
            (bad, &b""[..])
        };
        assert_eq!(
            detect(&input(c, s, Transport::Udp)),
            Sniff::NotThis,
            "{bad:?}"
        );
        assert_eq!(
            detect(&input(c, s, Transport::Tcp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    // A TCP request line cut before the version with no more bytes coming.
    let cut = Input {
        complete: true,
        ..input(b"INVITE sip:a@b SIP/2", b"", Transport::Tcp)
    };
    assert_eq!(detect(&cut), Sniff::NotThis);
}
