//! Classic BPF programs for `-m bpf`: "a TCP segment with no payload that
//! is not an opening SYN". Such segments (SYN-ACK, the handshake's ACK,
//! pure ACKs, window updates, empty keepalives, FIN/RST without data) are
//! let through in the kernel while a flow is undecided: they carry no bytes
//! to judge, and each would otherwise cost a queue round trip.
//!
//! Invariants: the programs only ever answer "no payload" when the IP and
//! TCP header lengths account for the whole packet. Anything they cannot
//! read with certainty (IPv6 extension headers, a zero IPv4 total length
//! from BIG TCP, a truncated header) answers "no match", so the packet is
//! queued as before: a wrong answer can only cost a round trip, never let a
//! payload byte past unjudged.
//!
//! A second pair answers "a TCP segment with no payload", whatever its
//! flags: with `--handshake log` the rule that copies opening SYNs to the
//! SYN log (iptables matches the flags) must not take a SYN that carries
//! data (TCP Fast Open), which has bytes to judge and is queued.
//!
//! The programs are written out as `(code, jt, jf, k)` tuples and rendered
//! in the `--bytecode` format of iptables' bpf match ("N,c t f k,...").

/// One cBPF instruction.
type Insn = (u16, u8, u8, u32);

// Opcodes used (linux/filter.h).
const LDX_B_MSH: u16 = 0xb1; // X = 4 * (P[k] & 0xf)
const LD_B_IND: u16 = 0x50; // A = P[X + k]
const LD_B_ABS: u16 = 0x30; // A = P[k]
const LD_H_ABS: u16 = 0x28; // A = P[k:2]
const LD_MEM: u16 = 0x60; // A = M[k]
const ST: u16 = 0x02; // M[k] = A
const AND_K: u16 = 0x54;
const RSH_K: u16 = 0x74;
const ADD_X: u16 = 0x0c;
const SUB_X: u16 = 0x1c;
const TAX: u16 = 0x07;
const JEQ_K: u16 = 0x15;
const RET_K: u16 = 0x06;

const SYN_ACK: u32 = 0x12;
const SYN: u32 = 0x02;

/// IPv4: TCP, payload length 0, and not SYN-without-ACK.
const V4: &[Insn] = &[
    (LDX_B_MSH, 0, 0, 0),   // 0: X = IHL * 4
    (LD_B_IND, 0, 0, 13),   // 1: A = TCP flags
    (AND_K, 0, 0, SYN_ACK), // 2
    (JEQ_K, 11, 0, SYN),    // 3: opening SYN -> no match (15)
    (LD_H_ABS, 0, 0, 2),    // 4: A = total length
    (ST, 0, 0, 0),          // 5: M[0] = total length
    (LD_B_IND, 0, 0, 12),   // 6: A = data offset byte
    (AND_K, 0, 0, 0xf0),    // 7
    (RSH_K, 0, 0, 2),       // 8: A = TCP header length
    (ADD_X, 0, 0, 0),       // 9: A = IP + TCP header length
    (TAX, 0, 0, 0),         // 10
    (LD_MEM, 0, 0, 0),      // 11: A = total length
    (SUB_X, 0, 0, 0),       // 12: A = payload length
    (JEQ_K, 0, 1, 0),       // 13
    (RET_K, 0, 0, 1),       // 14: match
    (RET_K, 0, 0, 0),       // 15: no match
];

/// IPv6 without extension headers: TCP, payload length 0, not an opening SYN.
const V6: &[Insn] = &[
    (LD_B_ABS, 0, 0, 6),    // 0: A = next header
    (JEQ_K, 0, 11, 6),      // 1: not TCP right after the header -> 13
    (LD_B_ABS, 0, 0, 53),   // 2: A = TCP flags
    (AND_K, 0, 0, SYN_ACK), // 3
    (JEQ_K, 8, 0, SYN),     // 4: opening SYN -> 13
    (LD_B_ABS, 0, 0, 52),   // 5: A = data offset byte
    (AND_K, 0, 0, 0xf0),    // 6
    (RSH_K, 0, 0, 2),       // 7: A = TCP header length
    (TAX, 0, 0, 0),         // 8
    (LD_H_ABS, 0, 0, 4),    // 9: A = payload length (after the fixed header)
    (SUB_X, 0, 0, 0),       // 10
    (JEQ_K, 0, 1, 0),       // 11
    (RET_K, 0, 0, 1),       // 12: match
    (RET_K, 0, 0, 0),       // 13: no match
];

/// IPv4: TCP with payload length 0, whatever its flags (for the SYN log
/// rule, whose flags are matched by iptables itself).
const V4_ANY: &[Insn] = &[
    (LDX_B_MSH, 0, 0, 0), // 0: X = IHL * 4
    (LD_H_ABS, 0, 0, 2),  // 1: A = total length
    (ST, 0, 0, 0),        // 2: M[0] = total length
    (LD_B_IND, 0, 0, 12), // 3: A = data offset byte
    (AND_K, 0, 0, 0xf0),  // 4
    (RSH_K, 0, 0, 2),     // 5: A = TCP header length
    (ADD_X, 0, 0, 0),     // 6: A = IP + TCP header length
    (TAX, 0, 0, 0),       // 7
    (LD_MEM, 0, 0, 0),    // 8: A = total length
    (SUB_X, 0, 0, 0),     // 9: A = payload length
    (JEQ_K, 0, 1, 0),     // 10
    (RET_K, 0, 0, 1),     // 11: match
    (RET_K, 0, 0, 0),     // 12: no match
];

/// IPv6 without extension headers: TCP with payload length 0, any flags.
const V6_ANY: &[Insn] = &[
    (LD_B_ABS, 0, 0, 6),  // 0: A = next header
    (JEQ_K, 0, 8, 6),     // 1: not TCP right after the header -> 10
    (LD_B_ABS, 0, 0, 52), // 2: A = data offset byte
    (AND_K, 0, 0, 0xf0),  // 3
    (RSH_K, 0, 0, 2),     // 4: A = TCP header length
    (TAX, 0, 0, 0),       // 5
    (LD_H_ABS, 0, 0, 4),  // 6: A = payload length (after the fixed header)
    (SUB_X, 0, 0, 0),     // 7
    (JEQ_K, 0, 1, 0),     // 8
    (RET_K, 0, 0, 1),     // 9: match
    (RET_K, 0, 0, 0),     // 10: no match
];

fn render(p: &[Insn]) -> String {
    let mut s = p.len().to_string();
    for (c, t, f, k) in p {
        s += &format!(",{c} {t} {f} {k}");
    }
    s
}

/// The `--bytecode` argument for IPv4.
pub fn empty_segment_v4() -> String {
    render(V4)
}

/// The `--bytecode` argument for IPv6.
pub fn empty_segment_v6() -> String {
    render(V6)
}

/// The `--bytecode` argument for IPv4 "no payload, any flags".
pub fn no_payload_v4() -> String {
    render(V4_ANY)
}

/// The `--bytecode` argument for IPv6 "no payload, any flags".
pub fn no_payload_v6() -> String {
    render(V6_ANY)
}

#[cfg(test)]
#[path = "bpf_tests.rs"]
mod tests;
