//! A throwaway lab of network namespaces: client, gateway, server.
//!
//! ```text
//!  client ns            gateway ns                    server ns
//!  198.18.1.2  ---  198.18.1.1 | 198.18.2.1  ---  198.18.2.2, 198.18.2.3
//!  2001:db8:1::2    2001:db8:1::1 | 2001:db8:2::1    2001:db8:2::2
//! ```
//!
//! Only 198.18.0.0/15 and 2001:db8::/32 are used. Names carry the process
//! id and a counter, so labs can run side by side. Dropping a [`Lab`] kills
//! every process it started (by PID) and deletes its namespaces, also when
//! a test panics.

pub mod demo;

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Client address.
pub const CLIENT4: &str = "198.18.1.2";
/// Server address.
pub const SERVER4: &str = "198.18.2.2";
/// Second server address (a second service on the same port).
pub const SERVER4_B: &str = "198.18.2.3";
/// Client IPv6 address.
pub const CLIENT6: &str = "2001:db8:1::2";
/// Server IPv6 address.
pub const SERVER6: &str = "2001:db8:2::2";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running lab.
#[derive(Debug)]
pub struct Lab {
    /// Client namespace name.
    pub client: String,
    /// Gateway namespace name.
    pub gw: String,
    /// Server namespace name.
    pub server: String,
    /// Scratch directory (certificates, configs, logs).
    pub dir: PathBuf,
    children: Vec<(String, Child)>,
}

fn sh(args: &[&str]) -> anyhow::Result<Output> {
    let (cmd, rest) = args.split_first().context("empty command")?;
    let out = Command::new(cmd)
        .args(rest)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

impl Lab {
    /// Builds the three namespaces, links and routes. `tag` (a few letters)
    /// goes into the names.
    pub fn new(tag: &str) -> anyhow::Result<Lab> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = format!("pc{tag}{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("portcullis-{base}"));
        std::fs::create_dir_all(&dir)?;
        let lab = Lab {
            client: format!("{base}c"),
            gw: format!("{base}g"),
            server: format!("{base}s"),
            dir,
            children: Vec::new(),
        };
        // From here on, Drop cleans up whatever was made.
        lab.build()?;
        Ok(lab)
    }

    fn build(&self) -> anyhow::Result<()> {
        for ns in [&self.client, &self.gw, &self.server] {
            sh(&["ip", "netns", "add", ns])?;
            self.run(ns, &["ip", "link", "set", "lo", "up"])?;
        }
        sh(&[
            "ip",
            "link",
            "add",
            "c0",
            "netns",
            &self.client,
            "type",
            "veth",
            "peer",
            "name",
            "g1",
            "netns",
            &self.gw,
        ])?;
        sh(&[
            "ip",
            "link",
            "add",
            "g2",
            "netns",
            &self.gw,
            "type",
            "veth",
            "peer",
            "name",
            "s0",
            "netns",
            &self.server,
        ])?;
        let c = &self.client;
        let g = &self.gw;
        let s = &self.server;
        let steps: &[(&String, &[&str])] = &[
            (c, &["ip", "addr", "add", "198.18.1.2/24", "dev", "c0"]),
            (
                c,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    "2001:db8:1::2/64",
                    "dev",
                    "c0",
                    "nodad",
                ],
            ),
            (g, &["ip", "addr", "add", "198.18.1.1/24", "dev", "g1"]),
            (
                g,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    "2001:db8:1::1/64",
                    "dev",
                    "g1",
                    "nodad",
                ],
            ),
            (g, &["ip", "addr", "add", "198.18.2.1/24", "dev", "g2"]),
            (
                g,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    "2001:db8:2::1/64",
                    "dev",
                    "g2",
                    "nodad",
                ],
            ),
            (s, &["ip", "addr", "add", "198.18.2.2/24", "dev", "s0"]),
            (s, &["ip", "addr", "add", "198.18.2.3/24", "dev", "s0"]),
            (
                s,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    "2001:db8:2::2/64",
                    "dev",
                    "s0",
                    "nodad",
                ],
            ),
            (c, &["ip", "link", "set", "c0", "up"]),
            (g, &["ip", "link", "set", "g1", "up"]),
            (g, &["ip", "link", "set", "g2", "up"]),
            (s, &["ip", "link", "set", "s0", "up"]),
            (c, &["ip", "route", "add", "default", "via", "198.18.1.1"]),
            (
                c,
                &[
                    "ip",
                    "-6",
                    "route",
                    "add",
                    "default",
                    "via",
                    "2001:db8:1::1",
                ],
            ),
            (s, &["ip", "route", "add", "default", "via", "198.18.2.1"]),
            (
                s,
                &[
                    "ip",
                    "-6",
                    "route",
                    "add",
                    "default",
                    "via",
                    "2001:db8:2::1",
                ],
            ),
            (g, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]),
            (g, &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]),
        ];
        for (ns, args) in steps {
            self.run(ns, args)?;
        }
        Ok(())
    }

    /// Runs a command in namespace `ns` and waits; fails on non-zero exit.
    pub fn run(&self, ns: &str, args: &[&str]) -> anyhow::Result<Output> {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        sh(&full)
    }

    /// Runs a command in `ns` and returns its output whatever the exit
    /// status, killing it after `timeout`.
    pub fn output(&self, ns: &str, args: &[&str], timeout: Duration) -> anyhow::Result<Output> {
        let secs = format!("{}", timeout.as_secs_f64());
        let mut full = vec![
            "ip",
            "netns",
            "exec",
            ns,
            "timeout",
            "-k",
            "1",
            secs.as_str(),
        ];
        full.extend_from_slice(args);
        let (cmd, rest) = full.split_first().context("empty")?;
        Ok(Command::new(cmd).args(rest).stdin(Stdio::null()).output()?)
    }

    /// Starts a long-running process in `ns`, stdout and stderr to a log
    /// file in the lab directory. Returns its PID.
    pub fn spawn(&mut self, ns: &str, name: &str, args: &[&str]) -> anyhow::Result<u32> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let pid = child.id();
        self.children.push((name.to_string(), child));
        Ok(pid)
    }

    /// The log of a process started with [`Lab::spawn`].
    pub fn log_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Sends `sig` to a process this lab started, by PID.
    pub fn signal(&self, name: &str, sig: i32) -> bool {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, c)| kill(c.id(), sig))
    }

    /// Waits for a process this lab started to exit; its exit code.
    pub fn wait(&mut self, name: &str, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let idx = self.children.iter().position(|(n, _)| n == name)?;
        loop {
            let (_, child) = self.children.get_mut(idx)?;
            if let Ok(Some(status)) = child.try_wait() {
                let code = status.code().unwrap_or(-1);
                self.children.remove(idx);
                return Some(code);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `ns` listens on `port` (TCP or UDP).
    pub fn wait_listening(
        &self,
        ns: &str,
        udp: bool,
        port: u16,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let flag = if udp { "-lun" } else { "-ltn" };
        let want = format!(":{port} ");
        while Instant::now() < deadline {
            if let Ok(o) = self.run(ns, &["ss", flag]) {
                if String::from_utf8_lossy(&o.stdout).contains(&want) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "nothing listens on {}/{port} in {ns}",
            if udp { "udp" } else { "tcp" }
        )
    }

    /// The lab directory path as a string.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// kill(2) by PID, through the kill command (no unsafe here).
pub fn kill(pid: u32, sig: i32) -> bool {
    Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            // SIGTERM first so portcullis removes its rules; then SIGKILL.
            kill(child.id(), 15);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (_, child) in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.client, &self.gw, &self.server] {
            // Processes started in the namespace by `ip netns exec` children
            // (e.g. forked servers) go with it: list and kill them by PID.
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<u32>() {
                        kill(pid, 9);
                    }
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the tools the lab needs are installed.
pub fn missing_tools() -> Vec<&'static str> {
    [
        "ip",
        "iptables",
        "ip6tables",
        "openssl",
        "curl",
        "python3",
        "dig",
        "ssh-keyscan",
        "ss",
        "dnsmasq",
    ]
    .into_iter()
    .filter(|t| {
        !Path::new("/usr/bin").join(t).exists()
            && !Path::new("/usr/sbin").join(t).exists()
            && !in_path(t)
    })
    .collect()
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
}
