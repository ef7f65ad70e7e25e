//! Records against a model (a map and a list in creation order): any
//! sequence of inserts, removals, evictions of the oldest and sweeps keeps
//! index, order, free list and generations consistent.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::flow::key::Endpoint;
use crate::sniff::Transport;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

fn key(n: u16) -> FlowKey {
    let a = Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(198, 18, 1, 2)),
        port: 1024 + n,
    };
    let b = Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(198, 18, 2, 2)),
        port: 443,
    };
    FlowKey::new(Transport::Tcp, a, b)
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u16),
    Remove(u16),
    RemoveOldest,
    Sweep(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..48).prop_map(Op::Insert),
        2 => (0u16..48).prop_map(Op::Remove),
        1 => Just(Op::RemoveOldest),
        1 => (0u8..8).prop_map(Op::Sweep),
    ]
}

proptest! {
    #[test]
    fn matches_a_model(ops in proptest::collection::vec(op(), 1..400)) {
        let mut r: Records<u16> = Records::new();
        // Creation order of the live keys, with each one's id.
        let mut model: Vec<(u16, Id)> = Vec::new();
        let mut dead: Vec<Id> = Vec::new();
        for op in ops {
            match op {
                Op::Insert(n) => {
                    if model.iter().any(|&(m, _)| m == n) {
                        continue;
                    }
                    let id = r.insert(key(n), n).unwrap();
                    model.push((n, id));
                }
                Op::Remove(n) => {
                    let Some(i) = model.iter().position(|&(m, _)| m == n) else {
                        prop_assert!(r.find(&key(n)).is_none());
                        continue;
                    };
                    let (_, id) = model.remove(i);
                    prop_assert_eq!(r.find(&key(n)), Some(id));
                    prop_assert_eq!(r.remove(id), Some((key(n), n)));
                    dead.push(id);
                }
                Op::RemoveOldest => {
                    let got = r.oldest();
                    prop_assert_eq!(got, model.first().map(|&(_, id)| id));
                    if let Some(id) = got {
                        r.remove(id).unwrap();
                        model.remove(0);
                        dead.push(id);
                    }
                }
                Op::Sweep(k) => {
                    // A sweep visits live records in creation order and
                    // may remove what it visits.
                    for _ in 0..k {
                        let Some(id) = r.sweep() else { break };
                        let i = model.iter().position(|&(_, m)| m == id);
                        prop_assert!(i.is_some(), "sweep gave a dead record");
                        if k % 2 == 0 {
                            r.remove(id).unwrap();
                            model.remove(i.unwrap());
                            dead.push(id);
                        }
                    }
                }
            }
            prop_assert_eq!(r.len(), model.len());
            prop_assert_eq!(r.ids(), model.iter().map(|&(_, id)| id).collect::<Vec<_>>());
            for &(n, id) in &model {
                prop_assert_eq!(r.get(id), Some(&n));
                prop_assert_eq!(r.find(&key(n)), Some(id));
            }
            for &id in &dead {
                prop_assert!(r.get(id).is_none());
            }
            // Slots are reused: never more than the most live at once.
            prop_assert!(r.slots() <= 48);
        }
    }
}

#[test]
fn a_sweep_pass_visits_each_record_once_and_ends() {
    let mut r: Records<u16> = Records::new();
    for n in 0..5 {
        r.insert(key(n), n).unwrap();
    }
    let mut pass = Vec::new();
    while let Some(id) = r.sweep() {
        pass.push(*r.get(id).unwrap());
    }
    assert_eq!(pass, vec![0, 1, 2, 3, 4]);
    // The next pass starts over at the oldest.
    assert_eq!(r.sweep().and_then(|id| r.get(id)), Some(&0));
}

#[test]
fn reserved_room_is_used_without_growing() {
    let mut r: Records<u16> = Records::new();
    r.reserve(1000);
    let (slots, buckets) = (r.slots.capacity(), r.index_buckets());
    assert!(buckets >= 2000);
    // Churn far past the room: slots and buckets are reused.
    let mut ids = std::collections::VecDeque::new();
    for n in 0..20_000u32 {
        if ids.len() == 1000 {
            let id = ids.pop_front().unwrap();
            r.remove(id).unwrap();
        }
        ids.push_back(r.insert(key((n % 5000) as u16), 0).unwrap());
        if n % 5000 == 4999 {
            // Key reuse: every key was removed before it came back.
            assert_eq!(r.len(), 1000);
        }
    }
    assert_eq!((r.slots.capacity(), r.index_buckets()), (slots, buckets));
    assert_eq!(r.slots(), 1000);
}
