//! The packet path: one worker per NFQUEUE, feeding the pending-flow table
//! and turning decisions into verdicts and marks.
//!
//! A verdict is NF_REPEAT with a mark in portcullis's bits: the packet runs
//! the hook again, the first rule saves the mark into the conntrack mark,
//! and every later packet of the flow is handled by the connmark rules in
//! the kernel without reaching userspace. This is Suricata's "repeat mode";
//! it needs neither nf_conntrack_netlink (NFQA_CT connmark updates are
//! silently ignored without it) nor batch verdicts (which cover every
//! earlier packet id, impossible while earlier packets are held).

pub mod affinity;
pub mod counters;
mod netlink;
pub mod nflog;
pub mod nfqueue;
pub mod worker;

pub use counters::Counters;
pub use worker::{run_worker, WorkerConfig};
