//! TDS detector tests over a PRELOGIN recorded from FreeTDS tsql 1.3.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const TSQL: &[u8] = include_bytes!("testdata/tcp/tds/tsql.client.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 1433,
        complete,
    }
}

#[test]
fn prelogin_prefixes_then_match() {
    let mut matched = false;
    for n in 0..=TSQL.len() {
        match detect(&inp(&TSQL[..n], b"", false)) {
            Sniff::NeedMore => assert!(!matched, "prefix {n}"),
            Sniff::Match(m) => {
                assert_eq!(m.method, Some(&b"PRELOGIN"[..]));
                matched = true;
            }
            Sniff::NotThis => panic!("prefix {n}"),
        }
    }
    assert!(matched);
}

/// A PRELOGIN response as SQL Server 2022 (16.0.1000) sends it.
fn response() -> Vec<u8> {
    let mut p = vec![
        0x00, 0x00, 0x10, 0x00, 0x06, // VERSION
        0x01, 0x00, 0x16, 0x00, 0x01, // ENCRYPTION
        0x02, 0x00, 0x17, 0x00, 0x01, // INSTOPT
        0xff,
    ];
    p.extend_from_slice(&[0x10, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x02, 0x00]);
    let mut pkt = vec![0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00];
    pkt.extend_from_slice(&p);
    let len = pkt.len() as u16;
    pkt[2..4].copy_from_slice(&len.to_be_bytes());
    pkt
}

#[test]
fn server_response() {
    let r = response();
    match detect(&inp(b"", &r, false)) {
        Sniff::Match(m) => assert_eq!(m.version, Some(0x1000_03e8)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(detect(&inp(TSQL, &r, false)), Sniff::Match(_)));
    assert_eq!(detect(&inp(TSQL, b"\x16\x03\x03", false)), Sniff::NotThis);
}

#[test]
fn rejects_near_misses() {
    let flip = |i: usize, v: u8| {
        let mut b = TSQL.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        flip(0, 0x10),    // LOGIN7, not PRELOGIN
        flip(1, 0x00),    // not end of message
        flip(4, 0x01),    // SPID from a client
        flip(8, 0x01),    // first option is not VERSION
        flip(12, 0x05),   // VERSION of 5 bytes
        flip(13, 0x00),   // VERSION twice: token order broken
        flip(10, 0x40),   // offset past the packet
        flip(0x28, 0x07), // encryption value 7
        b"\x12\x01\x00\x08\x00\x00\x00\x00".to_vec(),
        b"GET / HTTP/1.1\r\n".to_vec(),
    ] {
        assert_eq!(detect(&inp(&bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    assert_eq!(detect(&inp(b"", b"220 ok\r\n", false)), Sniff::NotThis);
}
