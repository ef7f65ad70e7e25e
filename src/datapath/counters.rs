//! Counters shared by the workers: relaxed atomics, no lock.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// Datapath counters.
        #[derive(Debug, Default)]
        pub struct Counters {
            $( $(#[$doc])* pub $name: AtomicU64, )*
        }

        impl Counters {
            /// (name, value) pairs, for printing and metrics.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name.load(Ordering::Relaxed)), )* ]
            }
        }
    };
}

counters! {
    /// Packets received from the queues.
    packets,
    /// Packets that did not parse (given the undecided action).
    parse_errors,
    /// Undecided packets without payload passed once.
    passed,
    /// Payload packets held.
    held,
    /// Packets of a just-decided flow given its remembered verdict.
    late,
    /// Flows allowed.
    flows_allowed,
    /// Flows allowed with an alert.
    flows_alerted,
    /// Flows dropped.
    flows_dropped,
    /// Flows rejected.
    flows_rejected,
    /// Flows decided on a bound (packets, bytes, time, eviction).
    flows_bound,
    /// Flows evicted from a full table.
    flows_evicted,
    /// ENOBUFS from the netlink socket (queue overflowed toward userspace).
    enobufs,
    /// Other receive errors.
    recv_errors,
    /// Verdict send errors.
    verdict_errors,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
