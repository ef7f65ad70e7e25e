//! FTP detector tests over vsftpd flows recorded by `testdata/capture_a.py`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const VSFTPD: &[u8] = include_bytes!("testdata/tcp/ftp/vsftpd-curl.server.bin");
const USER: &[u8] = include_bytes!("testdata/tcp/ftp/vsftpd-ftplib.client.bin");
const EXIM: &[u8] = include_bytes!("testdata/tcp/smtp/exim-curl.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 2121,
        complete,
    }
}

#[test]
fn vsftpd_flow_greeting_and_prefixes() {
    match detect(&input(USER, VSFTPD, false)) {
        Sniff::Match(m) => {
            assert_eq!(m.method, Some(&b"USER"[..]));
            assert_eq!(m.software, Some(&b"(vsFTPd 3.0.3)"[..]));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        detect(&input(b"", VSFTPD, false)),
        Sniff::Match(_)
    ));
    for n in 0..VSFTPD.len() {
        assert_eq!(
            detect(&input(b"", &VSFTPD[..n], false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
}

#[test]
fn other_servers_and_clients() {
    let pure = b"220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n\
220-You are user number 1 of 50 allowed.\r\n220 You will be disconnected after 15 minutes.\r\n";
    assert!(matches!(detect(&input(b"", pure, false)), Sniff::Match(_)));
    assert!(matches!(
        detect(&input(b"", b"220 Microsoft FTP Service\r\n", false)),
        Sniff::Match(_)
    ));
    // An anonymous greeting is settled by the client's command.
    assert!(matches!(
        detect(&input(b"AUTH TLS\r\n", b"220 ready\r\n", false)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        detect(&input(b"FEAT\r\n", b"", false)),
        Sniff::Match(_)
    ));
    // USER alone could be POP3: the server's greeting settles it.
    assert_eq!(detect(&input(USER, b"", false)), Sniff::NeedMore);
    assert_eq!(detect(&input(USER, b"", true)), Sniff::NotThis);
    assert_eq!(
        detect(&input(b"USER anonymous\r\nPASS busybox\r\n", b"", false)),
        Sniff::NeedMore
    );
    assert_eq!(detect(&input(b"USERS\r\n", b"", false)), Sniff::NotThis);
}

#[test]
fn smtp_and_lookalikes_are_not_ftp() {
    assert_eq!(detect(&input(b"", EXIM, false)), Sniff::NotThis);
    assert_eq!(
        detect(&input(b"EHLO x\r\n", b"220 ready\r\n", false)),
        Sniff::NotThis
    );
    // sftp / tftp / an ftp. host name do not name the protocol.
    assert_eq!(
        detect(&input(b"", b"220 ftp.example.com SFTP gateway\r\n", true)),
        Sniff::NotThis
    );
    assert_eq!(detect(&input(b"", b"2200 nope\r\n", false)), Sniff::NotThis);
    assert_eq!(
        detect(&input(b"", b"220 bad\x01line\r\n", false)),
        Sniff::NotThis
    );
}

/// pyftpdlib with a banner of several lines, recorded by
/// `testdata/capture_m.py`: `220-<first line>`, then banner lines without
/// a reply code (RFC 959 section 4.2), then `220 `. The line that names
/// FTP is one without a code.
const PYFTPD: &[u8] = include_bytes!("testdata/tcp/ftp/pyftpdlib-multiline.server.bin");
const PYFTPD_CURL: &[u8] = include_bytes!("testdata/tcp/ftp/pyftpdlib-multiline.client.bin");

#[test]
fn greeting_lines_without_a_code() {
    let greeting_end = PYFTPD.len();
    let greeting = &PYFTPD[..greeting_end];
    assert!(!greeting.starts_with(b"220 "));
    // Named by a line without a code, before the client says anything.
    assert!(matches!(
        detect(&input(b"", greeting, false)),
        Sniff::Match(m) if m.software == Some(&b"Welcome to the fixture.test archive."[..])
    ));
    assert!(matches!(
        detect(&input(PYFTPD_CURL, PYFTPD, false)),
        Sniff::Match(m) if m.method == Some(&b"USER"[..])
    ));
    for n in 0..greeting_end {
        assert_ne!(
            detect(&input(b"", &greeting[..n], false)),
            Sniff::NotThis,
            "prefix {n}"
        );
    }
    // Lines without a code that do not name the protocol: the client's
    // first command settles it, as for a one-line greeting.
    let plain = b"220-Welcome\r\nPlease be nice.\r\n220 \r\n";
    assert_eq!(detect(&input(b"", plain, false)), Sniff::NeedMore);
    assert!(matches!(
        detect(&input(b"USER a\r\n", plain, false)),
        Sniff::Match(_)
    ));
    assert!(matches!(
        crate::sniff::mail::smtp_or_ftp(&input(b"EHLO a\r\n", plain, false)),
        Sniff::Match((Which::Smtp, _))
    ));
}

#[test]
fn filezilla_server_greetings_are_ftp_before_the_client_speaks() {
    // The greetings of FileZilla Server 1.x and 0.9.x as their source and
    // documentation give them (no real fixture: the server is not in
    // Debian). Neither says FTP; while the client waited for more, the
    // flow sat out the hold bound.
    for g in [
        &b"220-FileZilla Server 1.8.0\r\n220 Please visit https://filezilla-project.org/\r\n"[..],
        b"220-FileZilla Server version 0.9.60 beta\r\n220-written by Tim Kosse (tim.kosse@filezilla-project.org)\r\n220 Please visit https://filezilla-project.org/\r\n",
    ] {
        assert!(
            matches!(detect(&input(b"", g, false)), Sniff::Match(_)),
            "{}",
            String::from_utf8_lossy(g)
        );
    }
}

/// BusyBox 1.35 ftpget and wget 1.21.3 against pyftpdlib (capture_w.py):
/// their USER + PASS stream seen before the greeting waits for it, never
/// rules FTP out; with pyftpdlib's greeting it is FTP.
#[test]
fn user_pass_streams_wait_for_the_greeting() {
    for (client, server) in [
        (
            &include_bytes!("testdata/tcp/ftp/busybox-ftpget-pyftpdlib.client.bin")[..],
            &include_bytes!("testdata/tcp/ftp/busybox-ftpget-pyftpdlib.server.bin")[..],
        ),
        (
            include_bytes!("testdata/tcp/ftp/wget-pyftpdlib.client.bin"),
            include_bytes!("testdata/tcp/ftp/wget-pyftpdlib.server.bin"),
        ),
    ] {
        for n in 1..client.len() {
            assert_eq!(
                detect(&input(&client[..n], b"", false)),
                Sniff::NeedMore,
                "{n}"
            );
        }
        assert_eq!(detect(&input(client, b"", true)), Sniff::NotThis);
        match detect(&input(client, server, false)) {
            Sniff::Match(m) => assert_eq!(m.method, Some(&b"USER"[..])),
            other => panic!("{other:?}"),
        }
    }
}
