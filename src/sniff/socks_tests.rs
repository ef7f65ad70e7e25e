//! SOCKS detector tests over flows recorded from curl 7.88 and dante 1.4.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const S4_C: &[u8] = include_bytes!("testdata/tcp/socks4/curl-socks4.client.bin");
const S4_S: &[u8] = include_bytes!("testdata/tcp/socks4/curl-socks4.server.bin");
const S4A_C: &[u8] = include_bytes!("testdata/tcp/socks4/curl-socks4a.client.bin");
const S4A_S: &[u8] = include_bytes!("testdata/tcp/socks4/curl-socks4a.server.bin");
const S5_C: &[u8] = include_bytes!("testdata/tcp/socks5/curl-socks5.client.bin");
const S5_S: &[u8] = include_bytes!("testdata/tcp/socks5/curl-socks5.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 1080,
        complete,
    }
}

fn meta<'a>(r: Sniff<Meta<'a>>) -> Meta<'a> {
    match r {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn socks4_and_4a() {
    for n in 0..9 {
        assert_eq!(
            detect4(&inp(&S4_C[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    assert_eq!(meta(detect4(&inp(S4_C, S4_S, false))).version, Some(4));
    for n in 0..S4A_C.len() {
        assert_eq!(
            detect4(&inp(&S4A_C[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    let m = meta(detect4(&inp(S4A_C, S4A_S, false)));
    assert_eq!((m.host, m.version), (Some(&b"localhost"[..]), Some(0x4a)));
    assert_eq!(detect5(&inp(S4_C, S4_S, true)), Sniff::NotThis);
}

#[test]
fn socks5_greeting_needs_the_method_reply() {
    assert_eq!(detect5(&inp(&S5_C[..4], b"", false)), Sniff::NeedMore);
    assert!(matches!(
        detect5(&inp(&S5_C[..4], b"", true)),
        Sniff::Match(_)
    ));
    let m = meta(detect5(&inp(S5_C, S5_S, false)));
    assert_eq!((m.host, m.version), (Some(&b"localhost"[..]), Some(5)));
    assert!(matches!(
        detect5(&inp(&S5_C[..4], b"\x05\x00", false)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        detect5(&inp(&S5_C[..4], b"\x05\xff", false)),
        Sniff::Match(_)
    ));
    assert_eq!(detect4(&inp(S5_C, S5_S, true)), Sniff::NotThis);
}

#[test]
fn rejects_near_misses() {
    for bad in [
        &b"\x04\x03\x00\x50\x7f\x00\x00\x01\x00"[..], // unknown command
        b"\x04\x01\x00\x00\x7f\x00\x00\x01\x00",      // port 0
        b"\x04\x01\x00\x50\x00\x00\x00\x00\x00",      // address 0.0.0.0
        b"\x04\x01\x00\x50\x7f\x00\x00\x01us\x01er\x00", // control in user id
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00",  // 4a without a host
    ] {
        assert_eq!(detect4(&inp(bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    assert_eq!(detect4(&inp(S4_C, b"\x05\x00", false)), Sniff::NotThis);
    for bad in [
        &b"\x05\x00"[..],        // no methods
        b"\x05\x02\x00\x00",     // duplicate method
        b"\x05\x01\x42",         // unassigned method
        b"\x05\x01\x00\x04\x01", // garbage after the greeting
    ] {
        assert_eq!(detect5(&inp(bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    // The reply picks a method that was not offered, or is not SOCKS 5.
    assert_eq!(
        detect5(&inp(b"\x05\x01\x00", b"\x05\x02", false)),
        Sniff::NotThis
    );
    assert_eq!(
        detect5(&inp(b"\x05\x01\x00", b"\x04\x00", false)),
        Sniff::NotThis
    );
    // Servers never speak first.
    assert_eq!(detect5(&inp(b"", b"\x05\x00", false)), Sniff::NotThis);
    assert_eq!(detect4(&inp(b"", S4_S, false)), Sniff::NotThis);
}
