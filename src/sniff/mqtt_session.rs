//! MQTT sessions whose CONNECT was not seen: a request and its answer.
//!
//! Used by the MQTT detector when the client's first bytes are not a
//! CONNECT. Each packet is read whole (fixed header, remaining length, and
//! the fields named below); nothing here matches on one direction alone:
//!
//! - client PINGREQ (`c0 00`), broker PINGRESP (`d0 00`);
//! - client SUBSCRIBE / UNSUBSCRIBE (flags `0010`, packet id, a topic filter
//!   that fits), broker SUBACK / UNSUBACK with the same packet id;
//! - client PUBLISH QoS 1 / 2 (a topic name that fits, without wildcards,
//!   packet id), broker PUBACK / PUBREC with the same packet id;
//! - broker CONNACK (whole, valid flags and return code) first, then any of
//!   the client packets above or a PUBLISH of QoS 0.

use super::cursor::{be16_at, Cursor};
use super::mqtt::varint;
use super::{Input, Meta, Sniff};

/// Whether `input` is an MQTT session picked up after its CONNECT.
pub(super) fn without_connect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let request = match client_request(input.client) {
        Ok(r) => r,
        Err(Stop::Short) if !input.complete => return Sniff::NeedMore,
        Err(_) => return Sniff::NotThis,
    };
    if input.server.is_empty() {
        // A well-formed request: its answer may settle it (a QoS 0
        // PUBLISH has none).
        return if input.complete || request == Request::Publish0 {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    }
    let Some(first) = packet(input.server) else {
        return if input.complete {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    let answered = match first.kind {
        0x20 => connack(first),
        _ => answers(first, request),
    };
    if !answered {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(request.name()),
        ..Meta::default()
    })
}

/// Whether `server` opens with a whole, valid CONNACK.
pub(super) fn starts_with_connack(server: &[u8]) -> bool {
    packet(server).is_some_and(|p| p.kind == 0x20 && connack(p))
}

/// Why a client request was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Every byte so far fits a request; more are needed.
    Short,
    /// Not an MQTT request.
    Bad,
}

/// The client's first packet as a request, read as far as its bytes go.
fn client_request(buf: &[u8]) -> Result<Request, Stop> {
    let mut c = Cursor::new(buf);
    let kind = c.u8().ok_or(Stop::Short)?;
    if !matches!(kind, 0xc0 | 0x82 | 0xa2 | 0x30..=0x3f) {
        return Err(Stop::Bad);
    }
    let len = match varint(&mut c) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(Stop::Short),
        Err(()) => return Err(Stop::Bad),
    };
    match c.take(len) {
        Some(body) => request(kind, body, true),
        None => request(kind, c.rest(), false),
    }
}

/// A whole control packet at the start of a direction.
#[derive(Clone, Copy)]
struct Packet<'a> {
    /// The fixed header's first byte.
    kind: u8,
    /// The variable header and payload.
    body: &'a [u8],
}

fn packet(buf: &[u8]) -> Option<Packet<'_>> {
    let mut c = Cursor::new(buf);
    let kind = c.u8()?;
    let len = varint(&mut c).ok()??;
    let body = c.take(len)?;
    Some(Packet { kind, body })
}

/// A client request that a broker answers (or, after a CONNACK, any
/// client packet).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Request {
    Ping,
    Subscribe(u16),
    Unsubscribe(u16),
    Publish1(u16),
    Publish2(u16),
    Publish0,
}

impl Request {
    fn name(self) -> &'static [u8] {
        match self {
            Request::Ping => b"PINGREQ",
            Request::Subscribe(_) => b"SUBSCRIBE",
            Request::Unsubscribe(_) => b"UNSUBSCRIBE",
            Request::Publish0 | Request::Publish1(_) | Request::Publish2(_) => b"PUBLISH",
        }
    }
}

/// Reads a request of type `kind` from its body (`whole`, or the part of
/// it seen so far).
fn request(kind: u8, body: &[u8], whole: bool) -> Result<Request, Stop> {
    let short = if whole { Stop::Bad } else { Stop::Short };
    let mut c = Cursor::new(body);
    match kind {
        0xc0 if body.is_empty() && whole => Ok(Request::Ping),
        0x82 | 0xa2 => {
            let id = c.be16().ok_or(short)?;
            let filter = string(&mut c, whole)?;
            if id == 0 || filter.is_empty() {
                return Err(Stop::Bad);
            }
            Ok(if kind == 0x82 {
                Request::Subscribe(id)
            } else {
                Request::Unsubscribe(id)
            })
        }
        k if k & 0xf0 == 0x30 => {
            let topic = string(&mut c, whole)?;
            if topic.is_empty() || topic.iter().any(|&b| b == b'+' || b == b'#') {
                return Err(Stop::Bad);
            }
            let mut id = || {
                c.be16()
                    .ok_or(short)
                    .and_then(|id| if id == 0 { Err(Stop::Bad) } else { Ok(id) })
            };
            match (k >> 1) & 0x03 {
                0 => Ok(Request::Publish0),
                1 => id().map(Request::Publish1),
                2 => id().map(Request::Publish2),
                _ => Err(Stop::Bad),
            }
        }
        _ => Err(Stop::Bad),
    }
}

/// A length-prefixed UTF-8 string (MQTT 1.5.4) without control
/// characters; `Short` when the body was cut inside it and what is there
/// is right so far.
fn string<'a>(c: &mut Cursor<'a>, whole: bool) -> Result<&'a [u8], Stop> {
    let short = if whole { Stop::Bad } else { Stop::Short };
    let len = usize::from(c.be16().ok_or(short)?);
    if let Some(s) = c.take(len) {
        return if utf8(s) { Ok(s) } else { Err(Stop::Bad) };
    }
    let part = c.rest();
    let ok = match std::str::from_utf8(part) {
        Ok(s) => !s.chars().any(char::is_control),
        // Cut inside a character: the bytes before it must be right.
        Err(e) if e.error_len().is_none() => part
            .get(..e.valid_up_to())
            .and_then(|p| std::str::from_utf8(p).ok())
            .is_some_and(|s| !s.chars().any(char::is_control)),
        Err(_) => false,
    };
    if ok && !whole {
        Err(Stop::Short)
    } else {
        Err(Stop::Bad)
    }
}

/// UTF-8 without control characters (MQTT 1.5.4).
fn utf8(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| !s.chars().any(char::is_control))
}

/// Whether the broker's first packet `p` is the answer to `req`.
fn answers(p: Packet<'_>, req: Request) -> bool {
    let id = || be16_at(p.body, 0);
    match (req, p.kind) {
        (Request::Ping, 0xd0) => p.body.is_empty(),
        (Request::Subscribe(want), 0x90) => p.body.len() >= 3 && id() == Some(want),
        (Request::Unsubscribe(want), 0xb0) => p.body.len() >= 2 && id() == Some(want),
        (Request::Publish1(want), 0x40) | (Request::Publish2(want), 0x50) => {
            p.body.len() >= 2 && id() == Some(want)
        }
        _ => false,
    }
}

/// A CONNACK: acknowledge flags 0 or 1 (session present), then a v3 return
/// code 0..=5 with nothing after, or a v5 reason code (0 or >= 0x80) and a
/// property block that fills the packet.
fn connack(p: Packet<'_>) -> bool {
    let mut c = Cursor::new(p.body);
    let (Some(flags), Some(code)) = (c.u8(), c.u8()) else {
        return false;
    };
    if flags > 1 {
        return false;
    }
    if c.remaining() == 0 {
        return code <= 5;
    }
    let props = varint(&mut c);
    (code == 0 || code >= 0x80) && matches!(props, Ok(Some(n)) if n == c.remaining())
}
