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

const NMAP_SSLV2: &[u8] = include_bytes!("testdata/tcp/tls/nmap-sslv2.client.bin");
const SSLV2_COMPAT: &[u8] = include_bytes!("testdata/tcp/tls/sslv2-compat.client.bin");

#[test]
fn sslv2_framed_hellos_match_after_every_prefix_needs_more() {
    for (hello, version) in [(NMAP_SSLV2, 0x0002), (SSLV2_COMPAT, 0x0301)] {
        for n in 1..hello.len() {
            assert_eq!(
                detect(&input(&hello[..n], false)),
                Sniff::NeedMore,
                "prefix {n}"
            );
        }
        assert_eq!(meta(hello).version, Some(version));
        // A flow that ends after a consistent head is still TLS.
        assert!(matches!(
            detect(&input(&hello[..12], true)),
            Sniff::Match(_)
        ));
    }
}

#[test]
fn sslv2_head_must_add_up() {
    let mut bad = SSLV2_COMPAT.to_vec();
    bad[1] += 3; // length no longer the sum of the parts
    assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
    let mut bad = SSLV2_COMPAT.to_vec();
    bad[2] = 4; // SERVER-HELLO, not a client's
    assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
    let mut bad = SSLV2_COMPAT.to_vec();
    bad[4] = 0x04; // TLS 1.3 never uses SSL 2.0 framing
    assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
    let mut bad = SSLV2_COMPAT.to_vec();
    bad[6] = 0x0e; // 14 bytes of cipher specs: not 3-byte entries
    bad[1] -= 1;
    assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
    let mut bad = SSLV2_COMPAT.to_vec();
    bad[10] = 8; // an 8-byte challenge
    bad[1] -= 24;
    assert_eq!(
        detect(&input(&bad[..bad.len() - 24], false)),
        Sniff::NotThis
    );
    // ONC-RPC record marking also sets the top bit; its length field
    // reads as an SSL 2.0 length of zero.
    assert_eq!(
        detect(&input(
            b"\x80\x00\x00\x28\x12\x34\x56\x78\x00\x00\x00\x00",
            false
        )),
        Sniff::NotThis
    );
}

/// curl's recorded ClientHello re-framed as RFC 8446 section 5.1 allows
/// (and ByeDPI's `--tlsrec` does): a first record of `k` bytes, then a
/// record with the rest of the handshake message.
fn split_records(hello: &[u8], k: usize) -> Vec<u8> {
    let body = &hello[5..];
    let mut out = Vec::new();
    for part in [&body[..k], &body[k..]] {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[test]
fn hello_split_before_the_handshake_header_ends() {
    for k in 1..=3 {
        let buf = split_records(CURL, k);
        assert!(
            matches!(detect(&input(&buf, false)), Sniff::Match(_)),
            "{k}"
        );
        for n in 0..buf.len() {
            assert_ne!(detect(&input(&buf[..n], false)), Sniff::NotThis, "{k}: {n}");
        }
        // Cut before the second record's header: not enough to name it.
        assert_eq!(detect(&input(&buf[..5 + k], true)), Sniff::NotThis);
        // The first record must open a ClientHello, the next must be a
        // handshake record of TLS.
        let mut bad = buf.clone();
        bad[5] = 2;
        assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
        let mut bad = buf.clone();
        bad[5 + k] = 23;
        assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
        let mut bad = buf.clone();
        bad[5 + k + 2] = 9;
        assert_eq!(detect(&input(&bad, false)), Sniff::NotThis);
    }
    // Longer first records were already read as a partial hello.
    for k in [4, 10, 40] {
        let buf = split_records(CURL, k);
        assert!(
            matches!(detect(&input(&buf, false)), Sniff::Match(_)),
            "{k}"
        );
    }
}
