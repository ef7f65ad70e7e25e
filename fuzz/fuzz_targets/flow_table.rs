//! The pending-flow table under arbitrary packet sequences: TCP and UDP
//! between a few endpoints, any flags, sequence numbers and payloads, and
//! time that jumps. Invariants: no panic; the table never exceeds its flow
//! bound; every packet the table said it held comes back exactly once in a
//! finished flow (none lost, none duplicated, none invented); a finished
//! flow's classification is never "need more".
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::flow::{Bounds, Finished, Held, Ingest, Table};
use portcullis::packet::Packet;
use portcullis::sniff::{Transport, Verdict};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ADDRS: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2)),
    IpAddr::V4(Ipv4Addr::new(198, 18, 2, 2)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2)),
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2)),
];
const PORTS: [u16; 4] = [40000, 443, 22, 53];

fuzz_target!(|data: &[u8]| {
    let bounds = Bounds {
        max_packets: 4,
        max_bytes: 512,
        max_hold_ms: 50,
        max_flows: 8,
        idle_ms: 500,
        decided_cache: 4,
        decided_ttl_ms: 100,
        max_total_bytes: 2048,
    };
    let mut table = Table::new(bounds);
    let mut out: Vec<Finished> = Vec::new();
    let mut held = BTreeSet::new();
    let mut returned = BTreeSet::new();
    let mut now = 0u64;
    let mut rest = data;
    let mut id = 0u32;
    // Each record: 6 header bytes, then `len` payload bytes.
    while let Some((h, tail)) = rest.split_first_chunk::<6>() {
        let len = (h[5] & 0x3f) as usize;
        let (payload, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        let pair = h[0];
        let (src, dst) = (
            ADDRS[(pair & 1) as usize | (pair >> 6 & 2) as usize],
            ADDRS[((pair & 1) ^ 1) as usize | (pair >> 6 & 2) as usize],
        );
        let pkt = Packet {
            src,
            dst,
            transport: if pair & 0x20 != 0 {
                Transport::Udp
            } else {
                Transport::Tcp
            },
            sport: PORTS[(pair >> 1 & 3) as usize],
            dport: PORTS[(pair >> 3 & 3) as usize],
            flags: if pair & 0x20 != 0 { 0 } else { h[1] },
            seq: u32::from_be_bytes([h[2], h[3], 0, 0]).wrapping_add(u32::from(h[4])),
            ack: u32::from_be_bytes([h[3], h[2], 0, 0]),
            payload,
        };
        now += u64::from(h[4] & 0x0f) * if h[4] & 0x80 != 0 { 100 } else { 1 };
        id += 1;
        match table.ingest(&pkt, Held::bare(id), now, &mut out) {
            Ingest::Held => assert!(held.insert(id)),
            Ingest::Pass | Ingest::Decided(_) => {}
        }
        if h[4] & 0x40 != 0 {
            table.expire(now, &mut out);
        }
        assert!(table.len() <= bounds.max_flows);
        for f in out.drain(..) {
            assert!(!matches!(f.classify(), Verdict::NeedMore));
            for h in &f.held {
                assert!(returned.insert(h.id), "id {} returned twice", h.id);
            }
        }
    }
    table.drain(&mut out);
    for f in out.drain(..) {
        for h in &f.held {
            assert!(returned.insert(h.id), "id {} returned twice", h.id);
        }
    }
    assert_eq!(held, returned, "held packets lost or invented");
});
