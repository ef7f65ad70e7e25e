//! MongoDB wire protocol: the driver's first command (OP_MSG or legacy
//! OP_QUERY), or a server reply seen alone.
//!
//! A message is a little-endian header (length, request id, responseTo,
//! opcode). A client's first message has responseTo 0 and is OP_MSG (2013:
//! flag bits limited to checksumPresent / moreToCome / exhaustAllowed, a
//! kind-0 section holding a BSON document) or OP_QUERY (2004: flags, a
//! printable `db.collection` name, skip, limit, a BSON document). The
//! document's length must fit the message and its first element must be a
//! valid BSON type with a printable key: the command name (`hello`,
//! `isMaster`...), which is the `method`. A server reply (OP_MSG, or
//! OP_REPLY 1) matches on its own only when the client side is empty, with
//! a non-zero responseTo and a document that parses the same way.

use super::cursor::{at, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The MongoDB detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Mongodb,
    tcp: true,
    udp: false,
    detect,
}];

const OP_REPLY: u32 = 1;
const OP_QUERY: u32 = 2004;
const OP_MSG: u32 = 2013;
/// `maxMessageSizeBytes` of every server release.
const MAX_MESSAGE: u32 = 48_000_000;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        return message(input.server, false, input.complete);
    }
    let answered = !input.server.is_empty();
    let got = message(input.client, true, input.complete || answered);
    if answered
        && matches!(got, Sniff::Match(_))
        && at(input.server, 12).is_some_and(|b| b != 0xdd && b != 1)
    {
        // The reply to OP_MSG is OP_MSG, to OP_QUERY an OP_REPLY.
        return Sniff::NotThis;
    }
    got
}

fn message(buf: &[u8], request: bool, whole: bool) -> Sniff<Meta<'_>> {
    let short = if whole {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    // The length's high byte is small (48 MB < 0x0300_0000).
    if at(buf, 3).is_some_and(|b| b > 0x02) {
        return Sniff::NotThis;
    }
    if super::cursor::le32_at(buf, 0).is_some_and(|n| !(21..=MAX_MESSAGE).contains(&n)) {
        return Sniff::NotThis;
    }
    let mut c = Cursor::new(buf);
    let (Some(len), Some(_id), Some(response_to), Some(opcode)) =
        (c.le32(), c.le32(), c.le32(), c.le32())
    else {
        // Reject on the opcode's bytes as they arrive: 2013, 2004 or 1.
        let op = buf.get(12..).unwrap_or_default();
        let fits = |code: u32| code.to_le_bytes().starts_with(op);
        let ok = fits(OP_MSG) || (request && fits(OP_QUERY)) || (!request && fits(OP_REPLY));
        return if ok && (request || response_at_ok(buf)) {
            short
        } else {
            Sniff::NotThis
        };
    };
    if !(21..=MAX_MESSAGE).contains(&len) || (request == (response_to != 0)) {
        return Sniff::NotThis;
    }
    let body = c.rest();
    let body = body
        .get(..(len as usize - 16).min(body.len()))
        .unwrap_or(body);
    let doc = match (opcode, request) {
        (OP_MSG, _) => {
            let mut b = Cursor::new(body);
            let (Some(flags), Some(kind)) = (b.le32(), b.u8()) else {
                return short;
            };
            if flags & !0x0001_0003 != 0 || kind != 0 {
                return Sniff::NotThis;
            }
            b.rest()
        }
        (OP_QUERY, true) => {
            let mut b = Cursor::new(body);
            let Some(_flags) = b.le32() else { return short };
            let rest = b.rest();
            let Some(nul) = rest.iter().position(|&x| x == 0) else {
                return if rest.len() < 256 && rest.iter().all(|x| x.is_ascii_graphic()) {
                    short
                } else {
                    Sniff::NotThis
                };
            };
            let coll = rest.get(..nul).unwrap_or_default();
            if !coll.contains(&b'.') || !coll.iter().all(|x| x.is_ascii_graphic()) {
                return Sniff::NotThis;
            }
            b.skip(nul + 1);
            let (Some(_skip), Some(_limit)) = (b.le32(), b.le32()) else {
                return short;
            };
            b.rest()
        }
        (OP_REPLY, false) => {
            let mut b = Cursor::new(body);
            // responseFlags, cursorID, startingFrom, numberReturned.
            let (Some(_), Some(_), Some(_), Some(_), Some(n)) =
                (b.le32(), b.le32(), b.le32(), b.le32(), b.le32())
            else {
                return short;
            };
            if n != 1 {
                return Sniff::NotThis;
            }
            b.rest()
        }
        _ => return Sniff::NotThis,
    };
    document(doc, len as usize, short)
}

/// responseTo of a reply is non-zero: reject a prefix whose field is all zero.
fn response_at_ok(buf: &[u8]) -> bool {
    let field = buf.get(8..12.min(buf.len())).unwrap_or_default();
    field.len() < 4 || field.iter().any(|&b| b != 0)
}

/// A BSON document's length and first element; its key is the command.
fn document<'a>(doc: &'a [u8], msg_len: usize, short: Sniff<Meta<'a>>) -> Sniff<Meta<'a>> {
    let mut c = Cursor::new(doc);
    let Some(doc_len) = c.le32() else {
        return short;
    };
    if doc_len < 5 || doc_len as usize > msg_len {
        return Sniff::NotThis;
    }
    let Some(kind) = c.u8() else { return short };
    if !matches!(kind, 0x01..=0x13 | 0x7f | 0xff) {
        return Sniff::NotThis;
    }
    let rest = c.rest();
    let Some(nul) = rest.iter().position(|&b| b == 0) else {
        return if rest.len() < 64 && rest.iter().all(|b| b.is_ascii_graphic()) {
            short
        } else {
            Sniff::NotThis
        };
    };
    let key = rest.get(..nul).unwrap_or_default();
    if key.is_empty() || !key.iter().all(|b| b.is_ascii_graphic()) {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(key),
        ..Meta::default()
    })
}

#[cfg(test)]
#[path = "mongodb_tests.rs"]
mod tests;
