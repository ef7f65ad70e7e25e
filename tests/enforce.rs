//! End-to-end: the real binary in a gateway namespace, real servers and
//! clients on either side, a real NFQUEUE.
#![allow(missing_docs)]

mod common;

use common::*;
use portcullis::lab::demo::{probe, Probe, DEMO};
use portcullis::lab::{Lab, CLIENT4, SERVER4, SERVER4_B};
use std::time::{Duration, Instant};

#[test]
fn default_policy_allows_standard_pairs_and_refuses_the_rest() {
    let mut lab = lab("pairs");
    let ev = enforce(&mut lab, &[]);
    for (p, allow) in DEMO {
        let seen = probe(&lab, *p).unwrap();
        assert_eq!(
            seen.passed(),
            *allow,
            "{}: {seen:?}\n{}",
            p.label(),
            lab.log_of("portcullis")
        );
    }
    // Each refusal says why: the protocol found, the port, T1571.
    for (proto, port) in [("tls", 8088), ("http", 9000), ("ssh", 443), ("dns", 5300)] {
        let e = wait_event(&ev, |e| e["app_proto"] == proto && e["dest_port"] == port)
            .unwrap_or_else(|| panic!("no event for {proto}/{port}: {:?}", events(&ev)));
        assert_eq!(e["action"], "reject");
        assert_eq!(e["rule"], "default:mismatch");
        assert_eq!(e["mitre_technique"], "T1571");
    }
    let ssh = wait_event(&ev, |e| e["app_proto"] == "ssh").unwrap();
    assert_eq!(ssh["dest_ip"], SERVER4_B);
    assert!(ssh["software"].as_str().unwrap().starts_with("OpenSSH"));
    // Allowed flows make no event without --log-all.
    assert!(events(&ev).iter().all(|e| e["action"] != "allow"));
}

#[test]
fn bulk_transfer_is_intact_and_leaves_the_queue_after_the_verdict() {
    let mut lab = lab("bulk");
    let www = lab.path("www");
    let file = format!("{www}/big.bin");
    lab.run(
        &lab.server.clone(),
        &[
            "dd",
            "if=/dev/urandom",
            &format!("of={file}"),
            "bs=1M",
            "count=50",
            "status=none",
        ],
    )
    .unwrap();
    let want = lab.run(&lab.server.clone(), &["sha256sum", &file]).unwrap();
    let want = String::from_utf8_lossy(&want.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let _ev = enforce(&mut lab, &[]);
    let before = queued_total(&lab);
    let out = lab.path("got.bin");
    let url = format!("http://{SERVER4}:80/big.bin");
    let o = lab
        .output(
            &lab.client.clone(),
            &["curl", "-s", "--max-time", "60", "-o", &out, &url],
            Duration::from_secs(70),
        )
        .unwrap();
    assert!(o.status.success(), "download failed: {o:?}");
    let after = queued_total(&lab);
    let got = lab.run(&lab.client.clone(), &["sha256sum", &out]).unwrap();
    let got = String::from_utf8_lossy(&got.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(got, want, "50 MB arrived altered");
    // ~36,000 data segments crossed the gateway; only the handshake, the
    // request and a few packets in flight at the verdict reached the queue.
    let queued = after - before;
    assert!(queued < 40, "{queued} packets of the bulk flow were queued");
}

#[test]
fn flow_that_idles_before_speaking_is_still_judged() {
    let mut lab = lab("idle");
    let ev = enforce(&mut lab, &["--hold-ms", "500"]);
    // Connect to TLS on 8088, stay silent for 3 s (well past the hold
    // bound), then send a ClientHello: the hello must still be refused.
    let script = format!(
        "import socket,ssl,time,sys\n\
         s=socket.create_connection(('{SERVER4}',8088),timeout=10)\n\
         s.setsockopt(socket.SOL_SOCKET,socket.SO_KEEPALIVE,1)\n\
         time.sleep(3)\n\
         c=ssl.create_default_context();c.check_hostname=False;c.verify_mode=ssl.CERT_NONE\n\
         try:\n  c.wrap_socket(s); print('handshake completed')\n\
         except (ConnectionError, ssl.SSLError, OSError) as e:\n  print('refused', type(e).__name__)\n"
    );
    let o = lab
        .output(
            &lab.client.clone(),
            &["python3", "-c", &script],
            Duration::from_secs(20),
        )
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("refused"),
        "client said {said:?}; stderr {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(wait_event(&ev, |e| e["app_proto"] == "tls" && e["dest_port"] == 8088).is_some());
    // And the same silence on an allowed pair still works.
    assert!(probe(&lab, Probe::Tls(SERVER4, 443)).unwrap().passed());
}

#[test]
fn sigterm_removes_every_rule_and_restart_after_a_crash_does_not_duplicate() {
    let mut lab = lab("rules");
    enforce(&mut lab, &[]);
    assert!(gw_rules(&lab).contains("PORTCULLIS"));
    // A crash leaves rules behind...
    assert!(lab.signal("portcullis", 9));
    lab.wait("portcullis", Duration::from_secs(5))
        .expect("portcullis did not die");
    assert!(gw_rules(&lab).contains("PORTCULLIS"));
    // ...which the next start replaces, without duplicates.
    enforce(&mut lab, &[]);
    let rules = gw_rules(&lab);
    let jumps = rules
        .lines()
        .filter(|l| l.contains("-j PORTCULLIS"))
        .count();
    // One FORWARD jump per family in the filter table, and one in the
    // security table (the fail-open counter).
    assert_eq!(
        jumps, 4,
        "one FORWARD jump per family and table expected:\n{rules}"
    );
    assert!(probe(&lab, Probe::Http(SERVER4, 80)).unwrap().passed());
    // SIGTERM: clean exit, nothing left.
    assert!(lab.signal("portcullis", 15));
    let code = lab.wait("portcullis", Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", lab.log_of("portcullis"));
    let rules = gw_rules(&lab);
    assert!(
        !rules.to_lowercase().contains("portcullis"),
        "rules left:\n{rules}"
    );
    assert!(lab.log_of("portcullis").contains("counters:"));
}

#[test]
fn bad_policy_never_starts_enforcement() {
    let mut lab = lab("badpol");
    let bad = lab.path("bad.toml");
    std::fs::write(&bad, "version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n[[rule]]\nname = \"x\"\nprotocols = [\"tls\"]\nports = [70000]\naction = \"allow\"\n").unwrap();
    let exe = exe().display().to_string();
    let gw = lab.gw.clone();
    lab.spawn(&gw, "bad", &[&exe, "run", "--policy", &bad])
        .unwrap();
    let code = lab.wait("bad", Duration::from_secs(10));
    assert_eq!(code, Some(1));
    let log = lab.log_of("bad");
    assert!(
        log.contains("bad.toml:9:") && log.contains("ports"),
        "{log}"
    );
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
    let t = Instant::now();
    assert!(
        probe(&lab, Probe::Tls(SERVER4, 8088)).unwrap().passed(),
        "nothing enforces: 8088 passes"
    );
    assert!(t.elapsed() < Duration::from_secs(8));
}

#[test]
fn host_mode_enforces_the_hosts_own_traffic() {
    let mut lab = lab("host");
    // portcullis on the server itself: its INPUT and OUTPUT, not FORWARD.
    let exe = exe().display().to_string();
    let ev = lab.path("host-events.jsonl");
    let state = lab.path("host-state.json");
    let server = lab.server.clone();
    lab.spawn(
        &server,
        "portcullis-host",
        &[
            &exe,
            "run",
            "--hook",
            "host",
            "--events",
            &ev,
            "--state-file",
            &state,
        ],
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !lab
        .log_of("portcullis-host")
        .contains("enforcing on queues")
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            lab.log_of("portcullis-host")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Client-first (TLS, HTTP) judged on INPUT; server-first (the SSH
    // banner the host itself sends on 443) judged on OUTPUT.
    assert!(probe(&lab, Probe::Tls(SERVER4, 443)).unwrap().passed());
    assert!(!probe(&lab, Probe::Tls(SERVER4, 8088)).unwrap().passed());
    assert!(probe(&lab, Probe::Http(SERVER4, 80)).unwrap().passed());
    assert!(!probe(&lab, Probe::Http(SERVER4, 9000)).unwrap().passed());
    assert!(probe(&lab, Probe::Ssh(SERVER4, 22)).unwrap().passed());
    assert!(!probe(&lab, Probe::Ssh(SERVER4_B, 443)).unwrap().passed());
    assert!(probe(&lab, Probe::Dns(SERVER4, 53)).unwrap().passed());
    let ev = std::path::PathBuf::from(ev);
    let e = wait_event(&ev, |e| e["app_proto"] == "ssh" && e["dest_port"] == 443)
        .unwrap_or_else(|| panic!("{:?}", events(&ev)));
    assert_eq!(e["mitre_technique"], "T1571");
    // The gateway forwards untouched: no rule there.
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
}

/// HTTP requests to port 80 through the gateway: how many succeeded.
fn http_requests(lab: &Lab, n: usize) -> usize {
    let url = format!("http://{SERVER4}:80/");
    (0..n)
        .filter(|_| {
            lab.output(
                &lab.client.clone(),
                &["curl", "-s", "-o", "/dev/null", "--max-time", "5", &url],
                Duration::from_secs(8),
            )
            .is_ok_and(|o| o.status.success())
        })
        .count()
}

#[test]
fn syn_log_queues_only_payload_and_pins_flows_to_their_queue() {
    // Default when failing open: opening SYNs are copied to the SYN log,
    // nothing without payload is queued; two queues share the flows.
    let mut lab = lab("synlog");
    let ev = enforce(&mut lab, &["--queues", "0:1"]);
    assert!(lab.log_of("portcullis").contains("handshake Log"));
    for (p, allow) in DEMO {
        let seen = probe(&lab, *p).unwrap();
        assert_eq!(seen.passed(), *allow, "{}: {seen:?}", p.label());
    }
    let before: u64 = queued_by_queue(&lab).values().sum();
    assert_eq!(http_requests(&lab, 10), 10);
    let per_queue = queued_by_queue(&lab);
    let queued = per_queue.values().sum::<u64>() - before;
    // One request segment per connection (a retransmission at most adds one).
    assert!(
        (10..=14).contains(&queued),
        "{queued} packets queued for 10 HTTP requests: {per_queue:?}"
    );
    // Round-robin pinning used both queues.
    assert!(
        per_queue.get(&0).is_some_and(|&n| n > 0) && per_queue.get(&1).is_some_and(|&n| n > 0),
        "{per_queue:?}"
    );
    // The SYN was seen (not a mid-stream pickup): the refusals say so.
    let e = wait_event(&ev, |e| e["dest_port"] == 8088).unwrap();
    assert!(e.get("midstream").is_none_or(|m| m == false), "{e}");
    let c = stop(&mut lab);
    assert!(c["syns_logged"] >= 10, "{c:?}");
    assert_eq!(c["passed"], 0, "{c:?}");
    assert_eq!(c["syn_log_lost"], 0, "{c:?}");
}

#[test]
fn queued_syn_mode_still_enforces_and_queues_the_syn() {
    let mut lab = lab("synq");
    enforce(&mut lab, &["--handshake", "syn"]);
    assert!(lab.log_of("portcullis").contains("handshake Syn"));
    for (p, allow) in DEMO {
        let seen = probe(&lab, *p).unwrap();
        assert_eq!(seen.passed(), *allow, "{}: {seen:?}", p.label());
    }
    let before = queued_total(&lab);
    assert_eq!(http_requests(&lab, 10), 10);
    let queued = queued_total(&lab) - before;
    assert!((20..=24).contains(&queued), "{queued} packets queued");
    let c = stop(&mut lab);
    assert_eq!(c["syns_logged"], 0, "{c:?}");
}

/// A DNS-family answer sent as the first datagram of a flow of its own:
/// an LLMNR answer comes back unicast from 5355 after a multicast query
/// that conntrack does not tie to it (RFC 4795 2.5), an mDNS answer to a
/// legacy unicast query from 5353, a DNS answer whose query the gateway
/// never saw from 53. Each must reach the asker and be judged from the
/// answering side (its protocol on its own port), not as its protocol on
/// the asker's random port (which the default policy would refuse).
#[test]
fn dns_family_answers_seen_first_pass_and_are_judged_from_the_answerer() {
    let mut lab = lab("answers");
    let ev = enforce(&mut lab, &["--log-all"]);
    // From the second server address: dnsmasq holds 198.18.2.2:53.
    let (c, s) = (lab.client.clone(), lab.server.clone());
    // A well-formed answer: QR set, one question ("host" A IN), one A record.
    const ANSWER: &str = "bytes.fromhex('12348000000100010000000004686f73740000010001c00c000100010000001e0004c6120202')";
    for (i, (sport, proto)) in [(5355u16, "llmnr"), (5353, "mdns"), (53, "dns")]
        .into_iter()
        .enumerate()
    {
        let dport = 40123 + i as u16;
        let name = format!("asker-{sport}");
        let recv = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.bind(('{CLIENT4}',{dport}))\ns.settimeout(5)\n\
             try:\n  d,a=s.recvfrom(2048)\n  print('got',a[1],len(d))\n\
             except socket.timeout:\n  print('timeout')\n"
        );
        lab.spawn(&c, &name, &["python3", "-c", &recv]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let send = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.bind(('{SERVER4_B}',{sport}))\ns.sendto({ANSWER},('{CLIENT4}',{dport}))\n"
        );
        let out = lab.run(&s, &["python3", "-c", &send]).unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(lab.wait(&name, Duration::from_secs(8)), Some(0));
        let got = lab.log_of(&name);
        assert!(
            got.contains(&format!("got {sport} ")),
            "{proto} answer from {sport} did not arrive: {got}\n{:?}",
            events(&ev)
        );
        let e = wait_event(&ev, |e| e["app_proto"] == proto)
            .unwrap_or_else(|| panic!("no {proto} event: {:?}", events(&ev)));
        assert_eq!(e["action"], "allow", "{e}");
        assert_eq!(e["dest_ip"], SERVER4_B, "{e}");
        assert_eq!(e["dest_port"], sport, "{e}");
        assert_eq!(e["src_port"], dport, "{e}");
    }
}

/// TCP Fast Open: the request rides in the SYN (RFC 7413), so the packet
/// that opens the flow is also its first payload. It must be judged like
/// any other first payload, in the default handshake mode (SYNs copied to
/// the SYN log, payload queued) and with SYNs queued: HTTP on 8080 (a
/// standard HTTP port) passes, HTTP on 9090 is refused with an event.
#[test]
fn tcp_fast_open_requests_are_judged_from_the_syn() {
    for handshake in ["log", "syn"] {
        let mut lab = lab(&format!("tfo{handshake}"));
        let (c, s) = (lab.client.clone(), lab.server.clone());
        // Client: send data in the SYN without a cookie; server: accept it.
        lab.run(&c, &["sysctl", "-qw", "net.ipv4.tcp_fastopen=5"])
            .unwrap();
        lab.run(&s, &["sysctl", "-qw", "net.ipv4.tcp_fastopen=515"])
            .unwrap();
        for port in [8080, 9090] {
            let server = format!(
                "import socket,http.server as h\n\
                 class S(h.ThreadingHTTPServer):\n  def server_bind(self):\n    \
                 self.socket.setsockopt(socket.IPPROTO_TCP,socket.TCP_FASTOPEN,16)\n    \
                 super().server_bind()\n\
                 S(('{SERVER4}',{port}),h.SimpleHTTPRequestHandler).serve_forever()\n"
            );
            lab.spawn(&s, &format!("tfo-{port}"), &["python3", "-c", &server])
                .unwrap();
            lab.wait_listening(&s, false, port, Duration::from_secs(10))
                .unwrap();
        }
        let ev = enforce(&mut lab, &["--handshake", handshake]);
        let fastopen = |lab: &Lab| -> u64 {
            let o = lab
                .run(&s, &["nstat", "-az", "TcpExtTCPFastOpenPassive"])
                .unwrap();
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("TcpExtTCPFastOpenPassive"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let curl = |lab: &Lab, port: u16| {
            let url = format!("http://{SERVER4}:{port}/");
            let o = lab
                .output(
                    &c,
                    &[
                        "curl",
                        "-s",
                        "--tcp-fastopen",
                        "--max-time",
                        "5",
                        "-o",
                        "/dev/null",
                        &url,
                    ],
                    Duration::from_secs(10),
                )
                .unwrap();
            o.status.success()
        };
        let before = fastopen(&lab);
        assert!(curl(&lab, 8080), "{handshake}: TFO HTTP on 8080 failed");
        assert!(
            fastopen(&lab) > before,
            "{handshake}: the server saw no data in a SYN: the test did not exercise TFO"
        );
        assert!(!curl(&lab, 9090), "{handshake}: TFO HTTP on 9090 crossed");
        let e = wait_event(&ev, |e| e["dest_port"] == 9090)
            .unwrap_or_else(|| panic!("{handshake}: no event: {:?}", events(&ev)));
        assert_eq!(
            (&e["app_proto"], &e["action"]),
            (&"http".into(), &"reject".into()),
            "{e}"
        );
    }
}

/// A kernel without the bpf match (xt_bpf) cannot run the default SYN-log
/// mode. Simulated with iptables-restore wrappers that refuse any script
/// using `-m bpf`, as iptables does when the match cannot be loaded:
/// portcullis must say so, queue every segment instead, and still enforce.
#[test]
fn default_handshake_falls_back_when_the_bpf_match_is_refused() {
    let mut lab = lab("nobpf");
    let shim = lab.path("shim");
    std::fs::create_dir_all(&shim).unwrap();
    for tool in ["iptables-restore", "ip6tables-restore"] {
        let real = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
        assert!(!real.is_empty(), "{tool} not found");
        let script = format!(
            "#!/bin/sh\nin=$(cat)\ncase \"$in\" in *\"-m bpf\"*)\n  \
             echo \"{tool}: Couldn't load match \\`bpf':No such file or directory\" >&2; exit 2;;\nesac\n\
             printf '%s\\n' \"$in\" | exec {real} \"$@\"\n"
        );
        let path = format!("{shim}/{tool}");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("PATH={shim}:{}", std::env::var("PATH").unwrap_or_default());
    let ev = portcullis::lab::demo::start_portcullis_env(&mut lab, &[&path], &exe(), &[])
        .expect("portcullis must start without the bpf match");
    let log = lab.log_of("portcullis");
    assert!(
        log.contains("needs rules this kernel refuses") && log.contains("handshake All"),
        "{log}"
    );
    assert!(probe(&lab, Probe::Http(SERVER4, 80)).unwrap().passed());
    assert!(!probe(&lab, Probe::Http(SERVER4, 9000)).unwrap().passed());
    assert!(wait_event(&ev, |e| e["dest_port"] == 9000 && e["action"] == "reject").is_some());
    // Nothing of the scratch chain is left behind.
    let o = lab
        .run(&lab.gw.clone(), &["iptables-save", "-t", "filter"])
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains("portcullis-probe"));
}
