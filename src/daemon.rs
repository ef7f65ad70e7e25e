//! `portcullis run`: wires policy, rules, workers, events and signals.
//!
//! Order matters: the policy is loaded and compiled first (a bad policy
//! never starts enforcement half-way); the queues are bound before the
//! rules that feed them are installed; on SIGINT/SIGTERM the rules are
//! removed first, then the workers drain and give every held packet a
//! verdict.

use crate::datapath::nfqueue::QueueConfig;
use crate::datapath::{run_worker, Counters, WorkerConfig};
use crate::events::EventSink;
use crate::flow::Bounds;
use crate::policy::{self, Policy};
use crate::rules::{self, Hook, RuleConfig};
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Fail-open or fail-closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// `--queue-bypass` and NFQA_CFG_F_FAIL_OPEN: traffic passes when
    /// portcullis is gone or the queue is full.
    Open,
    /// Neither: new flows are refused while portcullis is gone.
    Closed,
}

/// Options of `run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Policy file, or the built-in default.
    pub policy: Option<PathBuf>,
    /// First and last queue.
    pub queues: (u16, u16),
    /// Fail mode.
    pub fail: FailMode,
    /// Event file (JSON lines); stdout when "-".
    pub events: Option<PathBuf>,
    /// Log every decision.
    pub log_all: bool,
    /// Hooks to attach to.
    pub hook: Hook,
    /// Holding bounds.
    pub bounds: Bounds,
    /// Kernel queue length per queue.
    pub queue_len: u32,
    /// CPUs to pin workers to (worker i to the i-th, cycling); none: no pinning.
    pub cpus: Vec<usize>,
    /// Let TCP segments without payload (except the opening SYN) pass in
    /// the kernel instead of queueing them.
    pub handshake_in_kernel: bool,
}

fn log(msg: &str) {
    eprintln!("portcullis: {msg}");
}

/// Loads the configured policy (or the built-in one).
pub fn load_policy(path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    match path {
        Some(p) => Ok(policy::load_file(p)?),
        None => Ok(policy::load_str(
            policy::DEFAULT_POLICY,
            "<built-in default>",
        )?),
    }
}

/// Runs until SIGINT or SIGTERM.
pub fn run(opts: RunOptions) -> anyhow::Result<()> {
    let pol = load_policy(opts.policy.as_ref())?;
    log(&format!(
        "policy version {} loaded ({} rules, {:?} mode)",
        pol.version,
        pol.rule_count(),
        pol.mode
    ));
    let policy = Arc::new(ArcSwap::from_pointee(pol));
    let backend = rules::detect()?;
    let leftovers = backend.installed().unwrap_or(false);
    backend.remove()?;
    if leftovers {
        log("removed rules left by an earlier run");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))?;

    let (events, writer) = match &opts.events {
        Some(p) if p.as_os_str() == "-" => {
            let (s, h) = EventSink::spawn(Box::new(std::io::stdout()));
            (s, Some(h))
        }
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?;
            let (s, h) = EventSink::spawn(Box::new(std::io::BufWriter::new(f)));
            (s, Some(h))
        }
        None => (EventSink::none(), None),
    };

    let counters = Arc::new(Counters::default());
    let mut workers = Vec::new();
    let (lo, hi) = opts.queues;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for num in lo..=hi {
        let cfg = WorkerConfig {
            queue: QueueConfig {
                num,
                copy_range: 0xffff,
                max_len: opts.queue_len,
                fail_open: opts.fail == FailMode::Open,
                rcvbuf: 8 << 20,
            },
            bounds: opts.bounds,
            log_all: opts.log_all,
            cpu: (!opts.cpus.is_empty())
                .then(|| {
                    opts.cpus
                        .get(usize::from(num - lo) % opts.cpus.len())
                        .copied()
                })
                .flatten(),
        };
        let (p, c, e, s, tx) = (
            Arc::clone(&policy),
            Arc::clone(&counters),
            events.clone(),
            Arc::clone(&stop),
            ready_tx.clone(),
        );
        workers.push(
            std::thread::Builder::new()
                .name(format!("queue-{num}"))
                .spawn(move || {
                    let res = run_worker(cfg, p, c, e, s, tx);
                    if let Err(err) = &res {
                        log(&format!("queue {num}: {err}"));
                    }
                    res
                })?,
        );
    }
    drop(ready_tx);
    // Every queue must bind before traffic is sent to it.
    for _ in lo..=hi {
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("binding a queue failed: {e} (is another program bound to it, and are you root?)");
            }
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                anyhow::bail!("a queue did not bind within 5 s");
            }
        }
    }
    let rule_cfg = RuleConfig {
        queue_lo: lo,
        queue_hi: hi,
        bypass: opts.fail == FailMode::Open,
        hook: opts.hook,
        handshake_in_kernel: opts.handshake_in_kernel,
    };
    if let Err(e) = backend.install(&rule_cfg) {
        stop.store(true, Ordering::Relaxed);
        return Err(e.into());
    }
    log(&format!(
        "enforcing on queues {lo}:{hi} via {} ({:?} hook, fail-{})",
        backend.name(),
        opts.hook,
        if opts.fail == FailMode::Open {
            "open"
        } else {
            "closed"
        }
    ));

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if reload.swap(false, Ordering::Relaxed) {
            reload_policy(&opts, &policy);
        }
        if workers.iter().any(|w| w.is_finished()) {
            log("a worker stopped; shutting down");
            break;
        }
    }
    // The kernel's own counts, read while our queues and rules still exist.
    kernel_counters(&counters, backend.as_ref(), lo, hi);
    log("stopping: removing rules");
    let removed = backend.remove();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    drop(events);
    if let Some(h) = writer {
        let _ = h.join();
    }
    let summary: Vec<String> = counters
        .snapshot()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    log(&format!("counters: {}", summary.join(" ")));
    removed?;
    Ok(())
}

/// Copies the kernel's queue counters and the fail-open pass count into
/// `counters`; a failure to read them is logged, never fatal.
fn kernel_counters(counters: &Counters, backend: &dyn rules::RuleBackend, lo: u16, hi: u16) {
    match crate::datapath::counters::kernel_queues(lo, hi) {
        Ok(qs) => {
            let (qd, ud) = qs.iter().fold((0, 0), |(a, b), q| {
                (a + q.queue_dropped, b + q.user_dropped)
            });
            counters.kernel_queue_dropped.store(qd, Ordering::Relaxed);
            counters.kernel_user_dropped.store(ud, Ordering::Relaxed);
        }
        Err(e) => log(&format!("reading the kernel's queue counters: {e}")),
    }
    match backend.unseen() {
        Ok(n) => counters.failopen_passed.store(n, Ordering::Relaxed),
        Err(e) => log(&format!("reading the fail-open counter: {e}")),
    }
}

/// Re-reads the policy file; a failure keeps the running policy.
fn reload_policy(opts: &RunOptions, policy: &ArcSwap<Policy>) {
    match load_policy(opts.policy.as_ref()) {
        Ok(p) => {
            let running = policy.load().version;
            if p.version <= running {
                log(&format!(
                    "reload refused: version {} is not higher than running version {running}",
                    p.version
                ));
                return;
            }
            log(&format!(
                "policy version {} now in force (was {running})",
                p.version
            ));
            policy.store(Arc::new(p));
        }
        Err(e) => log(&format!(
            "reload refused, policy version {} stays: {e}",
            policy.load().version
        )),
    }
}
