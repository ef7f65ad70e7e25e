//! XMPP detector tests over a sendxmpp / Prosody stream opening.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CLIENT: &[u8] = include_bytes!("testdata/tcp/xmpp/prosody-sendxmpp.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/tcp/xmpp/prosody-sendxmpp.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 5222,
        complete: false,
    }
}

#[test]
fn stream_openings_and_prefixes() {
    match detect(&input(CLIENT, SERVER)) {
        Sniff::Match(m) => {
            assert_eq!(m.host, Some(&b"localhost"[..]));
            assert_eq!(m.version, Some(0x0100));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(detect(&input(b"", SERVER)), Sniff::Match(_)));
    for n in 0..CLIENT.len() {
        assert_eq!(
            detect(&input(&CLIENT[..n], b"")),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    let s2s = b"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to=\"b.example\">";
    match detect(&input(s2s, b"")) {
        Sniff::Match(m) => assert_eq!(m.host, Some(&b"b.example"[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_other_xml() {
    for bad in [
        &b"<?xml version='1.0'?><soap:Envelope>"[..],
        b"<stream:streams xmlns='jabber:client'>",
        b"<stream:stream xmlns='jabber:client'>",
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='urn:other'>",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert_eq!(detect(&input(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
}
