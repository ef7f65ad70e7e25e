//! IRC client registration (RFC 1459, RFC 2812, IRCv3 capability
//! negotiation), or a server's first notice when only it was seen.
//!
//! The client's first line must be `CAP LS [version]`, `NICK <nick>`,
//! `USER <user> <mode> <unused> :<realname>` (four parameters, unlike the
//! one-parameter `USER` of FTP and POP3) or `PASS <password>`. `CAP LS` and
//! a full `USER` line match on their own; `NICK` and `PASS` need the next
//! registration line (`NICK`, `USER` or `CAP`) unless no more bytes come.
//! A server line alone matches as `:<prefix> NOTICE <target> :<text>`,
//! `:<prefix> <3-digit numeric> ...` or `NOTICE AUTH :<text>`.

use super::cursor::prefix;
use super::mail::{printable, text_line};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The IRC detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Irc,
    tcp: true,
    udp: false,
    detect,
}];

/// RFC 2812: a message is at most 512 bytes.
const MAX_LINE: usize = 512;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if !input.client.is_empty() {
        return client(input.client, input.complete);
    }
    if input.server.is_empty() {
        return Sniff::NeedMore;
    }
    server(input.server, input.complete)
}

fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|w| !w.is_empty())
}

fn nick_ok(n: &[u8]) -> bool {
    let special = |b: &u8| b"[]\\`_^{|}-".contains(b);
    (1..=64).contains(&n.len())
        && n.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || special(b))
        && n.iter().all(|b| b.is_ascii_alphanumeric() || special(b))
}

/// What one client line is.
#[derive(PartialEq)]
enum Reg {
    /// Registration is certain (CAP LS, full USER).
    Sure,
    /// NICK / PASS: IRC-shaped, needs the next line.
    Maybe,
    No,
}

fn reg_line(line: &[u8]) -> Reg {
    if line.len() > MAX_LINE || !printable(line) {
        return Reg::No;
    }
    let mut w = words(line);
    let cmd = w.next().unwrap_or_default();
    let rest: [Option<&[u8]>; 4] = [w.next(), w.next(), w.next(), w.next()];
    match cmd {
        b"CAP" => match rest {
            [Some(b"LS"), None | Some(b"302"), None, _] => Reg::Sure,
            _ => Reg::No,
        },
        b"NICK" => match rest {
            [Some(n), None, ..] if nick_ok(n) => Reg::Maybe,
            [Some(n), Some(hop), None, _] if nick_ok(n) && hop.iter().all(u8::is_ascii_digit) => {
                Reg::Maybe
            }
            _ => Reg::No,
        },
        b"PASS" => match rest {
            [Some(_), ..] => Reg::Maybe,
            _ => Reg::No,
        },
        b"USER" => {
            // USER <user> <mode> <unused> :<realname>: the fourth is trailing.
            let trailing = line.windows(2).position(|w| w == b" :");
            let head = trailing.and_then(|t| line.get(..t)).unwrap_or(line);
            let n = words(head).count();
            if (trailing.is_some() && n == 4) || (trailing.is_none() && n == 5) {
                Reg::Sure
            } else {
                Reg::No
            }
        }
        _ => Reg::No,
    }
}

const VERBS: &[&[u8]] = &[b"CAP ", b"NICK ", b"USER ", b"PASS "];

fn client(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    let mut rest = buf;
    let mut seen: Option<Meta<'_>> = None;
    for _ in 0..3 {
        if rest.is_empty() {
            return match seen {
                Some(m) if complete => Sniff::Match(m),
                _ => Sniff::NeedMore,
            };
        }
        let line = match text_line(rest, complete) {
            Sniff::Match(l) => l,
            Sniff::NeedMore => {
                let start = VERBS.iter().any(|v| prefix(rest, v) != Some(false));
                return if start {
                    Sniff::NeedMore
                } else {
                    Sniff::NotThis
                };
            }
            Sniff::NotThis => return Sniff::NotThis,
        };
        let verb = words(line).next().unwrap_or_default();
        let meta = Meta {
            method: Some(verb),
            ..Meta::default()
        };
        match reg_line(line) {
            Reg::Sure => return Sniff::Match(meta),
            // PASS comes first or not at all.
            Reg::Maybe if verb == b"PASS" && seen.is_some() => return Sniff::NotThis,
            Reg::Maybe => seen = Some(meta),
            Reg::No => return Sniff::NotThis,
        }
        let used = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        rest = rest.get(used..).unwrap_or_default();
    }
    Sniff::NotThis
}

fn server(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    if buf.first() != Some(&b':') {
        return match prefix(buf, b"NOTICE ") {
            Some(false) => Sniff::NotThis,
            None => Sniff::NeedMore,
            Some(true) => match text_line(buf, complete) {
                Sniff::Match(l) if words(l).nth(2).is_some_and(|t| t.starts_with(b":")) => {
                    Sniff::Match(Meta::default())
                }
                Sniff::Match(_) | Sniff::NotThis => Sniff::NotThis,
                Sniff::NeedMore => Sniff::NeedMore,
            },
        };
    }
    let line = match text_line(buf, complete) {
        Sniff::Match(l) if l.len() <= MAX_LINE => l,
        Sniff::NeedMore if buf.len() <= MAX_LINE => return Sniff::NeedMore,
        _ => return Sniff::NotThis,
    };
    let mut w = words(line);
    let (Some(source), Some(cmd), Some(_target)) = (w.next(), w.next(), w.next()) else {
        return Sniff::NotThis;
    };
    let numeric = cmd.len() == 3 && cmd.iter().all(u8::is_ascii_digit);
    let host_ok = source.len() > 1 && source.iter().all(|b| b.is_ascii_graphic());
    let trailing = line.windows(2).any(|w| w == b" :");
    if host_ok && trailing && (numeric || cmd == b"NOTICE") {
        let name = source.get(1..).filter(|s| !s.is_empty());
        Sniff::Match(Meta {
            software: None,
            host: name,
            ..Meta::default()
        })
    } else {
        Sniff::NotThis
    }
}

#[cfg(test)]
#[path = "irc_tests.rs"]
mod tests;
