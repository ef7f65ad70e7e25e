//! The kernel's NFQUEUE over the netfilter netlink socket
//! ([`super::netlink`]): bind and configure a queue, receive queued packets
//! in batches, send verdicts.
//!
//! Syscalls per loop turn: one `poll` (skipped while the socket is known
//! to hold more), one `recvmmsg` that drains up to [`BATCH`] queued
//! packets, and one `sendto` carrying every verdict of the turn. Under load
//! the three are shared by all packets of the batch; at a light rate a
//! packet costs the same three as before, never a fourth. A held packet
//! costs its 4-byte id; payload bytes are copied into the flow's capped
//! sample, so no receive buffer is pinned.
//!
//! Message layouts are those of `linux/netfilter/nfnetlink_queue.h`.

pub use super::netlink::BATCH;
use super::netlink::{attrs, be32, begin, finish, poll, put_attr, walk, Socket};
use std::io;

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_MARK: u16 = 3;
const NFQA_IFINDEX_INDEV: u16 = 5;
const NFQA_IFINDEX_OUTDEV: u16 = 6;
const NFQA_PAYLOAD: u16 = 10;

const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_CFG_CMD_UNBIND: u8 = 2;
const NFQNL_COPY_PACKET: u8 = 2;
const NFQA_CFG_F_FAIL_OPEN: u32 = 1;

/// Receive slot per datagram: a 65,535-byte packet copy plus its netlink,
/// nfgenmsg and attribute headers (a few hundred bytes) fits with room.
const SLOT: usize = 68 * 1024;

/// Netfilter verdicts.
pub mod verdict {
    /// Drop the packet.
    pub const DROP: u32 = 0;
    /// Accept (ends this table's traversal).
    pub const ACCEPT: u32 = 1;
    /// Re-run the hook from the start, with the mark given.
    pub const REPEAT: u32 = 4;
}

/// One queued packet, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug)]
pub struct QueuedPacket<'a> {
    /// The kernel's packet id, for the verdict.
    pub id: u32,
    /// The packet from its IP header (up to the copy range).
    pub payload: &'a [u8],
    /// The packet mark when queued.
    pub mark: u32,
    /// Input interface index, 0 if none.
    pub indev: u32,
    /// Output interface index, 0 if none.
    pub outdev: u32,
}

/// Configuration of one queue.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// Queue number.
    pub num: u16,
    /// Bytes of each packet copied to userspace.
    pub copy_range: u32,
    /// Kernel queue length before overflow.
    pub max_len: u32,
    /// On overflow, accept instead of drop (NFQA_CFG_F_FAIL_OPEN).
    pub fail_open: bool,
    /// Socket receive buffer in bytes.
    pub rcvbuf: usize,
}

/// A bound NFQUEUE.
#[derive(Debug)]
pub struct NfQueue {
    sock: Socket,
    num: u16,
    tx: Vec<u8>,
    pending: usize,
}

impl NfQueue {
    /// Opens a netlink socket, binds queue `cfg.num` and configures it.
    pub fn open(cfg: QueueConfig) -> io::Result<NfQueue> {
        let mut q = NfQueue {
            sock: Socket::open(SLOT, cfg.rcvbuf)?,
            num: cfg.num,
            tx: Vec::with_capacity(64 * 1024),
            pending: 0,
        };
        q.config(|v| put_attr(v, NFQA_CFG_CMD, &[NFQNL_CFG_CMD_BIND, 0, 0, 0]))?;
        let mut params = cfg.copy_range.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_PACKET);
        q.config(|v| put_attr(v, NFQA_CFG_PARAMS, &params))?;
        q.config(|v| put_attr(v, NFQA_CFG_QUEUE_MAXLEN, &cfg.max_len.to_be_bytes()))?;
        let flags = if cfg.fail_open {
            NFQA_CFG_F_FAIL_OPEN
        } else {
            0
        };
        q.config(|v| {
            put_attr(v, NFQA_CFG_FLAGS, &flags.to_be_bytes());
            put_attr(v, NFQA_CFG_MASK, &NFQA_CFG_F_FAIL_OPEN.to_be_bytes());
        })?;
        Ok(q)
    }

    fn config(&mut self, attrs: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        self.sock
            .config(NFNL_SUBSYS_QUEUE, NFQNL_MSG_CONFIG, self.num, attrs)
    }

    /// The socket, for a caller that polls it with others.
    pub(super) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Whether the last drain filled every slot (more is likely waiting:
    /// no need to poll).
    pub fn more(&self) -> bool {
        self.sock.more()
    }

    /// Waits up to `timeout_ms` for packets (no wait while more is known
    /// to be waiting) and calls `f` for each one of up to [`BATCH`] queued
    /// packets, drained with one `recvmmsg`. Returns how many were
    /// delivered. `ENOBUFS` (the socket overflowed: the kernel dropped or,
    /// fail-open, accepted packets) is returned as an error for the caller
    /// to count; the socket stays usable.
    pub fn recv(
        &mut self,
        timeout_ms: i32,
        f: impl FnMut(&mut Verdicts<'_>, QueuedPacket<'_>),
    ) -> io::Result<usize> {
        if !self.sock.more() && !poll(&[&self.sock], timeout_ms)?[0] {
            return Ok(0);
        }
        self.recv_ready(f)
    }

    /// [`NfQueue::recv`] without the wait: the caller polled the socket.
    pub fn recv_ready(
        &mut self,
        mut f: impl FnMut(&mut Verdicts<'_>, QueuedPacket<'_>),
    ) -> io::Result<usize> {
        let n = self.sock.drain()?;
        let NfQueue {
            sock,
            tx,
            pending,
            num,
        } = self;
        let mut out = Verdicts {
            tx,
            pending,
            queue: *num,
        };
        let mut count = 0;
        for i in 0..n {
            parse_datagram(sock.datagram(i), |p| {
                count += 1;
                f(&mut out, p);
            });
        }
        Ok(count)
    }

    /// A verdict sink outside a receive callback (for timers).
    pub fn verdicts(&mut self) -> Verdicts<'_> {
        Verdicts {
            tx: &mut self.tx,
            pending: &mut self.pending,
            queue: self.num,
        }
    }

    /// Sends every batched verdict in one datagram.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let res = self.sock.send(&self.tx);
        self.tx.clear();
        self.pending = 0;
        res
    }

    /// Unbinds the queue (the kernel also does this when the socket closes).
    pub fn unbind(&mut self) -> io::Result<()> {
        let _ = self.flush();
        self.config(|v| put_attr(v, NFQA_CFG_CMD, &[NFQNL_CFG_CMD_UNBIND, 0, 0, 0]))
    }
}

/// Batches verdict messages for one `sendto`.
#[derive(Debug)]
pub struct Verdicts<'q> {
    tx: &'q mut Vec<u8>,
    pending: &'q mut usize,
    queue: u16,
}

impl Verdicts<'_> {
    /// Queues a verdict for packet `id`, optionally setting its mark.
    pub fn push(&mut self, id: u32, verdict: u32, mark: Option<u32>) {
        let start = begin(
            self.tx,
            NFNL_SUBSYS_QUEUE,
            NFQNL_MSG_VERDICT,
            0,
            0,
            self.queue,
        );
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&verdict.to_be_bytes());
        hdr[4..].copy_from_slice(&id.to_be_bytes());
        put_attr(self.tx, NFQA_VERDICT_HDR, &hdr);
        if let Some(m) = mark {
            put_attr(self.tx, NFQA_MARK, &m.to_be_bytes());
        }
        finish(self.tx, start);
        *self.pending += 1;
    }

    /// Verdicts batched and not yet sent.
    pub fn pending(&self) -> usize {
        *self.pending
    }
}

/// Parses an NFQNL_MSG_PACKET body (nfgenmsg + attributes).
fn packet(body: &[u8]) -> Option<QueuedPacket<'_>> {
    let mut p = QueuedPacket {
        id: 0,
        payload: &[],
        mark: 0,
        indev: 0,
        outdev: 0,
    };
    let mut have_id = false;
    attrs(body, |kind, data| {
        match kind {
            NFQA_PACKET_HDR => {
                p.id = be32(data, 0)?;
                have_id = true;
            }
            NFQA_MARK => p.mark = be32(data, 0)?,
            NFQA_IFINDEX_INDEV => p.indev = be32(data, 0)?,
            NFQA_IFINDEX_OUTDEV => p.outdev = be32(data, 0)?,
            NFQA_PAYLOAD => p.payload = data,
            _ => {}
        }
        Some(())
    })?;
    have_id.then_some(p)
}

/// Parses the netlink messages of one datagram as `recv` does; exposed for
/// the fuzz target and tests.
pub fn parse_datagram(buf: &[u8], mut f: impl FnMut(QueuedPacket<'_>)) {
    walk(buf, |kind, body| {
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET {
            if let Some(p) = packet(body) {
                f(p);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_message_round_trip() {
        let mut v = Vec::new();
        let start = begin(&mut v, NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET, 0, 0, 3);
        put_attr(&mut v, NFQA_PACKET_HDR, &[0, 0, 0, 42, 0x08, 0x00, 2, 0]);
        put_attr(&mut v, NFQA_MARK, &7u32.to_be_bytes());
        put_attr(&mut v, NFQA_PAYLOAD, b"\x45abc");
        finish(&mut v, start);
        let mut got = Vec::new();
        parse_datagram(&v, |p| got.push((p.id, p.mark, p.payload.to_vec())));
        assert_eq!(got, vec![(42, 7, b"\x45abc".to_vec())]);
    }

    #[test]
    fn malformed_is_skipped() {
        for n in 0..40 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37) as u8).collect();
            parse_datagram(&junk, |_| {});
        }
        let mut v = Vec::new();
        let start = begin(&mut v, NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET, 0, 0, 3);
        put_attr(&mut v, NFQA_PAYLOAD, b"x");
        finish(&mut v, start);
        // No packet header: not a packet.
        let mut n = 0;
        parse_datagram(&v, |_| n += 1);
        assert_eq!(n, 0);
    }
}
