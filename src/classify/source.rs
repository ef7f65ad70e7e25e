//! Reading frames from a pcap or pcapng file, one at a time, in bounded
//! memory.
//!
//! The format is told by the file's magic number. Frames come out with a
//! timestamp in nanoseconds, their link type and their captured bytes
//! (borrowed from the reader's fixed buffer). `pcap-file` is used for the
//! framing, with two corrections: pcap packets are read raw, because its
//! checked reader refuses every packet of a capture whose snap length is
//! below the original packet length (any `tcpdump -s 96` capture); and
//! pcapng timestamps are scaled by each interface's `if_tsresol` and
//! `if_tsoffset`, which its block reader does not apply.
//!
//! A damaged pcapng block is skipped and counted; damage that loses the
//! framing (a truncated last packet, a bad length) ends the read with an
//! error the caller reports alongside the flows read so far.

use super::ClassifyError;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{Endianness, PcapError, TsResolution};
use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The frame's link type (LINKTYPE_*).
    pub linktype: u32,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// Captured bytes (at most the snap length).
    pub data: &'a [u8],
}

/// A reader that counts the bytes it has read (for the progress bar).
struct Counting {
    inner: BufReader<Box<dyn Read>>,
    read: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// Per-interface facts of a pcapng section.
#[derive(Clone, Copy, Debug)]
struct Iface {
    linktype: u32,
    /// Timestamp units per second.
    units: u128,
    /// Seconds added to every timestamp.
    offset_s: u64,
}

enum Inner {
    Pcap {
        r: PcapReader<Counting>,
        linktype: u32,
        nanos: bool,
    },
    PcapNg {
        r: PcapNgReader<Counting>,
        ifaces: Vec<Iface>,
        last_ts: u64,
    },
}

/// An open capture file.
pub struct Capture {
    inner: Inner,
    read: Rc<Cell<u64>>,
    /// Size of the file in bytes.
    pub size: u64,
    /// pcapng blocks that could not be decoded and were skipped.
    pub bad_blocks: u64,
    path: String,
    /// The current pcapng frame (copied out of the reader: its block
    /// reader's borrow cannot be returned from a loop that skips blocks).
    frame: Vec<u8>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish()
    }
}

impl Capture {
    /// Opens a pcap or pcapng file.
    pub fn open(path: &Path) -> Result<Capture, ClassifyError> {
        let name = path.display().to_string();
        let io = |source| ClassifyError::Io {
            path: name.clone(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        Capture::from_reader(&name, size, Box::new(file))
    }

    /// Reads a capture from any reader (`name` is used in errors, `size`
    /// for progress).
    pub fn from_reader(name: &str, size: u64, r: Box<dyn Read>) -> Result<Capture, ClassifyError> {
        let name = name.to_string();
        let io = |source| ClassifyError::Io {
            path: name.clone(),
            source,
        };
        let mut buf = BufReader::with_capacity(1 << 16, r);
        let magic: [u8; 4] = buf
            .fill_buf()
            .map_err(io)?
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .ok_or_else(|| ClassifyError::Format {
                path: name.clone(),
                what: "shorter than a capture header".into(),
            })?;
        let read = Rc::new(Cell::new(0));
        let src = Counting {
            inner: buf,
            read: Rc::clone(&read),
        };
        let bad = |e: PcapError| ClassifyError::Format {
            path: name.clone(),
            what: e.to_string(),
        };
        let inner = match u32::from_be_bytes(magic) {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
                let r = PcapReader::new(src).map_err(bad)?;
                let h = r.header();
                Inner::Pcap {
                    // The upper bits of the field carry FCS information.
                    linktype: u32::from(h.datalink) & 0xffff,
                    nanos: h.ts_resolution == TsResolution::NanoSecond,
                    r,
                }
            }
            PCAPNG_SHB => Inner::PcapNg {
                r: PcapNgReader::new(src).map_err(bad)?,
                ifaces: Vec::new(),
                last_ts: 0,
            },
            m => {
                return Err(ClassifyError::Format {
                    path: name,
                    what: format!("magic number {m:#010x} is neither pcap nor pcapng"),
                })
            }
        };
        Ok(Capture {
            inner,
            read,
            size,
            bad_blocks: 0,
            path: name,
            frame: Vec::new(),
        })
    }

    /// Bytes of the file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    /// The next frame; `None` at the end of the file.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, ClassifyError>> {
        let Capture {
            inner,
            path,
            bad_blocks,
            frame,
            ..
        } = self;
        let damaged = |e: PcapError| ClassifyError::Damaged {
            path: path.clone(),
            what: e.to_string(),
        };
        match inner {
            Inner::Pcap { r, linktype, nanos } => {
                let linktype = *linktype;
                let nanos = *nanos;
                let p = match r.next_raw_packet()? {
                    Ok(p) => p,
                    Err(e) => return Some(Err(damaged(e))),
                };
                let frac = if nanos {
                    u64::from(p.ts_frac)
                } else {
                    u64::from(p.ts_frac).saturating_mul(1000)
                };
                let ts_ns = u64::from(p.ts_sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(frac);
                let data = match p.data {
                    std::borrow::Cow::Borrowed(d) => d,
                    // The raw reader always borrows; an owned buffer cannot
                    // outlive this call, so it is skipped rather than copied.
                    std::borrow::Cow::Owned(_) => &[],
                };
                Some(Ok(Frame {
                    ts_ns,
                    linktype,
                    orig_len: p.orig_len.max(p.incl_len),
                    data,
                }))
            }
            Inner::PcapNg { r, ifaces, last_ts } => loop {
                let endian = r.section().endianness;
                let raw = match r.next_raw_block()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(damaged(e))),
                };
                let ty = raw.type_;
                if ty == PCAPNG_SHB {
                    ifaces.clear();
                    continue;
                }
                if !matches!(ty, PCAPNG_IDB | PCAPNG_PB | PCAPNG_SPB | PCAPNG_EPB) {
                    continue;
                }
                let block = match endian {
                    Endianness::Big => raw.try_into_block::<byteorder_slice::BigEndian>(),
                    Endianness::Little => raw.try_into_block::<byteorder_slice::LittleEndian>(),
                };
                let Ok(block) = block else {
                    *bad_blocks += 1;
                    continue;
                };
                let (iface, raw_ts, orig_len, data) = match block {
                    Block::InterfaceDescription(idb) => {
                        ifaces.push(iface_of(&idb));
                        continue;
                    }
                    Block::EnhancedPacket(epb) => (
                        epb.interface_id as usize,
                        // pcap-file stores the raw units as if nanoseconds.
                        Some(epb.timestamp.as_nanos()),
                        epb.original_len,
                        epb.data,
                    ),
                    Block::Packet(pb) => (
                        usize::from(pb.interface_id),
                        Some(u128::from(pb.timestamp)),
                        pb.original_len,
                        pb.data,
                    ),
                    Block::SimplePacket(spb) => (0, None, spb.original_len, spb.data),
                    _ => continue,
                };
                let Some(&iface) = ifaces.get(iface) else {
                    *bad_blocks += 1;
                    continue;
                };
                let ts_ns = match raw_ts {
                    Some(units) => scale(units, iface),
                    None => *last_ts,
                };
                *last_ts = ts_ns;
                frame.clear();
                frame.extend_from_slice(&data);
                let orig_len = orig_len.max(u32::try_from(frame.len()).unwrap_or(u32::MAX));
                return Some(Ok(Frame {
                    ts_ns,
                    linktype: iface.linktype,
                    orig_len,
                    data: frame,
                }));
            },
        }
    }
}

/// Nanoseconds of a pcapng timestamp on `iface`.
fn scale(units: u128, iface: Iface) -> u64 {
    let ns = units.saturating_mul(1_000_000_000) / iface.units.max(1);
    let ns = ns.saturating_add(u128::from(iface.offset_s) * 1_000_000_000);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

fn iface_of(
    idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>,
) -> Iface {
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption as O;
    let mut units: u128 = 1_000_000;
    let mut offset_s = 0;
    for o in &idb.options {
        match *o {
            O::IfTsResol(v) => units = tsresol_units(v),
            O::IfTsOffset(s) => offset_s = s,
            _ => {}
        }
    }
    Iface {
        linktype: u32::from(idb.linktype) & 0xffff,
        units,
        offset_s,
    }
}

/// Units per second of an `if_tsresol` value: a power of 10, or of 2 when
/// the top bit is set.
pub(crate) fn tsresol_units(v: u8) -> u128 {
    let exp = u32::from(v & 0x7f);
    let units = if v & 0x80 != 0 {
        2u128.checked_pow(exp)
    } else {
        10u128.checked_pow(exp)
    };
    units.unwrap_or(u128::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol() {
        assert_eq!(tsresol_units(6), 1_000_000);
        assert_eq!(tsresol_units(9), 1_000_000_000);
        assert_eq!(tsresol_units(0x80 | 10), 1024);
        assert_eq!(tsresol_units(0), 1);
        // Absurd exponents saturate instead of overflowing.
        assert_eq!(tsresol_units(0x7f), u128::MAX);
        let i = Iface {
            linktype: 1,
            units: 1_000_000,
            offset_s: 0,
        };
        assert_eq!(scale(1_500_000, i), 1_500_000_000);
        let i = Iface { offset_s: 10, ..i };
        assert_eq!(scale(1, i), 10_000_001_000);
    }
}
