//! The stream proxy's divert rules (gateway mode, iptables backend).
//!
//! A TCP flow that a redirect rule could match is taken in by the stream
//! proxy at its SYN, before the handshake binds it to its destination:
//!
//! ```text
//! mangle PREROUTING, chain PORTCULLIS
//!   connmark == UPSTREAM          -> mark DIVERT, RETURN  replies to the proxy's own
//!                                                         connections (transparent source)
//!   new SYN, connmark 0, not to a local address, a divert rule's selectors
//!                                 -> connmark := PROXIED
//!   connmark == PROXIED [-i IF_k] -> TPROXY to 127.0.0.1 / ::1 port P+1+k (P for other
//!                                    interfaces), mark DIVERT
//! mangle OUTPUT, chain PORTCULLIS_OUT
//!   mark == UPSTREAM              -> CONNMARK --save-mark  (the proxy's sockets carry SO_MARK)
//! filter INPUT, chain PORTCULLIS_IN
//!   mark == DIVERT                -> ACCEPT  (transit flows, not the gateway's own)
//! policy routing: fwmark DIVERT/MASK -> table 4201: local 0.0.0.0/0 and ::/0 dev lo
//! ```
//!
//! Flows decided before the rules existed keep their path: only a new SYN
//! with no portcullis connmark is taken. One listener per input interface
//! named in the policy tells the proxy the flow's real input interface
//! (the kernel gives a TCP socket no such thing); flows from any other
//! interface match no `iif` selector, so they share one listener.
//!
//! Each table's chains are declared and filled in one `-restore --noflush`
//! transaction, so a reload that changes the divert set replaces it
//! without a gap; no divert rule at all removes every piece.

use super::iptables::{jump_args, run, without_existing_jumps, Family};
use super::{RulesError, MARK_MASK};
use crate::policy::divert::Divert;
use crate::policy::model::Cidr;

/// Connmark of a flow the proxy took (its client side).
pub const MARK_PROXIED: u32 = 0x0600_0000;
/// Packet mark that policy routing delivers locally.
pub const MARK_DIVERT: u32 = 0x0700_0000;
/// Socket mark (SO_MARK) of the proxy's own connections, saved to their
/// connmark so that their replies are delivered to the proxy.
pub const MARK_UPSTREAM: u32 = 0x0800_0000;
/// Policy routing table and rule preference of the divert route.
pub const ROUTE_TABLE: u32 = 4201;

const PRE: &str = "PORTCULLIS";
const OUT: &str = "PORTCULLIS_OUT";
const INP: &str = "PORTCULLIS_IN";

/// What the divert rules need to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivertPlan {
    /// The redirect rules' pre-payload selectors; empty: nothing is diverted.
    pub diverts: Vec<Divert>,
    /// The listener for interfaces the policy does not name.
    pub port: u16,
    /// Interfaces with a listener of their own: the k-th at `port + 1 + k`.
    pub iifs: Vec<String>,
}

impl DivertPlan {
    /// The listener port for flows arriving on `iif` (`None`: any other).
    pub fn port_of(&self, k: Option<usize>) -> u16 {
        match k {
            Some(k) => self.port.saturating_add(1).saturating_add(k as u16),
            None => self.port,
        }
    }
}

impl Family {
    fn ip(self) -> &'static str {
        match self {
            Family::V4 => "-4",
            Family::V6 => "-6",
        }
    }
    fn has(self, c: &Cidr) -> bool {
        c.addr.is_ipv4() == (self == Family::V4)
    }
    fn loopback(self) -> &'static str {
        match self {
            Family::V4 => "127.0.0.1",
            Family::V6 => "::1",
        }
    }
}

fn m(v: u32) -> String {
    format!("0x{v:08x}/0x{MARK_MASK:08x}")
}

/// Most destination port ranges one iptables multiport match takes (a
/// range counts twice).
const MULTIPORT_SLOTS: usize = 15;

/// The `--dports` groups of one divert (each fits one multiport match).
fn port_groups(d: &Divert) -> Vec<String> {
    if d.ports.is_empty() {
        return vec![String::new()];
    }
    let mut groups = Vec::new();
    let (mut cur, mut used) = (Vec::new(), 0);
    for r in &d.ports {
        let (text, cost) = if r.lo == r.hi {
            (r.lo.to_string(), 1)
        } else {
            (format!("{}:{}", r.lo, r.hi), 2)
        };
        if used + cost > MULTIPORT_SLOTS {
            groups.push(std::mem::take(&mut cur).join(","));
            used = 0;
        }
        cur.push(text);
        used += cost;
    }
    groups.push(cur.join(","));
    groups
        .into_iter()
        .map(|g| format!(" -m multiport --dports {g}"))
        .collect()
}

/// The selector combinations of one divert in one family (none when a
/// network list names only the other family).
fn selectors(d: &Divert, fam: Family) -> Vec<String> {
    let nets = |list: &[Cidr], flag: &str| -> Option<Vec<String>> {
        if list.is_empty() {
            return Some(vec![String::new()]);
        }
        let v: Vec<String> = list
            .iter()
            .filter(|c| fam.has(c))
            .map(|c| format!(" {flag} {}/{}", c.addr, c.len))
            .collect();
        (!v.is_empty()).then_some(v)
    };
    let (Some(src), Some(dst)) = (nets(&d.src, "-s"), nets(&d.dst, "-d")) else {
        return Vec::new();
    };
    let iif: Vec<String> = if d.iif.is_empty() {
        vec![String::new()]
    } else {
        d.iif.iter().map(|i| format!(" -i {i}")).collect()
    };
    let ports = port_groups(d);
    let mut out = Vec::new();
    for i in &iif {
        for s in &src {
            for t in &dst {
                for p in &ports {
                    out.push(format!("{i}{s}{t}{p}"));
                }
            }
        }
    }
    out
}

/// Most divert rules one family may expand to.
pub const MAX_RULES: usize = 4096;

/// The `-restore` text for one family; `None` when nothing is diverted.
fn ruleset(plan: &DivertPlan, fam: Family) -> Result<Option<String>, RulesError> {
    let sels: Vec<(String, &str)> = plan
        .diverts
        .iter()
        .flat_map(|d| {
            selectors(d, fam)
                .into_iter()
                .map(move |s| (s, d.rule.as_str()))
        })
        .collect();
    if sels.len() > MAX_RULES {
        return Err(RulesError::Failed {
            cmd: format!("{} divert rules", fam.tool()),
            stderr: format!(
                "the redirect rules expand to {} divert rules (at most {MAX_RULES}); narrow their networks or ports",
                sels.len()
            ),
        });
    }
    if sels.is_empty() {
        return Ok(None);
    }
    let mut s = String::from("*mangle\n");
    s += &format!(":{PRE} - [0:0]\n:{OUT} - [0:0]\n");
    s += &format!(
        "-A {PRE} -m connmark --mark {} -j MARK --set-xmark {}\n",
        m(MARK_UPSTREAM),
        m(MARK_DIVERT)
    );
    s += &format!("-A {PRE} -m mark --mark {} -j RETURN\n", m(MARK_DIVERT));
    for (sel, rule) in &sels {
        let comment: String = rule
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.:".contains(*c))
            .take(64)
            .collect();
        s += &format!(
            "-A {PRE} -p tcp --tcp-flags SYN,ACK,FIN,RST SYN -m conntrack --ctstate NEW -m connmark --mark 0x0/0x{MARK_MASK:08x} -m addrtype ! --dst-type LOCAL{sel} -m comment --comment \"redirect:{comment}\" -j CONNMARK --set-xmark {}\n",
            m(MARK_PROXIED)
        );
    }
    for (k, iif) in plan.iifs.iter().enumerate() {
        s += &format!(
            "-A {PRE} -p tcp -i {iif} -m connmark --mark {} -j TPROXY --on-port {} --on-ip {} --tproxy-mark {}\n",
            m(MARK_PROXIED),
            plan.port_of(Some(k)),
            fam.loopback(),
            m(MARK_DIVERT)
        );
    }
    s += &format!(
        "-A {PRE} -p tcp -m connmark --mark {} -j TPROXY --on-port {} --on-ip {} --tproxy-mark {}\n",
        m(MARK_PROXIED),
        plan.port,
        fam.loopback(),
        m(MARK_DIVERT)
    );
    s += &format!(
        "-A {OUT} -m mark --mark {} -j CONNMARK --save-mark --nfmask 0x{MARK_MASK:08x} --ctmask 0x{MARK_MASK:08x}\n",
        m(MARK_UPSTREAM)
    );
    s += &format!("-I PREROUTING 1 -m comment --comment portcullis -j {PRE}\n");
    s += &format!("-I OUTPUT 1 -m comment --comment portcullis -j {OUT}\n");
    s += "COMMIT\n*filter\n";
    s += &format!(":{INP} - [0:0]\n");
    s += &format!("-A {INP} -m mark --mark {} -j ACCEPT\n", m(MARK_DIVERT));
    s += &format!("-I INPUT 1 -m comment --comment portcullis -j {INP}\n");
    s += "COMMIT\n";
    Ok(Some(s))
}

/// The jumps of the divert chains: (table, hook, chain).
const JUMPS: [(&str, &str, &str); 3] = [
    ("mangle", "PREROUTING", PRE),
    ("mangle", "OUTPUT", OUT),
    ("filter", "INPUT", INP),
];

fn route(fam: Family, add: bool) -> Result<(), RulesError> {
    let t = ROUTE_TABLE.to_string();
    let mark = format!("0x{MARK_DIVERT:08x}/0x{MARK_MASK:08x}");
    // Remove first (idempotent), so that a restart never stacks rules.
    for _ in 0..16 {
        if run("ip", &[fam.ip(), "rule", "del", "pref", &t], None).is_err() {
            break;
        }
    }
    let _ = run("ip", &[fam.ip(), "route", "flush", "table", &t], None);
    if add {
        let any = if fam == Family::V4 {
            "0.0.0.0/0"
        } else {
            "::/0"
        };
        run(
            "ip",
            &[
                fam.ip(),
                "rule",
                "add",
                "fwmark",
                &mark,
                "lookup",
                &t,
                "pref",
                &t,
            ],
            None,
        )?;
        run(
            "ip",
            &[
                fam.ip(),
                "route",
                "replace",
                "local",
                any,
                "dev",
                "lo",
                "table",
                &t,
            ],
            None,
        )?;
    }
    Ok(())
}

/// Installs the divert rules of `plan` (replacing the previous ones in one
/// transaction per family), or removes them all when it diverts nothing.
pub fn install(plan: &DivertPlan) -> Result<(), RulesError> {
    let texts = [
        (Family::V4, ruleset(plan, Family::V4)?),
        (Family::V6, ruleset(plan, Family::V6)?),
    ];
    if texts.iter().all(|(_, t)| t.is_none()) {
        return remove();
    }
    for (fam, text) in &texts {
        match text {
            Some(t) => {
                route(*fam, true)?;
                let full = without_existing_jumps(t, *fam);
                run(
                    &format!("{}-restore", fam.tool()),
                    &["-w", "--noflush"],
                    Some(&full),
                )?;
            }
            None => remove_family(*fam)?,
        }
    }
    Ok(())
}

fn remove_family(fam: Family) -> Result<(), RulesError> {
    for (table, hook, chain) in JUMPS {
        for _ in 0..64 {
            if run(fam.tool(), &jump_args(table, "-D", hook, chain), None).is_err() {
                break;
            }
        }
        let args = |op| ["-w", "-t", table, op, chain];
        if run(fam.tool(), &args("-S"), None).is_ok() {
            run(fam.tool(), &args("-F"), None)?;
            run(fam.tool(), &args("-X"), None)?;
        }
    }
    route(fam, false)
}

/// Removes every divert rule, chain and route. Idempotent.
pub fn remove() -> Result<(), RulesError> {
    remove_family(Family::V4)?;
    remove_family(Family::V6)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::model::PortRange;

    fn plan() -> DivertPlan {
        DivertPlan {
            diverts: vec![Divert {
                rule: "ssh honeypot".into(),
                ports: vec![
                    PortRange { lo: 443, hi: 443 },
                    PortRange { lo: 8000, hi: 8080 },
                ],
                src: vec![
                    Cidr::parse("198.18.1.0/24").unwrap(),
                    Cidr::parse("2001:db8:1::/48").unwrap(),
                ],
                dst: vec![],
                iif: vec!["lan0".into()],
            }],
            port: 4201,
            iifs: vec!["lan0".into(), "lan1".into()],
        }
    }

    #[test]
    fn divert_ruleset_takes_new_syns_by_selector_and_tproxies_by_connmark() {
        let v4 = ruleset(&plan(), Family::V4).unwrap().unwrap();
        assert!(v4.contains(" -i lan0 -s 198.18.1.0/24 -m multiport --dports 443,8000:8080 -m comment --comment \"redirect:sshhoneypot\" -j CONNMARK --set-xmark 0x06000000/0x0f000000\n"), "{v4}");
        assert!(v4.contains(
            "--ctstate NEW -m connmark --mark 0x0/0x0f000000 -m addrtype ! --dst-type LOCAL"
        ));
        assert!(v4.contains("-i lan0 -m connmark --mark 0x06000000/0x0f000000 -j TPROXY --on-port 4202 --on-ip 127.0.0.1"));
        assert!(v4
            .contains("-i lan1 -m connmark --mark 0x06000000/0x0f000000 -j TPROXY --on-port 4203"));
        assert!(v4.contains("-p tcp -m connmark --mark 0x06000000/0x0f000000 -j TPROXY --on-port 4201 --on-ip 127.0.0.1 --tproxy-mark 0x07000000/0x0f000000\n"));
        // The upstream replies are delivered before any flow is taken.
        let up = v4.find("0x08000000/0x0f000000 -j MARK").unwrap();
        let take = v4.find("CONNMARK --set-xmark").unwrap();
        assert!(up < take);
        assert!(v4.contains(
            "-A PORTCULLIS_OUT -m mark --mark 0x08000000/0x0f000000 -j CONNMARK --save-mark"
        ));
        assert!(v4.contains("-A PORTCULLIS_IN -m mark --mark 0x07000000/0x0f000000 -j ACCEPT"));
        let v6 = ruleset(&plan(), Family::V6).unwrap().unwrap();
        assert!(v6.contains("-s 2001:db8:1::/48") && !v6.contains("198.18"));
        assert!(v6.contains("--on-ip ::1"));
    }

    #[test]
    fn a_family_the_networks_exclude_gets_no_rules_and_big_port_lists_split() {
        let mut p = plan();
        p.diverts[0].src.truncate(1);
        assert!(ruleset(&p, Family::V6).unwrap().is_none());
        p.diverts[0].ports = (1..=20)
            .map(|n| PortRange {
                lo: n * 10,
                hi: n * 10,
            })
            .collect();
        let v4 = ruleset(&p, Family::V4).unwrap().unwrap();
        assert_eq!(v4.matches("--set-xmark 0x06000000").count(), 2);
        assert!(ruleset(
            &DivertPlan {
                diverts: vec![],
                ..plan()
            },
            Family::V4
        )
        .unwrap()
        .is_none());
    }
}
