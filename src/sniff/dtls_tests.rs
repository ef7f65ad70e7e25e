//! DTLS detector tests over OpenSSL and GnuTLS ClientHellos and an OpenSSL
//! HelloVerifyRequest.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const OPENSSL_12: &[u8] = include_bytes!("testdata/udp/dtls/openssl-1.2.client.bin");
const OPENSSL_10: &[u8] = include_bytes!("testdata/udp/dtls/openssl-1.0.client.bin");
const GNUTLS: &[u8] = include_bytes!("testdata/udp/dtls/gnutls.client.bin");
const VERIFY: &[u8] = include_bytes!("testdata/udp/dtls/openssl-1.2.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 4433,
        complete: false,
    }
}

fn meta(buf: &[u8]) -> Meta<'_> {
    match detect(&input(buf, b"")) {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_hellos_match_with_metadata() {
    let m = meta(OPENSSL_12);
    assert_eq!(m.version, Some(0xfefd));
    assert_eq!(m.sni, Some(&b"fixture.example"[..]));
    assert_eq!(meta(OPENSSL_10).version, Some(0xfeff));
    let m = meta(GNUTLS);
    assert_eq!(m.sni, Some(&b"fixture.example"[..]));
    assert_eq!(m.alpn, Some(&b"webrtc"[..]));
}

#[test]
fn hello_verify_request_alone_matches() {
    assert!(matches!(detect(&input(b"", VERIFY)), Sniff::Match(_)));
    // ... but not as a client's message.
    assert_eq!(detect(&input(VERIFY, b"")), Sniff::NotThis);
}

#[test]
fn dtls13_hello_reports_fefc() {
    // A DTLS 1.2 hello rewritten to offer 1.3 in supported_versions.
    let mut hello = OPENSSL_12.to_vec();
    let ext = [0x00, 0x2b, 0x00, 0x05, 0x04, 0xfe, 0xfc, 0xfe, 0xfd];
    hello.extend_from_slice(&ext);
    let grow = |b: &mut Vec<u8>, at: usize, width: usize| {
        let mut v = 0usize;
        for i in 0..width {
            v = (v << 8) | b[at + i] as usize;
        }
        v += ext.len();
        for i in 0..width {
            b[at + i] = (v >> (8 * (width - 1 - i))) as u8;
        }
    };
    grow(&mut hello, 11, 2); // record length
    grow(&mut hello, 14, 3); // message length
    grow(&mut hello, 22, 3); // fragment length
                             // The extensions block length sits right after the compression list.
    let mut i = 25 + 2 + 32;
    i += 1 + hello[i] as usize; // session id
    i += 1 + hello[i] as usize; // cookie
    i += 2 + u16::from_be_bytes([hello[i], hello[i + 1]]) as usize; // suites
    i += 1 + hello[i] as usize; // compression
    grow(&mut hello, i, 2);
    assert_eq!(meta(&hello).version, Some(0xfefc));
}

#[test]
fn near_misses_are_not_dtls() {
    let tls = b"\x16\x03\x01\x00\x10\x01\x00\x00\x0c\x03\x03";
    assert_eq!(detect(&input(tls, b"")), Sniff::NotThis);
    for (i, v) in [(0usize, 0x17u8), (2, 0xfe), (4, 1), (13, 2), (25, 0x03)] {
        let mut b = OPENSSL_12.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    assert_eq!(detect(&input(&OPENSSL_12[..60], b"")), Sniff::NotThis);
}

#[test]
fn every_truncation_is_safe() {
    for buf in [OPENSSL_12, OPENSSL_10, GNUTLS, VERIFY] {
        for n in 0..buf.len() {
            let _ = detect(&input(&buf[..n], b""));
        }
    }
}
