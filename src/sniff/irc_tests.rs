//! IRC detector tests over a sic / ngIRCd registration.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CLIENT: &[u8] = include_bytes!("testdata/tcp/irc/ngircd-sic.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/tcp/irc/ngircd-sic.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 6667,
        complete,
    }
}

fn is_match(client: &[u8], server: &[u8], complete: bool) -> bool {
    matches!(detect(&input(client, server, complete)), Sniff::Match(_))
}

#[test]
fn registration_and_prefixes() {
    match detect(&input(CLIENT, SERVER, false)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"USER"[..])),
        other => panic!("{other:?}"),
    }
    for n in 0..CLIENT.len() {
        let got = detect(&input(&CLIENT[..n], b"", false));
        assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
    }
    assert!(is_match(b"CAP LS 302\r\n", b"", false));
    assert!(is_match(b"PASS secret\r\nNICK bob\r\n", b"", true));
    assert!(is_match(b"NICK bob\r\n", b"", true));
    assert!(!is_match(b"NICK bob\r\n", b"", false));
    // The server's replies alone, and a pre-registration notice.
    assert!(is_match(b"", SERVER, false));
    assert!(is_match(
        b"",
        b":irc.example.net NOTICE * :*** Looking up your hostname...\r\n",
        false
    ));
    assert!(is_match(b"", b"NOTICE AUTH :*** Checking Ident\r\n", false));
}

#[test]
fn rejects_other_line_protocols() {
    for bad in [
        &b"USER anonymous\r\n"[..],
        b"USER bob\r\nPASS x\r\n",
        b"NICK bob\r\nEHLO x\r\n",
        b"NICK 9bob\r\n",
        b"CAP REQ :sasl\r\n",
        b"EHLO mail.example.com\r\n",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert!(!is_match(bad, b"", true), "{bad:?}");
    }
    for bad in [
        &b"220 ftp ready\r\n"[..],
        b"+OK ready\r\n",
        b":x\r\n",
        b":host NOTICE\r\n",
    ] {
        assert_eq!(detect(&input(b"", bad, false)), Sniff::NotThis, "{bad:?}");
    }
}
