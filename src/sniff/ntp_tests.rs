//! NTP detector tests over an ntpsec `ntpdig` request and chrony's answer.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const REQUEST: &[u8] = include_bytes!("testdata/udp/ntp/ntpdig.client.bin");
const ANSWER: &[u8] = include_bytes!("testdata/udp/ntp/ntpdig.server.bin");

fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 123,
        complete: false,
    }
}

#[test]
fn request_and_answer_match() {
    match detect(&input(REQUEST, ANSWER)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"client"[..])),
        other => panic!("{other:?}"),
    }
    match detect(&input(b"", ANSWER)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"server"[..])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sntp_request_and_mac_match() {
    // A bare SNTP v3 request (Windows, embedded clients): all zero but mode.
    let mut sntp = [0u8; 48];
    sntp[0] = 0x1b;
    assert!(matches!(detect(&input(&sntp, b"")), Sniff::Match(_)));
    // With a key id and an MD5 digest.
    let mut mac = REQUEST.to_vec();
    mac.extend_from_slice(&[0u8; 20]);
    assert!(matches!(detect(&input(&mac, b"")), Sniff::Match(_)));
}

#[test]
fn near_misses_are_not_ntp() {
    // Wrong length, version 0 and 5, server mode from the client,
    // client mode from the server, absurd stratum.
    assert_eq!(detect(&input(&REQUEST[..47], b"")), Sniff::NotThis);
    let mut long = REQUEST.to_vec();
    long.push(0);
    assert_eq!(detect(&input(&long, b"")), Sniff::NotThis);
    for (i, v) in [(0usize, 0x03u8), (0, 0x2b), (0, 0x24), (1, 200), (3, 0x10)] {
        let mut b = REQUEST.to_vec();
        b[i] = v;
        assert_eq!(detect(&input(&b, b"")), Sniff::NotThis, "byte {i} = {v:#x}");
    }
    assert_eq!(detect(&input(b"", REQUEST)), Sniff::NotThis);
    assert_eq!(detect(&input(&[0u8; 48], b"")), Sniff::NotThis);
    assert_eq!(
        detect(&input(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n01234567890123456789",
            b""
        )),
        Sniff::NotThis
    );
}

const CHRONY: &[u8] = include_bytes!("testdata/udp/ntp/chrony.client.bin");

#[test]
fn chrony_request_with_precision_32_matches() {
    // chronyd 4.3 (-Q) hides its precision: the field says 32.
    assert_eq!(CHRONY[3], 0x20);
    match detect(&input(CHRONY, ANSWER)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"client"[..])),
        other => panic!("{other:?}"),
    }
    // 32 is only a client request's; any other positive precision is not NTP.
    let mut b = CHRONY.to_vec();
    b[3] = 0x21;
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
    let mut b = CHRONY.to_vec();
    b[0] = 0x21; // symmetric active
    assert_eq!(detect(&input(&b, b"")), Sniff::NotThis);
}

/// `ntpq -c rv` (ntpsec 1.2.2) against ntpd (ntpsec 1.2.2), recorded by
/// `testdata/capture_m.py`: a mode 6 READVAR request and its answer.
const NTPQ: &[u8] = include_bytes!("testdata/udp/ntp/ntpq-readvar.client.bin");
const NTPD_CONTROL: &[u8] = include_bytes!("testdata/udp/ntp/ntpq-readvar.server.bin");

#[test]
fn mode_6_control_messages() {
    assert_eq!(NTPQ[0] & 7, 6);
    match detect(&input(NTPQ, NTPD_CONTROL)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"control"[..])),
        other => panic!("{other:?}"),
    }
    match detect(&input(b"", NTPD_CONTROL)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"control-response"[..])),
        other => panic!("{other:?}"),
    }
    // READSTAT with a key id and MD5 digest after data padded to 8 bytes.
    let mut signed = NTPQ.to_vec();
    signed[1] = 1;
    signed.extend_from_slice(&[0, 0, 0, 7]);
    signed.extend_from_slice(&[0xab; 16]);
    assert!(matches!(detect(&input(&signed, b"")), Sniff::Match(_)));
    // Data of `count` bytes, padded to 4.
    let mut write = NTPQ.to_vec();
    write[1] = 3;
    write[11] = 6;
    write.extend_from_slice(b"leap=0\0\0");
    assert!(matches!(detect(&input(&write, b"")), Sniff::Match(_)));
    let near_misses: [fn(&mut Vec<u8>); 7] = [
        // A response bit, error bit or more bit from the initiator.
        |b| b[1] |= 0x80,
        |b| b[1] |= 0x40,
        |b| b[1] |= 0x20,
        // An unknown opcode, a request at an offset, version 0.
        |b| b[1] = 13,
        |b| b[9] = 4,
        |b| b[0] &= !0x38,
        // A count the datagram does not hold.
        |b| b[11] = 8,
    ];
    for (i, spoil) in near_misses.iter().enumerate() {
        let mut bad = NTPQ.to_vec();
        spoil(&mut bad);
        assert_eq!(detect(&input(&bad, b"")), Sniff::NotThis, "near miss {i}");
    }
    // A response needs the response bit.
    let mut bad = NTPD_CONTROL.to_vec();
    bad[1] &= !0x80;
    assert_eq!(detect(&input(b"", &bad)), Sniff::NotThis);
    // Trailing bytes that are not padding or a MAC.
    let mut bad = NTPQ.to_vec();
    bad.extend_from_slice(&[0; 9]);
    assert_eq!(detect(&input(&bad, b"")), Sniff::NotThis);
}
