//! Metadata read from the fixtures of more clients and servers
//! (capture_k.py, capture_m.py): not only which protocol each flow is, but what the
//! detector reports of it (SNI and version of every TLS client, HTTP
//! method and Host of odd requests, SSH software, RPC program...).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::matrix_tests::fixtures;
use super::registry::{classify, Verdict};
use super::Meta;

/// (fixture, sni, host, method, software, version): `None` must be absent.
pub(super) type Expect = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<u32>,
);

const EXPECT: &[Expect] = &[
    (
        "tcp/tls/openssl-tls1_2",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0303),
    ),
    (
        "tcp/tls/openssl-tls1",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0301),
    ),
    (
        "tcp/tls/gnutls-cli",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0304),
    ),
    (
        "tcp/tls/python-ssl",
        Some("fixture.test"),
        None,
        None,
        None,
        Some(0x0304),
    ),
    // wget to an address sends no server name.
    ("tcp/tls/wget", None, None, None, None, Some(0x0304)),
    (
        "tcp/http/wget",
        None,
        Some("127.0.0.1:47531"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/busybox-wget",
        None,
        Some("127.0.0.1:47531"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/python-urllib",
        None,
        Some("127.0.0.1:47531"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    // HTTP/1.0 without a Host header.
    (
        "tcp/http/nc-http10",
        None,
        None,
        Some("GET"),
        None,
        Some(0x0100),
    ),
    (
        "tcp/http/curl-options-star",
        None,
        Some("127.0.0.1:47531"),
        Some("OPTIONS"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/curl-propfind",
        None,
        Some("127.0.0.1:47531"),
        Some("PROPFIND"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/curl-patch",
        None,
        Some("127.0.0.1:47531"),
        Some("PATCH"),
        None,
        Some(0x0101),
    ),
    // Absolute-form requests to a proxy: the Host is the origin's.
    (
        "tcp/http/curl-proxy-absolute",
        None,
        Some("www.fixture.test"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/wget-proxy-absolute",
        None,
        Some("www.fixture.test"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/ssh/dropbear",
        None,
        None,
        None,
        Some("dropbear_2022.83"),
        Some(2),
    ),
    (
        "tcp/ssh/paramiko",
        None,
        None,
        None,
        Some("paramiko_2.12.0"),
        Some(2),
    ),
    ("tcp/dns/kdig", None, None, Some("query"), None, None),
    ("tcp/dns/drill", None, None, Some("query"), None, None),
    (
        "tcp/imap/dovecot-preauth",
        None,
        None,
        Some("CAPABILITY"),
        None,
        None,
    ),
    ("tcp/nfs/libnfs-v3", None, None, None, None, Some(3)),
    ("tcp/nfs/libnfs-v4", None, None, None, None, Some(4)),
    ("udp/nfs/rpcinfo", None, None, None, None, Some(3)),
    (
        "tcp/onc-rpc/libnfs-mountd",
        None,
        None,
        Some("mountd"),
        None,
        Some(3),
    ),
    (
        "tcp/onc-rpc/rpcinfo",
        None,
        None,
        Some("portmapper"),
        None,
        Some(4),
    ),
    (
        "udp/onc-rpc/rpcinfo",
        None,
        None,
        Some("portmapper"),
        None,
        Some(4),
    ),
    (
        "udp/quic/chromium-h3-29",
        None,
        None,
        None,
        None,
        Some(0xff00_001d),
    ),
    (
        "udp/quic/chromium-q046",
        Some("quic.fixture.test"),
        None,
        None,
        None,
        Some(0x5130_3436),
    ),
    (
        "tcp/mqtt/mosquitto-ping-midstream",
        None,
        None,
        Some("PINGREQ"),
        None,
        None,
    ),
    (
        "tcp/mqtt/mosquitto-connack-first",
        None,
        None,
        Some("SUBSCRIBE"),
        None,
        None,
    ),
    // capture_m.py: a method longer than 11 bytes, an empty line first.
    (
        "tcp/http/curl-version-control",
        None,
        Some("127.0.0.1:47600"),
        Some("VERSION-CONTROL"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/http/nc-leading-crlf",
        None,
        Some("127.0.0.1"),
        Some("GET"),
        None,
        Some(0x0101),
    ),
    (
        "tcp/ssh/dropbear-notice",
        None,
        None,
        None,
        Some("dropbear_2022.83"),
        Some(2),
    ),
    (
        "tcp/ftp/pyftpdlib-multiline",
        None,
        None,
        Some("USER"),
        Some("Welcome to the fixture.test archive."),
        None,
    ),
    (
        "tcp/ssh/curl-libssh2",
        None,
        None,
        None,
        Some("libssh2_1.10.0"),
        Some(2),
    ),
    (
        "tcp/ssh/plink",
        None,
        None,
        None,
        Some("PuTTY_Release_0.78"),
        Some(2),
    ),
    (
        "tcp/ftp/lftp",
        None,
        None,
        Some("FEAT"),
        Some("pyftpdlib 1.5.7 ready."),
        None,
    ),
    // A DNS UPDATE (opcode 5): the zone section read as the question.
    ("udp/dns/nsupdate", None, None, Some("query"), None, None),
    ("tcp/dns/nsupdate", None, None, Some("query"), None, None),
    (
        "udp/ntp/ntpq-readvar",
        None,
        None,
        Some("control"),
        None,
        Some(2),
    ),
];

fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
}

#[test]
fn clients_and_servers_report_their_metadata() {
    check(EXPECT);
}

/// Classifies each fixture of `expect` and compares what it reports.
pub(super) fn check(expect: &[Expect]) {
    let all = fixtures();
    for &(name, sni, host, method, software, version) in expect {
        let f = all
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("fixture {name} missing"));
        let meta: Meta<'_> = match classify(&f.input(true), false) {
            Verdict::Identified(c) => c.meta,
            other => panic!("{name}: {other:?}"),
        };
        let want = |s: Option<&str>| s.map(str::to_string);
        assert_eq!(text(meta.sni), want(sni), "{name} sni");
        assert_eq!(text(meta.host), want(host), "{name} host");
        assert_eq!(text(meta.method), want(method), "{name} method");
        if software.is_some() {
            assert_eq!(text(meta.software), want(software), "{name} software");
        }
        assert_eq!(meta.version, version, "{name} version");
    }
}

#[test]
fn imap_preauth_greeting_is_the_software_text() {
    let all = fixtures();
    let f = all
        .iter()
        .find(|f| f.name == "tcp/imap/dovecot-preauth")
        .unwrap();
    match classify(&f.input(true), false) {
        Verdict::Identified(c) => {
            let sw = text(c.meta.software).unwrap();
            assert!(sw.starts_with("PREAUTH [CAPABILITY IMAP4rev1"), "{sw}");
        }
        other => panic!("{other:?}"),
    }
}
