//! PostgreSQL detector tests over flows recorded from psql 15 and postgres 15.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const STARTUP_C: &[u8] = include_bytes!("testdata/tcp/pgsql/psql-startup.client.bin");
const STARTUP_S: &[u8] = include_bytes!("testdata/tcp/pgsql/psql-startup.server.bin");
const SSL_C: &[u8] = include_bytes!("testdata/tcp/pgsql/psql-sslrequest.client.bin");
const SSL_S: &[u8] = include_bytes!("testdata/tcp/pgsql/psql-sslrequest.server.bin");
const CANCEL: &[u8] = include_bytes!("testdata/tcp/pgsql/psql-cancel.client.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 5432,
        complete,
    }
}

fn meta<'a>(i: &Input<'a>) -> Meta<'a> {
    match detect(i) {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn startup_prefixes_then_match_with_metadata() {
    let len = u32::from_be_bytes(STARTUP_C[..4].try_into().unwrap()) as usize;
    for n in 0..len {
        assert_eq!(
            detect(&inp(&STARTUP_C[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    let m = meta(&inp(&STARTUP_C[..len], b"", false));
    assert_eq!(m.method, Some(&b"StartupMessage"[..]));
    assert_eq!(m.version, Some(0x0003_0000));
    assert_eq!(m.software, Some(&b"psql"[..]));
    meta(&inp(STARTUP_C, STARTUP_S, true));
}

#[test]
fn ssl_request_with_and_without_answer() {
    assert_eq!(detect(&inp(&SSL_C[..8], b"", false)), Sniff::NeedMore);
    assert_eq!(
        meta(&inp(&SSL_C[..8], b"", true)).method,
        Some(&b"SSLRequest"[..])
    );
    assert_eq!(
        meta(&inp(SSL_C, SSL_S, false)).method,
        Some(&b"SSLRequest"[..])
    );
    assert_eq!(detect(&inp(&SSL_C[..8], b"X", false)), Sniff::NotThis);
    // The StartupMessage after 'N' may be seen before the answer is.
    meta(&inp(SSL_C, b"", false));
}

#[test]
fn gssenc_and_cancel_requests() {
    // GSSENCRequest (protocol documentation, "Message Formats").
    let gss = b"\x00\x00\x00\x08\x04\xd2\x16\x30";
    assert_eq!(
        meta(&inp(gss, b"N", false)).method,
        Some(&b"GSSENCRequest"[..])
    );
    for n in 0..CANCEL.len() {
        assert_eq!(
            detect(&inp(&CANCEL[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    assert_eq!(
        meta(&inp(CANCEL, b"", true)).method,
        Some(&b"CancelRequest"[..])
    );
    assert_eq!(detect(&inp(CANCEL, b"E", true)), Sniff::NotThis);
}

#[test]
fn backend_alone() {
    assert_eq!(
        meta(&inp(b"", STARTUP_S, false)).method,
        Some(&b"AuthenticationRequest"[..])
    );
    assert_eq!(detect(&inp(b"", &STARTUP_S[..5], false)), Sniff::NeedMore);
    let md5 = b"R\x00\x00\x00\x0c\x00\x00\x00\x05abcd";
    assert!(matches!(detect(&inp(b"", md5, false)), Sniff::Match(_)));
    for bad in [
        &b"220 mail ESMTP\r\n"[..],
        b"SSH-2.0-x\r\n",
        b"R\x00\x00\x00\x08\x00\x00\x00\x00",
        b"N",
    ] {
        assert_eq!(detect(&inp(b"", bad, false)), Sniff::NotThis, "{bad:?}");
    }
}

#[test]
fn rejects_near_misses_and_other_protocols() {
    let mut no_user = STARTUP_C[..0x3d].to_vec();
    no_user[8..12].copy_from_slice(b"usex");
    let mut bad_version = STARTUP_C[..0x3d].to_vec();
    bad_version[5] = 4;
    let mut long = STARTUP_C[..0x3d].to_vec();
    long[2] = 0x30;
    for bad in [
        &no_user[..],
        &bad_version,
        &long,
        b"\x00\x00\x00\x08\x04\xd2\x16\x31",
        b"\x00\x00\x00\x09\x04\xd2\x16\x2f\x00",
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"\x00\x1c\x12\x34\x01\x00\x00\x01",
        b"\x12\x01\x00\x3a\x00\x00\x00\x00",
    ] {
        assert_eq!(detect(&inp(bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    // A server that spoke first is not a PostgreSQL backend.
    assert_eq!(
        detect(&inp(STARTUP_C, b"220 ftp\r\n", false)),
        Sniff::NotThis
    );
    // A startup message whose answer came before it was whole.
    assert_eq!(detect(&inp(&STARTUP_C[..20], b"R", false)), Sniff::NotThis);
}
