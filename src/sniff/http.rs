//! HTTP/1.x requests (and responses seen alone), HTTP CONNECT tunnels, and
//! the HTTP/2 prior-knowledge connection preface (RFC 9113 section 3.4).
//!
//! A request matches once its request line is complete: a known method, a
//! space, a request-target without controls, a space, `HTTP/1.0` or
//! `HTTP/1.1` (runs of spaces between the three are accepted, as RFC 9112
//! section 3 lets servers do and nginx does). The Host header is read when the
//! header block is in the sample. A request line longer than the sample
//! (a long query string) matches on a known method and 4 KiB or more of one
//! origin- or absolute-form target, without Host or version. A response (`HTTP/1.x NNN`) matches only
//! when the initiator's side is empty (a capture or conntrack pickup that
//! missed the request).
//!
//! The HTTP/2 preface is the client's; a server that sends its SETTINGS
//! frame first makes the detector wait for the client's bytes.

use super::cursor::{first_line, prefix, prefix_ci};
use super::{Detector, Input, Meta, Proto, Sniff, SAMPLE_MAX};

/// HTTP/2 preface, HTTP CONNECT, then HTTP/1.x.
pub(crate) const DETECTORS: &[Detector] = &[
    Detector {
        proto: Proto::Http2,
        tcp: true,
        udp: false,
        detect: detect_h2,
    },
    Detector {
        proto: Proto::HttpConnect,
        tcp: true,
        udp: false,
        detect: detect_connect,
    },
    Detector {
        proto: Proto::Http,
        tcp: true,
        udp: false,
        detect: detect_http,
    },
];

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const MAX_REQUEST_LINE: usize = 8192;
const MAX_HEADERS: usize = 4096;

/// Methods of RFC 9110, every method of the IANA HTTP Method Registry
/// (WebDAV RFC 4918, DeltaV RFC 3253, RFC 3648, 3744, 4437, 4791, 5323,
/// 5842, 2068's LINK/UNLINK, the QUERY draft), and the extension methods
/// widespread servers and clients send: UPnP/SSDP (M-SEARCH, NOTIFY,
/// SUBSCRIBE), RFC 2774's M-POST (WBEM CIM-XML), Icecast's SOURCE, Varnish
/// BAN/PURGE, IIS DEBUG/TRACK, Outlook Anywhere's RPC_IN_DATA/RPC_OUT_DATA
/// and Exchange's WebDAV extensions. The request line must still end in
/// `HTTP/1.x`, so a method here only widens what an HTTP/1 request line
/// may start with.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"MKCALENDAR",
    b"CHECKOUT",
    b"MERGE",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"M-SEARCH",
    b"PURGE",
    b"ACL",
    b"BASELINE-CONTROL",
    b"BIND",
    b"CHECKIN",
    b"LABEL",
    b"LINK",
    b"MKACTIVITY",
    b"MKREDIRECTREF",
    b"MKWORKSPACE",
    b"ORDERPATCH",
    b"QUERY",
    b"REBIND",
    b"UNBIND",
    b"UNCHECKOUT",
    b"UNLINK",
    b"UPDATE",
    b"UPDATEREDIRECTREF",
    b"VERSION-CONTROL",
    b"M-POST",
    b"SOURCE",
    b"BAN",
    b"DEBUG",
    b"TRACK",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
    b"BCOPY",
    b"BDELETE",
    b"BMOVE",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"POLL",
    b"X-MS-ENUMATTS",
];

fn detect_h2<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    match prefix(input.client, H2_PREFACE) {
        Some(true) => Sniff::Match(Meta {
            version: Some(2),
            ..Meta::default()
        }),
        Some(false) => Sniff::NotThis,
        // A server may send its SETTINGS before the client's preface
        // arrives (RFC 9113 section 3.4; nghttpd and Cloudflare do): wait
        // for the client. The server's bytes alone never name the flow.
        None if input.client.is_empty() && !input.server.is_empty() => {
            if settings_prefix(input.server) {
                Sniff::NeedMore
            } else {
                Sniff::NotThis
            }
        }
        None => Sniff::NeedMore,
    }
}

/// A frame header of a server's first SETTINGS frame (RFC 9113 section
/// 6.5), as far as `buf` holds it: a length that is a multiple of 6 and at
/// most the default SETTINGS_MAX_FRAME_SIZE, type 4, no flags (not an ACK),
/// stream 0.
fn settings_prefix(buf: &[u8]) -> bool {
    const HEAD: [Option<u8>; 9] = [
        None,
        None,
        None,
        Some(4),
        Some(0),
        Some(0),
        Some(0),
        Some(0),
        Some(0),
    ];
    let fixed = HEAD
        .iter()
        .zip(buf)
        .all(|(want, got)| want.is_none_or(|w| w == *got));
    let len_ok = match buf.get(..3) {
        Some(&[a, b, c]) => {
            let len = u32::from_be_bytes([0, a, b, c]);
            len % 6 == 0 && len <= 16_384
        }
        _ => buf.first().is_none_or(|&b| b == 0),
    };
    fixed && len_ok
}

fn detect_connect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let client = skip_empty_lines(input.client).unwrap_or_default();
    if prefix(client, b"CONNECT ") == Some(false) {
        return Sniff::NotThis;
    }
    match request(input) {
        Sniff::Match(m) if m.method == Some(b"CONNECT") => Sniff::Match(m),
        Sniff::Match(_) => Sniff::NotThis,
        other => other,
    }
}

fn detect_http<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    if input.client.is_empty() {
        return response(input.server);
    }
    match request(input) {
        Sniff::Match(m) if m.method == Some(b"CONNECT") => Sniff::NotThis,
        other => other,
    }
}

fn request<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    let buf = input.client;
    if buf.is_empty() {
        return if input.server.is_empty() {
            Sniff::NeedMore
        } else {
            Sniff::NotThis
        };
    }
    let Some(buf) = skip_empty_lines(buf) else {
        return if input.complete {
            Sniff::NotThis
        } else {
            Sniff::NeedMore
        };
    };
    // The method: a known token followed by one space.
    let method = match method_token(buf) {
        Sniff::Match(m) => m,
        Sniff::NeedMore => return Sniff::NeedMore,
        Sniff::NotThis => return Sniff::NotThis,
    };
    let line = match first_line(buf, MAX_REQUEST_LINE) {
        Ok(Some(line)) => line,
        // A request line longer than the sample holds.
        Ok(None) if input.client.len() >= SAMPLE_MAX => return long_request(method, buf),
        Ok(None) => {
            // Keep waiting only while what we have can still be a request line.
            let body = buf.strip_suffix(b"\r").unwrap_or(buf);
            let ok = body.iter().all(|&b| b >= 0x20 && b != 0x7f);
            return if ok && !input.complete {
                Sniff::NeedMore
            } else {
                Sniff::NotThis
            };
        }
        Err(()) => return long_request(method, buf),
    };
    // RFC 9112 section 3: a recipient may split the request line on runs
    // of spaces, and nginx and Suricata do; so does this detector, or
    // one extra space would hide a request that such a server answers.
    let rest = trim_ws(line.get(method.len() + 1..).unwrap_or_default());
    let Some(sp) = rest.iter().rposition(|&b| is_ws(b)) else {
        return Sniff::NotThis;
    };
    let (target, version) = rest.split_at(sp);
    let target = trim_ws(target);
    let version = version.get(1..).unwrap_or_default();
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return Sniff::NotThis,
    };
    if target.is_empty() || target.iter().any(|&b| b <= 0x20 || b == 0x7f) {
        return Sniff::NotThis;
    }
    // The header block starts after the request line's LF (CR LF or a bare LF).
    let line_end = buf
        .iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| i + 1);
    let headers = buf.get(line_end..).unwrap_or_default();
    let host = if method == b"CONNECT" {
        Some(target)
    } else {
        match header(headers, b"host") {
            Some(h) => Some(h),
            // Wait for the rest of the header block, within bounds.
            None if !input.complete && !has_end(headers) && headers.len() < MAX_HEADERS => {
                return Sniff::NeedMore
            }
            None => None,
        }
    };
    Sniff::Match(Meta {
        host,
        method: Some(method),
        version: Some(0x0100 | minor),
        ..Meta::default()
    })
}

/// Shortest request-target taken as a request line too long to read whole.
const MIN_LONG_TARGET: usize = 4096;

/// A request line with no end within [`MAX_REQUEST_LINE`] bytes or the
/// sample: RFC 9112 section 3 has servers accept request lines of 8000
/// octets and more, and clients send longer URLs (long query strings; CPython
/// requests with a 10 kB query was recorded). Named when the method is
/// followed by at least [`MIN_LONG_TARGET`] bytes of one origin-form
/// (`/...`) or absolute-form (`http://`, `https://`) target, every byte a
/// visible ASCII character (and, when the bytes reach past it, the start of
/// ` HTTP/1.x`); no version or Host is reported.
fn long_request<'a>(method: &'a [u8], buf: &'a [u8]) -> Sniff<Meta<'a>> {
    let window = buf.get(..MAX_REQUEST_LINE).unwrap_or(buf);
    let rest = window.get(method.len() + 1..).unwrap_or_default();
    let rest = rest.get(rest.iter().take_while(|&&b| is_ws(b)).count()..);
    let rest = rest.unwrap_or_default();
    // The window may end inside the version after the target.
    let (target, tail) = match rest.iter().position(|&b| is_ws(b)) {
        Some(sp) => (rest.get(..sp).unwrap_or(rest), rest.get(sp + 1..)),
        None => (rest, None),
    };
    let tail = tail.map(|t| t.strip_suffix(b"\r").unwrap_or(t));
    if tail.is_some_and(|t| !b"HTTP/1.1".starts_with(t) && !b"HTTP/1.0".starts_with(t)) {
        return Sniff::NotThis;
    }
    let form = target.first() == Some(&b'/')
        || prefix_ci(target, b"http://") == Some(true)
        || prefix_ci(target, b"https://") == Some(true);
    if !form || target.len() < MIN_LONG_TARGET || !target.iter().all(|&b| (0x21..0x7f).contains(&b))
    {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        method: Some(method),
        ..Meta::default()
    })
}

/// Most CR and LF bytes read before a request line.
const MAX_LEADING_EOL: usize = 8;

/// `buf` after the empty lines a client sent before its request line,
/// which RFC 9112 section 2.2 tells servers to ignore (at least one CRLF;
/// a client that ends a previous body with an extra CRLF sends them).
/// `None` while `buf` holds only such line ends. More of them than
/// [`MAX_LEADING_EOL`], or a CR not ending a line, leave `buf` as it is, so
/// the method check rules it out.
fn skip_empty_lines(buf: &[u8]) -> Option<&[u8]> {
    let n = buf
        .iter()
        .take(MAX_LEADING_EOL + 1)
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if n == 0 || n > MAX_LEADING_EOL {
        return Some(buf);
    }
    match buf.get(n..) {
        Some([]) | None => None,
        Some(rest) if buf.get(n - 1) == Some(&b'\n') => Some(rest),
        Some(_) => Some(buf),
    }
}

/// The separator of a request line's parts. RFC 9112 also lets a server
/// split on tabs; nginx does not, so neither does this detector.
fn is_ws(b: u8) -> bool {
    b == b' '
}

/// `b` without leading and trailing spaces.
fn trim_ws(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_ws(c)).map_or(start, |i| i + 1);
    b.get(start..end).unwrap_or_default()
}

fn has_end(headers: &[u8]) -> bool {
    headers.starts_with(b"\r\n")
        || headers.starts_with(b"\n")
        || headers.windows(2).any(|w| w == b"\n\n")
        || headers.windows(3).any(|w| w == b"\n\r\n")
}

/// The longest method in [`METHODS`] (`UPDATEREDIRECTREF`), plus its space.
const MAX_METHOD: usize = 18;

/// The request's method, borrowed from `buf`: a token from [`METHODS`]
/// followed by one space. One scan for the space, then one comparison.
fn method_token(buf: &[u8]) -> Sniff<&[u8]> {
    let window = buf.get(..buf.len().min(MAX_METHOD)).unwrap_or(buf);
    match window.iter().position(|&b| b == b' ') {
        Some(sp) => {
            let token = window.get(..sp).unwrap_or_default();
            if METHODS.contains(&token) {
                Sniff::Match(token)
            } else {
                Sniff::NotThis
            }
        }
        // No space yet: wait only while the bytes can still become a method.
        None if buf.len() < MAX_METHOD && METHODS.iter().any(|m| m.starts_with(buf)) => {
            Sniff::NeedMore
        }
        None => Sniff::NotThis,
    }
}

/// The value of header `name` (lowercase) in a header block, trimmed.
fn header<'a>(block: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let (k, v) = line.split_at(colon);
        if k.eq_ignore_ascii_case(name) {
            return Some(v.get(1..)?.trim_ascii());
        }
    }
    None
}

/// `HTTP/1.x NNN ` from a responder whose request was not seen.
fn response(buf: &[u8]) -> Sniff<Meta<'_>> {
    if buf.is_empty() {
        return Sniff::NeedMore;
    }
    match prefix_ci(buf, b"HTTP/1.") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let Some(head) = buf.get(..13) else {
        return Sniff::NeedMore;
    };
    let ok = matches!(head.get(7), Some(b'0' | b'1'))
        && head.get(8) == Some(&b' ')
        && head
            .get(9..12)
            .is_some_and(|c| c.iter().all(u8::is_ascii_digit))
        && matches!(head.get(12), Some(b' ' | b'\r'));
    if ok {
        Sniff::Match(Meta::default())
    } else {
        Sniff::NotThis
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
