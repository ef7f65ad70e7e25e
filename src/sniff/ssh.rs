//! SSH: the identification string of RFC 4253 section 4.2, from either side.
//!
//! Either side's first bytes must be `SSH-<proto>-<software>`.

use super::cursor::{first_line, prefix};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The SSH detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Ssh,
    tcp: true,
    udp: false,
    detect,
}];

/// RFC 4253: the identification line is at most 255 bytes with CR LF.
const MAX_LINE: usize = 255;

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    match ident(input.client, input.complete) {
        Sniff::NeedMore if !input.server.is_empty() => server_ident(input.server, input.complete),
        other => other,
    }
}

/// One identification line at the start of `buf`.
fn ident(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    match prefix(buf, b"SSH-") {
        None => return Sniff::NeedMore,
        Some(false) => return Sniff::NotThis,
        Some(true) => {}
    }
    let line = match first_line(buf, MAX_LINE) {
        Ok(Some(line)) => line,
        Ok(None) if complete => buf,
        Ok(None) => return Sniff::NeedMore,
        Err(()) => return Sniff::NotThis,
    };
    parse(line)
}

/// `SSH-protoversion-softwareversion SP comments`.
fn parse(line: &[u8]) -> Sniff<Meta<'_>> {
    let rest = line.strip_prefix(b"SSH-").unwrap_or_default();
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return Sniff::NotThis;
    };
    let (version, software) = rest.split_at(dash);
    let software = software.get(1..).unwrap_or_default();
    let known = matches!(version, b"2.0" | b"1.99" | b"1.5" | b"1.3");
    // The version and software must be printable and the software must not
    // be empty; the comments after a space are not judged (RFC 4253 forbids
    // NULs there, but servers send them and SSH clients accept them).
    let software = software.split(|&b| b == b' ').next().unwrap_or_default();
    let printable = |s: &[u8]| s.iter().all(|&b| (0x21..0x7f).contains(&b));
    if !known || software.is_empty() || !printable(version) || !printable(software) {
        return Sniff::NotThis;
    }
    Sniff::Match(Meta {
        software: (!software.is_empty()).then_some(software),
        version: Some(if version == b"2.0" || version == b"1.99" {
            2
        } else {
            1
        }),
        ..Meta::default()
    })
}

/// Most bytes of other lines read before a server's identification line.
const MAX_PRE_LINES: usize = 4096;

/// The server's identification line, after any other lines RFC 4253
/// section 4.2 lets a server send first (a TCP wrapper's or an inetd
/// wrapper's notice; CR LF terminated text that does not begin `SSH-`).
///
/// Those lines are only looked through within the bytes already seen:
/// when they end without an identification line this is not SSH, never a
/// wait, because waiting on every text greeting would hold up SMTP, FTP,
/// POP3 and IMAP. The client's own identification line (sent at once by
/// real clients) still names SSH in that case.
fn server_ident(buf: &[u8], complete: bool) -> Sniff<Meta<'_>> {
    match ident(buf, complete) {
        Sniff::NotThis => {}
        other => return other,
    }
    let mut rest = buf;
    let mut read = 0usize;
    while read < MAX_PRE_LINES {
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return Sniff::NotThis;
        };
        let line = rest.get(..lf).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)) {
            return Sniff::NotThis;
        }
        rest = rest.get(lf + 1..).unwrap_or_default();
        read += lf + 1;
        match prefix(rest, b"SSH-") {
            Some(true) => return ident(rest, complete),
            // A line that may still become `SSH-`: the next segment tells.
            None if !rest.is_empty() && !complete => return Sniff::NeedMore,
            None => return Sniff::NotThis,
            Some(false) => {}
        }
    }
    Sniff::NotThis
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::sniff::Transport;

    fn input<'a>(client: &'a [u8], server: &'a [u8]) -> Input<'a> {
        Input {
            client,
            server,
            transport: Transport::Tcp,
            client_port: 40000,
            server_port: 22,
            complete: false,
        }
    }

    /// OpenSSH 9.2p1 (Debian 12) client and server banners, recorded by
    /// `testdata/capture.py`.
    const CLIENT: &[u8] = include_bytes!("testdata/tcp/ssh/openssh.client.bin");
    const SERVER: &[u8] = include_bytes!("testdata/tcp/ssh/openssh.server.bin");

    #[test]
    fn client_banner_every_prefix() {
        for n in 0..CLIENT.len() {
            let got = detect(&input(&CLIENT[..n], b""));
            assert!(!matches!(got, Sniff::NotThis), "prefix {n}: {got:?}");
        }
        match detect(&input(CLIENT, b"")) {
            Sniff::Match(m) => assert!(m.software.unwrap().starts_with(b"OpenSSH_")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn server_banner_alone() {
        assert!(matches!(detect(&input(b"", SERVER)), Sniff::Match(_)));
        assert_eq!(
            detect(&input(b"", b"220 mail.example ESMTP\r\n")),
            Sniff::NotThis
        );
    }

    /// A server whose identification line carries NUL padding in its
    /// comments (built from RFC 4253 section 4.2; some embedded servers
    /// pad this way) is still SSH.
    #[test]
    fn nul_bytes_in_comments_are_tolerated() {
        let mut line = b"SSH-1.99-Example_SSH-1.0 ".to_vec();
        line.extend_from_slice(&[0u8; 16]);
        line.extend_from_slice(b"\r\n");
        match detect(&input(b"", &line)) {
            Sniff::Match(m) => assert_eq!(m.software, Some(&b"Example_SSH-1.0"[..])),
            other => panic!("{other:?}"),
        }
        // But not in the software version itself, nor an empty one.
        assert_eq!(
            detect(&input(b"SSH-2.0-Op\0enSSH\r\n", b"")),
            Sniff::NotThis
        );
        assert_eq!(detect(&input(b"SSH-2.0- x\r\n", b"")), Sniff::NotThis);
    }

    /// RFC 4253 section 4.2: a server may send other lines before its
    /// identification line. Dropbear run by socat behind a wrapper that
    /// prints a notice first (recorded by `testdata/capture_m.py`).
    const NOTICE_SERVER: &[u8] = include_bytes!("testdata/tcp/ssh/dropbear-notice.server.bin");

    #[test]
    fn server_lines_before_the_identification_line() {
        assert!(!NOTICE_SERVER.starts_with(b"SSH-"));
        match detect(&input(b"", NOTICE_SERVER)) {
            Sniff::Match(m) => assert!(m.software.unwrap().starts_with(b"dropbear")),
            other => panic!("{other:?}"),
        }
        let built = b"Authorized use only.\r\n\r\nSSH-2.0-OpenSSH_9.2p1\r\n";
        assert!(matches!(detect(&input(b"", built)), Sniff::Match(_)));
        // The identification line still arriving after the notice: wait.
        let start = built.len() - b"SSH-2.0-OpenSSH_9.2p1\r\n".len();
        for n in start + 1..built.len() {
            assert_eq!(detect(&input(b"", &built[..n])), Sniff::NeedMore, "{n}");
        }
        // Text lines with no identification line after them are not SSH,
        // at once (a mail or FTP greeting must not wait on SSH).
        for other in [
            &b"220-mail.example ESMTP\r\n220 ready\r\n"[..],
            b"* OK IMAP4rev1 ready\r\n",
            b"Welcome\r\n",
            b"Welcome\r\nSSH-3.0-x\r\n",
            b"Welcome\x00\r\nSSH-2.0-x\r\n",
        ] {
            assert_eq!(detect(&input(b"", other)), Sniff::NotThis, "{other:?}");
        }
    }

    #[test]
    fn rejects_lookalikes() {
        for bad in [
            &b"SSH-3.0-x\r\n"[..],
            b"GET / HTTP/1.1\r\n",
            b"SSH-2.0\r\n",
            b"\x16\x03\x01\x02\x00\x01",
        ] {
            assert_eq!(detect(&input(bad, b"")), Sniff::NotThis, "{bad:?}");
        }
    }
}
