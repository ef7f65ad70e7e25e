//! The netfilter netlink socket, written by hand: the funnel that both
//! the queue ([`super::nfqueue`]) and the SYN log ([`super::nflog`]) go
//! through, and the only place (with CPU pinning) where portcullis uses
//! `unsafe`.
//!
//! Why not the `nfq` crate: it gives no file descriptor (so no poll with a
//! timeout, which the hold-time bound needs), and a held `nfq::Message`
//! pins its whole receive buffer (tens of KiB) until its verdict.
//!
//! A [`Socket`] receives with `recvmmsg` into fixed slots of one buffer
//! allocated at open, so receiving never allocates. Message encoding and
//! decoding helpers follow `linux/netlink.h` and `linux/netfilter/nfnetlink.h`;
//! every attribute is bounds-checked while walking, and a malformed
//! message is skipped, never trusted.
#![allow(
    unsafe_code,
    reason = "the netlink socket funnel: the only unsafe of the datapath"
)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Netlink family of netfilter.
const NETLINK_NETFILTER: i32 = 12;
/// `NLM_F_REQUEST`.
pub(super) const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_ACK`.
pub(super) const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
/// Size of `struct nlmsghdr`.
pub(super) const NLMSG_HDRLEN: usize = 16;
/// Size of `struct nfgenmsg`.
pub(super) const NFGEN_HDRLEN: usize = 4;
/// Datagrams drained per `recvmmsg`.
pub const BATCH: usize = 16;

pub(super) fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_ne_bytes());
}

pub(super) fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_ne_bytes());
}

/// Appends an attribute with 4-byte padding.
pub(super) fn put_attr(v: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(v, (4 + data.len()) as u16);
    put_u16(v, kind);
    v.extend_from_slice(data);
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

/// Starts a netlink + nfgenmsg header for message `msg` of subsystem
/// `subsys` about resource `res_id` (a queue or log group); the length is
/// patched by [`finish`].
pub(super) fn begin(
    v: &mut Vec<u8>,
    subsys: u16,
    msg: u16,
    flags: u16,
    seq: u32,
    res_id: u16,
) -> usize {
    let start = v.len();
    put_u32(v, 0);
    put_u16(v, (subsys << 8) | msg);
    put_u16(v, NLM_F_REQUEST | flags);
    put_u32(v, seq);
    put_u32(v, 0);
    v.push(libc::AF_UNSPEC as u8);
    v.push(0); // NFNETLINK_V0
    v.extend_from_slice(&res_id.to_be_bytes());
    start
}

/// Patches the length of the message begun at `start`.
pub(super) fn finish(v: &mut [u8], start: usize) {
    let len = (v.len() - start) as u32;
    if let Some(dst) = v.get_mut(start..start + 4) {
        dst.copy_from_slice(&len.to_ne_bytes());
    }
}

pub(super) fn ne16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

pub(super) fn ne32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

pub(super) fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

/// Walks the netlink messages in a datagram: `f(type, body after nlmsghdr)`.
pub(super) fn walk(mut buf: &[u8], mut f: impl FnMut(u16, &[u8])) {
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

/// Walks the attributes of a netfilter message body (after its nfgenmsg):
/// `f(type, data)`. `None` if an attribute overruns the body.
pub(super) fn attrs<'a>(
    body: &'a [u8],
    mut f: impl FnMut(u16, &'a [u8]) -> Option<()>,
) -> Option<()> {
    let mut attrs = body.get(NFGEN_HDRLEN..)?;
    while attrs.len() >= 4 {
        let len = ne16(attrs, 0)? as usize;
        let kind = ne16(attrs, 2)? & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        f(kind, attrs.get(4..len)?)?;
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    Some(())
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

/// A netfilter netlink socket with a fixed receive buffer of [`BATCH`]
/// slots.
#[derive(Debug)]
pub(super) struct Socket {
    fd: OwnedFd,
    rx: Vec<u8>,
    slot: usize,
    /// Length of the datagram in each receive slot after a `recvmmsg`.
    lens: [usize; BATCH],
    /// The last `recvmmsg` filled every slot: more is likely waiting, so
    /// the next turn skips `poll`.
    more: bool,
    seq: u32,
}

impl Socket {
    /// Opens and binds a socket whose receive slots hold `slot` bytes each.
    pub(super) fn open(slot: usize, rcvbuf: usize) -> io::Result<Socket> {
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
        let s = Socket {
            fd,
            rx: vec![0u8; BATCH * slot],
            slot,
            lens: [0; BATCH],
            more: false,
            seq: 0,
        };
        s.set_rcvbuf(rcvbuf);
        Ok(s)
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

    /// Whether the last drain filled every slot (more is likely waiting).
    pub(super) fn more(&self) -> bool {
        self.more
    }

    /// Sends one config message (`msg` of `subsys` about `res_id`) and
    /// waits for its acknowledgement.
    pub(super) fn config(
        &mut self,
        subsys: u16,
        msg: u16,
        res_id: u16,
        attrs: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut v = Vec::with_capacity(64);
        let start = begin(&mut v, subsys, msg, NLM_F_ACK, self.seq, res_id);
        attrs(&mut v);
        finish(&mut v, start);
        self.send(&v)?;
        loop {
            let n = self
                .recv_one(1000)?
                .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "no netlink ack"))?;
            let buf = self.rx.get(..n).unwrap_or_default();
            if let Some(res) = ack_of(buf, self.seq) {
                return res;
            }
        }
    }

    /// Sends one datagram to the kernel.
    pub(super) fn send(&self, v: &[u8]) -> io::Result<()> {
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

    /// Waits up to `timeout_ms` for one datagram into the whole buffer;
    /// `Ok(None)` on timeout. For config acknowledgements.
    fn recv_one(&mut self, timeout_ms: i32) -> io::Result<Option<usize>> {
        if !poll(&[self], timeout_ms)?.first().copied().unwrap_or(false) {
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

    /// Drains up to [`BATCH`] datagrams with one non-blocking `recvmmsg`
    /// (the caller polled, or knows more is waiting). Returns how many are
    /// in the slots; `ENOBUFS` comes back as an error and the socket stays
    /// usable.
    pub(super) fn drain(&mut self) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain data; zeroed is valid.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let slots = self.rx.chunks_exact_mut(self.slot);
        for ((v, h), slot) in iov.iter_mut().zip(hdrs.iter_mut()).zip(slots) {
            v.iov_base = slot.as_mut_ptr() as *mut libc::c_void;
            v.iov_len = slot.len();
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs` holds BATCH valid headers, each pointing at one
        // iovec that covers a distinct slot of `rx` (or is empty); both
        // arrays and `rx` outlive the call; no timeout pointer.
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
            // A truncated datagram (cannot happen with a slot above the
            // copy range) is skipped rather than parsed in part.
            *len = if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                0
            } else {
                (h.msg_len as usize).min(self.slot)
            };
        }
        Ok(n)
    }

    /// The datagram in slot `i` after [`Socket::drain`].
    pub(super) fn datagram(&self, i: usize) -> &[u8] {
        let len = self.lens.get(i).copied().unwrap_or(0);
        self.rx
            .get(i * self.slot..i * self.slot + len)
            .unwrap_or_default()
    }
}

/// Waits up to `timeout_ms` until one of `socks` is readable; which ones
/// are. An interrupted wait reports none.
pub(super) fn poll(socks: &[&Socket], timeout_ms: i32) -> io::Result<[bool; 2]> {
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: libc::POLLIN,
        revents: 0,
    }; 2];
    for (p, s) in pfds.iter_mut().zip(socks) {
        p.fd = s.fd.as_raw_fd();
    }
    let n = socks.len().min(2);
    // SAFETY: `pfds` holds `n` valid pollfds (n <= 2).
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), n as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok([false; 2])
        } else {
            Err(e)
        };
    }
    let ready = |p: &libc::pollfd| p.revents & (libc::POLLIN | libc::POLLERR) != 0;
    Ok([ready(&pfds[0]), n > 1 && ready(&pfds[1])])
}
