//! The stream proxy's sample and its judgement: the same detectors and the
//! same policy subjects as the queue's flows (`crate::flow::judge`), over
//! the bytes the proxy read from each side. Pure: no I/O, no clock.

use crate::flow::Reason;
use crate::policy::Subject;
use crate::sniff::{classify, Classification, Input, Transport, Verdict};

/// The first bytes of each direction of one proxied flow, capped.
#[derive(Debug)]
pub struct Sample {
    /// What the client sent.
    pub client: Vec<u8>,
    /// What the destination sent.
    pub server: Vec<u8>,
    /// Bytes kept per direction.
    pub cap: usize,
    /// Client port.
    pub client_port: u16,
    /// Destination port.
    pub server_port: u16,
}

/// Which side a read came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The initiator.
    Client,
    /// The destination.
    Server,
}

/// The sample's state after a read, or at a bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Decide now, for this reason.
    Decide(Reason),
    /// Read on.
    More,
}

/// A judged sample: the policy's subject and what the detector found.
#[derive(Clone, Copy, Debug)]
pub struct Judged<'a> {
    /// Protocol, or why there is none.
    pub subject: Subject,
    /// The detector's match.
    pub class: Option<Classification<'a>>,
    /// Unknown bytes that look encrypted.
    pub encrypted: bool,
}

impl Sample {
    /// An empty sample keeping up to `cap` bytes per direction.
    pub fn new(cap: usize, client_port: u16, server_port: u16) -> Sample {
        Sample {
            client: Vec::with_capacity(cap.min(4096)),
            server: Vec::new(),
            cap,
            client_port,
            server_port,
        }
    }

    fn input(&self, complete: bool) -> Input<'_> {
        Input {
            client: &self.client,
            server: &self.server,
            transport: Transport::Tcp,
            client_port: self.client_port,
            server_port: self.server_port,
            complete,
        }
    }

    /// Appends bytes read from one side (beyond the cap they are not kept:
    /// the caller holds them for the chosen peer) and says whether the
    /// flow can be decided.
    pub fn push(&mut self, from: From, bytes: &[u8]) -> Progress {
        let cap = self.cap;
        let side = match from {
            From::Client => &mut self.client,
            From::Server => &mut self.server,
        };
        let room = cap.saturating_sub(side.len());
        side.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        let full = side.len() >= cap;
        match classify(&self.input(false), false) {
            Verdict::Identified(_) => Progress::Decide(Reason::Identified),
            Verdict::Unknown { .. } => Progress::Decide(Reason::Unknown),
            Verdict::NeedMore if full => Progress::Decide(Reason::Bytes),
            Verdict::NeedMore => Progress::More,
        }
    }

    /// The judgement for a flow decided for `reason`: as in the queue, a
    /// flow that hit a bound with no protocol is undecided, one whose bytes
    /// matched nothing (or that closed) is unidentified.
    pub fn judge(&self, reason: Reason) -> Judged<'_> {
        let unnamed = if reason.is_bound() {
            Subject::Undecided
        } else {
            Subject::Unidentified
        };
        match classify(&self.input(true), false) {
            Verdict::Identified(c) => Judged {
                subject: Subject::Known(c.proto),
                class: Some(c),
                encrypted: false,
            },
            Verdict::Unknown { encrypted } => Judged {
                subject: unnamed,
                class: None,
                encrypted,
            },
            Verdict::NeedMore => Judged {
                subject: Subject::Undecided,
                class: None,
                encrypted: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::sniff::Proto;

    const SSH_BANNER: &[u8] = include_bytes!("../sniff/testdata/tcp/ssh/openssh.server.bin");
    const TLS_HELLO: &[u8] = include_bytes!("../sniff/testdata/tcp/tls/curl.client.bin");

    #[test]
    fn server_first_banner_decides_alone_and_split_hello_waits() {
        let mut s = Sample::new(4096, 40000, 443);
        assert_eq!(
            s.push(From::Server, SSH_BANNER),
            Progress::Decide(Reason::Identified)
        );
        assert_eq!(
            s.judge(Reason::Identified).subject,
            Subject::Known(Proto::Ssh)
        );

        let mut t = Sample::new(4096, 40000, 8088);
        let (a, b) = TLS_HELLO.split_at(40);
        assert_eq!(t.push(From::Client, a), Progress::More);
        assert_eq!(
            t.push(From::Client, b),
            Progress::Decide(Reason::Identified)
        );
        let j = t.judge(Reason::Identified);
        assert_eq!(j.subject, Subject::Known(Proto::Tls));
        assert_eq!(j.class.map(|c| c.proto), Some(Proto::Tls));
    }

    #[test]
    fn bounds_make_undecided_and_silence_unidentified() {
        let mut s = Sample::new(8, 40000, 443);
        // A ClientHello cut at 8 bytes fills the cap: a byte bound.
        assert_eq!(
            s.push(From::Client, TLS_HELLO),
            Progress::Decide(Reason::Bytes)
        );
        assert_eq!(s.client.len(), 8);
        let j = s.judge(Reason::Bytes);
        assert!(matches!(j.subject, Subject::Undecided | Subject::Known(_)));
        let quiet = Sample::new(4096, 40000, 443);
        assert_eq!(quiet.judge(Reason::Time).subject, Subject::Undecided);
        assert_eq!(quiet.judge(Reason::Closed).subject, Subject::Unidentified);
        let mut junk = Sample::new(4096, 40000, 443);
        let p = junk.push(
            From::Client,
            &[0u8, 1, 2, 3, 0xff, 0xfe, 0x10, 0x80].repeat(64),
        );
        assert_eq!(p, Progress::Decide(Reason::Unknown));
        assert_eq!(junk.judge(Reason::Unknown).subject, Subject::Unidentified);
    }
}
