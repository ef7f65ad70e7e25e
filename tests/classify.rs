//! `portcullis classify` on captures of real lab traffic: tcpdump records
//! real clients talking to real servers in throwaway namespaces, and the
//! records must name each flow's protocol, initiator and metadata, once
//! per flow, with the policy's verdict.
#![allow(missing_docs)]

mod common;

use common::*;
use portcullis::lab::Lab;
use portcullis::lab::{CLIENT4, CLIENT6, SERVER4, SERVER4_B, SERVER6};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// Starts tcpdump in `ns` on `iface`, writing `file`; waits until it
/// listens.
fn capture(lab: &mut Lab, ns: &str, name: &str, iface: &str, file: &str) {
    lab.spawn(
        ns,
        name,
        &[
            "tcpdump",
            "-i",
            iface,
            "-n",
            "-U",
            "--immediate-mode",
            "-s",
            "0",
            "-w",
            file,
            "tcp or udp",
        ],
    )
    .expect("starting tcpdump");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lab.log_of(name).contains("listening on") {
        assert!(
            Instant::now() < deadline,
            "tcpdump did not start: {}",
            lab.log_of(name)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(lab: &mut Lab, name: &str) {
    assert!(lab.signal(name, libc::SIGINT), "{name} is not running");
    assert!(
        lab.wait(name, Duration::from_secs(10)).is_some(),
        "{name} did not stop"
    );
}

fn classify(file: &str) -> Vec<Value> {
    let o = Command::new(exe())
        .args(["classify", "--json", "--policy", "default", file])
        .output()
        .expect("running portcullis classify");
    assert!(
        o.status.success(),
        "classify failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record per line"))
        .collect()
}

/// The one record for the flow to `dst:dport` over `proto`.
fn only<'a>(recs: &'a [Value], proto: &str, dst: &str, dport: u16) -> &'a Value {
    let found: Vec<&Value> = recs
        .iter()
        .filter(|r| r["proto"] == proto && r["dst"] == dst && r["dport"] == dport)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "want one record for {proto} {dst}:{dport}, got {found:#?}\nall: {recs:#?}"
    );
    found[0]
}

fn client(lab: &Lab, args: &[&str]) {
    let o = lab
        .output(&lab.client.clone(), args, Duration::from_secs(10))
        .expect("running a client");
    assert!(o.status.success(), "{args:?} failed: {o:?}");
}

#[test]
fn classify_names_real_flows_in_ethernet_and_cooked_captures() {
    let mut lab = lab("cls");
    let eth = lab.path("g1.pcap");
    let cooked = lab.path("any.pcap");
    let (gw, cl) = (lab.gw.clone(), lab.client.clone());
    // The gateway's client-side veth (Ethernet) and the client namespace's
    // "any" pseudo-device (Linux cooked v2).
    capture(&mut lab, &gw, "tcpdump-g1", "g1", &eth);
    capture(&mut lab, &cl, "tcpdump-any", "any", &cooked);

    let resolve = format!("lab.test:443:{SERVER4}");
    client(
        &lab,
        &[
            "curl",
            "-sk",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "--resolve",
            &resolve,
            "https://lab.test/",
        ],
    );
    let v6 = format!("https://[{SERVER6}]:443/");
    client(
        &lab,
        &["curl", "-sk", "-o", "/dev/null", "--max-time", "5", &v6],
    );
    let http = format!("http://{SERVER4}:9000/");
    client(
        &lab,
        &["curl", "-s", "-o", "/dev/null", "--max-time", "5", &http],
    );
    client(
        &lab,
        &[
            "ssh-keyscan",
            "-T",
            "5",
            "-t",
            "ed25519",
            "-p",
            "443",
            SERVER4_B,
        ],
    );
    let at = format!("@{SERVER4}");
    client(
        &lab,
        &[
            "dig",
            "+short",
            "+tries=1",
            "+time=3",
            &at,
            "www.lab.test",
            "A",
        ],
    );
    // Let the last FINs and ACKs reach the capture.
    std::thread::sleep(Duration::from_millis(300));
    stop(&mut lab, "tcpdump-g1");
    stop(&mut lab, "tcpdump-any");

    for file in [&eth, &cooked] {
        let recs = classify(file);
        let tls = only(&recs, "tcp", SERVER4, 443);
        assert_eq!(tls["app_proto"], "tls", "{file}: {tls}");
        assert_eq!(tls["src"], CLIENT4);
        assert_eq!(tls["sni"], "lab.test");
        assert_eq!(tls["action"], "allow");
        assert_eq!(tls["ended"], "fin");
        assert!(tls["packets"].as_u64().unwrap() >= 10, "{tls}");

        let tls6 = only(&recs, "tcp", SERVER6, 443);
        assert_eq!(tls6["app_proto"], "tls");
        assert_eq!(tls6["src"], CLIENT6);

        let http = only(&recs, "tcp", SERVER4, 9000);
        assert_eq!(http["app_proto"], "http");
        assert_eq!(http["method"], "GET");
        assert_eq!(http["action"], "reject");
        assert_eq!(http["mitre_technique"], "T1571");

        // SSH on 443: found from the bytes, refused by the policy.
        let ssh = only(&recs, "tcp", SERVER4_B, 443);
        assert_eq!(ssh["app_proto"], "ssh", "{file}: {ssh}");
        assert_eq!(ssh["src"], CLIENT4);
        assert!(ssh["software"].as_str().unwrap().starts_with("OpenSSH"));
        assert_eq!(ssh["action"], "reject");
        assert_eq!(ssh["rule"], "default:mismatch");
        assert_eq!(ssh["mitre_technique"], "T1571");

        let dns = only(&recs, "udp", SERVER4, 53);
        assert_eq!(dns["app_proto"], "dns");
        assert_eq!(dns["src"], CLIENT4);
        // The query and its answer are one flow.
        assert_eq!(dns["packets"], 2);

        for r in &recs {
            assert_eq!(r["pcap"], file.rsplit('/').next().unwrap());
        }
    }
}
