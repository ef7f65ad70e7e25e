//! Redis RESP (2 and 3): the client's first command, or a server reply seen
//! alone.
//!
//! A client command is either a RESP array of bulk strings
//! (`*<n>\r\n$<len>\r\n<command>\r\n`, n from 1 to 1M, a command name of
//! letters, digits, `.`, `_`, `-` or `|`), or an inline command: a whole
//! line whose first word is one of a list of Redis commands (inline
//! commands are plain text, so the list is short and Redis-specific).
//! `HELLO 3` (RESP3) is a command like any other. When the server answered,
//! its first byte must be a RESP type byte.
//!
//! Redis never speaks first except to refuse a connection in protected
//! mode (`-DENIED Redis is running in protected mode`). A server side seen
//! alone matches on that refusal, on `-NOAUTH`, on a RESP3 `HELLO` map
//! naming `redis`, and on an `INFO` reply with `redis_version:`.

use super::cursor::{first_line, prefix};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The Redis detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Redis,
    tcp: true,
    udp: false,
    detect,
}];

/// Commands accepted in inline form (a client's very first line).
const INLINE: &[&[u8]] = &[
    b"PING",
    b"AUTH",
    b"HELLO",
    b"INFO",
    b"SELECT",
    b"KEYS",
    b"SCAN",
    b"CONFIG",
    b"CLIENT",
    b"CLUSTER",
    b"MONITOR",
    b"FLUSHALL",
    b"FLUSHDB",
    b"DBSIZE",
    b"SUBSCRIBE",
    b"PSUBSCRIBE",
    b"REPLICAOF",
    b"SLAVEOF",
    b"PSYNC",
    b"SYNC",
    b"COMMAND",
    b"LPUSH",
    b"RPUSH",
    b"LRANGE",
    b"HGETALL",
    b"HSET",
    b"SETEX",
    b"INCR",
    b"EXISTS",
    b"SENTINEL",
    b"SLOWLOG",
    b"MODULE",
    b"ROLE",
    b"EVAL",
];

/// Server replies recognised when the initiator's side is empty.
const SERVER_ALONE: &[&[u8]] = &[
    b"-DENIED Redis is running in protected mode",
    b"-NOAUTH Authentication required",
    b"+PONG\r\n",
];

const MAX_LINE: usize = 1024;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        if input.server.is_empty() {
            return Sniff::NeedMore;
        }
        return server_alone(input.server);
    }
    if let Some(&b) = input.server.first() {
        if !b"+-:$*%_,#!=(|~>".contains(&b) {
            return Sniff::NotThis;
        }
    }
    let answered = !input.server.is_empty();
    match input.client.first() {
        Some(b'*') => array(input.client, answered),
        Some(_) => inline(input.client, answered, input.complete),
        None => Sniff::NeedMore,
    }
}

/// `Ok(Some(n))` for a `<sigil><decimal>\r\n` line, `Ok(None)` when short.
fn count_line(buf: &[u8], sigil: u8, max: u64) -> Result<Option<(u64, &[u8])>, ()> {
    let mut n: u64 = 0;
    let mut digits = 0usize;
    let mut it = buf.iter().enumerate();
    match it.next() {
        None => return Ok(None),
        Some((_, &b)) if b == sigil => {}
        Some(_) => return Err(()),
    }
    for (i, &b) in it {
        match b {
            b'0'..=b'9' if digits < 8 => {
                n = n * 10 + u64::from(b - b'0');
                digits += 1;
                if n > max {
                    return Err(());
                }
            }
            b'\r' if digits > 0 => {
                return match buf.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some((n, buf.get(i + 2..).unwrap_or_default()))),
                    Some(_) => Err(()),
                };
            }
            _ => return Err(()),
        }
    }
    Ok(None)
}

fn is_command_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'|')
}

/// A RESP array whose first element is a bulk string naming a command.
fn array<'a>(buf: &'a [u8], answered: bool) -> Sniff<Meta<'a>> {
    let short = if answered {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    };
    let rest = match count_line(buf, b'*', 1 << 20) {
        Ok(Some((0, _))) | Err(()) => return Sniff::NotThis,
        Ok(Some((_, rest))) => rest,
        Ok(None) => return short,
    };
    let (len, rest) = match count_line(rest, b'$', 64) {
        Ok(Some((0, _))) | Err(()) => return Sniff::NotThis,
        Ok(Some((len, rest))) => (len as usize, rest),
        Ok(None) => return short,
    };
    let name = rest.get(..len).unwrap_or(rest);
    if name.is_empty() {
        return short;
    }
    if !name.iter().all(|&b| is_command_char(b))
        || !name.first().is_some_and(u8::is_ascii_alphabetic)
    {
        return Sniff::NotThis;
    }
    match prefix(rest.get(len..).unwrap_or_default(), b"\r\n") {
        Some(true) if name.len() == len => Sniff::Match(Meta {
            method: Some(name),
            ..Meta::default()
        }),
        Some(_) => Sniff::NotThis,
        None => short,
    }
}

/// An inline command: `PING\r\n`, `AUTH secret\r\n`.
fn inline<'a>(buf: &'a [u8], answered: bool, complete: bool) -> Sniff<Meta<'a>> {
    let word_end = buf
        .iter()
        .position(|&b| !b.is_ascii_alphabetic())
        .unwrap_or(buf.len());
    let word = buf.get(..word_end).unwrap_or_default();
    // Redis commands are 3 to 16 letters: anything else is ruled out
    // without looking the word up.
    if word.len() > 16 || (word_end < buf.len() && word.len() < 3) {
        return Sniff::NotThis;
    }
    let known = INLINE.iter().any(|c| c.eq_ignore_ascii_case(word));
    if word_end == buf.len() {
        let could = INLINE.iter().any(|c| {
            c.len() > word.len()
                && c.get(..word.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(word))
        });
        return if could || known {
            more(answered, complete)
        } else {
            Sniff::NotThis
        };
    }
    if !known || !matches!(buf.get(word_end), Some(b' ' | b'\r' | b'\n')) {
        return Sniff::NotThis;
    }
    match first_line(buf, MAX_LINE) {
        Ok(Some(line)) if line.iter().all(|&b| (0x20..0x7f).contains(&b)) => Sniff::Match(Meta {
            method: Some(word),
            ..Meta::default()
        }),
        Ok(None) if buf.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\r') => {
            more(answered, complete)
        }
        _ => Sniff::NotThis,
    }
}

fn more<'a>(answered: bool, complete: bool) -> Sniff<Meta<'a>> {
    if answered || complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    }
}

/// The server's bytes with nothing from the client.
fn server_alone(buf: &[u8]) -> Sniff<Meta<'_>> {
    let mut need = false;
    for lit in SERVER_ALONE {
        match prefix(buf, lit) {
            Some(true) => {
                return Sniff::Match(Meta {
                    method: Some(b"reply"),
                    ..Meta::default()
                })
            }
            None => need = true,
            Some(false) => {}
        }
    }
    // HELLO 3 reply: a map whose first pair is server => redis.
    match count_line(buf, b'%', 64) {
        Ok(Some((_, rest))) => match prefix(rest, b"$6\r\nserver\r\n$5\r\nredis\r\n") {
            Some(true) => return Sniff::Match(Meta::default()),
            None => need = true,
            Some(false) => {}
        },
        Ok(None) => need = true,
        Err(()) => {}
    }
    // INFO reply: a bulk string starting with the Server section.
    if let Ok(r) = count_line(buf, b'$', 1 << 24) {
        match r {
            None => need = true,
            Some((_, rest)) => match prefix(rest, b"# Server\r\nredis_version:") {
                Some(true) => return Sniff::Match(Meta::default()),
                None => need = true,
                Some(false) => {}
            },
        }
    }
    if need {
        Sniff::NeedMore
    } else {
        Sniff::NotThis
    }
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
