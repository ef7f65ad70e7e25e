//! EtherNet/IP (ODVA, CIP Vol. 2 chapter 2): the encapsulation header that
//! opens every explicit-messaging exchange on TCP and UDP 44818.
//!
//! The header is 24 bytes, little-endian: command, length of the data that
//! follows, session handle, status, an 8-byte sender context, options. A
//! message matches only when it is whole and its command fits its data:
//!
//! - `RegisterSession` (0x65): 4 bytes of data, protocol version 1, option
//!   flags 0; a request carries session 0.
//! - `ListIdentity`, `ListServices`, `ListInterfaces` (0x63, 0x04, 0x64)
//!   requests: no data. Their replies: a common packet format (CPF) item
//!   list that fills the data exactly.
//! - `SendRRData` / `SendUnitData` (0x6F, 0x70): an interface handle of 0,
//!   a timeout, then a CPF list of at least two items of known types whose
//!   lengths fill the data exactly; a session handle other than 0.
//!
//! Status and options are 0 in every request. When the responder answered,
//! its first message must be the same command with the requester's sender
//! context echoed. NOP (0x00) and UnRegisterSession (0x66) never open a
//! flow and are not accepted as a first message. Implicit (class 0/1) I/O
//! on UDP 2222 has no encapsulation header and is not detected.

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff, Transport};

/// The EtherNet/IP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Enip,
    tcp: true,
    udp: true,
    detect,
}];

const HEADER: usize = 24;
const LIST_SERVICES: u16 = 0x0004;
const LIST_IDENTITY: u16 = 0x0063;
const LIST_INTERFACES: u16 = 0x0064;
const REGISTER_SESSION: u16 = 0x0065;
const SEND_RR_DATA: u16 = 0x006f;
const SEND_UNIT_DATA: u16 = 0x0070;
/// Items a CPF list may hold before it is implausible.
const MAX_ITEMS: u16 = 16;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    // A UDP datagram is all there is of its message.
    let whole = input.complete || input.transport == Transport::Udp;
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        // A responder seen alone: its reply must stand on its own.
        return message(input.server, false, whole);
    }
    let answered = !input.server.is_empty();
    let req = match message(input.client, true, whole || answered) {
        Sniff::Match(m) => m,
        other => return other,
    };
    if answered {
        // Same command, sender context echoed (bytes 12..20).
        let echoed = [0, 1]
            .into_iter()
            .chain(12..20)
            .all(|i| at(input.server, i).is_none_or(|b| Some(b) == at(input.client, i)));
        if !echoed {
            return Sniff::NotThis;
        }
    }
    Sniff::Match(req)
}

/// One encapsulation message at the start of `buf`.
fn message(buf: &[u8], request: bool, complete: bool) -> Sniff<Meta<'static>> {
    let short = if complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    // Judge the command as soon as it is there, so other protocols are
    // ruled out on their first bytes.
    let command = match (at(buf, 0), at(buf, 1)) {
        (Some(lo), Some(hi)) => u16::from_le_bytes([lo, hi]),
        (Some(0x04 | 0x63..=0x65 | 0x6f | 0x70), None) => return short,
        (None, _) => return Sniff::NeedMore,
        _ => return Sniff::NotThis,
    };
    let name: &'static [u8] = match command {
        LIST_SERVICES => b"ListServices",
        LIST_IDENTITY => b"ListIdentity",
        LIST_INTERFACES => b"ListInterfaces",
        REGISTER_SESSION => b"RegisterSession",
        SEND_RR_DATA => b"SendRRData",
        SEND_UNIT_DATA => b"SendUnitData",
        _ => return Sniff::NotThis,
    };
    // Status (requests) and options are zero: judged byte by byte, so a
    // short prefix of something else is ruled out early.
    let zero = |r: std::ops::Range<usize>| r.filter_map(|i| at(buf, i)).all(|b| b == 0);
    if !zero(20..24) || (request && !zero(8..12)) {
        return Sniff::NotThis;
    }
    if buf.len() < HEADER {
        return short;
    }
    let mut c = Cursor::new(buf.get(2..).unwrap_or_default());
    let (Some(len), Some(session), Some(status), Some(_context), Some(options)) =
        (c.le16(), c.le32(), c.le32(), c.take(8), c.le32())
    else {
        return short;
    };
    if options != 0 || (request && status != 0) {
        return Sniff::NotThis;
    }
    let Some(data) = c.take(usize::from(len)) else {
        return short;
    };
    let ok = match command {
        REGISTER_SESSION => data == [1, 0, 0, 0] && (session == 0) == request,
        LIST_SERVICES | LIST_IDENTITY | LIST_INTERFACES if request => data.is_empty(),
        LIST_SERVICES | LIST_IDENTITY | LIST_INTERFACES => cpf(data, 1),
        _ => {
            let mut d = Cursor::new(data);
            session != 0 && d.le32() == Some(0) && d.skip(2).is_some() && cpf(d.rest(), 2)
        }
    };
    if !ok {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(name),
        ..Meta::default()
    })
}

/// A common packet format list: an item count of at least `min`, then
/// items of known types (CIP Vol. 2 table 2-6.3) that fill `data` exactly.
fn cpf(data: &[u8], min: u16) -> bool {
    let mut c = Cursor::new(data);
    let Some(count) = c.le16() else {
        return false;
    };
    if count < min || count > MAX_ITEMS {
        return false;
    }
    for _ in 0..count {
        let (Some(kind), Some(len)) = (c.le16(), c.le16()) else {
            return false;
        };
        let fixed = match kind {
            0x0000 => Some(0),           // null address
            0x00a1 => Some(4),           // connected address
            0x8002 => Some(8),           // sequenced address
            0x8000 | 0x8001 => Some(16), // sockaddr info
            0x000c | 0x0086 | 0x0100 | 0x00b1 | 0x00b2 => None,
            _ => return false,
        };
        if fixed.is_some_and(|f| f != len) || c.skip(usize::from(len)).is_none() {
            return false;
        }
    }
    c.remaining() == 0
}

#[cfg(test)]
#[path = "enip_tests.rs"]
mod tests;
