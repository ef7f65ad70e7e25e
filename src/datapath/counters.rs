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
    /// Table records evicted to make room (with or without held packets).
    evictions,
    /// Flows evicted because the byte budget of all pending flows was spent.
    evictions_bytes,
    /// ENOBUFS from the netlink socket (queue overflowed toward userspace).
    enobufs,
    /// Other receive errors.
    recv_errors,
    /// Opening SYNs read from the SYN log (`--handshake log`).
    syns_logged,
    /// ENOBUFS on the SYN log socket: copies lost (those flows are then
    /// picked up mid-stream from their first payload).
    syn_log_lost,
    /// Verdict send errors.
    verdict_errors,
    /// Kernel: packets dropped because a queue was full (fail-closed),
    /// from /proc/net/netfilter/nfnetlink_queue.
    kernel_queue_dropped,
    /// Kernel: packets dropped because the netlink socket was full
    /// (fail-closed), from the same file.
    kernel_user_dropped,
    /// Packets the kernel passed without a verdict (fail-open: queue or
    /// socket full, or nobody bound), counted by portcullis's rule.
    failopen_passed,
    /// Flows redirected (stream proxy).
    flows_redirected,
    /// Flows decided `redirect` in the queue, where they cannot be moved
    /// (not diverted to the proxy: established before the divert rules,
    /// or UDP): rejected instead.
    redirect_rejected,
    /// TCP flows taken by the stream proxy.
    proxy_flows,
    /// Flows the proxy reset because it already held `--proxy-max-conns`.
    proxy_full,
    /// Proxied flows whose destination (or redirect target) could not be
    /// reached: the client was reset.
    proxy_connect_failed,
}

/// Adds `n`.
pub fn add(c: &AtomicU64, n: u64) {
    if n != 0 {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The kernel's counters for one queue, from
/// `/proc/net/netfilter/nfnetlink_queue` (per network namespace).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelQueue {
    /// Queue number.
    pub num: u16,
    /// Packets waiting for a verdict now.
    pub total: u64,
    /// Dropped because the queue was full (fail-closed only: the kernel
    /// does not count fail-open passes).
    pub queue_dropped: u64,
    /// Dropped because the netlink socket was full (fail-closed only).
    pub user_dropped: u64,
    /// Packet ids handed out (packets queued since the queue was bound).
    pub id_sequence: u64,
}

/// Parses the file's lines: "queue portid total copy_mode copy_range
/// queue_dropped user_dropped id_sequence 1". Malformed lines are skipped.
pub fn parse_kernel_queues(text: &str) -> Vec<KernelQueue> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .map(|w| w.parse().ok())
                .collect::<Option<_>>()?;
            Some(KernelQueue {
                num: u16::try_from(*f.first()?).ok()?,
                total: *f.get(2)?,
                queue_dropped: *f.get(5)?,
                user_dropped: *f.get(6)?,
                id_sequence: *f.get(7)?,
            })
        })
        .collect()
}

/// The kernel's counters for queues `lo..=hi` in this network namespace.
pub fn kernel_queues(lo: u16, hi: u16) -> std::io::Result<Vec<KernelQueue>> {
    let text = std::fs::read_to_string("/proc/net/netfilter/nfnetlink_queue")?;
    Ok(parse_kernel_queues(&text)
        .into_iter()
        .filter(|q| (lo..=hi).contains(&q.num))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines() {
        let t = "    0 2881110080     3 2 65535    17    5     4242 1\n    1 123 0 2 65535 0 0 9 1\njunk\n";
        let q = parse_kernel_queues(t);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[0],
            KernelQueue {
                num: 0,
                total: 3,
                queue_dropped: 17,
                user_dropped: 5,
                id_sequence: 4242
            }
        );
        assert_eq!(q[1].id_sequence, 9);
    }
}
