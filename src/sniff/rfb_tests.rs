//! RFB detector tests over a TigerVNC Xvnc / vncdotool exchange.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const SERVER: &[u8] = include_bytes!("testdata/tcp/rfb/tigervnc-vncdotool.server.bin");
const CLIENT: &[u8] = include_bytes!("testdata/tcp/rfb/tigervnc-vncdotool.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 5901,
        complete: false,
    }
}

#[test]
fn versions_and_prefixes() {
    match detect(&input(CLIENT, SERVER)) {
        Sniff::Match(m) => assert_eq!(m.version, Some(3 << 16 | 8)),
        other => panic!("{other:?}"),
    }
    for n in 0..SERVER.len() {
        assert_eq!(
            detect(&input(b"", &SERVER[..n])),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    assert!(matches!(detect(&input(CLIENT, b"")), Sniff::Match(_)));
    match detect(&input(b"", b"RFB 003.889\n")) {
        Sniff::Match(m) => assert_eq!(m.version, Some(3 << 16 | 889)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_near_misses() {
    for bad in [
        &b"RFB 3.8\n"[..],
        b"RFB 003.008\r",
        b"RFB 000.000\n",
        b"RFC 003.008\n",
        b"GET / ",
    ] {
        assert_eq!(detect(&input(b"", bad)), Sniff::NotThis, "{bad:?}");
    }
    // A server greeting answered by something else.
    assert_eq!(
        detect(&input(b"GET / HTTP/1.1\r\n", SERVER)),
        Sniff::NotThis
    );
}
