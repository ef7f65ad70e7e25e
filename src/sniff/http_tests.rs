//! HTTP detector tests over requests recorded from curl.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CURL: &[u8] = include_bytes!("testdata/tcp/http/curl.client.bin");
const CONNECT: &[u8] = include_bytes!("testdata/tcp/http-connect/curl.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 80,
        complete: false,
    }
}

#[test]
fn curl_request_host_and_method() {
    match detect_http(&input(CURL, b"")) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"GET"[..]));
            assert_eq!(m.host, Some(&b"127.0.0.1:47004"[..]));
        }
        other => panic!("{other:?}"),
    }
    for n in 0..CURL.len() {
        assert!(
            !matches!(detect_http(&input(&CURL[..n], b"")), Sniff::NotThis),
            "prefix {n}"
        );
    }
}

#[test]
fn connect_is_its_own_protocol() {
    assert_eq!(detect_http(&input(CONNECT, b"")), Sniff::NotThis);
    match detect_connect(&input(CONNECT, b"")) {
        Sniff::Match(m) => assert_eq!(m.host, Some(&b"198.18.9.9:8443"[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn h2_preface() {
    assert!(matches!(
        detect_h2(&input(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00", b"")),
        Sniff::Match(_)
    ));
    assert_eq!(
        detect_h2(&input(b"PRI * HTTP/2.0\r\n", b"")),
        Sniff::NeedMore
    );
    assert_eq!(detect_h2(&input(CURL, b"")), Sniff::NotThis);
}

#[test]
fn response_alone_matches() {
    assert!(matches!(
        detect_http(&input(b"", b"HTTP/1.1 200 OK\r\n")),
        Sniff::Match(_)
    ));
    assert_eq!(detect_http(&input(b"", b"SSH-2.0-x\r\n")), Sniff::NotThis);
}

#[test]
fn rejects_lookalikes() {
    for bad in [
        &b"GET\t/ HTTP/1.1\r\n"[..],
        b"GET / HTTP/2.0\r\n",
        b"GETS / HTTP/1.1\r\n",
        b"get / HTTP/1.1\r\n",
        b"GET  HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",
    ] {
        assert_eq!(detect_http(&input(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
}

#[test]
fn bare_lf_request_reads_headers_from_the_right_place() {
    let req = b"GET / HTTP/1.1\nHost: a.example\n\n";
    match detect_http(&input(req, b"")) {
        Sniff::Match(m) => assert_eq!(m.host, Some(&b"a.example"[..])),
        other => panic!("{other:?}"),
    }
    let req = b"GET / HTTP/1.1\nXHost: a.example\n\n";
    match detect_http(&input(req, b"")) {
        Sniff::Match(m) => assert_eq!(m.host, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn method_is_borrowed_from_the_request() {
    match detect_http(&input(CURL, b"")) {
        Sniff::Match(m) => {
            let method = m.method.unwrap();
            assert!(CURL.as_ptr_range().contains(&method.as_ptr()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(detect_http(&input(b"PROPF", b"")), Sniff::NeedMore);
    assert_eq!(detect_http(&input(b"PROPX", b"")), Sniff::NotThis);
    assert_eq!(detect_http(&input(b"MKCALENDARX", b"")), Sniff::NotThis);
}
