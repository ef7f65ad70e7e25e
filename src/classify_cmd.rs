//! `portcullis classify`: argument parsing and terminal output for the
//! offline classifier (`portcullis::classify`).

use anyhow::Context;
use clap::Args;
use portcullis::classify::output::{write_json, Progress, TableWriter};
use portcullis::classify::tracker::Limits;
use portcullis::classify::{self, Options};
use portcullis::flow::Bounds;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `classify`.
#[derive(Args, Debug)]
pub(crate) struct ClassifyArgs {
    /// The capture (pcap or pcapng).
    file: PathBuf,
    /// Decide each flow with this policy file; `default` for the built-in one.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// One JSON object per flow and line (default: a table).
    #[arg(long)]
    json: bool,
    /// Payload packets held per flow before it is decided on what it has
    /// (as `run`).
    #[arg(long, default_value_t = 16)]
    hold_packets: usize,
    /// Milliseconds of capture time a flow may be held (as `run`).
    #[arg(long, default_value_t = 2000)]
    hold_ms: u64,
    /// Flows remembered at once; beyond this the oldest is written early.
    #[arg(long, default_value_t = 1 << 20)]
    max_flows: usize,
}

/// Runs `classify`; exit 0 when the whole capture was read.
pub(crate) fn classify(a: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let policy = match &a.policy {
        None => None,
        Some(p) if p.as_os_str() == "default" => Some(portcullis::policy::builtin()),
        Some(p) => Some(portcullis::policy::load_file(p)?),
    };
    let with_policy = policy.is_some();
    let opts = Options {
        path: a.file.clone(),
        policy,
        bounds: Bounds {
            max_packets: a.hold_packets,
            max_hold_ms: a.hold_ms,
            ..Bounds::default()
        },
        limits: Limits {
            max_flows: a.max_flows,
            ..Limits::default()
        },
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut table = TableWriter::new(with_policy);
    let json = a.json;
    let show_bar = std::io::stderr().is_terminal();
    let mut bar: Option<Progress> = None;
    let res = {
        let mut emit = |r: &classify::output::Record| {
            if json {
                write_json(&mut out, r)
            } else {
                table.push(&mut out, r)
            }
        };
        let mut progress = |read: u64, size: u64, open: usize| {
            // Only worth a bar for files that take a moment.
            if show_bar && size >= 32 << 20 {
                bar.get_or_insert_with(|| Progress::new(size))
                    .update(read, open);
            }
        };
        classify::run(&opts, &mut emit, &mut progress)
    };
    if let Some(b) = bar.as_mut() {
        b.finish();
    }
    if !json {
        table.flush(&mut out).context("writing the table")?;
    }
    out.flush().context("writing records")?;
    let s = res?;
    eprintln!(
        "{}: {} frames, {} TCP/UDP packets, {} flows (at most {} open)",
        a.file.display(),
        s.frames,
        s.packets,
        s.flows,
        s.peak_flows
    );
    for (what, n) in s.link_errors.iter().chain(s.packet_errors.iter()) {
        eprintln!("  skipped {n} frames: {what}");
    }
    if s.strays > 0 {
        eprintln!(
            "  {} stray packets of closed flows counted as no new flow",
            s.strays
        );
    }
    if s.bad_blocks > 0 {
        eprintln!("  skipped {} undecodable pcapng blocks", s.bad_blocks);
    }
    if let Some(d) = &s.damaged {
        eprintln!("portcullis: warning: {d}; flows above are from the part read");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
