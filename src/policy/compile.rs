//! A parsed policy compiled for lookup, and the decision function.
//!
//! [`Policy::decide`] is pure and does not allocate: rules are scanned in
//! file order (first match wins) over pre-resolved selectors (a protocol
//! bitset, sorted port ranges, masked networks).

use super::catalogue;
use super::model::{ActionName, Cidr, Mode, PolicyError, PolicyFile, PortRange, Ports, ProtoSel};
use crate::sniff::{Proto, Transport};
use std::net::IpAddr;

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
}

impl Action {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Alert => "alert",
            Action::Drop => "drop",
            Action::Reject => "reject",
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

#[derive(Clone, Debug)]
struct CRule {
    name: String,
    protos: u64,
    any_known: bool,
    unidentified: bool,
    undecided: bool,
    transport: Option<Transport>,
    standard_ports: bool,
    ports: Vec<PortRange>,
    src: Vec<Cidr>,
    dst: Vec<Cidr>,
    action: Action,
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The file's version.
    pub version: u64,
    /// Enforce or monitor.
    pub mode: Mode,
    mismatch: Action,
    unidentified: Action,
    undecided: Action,
    rules: Vec<CRule>,
}

fn bit(p: Proto) -> u64 {
    1u64 << (p as u32 % 64)
}

/// Compiles a parsed policy.
pub fn compile(file: &PolicyFile, origin: &str) -> Result<Policy, PolicyError> {
    let mut rules = Vec::with_capacity(file.rules.len());
    for (i, r) in file.rules.iter().enumerate() {
        let mut c = CRule {
            name: r.name.clone(),
            protos: 0,
            any_known: false,
            unidentified: false,
            undecided: false,
            transport: r.transport.map(Into::into),
            standard_ports: false,
            ports: Vec::new(),
            src: r.src.clone().unwrap_or_default(),
            dst: r.dst.clone().unwrap_or_default(),
            action: r.action.into(),
        };
        for p in &r.protocols {
            match p {
                ProtoSel::One(p) => c.protos |= bit(*p),
                ProtoSel::AnyKnown => c.any_known = true,
                ProtoSel::Unidentified => c.unidentified = true,
                ProtoSel::Undecided => c.undecided = true,
            }
        }
        match &r.ports {
            Some(Ports::Standard) => {
                if c.unidentified || c.undecided {
                    return Err(PolicyError::Rule {
                        file: origin.to_string(),
                        index: i + 1,
                        name: r.name.clone(),
                        message: "ports = \"standard\" needs named protocols; unidentified flows have no standard port".into(),
                    });
                }
                c.standard_ports = true;
            }
            Some(Ports::List(l)) => {
                c.ports = l.clone();
                c.ports.sort_by_key(|p| p.lo);
            }
            None => {}
        }
        rules.push(c);
    }
    Ok(Policy {
        version: file.version,
        mode: file.mode,
        mismatch: file.defaults.mismatch.into(),
        unidentified: file.defaults.unidentified.into(),
        undecided: file.defaults.undecided.into(),
        rules,
    })
}

impl CRule {
    fn matches(&self, f: &Facts) -> bool {
        let proto_ok = match f.subject {
            Subject::Known(p) => self.any_known || self.protos & bit(p) != 0,
            Subject::Unidentified => self.unidentified,
            Subject::Undecided => self.undecided,
        };
        if !proto_ok || self.transport.is_some_and(|t| t != f.transport) {
            return false;
        }
        let port_ok = if self.standard_ports {
            match f.subject {
                Subject::Known(p) => catalogue::is_standard(p, f.transport, f.dport),
                _ => false,
            }
        } else {
            self.ports.is_empty()
                || self
                    .ports
                    .iter()
                    .any(|r| r.lo <= f.dport && f.dport <= r.hi)
        };
        port_ok
            && (self.src.is_empty() || self.src.iter().any(|c| c.contains(f.src)))
            && (self.dst.is_empty() || self.dst.iter().any(|c| c.contains(f.dst)))
    }
}

impl Policy {
    /// A policy with no rules that allows everything (used only if the
    /// built-in policy failed to compile, which a test rules out).
    pub fn empty() -> Policy {
        Policy {
            version: 0,
            mode: Mode::Enforce,
            mismatch: Action::Alert,
            unidentified: Action::Alert,
            undecided: Action::Alert,
            rules: Vec::new(),
        }
    }

    /// The action for a flow that hit a bound (or a packet that did not
    /// parse), after monitor mode.
    pub fn undecided_action(&self) -> Action {
        match (self.mode, self.undecided) {
            (Mode::Monitor, Action::Drop | Action::Reject) => Action::Alert,
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

    /// Decides a flow. First matching rule wins; otherwise the default for
    /// the flow's subject. Monitor mode turns drop and reject into alert.
    pub fn decide(&self, f: &Facts) -> Decision {
        let (policy_action, rule) = match self.rules.iter().position(|r| r.matches(f)) {
            Some(i) => (
                self.rules.get(i).map_or(Action::Alert, |r| r.action),
                RuleRef::Rule(i),
            ),
            None => match f.subject {
                Subject::Known(_) => (self.mismatch, RuleRef::DefaultMismatch),
                Subject::Unidentified => (self.unidentified, RuleRef::DefaultUnidentified),
                Subject::Undecided => (self.undecided, RuleRef::DefaultUndecided),
            },
        };
        let action = match (self.mode, policy_action) {
            (Mode::Monitor, Action::Drop | Action::Reject) => Action::Alert,
            (_, a) => a,
        };
        let t1571 = matches!(f.subject, Subject::Known(_)) && policy_action != Action::Allow;
        Decision {
            action,
            policy_action,
            rule,
            t1571,
        }
    }
}
