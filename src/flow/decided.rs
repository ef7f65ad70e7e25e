//! Decisions remembered for a short while: packets of a decided flow that
//! were already queued when the decision was made get the same mark.
//!
//! Bounded in entries (`Bounds::decided_cache`) and in time
//! (`Bounds::decided_ttl_ms`). Each decision carries a sequence number and
//! the age queue names it, so an entry that was replaced or forgotten (an
//! opening SYN on the tuple) is recognisably stale; stale queue entries are
//! compacted in place before they outnumber the live ones (otherwise a
//! tuple reconnected over and over would grow the queue for the whole
//! TTL). Never allocates once reserved.

use super::key::{FlowHasher, FlowKey};
use std::collections::{HashMap, VecDeque};

/// Remembered decisions.
#[derive(Debug)]
pub(super) struct Decided {
    /// Mark, time decided, sequence number.
    map: HashMap<FlowKey, (u32, u64, u32), FlowHasher>,
    /// Oldest first: key and sequence number.
    order: VecDeque<(FlowKey, u32)>,
    seq: u32,
    cap: usize,
    ttl_ms: u64,
}

impl Decided {
    /// Empty, for at most `cap` decisions of at most `ttl_ms`.
    pub(super) fn new(cap: usize, ttl_ms: u64) -> Self {
        Decided {
            map: HashMap::with_hasher(FlowHasher::new()),
            order: VecDeque::new(),
            seq: 0,
            cap,
            ttl_ms,
        }
    }

    /// Room for `n` decisions (twice that in the map, as for the records:
    /// tombstone rehashes stay in place), and for the queue's slack.
    pub(super) fn reserve(&mut self, n: usize) {
        let n = n.min(self.cap);
        self.map.reserve(n.saturating_mul(2));
        self.order.reserve(Self::slack(n));
    }

    /// Most queue entries before a compaction, with `live` decisions.
    fn slack(live: usize) -> usize {
        live.saturating_mul(2).saturating_add(64)
    }

    /// The mark decided for `key`, if decided less than the TTL ago.
    pub(super) fn get(&self, key: &FlowKey, now: u64) -> Option<u32> {
        let &(mark, at, _) = self.map.get(key)?;
        (now.saturating_sub(at) <= self.ttl_ms).then_some(mark)
    }

    /// Forgets `key`'s decision (a new connection on the tuple).
    pub(super) fn forget(&mut self, key: &FlowKey) {
        self.map.remove(key);
    }

    /// Remembers a decision, dropping the oldest beyond the bound.
    pub(super) fn remember(&mut self, key: FlowKey, mark: u32, now: u64) {
        if self.order.len() >= Self::slack(self.map.len()) {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|&(_, _, t)| t == *s));
        }
        self.seq = self.seq.wrapping_add(1);
        self.map.insert(key, (mark, now, self.seq));
        self.order.push_back((key, self.seq));
        while self.map.len() > self.cap {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    /// Forgets decisions older than the TTL (and beyond the bound).
    pub(super) fn expire(&mut self, now: u64) {
        while let Some(&(key, seq)) = self.order.front() {
            match self.map.get(&key) {
                Some(&(_, at, s)) if s == seq => {
                    if now.saturating_sub(at) <= self.ttl_ms && self.map.len() <= self.cap {
                        break;
                    }
                    self.pop_oldest();
                }
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Pops the oldest queue entry, removing its decision if it is live.
    /// False when the queue is empty.
    fn pop_oldest(&mut self) -> bool {
        let Some((key, seq)) = self.order.pop_front() else {
            return false;
        };
        if self.map.get(&key).is_some_and(|&(_, _, s)| s == seq) {
            self.map.remove(&key);
        }
        true
    }

    /// Decisions held, and entries in the age queue (live and stale).
    pub(super) fn sizes(&self) -> (usize, usize) {
        (self.map.len(), self.order.len())
    }
}
