//! Telnet detector tests over inetutils telnetd / telnet negotiation.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const SERVER: &[u8] = include_bytes!("testdata/tcp/telnet/inetutils.server.bin");
const CLIENT: &[u8] = include_bytes!("testdata/tcp/telnet/inetutils.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 2323,
        complete,
    }
}

#[test]
fn either_side_matches_and_prefixes_need_more() {
    assert!(matches!(
        detect(&input(b"", SERVER, false)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        detect(&input(CLIENT, b"", false)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        detect(&input(CLIENT, SERVER, false)),
        Sniff::Match(_)
    ));
    for n in 0..6 {
        assert_eq!(
            detect(&input(b"", &SERVER[..n], false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    // The client's subnegotiation (TSPEED / NEW-ENVIRON...) counts too.
    assert!(matches!(
        detect(&input(&CLIENT[6..], b"", false)),
        Sniff::Match(_)
    ));
}

#[test]
fn rejects_near_misses() {
    for bad in [
        &b"\xff\xfb\x01login: "[..],
        b"\xff\xfb\x99\xff\xfb\x01",
        b"\xff\x00\x00",
        b"\xff\xfa\x18\x01\x00",
        b"login: ",
        b"220 ftp ready\r\n",
        b"\x16\x03\x01\x00\x10",
    ] {
        assert_eq!(detect(&input(b"", bad, true)), Sniff::NotThis, "{bad:?}");
    }
    // One command and no more bytes: too little to say.
    assert_eq!(detect(&input(b"", b"\xff\xfd\x01", true)), Sniff::NotThis);
    assert_eq!(detect(&input(b"", b"\xff\xfd\x01", false)), Sniff::NeedMore);
}
