//! Tracker tests: one record per flow, closes and port reuse, idle ends,
//! and the bound on remembered flows.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::packet::parse;
use crate::packet::tcp_flags::{ACK, FIN, RST, SYN};
use crate::packet::tests::v4_tcp;

const C: [u8; 4] = [198, 18, 1, 2];
const S: [u8; 4] = [198, 18, 2, 2];

fn tcp(from_client: bool, sport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    if from_client {
        v4_tcp(C, S, sport, 443, 1, flags, payload)
    } else {
        v4_tcp(S, C, 443, sport, 1, flags, payload)
    }
}

fn udp(sport: u16) -> Vec<u8> {
    // IPv4 + UDP header + 4 bytes, checksums zero.
    let mut p = vec![
        0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, C[0], C[1], C[2], C[3], S[0], S[1], S[2], S[3],
    ];
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&53u16.to_be_bytes());
    p.extend_from_slice(&[0, 12, 0, 0, 1, 2, 3, 4]);
    p
}

fn outcome_for(t: &Tracker, raw: &[u8]) -> (FlowKey, Outcome) {
    let p = parse(raw).unwrap();
    let key = FlowKey::new(
        p.transport,
        Endpoint {
            ip: p.src,
            port: p.sport,
        },
        Endpoint {
            ip: p.dst,
            port: p.dport,
        },
    );
    let e = t.flows.get(&key).unwrap();
    (
        key,
        Outcome {
            client: e.client,
            server: e.server,
            subject: Subject::Known(crate::sniff::Proto::Tls),
            reason: "identified",
            midstream: false,
            encrypted: false,
            meta: TextMeta::default(),
        },
    )
}

fn feed(t: &mut Tracker, raw: &[u8], now: u64, done: &mut Vec<Done>) -> bool {
    let p = parse(raw).unwrap();
    t.packet(&p, raw.len() as u64, None, now, done)
}

#[test]
fn one_record_per_tcp_flow_including_late_packets() {
    let mut t = Tracker::new(Limits::default());
    let mut done = Vec::new();
    assert!(feed(&mut t, &tcp(true, 40000, SYN, b""), 0, &mut done));
    assert!(feed(
        &mut t,
        &tcp(false, 40000, SYN | ACK, b""),
        1,
        &mut done
    ));
    assert!(feed(
        &mut t,
        &tcp(true, 40000, ACK, b"\x16\x03\x01"),
        2,
        &mut done
    ));
    let (key, o) = outcome_for(&t, &tcp(true, 40000, ACK, b""));
    t.decide(key, o, 2, &mut done);
    // Decided: later packets are counted, not sent to the pending table.
    assert!(!feed(
        &mut t,
        &tcp(false, 40000, ACK, b"data"),
        3,
        &mut done
    ));
    assert!(!feed(
        &mut t,
        &tcp(true, 40000, FIN | ACK, b""),
        4,
        &mut done
    ));
    assert!(!feed(
        &mut t,
        &tcp(false, 40000, FIN | ACK, b""),
        5,
        &mut done
    ));
    // The last ACK and a retransmitted FIN land in the linger time.
    assert!(!feed(&mut t, &tcp(true, 40000, ACK, b""), 6, &mut done));
    t.sweep(1000, &mut done);
    assert!(!feed(
        &mut t,
        &tcp(false, 40000, FIN | ACK, b""),
        1200,
        &mut done
    ));
    assert!(done.is_empty());
    t.sweep(5004, &mut done);
    assert!(done.is_empty(), "linger counts from the close");
    t.sweep(5005, &mut done);
    assert_eq!(done.len(), 1);
    let d = &done[0];
    assert_eq!(d.packets, 8);
    assert_eq!(d.end, End::Fin);
    assert_eq!(d.client.port, 40000);
    assert!(d.outcome.is_some());
    assert!(t.is_empty());
    // A RST long after the record was written is a straggler, not a flow.
    assert!(!feed(
        &mut t,
        &tcp(false, 40000, RST | ACK, b""),
        20_000,
        &mut done
    ));
    assert!(t.is_empty());
    assert_eq!(t.strays(), 1);
    // A new connection on the same tuple is a new flow.
    assert!(feed(&mut t, &tcp(true, 40000, SYN, b""), 21_000, &mut done));
    assert_eq!(t.len(), 1);
}

#[test]
fn a_new_syn_on_a_closed_tuple_is_a_new_flow() {
    let mut t = Tracker::new(Limits::default());
    let mut done = Vec::new();
    feed(&mut t, &tcp(true, 40001, SYN, b""), 0, &mut done);
    feed(&mut t, &tcp(false, 40001, RST | ACK, b""), 1, &mut done);
    assert!(done.is_empty());
    assert!(feed(&mut t, &tcp(true, 40001, SYN, b""), 2, &mut done));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].end, End::Rst);
    assert!(done[0].outcome.is_none(), "no payload, no decision");
    assert_eq!(done[0].client.port, 40001);
    assert_eq!(t.len(), 1);
    // A retransmitted SYN of an open flow is the same flow.
    feed(&mut t, &tcp(true, 40001, SYN, b""), 3, &mut done);
    assert_eq!((done.len(), t.len()), (1, 1));
}

#[test]
fn initiator_without_a_syn_is_the_ephemeral_side() {
    let mut t = Tracker::new(Limits::default());
    let mut done = Vec::new();
    // First packet seen is the server's (port 443 -> 40002).
    feed(&mut t, &tcp(false, 40002, ACK, b"x"), 0, &mut done);
    t.drain(&mut done);
    assert_eq!(done[0].client.port, 40002);
    assert_eq!(done[0].server.port, 443);
    assert_eq!(done[0].end, End::Eof);
}

#[test]
fn udp_datagrams_join_one_flow_until_idle() {
    let lim = Limits::default();
    let mut t = Tracker::new(lim);
    let mut done = Vec::new();
    assert!(feed(&mut t, &udp(5000), 0, &mut done));
    let (key, o) = outcome_for(&t, &udp(5000));
    t.decide(key, o, 0, &mut done);
    for i in 1..10 {
        assert!(!feed(&mut t, &udp(5000), i * 1000, &mut done));
    }
    t.sweep(9000 + lim.udp_idle_ms - 1, &mut done);
    assert!(done.is_empty());
    t.sweep(9000 + lim.udp_idle_ms, &mut done);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].packets, 10);
    assert_eq!(done[0].end, End::Idle);
}

#[test]
fn remembered_flows_are_bounded() {
    let lim = Limits {
        max_flows: 100,
        ..Limits::default()
    };
    let mut t = Tracker::new(lim);
    let mut done = Vec::new();
    for i in 0..1000u16 {
        feed(&mut t, &udp(10_000 + i), u64::from(i), &mut done);
        assert!(t.len() <= 100);
    }
    assert_eq!(done.len(), 900);
    assert!(done.iter().all(|d| d.end == End::Evicted));
    // The oldest went first.
    assert_eq!(done[0].client.port, 10_000);
    t.drain(&mut done);
    assert_eq!(done.len(), 1000);
    // Queues are bounded too: a long capture does not grow them.
    assert!(t.idle.iter().all(|q| q.is_empty()));
}

#[test]
fn a_full_tracker_ends_closed_flows_before_evicting_open_ones() {
    let lim = Limits {
        max_flows: 2,
        ..Limits::default()
    };
    let mut t = Tracker::new(lim);
    let mut done = Vec::new();
    feed(&mut t, &tcp(true, 1, SYN, b""), 0, &mut done);
    feed(&mut t, &tcp(true, 2, SYN, b""), 1, &mut done);
    feed(&mut t, &tcp(false, 2, RST | ACK, b""), 2, &mut done);
    feed(&mut t, &tcp(true, 3, SYN, b""), 3, &mut done);
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].client.port, done[0].end), (2, End::Rst));
    feed(&mut t, &tcp(true, 4, SYN, b""), 4, &mut done);
    assert_eq!((done[1].client.port, done[1].end), (1, End::Evicted));
}
