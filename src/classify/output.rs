//! Flow records and how they are written: JSON lines, an aligned table,
//! and a progress bar for large files.

use serde::Serialize;
use std::io::{self, Write};

/// One flow of a capture, as printed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Record {
    /// The capture's file name (no directory).
    pub pcap: String,
    /// "tcp" or "udp".
    pub proto: &'static str,
    /// Initiator address.
    pub src: String,
    /// Initiator port.
    pub sport: u16,
    /// Responder address.
    pub dst: String,
    /// Responder port.
    pub dport: u16,
    /// Identified protocol, or "unknown".
    pub app_proto: &'static str,
    /// TLS/QUIC/DTLS server name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// First ALPN offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// HTTP Host or CONNECT target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// HTTP method or a protocol's first command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Software named in a banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Protocol version as the protocol encodes it (TLS 0x0303 is 771).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// For unknown flows: whether the bytes look encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// Why the flow was decided when it was (identified, unknown, a bound,
    /// closed, end-of-capture), or `no-payload`.
    pub reason: &'static str,
    /// The flow's start was not in the capture.
    pub midstream: bool,
    /// Packets of the flow, both directions.
    pub packets: u64,
    /// IP bytes of the flow, both directions.
    pub bytes: u64,
    /// First packet (RFC 3339).
    pub start: String,
    /// Last packet (RFC 3339).
    pub end: String,
    /// How the flow's record came to be written (fin, rst, idle, evicted, eof).
    pub ended: &'static str,
    /// The tunnel the flow was found in (gre, ipip, vxlan, geneve, teredo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<&'static str>,
    /// With a policy: allow, alert, drop, reject; `pass` for a flow without
    /// payload (the datapath lets its packets through undecided).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// What the policy said, when monitor mode softened it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_action: Option<&'static str>,
    /// The rule or default that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// "T1571" when a known protocol was denied or alerted on its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitre_technique: Option<&'static str>,
}

impl Record {
    /// The most telling metadata, for the table's last column.
    fn detail(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("sni", &self.sni),
            ("alpn", &self.alpn),
            ("host", &self.host),
            ("method", &self.method),
            ("software", &self.software),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", v.escape_debug()));
            }
        }
        if self.encrypted == Some(true) {
            parts.push("encrypted".into());
        }
        if self.midstream {
            parts.push("midstream".into());
        }
        if let Some(t) = self.tunnel {
            parts.push(format!("in {t}"));
        }
        if let Some(m) = self.mitre_technique {
            parts.push(m.into());
        }
        parts.join(" ")
    }
}

/// Writes records as JSON lines.
pub fn write_json(w: &mut impl Write, r: &Record) -> io::Result<()> {
    serde_json::to_writer(&mut *w, r)?;
    w.write_all(b"\n")
}

/// Writes records as an aligned table. Rows are buffered in small batches
/// so column widths fit what was seen; widths only grow.
#[derive(Debug)]
pub struct TableWriter {
    with_policy: bool,
    widths: Vec<usize>,
    rows: Vec<Vec<String>>,
    header_done: bool,
}

const BATCH: usize = 256;

impl TableWriter {
    /// A table; `with_policy` adds the action and rule columns.
    pub fn new(with_policy: bool) -> Self {
        TableWriter {
            with_policy,
            widths: Vec::new(),
            rows: Vec::new(),
            header_done: false,
        }
    }

    fn header(&self) -> Vec<String> {
        let mut h = vec![
            "proto",
            "src",
            "dst",
            "app_proto",
            "reason",
            "pkts",
            "bytes",
        ];
        if self.with_policy {
            h.extend(["action", "rule"]);
        }
        h.push("detail");
        h.into_iter().map(String::from).collect()
    }

    /// Adds a record; prints a batch when it is full.
    pub fn push(&mut self, w: &mut impl Write, r: &Record) -> io::Result<()> {
        let ep = |ip: &str, port: u16| {
            if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            }
        };
        let mut row = vec![
            r.proto.to_string(),
            ep(&r.src, r.sport),
            ep(&r.dst, r.dport),
            r.app_proto.to_string(),
            r.reason.to_string(),
            r.packets.to_string(),
            r.bytes.to_string(),
        ];
        if self.with_policy {
            row.push(r.action.unwrap_or("-").to_string());
            row.push(r.rule.clone().unwrap_or_else(|| "-".into()));
        }
        row.push(r.detail());
        self.rows.push(row);
        if self.rows.len() >= BATCH {
            self.flush(w)?;
        }
        Ok(())
    }

    /// Prints the buffered rows.
    pub fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        if !self.header_done {
            let h = self.header();
            self.rows.insert(0, h);
        }
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                let n = cell.chars().count();
                match self.widths.get_mut(i) {
                    Some(wd) => *wd = (*wd).max(n),
                    None => self.widths.push(n),
                }
            }
        }
        for row in self.rows.drain(..) {
            let last = row.len().saturating_sub(1);
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i == last {
                    line.push_str(cell);
                } else {
                    let wd = self.widths.get(i).copied().unwrap_or(0);
                    line.push_str(&format!("{cell:<wd$}  "));
                }
            }
            writeln!(w, "{}", line.trim_end())?;
        }
        self.header_done = true;
        Ok(())
    }
}

/// A one-line progress bar on stderr: bytes read of the file's size.
#[derive(Debug)]
pub struct Progress {
    size: u64,
    last_permille: Option<u64>,
    shown: bool,
}

impl Progress {
    /// A bar for a file of `size` bytes.
    pub fn new(size: u64) -> Self {
        Progress {
            size,
            last_permille: None,
            shown: false,
        }
    }

    /// Redraws when a tenth of a percent more was read.
    pub fn update(&mut self, read: u64, flows: usize) {
        let permille = (read.min(self.size) * 1000) / self.size.max(1);
        if self.last_permille == Some(permille) {
            return;
        }
        self.last_permille = Some(permille);
        let width = 30u64;
        let fill = (permille * width / 1000) as usize;
        let bar = format!("{}{}", "#".repeat(fill), " ".repeat(width as usize - fill));
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        eprint!(
            "\r[{bar}] {:>5.1}%  {:.0}/{:.0} MiB  {flows} flows open ",
            permille as f64 / 10.0,
            mib(read),
            mib(self.size)
        );
        self.shown = true;
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if self.shown {
            eprint!("\r{:80}\r", "");
            self.shown = false;
        }
    }
}
