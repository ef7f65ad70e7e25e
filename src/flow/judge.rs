//! What a finished flow is, in the terms the policy decides on: one place
//! for the datapath and for offline `classify`, so both judge a flow alike.

use super::key::Endpoint;
use super::table::Finished;
use crate::policy::{Facts, Subject};
use crate::sniff::{Classification, Verdict};

/// A finished flow's classification, oriented by its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judgement<'a> {
    /// The initiator: the table's guess, swapped when a detector matched
    /// with the sides reversed (a flow picked up mid-stream).
    pub client: Endpoint,
    /// The responder.
    pub server: Endpoint,
    /// The protocol, or why there is none.
    pub subject: Subject,
    /// The detector's match, with metadata borrowed from the sample.
    pub class: Option<Classification<'a>>,
    /// Unknown bytes that look encrypted.
    pub encrypted: bool,
    /// Input interface of the initiator's packets (0: unknown).
    pub iif: u32,
    /// Output interface of the initiator's packets (0: unknown).
    pub oif: u32,
}

impl Finished {
    /// Classifies the flow's sample and orients the result: a flow that
    /// hit a bound with no protocol is `Undecided`, one whose whole sample
    /// matched nothing is `Unidentified`.
    pub fn judge(&self) -> Judgement<'_> {
        let v = self.classify();
        let reversed = matches!(v, Verdict::Identified(c) if c.reversed);
        let (client, server) = if reversed {
            (self.server, self.client)
        } else {
            (self.client, self.server)
        };
        let (iif, oif) = if reversed {
            (self.ifaces.1, self.ifaces.0)
        } else {
            self.ifaces
        };
        let unnamed = if self.reason.is_bound() {
            Subject::Undecided
        } else {
            Subject::Unidentified
        };
        let (subject, class, encrypted) = match v {
            Verdict::Identified(c) => (Subject::Known(c.proto), Some(c), false),
            Verdict::Unknown { encrypted } => (unnamed, None, encrypted),
            Verdict::NeedMore => (Subject::Undecided, None, false),
        };
        Judgement {
            client,
            server,
            subject,
            class,
            encrypted,
            iif,
            oif,
        }
    }
}

impl Judgement<'_> {
    /// The policy facts of this flow.
    pub fn facts(&self, transport: crate::sniff::Transport) -> Facts {
        Facts {
            subject: self.subject,
            transport,
            src: self.client.ip,
            dst: self.server.ip,
            dport: self.server.port,
            iif: self.iif,
            oif: self.oif,
        }
    }
}
