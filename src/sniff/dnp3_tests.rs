//! DNP3 detector tests: a master frame built from IEEE 1815 and the answer
//! of the dnp3-outstation (PyPI) outstation.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

const MASTER: &[u8] = include_bytes!("testdata/tcp/dnp3/master-read-class0.client.bin");
const OUTSTATION: &[u8] = include_bytes!("testdata/tcp/dnp3/master-read-class0.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], transport: Transport, complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport,
        client_port: 40000,
        server_port: 20000,
        complete,
    }
}

#[test]
fn crc_matches_the_standard_check_value() {
    // CRC-16/DNP check value over "123456789".
    assert_eq!(crc(b"123456789"), 0xea82);
}

#[test]
fn frames_prefixes_then_match() {
    for n in 0..10 {
        assert_eq!(
            detect(&inp(&MASTER[..n], b"", Transport::Tcp, false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    for buf in [MASTER, OUTSTATION] {
        assert!(matches!(
            detect(&inp(buf, b"", Transport::Tcp, false)),
            Sniff::Match(_)
        ));
        assert!(matches!(
            detect(&inp(buf, b"", Transport::Udp, true)),
            Sniff::Match(_)
        ));
    }
    match detect(&inp(b"", OUTSTATION, Transport::Tcp, false)) {
        Sniff::Match(m) => assert_eq!(m.method, Some(&b"outstation"[..])),
        other => panic!("{other:?}"),
    }
    // A datagram is whole: a cut frame header is not DNP3.
    assert_eq!(
        detect(&inp(&MASTER[..6], b"", Transport::Udp, false)),
        Sniff::NotThis
    );
}

#[test]
fn rejects_bad_crcs_and_others() {
    let flip = |i: usize, v: u8| {
        let mut b = MASTER.to_vec();
        b[i] ^= v;
        b
    };
    for bad in [
        flip(0, 1),    // start bytes
        flip(2, 0x0f), // length (header CRC fails)
        flip(5, 1),    // address (header CRC fails)
        flip(12, 1),   // user data (block CRC fails)
        flip(3, 0x0a), // primary function 14 (undefined)
        b"\x05\x64\x04".to_vec(),
        b"\x00\x01\x00\x00\x00\x06\x01\x03".to_vec(),
    ] {
        assert_eq!(
            detect(&inp(&bad, b"", Transport::Tcp, true)),
            Sniff::NotThis,
            "{bad:?}"
        );
    }
}
