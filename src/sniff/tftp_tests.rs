//! TFTP detector tests over tftp-hpa, curl and tftpd-hpa datagrams
//! recorded by `testdata/capture_m.py`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const RRQ: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-rrq.client.bin");
const RRQ_OPTIONS: &[u8] = include_bytes!("testdata/udp/tftp/curl-rrq-options.client.bin");
const RRQ_MISSING: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-rrq-missing.client.bin");
const WRQ: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-wrq.client.bin");
/// What tftpd-hpa opened each transfer's flow with, from its own port.
const TRANSFER_OPENINGS: [&[u8]; 4] = [
    include_bytes!("testdata/unnamed/tftp-transfer/tftpd-hpa-data.bin"),
    include_bytes!("testdata/unnamed/tftp-transfer/tftpd-hpa-oack.bin"),
    include_bytes!("testdata/unnamed/tftp-transfer/tftpd-hpa-error.bin"),
    include_bytes!("testdata/unnamed/tftp-transfer/tftpd-hpa-ack0.bin"),
];

fn input(client: &[u8]) -> Input<'_> {
    Input {
        client,
        server: b"",
        transport: Transport::Udp,
        client_port: 40000,
        server_port: 69,
        complete: true,
    }
}

fn method(buf: &[u8]) -> Option<&[u8]> {
    match detect(&input(buf)) {
        Sniff::Match(m) => m.method,
        _ => None,
    }
}

#[test]
fn requests_are_named() {
    for (buf, want) in [
        (RRQ, &b"RRQ"[..]),
        (RRQ_OPTIONS, b"RRQ"),
        (RRQ_MISSING, b"RRQ"),
        (WRQ, b"WRQ"),
    ] {
        assert_eq!(method(buf), Some(want), "{buf:02x?}");
    }
    assert_eq!(detect(&input(b"")), Sniff::NeedMore);
}

#[test]
fn transfer_flows_are_left_unidentified() {
    // The server opens the transfer between two ephemeral ports: named
    // tftp, it would be refused by any policy of standard ports.
    for buf in TRANSFER_OPENINGS {
        assert_eq!(detect(&input(buf)), Sniff::NotThis, "{buf:02x?}");
        let flow = Input {
            client_port: 51000,
            server_port: 40000,
            ..input(buf)
        };
        assert!(
            !matches!(
                crate::sniff::classify(&flow, false),
                crate::sniff::Verdict::Identified(_)
            ),
            "{buf:02x?}"
        );
    }
}

#[test]
fn near_misses_are_not_tftp() {
    let spoil = |buf: &[u8], f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = buf.to_vec();
        f(&mut b);
        b
    };
    for bad in [
        // Unknown opcode; unknown mode; no file name.
        spoil(RRQ, &|b| b[1] = 7),
        spoil(RRQ, &|b| b[13] = b'x'),
        b"\x00\x01\x00octet\x00".to_vec(),
        // A request that does not end with its last string's NUL, or
        // whose option has no value.
        spoil(RRQ, &|b| b.push(b'x')),
        spoil(RRQ, &|b| b.extend_from_slice(b"blksize\x00")),
        spoil(RRQ_OPTIONS, &|b| {
            b.pop();
        }),
        // Control bytes in the file name; a request over 512 bytes.
        spoil(RRQ, &|b| b[3] = 0x01),
        spoil(RRQ_OPTIONS, &|b| {
            let tail = b.split_off(b.len() - 1);
            b.extend(std::iter::repeat_n(b'1', 500));
            b.extend(tail);
        }),
    ] {
        assert_eq!(detect(&input(&bad)), Sniff::NotThis, "{bad:02x?}");
    }
}
