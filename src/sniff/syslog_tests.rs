//! Syslog detector tests over util-linux `logger` (RFC 3164 / 5424, UDP and
//! TCP) and Python's `SysLogHandler`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const UDP_3164: &[u8] = include_bytes!("testdata/udp/syslog/logger-3164.client.bin");
const UDP_5424: &[u8] = include_bytes!("testdata/udp/syslog/logger-5424.client.bin");
const PYTHON: &[u8] = include_bytes!("testdata/udp/syslog/python.client.bin");
const TCP_OCTET: &[u8] = include_bytes!("testdata/tcp/syslog/logger-5424-octet.client.bin");
const TCP_3164: &[u8] = include_bytes!("testdata/tcp/syslog/logger-3164.client.bin");

fn input<'a>(client: &'a [u8], transport: Transport, complete: bool) -> Input<'a> {
    Input {
        client,
        server: b"",
        transport,
        client_port: 40000,
        server_port: 514,
        complete,
    }
}

fn meta(buf: &[u8], t: Transport) -> Meta<'_> {
    match detect(&input(buf, t, false)) {
        Sniff::Match(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn logger_and_python_messages_match() {
    let m = meta(UDP_5424, Transport::Udp);
    assert_eq!((m.version, m.software), (Some(1), Some(&b"fixture"[..])));
    assert_eq!(meta(UDP_3164, Transport::Udp).version, Some(0));
    assert_eq!(meta(PYTHON, Transport::Udp).version, Some(0));
    assert_eq!(
        meta(TCP_OCTET, Transport::Tcp).software,
        Some(&b"fixture"[..])
    );
    assert!(meta(TCP_3164, Transport::Tcp).host.is_some());
}

#[test]
fn tcp_prefixes_never_rule_out() {
    for buf in [TCP_OCTET, TCP_3164] {
        for n in 0..buf.len() {
            let got = detect(&input(&buf[..n], Transport::Tcp, false));
            assert!(!matches!(got, Sniff::NotThis), "{n}");
        }
        // Nothing is decided before the header's host field.
        for n in 0..20 {
            assert_eq!(
                detect(&input(&buf[..n], Transport::Tcp, false)),
                Sniff::NeedMore,
                "{n}"
            );
        }
    }
}

#[test]
fn near_misses_are_not_syslog() {
    for bad in [
        &b"<192>Dec  3 17:42:04 vm x: y"[..],
        b"<013>Dec  3 17:42:04 vm x: y",
        b"<13>",
        b"<13>a\x01bcdef",
        b"<?xml version='1.0'?><stream:stream>",
        b"GET / HTTP/1.1\r\n\r\n",
        b"220 mail.example ESMTP\r\n",
        b"<13>ab",
    ] {
        assert_eq!(
            detect(&input(bad, Transport::Udp, true)),
            Sniff::NotThis,
            "{bad:?}"
        );
        assert_eq!(
            detect(&input(bad, Transport::Tcp, true)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    // A responder that speaks first is not a syslog collector.
    let served = Input {
        server: b"220 ready\r\n",
        ..input(b"", Transport::Tcp, false)
    };
    assert_eq!(detect(&served), Sniff::NotThis);
    // Octet counts with a leading zero, too many digits, or no message.
    for bad in [&b"0117 <13>1 - h a - - - x"[..], b"1234567 <13>x", b"12x"] {
        assert_eq!(
            detect(&input(bad, Transport::Tcp, false)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
}
