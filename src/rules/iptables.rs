//! The iptables backend (`iptables-restore` / `ip6tables-restore`, legacy
//! or nft-compat). Installation is one `-restore --noflush` transaction per
//! family, so a failure installs nothing.

use super::{
    bpf, pin_bits, Handshake, Hook, RuleBackend, RuleConfig, RulesError, CHAIN, MARK_ALLOW,
    MARK_DROP, MARK_MASK, MARK_PASS, MARK_QUEUED, MARK_QUEUED_REPLY, MARK_REJECT, PIN_MASK,
};
use std::io::Write;
use std::process::{Command, Stdio};

/// The iptables backend.
#[derive(Debug, Clone, Copy)]
pub struct Iptables;

/// An address family and its iptables tool (shared with the divert rules).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    V4,
    V6,
}

impl Family {
    pub(super) fn tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
    fn empty_segment(self) -> String {
        match self {
            Family::V4 => bpf::empty_segment_v4(),
            Family::V6 => bpf::empty_segment_v6(),
        }
    }
    fn no_payload(self) -> String {
        match self {
            Family::V4 => bpf::no_payload_v4(),
            Family::V6 => bpf::no_payload_v6(),
        }
    }
    fn unreachable(self) -> &'static str {
        match self {
            Family::V4 => "icmp-port-unreachable",
            Family::V6 => "icmp6-port-unreachable",
        }
    }
}

pub(super) fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> Result<String, RulesError> {
    let display = format!("{cmd} {}", args.join(" "));
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RulesError::Spawn {
            cmd: display.clone(),
            source: e,
        })?;
    if let (Some(text), Some(mut i)) = (stdin, child.stdin.take()) {
        i.write_all(text.as_bytes())
            .map_err(|e| RulesError::Spawn {
                cmd: display.clone(),
                source: e,
            })?;
    }
    let out = child.wait_with_output().map_err(|e| RulesError::Spawn {
        cmd: display.clone(),
        source: e,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(RulesError::Failed {
            cmd: display,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The `-restore` text for one family.
fn ruleset(cfg: &RuleConfig, fam: Family) -> String {
    let m = |v: u32| format!("0x{v:08x}/0x{MARK_MASK:08x}");
    let queue = if cfg.queue_lo == cfg.queue_hi {
        format!("--queue-num {}", cfg.queue_lo)
    } else {
        format!("--queue-balance {}:{}", cfg.queue_lo, cfg.queue_hi)
    };
    let bypass = if cfg.bypass { " --queue-bypass" } else { "" };
    let c = CHAIN;
    // QUEUED and QUEUED_REPLY differ in one bit: this mask matches both.
    let queued_any = format!(
        "0x{MARK_QUEUED:08x}/0x{:08x}",
        MARK_MASK & !(MARK_QUEUED ^ MARK_QUEUED_REPLY)
    );
    let mut s = String::from("*filter\n");
    s += &format!(":{c} - [0:0]\n");
    s += &format!("-A {c} -m mark --mark {} -j RETURN\n", m(MARK_PASS));
    s += &format!("-A {c} -m mark --mark {queued_any} -j MARK --set-xmark 0x0/0x{MARK_MASK:08x}\n");
    s += &format!("-A {c} -m mark ! --mark 0x0/0x{MARK_MASK:08x} -j CONNMARK --save-mark --nfmask 0x{MARK_MASK:08x} --ctmask 0x{MARK_MASK:08x}\n");
    s += &format!("-A {c} -m connmark --mark {} -j RETURN\n", m(MARK_ALLOW));
    s += &format!("-A {c} -m connmark --mark {} -j DROP\n", m(MARK_DROP));
    s += &format!(
        "-A {c} -p tcp -m connmark --mark {} -j REJECT --reject-with tcp-reset\n",
        m(MARK_REJECT)
    );
    s += &format!(
        "-A {c} -m connmark --mark {} -j REJECT --reject-with {}\n",
        m(MARK_REJECT),
        fam.unreachable()
    );
    // With the SYN log and several queues, flows are pinned to a queue by
    // connmark bits on their first packet (round-robin), so that a flow's
    // SYN copy and its payload reach the same worker.
    let log = cfg.handshake == Handshake::Log;
    let queues = cfg.queue_hi.saturating_sub(cfg.queue_lo) + 1;
    let pinned = log && queues > 1;
    let pm = |k: u16| format!("0x{:08x}/0x{PIN_MASK:08x}", pin_bits(k));
    if pinned {
        for k in 0..queues {
            let nth = if k + 1 < queues {
                format!(" -m statistic --mode nth --every {} --packet 0", queues - k)
            } else {
                String::new()
            };
            s += &format!(
                "-A {c} -m connmark --mark 0x0/0x{PIN_MASK:08x}{nth} -j CONNMARK --set-xmark {}\n",
                pm(k)
            );
        }
    }
    if log {
        for k in 0..queues {
            let pin = if pinned {
                format!(" -m connmark --mark {}", pm(k))
            } else {
                String::new()
            };
            s += &syn_log_rule(c, fam, &pin, cfg.log_group.saturating_add(k));
        }
        s += &format!(
            "-A {c} -p tcp -m bpf --bytecode \"{}\" -j RETURN\n",
            fam.no_payload()
        );
    } else if cfg.handshake == Handshake::Syn {
        s += &empty_segment_rule(c, fam);
    }
    s += &format!(
        "-A {c} -p tcp -j MARK --set-xmark {}\n-A {c} -p udp -j MARK --set-xmark {}\n",
        m(MARK_QUEUED),
        m(MARK_QUEUED)
    );
    s += &format!(
        "-A {c} -m conntrack --ctdir REPLY -m mark --mark {} -j MARK --set-xmark {}\n",
        m(MARK_QUEUED),
        m(MARK_QUEUED_REPLY)
    );
    if pinned {
        for k in 0..queues {
            for p in ["tcp", "udp"] {
                s += &format!(
                    "-A {c} -p {p} -m connmark --mark {} -j NFQUEUE --queue-num {}{bypass}\n",
                    pm(k),
                    cfg.queue_lo + k
                );
            }
        }
    }
    for p in ["tcp", "udp"] {
        s += &format!("-A {c} -p {p} -j NFQUEUE {queue}{bypass}\n");
    }
    for hook in hooks(cfg.hook) {
        s += &format!("-I {hook} 1 -m comment --comment portcullis -j {c}\n");
    }
    s += "COMMIT\n";
    // Runs after filter on the same hooks: a packet still marked QUEUED
    // here was passed by the kernel without a verdict (fail-open).
    s += "*security\n";
    s += &format!(":{c} - [0:0]\n");
    s += &format!("-A {c} -m mark --mark {queued_any} -j RETURN\n");
    for hook in hooks(cfg.hook) {
        s += &format!("-I {hook} 1 -m comment --comment portcullis -j {c}\n");
    }
    s += "COMMIT\n";
    s
}

fn hooks(h: Hook) -> &'static [&'static str] {
    match h {
        Hook::Forward => &["FORWARD"],
        Hook::Host => &["OUTPUT", "INPUT"],
    }
}

impl Iptables {
    /// Checks that iptables and ip6tables run.
    pub fn probe() -> Result<Iptables, RulesError> {
        run("iptables", &["-w", "-t", "filter", "-S", "FORWARD"], None)?;
        run("ip6tables", &["-w", "-t", "filter", "-S", "FORWARD"], None)?;
        Ok(Iptables)
    }

    fn remove_family(fam: Family) -> Result<(), RulesError> {
        for table in TABLES {
            Self::remove_table(fam, table)?;
        }
        Ok(())
    }

    fn remove_table(fam: Family, table: &str) -> Result<(), RulesError> {
        let tool = fam.tool();
        for hook in ["FORWARD", "OUTPUT", "INPUT"] {
            // Delete every jump to our chain (there may be several after a crash loop).
            for _ in 0..64 {
                if run(
                    tool,
                    &[
                        "-w",
                        "-t",
                        table,
                        "-D",
                        hook,
                        "-m",
                        "comment",
                        "--comment",
                        "portcullis",
                        "-j",
                        CHAIN,
                    ],
                    None,
                )
                .is_err()
                {
                    break;
                }
            }
        }
        let exists = run(tool, &["-w", "-t", table, "-S", CHAIN], None).is_ok();
        if exists {
            run(tool, &["-w", "-t", table, "-F", CHAIN], None)?;
            run(tool, &["-w", "-t", table, "-X", CHAIN], None)?;
        }
        Ok(())
    }

    /// Packets counted by the security-table rule of one family.
    fn unseen_family(fam: Family) -> Result<u64, RulesError> {
        let out = run(
            fam.tool(),
            &["-w", "-t", "security", "-L", CHAIN, "-v", "-x", "-n"],
            None,
        )?;
        Ok(parse_unseen(&out))
    }
}

/// Removes the `-I HOOK 1 -m comment --comment portcullis -j CHAIN` lines
/// of a restore script whose jump already exists in that table (this
/// backend's chains and the divert rules' alike).
pub(super) fn without_existing_jumps(text: &str, fam: Family) -> String {
    let mut table = "filter";
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t;
        }
        let mut words = line.split_whitespace();
        let jump = match (words.next(), words.next(), line.rsplit_once(" -j ")) {
            (Some("-I"), Some(hook), Some((head, chain)))
                if head.ends_with("--comment portcullis") =>
            {
                Some((hook, chain))
            }
            _ => None,
        };
        if jump.is_some_and(|(hook, chain)| jump_exists(fam, table, hook, chain)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The arguments of a `portcullis`-commented jump from `hook` to `chain`.
pub(super) fn jump_args<'a>(
    table: &'a str,
    op: &'a str,
    hook: &'a str,
    chain: &'a str,
) -> [&'a str; 11] {
    [
        "-w",
        "-t",
        table,
        op,
        hook,
        "-m",
        "comment",
        "--comment",
        "portcullis",
        "-j",
        chain,
    ]
}

fn jump_exists(fam: Family, table: &str, hook: &str, chain: &str) -> bool {
    run(fam.tool(), &jump_args(table, "-C", hook, chain), None).is_ok()
}

impl Iptables {
    /// Leaves at most one jump per table and hook (a crash loop with an
    /// older version could have added several); extra jumps are redundant,
    /// so deleting them opens no gap.
    fn dedupe_jumps(fam: Family) -> Result<(), RulesError> {
        for table in TABLES {
            for hook in ["FORWARD", "OUTPUT", "INPUT"] {
                let Ok(listing) = run(fam.tool(), &["-w", "-t", table, "-S", hook], None) else {
                    continue;
                };
                let n = listing
                    .lines()
                    .filter(|l| l.ends_with(&format!("-j {CHAIN}")))
                    .count();
                for _ in 1..n {
                    run(fam.tool(), &jump_args(table, "-D", hook, CHAIN), None)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes jumps from hooks the new configuration does not use (a
    /// restart that changed `--hook`).
    fn drop_foreign_hooks(fam: Family, hook: Hook) -> Result<(), RulesError> {
        for table in TABLES {
            for h in ["FORWARD", "OUTPUT", "INPUT"] {
                if !hooks(hook).contains(&h) && jump_exists(fam, table, h, CHAIN) {
                    run(fam.tool(), &jump_args(table, "-D", h, CHAIN), None)?;
                }
            }
        }
        Ok(())
    }
}

impl RuleBackend for Iptables {
    fn name(&self) -> &'static str {
        "iptables"
    }

    /// Installs or replaces the ruleset without a gap: each table's chain
    /// is declared and filled in one `-restore --noflush` transaction (the
    /// declaration flushes the old contents atomically), and a hook jump is
    /// only added where none exists. A restart after a crash therefore never
    /// leaves traffic unenforced between "remove" and "install", which would
    /// break `--fail closed`.
    fn install(&self, cfg: &RuleConfig) -> Result<(), RulesError> {
        for fam in [Family::V4, Family::V6] {
            Self::dedupe_jumps(fam)?;
            let tool = format!("{}-restore", fam.tool());
            let full = without_existing_jumps(&ruleset(cfg, fam), fam);
            if let Err(e) = run(&tool, &["-w", "--noflush"], Some(&full)) {
                // Without the security table (legacy iptables lacking
                // iptable_security) enforcement still works; only the
                // fail-open pass counter is lost.
                let filter_only = full.split("*security\n").next().unwrap_or("").to_string();
                if filter_only.len() == full.len()
                    || run(&tool, &["-w", "--noflush"], Some(&filter_only)).is_err()
                {
                    let _ = self.remove();
                    return Err(e);
                }
            }
            Self::drop_foreign_hooks(fam, cfg.hook)?;
        }
        Ok(())
    }

    fn remove(&self) -> Result<(), RulesError> {
        Self::remove_family(Family::V4)?;
        Self::remove_family(Family::V6)
    }

    fn installed(&self) -> Result<bool, RulesError> {
        for fam in [Family::V4, Family::V6] {
            for table in TABLES {
                let dump = run(&format!("{}-save", fam.tool()), &["-t", table], None)?;
                if dump.contains(CHAIN) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn unseen(&self) -> Result<u64, RulesError> {
        Ok(Self::unseen_family(Family::V4)? + Self::unseen_family(Family::V6)?)
    }

    fn supports(&self, handshake: Handshake, log_group: u16) -> Result<(), RulesError> {
        for fam in [Family::V4, Family::V6] {
            let Some(text) = probe_ruleset(handshake, log_group, fam) else {
                return Ok(());
            };
            let tool = format!("{}-restore", fam.tool());
            let res = run(&tool, &["-w", "--noflush"], Some(&text));
            let _ = run(fam.tool(), &["-w", "-t", "filter", "-F", PROBE_CHAIN], None);
            let _ = run(fam.tool(), &["-w", "-t", "filter", "-X", PROBE_CHAIN], None);
            res?;
        }
        Ok(())
    }
}

/// The scratch chain of [`Iptables::supports`]; never jumped to.
const PROBE_CHAIN: &str = "portcullis-probe";

/// A restore script that creates [`PROBE_CHAIN`] (emptying a leftover) and
/// appends one rule of each kind `handshake` needs; None when it needs
/// none (every segment queued).
fn probe_ruleset(handshake: Handshake, log_group: u16, fam: Family) -> Option<String> {
    let c = PROBE_CHAIN;
    let rule = match handshake {
        Handshake::All => return None,
        Handshake::Syn => empty_segment_rule(c, fam),
        Handshake::Log => syn_log_rule(c, fam, "", log_group),
    };
    Some(format!("*filter\n:{c} - [0:0]\n{rule}COMMIT\n"))
}

/// The rule that copies an opening SYN without payload to NFLOG `group`
/// (`pin`: an extra match, or empty).
fn syn_log_rule(c: &str, fam: Family, pin: &str, group: u16) -> String {
    format!(
        "-A {c} -p tcp --tcp-flags SYN,ACK SYN -m bpf --bytecode \"{}\"{pin} -j NFLOG --nflog-group {group} --nflog-size {} --nflog-threshold 1\n",
        fam.no_payload(),
        crate::datapath::nflog::COPY_RANGE,
    )
}

/// The rule that leaves empty TCP segments in the kernel (`--handshake syn`).
fn empty_segment_rule(c: &str, fam: Family) -> String {
    format!(
        "-A {c} -p tcp -m bpf --bytecode \"{}\" -j RETURN\n",
        fam.empty_segment()
    )
}

/// The tables portcullis puts a chain in.
const TABLES: [&str; 2] = ["filter", "security"];

/// The packet count of the RETURN rule in `iptables -L CHAIN -v -x -n`.
fn parse_unseen(listing: &str) -> u64 {
    listing
        .lines()
        .filter(|l| l.contains("RETURN"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_text() {
        let cfg = RuleConfig {
            queue_lo: 0,
            queue_hi: 1,
            bypass: true,
            hook: Hook::Forward,
            handshake: Handshake::Syn,
            log_group: 4200,
        };
        let v4 = ruleset(&cfg, Family::V4);
        assert!(v4.contains("-j NFQUEUE --queue-balance 0:1 --queue-bypass"));
        assert!(v4.contains("--reject-with tcp-reset"));
        assert!(v4.contains("-I FORWARD 1 -m comment --comment portcullis -j PORTCULLIS"));
        let v6 = ruleset(
            &RuleConfig {
                bypass: false,
                queue_hi: 0,
                handshake: Handshake::All,
                ..cfg
            },
            Family::V6,
        );
        assert!(v6.contains("icmp6-port-unreachable"));
        assert!(v6.contains("-j NFQUEUE --queue-num 0\n"));
        // The order that makes the kernel carry decisions: save, then connmark rules, then queue.
        let save = v4.find("--save-mark").unwrap_or(usize::MAX);
        let queue = v4.find("NFQUEUE").unwrap_or(0);
        assert!(save < queue);
        // Empty segments pass before the queue; the direction mark is set
        // right before it; the security table counts fail-open passes.
        let bpf = v4.find("-m bpf").unwrap_or(usize::MAX);
        let dir = v4.find("--ctdir REPLY").unwrap_or(usize::MAX);
        assert!(save < bpf && bpf < dir && dir < queue);
        assert!(v4.contains("*security\n"));
        assert!(!v6.contains("-m bpf"));
    }

    #[test]
    fn syn_log_ruleset_pins_flows_to_a_queue_and_its_log_group() {
        let one = RuleConfig {
            queue_lo: 3,
            queue_hi: 3,
            bypass: false,
            hook: Hook::Forward,
            handshake: Handshake::Log,
            log_group: 4200,
        };
        let v4 = ruleset(&one, Family::V4);
        // One queue: no pinning, one log rule before the empty-segment RETURN.
        assert!(!v4.contains("statistic"));
        let log = v4
            .find("--tcp-flags SYN,ACK SYN -m bpf")
            .unwrap_or(usize::MAX);
        assert!(v4.contains("-j NFLOG --nflog-group 4200 --nflog-size 128 --nflog-threshold 1\n"));
        let ret = v4
            .find("-j RETURN\n-A PORTCULLIS -p tcp -j MARK")
            .unwrap_or(0);
        assert!(log < ret);
        assert!(v4.contains("-j NFQUEUE --queue-num 3\n"));
        let four = RuleConfig {
            queue_lo: 2,
            queue_hi: 5,
            ..one
        };
        let v6 = ruleset(&four, Family::V6);
        // Round-robin pinning of unpinned flows: every 4th, every 3rd of the
        // rest, every 2nd of the rest, then the remainder.
        for (k, every) in [
            (0u16, " -m statistic --mode nth --every 4 --packet 0"),
            (1, " -m statistic --mode nth --every 3 --packet 0"),
            (2, " -m statistic --mode nth --every 2 --packet 0"),
            (3, ""),
        ] {
            let bits = pin_bits(k);
            assert!(v6.contains(&format!("-m connmark --mark 0x0/0x00f00000{every} -j CONNMARK --set-xmark 0x{bits:08x}/0x00f00000\n")), "{k}");
            assert!(v6.contains(&format!(
                "-m connmark --mark 0x{bits:08x}/0x00f00000 -j NFLOG --nflog-group {}",
                4200 + k
            )));
            assert!(v6.contains(&format!(
                "-p udp -m connmark --mark 0x{bits:08x}/0x00f00000 -j NFQUEUE --queue-num {}\n",
                2 + k
            )));
        }
        // Pinning happens after the decided-flow rules, before any queueing.
        let reject = v6.find("icmp6-port-unreachable").unwrap_or(usize::MAX);
        let pin = v6.find("statistic").unwrap_or(0);
        let queue = v6.find("NFQUEUE").unwrap_or(0);
        assert!(reject < pin && pin < queue);
    }

    #[test]
    fn unseen_counter_listing() {
        let l = "Chain PORTCULLIS (1 references)\n    pkts      bytes target     prot opt in     out     source               destination\n      17     1234 RETURN     0    --  *      *       0.0.0.0/0            0.0.0.0/0            mark match 0x4000000/0xe000000\n";
        assert_eq!(parse_unseen(l), 17);
        assert_eq!(parse_unseen("Chain PORTCULLIS (0 references)\n"), 0);
    }
}
