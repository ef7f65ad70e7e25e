//! Mail access and transfer: SMTP, POP3 and IMAP, plus the text-line
//! helpers the other line protocols of this family (FTP) share.
//!
//! All three are server-first. SMTP and FTP both greet with `220`, so a
//! `220` greeting is settled by the client's first command (`EHLO`/`HELO`
//! is SMTP; `USER`, `AUTH`, `FEAT`, `SYST`... is FTP) or, while the client
//! is silent, by the greeting naming its protocol (`ESMTP`, `SMTP` or
//! `FTP`); an ambiguous greeting waits for the client. POP3 needs a
//! `+OK <text>` greeting line, IMAP a `* OK`, `* PREAUTH` or `* BYE`
//! greeting line; when the client spoke too, its first line must be a
//! command of that protocol (or a prefix of one). A client line alone (a
//! flow seen from one side) matches only on commands no other protocol
//! sends first: `EHLO`/`HELO`, `CAPA`/`STLS`/`APOP`, `<tag> CAPABILITY`...

use super::cursor::prefix_ci;
use super::{Detector, Input, Meta, Proto, Sniff};

/// SMTP, POP3 and IMAP.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Smtp,
        tcp: true,
        udp: false,
        detect: detect_smtp,
    },
    Detector {
        proto: Proto::Pop3,
        tcp: true,
        udp: false,
        detect: detect_pop3,
    },
    Detector {
        proto: Proto::Imap,
        tcp: true,
        udp: false,
        detect: detect_imap,
    },
];

/// RFC 5321 reply lines are at most 512 bytes; IMAP greetings with a long
/// CAPABILITY list run longer.
const MAX_LINE: usize = 1024;
/// How much of a multi-line `220-` greeting is read.
const MAX_GREETING: usize = 4096;

/// The first line of `buf`, once complete (or all of `buf` when no more
/// bytes come). `NotThis` when it holds control bytes or runs too long.
pub(super) fn text_line(buf: &[u8], complete: bool) -> Sniff<&[u8]> {
    // One pass that stops at the first byte that cannot be text, so binary
    // and encrypted bytes are ruled out after a byte or two.
    for (i, &c) in buf.iter().enumerate().take(MAX_LINE) {
        match c {
            b'\n' => {
                let line = buf.get(..i).unwrap_or_default();
                return Sniff::Match(line.strip_suffix(b"\r").unwrap_or(line));
            }
            b'\r' if matches!(buf.get(i + 1), None | Some(b'\n')) => {}
            b'\t' => {}
            c if c >= 0x20 && c != 0x7f => {}
            _ => return Sniff::NotThis,
        }
    }
    if buf.len() >= MAX_LINE {
        Sniff::NotThis
    } else if complete && !buf.is_empty() {
        Sniff::Match(buf.strip_suffix(b"\r").unwrap_or(buf))
    } else {
        Sniff::NeedMore
    }
}

/// Text without control bytes (tab and UTF-8 allowed).
pub(super) fn printable(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b'\t' || (c >= 0x20 && c != 0x7f))
}

/// Case-insensitive substring search.
pub(super) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A client's first command line, read against a list of verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Command<'a> {
    /// Nothing yet, or a proper prefix of one of the verbs.
    Partial,
    /// A complete line starting with one of the verbs (the verb as sent).
    Verb(&'a [u8]),
    /// Anything else.
    Other,
}

/// Matches the start of `buf` against `verbs` (uppercase): a verb must be
/// followed by a space or the end of the line.
pub(super) fn command<'a>(buf: &'a [u8], verbs: &[&[u8]], complete: bool) -> Command<'a> {
    let line = match text_line(buf, complete) {
        Sniff::Match(line) => Some(line),
        Sniff::NeedMore => None,
        Sniff::NotThis => return Command::Other,
    };
    for v in verbs {
        match line {
            Some(line) => {
                let ok = line
                    .get(..v.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(v))
                    && matches!(line.get(v.len()), None | Some(b' '));
                if ok {
                    return Command::Verb(line.get(..v.len()).unwrap_or_default());
                }
            }
            None => {
                let n = buf.len().min(v.len());
                let head_ok = buf
                    .get(..n)
                    .zip(v.get(..n))
                    .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
                if head_ok && matches!(buf.get(v.len()), None | Some(b' ' | b'\r')) {
                    return Command::Partial;
                }
            }
        }
    }
    Command::Other
}

/// Which of the two `220` protocols a flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Which {
    Smtp,
    Ftp,
}

/// First commands that only SMTP clients send.
const SMTP_FIRST: &[&[u8]] = &[b"EHLO", b"HELO"];
/// Commands an FTP client sends after the greeting (RFC 959, 2228, 2389,
/// 7151) that an SMTP client never sends first.
const FTP_FIRST: &[&[u8]] = &[
    b"USER", b"AUTH", b"FEAT", b"SYST", b"OPTS", b"HOST", b"CLNT", b"ACCT", b"PBSZ", b"PROT",
    b"TYPE", b"PASV", b"EPSV", b"PWD", b"CWD", b"SITE",
];
/// Settles a flow between SMTP and FTP: `Match((which, meta))`.
/// First commands of both FTP and POP3 clients (both servers greet first).
const SHARED_FIRST: &[&[u8]] = &[b"USER", b"AUTH"];

pub(super) fn smtp_or_ftp<'a>(input: &Input<'a>) -> Sniff<(Which, Meta<'a>)> {
    let complete = input.complete;
    let both: [&[&[u8]]; 2] = [SMTP_FIRST, FTP_FIRST];
    if input.server.is_empty() {
        if input.client.is_empty() {
            return Sniff::NeedMore;
        }
        // One side seen: only commands no POP3 / IMAP / SMTP client sends
        // first (USER and AUTH are POP3 commands too).
        let verbs: &[&[u8]] = &[
            b"EHLO", b"HELO", b"FEAT", b"SYST", b"OPTS", b"HOST", b"CLNT",
        ];
        return match command(input.client, verbs, complete) {
            Command::Partial => Sniff::NeedMore,
            // USER and AUTH open FTP and POP3 alike, and both servers
            // greet first: their greeting settles which (BusyBox ftpget,
            // wget). Not named, waited for.
            Command::Other if !complete => match command(input.client, SHARED_FIRST, complete) {
                Command::Verb(_) | Command::Partial => Sniff::NeedMore,
                Command::Other => Sniff::NotThis,
            },
            Command::Other => Sniff::NotThis,
            Command::Verb(v) => {
                let which = if is_one_of(v, SMTP_FIRST) {
                    Which::Smtp
                } else {
                    Which::Ftp
                };
                Sniff::Match((
                    which,
                    Meta {
                        method: Some(v),
                        ..Meta::default()
                    },
                ))
            }
        };
    }
    let head = input.server.get(..3).unwrap_or(input.server);
    for code in [b"421", b"554"] {
        if code.starts_with(head) {
            if head.len() < 3 {
                return Sniff::NeedMore;
            }
            return refusal(input, code == b"554");
        }
    }
    let g = match greeting(input.server, complete) {
        Sniff::Match(g) => g,
        Sniff::NeedMore => return Sniff::NeedMore,
        Sniff::NotThis => return Sniff::NotThis,
    };
    let mut meta = Meta {
        software: (!g.text.is_empty()).then_some(g.text),
        ..Meta::default()
    };
    // A greeting that names its protocol is what listens on the port; the
    // client's first command settles a greeting that does not.
    let named = match (g.smtp, g.ftp) {
        (true, false) => Some(Which::Smtp),
        (false, true) => Some(Which::Ftp),
        _ => None,
    };
    let mut waiting = false;
    if !input.client.is_empty() {
        for (verbs, which) in both.iter().zip([Which::Smtp, Which::Ftp]) {
            match command(input.client, verbs, complete) {
                Command::Verb(v) if named.is_none_or(|n| n == which) => {
                    meta.method = Some(v);
                    return Sniff::Match((which, meta));
                }
                Command::Partial => waiting = true,
                Command::Verb(_) | Command::Other => {}
            }
        }
    }
    if let Some(which) = named {
        return Sniff::Match((which, meta));
    }
    if complete {
        Sniff::NotThis
    } else if waiting || input.client.is_empty() || !g.done {
        Sniff::NeedMore
    } else {
        Sniff::NotThis
    }
}

fn is_one_of(v: &[u8], list: &[&[u8]]) -> bool {
    list.iter().any(|l| l.eq_ignore_ascii_case(v))
}

/// A `220` greeting as far as it was read.
struct Greeting<'a> {
    /// Text of the first line after the code.
    text: &'a [u8],
    /// The final line of a multi-line greeting was seen.
    done: bool,
    /// A greeting line names SMTP / FTP.
    smtp: bool,
    ftp: bool,
}

/// Reads a `220` greeting, one or several lines (`220-...` then `220 ...`).
/// Between them, lines without the code are read as text: RFC 959 section
/// 4.2 lets an FTP server send them (pyftpdlib does for a banner of several
/// lines), and whether one names FTP counts like any other line.
fn greeting(buf: &[u8], complete: bool) -> Sniff<Greeting<'_>> {
    let mut rest = buf;
    let mut g = Greeting {
        text: b"",
        done: false,
        smtp: false,
        ftp: false,
    };
    let mut first = true;
    let mut read = 0usize;
    while !rest.is_empty() && read < MAX_GREETING {
        let coded = match prefix_ci(rest, b"220") {
            None if first => return Sniff::NeedMore,
            Some(false) if first => return Sniff::NotThis,
            Some(true) => true,
            // A continuation line without the code, or the start of one.
            None | Some(false) => false,
        };
        let sep = if coded { rest.get(3).copied() } else { None };
        if coded && !matches!(sep, None | Some(b' ' | b'-' | b'\r' | b'\n')) {
            return if first {
                Sniff::NotThis
            } else {
                Sniff::Match(g)
            };
        }
        let line = match text_line(rest, complete) {
            Sniff::Match(line) => line,
            Sniff::NotThis if first => return Sniff::NotThis,
            Sniff::NeedMore if first => return Sniff::NeedMore,
            _ => return Sniff::Match(g),
        };
        let text = if coded {
            line.get(4..).unwrap_or_default()
        } else {
            line
        };
        if first {
            g.text = text;
        }
        first = false;
        g.smtp |= contains_ci(text, b"SMTP");
        g.ftp |= names_ftp(text);
        if coded && sep != Some(b'-') {
            g.done = true;
            return Sniff::Match(g);
        }
        let used = line_len(rest);
        rest = rest.get(used..).unwrap_or_default();
        read += used;
    }
    if first {
        Sniff::NeedMore
    } else {
        Sniff::Match(g)
    }
}

/// Bytes up to and including the first LF (all of `rest` without one).
fn line_len(rest: &[u8]) -> usize {
    rest.iter()
        .position(|&b| b == b'\n')
        .map_or(rest.len(), |i| i + 1)
}

/// `FTP` in a greeting (`vsFTPd`, `ProFTPD`, `FTP server`), but not
/// `SFTP`/`TFTP` words nor `ftp.` host names; or FileZilla Server's name,
/// whose greeting (`220-FileZilla Server 1.8.0`, `220 Please visit
/// https://filezilla-project.org/`) never says FTP.
fn names_ftp(text: &[u8]) -> bool {
    if contains_ci(text, b"FileZilla Server") {
        return true;
    }
    let word_start =
        |i: usize| i == 0 || text.get(i - 1).is_none_or(|b| !b.is_ascii_alphanumeric());
    (0..text.len()).any(|i| {
        let hit = text
            .get(i..i + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"FTP"));
        let other = i > 0
            && matches!(text.get(i - 1), Some(b'S' | b's' | b'T' | b't'))
            && word_start(i - 1);
        hit && !other && text.get(i + 3) != Some(&b'.')
    })
}

fn detect_smtp<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    match smtp_or_ftp(input) {
        Sniff::Match((Which::Smtp, meta)) => Sniff::Match(meta),
        Sniff::Match(_) | Sniff::NotThis => Sniff::NotThis,
        Sniff::NeedMore => Sniff::NeedMore,
    }
}

/// A greeting that refuses service: `554` (SMTP only, RFC 5321 section
/// 3.1) or `421` (SMTP, and FTP's "service not available"). It is SMTP
/// when its first line names SMTP or carries an RFC 3463 enhanced status
/// code (`554 5.7.1 ...`, `421 4.3.2 ...`, as Postfix and Sendmail send;
/// no other protocol writes one), FTP when a `421` names FTP; otherwise the
/// client's first command settles it: `EHLO`/`HELO` (or, after a `554`,
/// the `QUIT` RFC 5321 asks for) is SMTP, an FTP command after a `421` FTP.
fn refusal<'a>(input: &Input<'a>, is_554: bool) -> Sniff<(Which, Meta<'a>)> {
    let complete = input.complete;
    let code = input.server.get(..3).unwrap_or_default();
    // Every line of the reply (`554-...` then `554 ...`) is read for a name.
    let (mut rest, mut read) = (input.server, 0usize);
    let (mut first, mut smtp, mut ftp) = (None, false, false);
    while !rest.is_empty() && read < MAX_GREETING {
        let line = match text_line(rest, complete) {
            Sniff::Match(line) => line,
            Sniff::NeedMore if first.is_none() => return Sniff::NeedMore,
            Sniff::NotThis if first.is_none() => return Sniff::NotThis,
            _ => break,
        };
        let sep = line.get(3);
        if line.get(..3) != Some(code) || !matches!(sep, None | Some(b' ' | b'-')) {
            if first.is_none() {
                return Sniff::NotThis;
            }
            break;
        }
        let text = line.get(4..).unwrap_or_default();
        first.get_or_insert(text);
        smtp |= contains_ci(text, b"SMTP") || enhanced_status(text);
        ftp |= !is_554 && names_ftp(text);
        if sep != Some(&b'-') {
            break;
        }
        let used = line_len(rest);
        rest = rest.get(used..).unwrap_or_default();
        read += used;
    }
    let text = first.unwrap_or_default();
    let meta = Meta {
        software: (!text.is_empty()).then_some(text),
        ..Meta::default()
    };
    match (smtp, ftp) {
        (true, false) => return Sniff::Match((Which::Smtp, meta)),
        (false, true) => return Sniff::Match((Which::Ftp, meta)),
        _ => {}
    }
    if input.client.is_empty() {
        return if complete {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    }
    let smtp_verbs: &[&[u8]] = if is_554 {
        &[b"EHLO", b"HELO", b"QUIT"]
    } else {
        SMTP_FIRST
    };
    let ftp_verbs: &[&[u8]] = if is_554 { &[] } else { FTP_FIRST };
    let mut waiting = false;
    for (verbs, which) in [(smtp_verbs, Which::Smtp), (ftp_verbs, Which::Ftp)] {
        match command(input.client, verbs, complete) {
            Command::Verb(v) => {
                return Sniff::Match((
                    which,
                    Meta {
                        method: Some(v),
                        ..meta
                    },
                ))
            }
            Command::Partial => waiting = true,
            Command::Other => {}
        }
    }
    if waiting && !complete {
        Sniff::NeedMore
    } else {
        Sniff::NotThis
    }
}

/// An RFC 3463 enhanced status code opening `text`: class 2, 4 or 5, then
/// `.subject.detail` of one to three digits each, then a space or the end.
fn enhanced_status(text: &[u8]) -> bool {
    let word = text.split(|&b| b == b' ').next().unwrap_or_default();
    let mut parts = word.split(|&b| b == b'.');
    let digits = |p: &[u8]| (1..=3).contains(&p.len()) && p.iter().all(u8::is_ascii_digit);
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some([b'2' | b'4' | b'5']), Some(s), Some(d), None) if digits(s) && digits(d)
    )
}

trait MapNone<'a> {
    fn map_none(self) -> Sniff<Meta<'a>>;
}

impl<'a, T> MapNone<'a> for Sniff<T> {
    /// NeedMore / NotThis carried over; a match becomes NotThis.
    fn map_none(self) -> Sniff<Meta<'a>> {
        match self {
            Sniff::NeedMore => Sniff::NeedMore,
            _ => Sniff::NotThis,
        }
    }
}

const POP3_VERBS: &[&[u8]] = &[
    b"CAPA", b"USER", b"APOP", b"AUTH", b"STLS", b"QUIT", b"NOOP", b"STAT", b"UTF8",
];
const POP3_ALONE: &[&[u8]] = &[b"CAPA", b"APOP", b"STLS"];

fn detect_pop3<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let complete = input.complete;
    if input.server.is_empty() {
        return match command(input.client, POP3_ALONE, complete) {
            Command::Verb(v) => Sniff::Match(Meta {
                method: Some(v),
                ..Meta::default()
            }),
            Command::Partial => Sniff::NeedMore,
            Command::Other => Sniff::NotThis,
        };
    }
    match prefix_ci(input.server, b"+OK") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let line = match text_line(input.server, complete) {
        Sniff::Match(line) => line,
        other => return other.map_none(),
    };
    // A greeting has text; a bare "+OK" is a reply (Redis says that too).
    let text = match line.get(3..) {
        Some([b' ', text @ ..]) if !text.trim_ascii().is_empty() => text,
        _ => return Sniff::NotThis,
    };
    let mut meta = Meta {
        software: Some(text),
        ..Meta::default()
    };
    if !input.client.is_empty() {
        match command(input.client, POP3_VERBS, complete) {
            Command::Verb(v) => meta.method = Some(v),
            Command::Partial if !complete => return Sniff::NeedMore,
            _ => return Sniff::NotThis,
        }
    }
    Sniff::Match(meta)
}

const IMAP_VERBS: &[&[u8]] = &[
    b"CAPABILITY",
    b"LOGIN",
    b"STARTTLS",
    b"AUTHENTICATE",
    b"ID",
    b"NOOP",
    b"LOGOUT",
    b"ENABLE",
    b"SELECT",
    b"EXAMINE",
    b"LIST",
    b"COMPRESS",
];
const IMAP_ALONE: &[&[u8]] = &[b"CAPABILITY", b"LOGIN", b"STARTTLS", b"AUTHENTICATE", b"ID"];

fn detect_imap<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let complete = input.complete;
    if input.server.is_empty() {
        return tagged(input.client, IMAP_ALONE, complete);
    }
    let mut first = Sniff::NotThis;
    for g in [&b"* OK"[..], b"* PREAUTH", b"* BYE"] {
        match prefix_ci(input.server, g) {
            None => first = Sniff::NeedMore,
            Some(true) if matches!(input.server.get(g.len()), None | Some(b' ' | b'\r')) => {
                first = Sniff::Match(());
                break;
            }
            Some(_) => {}
        }
    }
    match first {
        Sniff::Match(()) => {}
        other => return other.map_none(),
    }
    let line = match text_line(input.server, complete) {
        Sniff::Match(line) => line,
        other => return other.map_none(),
    };
    let text = line.get(2..).unwrap_or_default();
    let mut meta = Meta {
        software: Some(text),
        ..Meta::default()
    };
    if !input.client.is_empty() {
        match tagged(input.client, IMAP_VERBS, complete) {
            Sniff::Match(m) => meta.method = m.method,
            Sniff::NeedMore => return Sniff::NeedMore,
            Sniff::NotThis => return Sniff::NotThis,
        }
    }
    Sniff::Match(meta)
}

/// `<tag> SP <command>`: the tag is 1 to 32 of `[A-Za-z0-9._-]`.
fn tagged<'a>(buf: &'a [u8], verbs: &[&[u8]], complete: bool) -> Sniff<Meta<'a>> {
    if buf.is_empty() {
        return Sniff::NeedMore;
    }
    let tag_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
    let tag_len = buf.iter().take_while(|c| tag_char(c)).count();
    if tag_len > 32 {
        return Sniff::NotThis;
    }
    match buf.get(tag_len) {
        None if !complete => return Sniff::NeedMore,
        Some(b' ') if tag_len > 0 => {}
        _ => return Sniff::NotThis,
    }
    let rest = buf.get(tag_len + 1..).unwrap_or_default();
    if rest.is_empty() {
        return if complete {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    }
    match command(rest, verbs, complete) {
        Command::Verb(v) => Sniff::Match(Meta {
            method: Some(v),
            ..Meta::default()
        }),
        Command::Partial if !complete => Sniff::NeedMore,
        _ => Sniff::NotThis,
    }
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
