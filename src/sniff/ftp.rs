//! FTP control channel (RFC 959): a `220` greeting from the server,
//! settled against SMTP (which greets with `220` too) by the client's first
//! command or by the greeting naming FTP; see [`super::mail::smtp_or_ftp`].
//!
//! `USER`, `AUTH`, `FEAT`, `SYST`, `OPTS`, `HOST`... after a `220` greeting
//! is FTP; a greeting that says `FTP` (vsFTPd, ProFTPD, Pure-FTPd,
//! Microsoft FTP Service, FileZilla Server) is FTP while the client is
//! silent. A client seen alone matches only on `FEAT`, `SYST`, `OPTS`,
//! `HOST` or `CLNT`, which no other protocol sends first; on `USER` or
//! `AUTH` alone (FTP's and POP3's first command alike) it waits for the
//! server's greeting, which both protocols send first.

use super::mail::{smtp_or_ftp, Which};
use super::{Detector, Input, Meta, Proto, Sniff};

/// The FTP detector.
pub(crate) const DETECTORS: &[Detector] = &[Detector {
    proto: Proto::Ftp,
    tcp: true,
    udp: false,
    detect,
}];

fn detect<'a>(input: &Input<'a>) -> Sniff<Meta<'a>> {
    match smtp_or_ftp(input) {
        Sniff::Match((Which::Ftp, meta)) => Sniff::Match(meta),
        Sniff::Match(_) | Sniff::NotThis => Sniff::NotThis,
        Sniff::NeedMore => Sniff::NeedMore,
    }
}

#[cfg(test)]
#[path = "ftp_tests.rs"]
mod tests;
