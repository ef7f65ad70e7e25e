//! MySQL detector tests over a flow recorded from MariaDB 10.11 client and server.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CLIENT: &[u8] = include_bytes!("testdata/tcp/mysql/mariadb.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/tcp/mysql/mariadb.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 3306,
        complete,
    }
}

fn greeting_len() -> usize {
    4 + (SERVER[0] as usize | (SERVER[1] as usize) << 8)
}

#[test]
fn greeting_prefixes_then_match() {
    let len = greeting_len();
    // NeedMore until the fixed part (through the reserved bytes) is in.
    for n in 0..69 {
        assert_eq!(
            detect(&inp(b"", &SERVER[..n], false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    for n in 69..len {
        assert!(
            matches!(detect(&inp(b"", &SERVER[..n], false)), Sniff::Match(_)),
            "prefix {n}"
        );
    }
    match detect(&inp(b"", &SERVER[..len], false)) {
        Sniff::Match(m) => {
            assert!(m.software.unwrap().starts_with(b"5.5.5-10.11"), "{m:?}");
            assert_eq!(m.version, Some(10));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        detect(&inp(CLIENT, SERVER, false)),
        Sniff::Match(_)
    ));
    // A greeting cut short before its fixed part is not enough.
    assert_eq!(detect(&inp(b"", &SERVER[..60], true)), Sniff::NotThis);
    assert!(matches!(
        detect(&inp(b"", &SERVER[..69], true)),
        Sniff::Match(_)
    ));
}

#[test]
fn mysql_greeting_and_refusal() {
    // MySQL 8 style greeting: all 10 reserved bytes zero.
    let mut g = vec![0u8; 4];
    g.push(10);
    g.extend_from_slice(b"8.0.36\0");
    g.extend_from_slice(&[1, 0, 0, 0]);
    g.extend_from_slice(b"abcdefgh\0");
    g.extend_from_slice(&[0xff, 0xff, 0xff, 0x02, 0x00, 0xff, 0xdf, 21]);
    g.extend_from_slice(&[0; 10]);
    g.extend_from_slice(b"ijklmnopqrst\0caching_sha2_password\0");
    let len = g.len() - 4;
    g[0] = len as u8;
    assert!(matches!(detect(&inp(b"", &g, false)), Sniff::Match(_)));
    // ER_HOST_NOT_PRIVILEGED before any greeting.
    let mut e = b"\x00\x00\x00\x00\xff\x6a\x04Host '10.0.0.1' is not allowed to connect to this MariaDB server".to_vec();
    e[0] = (e.len() - 4) as u8;
    assert!(matches!(detect(&inp(b"", &e, false)), Sniff::Match(_)));
    e[5] = 0x01;
    assert_eq!(detect(&inp(b"", &e, false)), Sniff::NotThis);
}

#[test]
fn client_alone() {
    for n in 0..36 {
        assert_eq!(
            detect(&inp(&CLIENT[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    match detect(&inp(CLIENT, b"", false)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"HandshakeResponse"[..])),
        other => panic!("{other:?}"),
    }
    // Sequence id 0 from the client is not a handshake response.
    let mut bad = CLIENT.to_vec();
    bad[3] = 0;
    assert_eq!(detect(&inp(&bad, b"", false)), Sniff::NotThis);
}

/// node's mysql2 (npm) sends max_packet_size 0 in its HandshakeResponse41;
/// seen without the greeting it is still MySQL, at every prefix.
#[test]
fn mysql2_client_alone() {
    const MYSQL2: &[u8] = include_bytes!("testdata/tcp/mysql/node-mysql2.client.bin");
    assert_eq!(MYSQL2.get(8..12), Some(&[0u8; 4][..]), "max_packet_size 0");
    for n in 0..36 {
        assert_eq!(
            detect(&inp(&MYSQL2[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    match detect(&inp(MYSQL2, b"", false)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"HandshakeResponse"[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_others() {
    for bad in [
        &b"220 smtp.example ESMTP\r\n"[..],
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"\x4a\x00\x00\x00\x0b5.0\x00",
        b"\x4a\x00\x00\x01\x0a5.0\x00",
        b"\x0a\x00\x00\x00\x0a\x00abc",
        b"RFB 003.008\n",
    ] {
        assert_eq!(detect(&inp(b"", bad, true)), Sniff::NotThis, "{bad:?}");
    }
    // A client that spoke while the greeting is still incomplete: not MySQL.
    assert_eq!(detect(&inp(b"x", &SERVER[..20], false)), Sniff::NotThis);
    assert_eq!(
        detect(&inp(b"GET / HTTP/1.1\r\n", b"", false)),
        Sniff::NotThis
    );
}
