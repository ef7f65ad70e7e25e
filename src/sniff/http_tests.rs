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

const H2_CURL: &[u8] = include_bytes!("testdata/tcp/http2/curl.client.bin");
const H2_NGHTTP: &[u8] = include_bytes!("testdata/tcp/http2/nghttp.client.bin");
/// nghttpd's side of the nghttp flow; it opens with the SETTINGS frame
/// nghttpd sends before the client speaks (capture_j.py checks that).
const H2_NGHTTPD: &[u8] = include_bytes!("testdata/tcp/http2/nghttp.server.bin");

#[test]
fn h2_server_settings_first_waits_for_the_client() {
    // nghttpd sends its SETTINGS (15 bytes) to a client that has said nothing.
    for n in 1..=15 {
        assert_eq!(
            detect_h2(&input(b"", &H2_NGHTTPD[..n])),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    for client in [H2_CURL, H2_NGHTTP] {
        assert!(matches!(
            detect_h2(&input(client, H2_NGHTTPD)),
            Sniff::Match(m) if m.version == Some(2)
        ));
    }
    // Then an HTTP/1.1 request is not HTTP/2.
    assert_eq!(detect_h2(&input(CURL, H2_NGHTTPD)), Sniff::NotThis);
}

#[test]
fn h2_server_bytes_that_are_not_settings_rule_it_out() {
    for server in [
        &b"SSH-2.0-OpenSSH_9.2p1\r\n"[..],
        b"220 mail.example ESMTP\r\n",
        // A SETTINGS ACK, a length that is not a multiple of 6, stream 1.
        b"\x00\x00\x00\x04\x01\x00\x00\x00\x00",
        b"\x00\x00\x07\x04\x00\x00\x00\x00\x00",
        b"\x00\x00\x06\x04\x00\x00\x00\x00\x01",
        // Longer than the default SETTINGS_MAX_FRAME_SIZE.
        b"\x00\x40\x02\x04\x00\x00\x00\x00\x00",
    ] {
        assert_eq!(detect_h2(&input(b"", server)), Sniff::NotThis, "{server:?}");
    }
}

#[test]
fn request_line_with_runs_of_whitespace() {
    // RFC 9112 section 3: servers may split on runs of spaces; nginx does.
    for req in [
        &b"GET  /  HTTP/1.0\r\nHost: a\r\n\r\n"[..],
        b"POST /x HTTP/1.1 \r\nHost: a\r\n\r\n",
    ] {
        match detect_http(&input(req, b"")) {
            Sniff::Match(m) => assert_eq!(m.host, Some(&b"a"[..]), "{req:?}"),
            other => panic!("{req:?}: {other:?}"),
        }
    }
    for bad in [
        &b"GET  HTTP/1.1\r\n\r\n"[..],
        b"GET / / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.2\r\n\r\n",
        b"GET / \tHTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(detect_http(&input(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
}

/// RFC 9112 section 2.2: a server ignores empty lines before the request
/// line, so a client that sends them (one typed through nc, one that ends
/// a previous body with an extra CRLF) still speaks HTTP.
#[test]
fn empty_lines_before_the_request_line_are_skipped() {
    for req in [
        &b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"\r\n\r\nPOST /x HTTP/1.0\r\nHost: a\r\n\r\n",
        b"\n\nGET / HTTP/1.1\nHost: a\n\n",
    ] {
        match detect_http(&input(req, b"")) {
            Sniff::Match(m) => assert_eq!(m.host, Some(&b"a"[..]), "{req:?}"),
            other => panic!("{req:?}: {other:?}"),
        }
        for n in 0..req.len() {
            assert!(
                !matches!(detect_http(&input(&req[..n], b"")), Sniff::NotThis),
                "{req:?} prefix {n}"
            );
        }
    }
    // Only line ends so far: wait, unless no more bytes come.
    assert_eq!(detect_http(&input(b"\r\n", b"")), Sniff::NeedMore);
    let mut done = input(b"\r\n", b"");
    done.complete = true;
    assert_eq!(detect_http(&done), Sniff::NotThis);
    // A CONNECT after an empty line is still a CONNECT tunnel.
    let connect = b"\r\nCONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n";
    assert_eq!(detect_http(&input(connect, b"")), Sniff::NotThis);
    assert!(matches!(
        detect_connect(&input(connect, b"")),
        Sniff::Match(m) if m.host == Some(&b"a.example:443"[..])
    ));
    // Not an empty line (a CR alone), or a run of them no client sends.
    for bad in [
        &b"\rGET / HTTP/1.1\r\n\r\n"[..],
        b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"\r\n\x16\x03\x01\x02\x00",
    ] {
        assert_eq!(detect_http(&input(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
}

/// Methods of the IANA registry longer than the old 11-byte limit, and
/// extension methods real servers take (RPC over HTTP, Icecast).
#[test]
fn registered_and_extension_methods() {
    for method in [
        &b"VERSION-CONTROL"[..],
        b"BASELINE-CONTROL",
        b"UPDATEREDIRECTREF",
        b"MKACTIVITY",
        b"RPC_IN_DATA",
        b"SOURCE",
        b"M-POST",
    ] {
        let mut req = method.to_vec();
        req.extend_from_slice(b" /x HTTP/1.1\r\nHost: a\r\n\r\n");
        match detect_http(&input(&req, b"")) {
            Sniff::Match(m) => assert_eq!(m.method, Some(method)),
            other => panic!("{method:?}: {other:?}"),
        }
        for n in 0..req.len() {
            assert!(
                !matches!(detect_http(&input(&req[..n], b"")), Sniff::NotThis),
                "{method:?} prefix {n}"
            );
        }
    }
    // The window the method is looked for in holds the longest one.
    let longest = METHODS.iter().map(|m| m.len()).max().unwrap();
    assert_eq!(MAX_METHOD, longest + 1);
}

/// requests 2.34 with a 10 kB query string (capture_v.py): the request line
/// outruns the 8 KiB sample. Named GET once the sample is full, never before.
const LONG_URL: &[u8] = include_bytes!("testdata/tcp/http/python-requests-long-url.client.bin");

#[test]
fn request_line_longer_than_the_sample() {
    assert_eq!(LONG_URL.len(), SAMPLE_MAX);
    assert!(!LONG_URL.contains(&b'\n'));
    match detect_http(&input(LONG_URL, b"")) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"GET"[..]));
            assert_eq!((m.host, m.version), (None, None));
        }
        other => panic!("{other:?}"),
    }
    for n in (0..LONG_URL.len()).step_by(61) {
        assert_eq!(
            detect_http(&input(&LONG_URL[..n], b"")),
            Sniff::NeedMore,
            "{n}"
        );
    }
    // The window may end inside the version; a target with a control byte,
    // a space then not a version, or no `/` or scheme is not a request.
    let line = |target: &[u8], tail: &[u8]| {
        let mut v = b"GET ".to_vec();
        v.extend_from_slice(target);
        v.resize(SAMPLE_MAX - tail.len(), b'a');
        v.extend_from_slice(tail);
        v
    };
    for (buf, ok) in [
        (line(b"/x?", b" HTTP/1."), true),
        (line(b"http://www.fixture.test/", b""), true),
        (line(b"/x?", b" HTTP/2"), false),
        (line(b"/x?", b" hello"), false),
        (line(b"/x\x01", b""), false),
        (line(b"xyz", b""), false),
        (line(b"/x", b"\xff"), false),
    ] {
        let got = detect_http(&input(&buf, b""));
        assert_eq!(matches!(got, Sniff::Match(_)), ok, "{:?}", &buf[..8]);
        if !ok {
            assert_eq!(got, Sniff::NotThis);
        }
    }
    // A short target that a sample cut short: not enough to name it.
    let mut short = b"GET /short HTTP/1.1".to_vec();
    short.resize(SAMPLE_MAX, b' ');
    assert_eq!(detect_http(&input(&short, b"")), Sniff::NotThis);
}
