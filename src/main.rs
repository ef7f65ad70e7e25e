//! The portcullis command line: argument parsing and wiring only.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis::daemon::{self, FailMode, RunOptions};
use portcullis::flow::Bounds;
use portcullis::policy::sign;
use portcullis::rules::Hook;
use std::path::PathBuf;
use std::process::ExitCode;

mod classify_cmd;
use classify_cmd::ClassifyArgs;

/// Inline enforcer of protocol/port pairs (MITRE ATT&CK T1571).
#[derive(Parser, Debug)]
#[command(name = "portcullis", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    /// iptables where it works, else native nft if the kernel has the nft queue statement.
    Auto,
    /// iptables / ip6tables (legacy or nft-compat).
    Iptables,
    /// Native nftables.
    Nft,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fail {
    Open,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Handshake {
    /// A copy of the opening SYN goes to an NFLOG group; nothing without
    /// payload is queued.
    Log,
    /// Only the opening SYN is queued.
    Syn,
    /// Every TCP segment of an undecided flow is queued.
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum HookArg {
    /// A router between zones (FORWARD).
    Forward,
    /// This host's own traffic (OUTPUT + INPUT).
    Host,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Enforce the policy on live traffic through NFQUEUE.
    Run {
        /// Policy file (TOML); the built-in application-default without it.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Queue range A:B (one worker per queue) or a single queue.
        #[arg(long, default_value = "0:0", value_parser = parse_queues)]
        queues: (u16, u16),
        /// What happens to traffic while portcullis is down or its queue is full.
        #[arg(long, value_enum, default_value = "open")]
        fail: Fail,
        /// Write events (JSON lines) to this file; "-" for stdout.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Emit an event for every decision, not only non-allow ones.
        #[arg(long)]
        log_all: bool,
        /// Where portcullis sits.
        #[arg(long, value_enum, default_value = "forward")]
        hook: HookArg,
        /// Payload packets held per flow before it is decided on what it has.
        #[arg(long, default_value_t = 16)]
        hold_packets: usize,
        /// Milliseconds a flow may be held before it is decided on what it has.
        #[arg(long, default_value_t = 2000)]
        hold_ms: u64,
        /// Pending flows per queue before the oldest is evicted.
        #[arg(long, default_value_t = 65536)]
        max_flows: usize,
        /// Kernel queue length per queue.
        #[arg(long, default_value_t = 4096)]
        queue_len: u32,
        /// Netfilter backend that installs the rules.
        #[arg(long, value_enum, default_value = "auto")]
        backend: BackendArg,
        /// Sample bytes held by all pending flows of a queue together; the
        /// oldest flows are evicted beyond it.
        #[arg(long, default_value_t = 64 << 20)]
        max_held_bytes: usize,
        /// Pin worker i to the i-th CPU of this list ("0,2-3"), cycling.
        #[arg(long, value_parser = parse_cpus)]
        cpu_affinity: Option<CpuList>,
        /// Which TCP segments without payload reach userspace: "log" (a
        /// copy of the opening SYN through NFLOG; the default when failing
        /// open), "syn" (the opening SYN is queued; the default when
        /// failing closed) or "all". The rest pass in the kernel.
        #[arg(long, value_enum)]
        handshake: Option<Handshake>,
        /// First NFLOG group of the SYN log (queue lo+k logs to group G+k).
        #[arg(long, default_value_t = 4200)]
        log_group: u16,
        /// First port of the stream proxy's listeners on 127.0.0.1 and ::1
        /// (used only when the policy redirects TCP; one more port per
        /// input interface the policy names).
        #[arg(long, default_value_t = 4201)]
        proxy_port: u16,
        /// Flows the stream proxy holds at once; beyond it new diverted
        /// flows are reset (counted as proxy_full).
        #[arg(long, default_value_t = 4096)]
        proxy_max_conns: usize,
        /// Minisign public key trusted to sign policies (repeatable); with
        /// one, every policy must be signed (POLICY.minisig).
        #[arg(long = "trusted-key", value_name = "PUB")]
        trusted_keys: Vec<PathBuf>,
        /// Where the last accepted policy version is kept (rollback protection).
        #[arg(long, default_value = portcullis::policy::state::DEFAULT_STATE_FILE)]
        state_file: PathBuf,
        /// Accept a policy older than the last accepted one (explicit rollback).
        #[arg(long)]
        allow_downgrade: bool,
        /// Do not reload when the policy file or its signature is replaced.
        #[arg(long)]
        no_watch: bool,
    },
    /// Verify, parse, compile and analyse a policy file; exit 0 if it is valid.
    Check {
        /// The policy file.
        policy: PathBuf,
        /// Minisign public key (repeatable): the signature POLICY.minisig must
        /// verify with one of them.
        #[arg(long = "key", value_name = "PUB")]
        keys: Vec<PathBuf>,
    },
    /// Generate a minisign key pair for signing policies.
    Keygen {
        /// Public key file to write.
        #[arg(long = "pub", value_name = "PUB")]
        public: PathBuf,
        /// Secret key file to write (mode 0600).
        #[arg(long = "sec", value_name = "SEC")]
        secret: PathBuf,
        /// Store the secret key unencrypted (otherwise the password comes
        /// from PORTCULLIS_KEY_PASSWORD or a prompt).
        #[arg(long)]
        no_password: bool,
    },
    /// Sign a policy file: writes POLICY.minisig (minisign format).
    Sign {
        /// The policy file.
        policy: PathBuf,
        /// Secret key (password from PORTCULLIS_KEY_PASSWORD or a prompt if
        /// it is encrypted).
        #[arg(long = "key", value_name = "SEC")]
        key: PathBuf,
    },
    /// Print the standard-ports catalogue the default policy is built from.
    Catalogue,
    /// Identify the protocol of every flow in a pcap or pcapng capture, with
    /// the datapath's own flow, reassembly and detection code.
    Classify(ClassifyArgs),
    /// Build a throwaway 3-namespace lab, enforce the default policy, and
    /// show which real client connections pass and which are refused.
    Lab {
        /// Keep the lab's event log at this path.
        #[arg(long)]
        events: Option<PathBuf>,
    },
}

/// A CPU list argument.
#[derive(Clone, Debug)]
struct CpuList(Vec<usize>);

fn parse_cpus(s: &str) -> Result<CpuList, String> {
    portcullis::datapath::affinity::parse_cpu_list(s).map(CpuList)
}

/// The key password: PORTCULLIS_KEY_PASSWORD, or typed twice on a terminal.
fn password() -> anyhow::Result<String> {
    if let Ok(pw) = std::env::var("PORTCULLIS_KEY_PASSWORD") {
        return Ok(pw);
    }
    let a = rpassword::prompt_password("Password for the new secret key: ")?;
    let b = rpassword::prompt_password("Again: ")?;
    anyhow::ensure!(a == b, "the passwords differ");
    anyhow::ensure!(
        !a.is_empty(),
        "empty password; use --no-password for an unencrypted key"
    );
    Ok(a)
}

fn parse_queues(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| format!("bad queue number {a:?}"))?;
    let b: u16 = b.parse().map_err(|_| format!("bad queue number {b:?}"))?;
    if a > b {
        return Err(format!("queue range {s} runs backwards"));
    }
    Ok((a, b))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("portcullis: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Run {
            policy,
            queues,
            fail,
            events,
            log_all,
            hook,
            hold_packets,
            hold_ms,
            max_flows,
            queue_len,
            backend,
            max_held_bytes,
            cpu_affinity,
            handshake,
            log_group,
            proxy_port,
            proxy_max_conns,
            trusted_keys,
            state_file,
            allow_downgrade,
            no_watch,
        } => {
            let opts = RunOptions {
                policy,
                queues,
                fail: match fail {
                    Fail::Open => FailMode::Open,
                    Fail::Closed => FailMode::Closed,
                },
                events,
                log_all,
                hook: match hook {
                    HookArg::Forward => Hook::Forward,
                    HookArg::Host => Hook::Host,
                },
                bounds: Bounds {
                    max_packets: hold_packets,
                    max_hold_ms: hold_ms,
                    max_flows,
                    max_total_bytes: max_held_bytes,
                    ..Bounds::default()
                },
                queue_len,
                backend: match backend {
                    BackendArg::Auto => portcullis::rules::BackendChoice::Auto,
                    BackendArg::Iptables => portcullis::rules::BackendChoice::Iptables,
                    BackendArg::Nft => portcullis::rules::BackendChoice::Nft,
                },
                cpus: cpu_affinity.map(|c| c.0).unwrap_or_default(),
                handshake: handshake.map(|h| match h {
                    Handshake::Log => portcullis::rules::Handshake::Log,
                    Handshake::Syn => portcullis::rules::Handshake::Syn,
                    Handshake::All => portcullis::rules::Handshake::All,
                }),
                log_group,
                proxy_port,
                proxy_max_conns,
                trusted_keys,
                state_file,
                allow_downgrade,
                watch: !no_watch,
            };
            daemon::run(opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { policy, keys } => {
            let keys = keys
                .iter()
                .map(|k| sign::TrustedKey::from_file(k))
                .collect::<Result<Vec<_>, _>>()?;
            print!("{}", portcullis::policy::check::check(&policy, keys)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Keygen {
            public,
            secret,
            no_password,
        } => {
            let pw = if no_password { None } else { Some(password()?) };
            let id = sign::keygen(&public, &secret, pw)?;
            println!(
                "key {id}: public {}, secret {}",
                public.display(),
                secret.display()
            );
            println!("put key_id = \"{id}\" in policies signed with it");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sign { policy, key } => {
            let pw = std::env::var("PORTCULLIS_KEY_PASSWORD").ok();
            let (out, id) = sign::sign_file(&policy, &key, pw)?;
            println!("{}: signed with key {id}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Classify(args) => classify_cmd::classify(args),
        Cmd::Catalogue => {
            for e in portcullis::policy::catalogue::entries() {
                println!(
                    "{:<14} {}/{:<5} {:<20} {}",
                    e.proto.name(),
                    e.transport,
                    e.port,
                    e.service,
                    e.source
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lab { events } => {
            let exe = std::env::current_exe().context("finding the portcullis binary")?;
            let ok = portcullis::lab::demo::demo(&exe, events)?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
