//! RDP detector tests over an xfreerdp / xrdp connection sequence start.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CR: &[u8] = include_bytes!("testdata/tcp/rdp/xrdp-xfreerdp.client.bin");
const CC: &[u8] = include_bytes!("testdata/tcp/rdp/xrdp-xfreerdp.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 3390,
        complete,
    }
}

#[test]
fn request_confirm_and_prefixes() {
    match detect(&input(CR, b"", false)) {
        // PROTOCOL_SSL | PROTOCOL_HYBRID requested.
        Sniff::Match(m) => assert_eq!(m.version, Some(3)),
        other => panic!("{other:?}"),
    }
    for n in 0..CR.len() {
        assert_eq!(
            detect(&input(&CR[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    match detect(&input(b"", CC, false)) {
        Sniff::Match(m) => assert_eq!(m.version, Some(1)),
        other => panic!("{other:?}"),
    }
    // Cookie only (old clients), and a bare negotiation request.
    let cookie = b"\x03\x00\x00\x21\x1c\xe0\x00\x00\x00\x00\x00Cookie: mstshash=a\r\n\x00\x00";
    assert_eq!(detect(&input(cookie, b"", false)), Sniff::NotThis);
    let cookie = b"\x03\x00\x00\x20\x1b\xe0\x00\x00\x00\x00\x00Cookie: mstshash=ab\r\n";
    assert!(matches!(
        detect(&input(cookie, b"", false)),
        Sniff::Match(_)
    ));
    let neg = b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x0b\x00\x00\x00";
    assert!(matches!(detect(&input(neg, b"", false)), Sniff::Match(_)));
}

#[test]
fn rejects_other_tpkt_users_and_garbage() {
    // S7comm / ISO-TSAP connection request: X.224 parameters, not RDP.
    let s7 =
        b"\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x09";
    assert_eq!(detect(&input(s7, b"", false)), Sniff::NotThis);
    let mut bad_li = CR.to_vec();
    bad_li[4] ^= 1;
    assert_eq!(detect(&input(&bad_li, b"", false)), Sniff::NotThis);
    let mut bad_proto = CR.to_vec();
    bad_proto[41] = 0x80;
    assert_eq!(detect(&input(&bad_proto, b"", false)), Sniff::NotThis);
    for bad in [
        &b"\x03\x01\x00\x2d"[..],
        b"\x16\x03\x01\x00",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert_eq!(detect(&input(bad, b"", false)), Sniff::NotThis, "{bad:?}");
    }
    // Truncated for good: no more bytes come.
    assert_eq!(detect(&input(&CR[..20], b"", true)), Sniff::NotThis);
}
