//! Fuzzes the stream proxy's sample (`proxy::judge::Sample`): an arbitrary
//! sequence of reads from either side, with an arbitrary cap, must never
//! panic and must keep these invariants:
//!
//! * neither side's kept bytes exceed the cap, and what is kept is the
//!   prefix of what was read from that side;
//! * `push` answers `Decide(Bytes)` only when a side is full;
//! * once `push` says decide, judging gives a subject consistent with the
//!   reason: a bound with no protocol is undecided, never unidentified;
//! * judging is deterministic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::flow::Reason;
use portcullis::policy::Subject;
use portcullis::proxy::judge::{From, Progress, Sample};

fuzz_target!(|data: &[u8]| {
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let cap = 1 + usize::from(head) * 16;
    let mut s = Sample::new(cap, 40000, 443);
    let (mut all_c, mut all_s) = (Vec::new(), Vec::new());
    let mut decided = None;
    // Each read: one byte of side and length, then the bytes.
    while let Some((&op, tail)) = rest.split_first() {
        let n = usize::from(op & 0x7f).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let from = if op & 0x80 == 0 {
            From::Client
        } else {
            From::Server
        };
        match from {
            From::Client => all_c.extend_from_slice(chunk),
            From::Server => all_s.extend_from_slice(chunk),
        }
        let p = s.push(from, chunk);
        assert!(s.client.len() <= cap && s.server.len() <= cap);
        assert!(all_c.starts_with(&s.client) && all_s.starts_with(&s.server));
        if p == Progress::Decide(Reason::Bytes) {
            assert!(s.client.len() == cap || s.server.len() == cap);
        }
        if let Progress::Decide(r) = p {
            decided = Some(r);
            break;
        }
    }
    for r in [decided.unwrap_or(Reason::Time), Reason::Closed] {
        let a = s.judge(r);
        let b = s.judge(r);
        assert_eq!(a.subject, b.subject);
        if r.is_bound() {
            assert_ne!(a.subject, Subject::Unidentified);
        }
    }
});
