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

/// openssl s_client 3.0 -tls1_3 -max_send_frag 512 with a long ALPN list
/// (capture_v.py): its ClientHello spans a 512-byte record and a second
/// one. Read from the records joined: server name, first ALPN, TLS 1.3.
const OPENSSL_SPLIT: &[u8] = include_bytes!("testdata/tcp/tls/openssl-tls13-split.client.bin");

#[test]
fn hello_spanning_records_is_read_whole() {
    let first = 5 + usize::from(u16::from_be_bytes([OPENSSL_SPLIT[3], OPENSSL_SPLIT[4]]));
    assert!(first < OPENSSL_SPLIT.len(), "one record only");
    let m = meta(OPENSSL_SPLIT);
    assert_eq!(m.sni, Some(&b"fixture.test"[..]));
    assert_eq!(m.alpn, Some(&b"fixture-protocol-000"[..]));
    assert_eq!(m.version, Some(0x0304));
    // Until the last record arrives: wait; with no more bytes to come, the
    // partial hello is TLS.
    for n in 0..OPENSSL_SPLIT.len() {
        assert_eq!(
            detect(&input(&OPENSSL_SPLIT[..n], false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    for n in first..OPENSSL_SPLIT.len() {
        assert!(matches!(
            detect(&input(&OPENSSL_SPLIT[..n], true)),
            Sniff::Match(_)
        ));
    }
    // A second record that is not a handshake record ends the hello there.
    let mut bad = OPENSSL_SPLIT.to_vec();
    bad[first] = 23;
    assert!(matches!(detect(&input(&bad, true)), Sniff::Match(_)));
}

/// A hello cut inside its extensions (no more bytes will come) reports the
/// extensions that arrived whole, and only those.
#[test]
fn cut_hello_reports_its_whole_extensions() {
    let name = &b"fixture.example"[..];
    let at = OPENSSL.windows(name.len()).position(|w| w == name).unwrap();
    // Record and handshake headers, version, random, session id, cipher
    // suites, compression methods: the extensions' length comes next.
    let sid = 5 + 4 + 2 + 32;
    let suites = sid + 1 + usize::from(OPENSSL[sid]);
    let comp = suites + 2 + usize::from(u16::from_be_bytes([OPENSSL[suites], OPENSSL[suites + 1]]));
    let exts = comp + 1 + usize::from(OPENSSL[comp]);
    for n in exts + 2..OPENSSL.len() {
        let m = match detect(&input(&OPENSSL[..n], true)) {
            Sniff::Match(m) => m,
            other => panic!("{n}: {other:?}"),
        };
        let sni_whole = n >= at + name.len();
        assert_eq!(m.sni, sni_whole.then_some(name), "{n}");
        assert_eq!(m.alpn, None, "{n}");
        assert!(matches!(m.version, Some(0x0303 | 0x0304)), "{n}");
    }
}

#[test]
fn server_name_is_read_wherever_the_records_split() {
    let name = &b"fixture.example"[..];
    let body = &OPENSSL[5..];
    let at = body.windows(name.len()).position(|w| w == name).unwrap();
    for k in 1..body.len() {
        let buf = split_records(OPENSSL, k);
        let m = meta(&buf);
        assert_eq!(m.version, Some(0x0304), "{k}");
        // A name cut by a record header is not reported; elsewhere it is.
        let cut = k > at && k < at + name.len();
        assert_eq!(m.sni, if cut { None } else { Some(name) }, "{k}");
    }
}

/// What Python's ssl (the system OpenSSL) sent after a TLS 1.3 and a TLS
/// 1.2 handshake: an HTTP request, and a 20 KB answer in two records
/// (`testdata/capture_midstream.py`).
const MIDSTREAM: [(&[u8], &[u8]); 2] = [
    (
        include_bytes!("testdata/midstream/tls/python-ssl-tls13-appdata.client.bin"),
        include_bytes!("testdata/midstream/tls/python-ssl-tls13-appdata.server.bin"),
    ),
    (
        include_bytes!("testdata/midstream/tls/python-ssl-tls12-appdata.client.bin"),
        include_bytes!("testdata/midstream/tls/python-ssl-tls12-appdata.server.bin"),
    ),
];

fn pickup<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client: client.get(..crate::sniff::SAMPLE_MAX).unwrap_or(client),
        server: server.get(..crate::sniff::SAMPLE_MAX).unwrap_or(server),
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 8443,
        complete,
    }
}

#[test]
fn a_stream_picked_up_after_its_handshake_is_tls_only_when_midstream() {
    use crate::sniff::{classify, Verdict};
    for (c, s) in MIDSTREAM {
        // One side or both, as the pickup saw them; the server's first
        // record (16 KB) is still arriving in an 8 KB sample.
        for (client, server) in [(c, s), (c, &b""[..]), (&b""[..], s)] {
            for complete in [false, true] {
                let got = classify(&pickup(client, server, complete), true);
                assert!(
                    matches!(got, Verdict::Identified(m) if m.proto == Proto::Tls),
                    "{got:?}"
                );
                // A flow whose start was seen and that opens with records
                // but no hello is not TLS.
                let seen = classify(&pickup(client, server, complete), false);
                assert!(!matches!(seen, Verdict::Identified(_)), "{seen:?}");
            }
        }
    }
}

#[test]
fn midstream_records_need_a_chain_an_exact_end_or_ciphertext() {
    let (c, s) = MIDSTREAM[0];
    assert!(midstream_records(c));
    // One record cut short, its body not yet 256 bytes: not enough.
    assert!(!midstream_records(&s[..5 + 200]));
    assert!(midstream_records(&s[..5 + 300]));
    // The same header over a body of text or zeros is not ciphertext.
    let mut plain = s[..5].to_vec();
    plain.extend(std::iter::repeat_n(b'a', 1000));
    assert!(!midstream_records(&plain));
    // Two records chained; a second header that is not a record.
    let mut two = c.to_vec();
    two.extend_from_slice(&c[..20]);
    assert!(midstream_records(&two));
    let mut bad = c.to_vec();
    bad.extend_from_slice(b"GET / HTTP/1.1\r\n");
    assert!(!midstream_records(&bad));
    // Wrong content type, major version or an empty or oversized record.
    for (i, v) in [(0, 24u8), (0, 19), (1, 2), (2, 5), (3, 0x48)] {
        let mut b = c.to_vec();
        b[i] = v;
        assert!(!midstream_records(&b), "byte {i} = {v}");
    }
    let mut empty = c.to_vec();
    empty[3] = 0;
    empty[4] = 0;
    assert!(!midstream_records(&empty));
    // Text and short bytes.
    for t in [
        &b""[..],
        b"\x17\x03\x03",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
    ] {
        assert!(!midstream_records(t));
    }
}
