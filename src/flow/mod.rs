//! Flows awaiting a decision: keys, per-flow samples, the pending table and
//! its bounds. Pure: no clock (`now` is passed in milliseconds), no I/O.
//!
//! Invariants: memory is bounded by the table's flow limit times the
//! per-flow sample cap; every held packet id is eventually returned in a
//! [`Finished`] flow (decided, bound hit, expired or evicted), so the caller
//! can give it a verdict — a held packet is never forgotten.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

pub mod bounds;
mod decided;
pub mod judge;
pub mod key;
mod outcome;
pub mod reassembly;
mod records;
pub mod table;

pub use judge::Judgement;
pub use key::{Endpoint, FlowKey};
pub use table::{Bounds, Finished, Footprint, Held, Ingest, Reason, Side, Table, TableStats};
