//! Runs the detectors over a flow's sample and settles on one answer.
//!
//! Order matters: families are tried as listed in [`super::FAMILIES`]. A
//! match is only accepted once every detector before it has ruled itself
//! out, so a loose detector late in the list cannot claim bytes that a
//! stricter one is still waiting on. When the flow's bounds are exhausted,
//! the first match wins and "need more" turns into `unknown`.

use super::entropy::looks_encrypted;
use super::{tls, Input, Meta, Proto, Sniff, Transport, FAMILIES};

/// The registry's answer for a flow's sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Identified from the bytes.
    Identified(Classification<'a>),
    /// No detector matches; `encrypted` when the bytes look like ciphertext.
    Unknown {
        /// The sample's entropy is that of encrypted or compressed data.
        encrypted: bool,
    },
    /// Some detector still needs more bytes.
    NeedMore,
}

/// A protocol identification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification<'a> {
    /// The protocol.
    pub proto: Proto,
    /// Metadata borrowed from the sample.
    pub meta: Meta<'a>,
    /// The bytes matched with initiator and responder swapped: a flow
    /// picked up mid-stream whose first seen packet came from the server,
    /// or a UDP flow of the DNS family that opens with an answer.
    pub reversed: bool,
}

/// Classifies a flow's sample.
///
/// `input.complete` says the flow hit a holding bound: no more bytes will
/// come, so the first match wins and nothing answers "need more". `midstream`
/// says the flow's start was not seen: the initiator is a guess, and the
/// detectors are also tried with the directions swapped.
pub fn classify<'a>(input: &Input<'a>, midstream: bool) -> Verdict<'a> {
    let exhausted = input.complete;
    if input.client.is_empty() && input.server.is_empty() {
        return if exhausted {
            Verdict::Unknown { encrypted: false }
        } else {
            Verdict::NeedMore
        };
    }
    let forward = run(input, exhausted);
    if let Run::Match(proto, meta) = forward {
        return identified(proto, meta, answers_first(proto, input));
    }
    let mut need = matches!(forward, Run::NeedMore);
    if midstream {
        let swapped = Input {
            client: input.server,
            server: input.client,
            client_port: input.server_port,
            server_port: input.client_port,
            transport: input.transport,
            complete: input.complete,
        };
        match run(&swapped, exhausted) {
            Run::Match(proto, meta) if !need => return identified(proto, meta, true),
            Run::NeedMore | Run::Match(..) => need = true,
            Run::None => {}
        }
    }
    if need && !exhausted {
        return Verdict::NeedMore;
    }
    // A TLS stream picked up after its handshake: records, no hello. Only
    // for flows whose start was not seen, and only once no detector
    // matched or waits.
    if midstream
        && input.transport == Transport::Tcp
        && (tls::midstream_records(input.client) || tls::midstream_records(input.server))
    {
        return identified(Proto::Tls, Meta::default(), false);
    }
    Verdict::Unknown {
        encrypted: looks_encrypted(input.client) || looks_encrypted(input.server),
    }
}

fn identified(proto: Proto, meta: Meta<'_>, reversed: bool) -> Verdict<'_> {
    Verdict::Identified(Classification {
        proto,
        meta,
        reversed,
    })
}

enum Run<'a> {
    Match(Proto, Meta<'a>),
    NeedMore,
    None,
}

fn run<'a>(input: &Input<'a>, exhausted: bool) -> Run<'a> {
    let mut need = false;
    for family in FAMILIES {
        for d in family.iter().filter(|d| d.runs_on(input.transport)) {
            match (d.detect)(input) {
                Sniff::Match(meta) if exhausted || !need => {
                    let proto = by_alpn(refine(d.proto, input), &meta);
                    return Run::Match(proto, meta);
                }
                Sniff::Match(_) | Sniff::NeedMore => need = true,
                Sniff::NotThis => {}
            }
        }
    }
    if need {
        Run::NeedMore
    } else {
        Run::None
    }
}

/// DNS, mDNS and LLMNR share one wire format; the port that RFC 6762 and
/// RFC 4795 fix for them is what tells them apart (LLMNR: a query to 5355,
/// or an answer from it). This is the only place
/// a port takes part in naming a protocol, and only after the bytes matched.
fn refine(proto: Proto, input: &Input<'_>) -> Proto {
    if proto != Proto::Dns || input.transport != Transport::Udp {
        return proto;
    }
    // The answering side's port: the responder's, or the initiator's when
    // the flow opens with an answer (see `answers_first`).
    let (asker, answerer) = if opens_with_answer(input) {
        (input.server_port, input.client_port)
    } else {
        (input.client_port, input.server_port)
    };
    match (asker, answerer) {
        (_, 5353) | (5353, _) => Proto::Mdns,
        // An LLMNR query goes to a multicast group; the answer comes back
        // unicast from port 5355 (RFC 4795 section 2.5) and is a flow of its
        // own whose first datagram is the answer.
        (_, 5355) => Proto::Llmnr,
        _ => proto,
    }
}

/// A TLS ClientHello whose ALPN names a protocol that runs TLS first on
/// its own port is that protocol: PostgreSQL 17's direct TLS
/// (`sslnegotiation=direct`, ALPN `postgresql`, which the server requires)
/// and TDS 8.0's strict encryption (SQL Server 2022, ALPN `tds/8.0`) send
/// a ClientHello as the first bytes on 5432 and 1433; named tls, every
/// standard-ports policy would refuse them. Only these two: a protocol
/// whose TLS form has a port of its own (imaps on 993 with ALPN `imap`)
/// stays tls, as its catalogue entry says. The TLS metadata (SNI,
/// version, ALPN) is kept.
pub(super) fn by_alpn(proto: Proto, meta: &Meta<'_>) -> Proto {
    match (proto, meta.alpn) {
        (Proto::Tls, Some(b"postgresql")) => Proto::Pgsql,
        (Proto::Tls, Some(b"tds/8.0")) => Proto::Tds,
        _ => proto,
    }
}

/// A UDP flow of the DNS family whose initiator's first datagram is an
/// answer, with nothing from the other side: the initiator is the server.
/// An LLMNR answer comes back unicast from port 5355 to the asker's port
/// after a multicast query that conntrack does not tie to it; an mDNS
/// answer to a legacy unicast query comes from 5353 the same way; a DNS
/// answer is seen first when a capture or a conntrack pickup started after
/// the query. Judged the other way round, each would be its protocol on
/// the asker's random port: a false "wrong port".
fn answers_first(proto: Proto, input: &Input<'_>) -> bool {
    matches!(proto, Proto::Dns | Proto::Mdns | Proto::Llmnr) && opens_with_answer(input)
}

/// A UDP sample whose initiator's first datagram has the DNS header's QR
/// bit set, and nothing from the other side.
fn opens_with_answer(input: &Input<'_>) -> bool {
    input.transport == Transport::Udp && input.server.is_empty() && is_response(input.client)
}

/// The QR bit of the DNS header that opens `msg`.
fn is_response(msg: &[u8]) -> bool {
    msg.get(2).is_some_and(|b| b & 0x80 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp<'a>(client: &'a [u8], client_port: u16, server_port: u16) -> Input<'a> {
        Input {
            client,
            server: b"",
            transport: Transport::Udp,
            client_port,
            server_port,
            complete: false,
        }
    }

    #[test]
    fn llmnr_is_named_by_its_port_after_the_bytes_matched_dns() {
        let (query, response) = (&[0, 1, 0x00, 0][..], &[0, 1, 0x80, 0][..]);
        assert_eq!(refine(Proto::Dns, &udp(query, 50000, 5355)), Proto::Llmnr);
        assert_eq!(
            refine(Proto::Dns, &udp(response, 5355, 50000)),
            Proto::Llmnr
        );
        // A resolver query that happens to leave from port 5355 is DNS.
        assert_eq!(refine(Proto::Dns, &udp(query, 5355, 53)), Proto::Dns);
        assert_eq!(refine(Proto::Dns, &udp(response, 5354, 50000)), Proto::Dns);
        // An answer sent to 5355 comes from an asker's port: DNS.
        assert_eq!(refine(Proto::Dns, &udp(response, 50000, 5355)), Proto::Dns);
    }

    #[test]
    fn an_answer_seen_first_is_judged_from_the_answering_side() {
        let (query, response) = (&[0, 1, 0x00, 0][..], &[0, 1, 0x80, 0][..]);
        assert!(answers_first(Proto::Llmnr, &udp(response, 5355, 50000)));
        assert!(answers_first(Proto::Dns, &udp(response, 53, 40000)));
        assert!(!answers_first(Proto::Dns, &udp(query, 40000, 53)));
        let mut both = udp(query, 40000, 53);
        both.server = response;
        assert!(!answers_first(Proto::Dns, &both));
        let mut tcp = udp(response, 53, 40000);
        tcp.transport = Transport::Tcp;
        assert!(!answers_first(Proto::Dns, &tcp));
    }
}
