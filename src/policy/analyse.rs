//! Warnings about a compiled policy, for `portcullis check`: rules that can
//! never match, rules shadowed by an earlier rule, and an allowing and a
//! denying rule that overlap (the earlier one wins on the overlap).
//!
//! Sound but not complete: a rule is reported shadowed when *one* earlier
//! rule covers every flow it could match; a rule covered only by the union
//! of several earlier rules is not reported. Pairwise analysis is
//! quadratic, so above [`MAX_ANALYSED_RULES`] rules it is skipped and the
//! report says so.

use super::compile::{CRule, PortSel, SLOTS};
use super::model::{Cidr, PortRange};
use super::Policy;
use crate::sniff::Transport;
use std::fmt;

/// Above this many rules, the pairwise checks are skipped.
pub const MAX_ANALYSED_RULES: usize = 5_000;

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// No flow can match this rule.
    NeverMatches {
        /// 1-based rule index.
        rule: usize,
        /// Rule name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// Every flow this rule could match is matched by an earlier rule.
    Shadowed {
        /// 1-based rule index.
        rule: usize,
        /// Rule name.
        name: String,
        /// 1-based index of the covering rule.
        by: usize,
        /// Its name.
        by_name: String,
    },
    /// An earlier rule and a later one disagree on whether flows pass, and
    /// some flows match both: the earlier rule decides those.
    Overlap {
        /// 1-based index of the earlier rule.
        first: usize,
        /// Its name.
        first_name: String,
        /// Its action.
        first_action: &'static str,
        /// 1-based index of the later rule.
        second: usize,
        /// Its name.
        second_name: String,
        /// Its action.
        second_action: &'static str,
    },
    /// The policy has too many rules for the pairwise checks.
    Skipped {
        /// Rule count.
        rules: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NeverMatches { rule, name, why } => {
                write!(f, "rule {rule} ({name}) can never match: {why}")
            }
            Warning::Shadowed { rule, name, by, by_name } => write!(
                f,
                "rule {rule} ({name}) is shadowed by rule {by} ({by_name}): every flow it could match, rule {by} matches first"
            ),
            Warning::Overlap { first, first_name, first_action, second, second_name, second_action } => write!(
                f,
                "rules {first} ({first_name}, {first_action}) and {second} ({second_name}, {second_action}) overlap: flows matching both get {first_action}"
            ),
            Warning::Skipped { rules } => write!(
                f,
                "{rules} rules: shadow and overlap analysis skipped above {MAX_ANALYSED_RULES}"
            ),
        }
    }
}

/// A rule's coverage: per (subject, transport) cell, the merged port ranges.
struct Cover {
    cells: Vec<(usize, Vec<PortRange>)>,
}

fn cover(r: &CRule) -> Cover {
    let mut cells = Vec::new();
    for s in 0..SLOTS {
        for t in [Transport::Tcp, Transport::Udp] {
            let v = r.ranges_in(s, t);
            if !v.is_empty() {
                cells.push((super::compile::cell(s, t), v));
            }
        }
    }
    Cover { cells }
}

/// Whether merged ranges `a` cover every port of merged ranges `b`.
fn ranges_cover(a: &[PortRange], b: &[PortRange]) -> bool {
    b.iter()
        .all(|r| a.iter().any(|x| x.lo <= r.lo && r.hi <= x.hi))
}

fn ranges_meet(a: &[PortRange], b: &[PortRange]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| x.lo <= y.hi && y.lo <= x.hi))
}

fn net_covers(a: &Cidr, b: &Cidr) -> bool {
    a.len <= b.len && a.contains(b.addr)
}

/// `a` (empty: everything) covers every address of `b`.
fn nets_cover(a: &[Cidr], b: &[Cidr]) -> bool {
    a.is_empty() || (!b.is_empty() && b.iter().all(|y| a.iter().any(|x| net_covers(x, y))))
}

fn nets_meet(a: &[Cidr], b: &[Cidr]) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.iter()
            .any(|x| b.iter().any(|y| net_covers(x, y) || net_covers(y, x)))
}

fn ifs_cover(a: &[u32], b: &[u32]) -> bool {
    a.is_empty() || (!b.is_empty() && b.iter().all(|i| a.contains(i)))
}

fn ifs_meet(a: &[u32], b: &[u32]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|i| b.contains(i))
}

fn covers(a: &CRule, ca: &Cover, b: &CRule, cb: &Cover) -> bool {
    cb.cells.iter().all(|(c, rb)| {
        ca.cells
            .iter()
            .any(|(x, ra)| x == c && ranges_cover(ra, rb))
    }) && nets_cover(&a.src, &b.src)
        && nets_cover(&a.dst, &b.dst)
        && ifs_cover(&a.iif, &b.iif)
        && ifs_cover(&a.oif, &b.oif)
}

fn meets(a: &CRule, ca: &Cover, b: &CRule, cb: &Cover) -> bool {
    ca.cells
        .iter()
        .any(|(x, ra)| cb.cells.iter().any(|(y, rb)| x == y && ranges_meet(ra, rb)))
        && nets_meet(&a.src, &b.src)
        && nets_meet(&a.dst, &b.dst)
        && ifs_meet(&a.iif, &b.iif)
        && ifs_meet(&a.oif, &b.oif)
}

fn never(r: &CRule, c: &Cover) -> Option<&'static str> {
    if c.cells.is_empty() {
        return Some(match r.ports {
            PortSel::Standard => "none of its protocols has a standard port on its transport",
            _ => "no protocol it names runs over its transport",
        });
    }
    let fam = |l: &[Cidr], v6: bool| l.is_empty() || l.iter().any(|c| c.addr.is_ipv6() == v6);
    let v4 = fam(&r.src, false) && fam(&r.dst, false);
    let v6 = fam(&r.src, true) && fam(&r.dst, true);
    if !v4 && !v6 {
        return Some("its `src` and `dst` networks are of different address families");
    }
    None
}

/// Every warning for `p`, in rule order.
pub fn analyse(p: &Policy) -> Vec<Warning> {
    let rules = &p.rules;
    let covers_: Vec<Cover> = rules.iter().map(cover).collect();
    let mut out = Vec::new();
    let mut dead = vec![false; rules.len()];
    for (i, (r, c)) in rules.iter().zip(&covers_).enumerate() {
        if let Some(why) = never(r, c) {
            out.push(Warning::NeverMatches {
                rule: i + 1,
                name: r.name.clone(),
                why,
            });
            if let Some(d) = dead.get_mut(i) {
                *d = true;
            }
        }
    }
    if rules.len() > MAX_ANALYSED_RULES {
        out.push(Warning::Skipped { rules: rules.len() });
        return out;
    }
    for (j, (b, cb)) in rules.iter().zip(&covers_).enumerate() {
        if dead.get(j) == Some(&true) {
            continue;
        }
        let earlier = rules.iter().zip(&covers_).enumerate().take(j);
        let live = earlier.filter(|(i, _)| dead.get(*i) != Some(&true));
        let mut overlaps = Vec::new();
        let mut shadowed = None;
        for (i, (a, ca)) in live {
            if covers(a, ca, b, cb) {
                shadowed = Some((i, a));
                break;
            }
            if a.action.passes() != b.action.passes() && meets(a, ca, b, cb) {
                overlaps.push((i, a));
            }
        }
        if let Some((i, a)) = shadowed {
            out.push(Warning::Shadowed {
                rule: j + 1,
                name: b.name.clone(),
                by: i + 1,
                by_name: a.name.clone(),
            });
            continue;
        }
        out.extend(overlaps.into_iter().map(|(i, a)| Warning::Overlap {
            first: i + 1,
            first_name: a.name.clone(),
            first_action: a.action.name(),
            second: j + 1,
            second_name: b.name.clone(),
            second_action: b.action.name(),
        }));
    }
    out
}
