//! The lab's real servers and clients, and the `portcullis lab` demo.
//!
//! Servers (server namespace): openssl s_server (TLS) on 443 and 8088,
//! python's http.server on 80 and 9000, OpenSSH sshd on 22 and on
//! 198.18.2.3:443, dnsmasq on 53 and 5300. Clients (client namespace):
//! curl, ssh-keyscan, dig. portcullis runs in the gateway namespace with
//! the built-in policy.

use super::{Lab, SERVER4, SERVER4_B};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A client connection the lab makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `curl -k https://ADDR:PORT/`.
    Tls(&'static str, u16),
    /// `curl http://ADDR:PORT/`.
    Http(&'static str, u16),
    /// `ssh-keyscan -p PORT ADDR`.
    Ssh(&'static str, u16),
    /// `dig @ADDR -p PORT www.lab.test` over UDP.
    Dns(&'static str, u16),
}

impl Probe {
    /// A short label: "tls 198.18.2.2:443".
    pub fn label(&self) -> String {
        let (p, a, port) = match *self {
            Probe::Tls(a, p) => ("tls", a, p),
            Probe::Http(a, p) => ("http", a, p),
            Probe::Ssh(a, p) => ("ssh", a, p),
            Probe::Dns(a, p) => ("dns/udp", a, p),
        };
        if a.contains(':') {
            format!("{p} [{a}]:{port}")
        } else {
            format!("{p} {a}:{port}")
        }
    }
}

/// What the client saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The exchange completed.
    Passed,
    /// It failed; how.
    Blocked(String),
}

impl Observed {
    /// Whether the exchange completed.
    pub fn passed(&self) -> bool {
        matches!(self, Observed::Passed)
    }
}

fn host(a: &str) -> String {
    if a.contains(':') {
        format!("[{a}]")
    } else {
        a.to_string()
    }
}

/// Runs one probe from the client namespace.
pub fn probe(lab: &Lab, p: Probe) -> anyhow::Result<Observed> {
    let t = Duration::from_secs(8);
    match p {
        Probe::Tls(a, port) | Probe::Http(a, port) => {
            let scheme = if matches!(p, Probe::Tls(..)) {
                "https"
            } else {
                "http"
            };
            let url = format!("{scheme}://{}:{port}/", host(a));
            let o = lab.output(
                &lab.client,
                &[
                    "curl",
                    "-sk",
                    "-o",
                    "/dev/null",
                    "--max-time",
                    "5",
                    "-w",
                    "%{http_code}",
                    &url,
                ],
                t,
            )?;
            let code = String::from_utf8_lossy(&o.stdout).to_string();
            Ok(if o.status.success() && code.starts_with('2') {
                Observed::Passed
            } else {
                Observed::Blocked(curl_error(o.status.code().unwrap_or(-1)))
            })
        }
        Probe::Ssh(a, port) => {
            let port = port.to_string();
            let o = lab.output(
                &lab.client,
                &["ssh-keyscan", "-T", "5", "-t", "ed25519", "-p", &port, a],
                t,
            )?;
            Ok(
                if String::from_utf8_lossy(&o.stdout).contains("ssh-ed25519") {
                    Observed::Passed
                } else {
                    Observed::Blocked("no SSH host key (connection reset)".into())
                },
            )
        }
        Probe::Dns(a, port) => {
            let at = format!("@{a}");
            let port = port.to_string();
            let o = lab.output(
                &lab.client,
                &[
                    "dig",
                    "+short",
                    "+tries=1",
                    "+time=3",
                    &at,
                    "-p",
                    &port,
                    "www.lab.test",
                    "A",
                ],
                t,
            )?;
            let out = String::from_utf8_lossy(&o.stdout).to_string();
            Ok(if out.trim() == SERVER4 {
                Observed::Passed
            } else if out.contains("refused") {
                Observed::Blocked("ICMP port unreachable (refused)".into())
            } else {
                Observed::Blocked(format!(
                    "no answer: {}",
                    out.lines().last().unwrap_or("").trim()
                ))
            })
        }
    }
}

fn curl_error(code: i32) -> String {
    match code {
        7 => "connection refused".into(),
        28 => "timed out".into(),
        35 => "TLS handshake reset".into(),
        52 => "empty reply".into(),
        56 => "connection reset".into(),
        c => format!("curl exit {c}"),
    }
}

/// Starts every lab server and waits until each listens.
pub fn start_servers(lab: &mut Lab) -> anyhow::Result<()> {
    let (key, cert) = (lab.path("key.pem"), lab.path("cert.pem"));
    lab.run(
        &lab.server.clone(),
        &[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-subj",
            "/CN=lab.test",
            "-days",
            "2",
        ],
    )?;
    let s = lab.server.clone();
    // Bound to addresses, not the wildcard: 198.18.2.3:443 is sshd's.
    for (name, accept) in [
        ("tls-443", "198.18.2.2:443"),
        ("tls6-443", "[2001:db8:2::2]:443"),
        ("tls-8088", "198.18.2.2:8088"),
    ] {
        lab.spawn(
            &s,
            name,
            &[
                "openssl", "s_server", "-accept", accept, "-cert", &cert, "-key", &key, "-www",
                "-quiet",
            ],
        )?;
    }
    let www = lab.path("www");
    std::fs::create_dir_all(&www)?;
    std::fs::write(Path::new(&www).join("index.html"), "portcullis lab\n")?;
    for port in ["80", "9000"] {
        lab.spawn(
            &s,
            &format!("http-{port}"),
            &[
                "python3",
                "-m",
                "http.server",
                port,
                "--bind",
                "::",
                "--directory",
                &www,
            ],
        )?;
    }
    let hostkey = lab.path("ssh_host_ed25519_key");
    lab.run(
        &s,
        &[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &hostkey,
        ],
    )?;
    std::fs::create_dir_all("/run/sshd")?;
    let cfg = lab.path("sshd_config");
    std::fs::write(&cfg, format!("HostKey {hostkey}\nPidFile none\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"))?;
    let sshd = if Path::new("/usr/sbin/sshd").exists() {
        "/usr/sbin/sshd"
    } else {
        "sshd"
    };
    lab.spawn(
        &s,
        "ssh-22",
        &[
            sshd,
            "-D",
            "-e",
            "-f",
            &cfg,
            "-o",
            &format!("ListenAddress={SERVER4}:22"),
        ],
    )?;
    lab.spawn(
        &s,
        "ssh-443",
        &[
            sshd,
            "-D",
            "-e",
            "-f",
            &cfg,
            "-o",
            &format!("ListenAddress={SERVER4_B}:443"),
        ],
    )?;
    for port in ["53", "5300"] {
        let pid = lab.path(&format!("dnsmasq-{port}.pid"));
        lab.spawn(
            &s,
            &format!("dns-{port}"),
            &[
                "dnsmasq",
                "-k",
                "--conf-file=/dev/null",
                "-p",
                port,
                "--listen-address=198.18.2.2",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--address=/lab.test/198.18.2.2",
                &format!("--pid-file={pid}"),
                "--user=root",
            ],
        )?;
    }
    for (udp, port) in [
        (false, 443),
        (false, 8088),
        (false, 80),
        (false, 9000),
        (false, 22),
        (true, 53),
        (true, 5300),
    ] {
        lab.wait_listening(&s, udp, port, Duration::from_secs(10))?;
    }
    Ok(())
}

/// Starts portcullis in the gateway and waits until its rules are in.
pub fn start_portcullis(lab: &mut Lab, exe: &Path, extra: &[&str]) -> anyhow::Result<PathBuf> {
    start_portcullis_env(lab, &[], exe, extra)
}

/// [`start_portcullis`] with `NAME=value` environment settings (through
/// `env`), e.g. a `PATH` that puts other tools first.
pub fn start_portcullis_env(
    lab: &mut Lab,
    env: &[&str],
    exe: &Path,
    extra: &[&str],
) -> anyhow::Result<PathBuf> {
    let events = lab.dir.join("events.jsonl");
    let exe_s = exe.display().to_string();
    let ev = events.display().to_string();
    let mut args = vec!["env"];
    args.extend_from_slice(env);
    args.extend([exe_s.as_str(), "run", "--events", ev.as_str()]);
    args.extend_from_slice(extra);
    let gw = lab.gw.clone();
    lab.spawn(&gw, "portcullis", &args)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if lab.log_of("portcullis").contains("enforcing on queues") {
            return Ok(events);
        }
        if lab.wait("portcullis", Duration::from_millis(100)).is_some() {
            bail!("portcullis exited: {}", lab.log_of("portcullis"));
        }
    }
    bail!("portcullis did not start: {}", lab.log_of("portcullis"))
}

/// The demo's flows and what the default policy must do with each.
pub const DEMO: &[(Probe, bool)] = &[
    (Probe::Tls(SERVER4, 443), true),
    (Probe::Tls(SERVER4, 8088), false),
    (Probe::Http(SERVER4, 80), true),
    (Probe::Http(SERVER4, 9000), false),
    (Probe::Ssh(SERVER4, 22), true),
    (Probe::Ssh(SERVER4_B, 443), false),
    (Probe::Dns(SERVER4, 53), true),
    (Probe::Dns(SERVER4, 5300), false),
    (Probe::Tls(super::SERVER6, 443), true),
    (Probe::Http(super::SERVER6, 9000), false),
];

/// `portcullis lab`: build, enforce, probe, print, clean up. True when
/// every flow did what the policy says.
pub fn demo(exe: &Path, keep_events: Option<PathBuf>) -> anyhow::Result<bool> {
    let missing = super::missing_tools();
    if !missing.is_empty() {
        bail!(
            "missing tools: {} (run the README's setup command)",
            missing.join(", ")
        );
    }
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, interrupted.clone())?;
    let mut lab = Lab::new("lab").context("building the lab namespaces (are you root?)")?;
    println!("lab: namespaces {}, {}, {}", lab.client, lab.gw, lab.server);
    start_servers(&mut lab)?;
    let events = start_portcullis(&mut lab, exe, &[])?;
    println!(
        "lab: portcullis enforcing the built-in application-default policy in {}\n",
        lab.gw
    );
    println!(
        "{:<28} {:<10} {:<10} detail",
        "flow", "expected", "observed"
    );
    let mut all_ok = true;
    for (p, allow) in DEMO {
        if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
            bail!("interrupted");
        }
        let seen = probe(&lab, *p)?;
        let ok = seen.passed() == *allow;
        all_ok &= ok;
        let detail = match &seen {
            Observed::Passed => String::new(),
            Observed::Blocked(why) => why.clone(),
        };
        println!(
            "{:<28} {:<10} {:<10} {}{}",
            p.label(),
            if *allow { "allow" } else { "refuse" },
            if seen.passed() { "passed" } else { "refused" },
            detail,
            if ok { "" } else { "   <-- MISMATCH" }
        );
    }
    lab.signal("portcullis", 15);
    lab.wait("portcullis", Duration::from_secs(10));
    let ev = std::fs::read_to_string(&events).unwrap_or_default();
    println!("\nevents (non-allow decisions):");
    for line in ev.lines() {
        println!("  {line}");
    }
    if let Some(keep) = keep_events {
        std::fs::write(keep, &ev)?;
    }
    println!(
        "\n{}",
        if all_ok {
            "lab: every flow matched the policy"
        } else {
            "lab: MISMATCHES above"
        }
    );
    Ok(all_ok)
}
