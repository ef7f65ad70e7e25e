//! MQTT detector tests over CONNECTs recorded from mosquitto_pub 2.0 (3.1, 3.1.1, 5.0).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::sniff::Transport;

const V31: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-v31.client.bin");
const V311: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-v311.client.bin");
const V5: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-v5.client.bin");
const V5_S: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-v5.server.bin");

fn inp<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
    Input {
        client,
        server,
        transport: Transport::Tcp,
        client_port: 40000,
        server_port: 1883,
        complete: false,
    }
}

#[test]
fn connect_every_version() {
    for (buf, level) in [(V31, 3), (V311, 4), (V5, 5)] {
        // The CONNECT is 2 + remaining length bytes (one-byte varint here).
        let len = 2 + buf[1] as usize;
        let mut matched = false;
        for n in 0..=len {
            match detect(&inp(&buf[..n], b"")) {
                Sniff::NeedMore => assert!(!matched, "prefix {n}"),
                Sniff::Match(m) => {
                    assert_eq!(m.version, Some(level));
                    matched = true;
                }
                Sniff::NotThis => panic!("level {level} prefix {n}"),
            }
        }
        assert!(matched);
    }
    assert!(matches!(detect(&inp(V5, V5_S)), Sniff::Match(_)));
}

#[test]
fn rejects_near_misses() {
    let flip = |i: usize, v: u8| {
        let mut b = V311.to_vec();
        b[i] = v;
        b
    };
    for bad in [
        flip(0, 0x11),        // flags must be zero
        flip(1, 5),           // remaining length too small
        flip(8, 6),           // MQTT level 6
        flip(4, b'X'),        // protocol name
        flip(9, V311[9] | 1), // reserved flag
        flip(9, 0x18),        // will QoS without will flag
    ] {
        assert_eq!(detect(&inp(&bad, b"")), Sniff::NotThis, "{bad:?}");
    }
    for bad in [
        &b"\x10\x80\x80\x80\x80\x01"[..],
        b"GET / HTTP/1.1\r\n",
        b"\x30\x0c\x00\x04MQTT",
    ] {
        assert_eq!(detect(&inp(bad, b"")), Sniff::NotThis, "{bad:?}");
    }
    // A broker never speaks first; a non-CONNACK answer rules MQTT out. A
    // whole CONNACK alone waits for the client (its CONNECT may be lost).
    assert_eq!(detect(&inp(b"", b"\x20\x02\x00\x00")), Sniff::NeedMore);
    assert_eq!(detect(&inp(b"", b"\x20\x02\x00\x09")), Sniff::NotThis);
    assert_eq!(detect(&inp(b"", b"\x20\x02\x00")), Sniff::NotThis);
    let done = Input {
        complete: true,
        ..inp(b"", b"\x20\x02\x00\x00")
    };
    assert_eq!(detect(&done), Sniff::NotThis);
    assert_eq!(detect(&inp(V311, b"220 hi\r\n")), Sniff::NotThis);
    assert_eq!(
        detect(&inp(&V311[..10], b"\x20\x02\x00\x00")),
        Sniff::NotThis
    );
}

const PING_C: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-ping-midstream.client.bin");
const PING_S: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-ping-midstream.server.bin");
const SUB_C: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-subscribe-midstream.client.bin");
const SUB_S: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-subscribe-midstream.server.bin");
const PUB_C: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-publish-midstream.client.bin");
const PUB_S: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-publish-midstream.server.bin");
const CONNACK_FIRST: &[u8] = include_bytes!("testdata/tcp/mqtt/mosquitto-connack-first.server.bin");

#[test]
fn sessions_after_connect_are_named_from_a_request_and_its_answer() {
    for (c, s, method) in [
        (PING_C, PING_S, &b"PINGREQ"[..]),
        (SUB_C, SUB_S, b"SUBSCRIBE"),
        (PUB_C, PUB_S, b"PUBLISH"),
        (SUB_C, CONNACK_FIRST, b"SUBSCRIBE"),
    ] {
        match detect(&inp(c, s)) {
            Sniff::Match(m) => assert_eq!(m.method, Some(method)),
            other => panic!("{method:?}: {other:?}"),
        }
        // The request alone waits for its answer, and is not enough.
        assert_eq!(detect(&inp(c, b"")), Sniff::NeedMore);
        let done = Input {
            complete: true,
            ..inp(c, b"")
        };
        assert_eq!(detect(&done), Sniff::NotThis);
    }
}

#[test]
fn sessions_after_connect_need_the_matching_answer() {
    // Answers to another packet id, or of the wrong kind.
    let mut suback = SUB_S.to_vec();
    suback[3] ^= 1;
    let mut puback = PUB_S.to_vec();
    puback[3] ^= 1;
    for (c, s) in [
        (SUB_C, &suback[..]),
        (PUB_C, &puback[..]),
        (PING_C, b"\xd0\x01\x00"),
        (PING_C, PUB_S),
        (SUB_C, PING_S),
        (SUB_C, b"\x20\x02\x02\x00"), // CONNACK flags 2
        (SUB_C, b"\x20\x02\x00\x06"), // CONNACK return code 6
    ] {
        assert_eq!(detect(&inp(c, s)), Sniff::NotThis, "{c:02x?} / {s:02x?}");
    }
    // A CONNACK cut short waits, and is not enough once the flow is over.
    let cut = inp(SUB_C, b"\x20\x03\x00\x00");
    assert_eq!(detect(&cut), Sniff::NeedMore);
    let done = Input {
        complete: true,
        ..cut
    };
    assert_eq!(detect(&done), Sniff::NotThis);
    // A QoS 0 PUBLISH has no answer: alone it is not MQTT.
    let qos0 = b"\x30\x0a\x00\x04temp21.5";
    assert_eq!(detect(&inp(qos0, b"")), Sniff::NotThis);
    assert!(matches!(
        detect(&inp(qos0, b"\x20\x02\x00\x00")),
        Sniff::Match(_)
    ));
    // Wildcards belong in filters, not topic names.
    let wild = b"\x32\x0a\x00\x04te#p\x00\x01ab";
    assert_eq!(detect(&inp(wild, b"\x40\x02\x00\x01")), Sniff::NotThis);
}

#[test]
fn a_connect_whose_properties_overrun_it_is_still_mqtt() {
    // MQTT 5: the property length follows name (6), level, flags and
    // keep-alive (4) after the 2-byte fixed header.
    let mut b = V5.to_vec();
    b[12] = 0xff;
    b[13] = 0x21;
    match detect(&inp(&b, b"")) {
        Sniff::Match(m) => assert_eq!(m.version, Some(5)),
        other => panic!("{other:?}"),
    }
}
