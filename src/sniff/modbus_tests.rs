//! Modbus/TCP detector tests over a flow recorded from pymodbus 3.16.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const CLIENT: &[u8] = include_bytes!("testdata/tcp/modbus/pymodbus.client.bin");
const SERVER: &[u8] = include_bytes!("testdata/tcp/modbus/pymodbus.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8], complete: bool) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 502,
        complete,
    }
}

fn method<'a>(i: &Input<'a>) -> &'a [u8] {
    match detect(i) {
        Sniff::Match(m) => m.method.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_prefixes_then_match() {
    for n in 0..12 {
        assert_eq!(
            detect(&inp(&CLIENT[..n], b"", false)),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
    assert_eq!(
        method(&inp(&CLIENT[..12], b"", false)),
        b"read-holding-registers"
    );
    assert_eq!(
        method(&inp(CLIENT, SERVER, true)),
        b"read-holding-registers"
    );
    // The write that follows is a valid request on its own.
    assert_eq!(
        method(&inp(&CLIENT[12..], b"", false)),
        b"write-multiple-registers"
    );
}

#[test]
fn response_alone() {
    assert_eq!(method(&inp(b"", SERVER, false)), b"read-holding-registers");
    // An exception response: illegal data address.
    assert_eq!(
        method(&inp(b"", b"\x00\x07\x00\x00\x00\x03\x01\x83\x02", false)),
        b"read-holding-registers"
    );
    assert_eq!(
        detect(&inp(b"", b"\x00\x07\x00\x00\x00\x03\x01\x83\x09", false)),
        Sniff::NotThis
    );
}

#[test]
fn rejects_near_misses() {
    let flip = |i: usize, v: u8| {
        let mut b = CLIENT[..12].to_vec();
        b[i] = v;
        b
    };
    for bad in [
        flip(2, 1),     // protocol id 0x0100
        flip(5, 7),     // length does not fit function 3
        flip(7, 0x63),  // function 99
        flip(7, 0x83),  // exception code in a request
        flip(10, 0x01), // 260 registers
        flip(11, 0x00), // quantity 0
        b"\x00\x01\x00\x00\x00\x01\x01".to_vec(),
        b"GET / HTTP/1.1\r\n".to_vec(),
        b"\x05\x64\x0b\xc4".to_vec(),
    ] {
        assert_eq!(detect(&inp(&bad, b"", true)), Sniff::NotThis, "{bad:?}");
    }
    // The reply must echo the transaction and unit and the function.
    let mut r = SERVER.to_vec();
    r[1] = 9;
    assert_eq!(detect(&inp(CLIENT, &r, false)), Sniff::NotThis);
    let mut r = SERVER.to_vec();
    r[7] = 4;
    assert_eq!(detect(&inp(CLIENT, &r, false)), Sniff::NotThis);
    // A request cut short by the reply.
    assert_eq!(detect(&inp(&CLIENT[..9], SERVER, false)), Sniff::NotThis);
}
