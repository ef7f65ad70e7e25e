//! Flow events: one JSON object per line, EVE-like field names.
//!
//! An event is written for every decision that is not a plain allow (and
//! for every decision with `--log-all`). Events leave the packet path
//! through a bounded channel to a writer thread: a slow disk can make the
//! channel drop events (counted), never stall verdicts.
//!
//! The bound is a count of events in flight over a channel that grows in
//! small blocks, not an array allocated (and written) up front: a
//! preallocated `sync_channel(65_536)` of ~340-byte events kept 21 MB
//! resident in an idle daemon.

use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One flow decision.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FlowEvent {
    /// RFC 3339 UTC time with microseconds.
    pub timestamp: String,
    /// Always "flow".
    pub event_type: &'static str,
    /// Initiator address.
    pub src_ip: String,
    /// Initiator port.
    pub src_port: u16,
    /// Responder address.
    pub dest_ip: String,
    /// Responder port.
    pub dest_port: u16,
    /// "tcp" or "udp".
    pub proto: &'static str,
    /// Identified protocol, or "unknown".
    pub app_proto: String,
    /// What was done: allow, alert, drop, reject.
    pub action: &'static str,
    /// What the policy said, when it is not what was done (monitor mode
    /// softened it, or a redirect that could not be carried out became a
    /// reject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_action: Option<&'static str>,
    /// The rule or default that decided.
    pub rule: String,
    /// Why the flow was decided when it was (identified, unknown, a bound).
    pub reason: &'static str,
    /// The version of the policy that decided.
    pub policy_version: u64,
    /// "T1571" when a known protocol was denied or alerted on this port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitre_technique: Option<&'static str>,
    /// Unidentified bytes that look encrypted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// The flow's start was not seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub midstream: bool,
    /// TLS/QUIC server name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// First ALPN offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// HTTP Host or CONNECT target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Software named in a banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Where a redirected flow was sent (ADDRESS:PORT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// The flow was judged by the stream proxy, not in the queue.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub proxied: bool,
}

/// A policy load or reload: accepted or refused, and why.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PolicyEvent {
    /// RFC 3339 UTC time with microseconds.
    pub timestamp: String,
    /// Always "policy".
    pub event_type: &'static str,
    /// "accepted" or "refused".
    pub result: &'static str,
    /// What asked for it: start, signal, watch, api.
    pub trigger: &'static str,
    /// The policy file.
    pub file: String,
    /// The version the file carries, when it got far enough to tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The version in force after this event.
    pub running_version: u64,
    /// The key that signed the file, when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Anything written to the event log.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Event {
    /// A flow decision.
    Flow(FlowEvent),
    /// A policy load or reload.
    Policy(PolicyEvent),
}

/// Lossy text of a metadata field, capped at 256 bytes.
pub fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(b.get(..b.len().min(256)).unwrap_or(b)).into_owned())
}

/// RFC 3339 UTC timestamp of `t`, microsecond precision.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The sending side of the event channel.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: Option<(Sender<Event>, Arc<AtomicUsize>)>,
}

/// Events that may wait for the writer before new ones are dropped.
pub const IN_FLIGHT_MAX: usize = 65_536;

/// Events dropped because the writer fell behind.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

impl EventSink {
    /// A sink that discards everything.
    pub fn none() -> Self {
        EventSink { tx: None }
    }

    /// A sink whose events a writer thread writes to `out`, one per line.
    pub fn spawn(out: Box<dyn Write + Send>) -> (Self, std::thread::JoinHandle<()>) {
        let (tx, rx) = channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let waiting = Arc::clone(&in_flight);
        let handle = std::thread::spawn(move || write_loop(rx, &waiting, out));
        (
            EventSink {
                tx: Some((tx, in_flight)),
            },
            handle,
        )
    }

    /// Sends a flow event without blocking.
    pub fn emit(&self, e: FlowEvent) {
        self.send(Event::Flow(e));
    }

    /// Sends a policy event without blocking.
    pub fn emit_policy(&self, e: PolicyEvent) {
        self.send(Event::Policy(e));
    }

    fn send(&self, e: Event) {
        if let Some((tx, in_flight)) = &self.tx {
            if in_flight.fetch_add(1, Ordering::Relaxed) >= IN_FLIGHT_MAX {
                in_flight.fetch_sub(1, Ordering::Relaxed);
                DROPPED.fetch_add(1, Ordering::Relaxed);
            } else if tx.send(e).is_err() {
                // The writer is gone (shutdown): nothing will drain it.
                in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

fn write_loop(rx: Receiver<Event>, in_flight: &AtomicUsize, mut out: Box<dyn Write + Send>) {
    while let Ok(e) = rx.recv() {
        let mut next = Some(e);
        // Write what is queued, then flush when the channel is momentarily
        // empty, so events are seen promptly.
        while let Some(e) = next {
            in_flight.fetch_sub(1, Ordering::Relaxed);
            if let Ok(line) = serde_json::to_string(&e) {
                let _ = writeln!(out, "{line}");
            }
            next = rx.try_recv().ok();
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_796_300_000_123_456);
        assert_eq!(rfc3339(t), "2026-12-03T12:13:20.123456Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000000Z");
    }

    /// A writer that holds its first write until told to go on, and
    /// collects what it is given.
    struct Gate {
        go: std::sync::mpsc::Receiver<()>,
        opened: bool,
        out: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if !self.opened {
                let _ = self.go.recv();
                self.opened = true;
            }
            self.out.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn policy_event(n: u64) -> PolicyEvent {
        PolicyEvent {
            timestamp: rfc3339(UNIX_EPOCH),
            event_type: "policy",
            result: "accepted",
            trigger: "start",
            file: "p.toml".into(),
            version: Some(n),
            running_version: n,
            key_id: None,
            reason: None,
        }
    }

    #[test]
    fn a_stalled_writer_drops_past_the_bound_and_loses_nothing_before_it() {
        let (go, gate) = std::sync::mpsc::channel();
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = Gate {
            go: gate,
            opened: false,
            out: std::sync::Arc::clone(&out),
        };
        let before = DROPPED.load(Ordering::Relaxed);
        let (sink, handle) = EventSink::spawn(Box::new(writer));
        // The writer takes the first event and stalls on it; the bound
        // counts what waits behind it.
        let extra = 100;
        for n in 0..(IN_FLIGHT_MAX + extra) as u64 {
            sink.emit_policy(policy_event(n));
        }
        let dropped = DROPPED.load(Ordering::Relaxed) - before;
        assert!(
            (extra as u64 - 1..=extra as u64).contains(&dropped),
            "{dropped}"
        );
        go.send(()).unwrap();
        drop(sink);
        handle.join().unwrap();
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, (IN_FLIGHT_MAX + extra) as u64 - dropped);
        assert!(lines[0].contains(r#""version":0,"#), "{}", lines[0]);
        assert!(lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')));
    }
}
