//! TFTP detector tests over tftp-hpa, curl and tftpd-hpa datagrams
//! recorded by `testdata/capture_m.py`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const RRQ: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-rrq.client.bin");
const RRQ_OPTIONS: &[u8] = include_bytes!("testdata/udp/tftp/curl-rrq-options.client.bin");
const RRQ_MISSING: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-rrq-missing.client.bin");
const WRQ: &[u8] = include_bytes!("testdata/udp/tftp/tftp-hpa-wrq.client.bin");
const DATA: &[u8] = include_bytes!("testdata/udp/tftp/tftpd-hpa-data.client.bin");
const OACK: &[u8] = include_bytes!("testdata/udp/tftp/tftpd-hpa-oack.client.bin");
const ERROR: &[u8] = include_bytes!("testdata/udp/tftp/tftpd-hpa-error.client.bin");
const ACK0: &[u8] = include_bytes!("testdata/udp/tftp/tftpd-hpa-ack0.client.bin");

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
fn requests_and_transfer_openings() {
    for (buf, want) in [
        (RRQ, &b"RRQ"[..]),
        (RRQ_OPTIONS, b"RRQ"),
        (RRQ_MISSING, b"RRQ"),
        (WRQ, b"WRQ"),
        (DATA, b"DATA"),
        (OACK, b"OACK"),
        (ERROR, b"ERROR"),
        (ACK0, b"ACK"),
    ] {
        assert_eq!(method(buf), Some(want), "{buf:02x?}");
    }
    assert_eq!(detect(&input(b"")), Sniff::NeedMore);
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
        // A first data block numbered 2, an ACK of block 1 or with data.
        spoil(DATA, &|b| b[3] = 2),
        spoil(ACK0, &|b| b[3] = 1),
        spoil(ACK0, &|b| b.push(0)),
        // An OACK without options; an error code past 8, without its NUL,
        // or with bytes after it.
        b"\x00\x06".to_vec(),
        spoil(ERROR, &|b| b[3] = 9),
        spoil(ERROR, &|b| {
            b.pop();
        }),
        spoil(ERROR, &|b| b.push(b'x')),
    ] {
        assert_eq!(detect(&input(&bad)), Sniff::NotThis, "{bad:02x?}");
    }
    // A data block longer than the largest block size.
    let mut big = DATA[..4].to_vec();
    big.resize(4 + MAX_BLOCK + 1, b'x');
    assert_eq!(detect(&input(&big)), Sniff::NotThis);
    big.pop();
    assert!(matches!(detect(&input(&big)), Sniff::Match(_)));
}
