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
    // USER alone could be POP3.
    assert_eq!(detect(&input(USER, b"", false)), Sniff::NotThis);
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
