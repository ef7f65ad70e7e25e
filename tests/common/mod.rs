//! Shared setup for the namespace integration tests. They need root (CI
//! runs as root) and the tools `.ci/run` installs.
#![allow(dead_code, missing_docs)]

use portcullis::lab::{demo, Lab};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The binary under test.
pub(crate) fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_portcullis"))
}

/// A lab with every server running. Panics with the reason if the machine
/// cannot host one (not root, tools missing): these tests must not pass by
/// skipping.
pub(crate) fn lab(tag: &str) -> Lab {
    let missing = portcullis::lab::missing_tools();
    assert!(
        missing.is_empty(),
        "missing tools: {missing:?}; run .ci/run's setup"
    );
    let mut lab = Lab::new(tag).expect("building namespaces (root needed)");
    demo::start_servers(&mut lab).expect("starting lab servers");
    lab
}

/// Starts portcullis in the gateway with extra arguments; the events path.
pub(crate) fn enforce(lab: &mut Lab, extra: &[&str]) -> PathBuf {
    demo::start_portcullis(lab, &exe(), extra).expect("starting portcullis")
}

/// The event lines written so far.
pub(crate) fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits up to 3 s for an event matching `pred`.
pub(crate) fn wait_event(
    path: &Path,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    for _ in 0..60 {
        if let Some(e) = events(path).into_iter().find(|e| pred(e)) {
            return Some(e);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The "counters:" line portcullis prints on exit, as a map.
pub(crate) fn exit_counters(lab: &Lab) -> HashMap<String, u64> {
    let log = lab.log_of("portcullis");
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("counters:"))
        .unwrap_or_else(|| panic!("no counters line in:\n{log}"));
    line.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Stops portcullis with SIGTERM and returns its exit counters.
pub(crate) fn stop(lab: &mut Lab) -> HashMap<String, u64> {
    assert!(lab.signal("portcullis", 15));
    let code = lab.wait("portcullis", Duration::from_secs(15));
    assert_eq!(code, Some(0), "{}", lab.log_of("portcullis"));
    exit_counters(lab)
}

/// Packets ever queued on each queue in the gateway (id_sequence of
/// /proc/net/netfilter/nfnetlink_queue), by queue number.
pub(crate) fn queued_by_queue(lab: &Lab) -> HashMap<u16, u64> {
    let o = lab
        .run(&lab.gw, &["cat", "/proc/net/netfilter/nfnetlink_queue"])
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(7)?.parse().ok()?))
        })
        .collect()
}

/// Packets ever queued on queue 0 in the gateway (id_sequence of
/// /proc/net/netfilter/nfnetlink_queue, which is per network namespace).
pub(crate) fn queued_total(lab: &Lab) -> u64 {
    let o = lab
        .run(&lab.gw, &["cat", "/proc/net/netfilter/nfnetlink_queue"])
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    text.lines()
        .find(|l| l.split_whitespace().next() == Some("0"))
        .and_then(|l| l.split_whitespace().nth(7))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no queue 0 in {text:?}"))
}

/// All iptables and ip6tables rules in the gateway, as text.
pub(crate) fn gw_rules(lab: &Lab) -> String {
    let mut s = String::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        let o = lab.run(&lab.gw, &[tool]).unwrap();
        s += &String::from_utf8_lossy(&o.stdout);
    }
    s
}
