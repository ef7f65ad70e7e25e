//! The one path to the kernel's NFQUEUE: a netlink socket, written by hand.
//!
//! Why not the `nfq` crate: it gives no file descriptor (so no poll with a
//! timeout, which the hold-time bound needs), and a held `nfq::Message`
//! pins its whole receive buffer (tens of KiB) until its verdict, which
//! would make memory grow with held packets. Here a held packet costs its
//! 4-byte id; payload bytes are copied into the flow's capped sample.
//!
//! Syscalls per loop turn: one `poll` (skipped while the socket is known
//! to hold more), one `recvmmsg` that drains up to [`BATCH`] queued
//! packets, and one `sendto` carrying every verdict of the turn. Under load
//! the three are shared by all packets of the batch; at a light rate a
//! packet costs the same three as before, never a fourth.
//!
//! Message layouts are those of `linux/netfilter/nfnetlink_queue.h`.
//! Every attribute is bounds-checked while walking; a malformed message is
//! skipped and counted, never trusted.
#![allow(
    unsafe_code,
    reason = "the netlink socket funnel: the only unsafe in portcullis"
)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_HDRLEN: usize = 16;
const NFGEN_HDRLEN: usize = 4;

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

/// Datagrams (queued packets) drained by one `recvmmsg`.
pub const BATCH: usize = 16;
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
    fd: OwnedFd,
    num: u16,
    rx: Vec<u8>,
    /// Length of the datagram in each receive slot after a `recvmmsg`.
    lens: [usize; BATCH],
    /// The last `recvmmsg` filled every slot: more is likely waiting, so
    /// the next turn skips `poll`.
    more: bool,
    tx: Vec<u8>,
    pending: usize,
    seq: u32,
}

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_ne_bytes());
}

fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_ne_bytes());
}

/// Appends an attribute with 4-byte padding.
fn put_attr(v: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(v, (4 + data.len()) as u16);
    put_u16(v, kind);
    v.extend_from_slice(data);
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

/// Starts a netlink + nfgenmsg header; the length is patched by `finish`.
fn begin(v: &mut Vec<u8>, msg: u16, flags: u16, seq: u32, queue: u16) -> usize {
    let start = v.len();
    put_u32(v, 0);
    put_u16(v, (NFNL_SUBSYS_QUEUE << 8) | msg);
    put_u16(v, NLM_F_REQUEST | flags);
    put_u32(v, seq);
    put_u32(v, 0);
    v.push(libc::AF_UNSPEC as u8);
    v.push(0); // NFNETLINK_V0
    v.extend_from_slice(&queue.to_be_bytes());
    start
}

fn finish(v: &mut [u8], start: usize) {
    let len = (v.len() - start) as u32;
    if let Some(dst) = v.get_mut(start..start + 4) {
        dst.copy_from_slice(&len.to_ne_bytes());
    }
}

fn ne16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn ne32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

impl NfQueue {
    /// Opens a netlink socket, binds queue `cfg.num` and configures it.
    pub fn open(cfg: QueueConfig) -> io::Result<NfQueue> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: `addr` is a valid sockaddr_nl and the length matches it.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut q = NfQueue {
            fd,
            num: cfg.num,
            rx: vec![0u8; BATCH * SLOT],
            lens: [0; BATCH],
            more: false,
            tx: Vec::with_capacity(64 * 1024),
            pending: 0,
            seq: 0,
        };
        q.set_rcvbuf(cfg.rcvbuf);
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

    fn set_rcvbuf(&self, bytes: usize) {
        let val = bytes.min(i32::MAX as usize) as libc::c_int;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // SAFETY: `val` outlives the call and the length matches its type.
            let rc = unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    &val as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as u32,
                )
            };
            if rc == 0 {
                return;
            }
        }
    }

    /// Sends one config message and waits for its acknowledgement.
    fn config(&mut self, attrs: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut v = Vec::with_capacity(64);
        let start = begin(&mut v, NFQNL_MSG_CONFIG, NLM_F_ACK, self.seq, self.num);
        attrs(&mut v);
        finish(&mut v, start);
        self.send(&v)?;
        loop {
            let n = self
                .recv_raw(1000)?
                .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no netlink ack"))?;
            let buf = self.rx.get(..n).unwrap_or_default();
            if let Some(res) = ack_of(buf, self.seq) {
                return res;
            }
        }
    }

    fn send(&self, v: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: `v` is a valid buffer of `v.len()` bytes; `addr` is a valid sockaddr_nl.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                v.as_ptr() as *const libc::c_void,
                v.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Waits up to `timeout_ms` for one datagram; `Ok(None)` on timeout.
    fn recv_raw(&mut self, timeout_ms: i32) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(e)
            };
        }
        if rc == 0 {
            return Ok(None);
        }
        // SAFETY: `rx` is a valid writable buffer of `rx.len()` bytes.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.rx.as_mut_ptr() as *mut libc::c_void,
                self.rx.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(n as usize))
    }

    /// Waits up to `timeout_ms` for a datagram (no wait while the previous
    /// drain filled every slot), then drains up to [`BATCH`] with one
    /// `recvmmsg`. Returns how many datagrams are in the slots.
    fn recv_batch(&mut self, timeout_ms: i32) -> io::Result<usize> {
        if !self.more {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted {
                    Ok(0)
                } else {
                    Err(e)
                };
            }
            if rc == 0 {
                return Ok(0);
            }
        }
        // SAFETY: iovec and mmsghdr are plain data; zeroed is valid.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let slots = self.rx.chunks_exact_mut(SLOT);
        for ((v, h), slot) in iov.iter_mut().zip(hdrs.iter_mut()).zip(slots) {
            v.iov_base = slot.as_mut_ptr() as *mut libc::c_void;
            v.iov_len = slot.len();
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs` holds BATCH valid headers, each pointing at one
        // iovec that covers a distinct SLOT-byte part of `rx` (or is empty);
        // both arrays and `rx` outlive the call; no timeout pointer.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.more = false;
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(0),
                _ => Err(e),
            };
        }
        let n = (n as usize).min(BATCH);
        self.more = n == BATCH;
        for (len, h) in self.lens.iter_mut().zip(hdrs.iter()).take(n) {
            // A truncated datagram (cannot happen with SLOT above the copy
            // range) is skipped rather than parsed in part.
            *len = if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                0
            } else {
                (h.msg_len as usize).min(SLOT)
            };
        }
        Ok(n)
    }

    /// Waits up to `timeout_ms` for packets and calls `f` for each one of
    /// up to [`BATCH`] queued packets, drained with one `recvmmsg`.
    /// Returns how many were delivered. `ENOBUFS` (the socket overflowed:
    /// the kernel dropped or, fail-open, accepted packets) is returned as an
    /// error for the caller to count; the socket stays usable.
    pub fn recv(
        &mut self,
        timeout_ms: i32,
        mut f: impl FnMut(&mut Verdicts<'_>, QueuedPacket<'_>),
    ) -> io::Result<usize> {
        let n = self.recv_batch(timeout_ms)?;
        let NfQueue {
            rx,
            lens,
            tx,
            pending,
            num,
            ..
        } = self;
        let mut out = Verdicts {
            tx,
            pending,
            queue: *num,
        };
        let mut count = 0;
        for (i, &len) in lens.iter().enumerate().take(n) {
            let buf = rx.get(i * SLOT..i * SLOT + len).unwrap_or_default();
            walk(buf, |kind, body| {
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET {
                    if let Some(p) = packet(body) {
                        count += 1;
                        f(&mut out, p);
                    }
                }
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
        let res = self.send(&self.tx);
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
        let start = begin(self.tx, NFQNL_MSG_VERDICT, 0, 0, self.queue);
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

/// Walks the netlink messages in a datagram: `f(type, body after nlmsghdr)`.
fn walk(mut buf: &[u8], mut f: impl FnMut(u16, &[u8])) {
    while buf.len() >= NLMSG_HDRLEN {
        let Some(len) = ne32(buf, 0).map(|l| l as usize) else {
            return;
        };
        if len < NLMSG_HDRLEN || len > buf.len() {
            return;
        }
        let kind = ne16(buf, 4).unwrap_or(0);
        if let Some(body) = buf.get(NLMSG_HDRLEN..len) {
            f(kind, body);
        }
        let next = (len + 3) & !3;
        buf = buf.get(next..).unwrap_or_default();
    }
}

/// The result of the ack for `seq` in a datagram, if it holds one.
fn ack_of(buf: &[u8], seq: u32) -> Option<io::Result<()>> {
    let mut res = None;
    let mut b = buf;
    while b.len() >= NLMSG_HDRLEN {
        let len = ne32(b, 0)? as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            break;
        }
        if ne16(b, 4)? == NLMSG_ERROR && ne32(b, 8)? == seq {
            let errno = ne32(b, NLMSG_HDRLEN)? as i32;
            res = Some(if errno == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(-errno))
            });
        }
        b = b.get((len + 3) & !3..).unwrap_or_default();
    }
    res
}

/// Parses an NFQNL_MSG_PACKET body (nfgenmsg + attributes).
fn packet(body: &[u8]) -> Option<QueuedPacket<'_>> {
    let mut attrs = body.get(NFGEN_HDRLEN..)?;
    let mut p = QueuedPacket {
        id: 0,
        payload: &[],
        mark: 0,
        indev: 0,
        outdev: 0,
    };
    let mut have_id = false;
    while attrs.len() >= 4 {
        let len = ne16(attrs, 0)? as usize;
        let kind = ne16(attrs, 2)? & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        let data = attrs.get(4..len)?;
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
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
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
        let start = begin(&mut v, NFQNL_MSG_PACKET, 0, 0, 3);
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
        let start = begin(&mut v, NFQNL_MSG_PACKET, 0, 0, 3);
        put_attr(&mut v, NFQA_PAYLOAD, b"x");
        finish(&mut v, start);
        // No packet header: not a packet.
        let mut n = 0;
        parse_datagram(&v, |_| n += 1);
        assert_eq!(n, 0);
    }
}
