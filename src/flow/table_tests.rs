//! Pending-table tests: handshakes pass, payload is held until identified,
//! every bound ends the wait, and no held packet id is ever lost.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::packet::parse;
use crate::packet::tcp_flags::{ACK, FIN, SYN};
use crate::sniff::{Proto, Verdict};

const CHROMIUM: &[u8] = include_bytes!("../sniff/testdata/tcp/tls/chromium.client.bin");
const C: [u8; 4] = [198, 18, 1, 2];
const S: [u8; 4] = [198, 18, 2, 2];

fn tcp(from_client: bool, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (a, b, sp, dp) = if from_client {
        (C, S, 40000, 443)
    } else {
        (S, C, 443, 40000)
    };
    crate::packet::tests::v4_tcp(a, b, sp, dp, seq, flags, payload)
}

fn feed(t: &mut Table, raw: &[u8], id: u32, now: u64, out: &mut Vec<Finished>) -> Ingest {
    t.ingest(
        &parse(raw).unwrap(),
        Held {
            id,
            mark: 0,
            indev: 0,
            outdev: 0,
        },
        now,
        out,
    )
}

fn handshake(t: &mut Table, out: &mut Vec<Finished>) {
    assert_eq!(feed(t, &tcp(true, 999, SYN, b""), 1, 0, out), Ingest::Pass);
    assert_eq!(
        feed(t, &tcp(false, 4999, SYN | ACK, b""), 2, 0, out),
        Ingest::Pass
    );
    assert_eq!(feed(t, &tcp(true, 1000, ACK, b""), 3, 0, out), Ingest::Pass);
}

#[test]
fn split_client_hello_is_held_then_identified() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    // Second segment first (out of order), then the first.
    assert_eq!(
        feed(
            &mut t,
            &tcp(true, 1000 + 1448, ACK, &CHROMIUM[1448..]),
            10,
            1,
            &mut out
        ),
        Ingest::Held
    );
    assert!(out.is_empty());
    assert_eq!(
        feed(
            &mut t,
            &tcp(true, 1000, ACK, &CHROMIUM[..1448]),
            11,
            2,
            &mut out
        ),
        Ingest::Held
    );
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(
        (f.reason, f.held.iter().map(|h| h.id).collect::<Vec<_>>()),
        (Reason::Identified, vec![10, 11])
    );
    match f.classify() {
        Verdict::Identified(c) => {
            assert_eq!(c.proto, Proto::Tls);
            assert_eq!(c.meta.sni, Some(&b"www.fixture.example"[..]));
        }
        other => panic!("{other:?}"),
    }
    assert!(t.is_empty());
}

#[test]
fn idle_keepalives_then_payload_is_still_judged() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    for i in 0..100 {
        // Keepalive probes: seq - 1, no payload.
        assert_eq!(
            feed(
                &mut t,
                &tcp(true, 999, ACK, b""),
                100 + i,
                1000 * u64::from(i),
                &mut out
            ),
            Ingest::Pass
        );
    }
    assert_eq!(
        feed(
            &mut t,
            &tcp(false, 5000, ACK, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
            500,
            200_000,
            &mut out
        ),
        Ingest::Held
    );
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].classify(), Verdict::Identified(c) if c.proto == Proto::Ssh));
}

#[test]
fn one_byte_dribble_hits_the_packet_bound() {
    let mut t = Table::new(Bounds {
        max_packets: 8,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    let msg = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    for (i, b) in msg.iter().enumerate().take(8) {
        feed(
            &mut t,
            &tcp(true, 1000 + i as u32, ACK, &[*b]),
            20 + i as u32,
            5,
            &mut out,
        );
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].reason, Reason::Packets);
    assert_eq!(out[0].held.len(), 8);
}

#[test]
fn hold_time_bound_returns_held_ids() {
    let mut t = Table::new(Bounds {
        max_hold_ms: 100,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    feed(&mut t, &tcp(true, 1000, ACK, b"\x16\x03"), 7, 50, &mut out);
    t.expire(149, &mut out);
    assert!(out.is_empty());
    assert_eq!(t.next_deadline(149), Some(1));
    t.expire(150, &mut out);
    assert_eq!((out[0].reason, out[0].held[0].id), (Reason::Time, 7));
}

#[test]
fn eviction_keeps_the_table_bounded_and_returns_held_packets() {
    let mut t = Table::new(Bounds {
        max_flows: 4,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    for i in 0..10u16 {
        let raw = crate::packet::tests::v4_tcp(C, S, 1000 + i, 443, 1, ACK, b"\x16\x03");
        feed(&mut t, &raw, u32::from(i), 0, &mut out);
        assert!(t.len() <= 4);
    }
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|f| f.reason == Reason::Evicted));
    assert_eq!(t.stats().evicted, 6);
}

#[test]
fn udp_is_decided_on_its_first_datagram() {
    let q = include_bytes!("../sniff/testdata/udp/dns/dig.client.bin");
    let mut raw = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 1, 2, 198, 18, 2, 2,
    ];
    raw.extend_from_slice(&[0x9c, 0x40, 0, 53]);
    raw.extend_from_slice(&((8 + q.len()) as u16).to_be_bytes());
    raw.extend_from_slice(&[0, 0]);
    raw.extend_from_slice(q);
    let total = raw.len() as u16;
    raw[2..4].copy_from_slice(&total.to_be_bytes());
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    assert_eq!(feed(&mut t, &raw, 1, 0, &mut out), Ingest::Held);
    assert!(matches!(out[0].classify(), Verdict::Identified(c) if c.proto == Proto::Dns));
}

#[test]
fn fin_releases_held_packets_and_decided_flows_are_remembered() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    feed(&mut t, &tcp(true, 1000, ACK, b"\x16\x03"), 7, 1, &mut out);
    feed(&mut t, &tcp(true, 1002, FIN | ACK, b""), 8, 2, &mut out);
    assert_eq!((out[0].reason, out[0].held.len()), (Reason::Closed, 2));
    let key = out[0].key;
    t.remember(key, 0x100, 3);
    assert_eq!(
        feed(&mut t, &tcp(true, 1000, ACK, b"\x16\x03"), 9, 4, &mut out),
        Ingest::Decided(0x100)
    );
    t.expire(100_000, &mut out);
    assert_ne!(
        feed(
            &mut t,
            &tcp(true, 1000, ACK, b"\x16\x03"),
            9,
            100_000,
            &mut out
        ),
        Ingest::Decided(0x100)
    );
}

#[test]
fn a_reconnect_on_a_decided_tuple_is_judged_again() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    handshake(&mut t, &mut out);
    feed(&mut t, &tcp(true, 1000, ACK, CHROMIUM), 10, 1, &mut out);
    let f = out.pop().unwrap();
    t.remember(f.key, 0x0100_0000, 1);
    // A packet of the decided flow already in the queue gets its mark...
    assert_eq!(
        feed(&mut t, &tcp(true, 1000, ACK, b"x"), 11, 2, &mut out),
        Ingest::Decided(0x0100_0000)
    );
    // ...but a new SYN on the same ports (port reuse) starts a new flow
    // whose payload is held and judged, not waved through.
    assert_eq!(
        feed(&mut t, &tcp(true, 7777, SYN, b""), 12, 3, &mut out),
        Ingest::Pass
    );
    assert_eq!(
        feed(
            &mut t,
            &tcp(true, 7778, ACK, b"GET / HTTP/1.1\r\n"),
            13,
            4,
            &mut out
        ),
        Ingest::Held
    );
}

#[test]
fn order_stays_bounded_behind_a_flow_that_never_speaks() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    // The oldest record: a handshake and then silence (idle, not expired).
    handshake(&mut t, &mut out);
    // 20,000 short HTTP connections from other ports, each decided.
    for i in 0..20_000u32 {
        let sport = 1024 + (i % 60_000) as u16;
        let syn = crate::packet::tests::v4_tcp(C, S, sport, 80, 7, SYN, b"");
        let get = crate::packet::tests::v4_tcp(C, S, sport, 80, 8, ACK, b"GET / HTTP/1.1\r\n\r\n");
        let now = 1 + u64::from(i) / 10;
        feed(&mut t, &syn, 2 * i, now, &mut out);
        feed(&mut t, &get, 2 * i + 1, now, &mut out);
        t.expire(now, &mut out);
        for f in out.drain(..) {
            t.recycle(f);
        }
    }
    assert_eq!(t.len(), 1, "only the silent flow is pending");
    assert!(
        t.order.len() <= 2 * t.len() + 1025,
        "order grew to {}",
        t.order.len()
    );
}
