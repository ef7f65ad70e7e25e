//! TLS detector tests over ClientHellos recorded from real clients.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CURL: &[u8] = include_bytes!("testdata/tcp/tls/curl.client.bin");
const OPENSSL: &[u8] = include_bytes!("testdata/tcp/tls/openssl.client.bin");
const CHROMIUM: &[u8] = include_bytes!("testdata/tcp/tls/chromium.client.bin");

fn input(client: &[u8], complete: bool) -> Input<'_> {
    Input {
        client,
        server: b"",
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 443,
        complete,
    }
}

fn meta(buf: &[u8]) -> Meta<'_> {
    match detect(&input(buf, false)) {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_prefix_needs_more_then_matches() {
    for hello in [CURL, OPENSSL, CHROMIUM] {
        let rec = 5 + u16::from_be_bytes([hello[3], hello[4]]) as usize;
        for n in 0..rec {
            assert_eq!(
                detect(&input(&hello[..n], false)),
                Sniff::NeedMore,
                "prefix {n}"
            );
        }
        assert!(matches!(
            detect(&input(&hello[..rec], false)),
            Sniff::Match(_)
        ));
    }
}

#[test]
fn reads_sni_alpn_version() {
    let m = meta(OPENSSL);
    assert_eq!(m.sni, Some(&b"fixture.example"[..]));
    assert_eq!(m.version, Some(0x0304));
    let m = meta(CHROMIUM);
    assert_eq!(m.sni, Some(&b"www.fixture.example"[..]));
    assert_eq!(m.alpn, Some(&b"h2"[..]));
    let m = meta(CURL);
    assert_eq!(m.alpn, Some(&b"h2"[..]));
}

#[test]
fn chromium_hello_spans_several_segments() {
    // Chromium sends X25519MLKEM768: the hello is larger than one 1448-byte segment.
    assert!(CHROMIUM.len() > 1448, "{}", CHROMIUM.len());
    assert_eq!(detect(&input(&CHROMIUM[..1448], false)), Sniff::NeedMore);
}

#[test]
fn truncated_hello_matches_when_no_more_bytes_come() {
    assert!(matches!(
        detect(&input(&CHROMIUM[..600], true)),
        Sniff::Match(_)
    ));
}

#[test]
fn rejects_non_tls() {
    for bad in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"SSH-2.0-OpenSSH_9.2p1\r\n",
        b"\x16\x03\x05\x00\x10",
        b"\x16\x03\x01\x00\x10\x02",
        b"\x17\x03\x03\x00\x10",
    ] {
        assert_eq!(detect(&input(bad, false)), Sniff::NotThis, "{bad:?}");
    }
}
