//! The native nftables backend: one `inet` table, replaced atomically by a
//! single `nft -f` transaction.
//!
//! It needs the nft `queue` statement (CONFIG_NFT_QUEUE); [`super::detect`]
//! only picks it when a probe shows the kernel accepts that statement, and
//! falls back to the iptables backend (whose xt_NFQUEUE works on kernels
//! without it) otherwise. nft cannot run the classic BPF program that lets
//! empty TCP segments pass in the kernel, so with this backend every
//! segment of an undecided flow is queued (`--handshake all` behaviour,
//! whatever `--handshake` says: the SYN log needs the same program);
//! the worker passes empty segments at once, so only the cost differs.
//!
//! The chains mirror the iptables ruleset (see the module docs of
//! [`super`]): a verdict's mark is saved to the conntrack mark with
//! constant bitwise operations (one rule per decision value, which every
//! nft version supports), decided flows are handled by the conntrack mark,
//! and a second chain at a later priority counts packets that left the
//! queue without a verdict (fail-open passes).

use super::iptables::run;
use super::{
    Hook, RuleBackend, RuleConfig, RulesError, MARK_ALLOW, MARK_DROP, MARK_MASK, MARK_PASS,
    MARK_QUEUED, MARK_QUEUED_REPLY, MARK_REJECT,
};

/// The nft table portcullis owns.
pub const TABLE: &str = "portcullis";

/// The native nftables backend.
#[derive(Debug, Clone, Copy)]
pub struct Nft;

/// The `nft -f` script that (re)creates the table in one transaction.
pub fn ruleset(cfg: &RuleConfig) -> String {
    let m = MARK_MASK;
    let keep = !MARK_MASK;
    let queue = if cfg.queue_lo == cfg.queue_hi {
        format!("queue num {}", cfg.queue_lo)
    } else {
        format!("queue num {}-{}", cfg.queue_lo, cfg.queue_hi)
    };
    let bypass = if cfg.bypass { " bypass" } else { "" };
    let queued_mask = MARK_MASK & !(MARK_QUEUED ^ MARK_QUEUED_REPLY);
    let mut s = String::new();
    // Declaring then flushing makes the script work whether or not the
    // table exists, and the whole file is one transaction.
    s += &format!("table inet {TABLE}\nflush table inet {TABLE}\ntable inet {TABLE} {{\n");
    for (i, hook) in hooks(cfg.hook).iter().enumerate() {
        s += &format!("  chain enforce{i} {{\n    type filter hook {hook} priority filter - 1; policy accept;\n");
        s += &format!("    meta mark & 0x{m:08x} == 0x{MARK_PASS:08x} return\n");
        s += &format!("    meta mark & 0x{queued_mask:08x} == 0x{MARK_QUEUED:08x} meta mark set meta mark & 0x{keep:08x}\n");
        for v in [MARK_ALLOW, MARK_DROP, MARK_REJECT] {
            s += &format!("    meta mark & 0x{m:08x} == 0x{v:08x} ct mark set ct mark & 0x{keep:08x} | 0x{v:08x}\n");
        }
        s += &format!("    ct mark & 0x{m:08x} == 0x{MARK_ALLOW:08x} return\n");
        s += &format!("    ct mark & 0x{m:08x} == 0x{MARK_DROP:08x} drop\n");
        s += &format!("    ct mark & 0x{m:08x} == 0x{MARK_REJECT:08x} meta l4proto tcp reject with tcp reset\n");
        s += &format!("    ct mark & 0x{m:08x} == 0x{MARK_REJECT:08x} reject\n");
        s += &format!("    meta l4proto {{ tcp, udp }} ct direction original meta mark set meta mark & 0x{keep:08x} | 0x{MARK_QUEUED:08x}\n");
        s += &format!("    meta l4proto {{ tcp, udp }} ct direction reply meta mark set meta mark & 0x{keep:08x} | 0x{MARK_QUEUED_REPLY:08x}\n");
        s += &format!("    meta l4proto {{ tcp, udp }} {queue}{bypass}\n  }}\n");
        s += &format!("  chain unseen{i} {{\n    type filter hook {hook} priority filter + 10; policy accept;\n");
        s += &format!("    meta mark & 0x{queued_mask:08x} == 0x{MARK_QUEUED:08x} counter\n  }}\n");
    }
    s += "}\n";
    s
}

fn hooks(h: Hook) -> &'static [&'static str] {
    match h {
        Hook::Forward => &["forward"],
        Hook::Host => &["output", "input"],
    }
}

/// Sums the `counter packets N` of the `unseen` chains in `nft list table`.
fn parse_unseen(listing: &str) -> u64 {
    let mut in_unseen = false;
    let mut total = 0;
    for line in listing.lines() {
        let t = line.trim();
        if t.starts_with("chain ") {
            in_unseen = t.starts_with("chain unseen");
        }
        if in_unseen {
            if let Some(rest) = t.split("counter packets ").nth(1) {
                total += rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

impl RuleBackend for Nft {
    fn name(&self) -> &'static str {
        "nft"
    }

    fn install(&self, cfg: &RuleConfig) -> Result<(), RulesError> {
        run("nft", &["-f", "-"], Some(&ruleset(cfg))).map(|_| ())
    }

    fn remove(&self) -> Result<(), RulesError> {
        if self.installed()? {
            run("nft", &["delete", "table", "inet", TABLE], None)?;
        }
        Ok(())
    }

    fn installed(&self) -> Result<bool, RulesError> {
        Ok(run("nft", &["list", "table", "inet", TABLE], None).is_ok())
    }

    fn unseen(&self) -> Result<u64, RulesError> {
        run("nft", &["list", "table", "inet", TABLE], None).map(|l| parse_unseen(&l))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Handshake;
    use super::*;

    fn cfg() -> RuleConfig {
        RuleConfig {
            queue_lo: 0,
            queue_hi: 3,
            bypass: true,
            hook: Hook::Forward,
            handshake: Handshake::Syn,
            log_group: 4200,
        }
    }

    #[test]
    fn ruleset_shape() {
        let s = ruleset(&cfg());
        assert!(s.starts_with("table inet portcullis\nflush table inet portcullis\n"));
        assert!(s.contains("queue num 0-3 bypass"));
        assert!(s.contains("reject with tcp reset"));
        // Saving comes before the connmark verdicts, which come before the queue.
        let save = s.find("ct mark set").unwrap_or(usize::MAX);
        let allow = s.find("== 0x01000000 return").unwrap_or(usize::MAX);
        let q = s.find("queue num").unwrap_or(0);
        assert!(save < allow && allow < q);
        let host = ruleset(&RuleConfig {
            hook: Hook::Host,
            bypass: false,
            queue_hi: 0,
            ..cfg()
        });
        assert!(host.contains("hook output") && host.contains("hook input"));
        assert!(host.contains("queue num 0\n"));
    }

    #[test]
    fn unseen_counter_listing() {
        let l = "table inet portcullis {\n\tchain enforce0 {\n\t\tmeta mark counter packets 99 bytes 1\n\t}\n\tchain unseen0 {\n\t\ttype filter hook forward priority filter + 10; policy accept;\n\t\tmeta mark & 0x0e000000 == 0x04000000 counter packets 17 bytes 1234\n\t}\n}\n";
        assert_eq!(parse_unseen(l), 17);
    }

    /// The ruleset is accepted by the kernel's nftables (checked with
    /// `nft -c` in a throwaway namespace), apart from the queue statement
    /// when the kernel lacks CONFIG_NFT_QUEUE.
    #[test]
    fn kernel_accepts_the_ruleset() {
        if std::process::Command::new("nft")
            .arg("--version")
            .output()
            .is_err()
            || !is_root()
        {
            eprintln!("nft or root missing: skipped (CI has both)");
            return;
        }
        let ns = format!("pcnft{}", std::process::id());
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add");
        let mut text = ruleset(&cfg());
        if !super::super::nft_queue_works() {
            text = text
                .lines()
                .filter(|l| !l.contains(" queue num "))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n";
        }
        let out = run(
            "ip",
            &["netns", "exec", &ns, "nft", "-c", "-f", "-"],
            Some(&text),
        );
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &ns])
            .status();
        if let Err(e) = out {
            panic!("nft rejected the ruleset: {e}\n{text}");
        }
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false)
    }
}
