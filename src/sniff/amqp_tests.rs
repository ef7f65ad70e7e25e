//! AMQP detector tests over headers from pika (0-9-1) and qpid-proton 0.37 (1.0).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const PIKA: &[u8] = include_bytes!("testdata/tcp/amqp/pika.client.bin");
const PROTON_C: &[u8] = include_bytes!("testdata/tcp/amqp/proton.client.bin");
const PROTON_S: &[u8] = include_bytes!("testdata/tcp/amqp/proton.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 5672,
        complete: false,
    }
}

fn version(i: &Input<'_>) -> u32 {
    match detect(i) {
        Sniff::Match(m) => m.version.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn headers_prefixes_then_match() {
    for (buf, v) in [(PIKA, 0x0000_0901), (PROTON_C, 0x0301_0000)] {
        for n in 0..8 {
            assert_eq!(detect(&inp(&buf[..n], b"")), Sniff::NeedMore, "prefix {n}");
        }
        assert_eq!(version(&inp(buf, b"")), v);
    }
    assert_eq!(version(&inp(PROTON_C, PROTON_S)), 0x0301_0000);
    assert_eq!(version(&inp(b"", PROTON_S)), 0x0301_0000);
}

/// A Connection.Start frame as RabbitMQ sends it (AMQP 0-9-1 section 4.2.3
/// framing; server-properties table with `product`).
fn connection_start() -> Vec<u8> {
    let mut table = Vec::new();
    table.extend_from_slice(b"\x07productS");
    table.extend_from_slice(&8u32.to_be_bytes());
    table.extend_from_slice(b"RabbitMQ");
    let mut payload = b"\x00\x0a\x00\x0a\x00\x09".to_vec();
    payload.extend_from_slice(&(table.len() as u32).to_be_bytes());
    payload.extend_from_slice(&table);
    payload.extend_from_slice(b"\x00\x00\x00\x05PLAIN\x00\x00\x00\x05en_US");
    let mut f = b"\x01\x00\x00".to_vec();
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(&payload);
    f.push(0xce);
    f
}

#[test]
fn connection_start_names_the_broker() {
    let start = connection_start();
    match detect(&inp(PIKA, &start)) {
        Sniff::Match(m) => assert_eq!(m.software, Some(&b"RabbitMQ"[..])),
        other => panic!("{other:?}"),
    }
    match detect(&inp(b"", &start)) {
        Sniff::Match(m) => assert_eq!(m.software, Some(&b"RabbitMQ"[..])),
        other => panic!("{other:?}"),
    }
    for n in 1..13 {
        assert_eq!(
            detect(&inp(b"", &start[..n])),
            Sniff::NeedMore,
            "prefix {n}"
        );
    }
}

#[test]
fn rejects_near_misses() {
    for bad in [
        &b"AMQP\x00\x00\x09\x02"[..],
        b"AMQP\x04\x01\x00\x00",
        b"AMQX",
        b"amqp\x00\x00\x09\x01",
        b"GET /",
    ] {
        assert_eq!(detect(&inp(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
    // The broker's answer must be AMQP.
    assert_eq!(
        detect(&inp(PIKA, b"HTTP/1.1 400 Bad Request\r\n")),
        Sniff::NotThis
    );
    assert_eq!(detect(&inp(b"", b"220 ready\r\n")), Sniff::NotThis);
    assert_eq!(
        detect(&inp(b"", b"\x01\x00\x00\x00\x00\x00\x20\x00\x14\x00\x0a")),
        Sniff::NotThis
    );
    // A header cut by the broker's answer is not a header.
    assert_eq!(
        detect(&inp(b"AMQ", b"AMQP\x00\x00\x09\x01")),
        Sniff::NotThis
    );
}
