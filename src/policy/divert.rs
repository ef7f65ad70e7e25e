//! Which TCP flows the stream proxy must take in, and what it cannot carry.
//!
//! A TCP flow's protocol is known only after its handshake, when the flow is
//! already bound to its destination; so a flow that may be redirected is
//! taken in by the stream proxy (`crate::proxy`) at its SYN. Which flows
//! "may be redirected" is known before their first byte from the selectors
//! of the redirect rules that do not need the bytes: transport, destination
//! port, source and destination networks, input interface. The answer over-
//! approximates (a rule earlier in the file may decide first); the proxy
//! judges every flow it takes with the whole policy, as the queue would.
//!
//! Pure: nothing here touches the system.

use super::catalogue;
use super::compile::{slot, Action, CRule, PortSel, Subject};
use super::model::{Cidr, PortRange};
use super::Policy;
use crate::sniff::{Proto, Transport};

/// The pre-payload selectors of one redirect rule, for the divert rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divert {
    /// The rule's name.
    pub rule: String,
    /// Destination port ranges, merged and sorted; empty: every port.
    pub ports: Vec<PortRange>,
    /// Source networks; empty: any.
    pub src: Vec<Cidr>,
    /// Destination networks; empty: any.
    pub dst: Vec<Cidr>,
    /// Input interface names; empty: any.
    pub iif: Vec<String>,
}

/// Whether a rule can match a UDP flow: its transport allows UDP and one
/// of its subjects can be seen on UDP (unidentified and undecided flows
/// can; a protocol can unless every detector that names it is TCP-only).
fn can_match_udp(r: &CRule) -> bool {
    if r.transport == Some(Transport::Tcp) {
        return false;
    }
    let udp_subject = |s: Subject| match s {
        Subject::Known(p) => proto_on_udp(p),
        _ => true,
    };
    subjects(r).any(udp_subject)
}

fn can_match_tcp(r: &CRule) -> bool {
    r.transport != Some(Transport::Udp)
}

fn proto_on_udp(p: Proto) -> bool {
    let mut named = false;
    for d in crate::sniff::FAMILIES.iter().flat_map(|f| f.iter()) {
        if d.proto == p {
            named = true;
            if d.udp {
                return true;
            }
        }
    }
    // Named by no detector of its own (mdns, llmnr come from the DNS
    // detector, on UDP): assume it can be UDP.
    !named
}

fn subjects(r: &CRule) -> impl Iterator<Item = Subject> + '_ {
    Proto::ALL
        .iter()
        .map(|&p| Subject::Known(p))
        .chain([Subject::Unidentified, Subject::Undecided])
        .filter(move |&s| r.subjects & (1u128 << slot(s)) != 0)
}

/// Merges overlapping or adjacent ranges (sorted by start).
fn merge(mut v: Vec<PortRange>) -> Vec<PortRange> {
    v.sort_by_key(|r| (r.lo, r.hi));
    let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(l) if u32::from(r.lo) <= u32::from(l.hi) + 1 => l.hi = l.hi.max(r.hi),
            _ => out.push(r),
        }
    }
    out
}

impl Policy {
    /// The redirect rules that can match TCP flows, as divert selectors
    /// (rules whose standard ports come to none on TCP are left out: they
    /// can never match a TCP flow). Empty when the policy redirects no TCP
    /// flow: then the proxy takes nothing.
    pub fn tcp_diverts(&self) -> Vec<Divert> {
        self.rules
            .iter()
            .filter(|r| r.action == Action::Redirect && can_match_tcp(r))
            .filter_map(|r| {
                let ports = match &r.ports {
                    PortSel::Any => Vec::new(),
                    PortSel::List(l) => merge(l.clone()),
                    PortSel::Standard => {
                        let v: Vec<PortRange> = catalogue::entries()
                            .iter()
                            .filter(|e| {
                                e.transport == Transport::Tcp
                                    && r.subjects & (1u128 << slot(Subject::Known(e.proto))) != 0
                            })
                            .map(|e| PortRange {
                                lo: e.port,
                                hi: e.port,
                            })
                            .collect();
                        if v.is_empty() {
                            return None;
                        }
                        merge(v)
                    }
                };
                Some(Divert {
                    rule: r.name.clone(),
                    ports,
                    src: r.src.clone(),
                    dst: r.dst.clone(),
                    iif: r.iif_names.clone(),
                })
            })
            .collect()
    }

    /// Every input interface some rule names, with its index, sorted by
    /// name: the proxy listens once per interface so that a flow it takes
    /// is judged with its real input interface.
    pub fn iif_names(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self
            .rules
            .iter()
            .flat_map(|r| r.iif_names.iter().cloned().zip(r.iif.iter().copied()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Why the stream proxy could not carry out this policy's redirects
    /// as written: one line per problem, empty when it can. UDP flows are
    /// not redirected (their datagrams are judged after NAT has bound
    /// them), and the proxy takes flows before routing, so it cannot see
    /// the output interface a rule's `oif` would match on.
    pub fn redirect_problems(&self) -> Vec<String> {
        let redirects: Vec<&CRule> = self
            .rules
            .iter()
            .filter(|r| r.action == Action::Redirect)
            .collect();
        let mut out = Vec::new();
        for r in &redirects {
            if can_match_udp(r) {
                out.push(format!(
                    "rule {:?} redirects and can match UDP flows; redirect is carried out for TCP only (the stream proxy): add transport = \"tcp\"",
                    r.name
                ));
            }
        }
        if !redirects.is_empty() {
            for r in self
                .rules
                .iter()
                .filter(|r| !r.oif.is_empty() && can_match_tcp(r))
            {
                out.push(format!(
                    "rule {:?} selects by `oif`, which the stream proxy cannot see (it takes flows before routing); a policy that redirects TCP cannot use `oif` on TCP rules",
                    r.name
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn load(text: &str) -> Policy {
        crate::policy::load_str_with(text, "t.toml", &|n| match n {
            "lan0" => Some(7),
            "wan0" => Some(9),
            _ => None,
        })
        .unwrap()
    }

    const HEAD: &str = "version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n";

    #[test]
    fn diverts_follow_the_redirect_rules_pre_payload_selectors() {
        let p = load(&format!(
            "{HEAD}
[[rule]]
name = \"https\"
protocols = [\"tls\"]
ports = [443]
action = \"allow\"
[[rule]]
name = \"ssh-honeypot\"
protocols = [\"ssh\"]
ports = [443, 8000, \"8001-8080\", 8081]
src = [\"198.18.1.0/24\", \"2001:db8:1::/48\"]
iif = [\"lan0\"]
action = \"redirect\"
redirect = \"198.18.2.9:2222\"
[[rule]]
name = \"mail-sink\"
protocols = [\"smtp\"]
ports = \"standard\"
transport = \"tcp\"
action = \"redirect\"
redirect = \"198.18.2.9:25\"
"
        ));
        let d = p.tcp_diverts();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].rule, "ssh-honeypot");
        assert_eq!(
            d[0].ports,
            vec![
                PortRange { lo: 443, hi: 443 },
                PortRange { lo: 8000, hi: 8081 }
            ]
        );
        assert_eq!(d[0].src.len(), 2);
        assert_eq!(d[0].iif, vec!["lan0".to_string()]);
        assert!(d[1].ports.iter().any(|r| r.lo <= 25 && 25 <= r.hi));
        assert!(d[1].ports.iter().all(|r| r.lo == r.hi));
        assert_eq!(p.iif_names(), vec![("lan0".to_string(), 7)]);
        assert!(
            p.redirect_problems().is_empty(),
            "{:?}",
            p.redirect_problems()
        );
    }

    #[test]
    fn udp_capable_redirects_and_oif_rules_are_problems() {
        let p = load(&format!(
            "{HEAD}
[[rule]]
name = \"dns-sink\"
protocols = [\"dns\"]
action = \"redirect\"
redirect = \"198.18.2.9:53\"
[[rule]]
name = \"unknown-sink\"
protocols = [\"unidentified\"]
transport = \"tcp\"
action = \"redirect\"
redirect = \"198.18.2.9:9\"
[[rule]]
name = \"out\"
protocols = [\"http\"]
oif = [\"wan0\"]
action = \"allow\"
"
        ));
        let probs = p.redirect_problems();
        assert_eq!(probs.len(), 2, "{probs:?}");
        assert!(probs[0].contains("dns-sink") && probs[0].contains("transport = \"tcp\""));
        assert!(probs[1].contains("\"out\"") && probs[1].contains("oif"));
        // ssh is named only by a TCP detector: no transport needed.
        let ssh = load(&format!(
            "{HEAD}
[[rule]]
name = \"s\"
protocols = [\"ssh\"]
action = \"redirect\"
redirect = \"198.18.2.9:22\"
"
        ));
        assert!(ssh.redirect_problems().is_empty());
        assert_eq!(ssh.tcp_diverts()[0].ports, Vec::new());
        // No redirect: no diverts, no problems, oif is fine.
        let plain = load(&format!(
            "{HEAD}
[[rule]]
name = \"out\"
protocols = [\"http\"]
oif = [\"wan0\"]
action = \"allow\"
"
        ));
        assert!(plain.tcp_diverts().is_empty() && plain.redirect_problems().is_empty());
    }
}
