//! A parsed policy compiled for lookup, and the decision function.
//!
//! [`Policy::decide`] is pure and does not allocate. Its answer is, by
//! definition, the first rule in file order whose every selector matches
//! ([`Policy::decide_linear`] is that definition, kept as the reference);
//! `decide` finds the same rule through an index ([`super::index`]) whose
//! cost does not grow with the rule count in the common case. A property
//! test holds the two equal.
//!
//! Interface names are resolved to indexes here, through a resolver the
//! caller passes (the shell reads the system; tests pass a table).

use super::catalogue;
use super::index::Index;
use super::model::{
    ActionName, Cidr, Mode, PolicyError, PolicyFile, PortRange, Ports, ProtoSel, TransportSel,
};
use crate::sniff::{Proto, Transport};
use std::net::{IpAddr, SocketAddr};

/// The verdict a decision carries to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Accept.
    Allow,
    /// Accept and emit an alert.
    Alert,
    /// Drop silently.
    Drop,
    /// Drop and reset / ICMP unreachable.
    Reject,
    /// Send to another endpoint. Carried out by the stream proxy
    /// (`crate::proxy`) for the TCP flows the rules divert to it; a flow
    /// decided `redirect` in the queue (not diverted) is rejected, never
    /// allowed.
    Redirect,
}

impl Action {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Alert => "alert",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::Redirect => "redirect",
        }
    }

    /// Whether the flow passes.
    pub fn passes(self) -> bool {
        matches!(self, Action::Allow | Action::Alert)
    }
}

impl From<ActionName> for Action {
    fn from(a: ActionName) -> Action {
        match a {
            ActionName::Allow => Action::Allow,
            ActionName::Alert => Action::Alert,
            ActionName::Drop => Action::Drop,
            ActionName::Reject => Action::Reject,
            ActionName::Redirect => Action::Redirect,
        }
    }
}

/// What a flow turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Identified from its bytes.
    Known(Proto),
    /// Its whole sample matched no protocol.
    Unidentified,
    /// A holding bound was hit before a decision.
    Undecided,
}

/// The facts a decision is made on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// Protocol, or why there is none.
    pub subject: Subject,
    /// TCP or UDP.
    pub transport: Transport,
    /// Initiator address.
    pub src: IpAddr,
    /// Responder address.
    pub dst: IpAddr,
    /// Responder port.
    pub dport: u16,
    /// Index of the interface the initiator's packets arrive on (0: none
    /// or unknown, which no `iif` selector matches).
    pub iif: u32,
    /// Index of the interface the initiator's packets leave by (0: none or
    /// unknown, which no `oif` selector matches).
    pub oif: u32,
}

/// Which part of the policy decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleRef {
    /// The rule at this index (0-based) matched.
    Rule(usize),
    /// No rule matched a known protocol: `defaults.mismatch`.
    DefaultMismatch,
    /// No rule matched an unidentified flow: `defaults.unidentified`.
    DefaultUnidentified,
    /// No rule matched an undecided flow: `defaults.undecided`.
    DefaultUndecided,
}

/// A decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What the kernel does.
    pub action: Action,
    /// What the policy said before monitor mode softened it.
    pub policy_action: Action,
    /// Which rule or default decided.
    pub rule: RuleRef,
    /// A known protocol was denied or alerted on this port: ATT&CK T1571.
    pub t1571: bool,
}

/// Number of subject slots: one per protocol, then unidentified, undecided.
pub(crate) const SLOTS: usize = Proto::ALL.len() + 2;
const _: () = assert!(SLOTS <= 128, "subject sets are u128 bitsets");

/// The slot of a subject.
pub(crate) fn slot(s: Subject) -> usize {
    match s {
        Subject::Known(p) => p as usize,
        Subject::Unidentified => Proto::ALL.len(),
        Subject::Undecided => Proto::ALL.len() + 1,
    }
}

/// The slot-and-transport cell index (`slot * 2 + transport`).
pub(crate) fn cell(slot: usize, t: Transport) -> usize {
    slot * 2 + usize::from(t == Transport::Udp)
}

/// The ports a compiled rule covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PortSel {
    /// Every port.
    Any,
    /// Each protocol's catalogue ports for the flow's transport.
    Standard,
    /// These ranges, sorted by start.
    List(Vec<PortRange>),
}

/// A compiled rule: every selector resolved.
#[derive(Clone, Debug)]
pub(crate) struct CRule {
    pub(crate) name: String,
    /// Bit `slot(subject)` set for every subject the rule names.
    pub(crate) subjects: u128,
    pub(crate) transport: Option<Transport>,
    pub(crate) ports: PortSel,
    pub(crate) src: Vec<Cidr>,
    pub(crate) dst: Vec<Cidr>,
    pub(crate) iif: Vec<u32>,
    /// The `iif` names as written (the stream proxy's rules match on them).
    pub(crate) iif_names: Vec<String>,
    pub(crate) oif: Vec<u32>,
    pub(crate) action: Action,
    pub(crate) redirect: Option<SocketAddr>,
}

impl CRule {
    /// Whether every selector matches: the definition of a match.
    pub(crate) fn matches(&self, f: &Facts) -> bool {
        self.subjects & (1u128 << slot(f.subject)) != 0
            && self.transport.is_none_or(|t| t == f.transport)
            && match &self.ports {
                PortSel::Any => true,
                PortSel::Standard => match f.subject {
                    Subject::Known(p) => catalogue::is_standard(p, f.transport, f.dport),
                    _ => false,
                },
                PortSel::List(l) => l.iter().any(|r| r.lo <= f.dport && f.dport <= r.hi),
            }
            && (self.src.is_empty() || self.src.iter().any(|c| c.contains(f.src)))
            && (self.dst.is_empty() || self.dst.iter().any(|c| c.contains(f.dst)))
            && (self.iif.is_empty() || self.iif.contains(&f.iif))
            && (self.oif.is_empty() || self.oif.contains(&f.oif))
    }

    /// The port ranges the rule covers in one slot-and-transport cell,
    /// merged and sorted; empty when it covers none there.
    pub(crate) fn ranges_in(&self, slot: usize, t: Transport) -> Vec<PortRange> {
        if self.subjects & (1u128 << slot) == 0 || self.transport.is_some_and(|x| x != t) {
            return Vec::new();
        }
        let mut v = match &self.ports {
            PortSel::Any => vec![PortRange {
                lo: 0,
                hi: u16::MAX,
            }],
            PortSel::List(l) => l.clone(),
            PortSel::Standard => match Proto::ALL.get(slot) {
                Some(&p) => catalogue::entries()
                    .iter()
                    .filter(|e| e.proto == p && e.transport == t)
                    .map(|e| PortRange {
                        lo: e.port,
                        hi: e.port,
                    })
                    .collect(),
                None => Vec::new(),
            },
        };
        merge(&mut v);
        v
    }
}

/// Sorts and merges overlapping or adjacent ranges.
pub(crate) fn merge(v: &mut Vec<PortRange>) {
    v.sort_by_key(|r| (r.lo, r.hi));
    let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
    for r in v.drain(..) {
        match out.last_mut() {
            Some(last) if u32::from(r.lo) <= u32::from(last.hi) + 1 => last.hi = last.hi.max(r.hi),
            _ => out.push(r),
        }
    }
    *v = out;
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The file's version.
    pub version: u64,
    /// Enforce or monitor.
    pub mode: Mode,
    /// Unix seconds after which the policy is refused.
    pub expires: Option<i64>,
    /// The minisign key id the file names (uppercase hex).
    pub key_id: Option<String>,
    mismatch: Action,
    unidentified: Action,
    undecided: Action,
    pub(crate) rules: Vec<CRule>,
    index: Index,
}

fn rule_error(origin: &str, i: usize, name: &str, message: String) -> PolicyError {
    PolicyError::Rule {
        file: origin.to_string(),
        index: i + 1,
        name: name.to_string(),
        message,
    }
}

/// Compiles a parsed policy. `ifindex` resolves an interface name to its
/// index (`None`: no such interface, an error).
pub fn compile(
    file: &PolicyFile,
    origin: &str,
    ifindex: &dyn Fn(&str) -> Option<u32>,
) -> Result<Policy, PolicyError> {
    let mut rules = Vec::with_capacity(file.rules.len());
    for (i, r) in file.rules.iter().enumerate() {
        let mut subjects = 0u128;
        for p in &r.protocols {
            match p {
                ProtoSel::One(p) => subjects |= 1 << slot(Subject::Known(*p)),
                ProtoSel::AnyKnown => subjects |= (1u128 << Proto::ALL.len()) - 1,
                ProtoSel::Unidentified => subjects |= 1 << slot(Subject::Unidentified),
                ProtoSel::Undecided => subjects |= 1 << slot(Subject::Undecided),
            }
        }
        let ports = match &r.ports {
            Some(Ports::Standard) => {
                if r.protocols
                    .iter()
                    .any(|p| matches!(p, ProtoSel::Unidentified | ProtoSel::Undecided))
                {
                    return Err(rule_error(origin, i, &r.name, "ports = \"standard\" needs named protocols; unidentified flows have no standard port".into()));
                }
                PortSel::Standard
            }
            Some(Ports::List(l)) => {
                let mut l = l.clone();
                l.sort_by_key(|p| (p.lo, p.hi));
                PortSel::List(l)
            }
            None => PortSel::Any,
        };
        let resolve = |names: &Option<Vec<super::model::IfName>>, field: &str| {
            names
                .iter()
                .flatten()
                .map(|n| {
                    ifindex(&n.0).ok_or_else(|| {
                        rule_error(origin, i, &r.name, format!(
                            "field `{field}`: no interface {:?} in this network namespace (interfaces are resolved when the policy is loaded)",
                            n.0
                        ))
                    })
                })
                .collect::<Result<Vec<u32>, PolicyError>>()
        };
        rules.push(CRule {
            name: r.name.clone(),
            subjects,
            transport: r.transport.map(|t: TransportSel| t.into()),
            ports,
            src: r.src.clone().unwrap_or_default(),
            dst: r.dst.clone().unwrap_or_default(),
            iif: resolve(&r.iif, "iif")?,
            iif_names: r.iif.iter().flatten().map(|n| n.0.clone()).collect(),
            oif: resolve(&r.oif, "oif")?,
            action: r.action.into(),
            redirect: r.redirect.map(|t| t.0),
        });
    }
    let index = Index::build(&rules);
    Ok(Policy {
        version: file.version,
        mode: file.mode,
        expires: file.expires.map(|e| e.0),
        key_id: file.key_id.as_ref().map(|k| k.0.clone()),
        mismatch: file.defaults.mismatch.into(),
        unidentified: file.defaults.unidentified.into(),
        undecided: file.defaults.undecided.into(),
        rules,
        index,
    })
}

impl Policy {
    /// A policy with no rules that allows everything (used only if the
    /// built-in policy failed to compile, which a test rules out).
    pub fn empty() -> Policy {
        Policy {
            version: 0,
            mode: Mode::Enforce,
            expires: None,
            key_id: None,
            mismatch: Action::Alert,
            unidentified: Action::Alert,
            undecided: Action::Alert,
            rules: Vec::new(),
            index: Index::build(&[]),
        }
    }

    /// The action for a flow that hit a bound (or a packet that did not
    /// parse), after monitor mode.
    pub fn undecided_action(&self) -> Action {
        self.soften(self.undecided)
    }

    fn soften(&self, a: Action) -> Action {
        match (self.mode, a) {
            (Mode::Monitor, Action::Drop | Action::Reject | Action::Redirect) => Action::Alert,
            (_, a) => a,
        }
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The name of rule `i`.
    pub fn rule_name(&self, r: RuleRef) -> &str {
        match r {
            RuleRef::Rule(i) => self.rules.get(i).map_or("?", |r| r.name.as_str()),
            RuleRef::DefaultMismatch => "default:mismatch",
            RuleRef::DefaultUnidentified => "default:unidentified",
            RuleRef::DefaultUndecided => "default:undecided",
        }
    }

    /// The redirect target of a rule, if its action is redirect.
    pub fn redirect_target(&self, r: RuleRef) -> Option<SocketAddr> {
        match r {
            RuleRef::Rule(i) => self.rules.get(i).and_then(|r| r.redirect),
            _ => None,
        }
    }

    /// The names of the rules whose action is redirect.
    pub fn redirect_rules(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.action == Action::Redirect)
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Decides a flow: the first matching rule in file order, otherwise the
    /// default for the flow's subject; monitor mode turns drop, reject and
    /// redirect into alert. Uses the index.
    pub fn decide(&self, f: &Facts) -> Decision {
        self.decision(f, self.index.first(&self.rules, f))
    }

    /// The same answer as [`Policy::decide`], by a linear scan of the rules:
    /// the reference the index is tested and benchmarked against.
    pub fn decide_linear(&self, f: &Facts) -> Decision {
        self.decision(f, self.rules.iter().position(|r| r.matches(f)))
    }

    fn decision(&self, f: &Facts, hit: Option<usize>) -> Decision {
        let (policy_action, rule) = match hit.and_then(|i| self.rules.get(i).map(|r| (i, r))) {
            Some((i, r)) => (r.action, RuleRef::Rule(i)),
            None => match f.subject {
                Subject::Known(_) => (self.mismatch, RuleRef::DefaultMismatch),
                Subject::Unidentified => (self.unidentified, RuleRef::DefaultUnidentified),
                Subject::Undecided => (self.undecided, RuleRef::DefaultUndecided),
            },
        };
        let t1571 = matches!(f.subject, Subject::Known(_)) && policy_action != Action::Allow;
        Decision {
            action: self.soften(policy_action),
            policy_action,
            rule,
            t1571,
        }
    }
}
