//! LDAP detector tests over OpenLDAP ldapsearch / ldapwhoami / slapd flows.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const ANON_BIND: &[u8] = include_bytes!("testdata/tcp/ldap/slapd-ldapsearch.client.bin");
const BIND: &[u8] = include_bytes!("testdata/tcp/ldap/slapd-ldapwhoami.client.bin");
const BIND_RSP: &[u8] = include_bytes!("testdata/tcp/ldap/slapd-ldapwhoami.server.bin");
/// SNMPv2c get-request (RFC 3416), community "public".
const SNMP: &[u8] = b"\x30\x26\x02\x01\x01\x04\x06public\xa0\x19\x02\x04\x12\x34\x56\x78\x02\x01\x00\x02\x01\x00\x30\x0b\x30\x09\x06\x05\x2b\x06\x01\x02\x01\x05\x00";

fn input<'a>(client: &'a [u8], server: &'a [u8], transport: Transport) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 3890,
        complete: false,
    }
}

#[test]
fn binds_responses_and_prefixes() {
    for bind in [ANON_BIND, BIND] {
        match detect(&input(bind, b"", Transport::Tcp)) {
            Sniff::Match(m) => {
                assert_eq!(m.method, Some(&b"bind"[..]));
                assert_eq!(m.version, Some(3));
            }
            other => panic!("{other:?}"),
        }
        for n in 0..bind.len() {
            let got = detect(&input(&bind[..n], b"", Transport::Tcp));
            assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
        }
    }
    match detect(&input(b"", BIND_RSP, Transport::Tcp)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"bind-response"[..])),
        other => panic!("{other:?}"),
    }
    // Connectionless LDAP carries the same messages.
    assert!(matches!(
        detect(&input(BIND, b"", Transport::Udp)),
        Sniff::Match(_)
    ));
}

#[test]
fn search_and_extended_requests() {
    // searchRequest: base "", scope base, derefAliases never, ... (RFC 4511 4.5.1).
    let search = b"\x30\x25\x02\x01\x02\x63\x20\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0bobjectClass\x30\x00";
    assert!(matches!(
        detect(&input(search, b"", Transport::Tcp)),
        Sniff::Match(_)
    ));
    // StartTLS extended request.
    let starttls = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x161.3.6.1.4.1.1466.20037";
    assert!(matches!(
        detect(&input(starttls, b"", Transport::Tcp)),
        Sniff::Match(_)
    ));
}

#[test]
fn rejects_snmp_and_near_misses() {
    assert_eq!(detect(&input(SNMP, b"", Transport::Udp)), Sniff::NotThis);
    let patch = |i: usize, v: u8| {
        let mut b = BIND.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        patch(4, 0),    // messageID 0 from the initiator
        patch(5, 0x61), // a response from the initiator
        patch(9, 4),    // bind version 4
        patch(1, 0x2d), // lengths do not add up
        patch(0, 0x31),
        b"\x30\x80\x02\x01\x01".to_vec(), // indefinite length
        b"GET / HTTP/1.1\r\n".to_vec(),
    ] {
        assert_eq!(
            detect(&input(&bad, b"", Transport::Tcp)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
    assert_eq!(detect(&input(b"", BIND, Transport::Tcp)), Sniff::NotThis);
}
