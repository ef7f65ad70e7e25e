//! Telnet (RFC 854): option negotiation at the start of either side.
//!
//! A side matches when it opens with at least two well-formed commands,
//! `IAC WILL|WONT|DO|DONT <option>` or a complete `IAC SB <option> ...
//! IAC SE` subnegotiation, each option being one of the assigned telnet
//! options (0-49, 138-140, 255). Telnet sessions without any negotiation
//! (a bare login prompt) carry no signature and are not claimed.

use super::cursor::Cursor;
use super::{Detector, Input, Meta, Proto, Sniff};

/// The telnet detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Telnet,
    tcp: true,
    udp: false,
    detect,
}];

const IAC: u8 = 255;
const SE: u8 = 240;
const SB: u8 = 250;
const WILL: u8 = 251;
const DONT: u8 = 254;
/// Commands needed for a match.
const MIN_COMMANDS: usize = 2;
/// Longest subnegotiation read.
const MAX_SB: usize = 512;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let mut need = input.client.is_empty() && input.server.is_empty();
    for side in [input.server, input.client] {
        if side.is_empty() {
            continue;
        }
        match negotiation(side, input.complete) {
            Sniff::Match(m) => return Sniff::Match(m),
            Sniff::NeedMore => need = true,
            Sniff::NotThis => {}
        }
    }
    // A silent client may still negotiate after a server's plain text, but
    // nothing here says telnet: the server spoke first with something else.
    if need {
        Sniff::NeedMore
    } else {
        Sniff::NotThis
    }
}

fn known_option(opt: u8) -> bool {
    matches!(opt, 0..=49 | 138..=140 | 255)
}

/// Counts the negotiation commands at the start of `buf`.
fn negotiation(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    let mut c = Cursor::new(buf);
    let mut commands = 0usize;
    loop {
        if commands >= MIN_COMMANDS {
            return Sniff::Match(Meta::default());
        }
        match c.u8() {
            None => break,
            Some(IAC) => {}
            // Text after negotiation: settle on what was seen.
            Some(_) => return Sniff::NotThis,
        }
        match c.u8() {
            None => break,
            Some(WILL..=DONT) => match c.u8() {
                None => break,
                Some(opt) if known_option(opt) => commands += 1,
                Some(_) => return Sniff::NotThis,
            },
            Some(SB) => match subnegotiation(&mut c) {
                Some(true) => commands += 1,
                Some(false) => return Sniff::NotThis,
                None => break,
            },
            Some(_) => return Sniff::NotThis,
        }
    }
    if complete {
        Sniff::NotThis
    } else {
        Sniff::NeedMore
    }
}

/// `<option> ... IAC SE`; `None` when cut short.
fn subnegotiation(c: &mut Cursor<'_>) -> Option<bool> {
    let opt = c.u8()?;
    if !known_option(opt) || opt == IAC {
        return Some(false);
    }
    for _ in 0..MAX_SB {
        if c.u8()? == IAC {
            match c.u8()? {
                SE => return Some(true),
                IAC => {}
                _ => return Some(false),
            }
        }
    }
    Some(false)
}

#[cfg(test)]
#[path = "telnet_tests.rs"]
mod tests;
