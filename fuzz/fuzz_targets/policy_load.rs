//! The policy loader on arbitrary text: no panic, and a policy that loads
//! decides any flow without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::policy::{load_str, Facts, Subject};
use portcullis::sniff::{Proto, Transport};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = load_str(text, "fuzz.toml") {
        for (i, proto) in Proto::ALL.iter().enumerate() {
            let facts = Facts {
                subject: match i % 3 {
                    0 => Subject::Known(*proto),
                    1 => Subject::Unidentified,
                    _ => Subject::Undecided,
                },
                transport: if i % 2 == 0 {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                src: "198.18.1.2".parse().unwrap(),
                dst: "2001:db8::1".parse().unwrap(),
                dport: (i as u16).wrapping_mul(1499),
                iif: (i % 3) as u32,
                oif: (i % 2) as u32,
            };
            let d = p.decide(&facts);
            let _ = p.rule_name(d.rule);
        }
    }
});
