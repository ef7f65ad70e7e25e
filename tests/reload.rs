//! End-to-end signed hot reload: while a bulk transfer and a stream of new
//! connections run through the gateway, a signed policy replaced on disk
//! flips HTTP on port 9000 from allowed to denied. The established
//! transfer must finish intact, connections opened before the reload pass,
//! connections opened after it are refused; then a reload signed by an
//! untrusted key (by file watch and by SIGHUP) changes nothing.
#![allow(missing_docs)]

mod common;

use common::*;
use portcullis::lab::demo::{probe, Probe};
use portcullis::lab::{Lab, SERVER4};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn cli(args: &[&str]) -> String {
    let o = std::process::Command::new(exe())
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "portcullis {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn key_id(pub_path: &str) -> String {
    let text = std::fs::read_to_string(pub_path).unwrap();
    text.lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string()
}

fn policy(version: u64, kid: &str, http_9000: bool) -> String {
    let extra = if http_9000 {
        "[[rule]]\nname = \"http-9000\"\nprotocols = [\"http\"]\nports = [9000]\naction = \"allow\"\n"
    } else {
        ""
    };
    format!(
        "version = {version}\nkey_id = \"{kid}\"\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n{extra}[[rule]]\nname = \"app-default\"\nprotocols = [\"*\"]\nports = \"standard\"\naction = \"allow\"\n"
    )
}

/// Writes `text` signed with `sec` to `dest` the way an operator would:
/// both files prepared aside, then renamed into place, policy first.
fn publish(lab: &Lab, dest: &str, text: &str, sec: &str) {
    let staged = lab.path("staged.toml");
    std::fs::write(&staged, text).unwrap();
    cli(&["sign", &staged, "--key", sec]);
    std::fs::rename(&staged, dest).unwrap();
    std::fs::rename(format!("{staged}.minisig"), format!("{dest}.minisig")).unwrap();
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn wait_log(lab: &Lab, needle: &str, timeout: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if lab.log_of("portcullis").contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// One line per connection: "START_TIME ok|refused DETAIL".
const STREAM: &str = r#"
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    t = time.time()
    try:
        s = socket.create_connection((host, port), timeout=3)
        s.settimeout(3)
        s.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        r = "ok" if data.startswith(b"HTTP/1.0 200") else "refused empty"
    except OSError as e:
        r = "refused " + type(e).__name__
    print("%.3f %s" % (t, r), flush=True)
    time.sleep(0.1)
print("done", flush=True)
"#;

#[test]
fn signed_reload_flips_a_pair_without_breaking_established_flows() {
    let mut lab = lab("reload");
    let (pubk, sec) = (lab.path("ops.pub"), lab.path("ops.sec"));
    cli(&["keygen", "--pub", &pubk, "--sec", &sec, "--no-password"]);
    let (rogue_pub, rogue_sec) = (lab.path("rogue.pub"), lab.path("rogue.sec"));
    cli(&[
        "keygen",
        "--pub",
        &rogue_pub,
        "--sec",
        &rogue_sec,
        "--no-password",
    ]);
    let kid = key_id(&pubk);
    let pol = lab.path("policy.toml");
    publish(&lab, &pol, &policy(1, &kid, true), &sec);

    // 24 MB served on 9000, fetched at 4 MB/s: ~6 s, across the reload.
    let www = lab.path("www");
    let big = format!("{www}/big.bin");
    let server = lab.server.clone();
    lab.run(
        &server,
        &[
            "dd",
            "if=/dev/urandom",
            &format!("of={big}"),
            "bs=1M",
            "count=24",
            "status=none",
        ],
    )
    .unwrap();
    let sum = |lab: &Lab, ns: &str, f: &str| {
        let o = lab.run(ns, &["sha256sum", f]).unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let want = sum(&lab, &server, &big);

    let state = lab.path("state.json");
    let ev = enforce(
        &mut lab,
        &[
            "--policy",
            &pol,
            "--trusted-key",
            &pubk,
            "--state-file",
            &state,
        ],
    );
    assert!(
        probe(&lab, Probe::Http(SERVER4, 9000)).unwrap().passed(),
        "v1 allows http/9000"
    );

    let client = lab.client.clone();
    let got = lab.path("got.bin");
    let url = format!("http://{SERVER4}:9000/big.bin");
    lab.spawn(
        &client,
        "bulk",
        &[
            "curl",
            "-s",
            "--limit-rate",
            "4M",
            "--max-time",
            "40",
            "-o",
            &got,
            &url,
        ],
    )
    .unwrap();
    let script = lab.path("stream.py");
    std::fs::write(&script, STREAM).unwrap();
    lab.spawn(
        &client,
        "stream",
        &["python3", &script, SERVER4, "9000", "50"],
    )
    .unwrap();

    // Let the stream open a few connections under v1 first (python may
    // take a while to start on a loaded machine); bounded wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while lab
        .log_of("stream")
        .lines()
        .filter(|l| l.ends_with(" ok"))
        .count()
        < 8
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let triggered = now_s();
    publish(&lab, &pol, &policy(2, &kid, false), &sec);
    assert!(
        wait_log(
            &lab,
            "policy version 2 now in force",
            Duration::from_secs(5)
        ),
        "{}",
        lab.log_of("portcullis")
    );
    let confirmed = now_s();

    assert_eq!(
        lab.wait("stream", Duration::from_secs(30)),
        Some(0),
        "{}",
        lab.log_of("stream")
    );
    assert_eq!(
        lab.wait("bulk", Duration::from_secs(40)),
        Some(0),
        "bulk transfer broke"
    );
    assert_eq!(
        sum(&lab, &client, &got),
        want,
        "bulk transfer arrived altered"
    );

    let lines = lab.log_of("stream");
    let (mut before, mut after) = (0, 0);
    for l in lines.lines().filter(|l| *l != "done") {
        let (t, r) = l.split_once(' ').unwrap();
        let t: f64 = t.parse().unwrap();
        if t < triggered {
            assert!(
                r == "ok",
                "connection before the reload refused: {l}\n{lines}"
            );
            before += 1;
        } else if t > confirmed {
            assert!(
                r.starts_with("refused"),
                "connection after the reload passed: {l}\n{lines}"
            );
            after += 1;
        }
    }
    assert!(
        before >= 5 && after >= 5,
        "too few connections on either side: {before}/{after}\n{lines}"
    );
    let e = wait_event(&ev, |e| e["dest_port"] == 9000 && e["action"] == "reject").unwrap();
    assert_eq!(
        (e["policy_version"].as_u64(), e["rule"].as_str()),
        (Some(2), Some("default:mismatch"))
    );
    assert!(wait_event(&ev, |e| e["event_type"] == "policy"
        && e["result"] == "accepted"
        && e["trigger"] == "watch")
    .is_some());

    // A rogue v3 that would re-allow 9000: refused by the watch and by
    // SIGHUP, and nothing changes.
    publish(
        &lab,
        &pol,
        &policy(3, &key_id(&rogue_pub), true),
        &rogue_sec,
    );
    assert!(
        wait_log(&lab, "reload refused (watch)", Duration::from_secs(5)),
        "{}",
        lab.log_of("portcullis")
    );
    assert!(lab.signal("portcullis", 1));
    assert!(
        wait_log(&lab, "reload refused (signal)", Duration::from_secs(5)),
        "{}",
        lab.log_of("portcullis")
    );
    let log = lab.log_of("portcullis");
    assert!(log.contains("which is not a trusted key"), "{log}");
    let refused = wait_event(&ev, |e| {
        e["event_type"] == "policy" && e["result"] == "refused"
    })
    .unwrap();
    assert_eq!(refused["running_version"], 2);
    assert!(
        !probe(&lab, Probe::Http(SERVER4, 9000)).unwrap().passed(),
        "rogue policy took effect"
    );
    assert!(probe(&lab, Probe::Http(SERVER4, 80)).unwrap().passed());
    // The accepted version persisted.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(st["version"], 2);

    // A restart with the old (validly signed) v1 is refused: rollback.
    assert!(lab.signal("portcullis", 15));
    let code = lab.wait("portcullis", Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", lab.log_of("portcullis"));
    publish(&lab, &pol, &policy(1, &kid, true), &sec);
    let gw = lab.gw.clone();
    let exe_s = exe().display().to_string();
    lab.spawn(
        &gw,
        "old",
        &[
            &exe_s,
            "run",
            "--policy",
            &pol,
            "--trusted-key",
            &pubk,
            "--state-file",
            &state,
        ],
    )
    .unwrap();
    assert_eq!(lab.wait("old", Duration::from_secs(10)), Some(1));
    assert!(
        lab.log_of("old")
            .contains("not higher than last accepted version 2"),
        "{}",
        lab.log_of("old")
    );
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
}

#[test]
fn run_refuses_udp_redirect_and_unsigned_policies() {
    let mut lab = Lab::new("redir").expect("namespaces (root needed)");
    let exe_s = exe().display().to_string();
    let gw = lab.gw.clone();
    let state = lab.path("state.json");
    let pol = lab.path("redirect.toml");
    std::fs::write(&pol, "version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n[[rule]]\nname = \"sinkhole\"\nprotocols = [\"unidentified\"]\nports = [9000]\naction = \"redirect\"\nredirect = \"198.18.2.9:80\"\n").unwrap();
    lab.spawn(
        &gw,
        "redir",
        &[&exe_s, "run", "--policy", &pol, "--state-file", &state],
    )
    .unwrap();
    assert_eq!(lab.wait("redir", Duration::from_secs(10)), Some(1));
    // Unidentified flows can be UDP, which the stream proxy cannot take.
    assert!(
        lab.log_of("redir")
            .contains("\"sinkhole\" redirects and can match UDP flows"),
        "{}",
        lab.log_of("redir")
    );
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
    // `check` refuses it for the same reason.
    let o = std::process::Command::new(exe())
        .args(["check", &pol])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("TCP only"));

    let (pubk, sec) = (lab.path("k.pub"), lab.path("k.sec"));
    cli(&["keygen", "--pub", &pubk, "--sec", &sec, "--no-password"]);
    let plain = lab.path("plain.toml");
    std::fs::write(&plain, "version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n").unwrap();
    lab.spawn(
        &gw,
        "unsigned",
        &[
            &exe_s,
            "run",
            "--policy",
            &plain,
            "--trusted-key",
            &pubk,
            "--state-file",
            &state,
        ],
    )
    .unwrap();
    assert_eq!(lab.wait("unsigned", Duration::from_secs(10)), Some(1));
    assert!(
        lab.log_of("unsigned").contains("must be signed"),
        "{}",
        lab.log_of("unsigned")
    );
    lab.spawn(&gw, "builtin", &[&exe_s, "run", "--trusted-key", &pubk])
        .unwrap();
    assert_eq!(lab.wait("builtin", Duration::from_secs(10)), Some(1));
    assert!(
        lab.log_of("builtin").contains("needs --policy"),
        "{}",
        lab.log_of("builtin")
    );
    assert!(!gw_rules(&lab).contains("PORTCULLIS"));
}

#[test]
fn minisign_tool_signs_what_portcullis_verifies_and_back() {
    let dir = std::env::temp_dir().join(format!("pc-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n).display().to_string();
    let sh = |args: &[&str]| {
        let o = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    };
    // minisign's key, minisign's signature (prehashed, and legacy -l),
    // verified by portcullis.
    sh(&[
        "minisign",
        "-G",
        "-W",
        "-f",
        "-p",
        &p("m.pub"),
        "-s",
        &p("m.sec"),
    ]);
    let kid = key_id(&p("m.pub"));
    std::fs::write(p("a.toml"), policy(4, &kid, true)).unwrap();
    for legacy in [false, true] {
        let (msec, a) = (p("m.sec"), p("a.toml"));
        let mut args = vec!["minisign", "-S", "-s", msec.as_str()];
        if legacy {
            args.push("-l");
        }
        args.extend(["-m", a.as_str()]);
        sh(&args);
        let out = cli(&["check", &p("a.toml"), "--key", &p("m.pub")]);
        // minisign prints key ids without leading zeros; portcullis pads
        // them to 16 digits.
        assert!(
            out.contains(&format!("signature: good, key {kid:0>16}")),
            "{out}"
        );
    }
    // portcullis's key and signature, verified by minisign.
    cli(&[
        "keygen",
        "--pub",
        &p("k.pub"),
        "--sec",
        &p("k.sec"),
        "--no-password",
    ]);
    std::fs::write(p("b.toml"), policy(5, &key_id(&p("k.pub")), true)).unwrap();
    cli(&["sign", &p("b.toml"), "--key", &p("k.sec")]);
    sh(&["minisign", "-V", "-p", &p("k.pub"), "-m", &p("b.toml")]);
    // And a tampered file fails on both sides.
    std::fs::write(p("b.toml"), policy(5, &key_id(&p("k.pub")), false)).unwrap();
    let o = std::process::Command::new("minisign")
        .args(["-V", "-p", &p("k.pub"), "-m", &p("b.toml")])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let o = std::process::Command::new(exe())
        .args(["check", &p("b.toml"), "--key", &p("k.pub")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}
