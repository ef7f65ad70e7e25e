//! portcullis: an inline enforcer of protocol/port pairs (MITRE ATT&CK
//! T1571, "Non-Standard Port") for Linux, over NFQUEUE.
//!
//! The pure core (`packet`, `sniff`, `flow`, `policy`) does no I/O and reads
//! no clock; the shells (`datapath`, `rules`, `lab`) do I/O and nothing
//! clever.

pub mod classify;
pub mod daemon;
pub mod datapath;
pub mod events;
pub mod flow;
pub mod lab;
pub mod packet;
pub mod policy;
pub mod proxy;
pub mod rules;
pub mod sniff;
