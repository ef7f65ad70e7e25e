//! The SYN log: copies of opening SYNs that the rules send to an NFLOG
//! group instead of the queue (`--handshake log`).
//!
//! An opening SYN carries no bytes to judge; what the flow table needs
//! from it is the initiator's first sequence number (so a first payload
//! that arrives out of order is still reassembled from its start) and the
//! fact that the flow's start was seen. A queued SYN costs a round trip
//! through userspace and a reinjection, whose forwarding work (the
//! server's SYN-ACK included) then runs in the enforcer's context; a
//! logged SYN goes on in the kernel at once and userspace reads a copy of
//! its headers. The SYN happens an RTT before the flow's first payload, so
//! draining the log before the queue on every turn sees it first; a copy
//! lost to a full socket (counted) only makes that flow a mid-stream pickup.
//!
//! Message layouts are those of `linux/netfilter/nfnetlink_log.h`.

use super::netlink::{attrs, put_attr, walk, Socket};
use std::io;

const NFNL_SUBSYS_ULOG: u16 = 4;
const NFULNL_MSG_PACKET: u16 = 0;
const NFULNL_MSG_CONFIG: u16 = 1;

const NFULA_PAYLOAD: u16 = 9;

const NFULA_CFG_CMD: u16 = 1;
const NFULA_CFG_MODE: u16 = 2;
const NFULA_CFG_TIMEOUT: u16 = 4;
const NFULA_CFG_QTHRESH: u16 = 5;
const NFULNL_CFG_CMD_BIND: u8 = 1;
const NFULNL_CFG_CMD_UNBIND: u8 = 2;
const NFULNL_COPY_PACKET: u8 = 2;

/// Bytes of each SYN copied: an IPv6 header and a TCP header with the
/// most options (40 + 60).
pub const COPY_RANGE: u32 = 128;
/// Receive slot per datagram: one message (the rules log with
/// `--nflog-threshold 1`) with its headers.
const SLOT: usize = 1024;

/// A bound NFLOG group.
#[derive(Debug)]
pub struct NfLog {
    sock: Socket,
    group: u16,
}

impl NfLog {
    /// Binds log group `group`, copying [`COPY_RANGE`] bytes of each packet,
    /// one message per datagram, no flush delay.
    pub fn open(group: u16, rcvbuf: usize) -> io::Result<NfLog> {
        let mut l = NfLog {
            sock: Socket::open(SLOT, rcvbuf)?,
            group,
        };
        l.config(|v| put_attr(v, NFULA_CFG_CMD, &[NFULNL_CFG_CMD_BIND]))?;
        let mut mode = COPY_RANGE.to_be_bytes().to_vec();
        mode.extend_from_slice(&[NFULNL_COPY_PACKET, 0]);
        l.config(|v| put_attr(v, NFULA_CFG_MODE, &mode))?;
        l.config(|v| {
            put_attr(v, NFULA_CFG_QTHRESH, &1u32.to_be_bytes());
            put_attr(v, NFULA_CFG_TIMEOUT, &0u32.to_be_bytes());
        })?;
        Ok(l)
    }

    fn config(&mut self, attrs: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        self.sock
            .config(NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG, self.group, attrs)
    }

    /// The socket, for a caller that polls it with others.
    pub(super) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Reads what is waiting, without blocking, and calls `f` with each
    /// logged packet (from its IP header). Up to [`super::netlink::BATCH`]
    /// datagrams per call; returns how many packets were delivered.
    /// `ENOBUFS` (copies were lost) comes back as an error to count.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<usize> {
        let n = self.sock.drain()?;
        let mut count = 0;
        for i in 0..n {
            parse_datagram(self.sock.datagram(i), |p| {
                count += 1;
                f(p);
            });
        }
        Ok(count)
    }

    /// Unbinds the group (the kernel also does this when the socket closes).
    pub fn unbind(&mut self) -> io::Result<()> {
        self.config(|v| put_attr(v, NFULA_CFG_CMD, &[NFULNL_CFG_CMD_UNBIND]))
    }
}

/// Calls `f` with the packet of every NFULNL_MSG_PACKET in a datagram;
/// exposed for the fuzz target and tests.
pub fn parse_datagram(buf: &[u8], mut f: impl FnMut(&[u8])) {
    walk(buf, |kind, body| {
        if kind != (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET {
            return;
        }
        let mut payload = None;
        let ok = attrs(body, |k, data| {
            if k == NFULA_PAYLOAD {
                payload = Some(data);
            }
            Some(())
        });
        if let (Some(()), Some(p)) = (ok, payload) {
            f(p);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::netlink::{begin, finish};
    use super::*;

    fn message(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        let start = begin(&mut v, NFNL_SUBSYS_ULOG, NFULNL_MSG_PACKET, 0, 0, 7);
        for (k, d) in attrs {
            put_attr(&mut v, *k, d);
        }
        finish(&mut v, start);
        v
    }

    #[test]
    fn packet_message_yields_its_payload() {
        // NFULA_PACKET_HDR (1), NFULA_PREFIX (10), then the payload.
        let mut v = message(&[
            (1, &[0x08, 0x00, 2, 0]),
            (10, b"x\0"),
            (NFULA_PAYLOAD, b"\x45syn"),
        ]);
        v.extend(message(&[(NFULA_PAYLOAD, b"\x60syn6")]));
        let mut got = Vec::new();
        parse_datagram(&v, |p| got.push(p.to_vec()));
        assert_eq!(got, vec![b"\x45syn".to_vec(), b"\x60syn6".to_vec()]);
    }

    #[test]
    fn malformed_and_foreign_messages_are_skipped() {
        for n in 0..48 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 53 + 1) as u8).collect();
            parse_datagram(&junk, |_| {});
        }
        // No payload attribute: nothing.
        let mut n = 0;
        parse_datagram(&message(&[(1, &[0x08, 0x00, 2, 0])]), |_| n += 1);
        // A queue message (subsystem 3) is not a log message.
        let mut q = Vec::new();
        let start = begin(&mut q, 3, 0, 0, 0, 7);
        put_attr(&mut q, NFULA_PAYLOAD, b"\x45");
        finish(&mut q, start);
        parse_datagram(&q, |_| n += 1);
        // An attribute that overruns its message: the message is dropped.
        let mut bad = message(&[(NFULA_PAYLOAD, b"\x45abc")]);
        let at = bad.len() - 8;
        bad[at] = 0x40;
        parse_datagram(&bad, |_| n += 1);
        assert_eq!(n, 0);
    }
}
