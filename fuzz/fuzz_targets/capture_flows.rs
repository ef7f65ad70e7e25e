//! Fuzzes the offline capture path end to end: pcap/pcapng framing
//! (`pcap-file` plus portcullis's corrections), link-layer decoding,
//! tunnels, packet parsing, the pending table and the flow tracker, through
//! `portcullis::classify::run_capture` on an in-memory capture.
//!
//! Input: raw capture bytes (a pcap or pcapng file). Seeds are small
//! captures of lab traffic written by `portcullis` tests' tools (see
//! README). Asserts, beyond "no panic":
//! - every TCP/UDP packet that parsed is counted in exactly one record or
//!   as a straggler of a closed flow (sum of `packets` + strays = packets);
//! - no more flows are open at once than the tracker's bound;
//! - records are well-formed: `app_proto` is "unknown" or a known name,
//!   and an identified flow has a decision reason other than "no-payload".

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::classify::tracker::Limits;
use portcullis::classify::{run_capture, source::Capture, Options};
use portcullis::flow::Bounds;

const MAX_FLOWS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(cap) = Capture::from_reader(
        "fuzz.pcap",
        data.len() as u64,
        Box::new(std::io::Cursor::new(data.to_vec())),
    ) else {
        return;
    };
    let opts = Options {
        path: "fuzz.pcap".into(),
        policy: Some(portcullis::policy::builtin()),
        bounds: Bounds {
            max_flows: 16,
            ..Bounds::default()
        },
        limits: Limits {
            max_flows: MAX_FLOWS,
            ..Limits::default()
        },
    };
    let mut packets = 0u64;
    let mut emit = |r: &portcullis::classify::output::Record| {
        packets += r.packets;
        assert!(
            r.app_proto == "unknown" || portcullis::sniff::Proto::from_name(r.app_proto).is_some()
        );
        if r.app_proto != "unknown" {
            assert_ne!(r.reason, "no-payload");
            assert!(r.encrypted.is_none());
        }
        assert!(r.action.is_some());
        Ok(())
    };
    let Ok(s) = run_capture(cap, &opts, &mut emit, &mut |_, _, _| {}) else {
        return;
    };
    assert_eq!(packets + s.strays, s.packets, "{s:?}");
    assert!(s.peak_flows <= MAX_FLOWS);
    assert!(s.flows >= 1 || s.packets == 0);
});
