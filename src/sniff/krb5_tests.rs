//! Kerberos detector tests over MIT kinit / krb5kdc exchanges (TCP and UDP).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const TCP_REQ: &[u8] = include_bytes!("testdata/tcp/krb5/mit-kinit.client.bin");
const TCP_REP: &[u8] = include_bytes!("testdata/tcp/krb5/mit-kinit.server.bin");
const UDP_REQ: &[u8] = include_bytes!("testdata/udp/krb5/mit-kinit.client.bin");
const UDP_REP: &[u8] = include_bytes!("testdata/udp/krb5/mit-kinit.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 8800,
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
fn as_req_and_error_both_transports() {
    for (req, t) in [(TCP_REQ, Transport::Tcp), (UDP_REQ, Transport::Udp)] {
        let m = meta(req, b"", t);
        assert_eq!(m.method, Some(&b"as-req"[..]));
        assert_eq!(m.host, Some(&b"FIXTURE.TEST"[..]));
        assert_eq!(m.version, Some(5));
    }
    // alice needs no pre-authentication: the KDC answers with an AS-REP.
    assert_eq!(
        meta(b"", TCP_REP, Transport::Tcp).method,
        Some(&b"as-rep"[..])
    );
    assert_eq!(
        meta(b"", UDP_REP, Transport::Udp).method,
        Some(&b"as-rep"[..])
    );
    let err = b"\x7e\x0d\x30\x0b\xa0\x03\x02\x01\x05\xa1\x04\x02\x02\x00\x1e";
    assert_eq!(detect(&input(b"", err, Transport::Udp)), Sniff::NotThis);
    let err = b"\x7e\x0c\x30\x0a\xa0\x03\x02\x01\x05\xa1\x03\x02\x01\x1e";
    assert_eq!(
        meta(b"", err, Transport::Udp).method,
        Some(&b"krb-error"[..])
    );
    for n in 0..TCP_REQ.len() {
        let got = detect(&input(&TCP_REQ[..n], b"", Transport::Tcp));
        assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
    }
}

#[test]
fn framing_must_agree() {
    // The UDP message with a TCP record mark stripped / added.
    assert_eq!(detect(&input(UDP_REQ, b"", Transport::Tcp)), Sniff::NotThis);
    assert_eq!(detect(&input(TCP_REQ, b"", Transport::Udp)), Sniff::NotThis);
    let mut mark = TCP_REQ.to_vec();
    mark[3] += 1;
    assert_eq!(detect(&input(&mark, b"", Transport::Tcp)), Sniff::NotThis);
    mark[3] -= 1;
    mark[0] = 0x80;
    assert_eq!(detect(&input(&mark, b"", Transport::Tcp)), Sniff::NotThis);
}

#[test]
fn rejects_near_misses() {
    let patch = |i: usize, v: u8| {
        let mut b = UDP_REQ.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        patch(0, 0x6b),  // AS-REP tag from the initiator
        patch(10, 4),    // pvno 4
        patch(15, 0x0c), // msg-type disagrees with the tag
        patch(3, 0x31),
        b"\x30\x26\x02\x01\x01\x04\x06public".to_vec(),
    ] {
        assert_eq!(
            detect(&input(&bad, b"", Transport::Udp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    assert_eq!(detect(&input(b"", UDP_REQ, Transport::Udp)), Sniff::NotThis);
}
