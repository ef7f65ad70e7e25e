//! SNMP detector tests over net-snmp `snmpget` v1/v2c/v3 and an snmpd answer.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const V1: &[u8] = include_bytes!("testdata/udp/snmp/netsnmp-v1.client.bin");
const V2C: &[u8] = include_bytes!("testdata/udp/snmp/netsnmp-v2c.client.bin");
const V3: &[u8] = include_bytes!("testdata/udp/snmp/netsnmp-v3.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/snmp/netsnmp-v2c.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 161,
        complete: false,
    }
}

fn meta(client: &[u8], server: &[u8]) -> (Option<u32>, Vec<u8>) {
    match detect(&input(client, server)) {
        Sniff::Match(m) => (m.version, m.method.unwrap().to_vec()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_version_matches() {
    assert_eq!(meta(V1, b""), (Some(1), b"get-request".to_vec()));
    assert_eq!(meta(V2C, b""), (Some(2), b"get-request".to_vec()));
    // net-snmp's v3 engine discovery: a plaintext, unauthenticated get.
    assert_eq!(meta(V3, b""), (Some(3), b"get-request".to_vec()));
    assert_eq!(meta(b"", ANSWER), (Some(2), b"response".to_vec()));
}

#[test]
fn near_misses_are_not_snmp() {
    // Trailing garbage, truncation, version 2, an LDAP-like application tag.
    let mut long = V2C.to_vec();
    long.push(0);
    assert_eq!(detect(&input(&long, b"")), Sniff::NotThis);
    assert_eq!(detect(&input(&V2C[..V2C.len() - 1], b"")), Sniff::NotThis);
    let version_at = 4;
    let mut b = V2C.to_vec();
    b[version_at] = 2;
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    // An LDAP bind request: SEQUENCE { INTEGER 1, [APPLICATION 0] ... }.
    let ldap = b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00";
    assert_eq!(detect(&input(ldap, b"")), Sniff::NotThis);
    assert_eq!(
        detect(&input(b"\x30\x84\xff\xff\xff\xff", b"")),
        Sniff::NotThis
    );
}

#[test]
fn every_truncation_is_safe() {
    for buf in [V1, V2C, V3, ANSWER] {
        for n in 0..buf.len() {
            assert_eq!(
                detect(&input(&buf[..n], b"")),
                if n == 0 {
                    Sniff::NeedMore
                } else {
                    Sniff::NotThis
                }
            );
        }
    }
}
