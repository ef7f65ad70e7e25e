//! BitTorrent: the peer wire handshake over TCP (BEP 3) and the bencoded
//! KRPC messages of the DHT over UDP (BEP 5).
//!
//! The peer handshake matches on its fixed 20-byte opening
//! (`\x13BitTorrent protocol`) from either side; every proper prefix of it
//! is "need more". When the 68-byte handshake is whole, the Azureus-style
//! client code of the peer id (`-qB4650-` gives `qB4650`) is the software.
//!
//! A DHT datagram matches only when it parses as one bencoded dictionary
//! that ends exactly at the datagram's end, with a `t` transaction id and a
//! `y` of `q`, `r` or `e`; a query (`q`) also needs a known method name and
//! an `a` dictionary holding a 20-byte `id`, a response (`r`) an `r`
//! dictionary holding a 20-byte `id`, an error (`e`) an `e` list.

use super::cursor::{prefix, Cursor};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The peer wire and DHT detectors.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Bittorrent,
        tcp: true,
        udp: false,
        detect: detect_peer,
    },
    Detector {
        proto: Proto::BittorrentDht,
        tcp: false,
        udp: true,
        detect: detect_dht,
    },
];

const HANDSHAKE: &[u8] = b"\x13BitTorrent protocol";
/// pstrlen + pstr + reserved + info_hash + peer_id.
const HANDSHAKE_LEN: usize = 68;

fn detect_peer<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let side = input.first_side();
    match prefix(side, HANDSHAKE) {
        None => Sniff::NeedMore,
        Some(false) => Sniff::NotThis,
        Some(true) => Sniff::Match(Meta {
            software: side.get(48..HANDSHAKE_LEN).and_then(azureus_client),
            ..Meta::default()
        }),
    }
}

/// `-XXnnnn-` peer ids name the client and its version.
fn azureus_client(peer_id: &[u8]) -> Option<&[u8]> {
    let code = peer_id.get(1..7)?;
    let framed = peer_id.first() == Some(&b'-') && peer_id.get(7) == Some(&b'-');
    (framed && code.iter().all(u8::is_ascii_alphanumeric)).then_some(code)
}

/// DHT query methods of BEP 5, 44 and 51.
const METHODS: &[&[u8]] = &[
    b"ping",
    b"find_node",
    b"get_peers",
    b"announce_peer",
    b"get",
    b"put",
    b"sample_infohashes",
];

/// Deepest nesting a KRPC message needs (top dict, `a`/`r`, lists inside).
const MAX_DEPTH: u8 = 6;

fn detect_dht<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    input.one_message(krpc)
}

/// A bencoded value, as far as KRPC needs to look into it.
#[derive(Clone, Copy)]
enum Value<'a> {
    Bytes(&'a [u8]),
    Int,
    List,
    Dict(&'a [u8]),
}

/// Parses one whole KRPC message; `None` when it is anything else.
fn krpc(msg: &[u8]) -> Option<Meta<'_>> {
    let mut c = Cursor::new(msg);
    let Value::Dict(body) = value(&mut c, 0)? else {
        return None;
    };
    if c.remaining() != 0 {
        return None;
    }
    let (mut kind, mut method, mut tid, mut args, mut resp, mut err) =
        (None, None, None, None, None, false);
    let mut d = Cursor::new(body);
    let mut last: &[u8] = b"";
    while d.remaining() > 1 {
        let Value::Bytes(key) = value(&mut d, 1)? else {
            return None;
        };
        // Bencoded dictionary keys are sorted and unique.
        if key <= last && !last.is_empty() {
            return None;
        }
        last = key;
        let v = value(&mut d, 1)?;
        match (key, v) {
            (b"y", Value::Bytes(y)) => kind = Some(y),
            (b"q", Value::Bytes(q)) => method = Some(q),
            (b"t", Value::Bytes(t)) => tid = Some(t),
            (b"a", Value::Dict(a)) => args = Some(a),
            (b"r", Value::Dict(r)) => resp = Some(r),
            (b"e", Value::List) => err = true,
            (b"y" | b"q" | b"t" | b"a" | b"r" | b"e", _) => return None,
            _ => {}
        }
    }
    tid.filter(|t| !t.is_empty() && t.len() <= 16)?;
    match kind? {
        b"q" => {
            let m = method.filter(|m| METHODS.contains(m))?;
            has_node_id(args?).then_some(Meta {
                method: Some(m),
                ..Meta::default()
            })
        }
        b"r" => has_node_id(resp?).then_some(Meta {
            method: Some(b"response"),
            ..Meta::default()
        }),
        b"e" => err.then_some(Meta {
            method: Some(b"error"),
            ..Meta::default()
        }),
        _ => None,
    }
}

/// The body of an `a` or `r` dictionary holds `id` as a 20-byte string.
fn has_node_id(dict: &[u8]) -> bool {
    let mut d = Cursor::new(dict);
    while d.remaining() > 1 {
        let (Some(Value::Bytes(key)), Some(v)) = (value(&mut d, 2), value(&mut d, 2)) else {
            return false;
        };
        if key == b"id" {
            return matches!(v, Value::Bytes(id) if id.len() == 20);
        }
    }
    false
}

/// Reads one bencoded value. A dictionary's body (between `d` and `e`) is
/// returned for a second pass; its keys and values are checked here.
fn value<'a>(c: &mut Cursor<'a>, depth: u8) -> Option<Value<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let start = c.rest();
    match c.u8()? {
        b'i' => {
            let mut digits = 0usize;
            let mut first = true;
            loop {
                match c.u8()? {
                    b'-' if first => {}
                    b'0'..=b'9' => digits += 1,
                    b'e' if digits > 0 => return Some(Value::Int),
                    _ => return None,
                }
                first = false;
                if digits > 20 {
                    return None;
                }
            }
        }
        b'l' => {
            while c.rest().first()? != &b'e' {
                value(c, depth + 1)?;
            }
            c.skip(1)?;
            Some(Value::List)
        }
        b'd' => {
            let body_start = c.remaining();
            while c.rest().first()? != &b'e' {
                let Value::Bytes(_) = value(c, depth + 1)? else {
                    return None;
                };
                value(c, depth + 1)?;
            }
            let body_len = body_start - c.remaining();
            c.skip(1)?;
            Some(Value::Dict(start.get(1..1 + body_len)?))
        }
        d @ b'0'..=b'9' => {
            let mut len = usize::from(d - b'0');
            loop {
                match c.u8()? {
                    b':' => break,
                    // No leading zeros, and no absurd lengths.
                    n @ b'0'..=b'9' if len > 0 && len < 100_000 => {
                        len = len * 10 + usize::from(n - b'0');
                    }
                    _ => return None,
                }
            }
            Some(Value::Bytes(c.take(len)?))
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "bittorrent_tests.rs"]
mod tests;
