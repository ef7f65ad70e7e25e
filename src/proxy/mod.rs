//! The stream proxy: carries out `redirect` for TCP flows (gateway mode).
//!
//! A TCP flow is bound to its destination by its handshake, before any
//! byte says what it is, so a flow that a redirect rule could match is
//! taken in at its SYN by the divert rules (`crate::rules::divert`, TPROXY)
//! and accepted here. Each flow is judged with the same detectors and the
//! same policy as a queued flow ([`judge`]), then spliced to its original
//! destination, spliced to the redirect target, or reset ([`session`]).
//! The proxy's own connections are marked so that they are never queued or
//! diverted again ([`upstream`]).
//!
//! Bounds: at most `max_conns` flows at once (beyond it a new flow is reset
//! and counted: never passed unexamined); per flow, the queue's byte and
//! time bounds while it is judged, and [`session::CONNECT_TIMEOUT`] to
//! reach the chosen peer. A spliced flow lasts as long as its two sides
//! keep it open, and ends when portcullis stops.
//!
//! One listener per input interface the policy names (plus one for the
//! rest) gives each flow its real input interface for `iif` selectors.
//! Listeners are added when a reload names a new interface and never
//! removed while portcullis runs.

pub mod host;
pub mod judge;
pub mod session;
pub mod upstream;

use crate::datapath::counters::inc;
use crate::datapath::Counters;
use crate::events::EventSink;
use crate::flow::Bounds;
use crate::policy::Policy;
use crate::rules::divert::DivertPlan;
use arc_swap::ArcSwap;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The proxy's settings.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// First listener port (on 127.0.0.1 and ::1); interface listeners
    /// follow it.
    pub port: u16,
    /// Flows held at once.
    pub max_conns: usize,
    /// The queue's holding bounds, applied while a flow is judged.
    pub bounds: Bounds,
    /// Emit an event for every decision.
    pub log_all: bool,
}

/// What every session reads.
#[derive(Debug)]
pub struct Shared {
    /// The running policy.
    pub policy: Arc<ArcSwap<Policy>>,
    /// Counters shared with the queue workers.
    pub counters: Arc<Counters>,
    /// Event sink.
    pub events: EventSink,
    /// Holding bounds.
    pub bounds: Bounds,
    /// Emit an event for every decision.
    pub log_all: bool,
    port: u16,
    listeners: AtomicUsize,
    active: AtomicUsize,
    max_conns: usize,
}

impl Shared {
    /// Whether `addr` is one of the proxy's own listeners.
    pub fn is_listener(&self, addr: SocketAddr) -> bool {
        let n = self.listeners.load(Ordering::Relaxed) as u32;
        let p = u32::from(addr.port());
        addr.ip().is_loopback() && p >= u32::from(self.port) && p <= u32::from(self.port) + n
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
    /// Interface listeners in port order: name and the interface index
    /// flows on it are judged with (updated on every plan).
    named: Mutex<Vec<(String, Arc<AtomicU32>)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn listener(ip: IpAddr, port: u16) -> std::io::Result<std::net::TcpListener> {
    let v4 = ip.is_ipv4();
    let s = Socket::new(
        if v4 { Domain::IPV4 } else { Domain::IPV6 },
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    if v4 {
        s.set_ip_transparent_v4(true)?;
    } else {
        s.set_only_v6(true)?;
        s.set_ip_transparent_v6(true)?;
    }
    s.bind(&SockAddr::from(SocketAddr::new(ip, port)))?;
    s.listen(1024)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

async fn accept_loop(l: std::net::TcpListener, iif: Arc<AtomicU32>, sh: Arc<Shared>) {
    let Ok(l) = TcpListener::from_std(l) else {
        return;
    };
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                if sh.active.fetch_add(1, Ordering::Relaxed) >= sh.max_conns {
                    sh.active.fetch_sub(1, Ordering::Relaxed);
                    inc(&sh.counters.proxy_full);
                    session::reset(s);
                    continue;
                }
                let (sh2, idx) = (Arc::clone(&sh), iif.load(Ordering::Relaxed));
                tokio::spawn(async move {
                    session::run(s, idx, Arc::clone(&sh2)).await;
                    sh2.active.fetch_sub(1, Ordering::Relaxed);
                });
            }
            // Out of descriptors, or an aborted handshake: wait and go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

impl Proxy {
    /// Starts the proxy's thread and its catch-all listeners (IPv4 and
    /// IPv6 on `cfg.port`); runs until `stop` is set.
    pub fn start(
        cfg: &ProxyConfig,
        policy: Arc<ArcSwap<Policy>>,
        counters: Arc<Counters>,
        events: EventSink,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<Proxy> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let shared = Arc::new(Shared {
            policy,
            counters,
            events,
            bounds: cfg.bounds,
            log_all: cfg.log_all,
            port: cfg.port,
            listeners: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            max_conns: cfg.max_conns,
        });
        let p = Proxy {
            shared,
            handle,
            named: Mutex::new(Vec::new()),
            thread: None,
        };
        p.listen(cfg.port, Arc::new(AtomicU32::new(0)))?;
        let thread = std::thread::Builder::new()
            .name("proxy".into())
            .spawn(move || {
                rt.block_on(async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
                // Dropping the runtime ends every session: proxied flows
                // end with portcullis.
            })?;
        Ok(Proxy {
            thread: Some(thread),
            ..p
        })
    }

    fn listen(&self, port: u16, iif: Arc<AtomicU32>) -> std::io::Result<()> {
        let bind = |ip: IpAddr| {
            listener(ip, port).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("stream proxy listener {}: {e}", SocketAddr::new(ip, port)),
                )
            })
        };
        let v4 = bind(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
        let v6 = bind(IpAddr::V6(Ipv6Addr::LOCALHOST))?;
        for l in [v4, v6] {
            self.handle
                .spawn(accept_loop(l, Arc::clone(&iif), Arc::clone(&self.shared)));
        }
        Ok(())
    }

    /// The divert plan for `policy`, after making sure every interface it
    /// names has a listener whose flows carry that interface's index.
    pub fn plan(&self, policy: &Policy) -> std::io::Result<DivertPlan> {
        let mut named = self.named.lock().unwrap_or_else(|p| p.into_inner());
        for (name, index) in policy.iif_names() {
            match named.iter().find(|(n, _)| *n == name) {
                Some((_, i)) => i.store(index, Ordering::Relaxed),
                None => {
                    let k = named.len();
                    let port = self.shared.port.checked_add(1 + k as u16).ok_or_else(|| {
                        std::io::Error::other("stream proxy ports run past 65535")
                    })?;
                    let i = Arc::new(AtomicU32::new(index));
                    self.listen(port, Arc::clone(&i))?;
                    named.push((name, i));
                    self.shared.listeners.store(named.len(), Ordering::Relaxed);
                }
            }
        }
        Ok(DivertPlan {
            diverts: policy.tcp_diverts(),
            port: self.shared.port,
            iifs: named.iter().map(|(n, _)| n.clone()).collect(),
        })
    }

    /// Waits for the proxy's thread after `stop` was set.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
