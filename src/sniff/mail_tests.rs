//! SMTP / POP3 / IMAP detector tests over flows recorded from real programs
//! (`testdata/capture_a.py`), near misses and other protocols' bytes.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const EXIM: &[u8] = include_bytes!("testdata/tcp/smtp/exim-curl.server.bin");
const CURL_EHLO: &[u8] = include_bytes!("testdata/tcp/smtp/exim-curl.client.bin");
const SMTPLIB_EHLO: &[u8] = include_bytes!("testdata/tcp/smtp/exim-smtplib.client.bin");
const VSFTPD: &[u8] = include_bytes!("testdata/tcp/ftp/vsftpd-curl.server.bin");
const FTP_USER: &[u8] = include_bytes!("testdata/tcp/ftp/vsftpd-curl.client.bin");
const DOVECOT_POP: &[u8] = include_bytes!("testdata/tcp/pop3/dovecot-curl.server.bin");
const CAPA: &[u8] = include_bytes!("testdata/tcp/pop3/dovecot-curl.client.bin");
const DOVECOT_IMAP: &[u8] = include_bytes!("testdata/tcp/imap/dovecot-curl.server.bin");
const IMAP_CURL: &[u8] = include_bytes!("testdata/tcp/imap/dovecot-curl.client.bin");
const IMAP_LIB: &[u8] = include_bytes!("testdata/tcp/imap/dovecot-imaplib.client.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 2500,
        complete,
    }
}

type Detect = for<'a> fn(&Input<'a>) -> Sniff<Meta<'a>>;

fn is_match(d: Detect, client: &[u8], server: &[u8], complete: bool) -> bool {
    matches!(d(&input(client, server, complete)), Sniff::Match(_))
}

#[test]
fn smtp_flows_and_server_alone() {
    for client in [CURL_EHLO, SMTPLIB_EHLO] {
        match detect_smtp(&input(client, EXIM, false)) {
            Sniff::Match(m) => {
                assert!(m.method.unwrap().eq_ignore_ascii_case(b"EHLO"));
                assert!(m.software.unwrap().windows(10).any(|w| w == b"ESMTP Exim"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!is_match(detect_pop3, client, EXIM, true));
        assert!(!is_match(detect_imap, client, EXIM, true));
    }
    assert!(is_match(detect_smtp, b"", EXIM, false));
    assert!(is_match(detect_smtp, CURL_EHLO, b"", false));
}

#[test]
fn greeting_prefixes_need_more() {
    for (d, server) in [
        (detect_smtp as Detect, EXIM),
        (detect_pop3, DOVECOT_POP),
        (detect_imap, DOVECOT_IMAP),
    ] {
        for n in 0..server.len() {
            assert_eq!(
                d(&input(b"", &server[..n], false)),
                Sniff::NeedMore,
                "prefix {n}"
            );
        }
    }
    for n in 0..CURL_EHLO.len() {
        assert_eq!(
            detect_smtp(&input(&CURL_EHLO[..n], EXIM, false)),
            Sniff::Match(Meta {
                software: Some(&EXIM[4..EXIM.len() - 2]),
                ..Meta::default()
            })
        );
    }
}

#[test]
fn ambiguous_220_waits_for_the_client() {
    let plain = b"220 gateway.example.net ready\r\n";
    assert_eq!(detect_smtp(&input(b"", plain, false)), Sniff::NeedMore);
    assert_eq!(detect_smtp(&input(b"", plain, true)), Sniff::NotThis);
    assert_eq!(detect_smtp(&input(b"EH", plain, false)), Sniff::NeedMore);
    assert!(is_match(detect_smtp, b"HELO client\r\n", plain, false));
    assert!(!is_match(detect_smtp, FTP_USER, plain, false));
    assert!(!is_match(detect_smtp, CURL_EHLO, VSFTPD, false));
    assert!(!is_match(detect_smtp, b"", VSFTPD, true));
    // A client that is neither settles nothing.
    assert_eq!(
        detect_smtp(&input(b"XYZZY\r\n", plain, false)),
        Sniff::NotThis
    );
}

#[test]
fn smtp_variants() {
    let postfix = b"220-mx.example.org ESMTP Postfix (Debian/GNU)\r\n220 ready\r\n";
    assert!(is_match(detect_smtp, b"", postfix, false));
    assert!(is_match(
        detect_smtp,
        b"",
        b"220 mx.example.org Microsoft ESMTP MAIL Service\r\n",
        false
    ));
    assert!(is_match(
        detect_smtp,
        b"EHLO x\r\n",
        b"554 5.7.1 no service here\r\n",
        false
    ));
    // Without an enhanced status code or a name, a 554 alone says nothing.
    assert!(!is_match(
        detect_smtp,
        b"",
        b"554 no service here\r\n",
        true
    ));
}

/// The FTP detector's answer (it is `smtp_or_ftp` read for FTP).
fn ftp<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    match smtp_or_ftp(input) {
        Sniff::Match((Which::Ftp, m)) => Sniff::Match(m),
        Sniff::Match(_) | Sniff::NotThis => Sniff::NotThis,
        Sniff::NeedMore => Sniff::NeedMore,
    }
}

/// Greetings that refuse service (RFC 5321 section 3.1; RFC 959's 421),
/// in the words real servers use: Postfix's connection limits and
/// postscreen, Sendmail's rate control, Exim's and vsftpd's limits.
#[test]
fn refusing_greetings() {
    // An enhanced status code (RFC 3463) or the word SMTP: SMTP at once.
    for server in [
        &b"421 4.7.0 mx.example.org Error: too many connections from 198.18.0.1\r\n"[..],
        b"421 4.3.2 Service shutting down\r\n",
        b"554 5.7.1 Service unavailable; client host [198.18.0.1] blocked\r\n",
        b"421 mx.example.org Too many concurrent SMTP connections; please try again later.\r\n",
        b"554-mx.example.org\r\n554 5.5.0 no SMTP service here\r\n",
    ] {
        assert!(is_match(detect_smtp, b"", server, false), "{server:?}");
        assert!(!is_match(ftp, b"", server, true), "{server:?}");
        for n in 0..server.len().min(30) {
            assert_ne!(
                detect_smtp(&input(b"", &server[..n], false)),
                Sniff::NotThis,
                "{server:?} prefix {n}"
            );
        }
    }
    // A 554 that names nothing: the client's EHLO, HELO or QUIT settles it.
    let admin = b"554 Administrative prohibition\r\n";
    assert_eq!(detect_smtp(&input(b"", admin, false)), Sniff::NeedMore);
    for client in [&b"QUIT\r\n"[..], b"EHLO client.example\r\n", b"HELO x\r\n"] {
        assert!(is_match(detect_smtp, client, admin, false), "{client:?}");
    }
    assert_eq!(detect_smtp(&input(b"QU", admin, false)), Sniff::NeedMore);
    assert!(!is_match(detect_smtp, b"USER a\r\n", admin, false));
    assert!(!is_match(ftp, b"USER a\r\n", admin, false));
    // A 421 that names nothing (vsftpd's): FTP or SMTP by the client.
    let busy = b"421 There are too many connected users, please try later.\r\n";
    assert_eq!(detect_smtp(&input(b"", busy, false)), Sniff::NeedMore);
    assert_eq!(ftp(&input(b"", busy, false)), Sniff::NeedMore);
    assert!(!is_match(detect_smtp, b"", busy, true));
    assert!(!is_match(ftp, b"", busy, true));
    assert!(is_match(ftp, b"USER anonymous\r\n", busy, false));
    assert!(!is_match(detect_smtp, b"USER anonymous\r\n", busy, false));
    assert!(is_match(detect_smtp, b"EHLO x\r\n", busy, false));
    assert!(!is_match(detect_smtp, b"QUIT\r\n", busy, false));
    // A 421 that names FTP is FTP.
    let ftp_busy = b"421 Too many users on this FTP server\r\n";
    assert!(is_match(ftp, b"", ftp_busy, false));
    assert!(!is_match(detect_smtp, b"", ftp_busy, true));
    // Not an enhanced status code; not a reply line.
    for server in [
        &b"421 4.3 busy\r\n"[..],
        b"421 6.3.2 busy\r\n",
        b"554 5.7.1234 busy\r\n",
        b"4210 busy\r\n",
    ] {
        assert!(!is_match(detect_smtp, b"", server, true), "{server:?}");
    }
}

#[test]
fn pop3_flow_and_near_misses() {
    match detect_pop3(&input(CAPA, DOVECOT_POP, false)) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"CAPA"[..]));
            assert_eq!(m.software, Some(&b"Dovecot (Debian) ready."[..]));
        }
        other => panic!("{other:?}"),
    }
    assert!(is_match(detect_pop3, b"", DOVECOT_POP, false));
    assert!(is_match(detect_pop3, CAPA, b"", false));
    // Redis answers "+OK" to a RESP client; a bare +OK is not a greeting.
    assert_eq!(
        detect_pop3(&input(b"*1\r\n$4\r\nPING\r\n", DOVECOT_POP, false)),
        Sniff::NotThis
    );
    assert_eq!(detect_pop3(&input(b"", b"+OK\r\n", false)), Sniff::NotThis);
    assert_eq!(detect_pop3(&input(FTP_USER, b"", false)), Sniff::NotThis);
    assert!(!is_match(detect_pop3, b"", EXIM, true));
}

#[test]
fn imap_flows_and_near_misses() {
    for client in [IMAP_CURL, IMAP_LIB] {
        match detect_imap(&input(client, DOVECOT_IMAP, false)) {
            Sniff::Match(m) => assert_eq!(m.method, Some(&b"CAPABILITY"[..])),
            other => panic!("{other:?}"),
        }
        assert!(is_match(detect_imap, client, b"", false));
        assert!(!is_match(detect_smtp, client, DOVECOT_IMAP, true));
        assert!(!is_match(detect_pop3, client, DOVECOT_IMAP, true));
    }
    assert!(is_match(
        detect_imap,
        b"",
        b"* PREAUTH IMAP4rev1 server logged in\r\n",
        false
    ));
    for bad in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"EHLO x\r\n",
        b"*1\r\n$4\r\nPING\r\n",
    ] {
        assert_eq!(
            detect_imap(&input(bad, b"", false)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    assert_eq!(
        detect_imap(&input(b"", b"* OKAY\r\n", false)),
        Sniff::NotThis
    );
}

#[test]
fn other_protocols_are_not_mail() {
    for server in [
        &b"SSH-2.0-OpenSSH_9.2p1\r\n"[..],
        b"RFB 003.008\n",
        b"\x00\x00\x00\x10\xfeSMB",
    ] {
        for d in [detect_smtp as Detect, detect_pop3, detect_imap] {
            assert_eq!(d(&input(b"", server, false)), Sniff::NotThis, "{server:?}");
        }
    }
    for client in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"GET / HTTP/1.1\r\n",
    ] {
        for d in [detect_smtp as Detect, detect_pop3, detect_imap] {
            assert_eq!(d(&input(client, b"", false)), Sniff::NotThis, "{client:?}");
        }
    }
}

/// This family's detectors over mutated fixtures and pseudo-random bytes:
/// no input may panic (debug builds also trap arithmetic overflow).
#[test]
fn family_detectors_never_panic() {
    use crate::sniff::matrix_tests::fixtures;
    use crate::sniff::{Proto, FAMILIES};
    let ours = [
        Proto::Smtp,
        Proto::Pop3,
        Proto::Imap,
        Proto::Ftp,
        Proto::Telnet,
        Proto::Rdp,
        Proto::Smb,
        Proto::Dcerpc,
        Proto::Nbns,
        Proto::Ldap,
        Proto::Krb5,
        Proto::Rfb,
        Proto::Irc,
        Proto::Xmpp,
    ];
    let detectors: Vec<_> = FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .filter(|d| ours.contains(&d.proto))
        .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut samples: Vec<Vec<u8>> = fixtures()
        .into_iter()
        .flat_map(|f| [f.client, f.server])
        .filter(|s| !s.is_empty())
        .collect();
    for i in 0..samples.len() {
        for _ in 0..40 {
            let mut m = samples[i].clone();
            let at = next() as usize % m.len();
            m[at] = next() as u8;
            m.truncate(1 + next() as usize % m.len());
            samples.push(m);
        }
    }
    for _ in 0..300 {
        let len = next() as usize % 96;
        samples.push((0..len).map(|_| next() as u8).collect());
    }
    for s in &samples {
        for t in [Transport::Tcp, Transport::Udp] {
            for complete in [false, true] {
                for (c, sv) in [(&s[..], &b""[..]), (b"", s), (s, s)] {
                    let inp = Input {
                        transport: t,
                        ..input(c, sv, complete)
                    };
                    for d in detectors.iter().filter(|d| d.runs_on(t)) {
                        let _ = (d.detect)(&inp);
                    }
                }
            }
        }
    }
}

/// Whole recorded flows of this family are never named as something else
/// while the flow is open. (Some wait: the DNS-over-TCP detector reads
/// "CAPA\r\n" as a 17 KB message and answers NeedMore until the bounds.)
#[test]
fn family_flows_identified_while_open() {
    use crate::sniff::matrix_tests::fixtures;
    use crate::sniff::registry::{classify, Verdict};
    for f in fixtures() {
        if f.client.is_empty() || f.server.is_empty() {
            continue;
        }
        match classify(&f.input(false), false) {
            Verdict::Identified(c) => assert_eq!(c.proto, f.proto, "{}", f.name),
            Verdict::NeedMore => {}
            other => panic!("{}: {other:?}", f.name),
        }
    }
}
