//! Packet input from the kernel: the NFQUEUE and NFLOG netlink datagram
//! parsers and the IPv4/IPv6/TCP/UDP parser. Invariants: no panic; every payload
//! handed out is a sub-slice of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::datapath::nflog;
use portcullis::datapath::nfqueue::parse_datagram;
use portcullis::packet::parse;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr_range();
    let i = inner.as_ptr_range();
    inner.is_empty() || (o.start <= i.start && i.end <= o.end)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = parse(data) {
        assert!(inside(data, p.payload));
        assert_eq!(p.flags == 0 && p.seq == 0, p.flags == 0 && p.seq == 0);
        if p.transport == portcullis::sniff::Transport::Udp {
            assert_eq!((p.flags, p.seq), (0, 0));
        }
    }
    parse_datagram(data, |q| {
        assert!(inside(data, q.payload));
        if let Ok(p) = parse(q.payload) {
            assert!(inside(q.payload, p.payload));
        }
    });
    nflog::parse_datagram(data, |p| {
        assert!(inside(data, p));
        let _ = parse(p);
    });
});
