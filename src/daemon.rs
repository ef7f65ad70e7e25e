//! `portcullis run`: wires policy, rules, workers, events and signals.
//!
//! Order matters: the policy is loaded and compiled first (a bad policy
//! never starts enforcement half-way); the queues are bound before the
//! rules that feed them are installed; on SIGINT/SIGTERM the rules are
//! removed first, then the workers drain and give every held packet a
//! verdict. A policy file comes in through `policy::reload::Reloader` (signature,
//! rollback state), at start and on SIGHUP or a replaced file.

use crate::datapath::nfqueue::QueueConfig;
use crate::datapath::{run_worker, Counters, WorkerConfig};
use crate::events::EventSink;
use crate::flow::Bounds;
use crate::policy::reload::{Apply, RedirectSupport, ReloadConfig, Reloader, Trigger};
use crate::policy::sign::TrustedKey;
use crate::policy::watch::Watcher;
use crate::policy::{self, Policy};
use crate::proxy::host::Redirector;
use crate::proxy::ProxyConfig;
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
    /// Which netfilter backend installs the rules.
    pub backend: rules::BackendChoice,
    /// CPUs to pin workers to (worker i to the i-th, cycling); none: no pinning.
    pub cpus: Vec<usize>,
    /// Which TCP segments without payload reach userspace; `None`: the
    /// SYN log when failing open, the queued SYN when failing closed (see
    /// [`handshake_for`]).
    pub handshake: Option<rules::Handshake>,
    /// First NFLOG group of the SYN log.
    pub log_group: u16,
    /// First port of the stream proxy's listeners.
    pub proxy_port: u16,
    /// Flows the stream proxy holds at once.
    pub proxy_max_conns: usize,
    /// Public keys trusted to sign policies; any makes signatures mandatory.
    pub trusted_keys: Vec<PathBuf>,
    /// Rollback state file.
    pub state_file: PathBuf,
    /// Accept a policy version lower than the last accepted one.
    pub allow_downgrade: bool,
    /// Reload when the policy file or its signature is replaced.
    pub watch: bool,
}

fn log(msg: &str) {
    eprintln!("portcullis: {msg}");
}

/// The handshake mode in force. By default, failing open copies SYNs to
/// the SYN log (nothing without payload is queued: the cheapest path), and
/// failing closed queues them, so that while portcullis is down a new
/// connection is refused at its SYN instead of opening and then stalling
/// on its first payload. The nft backend has no way to tell an empty
/// segment in the rules, so it queues every segment of an undecided flow.
pub fn handshake_for(
    asked: Option<rules::Handshake>,
    fail: FailMode,
    backend: &str,
) -> rules::Handshake {
    use rules::Handshake;
    if backend == "nft" {
        return Handshake::All;
    }
    asked.unwrap_or(match fail {
        FailMode::Open => Handshake::Log,
        FailMode::Closed => Handshake::Syn,
    })
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

/// Loads the starting policy through the reload path (a file) or the
/// built-in one; `None` reloader for the built-in policy.
fn start_policy(
    opts: &RunOptions,
    events: &EventSink,
    redirect: RedirectSupport,
) -> anyhow::Result<(Arc<ArcSwap<Policy>>, Option<Reloader>)> {
    let trusted = opts
        .trusted_keys
        .iter()
        .map(|p| TrustedKey::from_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(path) = &opts.policy else {
        if !trusted.is_empty() {
            anyhow::bail!("--trusted-key needs --policy: the built-in policy is not signed");
        }
        let pol = load_policy(None)?;
        if let Some(why) = redirect.refusal(&pol) {
            anyhow::bail!("<built-in default>: {why}");
        }
        return Ok((Arc::new(ArcSwap::from_pointee(pol)), None));
    };
    let cfg = ReloadConfig {
        policy: path.clone(),
        trusted,
        state: Some(opts.state_file.clone()),
        allow_downgrade: opts.allow_downgrade,
        redirect,
        apply: Apply::default(),
        ifindex: policy::system_ifindex,
    };
    let r = Reloader::start(cfg, events.clone())?;
    Ok((r.current(), Some(r)))
}

/// Runs until SIGINT or SIGTERM.
pub fn run(opts: RunOptions) -> anyhow::Result<()> {
    let (events, writer) = open_events(opts.events.as_ref())?;
    let backend = match rules::select(opts.backend) {
        Ok(b) => b,
        Err(e) => {
            drop(events);
            if let Some(h) = writer {
                let _ = h.join();
            }
            return Err(e.into());
        }
    };
    // The stream proxy carries out TCP redirects for forwarded flows; its
    // divert rules are iptables rules.
    let proxied = opts.hook == Hook::Forward && backend.name() == "iptables";
    let redirect = if proxied {
        RedirectSupport::TcpProxy
    } else if opts.hook == Hook::Host {
        RedirectSupport::None("redirect is carried out in gateway mode only (--hook forward)")
    } else {
        RedirectSupport::None("redirect needs the iptables backend (its divert rules use TPROXY)")
    };
    let (policy, mut reloader) = match start_policy(&opts, &events, redirect) {
        Ok(p) => p,
        Err(e) => {
            drop(events);
            if let Some(h) = writer {
                let _ = h.join();
            }
            return Err(e);
        }
    };
    {
        let pol = policy.load();
        log(&format!(
            "policy version {} loaded ({} rules, {:?} mode{})",
            pol.version,
            pol.rule_count(),
            pol.mode,
            if opts.trusted_keys.is_empty() {
                ", signatures not required".to_string()
            } else {
                format!(", signature verified, state {}", opts.state_file.display())
            }
        ));
    }
    // Leftovers of a crashed run stay in force until `install` replaces
    // them in one transaction: no unenforced gap, even when failing closed.
    let leftovers = backend.installed().unwrap_or(false);

    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))?;

    let counters = Arc::new(Counters::default());
    let redirector = proxied.then(|| {
        Arc::new(Redirector::new(
            ProxyConfig {
                port: opts.proxy_port,
                max_conns: opts.proxy_max_conns,
                bounds: opts.bounds,
                log_all: opts.log_all,
            },
            Arc::clone(&policy),
            Arc::clone(&counters),
            events.clone(),
            Arc::clone(&stop),
        ))
    });
    let mut workers = Vec::new();
    let (lo, hi) = opts.queues;
    let mut handshake = handshake_for(opts.handshake, opts.fail, backend.name());
    // The default mode falls back, saying why, on a kernel without the bpf
    // match or the NFLOG target; a mode asked for by name fails at install.
    if opts.handshake.is_none() {
        if let Err(e) = backend.supports(handshake, opts.log_group) {
            log(&format!(
                "handshake {handshake:?} needs rules this kernel refuses ({e}): every segment of an undecided flow is queued instead (--handshake all)"
            ));
            handshake = rules::Handshake::All;
        }
    }
    if opts.handshake.is_some_and(|h| h != handshake) {
        log(&format!(
            "--handshake {:?} is not available with the {} backend: every segment of an undecided flow is queued",
            opts.handshake,
            backend.name()
        ));
    }
    if handshake == rules::Handshake::Log && hi - lo >= rules::PIN_MAX_QUEUES {
        anyhow::bail!(
            "--handshake log pins flows to at most {} queues; got {lo}:{hi}",
            rules::PIN_MAX_QUEUES
        );
    }
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
            syn_log: (handshake == rules::Handshake::Log)
                .then(|| opts.log_group.saturating_add(num - lo)),
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
        handshake,
        log_group: opts.log_group,
    };
    if leftovers {
        log("replacing rules left by an earlier run");
    }
    if let Err(e) = backend.install(&rule_cfg) {
        stop.store(true, Ordering::Relaxed);
        return Err(e.into());
    }
    // The divert rules of the policy in force, or none (which also clears
    // those of an earlier run).
    let diverted = match &redirector {
        Some(r) => r.apply(&policy.load()),
        None => rules::divert::remove().map_err(|e| e.to_string()),
    };
    if let Err(e) = diverted {
        stop.store(true, Ordering::Relaxed);
        let _ = backend.remove();
        let _ = rules::divert::remove();
        anyhow::bail!("{e}");
    }
    if let (Some(r), Some(red)) = (reloader.as_mut(), &redirector) {
        let red = Arc::clone(red);
        r.set_apply(Apply(Some(Arc::new(move |p: &Policy| red.apply(p)))));
    }
    log(&format!(
        "enforcing on queues {lo}:{hi} via {} ({:?} hook, handshake {:?}, fail-{})",
        backend.name(),
        opts.hook,
        handshake,
        if opts.fail == FailMode::Open {
            "open"
        } else {
            "closed"
        }
    ));

    let mut watcher = match (&opts.policy, opts.watch && reloader.is_some()) {
        (Some(p), true) => Some(Watcher::new(
            vec![p.clone(), policy::sign::sig_path(p)],
            Duration::from_millis(300),
        )),
        _ => None,
    };
    let mut expiry_warned = 0u64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if reload.swap(false, Ordering::Relaxed) {
            match &reloader {
                Some(r) => {
                    let _ = r.reload(Trigger::Signal);
                }
                None => log("SIGHUP: running the built-in policy, no file to reload"),
            }
        }
        if let (Some(w), Some(r)) = (watcher.as_mut(), &reloader) {
            if w.poll(std::time::Instant::now()) {
                let _ = r.reload(Trigger::Watch);
            }
        }
        let pol = policy.load();
        if let Some(exp) = pol.expires {
            if exp <= policy::reload::unix_now() && expiry_warned != pol.version {
                expiry_warned = pol.version;
                log(&format!(
                    "warning: running policy version {} has expired; it stays in force until a newer one is loaded",
                    pol.version
                ));
            }
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
    let undiverted = rules::divert::remove();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    // The reloader and the proxy hold senders of the event channel: drop
    // them too, or the writer never sees the channel close.
    drop(reloader);
    if let Some(r) = redirector {
        if let Err(e) = r.shutdown() {
            log(&format!("removing the divert rules: {e}"));
        }
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
    undiverted?;
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

type Events = (EventSink, Option<std::thread::JoinHandle<()>>);

fn open_events(path: Option<&PathBuf>) -> anyhow::Result<Events> {
    Ok(match path {
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
    })
}
