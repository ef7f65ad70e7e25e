//! Storage of the pending table's records: a slab of slots, a hash index
//! from flow key to slot, and the creation order as a doubly linked list
//! through the slots.
//!
//! Why this shape: under a flood the table sits at its bound, so the cost
//! of one record is the table's memory. A `HashMap<FlowKey, _>` bucket is
//! at least the 42-byte key plus the value, and the map has up to four
//! buckets per record (hashbrown keeps 1/8 free and, with churn's
//! tombstones, doubles once; [`Records::reserve`] asks for twice the room
//! so that tombstone rehashes stay in place). Here a bucket is a 4-byte
//! slot number (plus hashbrown's control byte) and the key lives once, in
//! the slot. The creation order is linked through the slots, so removing a
//! record is O(1) and leaves nothing stale behind (a `VecDeque` of keys
//! kept one entry per finished flow until eviction reached it).
//!
//! Invariants: a live slot (generation != 0) is in the index once and in
//! the order list once; a free slot is in neither, has generation 0, and is
//! on the free list. An [`Id`] names a slot and its generation, so an id
//! kept past the record's removal (a hold deadline) finds nothing. Slots
//! are reused, never returned: once grown to the table's high-water mark,
//! nothing here allocates. No operation panics.

use super::key::{FlowHasher, FlowKey};
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// No slot (end of a list).
const NIL: u32 = u32::MAX;

/// The position of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cursor {
    /// The next call starts a pass at the oldest record.
    Start,
    /// The next call visits this slot.
    At(u32),
    /// The pass is over: the next call says so and starts over.
    End,
}

/// A record's handle: its slot and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Id {
    slot: u32,
    gen: u32,
}

#[derive(Debug)]
struct Slot<V> {
    key: FlowKey,
    /// 0 while free.
    gen: u32,
    /// Older neighbour in creation order (unused while free).
    prev: u32,
    /// Newer neighbour in creation order; the next free slot while free.
    next: u32,
    value: Option<V>,
}

/// Records keyed by flow, in creation order.
#[derive(Debug)]
pub(super) struct Records<V> {
    slots: Vec<Slot<V>>,
    index: HashTable<u32>,
    hasher: FlowHasher,
    /// Oldest and newest live slots.
    head: u32,
    tail: u32,
    /// First free slot.
    free: u32,
    /// Where [`Records::sweep`] is.
    cursor: Cursor,
    last_gen: u32,
    len: usize,
}

impl<V> Records<V> {
    /// Empty; allocates nothing until used or reserved.
    pub(super) fn new() -> Self {
        Records {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher: FlowHasher::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            cursor: Cursor::Start,
            last_gen: 0,
            len: 0,
        }
    }

    /// Room for `n` records without allocating: `n` slots and twice that
    /// in the index (see the module header).
    pub(super) fn reserve(&mut self, n: usize) {
        self.slots
            .reserve(n.saturating_sub(self.slots.len()).min(NIL as usize));
        let (slots, hasher) = (&self.slots, &self.hasher);
        let want = n.saturating_mul(2).saturating_sub(self.index.len());
        self.index.reserve(want, |&s| rehash(slots, hasher, s));
    }

    /// Live records.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Slots allocated (live and free): the high-water mark of `len`.
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Buckets of the index (its memory is about 5 bytes each).
    pub(super) fn index_buckets(&self) -> usize {
        self.index.capacity()
    }

    /// The live record of `key`.
    pub(super) fn find(&self, key: &FlowKey) -> Option<Id> {
        let slots = &self.slots;
        let hash = self.hasher.hash_one(key);
        let &slot = self.index.find(hash, |&s| {
            slots.get(s as usize).is_some_and(|x| x.key == *key)
        })?;
        let gen = slots.get(slot as usize)?.gen;
        Some(Id { slot, gen })
    }

    fn live(&self, id: Id) -> Option<&Slot<V>> {
        self.slots
            .get(id.slot as usize)
            .filter(|s| s.gen == id.gen && s.gen != 0)
    }

    /// The record `id` names, if it is still live.
    pub(super) fn get(&self, id: Id) -> Option<&V> {
        self.live(id)?.value.as_ref()
    }

    /// [`Records::get`], mutably.
    pub(super) fn get_mut(&mut self, id: Id) -> Option<&mut V> {
        self.slots
            .get_mut(id.slot as usize)
            .filter(|s| s.gen == id.gen && s.gen != 0)?
            .value
            .as_mut()
    }

    /// Adds the newest record. The caller has checked that `key` is
    /// absent. `None` only if 2^32 - 1 slots are live.
    pub(super) fn insert(&mut self, key: FlowKey, value: V) -> Option<Id> {
        self.last_gen = self.last_gen.wrapping_add(1).max(1);
        let gen = self.last_gen;
        let slot = if self.free != NIL {
            let s = self.free;
            let x = self.slots.get_mut(s as usize)?;
            self.free = x.next;
            *x = Slot {
                key,
                gen,
                prev: NIL,
                next: NIL,
                value: Some(value),
            };
            s
        } else {
            let s = u32::try_from(self.slots.len()).ok().filter(|&s| s != NIL)?;
            self.slots.push(Slot {
                key,
                gen,
                prev: NIL,
                next: NIL,
                value: Some(value),
            });
            s
        };
        self.link_newest(slot);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hasher.hash_one(key), slot, |&s| rehash(slots, hasher, s));
        self.len += 1;
        Some(Id { slot, gen })
    }

    /// Removes a live record and returns it with its key.
    pub(super) fn remove(&mut self, id: Id) -> Option<(FlowKey, V)> {
        let key = self.live(id)?.key;
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == id.slot) {
            entry.remove();
        }
        self.unlink(id.slot);
        let free = self.free;
        let x = self.slots.get_mut(id.slot as usize)?;
        x.gen = 0;
        x.next = free;
        x.prev = NIL;
        self.free = id.slot;
        self.len = self.len.saturating_sub(1);
        x.value.take().map(|v| (key, v))
    }

    /// The oldest live record.
    pub(super) fn oldest(&self) -> Option<Id> {
        let gen = self.slots.get(self.head as usize)?.gen;
        Some(Id {
            slot: self.head,
            gen,
        })
    }

    /// The next record of a sweep that walks the creation order from the
    /// oldest to the newest and starts over; `None` at the end of each
    /// pass. The record returned may be removed before the next call.
    pub(super) fn sweep(&mut self) -> Option<Id> {
        let slot = match self.cursor {
            Cursor::Start => self.head,
            Cursor::At(s) => s,
            Cursor::End => {
                self.cursor = Cursor::Start;
                return None;
            }
        };
        let x = self.slots.get(slot as usize)?;
        let gen = x.gen;
        self.cursor = after(x.next);
        Some(Id { slot, gen })
    }

    /// Every live record, oldest first.
    pub(super) fn ids(&self) -> Vec<Id> {
        let mut v = Vec::with_capacity(self.len);
        let mut s = self.head;
        while let Some(x) = self.slots.get(s as usize) {
            v.push(Id {
                slot: s,
                gen: x.gen,
            });
            s = x.next;
        }
        v
    }

    fn link_newest(&mut self, slot: u32) {
        let tail = self.tail;
        if let Some(x) = self.slots.get_mut(slot as usize) {
            x.prev = tail;
            x.next = NIL;
        }
        match self.slots.get_mut(tail as usize) {
            Some(t) => t.next = slot,
            None => self.head = slot,
        }
        self.tail = slot;
    }

    fn unlink(&mut self, slot: u32) {
        let Some(x) = self.slots.get(slot as usize) else {
            return;
        };
        let (prev, next) = (x.prev, x.next);
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        if self.cursor == Cursor::At(slot) {
            self.cursor = after(next);
        }
    }
}

/// The cursor that visits `next` (a slot, or the end of the list).
fn after(next: u32) -> Cursor {
    if next == NIL {
        Cursor::End
    } else {
        Cursor::At(next)
    }
}

/// The hash of the key in slot `s` (for the index's own rehashing).
fn rehash<V>(slots: &[Slot<V>], hasher: &FlowHasher, s: u32) -> u64 {
    slots.get(s as usize).map_or(0, |x| hasher.hash_one(x.key))
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
