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
    // A broker never speaks first; a non-CONNACK answer rules MQTT out.
    assert_eq!(detect(&inp(b"", b"\x20\x02\x00\x00")), Sniff::NotThis);
    assert_eq!(detect(&inp(V311, b"220 hi\r\n")), Sniff::NotThis);
    assert_eq!(
        detect(&inp(&V311[..10], b"\x20\x02\x00\x00")),
        Sniff::NotThis
    );
}
