//! The portcullis command line: argument parsing and wiring only.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use portcullis::daemon::{self, FailMode, RunOptions};
use portcullis::flow::Bounds;
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
enum Fail {
    Open,
    Closed,
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
    },
    /// Parse and compile a policy file; exit 0 if it is valid.
    Check {
        /// The policy file.
        policy: PathBuf,
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
                    ..Bounds::default()
                },
                queue_len,
            };
            daemon::run(opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { policy } => {
            let p = portcullis::policy::load_file(&policy)?;
            println!(
                "{}: ok: version {}, {} rules, {:?} mode",
                policy.display(),
                p.version,
                p.rule_count(),
                p.mode
            );
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
