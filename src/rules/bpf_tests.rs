//! The programs run through a small cBPF interpreter (the subset they use,
//! with the kernel's rule that a load past the end rejects) over real
//! header layouts. The end-to-end tests check the kernel's side.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use super::*;

fn run(p: &[Insn], pkt: &[u8]) -> u32 {
    let (mut a, mut x, mut m) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    loop {
        let (c, jt, jf, k) = p[pc];
        pc += 1;
        let byte = |i: usize| pkt.get(i).copied().map(u32::from);
        match c {
            LDX_B_MSH => match byte(k as usize) {
                Some(b) => x = 4 * (b & 0xf),
                None => return 0,
            },
            LD_B_IND => match byte((x + k) as usize) {
                Some(b) => a = b,
                None => return 0,
            },
            LD_B_ABS => match byte(k as usize) {
                Some(b) => a = b,
                None => return 0,
            },
            LD_H_ABS => match (byte(k as usize), byte(k as usize + 1)) {
                (Some(h), Some(l)) => a = h << 8 | l,
                _ => return 0,
            },
            LD_MEM => a = m[k as usize],
            ST => m[k as usize] = a,
            AND_K => a &= k,
            RSH_K => a >>= k,
            ADD_X => a = a.wrapping_add(x),
            SUB_X => a = a.wrapping_sub(x),
            TAX => x = a,
            JEQ_K => pc += if a == k { jt as usize } else { jf as usize },
            RET_K => return k,
            _ => panic!("opcode {c:#x}"),
        }
    }
}

fn v4(flags: u8, opts: usize, payload: usize) -> Vec<u8> {
    let tcp = 20 + opts;
    let total = 20 + tcp + payload;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[9] = 6;
    p[20 + 12] = ((tcp / 4) as u8) << 4;
    p[20 + 13] = flags;
    p
}

fn v6(next: u8, flags: u8, opts: usize, payload: usize) -> Vec<u8> {
    let tcp = 20 + opts;
    let mut p = vec![0u8; 40 + tcp + payload];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((tcp + payload) as u16).to_be_bytes());
    p[6] = next;
    p[40 + 12] = ((tcp / 4) as u8) << 4;
    p[40 + 13] = flags;
    p
}

const S: u8 = 0x02;
const A: u8 = 0x10;
const F: u8 = 0x01;
const R: u8 = 0x04;
const P: u8 = 0x08;

#[test]
fn v4_empty_segments_match_and_payload_or_syn_never_does() {
    for opts in [0, 12, 40] {
        assert_eq!(run(V4, &v4(S | A, opts, 0)), 1, "syn-ack");
        assert_eq!(run(V4, &v4(A, opts, 0)), 1, "ack");
        assert_eq!(run(V4, &v4(F | A, opts, 0)), 1, "fin");
        assert_eq!(run(V4, &v4(R, opts, 0)), 1, "rst");
        assert_eq!(run(V4, &v4(S, opts, 0)), 0, "opening syn");
        assert_eq!(run(V4, &v4(S, opts, 5)), 0, "syn with data (TFO)");
        for n in [1, 2, 100, 1400] {
            assert_eq!(run(V4, &v4(P | A, opts, n)), 0, "{n} bytes");
            assert_eq!(run(V4, &v4(S | A, opts, n)), 0, "syn-ack with {n} bytes");
        }
    }
    // IP options move the TCP header.
    let mut p = v4(A, 0, 3);
    p.splice(20..20, [1u8; 8]);
    p[0] = 0x47;
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    assert_eq!(run(V4, &p), 0);
    // BIG TCP's zero total length, and truncated packets: no match.
    let mut big = v4(A, 0, 0);
    big[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(run(V4, &big), 0);
    assert_eq!(run(V4, &v4(A, 0, 0)[..30]), 0);
}

#[test]
fn v6_empty_segments_match_and_payload_ext_headers_or_syn_never_do() {
    for opts in [0, 12, 40] {
        assert_eq!(run(V6, &v6(6, S | A, opts, 0)), 1);
        assert_eq!(run(V6, &v6(6, A, opts, 0)), 1);
        assert_eq!(run(V6, &v6(6, S, opts, 0)), 0);
        assert_eq!(run(V6, &v6(6, A | P, opts, 1)), 0);
        assert_eq!(run(V6, &v6(6, A | P, opts, 1200)), 0);
        // Hop-by-hop or any extension header: queued, whatever follows.
        assert_eq!(run(V6, &v6(0, A, opts, 0)), 0);
        assert_eq!(run(V6, &v6(44, A, opts, 0)), 0);
    }
    assert_eq!(run(V6, &v6(6, A, 0, 0)[..45]), 0);
}

#[test]
fn no_payload_programs_match_every_empty_segment_and_nothing_with_bytes() {
    for opts in [0, 12, 40] {
        for flags in [S, S | A, A, F | A, R] {
            assert_eq!(run(V4_ANY, &v4(flags, opts, 0)), 1, "v4 {flags:#x}");
            assert_eq!(run(V6_ANY, &v6(6, flags, opts, 0)), 1, "v6 {flags:#x}");
            for n in [1, 2, 100, 1400] {
                assert_eq!(run(V4_ANY, &v4(flags, opts, n)), 0, "v4 {n} bytes");
                assert_eq!(run(V6_ANY, &v6(6, flags, opts, n)), 0, "v6 {n} bytes");
            }
        }
        assert_eq!(run(V6_ANY, &v6(0, S, opts, 0)), 0, "extension header");
    }
    let mut big = v4(S, 0, 0);
    big[2..4].copy_from_slice(&[0, 0]);
    assert_eq!(run(V4_ANY, &big), 0);
    assert_eq!(run(V4_ANY, &v4(S, 0, 0)[..30]), 0);
    assert_eq!(run(V6_ANY, &v6(6, S, 0, 0)[..45]), 0);
    assert!(no_payload_v4().starts_with("13,177 0 0 0,40 0 0 2,"));
    assert!(no_payload_v6().starts_with("11,48 0 0 6,"));
}

#[test]
fn bytecode_text() {
    let s = empty_segment_v4();
    assert!(s.starts_with("16,177 0 0 0,80 0 0 13,"));
    assert_eq!(s.split(',').count(), 17);
    assert!(empty_segment_v6().starts_with("14,48 0 0 6,"));
}
