//! The index against the definition: on random policies and flows,
//! `decide` (indexed) equals `decide_linear` (first match in file order).
//! Plus precedence with the interface and redirect selectors, and the
//! analysis warnings.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::analyse::{analyse, Warning};
use super::*;
use crate::sniff::{Proto, Transport};
use proptest::prelude::*;
use std::fmt::Write;
use std::net::IpAddr;

fn ifindex(n: &str) -> Option<u32> {
    match n {
        "lo" => Some(1),
        "g1" => Some(2),
        "g2" => Some(3),
        _ => None,
    }
}

/// Small value sets, so random rules and flows collide often.
const PROTOS: &[&str] = &[
    "tls",
    "http",
    "ssh",
    "dns",
    "smtp",
    "*",
    "unidentified",
    "undecided",
];
const PORTS: &[&str] = &[
    "22",
    "53",
    "80",
    "443",
    "\"400-500\"",
    "\"1-1024\"",
    "8080",
    "\"443-443\"",
];
const NETS: &[&str] = &[
    "198.18.0.0/15",
    "198.18.1.0/24",
    "198.18.2.2/32",
    "198.18.2.0/23",
    "2001:db8::/32",
    "2001:db8:2::/48",
    "0.0.0.0/0",
];
const IFS: &[&str] = &["lo", "g1", "g2"];
const ACTIONS: &[&str] = &["allow", "alert", "drop", "reject"];

fn pick<'a>(v: &[&'a str], bits: u32) -> Vec<&'a str> {
    v.iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| *s)
        .collect()
}

fn list(v: &[&str], quote: bool) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| {
            if quote {
                format!("{s:?}")
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// One random rule from a tuple of selector choices.
type RuleSeed = (u32, u8, u32, u8, u32, u32, u32, u32, u8);

fn rule_text(i: usize, s: RuleSeed) -> String {
    let (protos, transport, ports, ports_kind, src, dst, iif, oif, action) = s;
    let mut t = format!("[[rule]]\nname = \"r{i}\"\n");
    let mut p = pick(PROTOS, protos);
    if p.is_empty() {
        p.push("tls");
    }
    let named_only = p
        .iter()
        .all(|x| !matches!(*x, "unidentified" | "undecided"));
    writeln!(t, "protocols = {}", list(&p, true)).unwrap();
    match transport % 3 {
        1 => t.push_str("transport = \"tcp\"\n"),
        2 => t.push_str("transport = \"udp\"\n"),
        _ => {}
    }
    match ports_kind % 3 {
        1 if !pick(PORTS, ports).is_empty() => {
            writeln!(t, "ports = {}", list(&pick(PORTS, ports), false)).unwrap()
        }
        2 if named_only => t.push_str("ports = \"standard\"\n"),
        _ => {}
    }
    for (name, bits, vals) in [
        ("src", src, NETS),
        ("dst", dst, NETS),
        ("iif", iif, IFS),
        ("oif", oif, IFS),
    ] {
        let v = pick(vals, bits);
        if bits & 0x100 != 0 && !v.is_empty() {
            writeln!(t, "{name} = {}", list(&v, true)).unwrap();
        }
    }
    writeln!(
        t,
        "action = \"{}\"",
        ACTIONS[action as usize % ACTIONS.len()]
    )
    .unwrap();
    t
}

const ADDRS: &[&str] = &[
    "198.18.1.2",
    "198.18.2.2",
    "198.18.3.3",
    "203.0.113.9",
    "2001:db8:1::2",
    "2001:db8:2::2",
];

fn flow_strategy() -> impl Strategy<Value = Facts> {
    (
        0..Proto::ALL.len() + 2,
        any::<bool>(),
        prop_oneof![
            prop::sample::select(vec![
                22u16, 25, 53, 80, 443, 450, 500, 501, 1024, 8080, 0, 65535
            ]),
            any::<u16>()
        ],
        0..ADDRS.len(),
        0..ADDRS.len(),
        0u32..4,
        0u32..4,
    )
        .prop_map(|(s, udp, dport, a, b, iif, oif)| Facts {
            subject: match Proto::ALL.get(s) {
                Some(&p) => Subject::Known(p),
                None if s == Proto::ALL.len() => Subject::Unidentified,
                None => Subject::Undecided,
            },
            transport: if udp { Transport::Udp } else { Transport::Tcp },
            src: ADDRS[a].parse::<IpAddr>().unwrap(),
            dst: ADDRS[b].parse::<IpAddr>().unwrap(),
            dport,
            iif,
            oif,
        })
}

fn seed() -> impl Strategy<Value = RuleSeed> {
    (
        any::<u32>(),
        any::<u8>(),
        any::<u32>(),
        any::<u8>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
    )
}

fn policy_of(rules: &[RuleSeed]) -> Policy {
    let mut text = String::from("version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"drop\"\n");
    for (i, r) in rules.iter().enumerate() {
        text.push_str(&rule_text(i, *r));
    }
    load_str_with(&text, "random.toml", &ifindex).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Few rules: every selector kind mixed.
    #[test]
    fn index_equals_linear_scan(rules in prop::collection::vec(seed(), 0..24),
                                flows in prop::collection::vec(flow_strategy(), 1..64)) {
        let p = policy_of(&rules);
        for f in &flows {
            prop_assert_eq!(p.decide(f), p.decide_linear(f), "{:?}", f);
        }
    }

    /// Many rules: candidate lists long enough to be split by destination.
    #[test]
    fn index_equals_linear_scan_with_split_buckets(rules in prop::collection::vec(seed(), 40..120),
                                                   flows in prop::collection::vec(flow_strategy(), 1..64)) {
        let p = policy_of(&rules);
        for f in &flows {
            prop_assert_eq!(p.decide(f), p.decide_linear(f), "{:?}", f);
        }
    }
}

fn facts(p: Proto, port: u16, iif: u32, oif: u32) -> Facts {
    Facts {
        subject: Subject::Known(p),
        transport: Transport::Tcp,
        src: "198.18.1.2".parse().unwrap(),
        dst: "198.18.2.2".parse().unwrap(),
        dport: port,
        iif,
        oif,
    }
}

const IFACES: &str = r#"
version = 3
[defaults]
mismatch = "reject"
unidentified = "alert"
undecided = "alert"

[[rule]]
name = "ssh-from-g1-only"
protocols = ["ssh"]
ports = [22]
iif = ["g1"]
oif = ["g2"]
action = "allow"

[[rule]]
name = "web-sinkhole"
protocols = ["http"]
ports = [8080]
action = "redirect"
redirect = "[2001:db8:2::9]:80"

[[rule]]
name = "ssh-elsewhere"
protocols = ["ssh"]
action = "drop"
"#;

#[test]
fn interfaces_and_redirect_keep_first_match() {
    let p = load_str_with(IFACES, "if.toml", &ifindex).unwrap();
    let d = p.decide(&facts(Proto::Ssh, 22, 2, 3));
    assert_eq!(
        (p.rule_name(d.rule), d.action),
        ("ssh-from-g1-only", Action::Allow)
    );
    // Wrong input interface, or one the kernel did not give (0): no match.
    for (i, o) in [(3, 2), (0, 3), (2, 0)] {
        let d = p.decide(&facts(Proto::Ssh, 22, i, o));
        assert_eq!(
            (p.rule_name(d.rule), d.action),
            ("ssh-elsewhere", Action::Drop),
            "{i},{o}"
        );
    }
    let d = p.decide(&facts(Proto::Http, 8080, 2, 3));
    assert_eq!(d.action, Action::Redirect);
    assert_eq!(
        p.redirect_target(d.rule),
        Some("[2001:db8:2::9]:80".parse().unwrap())
    );
    assert_eq!(p.redirect_rules(), vec!["web-sinkhole"]);
    // Monitor mode softens redirect like any deny.
    let m = load_str_with(
        &IFACES.replace("version = 3", "version = 3\nmode = \"monitor\""),
        "m",
        &ifindex,
    )
    .unwrap();
    assert_eq!(
        m.decide(&facts(Proto::Http, 8080, 2, 3)).action,
        Action::Alert
    );
}

#[test]
fn analysis_finds_shadowed_dead_and_overlapping_rules() {
    let text = r#"
version = 1
[defaults]
mismatch = "reject"
unidentified = "alert"
undecided = "alert"
[[rule]]
name = "tls-any"
protocols = ["tls"]
action = "allow"
[[rule]]
name = "tls-443-lab"
protocols = ["tls"]
ports = [443]
dst = ["198.18.2.0/24"]
action = "drop"
[[rule]]
name = "ssh-over-udp"
protocols = ["ssh"]
transport = "udp"
ports = "standard"
action = "allow"
[[rule]]
name = "mixed-families"
protocols = ["http"]
src = ["198.18.1.0/24"]
dst = ["2001:db8::/32"]
action = "allow"
[[rule]]
name = "deny-low"
protocols = ["*"]
ports = ["1-1024"]
action = "reject"
[[rule]]
name = "http-80-from-lab"
protocols = ["http"]
ports = [80, 8080]
src = ["198.18.1.0/24"]
iif = ["g1"]
action = "allow"
"#;
    let p = load_str_with(text, "a.toml", &ifindex).unwrap();
    let w = analyse(&p);
    let has = |pred: &dyn Fn(&Warning) -> bool| w.iter().any(pred);
    assert!(
        has(&|x| matches!(x, Warning::Shadowed { rule: 2, by: 1, .. })),
        "{w:#?}"
    );
    assert!(
        has(&|x| matches!(x, Warning::NeverMatches { rule: 3, .. })),
        "{w:#?}"
    );
    assert!(
        has(&|x| matches!(x, Warning::NeverMatches { rule: 4, .. })),
        "{w:#?}"
    );
    assert!(
        has(&|x| matches!(
            x,
            Warning::Overlap {
                first: 1,
                second: 5,
                ..
            }
        )),
        "{w:#?}"
    );
    assert!(
        !has(&|x| matches!(x, Warning::Shadowed { rule: 6, .. })),
        "{w:#?}"
    );
    assert!(
        has(&|x| matches!(
            x,
            Warning::Overlap {
                first: 5,
                second: 6,
                ..
            }
        )),
        "{w:#?}"
    );
    // The built-in policy is clean.
    assert!(analyse(&builtin()).is_empty());
}
