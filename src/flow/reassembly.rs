//! One direction of a TCP stream's first bytes, reassembled in sequence
//! order into a capped buffer.
//!
//! Segments may arrive out of order, retransmitted or overlapping. Bytes are
//! placed at their offset from the direction's initial sequence number;
//! where a byte was already written the first copy wins, so an overlapping
//! retransmission cannot rewrite what the detectors already judged. At most
//! [`MAX_RANGES`] disjoint ranges and [`SAMPLE_MAX`] bytes are kept: beyond
//! that, bytes are ignored (and the flow's bounds end the wait).

use crate::sniff::SAMPLE_MAX;

/// Most disjoint byte ranges (holes between out-of-order segments) kept.
pub const MAX_RANGES: usize = 16;

/// A capped, in-order stream prefix.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// Sequence number of the first byte, once known.
    base: Option<u32>,
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent [start, end) ranges written so far.
    ranges: Vec<(u32, u32)>,
}

impl Stream {
    /// Sets the sequence number of the first payload byte (ISN + 1).
    /// Ignored once bytes were placed.
    pub fn set_base(&mut self, seq: u32) {
        if self.ranges.is_empty() {
            self.base = Some(seq);
        }
    }

    /// Empties the stream, keeping its buffers' capacity for reuse.
    pub fn reset(&mut self) {
        self.base = None;
        self.buf.clear();
        self.ranges.clear();
    }

    /// Bytes of buffer this stream spans (its memory, to within the
    /// allocator's rounding).
    pub fn footprint(&self) -> usize {
        self.buf.len()
    }

    /// Whether the base sequence number is known.
    pub fn has_base(&self) -> bool {
        self.base.is_some()
    }

    /// Places a segment. A stream with no base takes this segment's
    /// sequence number as its start (a flow picked up mid-stream).
    pub fn add(&mut self, seq: u32, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let base = *self.base.get_or_insert(seq);
        let off = seq.wrapping_sub(base);
        // Bytes before the base (or wrapped far ahead) are not ours to keep.
        if off as usize >= SAMPLE_MAX {
            return;
        }
        let start = off;
        let end = (off as usize + data.len()).min(SAMPLE_MAX) as u32;
        self.write_gaps(start, end, data);
    }

    fn write_gaps(&mut self, start: u32, end: u32, data: &[u8]) {
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        let mut cursor = start;
        let mut i = 0;
        while cursor < end {
            // Next range that ends after the cursor.
            while self.ranges.get(i).is_some_and(|r| r.1 <= cursor) {
                i += 1;
            }
            let gap_end = match self.ranges.get(i) {
                Some(&(rs, re)) if rs <= cursor => {
                    cursor = re.min(end);
                    continue;
                }
                Some(&(rs, _)) => rs.min(end),
                None => end,
            };
            let src = data.get((cursor - start) as usize..(gap_end - start) as usize);
            let dst = self.buf.get_mut(cursor as usize..gap_end as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
            if !self.insert_range(cursor, gap_end) {
                return;
            }
            cursor = gap_end;
        }
    }

    /// Records [s, e) as written, merging neighbours. False when the range
    /// table is full (the bytes stay unaccounted and are not read).
    fn insert_range(&mut self, s: u32, e: u32) -> bool {
        let pos = self.ranges.partition_point(|r| r.1 < s);
        let mut ns = s;
        let mut ne = e;
        let mut j = pos;
        while let Some(&(rs, re)) = self.ranges.get(j) {
            if rs > ne {
                break;
            }
            ns = ns.min(rs);
            ne = ne.max(re);
            j += 1;
        }
        if j == pos && self.ranges.len() >= MAX_RANGES {
            return false;
        }
        self.ranges.splice(pos..j, std::iter::once((ns, ne)));
        true
    }

    /// The contiguous bytes from the start of the stream.
    pub fn contiguous(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, end)) => self.buf.get(..end as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Whether the contiguous prefix reached the sample cap.
    pub fn full(&self) -> bool {
        self.contiguous().len() >= SAMPLE_MAX
    }

    /// Bytes held in this direction (including those after a hole).
    pub fn held_bytes(&self) -> usize {
        self.ranges.iter().map(|r| (r.1 - r.0) as usize).sum()
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_and_out_of_order() {
        let mut s = Stream::default();
        s.set_base(1000);
        s.add(1005, b"world");
        assert_eq!(s.contiguous(), b"");
        s.add(1000, b"hello");
        assert_eq!(s.contiguous(), b"helloworld");
    }

    #[test]
    fn first_copy_wins_on_overlap() {
        let mut s = Stream::default();
        s.set_base(0);
        s.add(0, b"abcdef");
        s.add(3, b"XYZghi");
        assert_eq!(s.contiguous(), b"abcdefghi");
    }

    #[test]
    fn midstream_takes_first_seq_and_wraps() {
        let mut s = Stream::default();
        s.add(u32::MAX - 1, b"ab");
        s.add(0, b"cd");
        assert_eq!(s.contiguous(), b"abcd");
        s.add(u32::MAX - 10, b"old");
        assert_eq!(s.contiguous(), b"abcd");
    }

    #[test]
    fn capped() {
        let mut s = Stream::default();
        s.set_base(0);
        let big = vec![7u8; SAMPLE_MAX + 100];
        s.add(0, &big);
        assert_eq!(s.contiguous().len(), SAMPLE_MAX);
        assert!(s.full());
    }

    #[test]
    fn range_table_is_bounded() {
        let mut s = Stream::default();
        s.set_base(0);
        for i in 0..100u32 {
            s.add(1 + i * 2, b"x");
        }
        assert!(s.ranges.len() <= MAX_RANGES);
    }

    proptest! {
        /// Any permutation of any segmentation, with duplicates, yields the
        /// original stream prefix.
        #[test]
        fn reassembles_any_order(
            data in proptest::collection::vec(any::<u8>(), 1..600),
            cuts in proptest::collection::vec(1usize..64, 1..40),
            seed in any::<u64>(),
            isn in any::<u32>(),
        ) {
            let mut segs = Vec::new();
            let mut at = 0;
            for c in cuts.iter().cycle() {
                if at >= data.len() { break; }
                let end = (at + c).min(data.len());
                segs.push((at, end));
                at = end;
            }
            // Few enough segments that the hole table cannot overflow.
            prop_assume!(segs.len() <= MAX_RANGES);
            let mut order: Vec<usize> = (0..segs.len()).collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut s = Stream::default();
            s.set_base(isn);
            for &i in order.iter().chain(order.iter().take(3)) {
                let (a, b) = segs[i];
                s.add(isn.wrapping_add(a as u32), &data[a..b]);
            }
            prop_assert_eq!(s.contiguous(), &data[..]);
        }
    }
}
