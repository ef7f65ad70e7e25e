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
    t.ingest(&parse(raw).unwrap(), Held::bare(id), now, out)
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
    let fp = t.footprint();
    assert!(fp.slots <= 2, "{fp:?}");
    assert!(fp.deadlines <= 2 * fp.flows + 64, "{fp:?}");
    assert!(fp.decided_queue <= 2 * fp.decided + 64, "{fp:?}");
}

fn held0() -> Held {
    Held::bare(0)
}

/// The datapath's contract for SYNs copied to userspace through NFLOG
/// (not queued, so no packet id): `ingest_from(.., Side::Initiator,
/// Held { id: 0, .. })` passes, never keeps that `Held`, and records the
/// client's first sequence number, so a first payload that arrives out of
/// order is still reassembled from ISN + 1.
#[test]
fn an_nflog_syn_records_the_flow_and_its_base_without_keeping_its_id() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    // Client on the low port, server on the high one: only `side` says
    // who the initiator is.
    let c =
        |seq, flags, data: &[u8]| crate::packet::tests::v4_tcp(C, S, 443, 40000, seq, flags, data);
    let syn_raw = c(999, SYN, b"");
    let syn = parse(&syn_raw).unwrap();
    assert_eq!(
        t.ingest_from(&syn, Side::Initiator, held0(), 0, &mut out),
        Ingest::Pass
    );
    assert_eq!((t.len(), t.footprint().full), (1, 0), "a slot, no box");
    let (a, b) = CHROMIUM.split_at(1000);
    let h = |id| Held {
        id,
        mark: 7,
        indev: 1,
        outdev: 2,
    };
    let second_raw = c(1000 + 1000, ACK, b);
    let second = parse(&second_raw).unwrap();
    assert_eq!(
        t.ingest_from(&second, Side::Initiator, h(21), 1, &mut out),
        Ingest::Held
    );
    assert!(out.is_empty(), "waits for the first segment");
    let first_raw = c(1000, ACK, a);
    let first = parse(&first_raw).unwrap();
    assert_eq!(
        t.ingest_from(&first, Side::Initiator, h(22), 2, &mut out),
        Ingest::Held
    );
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(f.held, vec![h(21), h(22)], "the SYN's Held was never kept");
    assert_eq!((f.client.port, f.server.port), (443, 40000));
    assert!(!f.midstream);
    assert!(matches!(f.classify(), Verdict::Identified(c) if c.proto == Proto::Tls));
    assert_eq!(t.stats().created, 1);
}

#[test]
fn syn_only_flows_cost_a_slot_and_no_buffer() {
    let mut t = Table::new(Bounds {
        max_flows: 1000,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    for i in 0..5000u32 {
        let syn = crate::packet::tests::v4_tcp(C, S, 1024 + i as u16, 80, i, SYN, b"");
        assert_eq!(feed(&mut t, &syn, 0, u64::from(i), &mut out), Ingest::Pass);
    }
    assert!(out.is_empty(), "nothing was held");
    let fp = t.footprint();
    assert_eq!((fp.flows, fp.full, fp.slots), (1000, 0, 1000), "{fp:?}");
    assert_eq!(t.stats().evicted, 4000);
    assert_eq!((t.boxes.len(), t.spare.len()), (0, 0));
}

#[test]
fn a_syn_flood_evicts_the_oldest_and_a_legitimate_flow_is_still_classified() {
    let mut t = Table::new(Bounds {
        max_flows: 512,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    let flood = |i: u32| {
        crate::packet::tests::v4_tcp(
            [198, 18, 9, (i / 60_000) as u8],
            S,
            1024 + (i % 60_000) as u16,
            80,
            i,
            SYN,
            b"",
        )
    };
    handshake(&mut t, &mut out);
    let mut got = Vec::new();
    for i in 0..100_000u32 {
        feed(&mut t, &flood(i), 0, u64::from(i / 100), &mut out);
        // The legitimate client speaks 300 flood SYNs after its own SYN.
        if i % 1000 == 300 {
            assert!(i < 1000 || t.len() == 512);
            let sport = 20_000 + (i / 1000) as u16;
            let syn = crate::packet::tests::v4_tcp(C, S, sport, 443, 999, SYN, b"");
            let hello = crate::packet::tests::v4_tcp(C, S, sport, 443, 1000, ACK, CHROMIUM);
            assert_eq!(
                feed(&mut t, &syn, 0, u64::from(i / 100), &mut out),
                Ingest::Pass
            );
            for j in 0..200 {
                feed(
                    &mut t,
                    &flood(i + 1_000_000 + j),
                    0,
                    u64::from(i / 100),
                    &mut out,
                );
            }
            assert_eq!(
                feed(&mut t, &hello, i, u64::from(i / 100), &mut out),
                Ingest::Held
            );
            got.extend(out.drain(..).map(|f| {
                assert!(!f.midstream, "its SYN record survived");
                let proto = match f.classify() {
                    Verdict::Identified(c) => Some(c.proto),
                    _ => None,
                };
                (f.reason, proto)
            }));
        }
        t.expire(u64::from(i / 100), &mut out);
        assert!(t.len() <= 512);
    }
    assert_eq!(got.len(), 100);
    assert!(got
        .iter()
        .all(|&(r, p)| r == Reason::Identified && p == Some(Proto::Tls)));
    assert!(t.stats().evicted >= 100_000 - 512, "{:?}", t.stats());
    assert_eq!(t.footprint().slots, 512);
}

#[test]
fn the_idle_sweep_passes_live_flows_without_reordering_eviction() {
    let mut t = Table::new(Bounds {
        max_flows: 4,
        idle_ms: 1000,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    let syn = |p: u16| crate::packet::tests::v4_tcp(C, S, p, 80, 1, SYN, b"");
    // A (oldest) stays busy; B and C go idle.
    for (p, at) in [(1, 0), (2, 0), (3, 0)] {
        feed(&mut t, &syn(p), 0, at, &mut out);
    }
    feed(&mut t, &syn(1), 0, 900, &mut out);
    t.expire(1500, &mut out);
    assert_eq!(t.len(), 1, "B and C idled out behind the busy A");
    assert_eq!(t.stats().idled, 2);
    // The sweep did not move A: it is still the oldest and goes first.
    for p in 4..8 {
        feed(&mut t, &syn(p), 0, 1600, &mut out);
    }
    assert_eq!(t.stats().evicted, 1);
    let key = FlowKey::of(&parse(&syn(1)).unwrap()).0;
    assert!(t.records.find(&key).is_none(), "A was evicted first");
}

#[test]
fn data_on_a_syn_starts_at_isn_plus_one() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    let (a, b) = CHROMIUM.split_at(600);
    assert_eq!(
        feed(&mut t, &tcp(true, 999, SYN, a), 1, 0, &mut out),
        Ingest::Held
    );
    assert!(out.is_empty());
    feed(&mut t, &tcp(true, 1000 + 600, ACK, b), 2, 1, &mut out);
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].classify(), Verdict::Identified(c) if c.proto == Proto::Tls));
}

#[test]
fn reconnects_on_one_tuple_do_not_grow_the_decision_queue() {
    let mut t = Table::new(Bounds::default());
    let mut out = Vec::new();
    for i in 0..50_000u32 {
        // Decided, then the tuple reconnects (its SYN forgets the decision).
        feed(&mut t, &tcp(true, i, SYN, b""), 0, 1, &mut out);
        feed(
            &mut t,
            &tcp(true, i + 1, ACK, b"GET / HTTP/1.1\r\n\r\n"),
            i,
            1,
            &mut out,
        );
        for f in out.drain(..) {
            t.remember(f.key, 1, 1);
            t.recycle(f);
        }
        let fp = t.footprint();
        // Compaction runs before a push: the bounds are those of the
        // moment before it (one more flow or decision).
        assert!(fp.decided_queue <= 2 * (fp.decided + 1) + 64, "{fp:?}");
        assert!(fp.deadlines <= 2 * (fp.flows + 1) + 64, "{fp:?}");
    }
}

#[test]
fn an_nflog_syn_copy_keeps_the_interfaces_of_the_queued_packets() {
    let mut t = Table::new(Bounds {
        max_hold_ms: 100,
        ..Bounds::default()
    });
    let mut out = Vec::new();
    let syn_raw = tcp(true, 999, SYN, b"");
    let syn = parse(&syn_raw).unwrap();
    t.ingest_from(&syn, Side::Initiator, held0(), 0, &mut out);
    let queued = Held {
        id: 5,
        mark: 0,
        indev: 3,
        outdev: 4,
    };
    let data_raw = tcp(true, 1000, ACK, b"\x16\x03");
    let data = parse(&data_raw).unwrap();
    assert_eq!(
        t.ingest_from(&data, Side::Initiator, queued, 1, &mut out),
        Ingest::Held
    );
    // The client retransmits its SYN; its NFLOG copy has no interfaces.
    assert_eq!(
        t.ingest_from(&syn, Side::Initiator, held0(), 2, &mut out),
        Ingest::Pass
    );
    t.expire(101, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].held.clone(), out[0].ifaces), (vec![queued], (3, 4)));
}
