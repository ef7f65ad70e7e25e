//! Keeps the divert rules in step with the running policy, starting the
//! proxy the first time a policy redirects TCP. `run` calls
//! [`Redirector::apply`] at start and the reload path calls it on every
//! accepted policy before the swap: a policy whose divert rules cannot be
//! installed is refused and changes nothing.

use super::{Proxy, ProxyConfig};
use crate::datapath::Counters;
use crate::events::EventSink;
use crate::policy::Policy;
use crate::rules::divert;
use arc_swap::ArcSwap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// The proxy (once started) and what it needs to start.
#[derive(Debug)]
pub struct Redirector {
    cfg: ProxyConfig,
    policy: Arc<ArcSwap<Policy>>,
    counters: Arc<Counters>,
    events: EventSink,
    stop: Arc<AtomicBool>,
    proxy: Mutex<Option<Proxy>>,
}

impl Redirector {
    /// A redirector that starts nothing until a policy redirects TCP.
    pub fn new(
        cfg: ProxyConfig,
        policy: Arc<ArcSwap<Policy>>,
        counters: Arc<Counters>,
        events: EventSink,
        stop: Arc<AtomicBool>,
    ) -> Redirector {
        Redirector {
            cfg,
            policy,
            counters,
            events,
            stop,
            proxy: Mutex::new(None),
        }
    }

    /// Installs the divert rules `policy` needs (none: removes them).
    pub fn apply(&self, policy: &Policy) -> Result<(), String> {
        if policy.tcp_diverts().is_empty() {
            return divert::remove().map_err(|e| e.to_string());
        }
        let mut slot = self.proxy.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let p = Proxy::start(
                &self.cfg,
                Arc::clone(&self.policy),
                Arc::clone(&self.counters),
                self.events.clone(),
                Arc::clone(&self.stop),
            )
            .map_err(|e| format!("starting the stream proxy: {e}"))?;
            *slot = Some(p);
        }
        let plan = match slot.as_ref() {
            Some(p) => p.plan(policy).map_err(|e| e.to_string())?,
            None => return Err("the stream proxy did not start".into()),
        };
        divert::install(&plan).map_err(|e| e.to_string())
    }

    /// Removes the divert rules and, once `stop` is set, waits for the
    /// proxy.
    pub fn shutdown(&self) -> Result<(), String> {
        let removed = divert::remove().map_err(|e| e.to_string());
        if let Some(p) = self.proxy.lock().unwrap_or_else(|p| p.into_inner()).take() {
            p.join();
        }
        removed
    }
}
