//! The lookup structure behind [`super::Policy::decide`].
//!
//! Invariant: for every flow, the index yields a *superset* of the rules
//! that match it, each candidate is then checked with the full matcher
//! (`CRule::matches`), and the smallest matching index wins. So the answer
//! is exactly the linear scan's (first match in file order); the index only
//! decides how few rules are looked at. A property test holds this.
//!
//! Shape: one table per (subject, transport) cell. In a cell, the port
//! space is cut into intervals at every rule's range boundaries; each
//! interval holds the sorted indexes of the narrow rules covering it. Rules
//! covering every port (or too many intervals) go to the cell's `wide`
//! list. A candidate list longer than [`DST_SPLIT`] is split by destination
//! network: one hash table per prefix length, keyed by the masked address
//! (a tuple-space search over one field), plus the rules without `dst`.
//! The common case (rules naming protocols, ports and destinations) costs
//! two binary searches and a few hash probes whatever the rule count.
//!
//! Never allocates at lookup time.

use super::compile::{cell, slot, CRule, SLOTS};
use crate::sniff::Transport;
use std::collections::HashMap;
use std::net::IpAddr;

/// A rule covering more port intervals than this in a cell goes to the
/// cell's wide list instead (bounds the index's size).
const WIDE_INTERVALS: usize = 64;
/// Candidate lists longer than this are split by destination network.
pub(crate) const DST_SPLIT: usize = 16;

/// Rules sharing one destination prefix length and family.
#[derive(Clone, Debug, Default)]
struct DstTable {
    v6: bool,
    len: u8,
    map: HashMap<u128, Vec<u32>>,
}

/// Candidate rules: those without `dst`, and those with, by network.
#[derive(Clone, Debug, Default)]
struct Bucket {
    any_dst: Vec<u32>,
    by_dst: Vec<DstTable>,
}

fn key(ip: IpAddr, len: u8) -> u128 {
    let (bits, width) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let drop = width - u32::from(len.min(width as u8));
    if drop >= 128 {
        0
    } else {
        (bits >> drop) << drop
    }
}

impl Bucket {
    fn new(rules: &[CRule], ids: Vec<u32>) -> Bucket {
        if ids.len() <= DST_SPLIT {
            return Bucket {
                any_dst: ids,
                by_dst: Vec::new(),
            };
        }
        let mut b = Bucket::default();
        for id in ids {
            let Some(r) = rules.get(id as usize) else {
                continue;
            };
            if r.dst.is_empty() {
                b.any_dst.push(id);
                continue;
            }
            for c in &r.dst {
                let v6 = c.addr.is_ipv6();
                let pos = match b.by_dst.iter().position(|t| t.v6 == v6 && t.len == c.len) {
                    Some(p) => p,
                    None => {
                        b.by_dst.push(DstTable {
                            v6,
                            len: c.len,
                            map: HashMap::new(),
                        });
                        b.by_dst.len() - 1
                    }
                };
                if let Some(t) = b.by_dst.get_mut(pos) {
                    let list = t.map.entry(key(c.addr, c.len)).or_default();
                    if list.last() != Some(&id) {
                        list.push(id);
                    }
                }
            }
        }
        b
    }

    /// The smallest index below `bound` of a rule in this bucket that
    /// matches `f`.
    fn first(&self, rules: &[CRule], f: &super::Facts, bound: usize) -> usize {
        let scan = |list: &[u32], best: usize| -> usize {
            for &i in list {
                let i = i as usize;
                if i >= best {
                    break;
                }
                if rules.get(i).is_some_and(|r| r.matches(f)) {
                    return i;
                }
            }
            best
        };
        let mut best = scan(&self.any_dst, bound);
        for t in &self.by_dst {
            if t.v6 != f.dst.is_ipv6() {
                continue;
            }
            if let Some(list) = t.map.get(&key(f.dst, t.len)) {
                best = scan(list, best);
            }
        }
        best
    }
}

/// One (subject, transport) cell.
#[derive(Clone, Debug, Default)]
struct CellIndex {
    wide: Bucket,
    /// Interval starts; `starts[0] == 0`.
    starts: Vec<u16>,
    buckets: Vec<Bucket>,
}

/// The compiled lookup.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    cells: Vec<CellIndex>,
}

impl Index {
    /// Builds the index of `rules` (in file order).
    pub(crate) fn build(rules: &[CRule]) -> Index {
        let mut cells = Vec::with_capacity(SLOTS * 2);
        for s in 0..SLOTS {
            for t in [Transport::Tcp, Transport::Udp] {
                debug_assert_eq!(cells.len(), cell(s, t));
                cells.push(build_cell(rules, s, t));
            }
        }
        Index { cells }
    }

    /// The index of the first rule matching `f`, as a linear scan would
    /// find it.
    pub(crate) fn first(&self, rules: &[CRule], f: &super::Facts) -> Option<usize> {
        let c = self.cells.get(cell(slot(f.subject), f.transport))?;
        let best = c.wide.first(rules, f, usize::MAX);
        let k = c
            .starts
            .partition_point(|&s| s <= f.dport)
            .saturating_sub(1);
        let best = match c.buckets.get(k) {
            Some(b) => b.first(rules, f, best),
            None => best,
        };
        (best != usize::MAX).then_some(best)
    }
}

fn build_cell(rules: &[CRule], s: usize, t: Transport) -> CellIndex {
    let covered: Vec<(u32, Vec<super::model::PortRange>)> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (i as u32, r.ranges_in(s, t)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut bounds: Vec<u32> = vec![0];
    for (_, ranges) in &covered {
        for r in ranges {
            bounds.push(u32::from(r.lo));
            bounds.push(u32::from(r.hi) + 1);
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let starts: Vec<u16> = bounds
        .iter()
        .filter_map(|&b| u16::try_from(b).ok())
        .collect();
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); starts.len()];
    let mut wide = Vec::new();
    for (id, ranges) in covered {
        let spans: Vec<(usize, usize)> = ranges
            .iter()
            .map(|r| {
                let a = starts.partition_point(|&x| x <= r.lo).saturating_sub(1);
                let b = starts.partition_point(|&x| x <= r.hi).saturating_sub(1);
                (a, b)
            })
            .collect();
        let n: usize = spans.iter().map(|(a, b)| b - a + 1).sum();
        if n > WIDE_INTERVALS {
            wide.push(id);
            continue;
        }
        for (a, b) in spans {
            for l in lists.iter_mut().take(b + 1).skip(a) {
                if l.last() != Some(&id) {
                    l.push(id);
                }
            }
        }
    }
    CellIndex {
        wide: Bucket::new(rules, wide),
        starts,
        buckets: lists.into_iter().map(|l| Bucket::new(rules, l)).collect(),
    }
}
