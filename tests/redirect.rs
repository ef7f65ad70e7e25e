//! End-to-end: `redirect` carried out by the stream proxy in the gateway.
//! Real clients (curl, ssh-keyscan) and servers (python http.server, sshd,
//! openssl s_server) in namespaces; the diverted flows are judged by their
//! bytes, spliced to the original destination or to the redirect target,
//! or reset; flows the divert rules do not take still go through the queue.
#![allow(missing_docs)]

mod common;

use common::*;
use portcullis::lab::demo::{probe, Probe};
use portcullis::lab::{Lab, SERVER4, SERVER4_B, SERVER6};
use std::time::Duration;

fn policy(version: u64, redirect: bool) -> String {
    let redirects = if redirect {
        r#"
[[rule]]
name = "ssh-on-443-to-honeypot"
protocols = ["ssh"]
ports = [443]
action = "redirect"
redirect = "198.18.2.2:22"

[[rule]]
name = "http-on-9000-to-80"
protocols = ["http"]
transport = "tcp"
ports = [9000]
action = "redirect"
redirect = "198.18.2.2:80"
"#
    } else {
        ""
    };
    format!(
        r#"version = {version}
[defaults]
mismatch = "reject"
unidentified = "alert"
undecided = "alert"

[[rule]]
name = "https"
protocols = ["tls"]
ports = [443]
action = "allow"
{redirects}
[[rule]]
name = "standard"
protocols = ["*"]
ports = "standard"
action = "allow"
"#
    )
}

/// HTTP GET from the client; the status code, or None when it failed.
fn get(lab: &Lab, url: &str) -> Option<String> {
    let o = lab
        .output(
            &lab.client,
            &[
                "curl",
                "-sk",
                "-g",
                "-o",
                "/dev/null",
                "--max-time",
                "5",
                "-w",
                "%{http_code}",
                url,
            ],
            Duration::from_secs(8),
        )
        .unwrap();
    let code = String::from_utf8_lossy(&o.stdout).to_string();
    (o.status.success() && code.starts_with('2')).then_some(code)
}

/// Requests the python http.server named `name` logged, from `client`.
fn requests_logged(lab: &Lab, name: &str, client: &str) -> usize {
    lab.log_of(name)
        .lines()
        .filter(|l| l.starts_with(client) && l.contains("\"GET /"))
        .count()
}

#[test]
fn redirect_rules_send_diverted_flows_to_their_target_and_judge_the_rest() {
    let mut lab = lab("redir");
    let pol = lab.path("policy.toml");
    std::fs::write(&pol, policy(1, true)).unwrap();
    let state = lab.path("state.json");
    let ev = enforce(
        &mut lab,
        &["--policy", &pol, "--log-all", "--state-file", &state],
    );
    let rules = gw_rules(&lab);
    assert!(rules.contains("-j TPROXY --on-port 4201"), "{rules}");
    assert!(rules.contains("redirect:http-on-9000-to-80"), "{rules}");

    // HTTP to 9000 is redirected to the server on 80: the client gets its
    // answer, the server on 80 sees the client's own address (transparent
    // source), the server on 9000 never sees a request.
    assert!(get(&lab, &format!("http://{SERVER4}:9000/")).is_some());
    let e = wait_event(&ev, |e| e["dest_port"] == 9000 && e["proxied"] == true)
        .unwrap_or_else(|| panic!("no event: {:?}", events(&ev)));
    assert_eq!(e["action"], "redirect");
    assert_eq!(e["app_proto"], "http");
    assert_eq!(e["rule"], "http-on-9000-to-80");
    assert_eq!(e["redirect"], "198.18.2.2:80");
    assert_eq!(e["mitre_technique"], "T1571");
    assert_eq!(
        requests_logged(&lab, "http-80", "::ffff:198.18.1.2"),
        1,
        "{}",
        lab.log_of("http-80")
    );
    assert_eq!(
        requests_logged(&lab, "http-9000", ""),
        0,
        "{}",
        lab.log_of("http-9000")
    );

    // The same from IPv6 to an IPv4 target (the proxy dials from the
    // gateway's own address across families).
    assert!(get(&lab, &format!("http://[{SERVER6}]:9000/")).is_some());
    let e6 = wait_event(&ev, |e| e["dest_ip"] == SERVER6 && e["dest_port"] == 9000).unwrap();
    assert_eq!(e6["action"], "redirect");

    // SSH hiding on 443 is sent to the honeypot (the sshd on 22), which
    // answers with its host key instead of the connection being reset.
    let seen = probe(&lab, Probe::Ssh(SERVER4_B, 443)).unwrap();
    assert!(seen.passed(), "{seen:?}\n{}", lab.log_of("portcullis"));
    let s = wait_event(&ev, |e| e["app_proto"] == "ssh" && e["dest_port"] == 443).unwrap();
    assert_eq!(s["action"], "redirect");
    assert_eq!(s["dest_ip"], SERVER4_B);
    assert!(s["software"].as_str().unwrap().starts_with("OpenSSH"));

    // TLS on 443 is diverted too (443 is a redirect port) and allowed:
    // spliced to its real destination.
    assert!(get(&lab, &format!("https://{SERVER4}:443/")).is_some());
    let t = wait_event(&ev, |e| e["app_proto"] == "tls" && e["dest_port"] == 443).unwrap();
    assert_eq!(
        (t["action"].clone(), t["proxied"].clone()),
        ("allow".into(), true.into())
    );

    // HTTP on 443 matches no redirect rule: the mismatch default rejects
    // it in the proxy.
    assert!(get(&lab, &format!("http://{SERVER4}:443/")).is_none());
    let h = wait_event(&ev, |e| e["app_proto"] == "http" && e["dest_port"] == 443).unwrap();
    assert_eq!(h["action"], "reject");
    assert_eq!(h["rule"], "default:mismatch");

    // Flows no redirect rule can match stay in the queue.
    assert!(get(&lab, &format!("http://{SERVER4}:80/")).is_some());
    assert!(get(&lab, &format!("https://{SERVER4}:8088/")).is_none());
    let q = wait_event(&ev, |e| e["dest_port"] == 8088).unwrap();
    assert_eq!(q["action"], "reject");
    assert!(q.get("proxied").is_none());

    // A reload without the redirect rules removes the divert rules; HTTP
    // on 9000 is then refused in the queue.
    std::fs::write(&pol, policy(2, false)).unwrap();
    assert!(lab.signal("portcullis", 1));
    let mut reloaded = false;
    for _ in 0..60 {
        if lab
            .log_of("portcullis")
            .contains("policy version 2 now in force")
        {
            reloaded = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(reloaded, "{}", lab.log_of("portcullis"));
    assert!(!gw_rules(&lab).contains("TPROXY"));
    assert!(get(&lab, &format!("http://{SERVER4}:9000/")).is_none());
    let r = wait_event(&ev, |e| {
        e["dest_port"] == 9000 && e["policy_version"] == 2 && e["action"] == "reject"
    });
    assert!(r.is_some(), "{:?}", events(&ev));

    let counters = stop(&mut lab);
    assert!(counters["flows_redirected"] >= 3, "{counters:?}");
    assert!(counters["proxy_flows"] >= 5, "{counters:?}");
    let left = gw_rules(&lab);
    assert!(!left.contains("PORTCULLIS"), "{left}");
    let ip_rules = lab.run(&lab.gw.clone(), &["ip", "rule"]).unwrap();
    assert!(!String::from_utf8_lossy(&ip_rules.stdout).contains("4201"));
}

/// Runs `portcullis run ARGS` in the gateway, which must exit 1; its stderr.
fn refused_run(lab: &Lab, args: &[&str]) -> String {
    let exe = exe();
    let mut argv = vec![exe.to_str().unwrap(), "run"];
    argv.extend_from_slice(args);
    let o = lab.output(&lab.gw, &argv, Duration::from_secs(20)).unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    err
}

#[test]
fn host_mode_and_udp_redirects_are_refused_with_the_reason() {
    let lab = lab("redirno");
    let state = lab.path("state.json");
    let pol = lab.path("udp.toml");
    std::fs::write(
        &pol,
        policy(1, false)
            + "\n[[rule]]\nname = \"dns-sink\"\nprotocols = [\"dns\"]\naction = \"redirect\"\nredirect = \"198.18.2.2:53\"\n",
    )
    .unwrap();
    let err = refused_run(&lab, &["--policy", &pol, "--state-file", &state]);
    assert!(
        err.contains("dns-sink") && err.contains("TCP only"),
        "{err}"
    );
    let tcp = lab.path("tcp.toml");
    std::fs::write(&tcp, policy(1, true)).unwrap();
    let err = refused_run(
        &lab,
        &["--policy", &tcp, "--hook", "host", "--state-file", &state],
    );
    assert!(err.contains("gateway mode only"), "{err}");
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
}
