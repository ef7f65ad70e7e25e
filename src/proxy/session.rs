//! One proxied TCP flow: sample both sides, judge, decide, then splice to
//! the original destination or the redirect target, or reset.
//!
//! The destination is dialled at once (a server-first protocol, SSH on
//! 443 say, is known only from the server's banner), but nothing crosses
//! between the two sides until the flow is decided: the client's bytes
//! are held for whichever peer the decision picks, and the destination's
//! are shown to the client only if the flow is allowed. So a redirected
//! client never sees a byte of the original server, and the original
//! server never sees a byte of a client that was redirected or refused.

use super::judge::{From, Progress, Sample};
use super::upstream::{connect, ConnectError};
use super::Shared;
use crate::datapath::counters::inc;
use crate::events::{rfc3339, text, FlowEvent};
use crate::flow::Reason;
use crate::policy::{Action, Decision, Facts, Policy};
use crate::sniff::Transport;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};

/// How long a chosen peer may take to accept the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one accepted flow to its end.
pub async fn run(client: TcpStream, iif: u32, sh: Arc<Shared>) {
    let (Ok(peer), Ok(orig)) = (client.peer_addr(), client.local_addr()) else {
        return;
    };
    if sh.is_listener(orig) {
        // Someone dialled the proxy's own port: there is no original
        // destination to judge or reach.
        reset(client);
        return;
    }
    inc(&sh.counters.proxy_flows);
    let mut up_task = Some(tokio::spawn(connect(orig, Some(peer.ip()))));
    let mut up: Option<TcpStream> = None;
    let mut up_failed = false;
    let mut sample = Sample::new(sh.bounds.max_bytes, peer.port(), orig.port());
    // Bytes read past the sample's cap, kept for the chosen peer.
    let mut client_rest: Vec<u8> = Vec::new();
    let mut server_rest: Vec<u8> = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(sh.bounds.max_hold_ms);
    let mut client = client;
    let (mut cbuf, mut sbuf) = (vec![0u8; 4096], vec![0u8; 4096]);
    let reason = loop {
        let connecting = up_task.is_some();
        let reading_up = up.is_some();
        tokio::select! {
            r = client.read(&mut cbuf) => match r {
                Ok(0) | Err(_) => break Reason::Closed,
                Ok(n) => {
                    let kept = keep(&sample.client, sample.cap, &cbuf[..n], &mut client_rest);
                    if let Progress::Decide(r) = sample.push(From::Client, kept) { break r; }
                }
            },
            r = read_opt(up.as_mut(), &mut sbuf), if reading_up => match r {
                Ok(0) | Err(_) => break Reason::Closed,
                Ok(n) => {
                    let kept = keep(&sample.server, sample.cap, &sbuf[..n], &mut server_rest);
                    if let Progress::Decide(r) = sample.push(From::Server, kept) { break r; }
                }
            },
            j = join_opt(up_task.as_mut()), if connecting => {
                up_task = None;
                match j {
                    Some(s) => up = Some(s),
                    _ => up_failed = true,
                }
            },
            _ = sleep_until(deadline) => break Reason::Time,
        }
    };
    let judged = sample.judge(reason);
    let policy = sh.policy.load();
    let facts = Facts {
        subject: judged.subject,
        transport: Transport::Tcp,
        src: peer.ip(),
        dst: orig.ip(),
        dport: orig.port(),
        iif,
        oif: 0,
    };
    let d = policy.decide(&facts);
    let target = (d.action == Action::Redirect)
        .then(|| policy.redirect_target(d.rule))
        .flatten();
    let c = &sh.counters;
    inc(match d.action {
        Action::Allow => &c.flows_allowed,
        Action::Alert => &c.flows_alerted,
        Action::Drop => &c.flows_dropped,
        Action::Reject => &c.flows_rejected,
        Action::Redirect => &c.flows_redirected,
    });
    if reason.is_bound() {
        inc(&c.flows_bound);
    }
    let ev = |action: Action| event(&policy, &d, action, (peer, orig), reason, &judged, target);
    match d.action {
        Action::Allow | Action::Alert => {
            if sh.log_all || d.action != Action::Allow {
                sh.events.emit(ev(d.action));
            }
            if up.is_none() && !up_failed {
                if let Some(t) = up_task.take() {
                    if let Ok(Ok(Ok(s))) = timeout(CONNECT_TIMEOUT, t).await {
                        up = Some(s);
                    }
                }
            }
            let Some(mut server) = up else {
                inc(&c.proxy_connect_failed);
                reset(client);
                return;
            };
            let (c2s, s2c) = (
                [sample.client.as_slice(), &client_rest].concat(),
                [sample.server.as_slice(), &server_rest].concat(),
            );
            splice(&mut client, &mut server, &c2s, &s2c).await;
        }
        Action::Redirect => {
            if let Some(t) = up_task.take() {
                t.abort();
            }
            drop(up);
            let Some(to) = target else {
                reset(client);
                return;
            };
            sh.events.emit(ev(Action::Redirect));
            let mut server = match timeout(CONNECT_TIMEOUT, connect(to, Some(peer.ip()))).await {
                Ok(Ok(s)) => s,
                _ => {
                    inc(&c.proxy_connect_failed);
                    reset(client);
                    return;
                }
            };
            let c2s = [sample.client.as_slice(), &client_rest].concat();
            splice(&mut client, &mut server, &c2s, &[]).await;
        }
        Action::Drop | Action::Reject => {
            if let Some(t) = up_task.take() {
                t.abort();
            }
            sh.events.emit(ev(d.action));
            reset(client);
        }
    }
}

/// Keeps what fits under the sample's cap; the rest goes to `rest`.
fn keep<'a>(side: &[u8], cap: usize, read: &'a [u8], rest: &mut Vec<u8>) -> &'a [u8] {
    let room = cap.saturating_sub(side.len()).min(read.len());
    let (kept, over) = read.split_at(room);
    rest.extend_from_slice(over);
    kept
}

async fn read_opt(s: Option<&mut TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    match s {
        Some(s) => s.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn join_opt(
    t: Option<&mut tokio::task::JoinHandle<Result<TcpStream, ConnectError>>>,
) -> Option<TcpStream> {
    match t {
        Some(t) => t.await.ok().and_then(|r| r.ok()),
        None => std::future::pending().await,
    }
}

/// Writes the held bytes to each side, then copies both ways until both
/// sides have closed.
async fn splice(client: &mut TcpStream, server: &mut TcpStream, c2s: &[u8], s2c: &[u8]) {
    if server.write_all(c2s).await.is_err() || client.write_all(s2c).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(client, server).await;
}

/// Closes with a TCP reset (the proxy's form of `reject`; `drop` resets
/// too: holding a refused client open would spend a slot per attacker).
pub(super) fn reset(s: TcpStream) {
    // A zero linger time never blocks: close sends RST and returns.
    let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    drop(s);
}

fn event(
    policy: &Policy,
    d: &Decision,
    action: Action,
    (client, server): (SocketAddr, SocketAddr),
    reason: Reason,
    j: &super::judge::Judged<'_>,
    target: Option<SocketAddr>,
) -> FlowEvent {
    let meta = j.class.map(|c| c.meta).unwrap_or_default();
    FlowEvent {
        timestamp: rfc3339(SystemTime::now()),
        event_type: "flow",
        src_ip: client.ip().to_string(),
        src_port: client.port(),
        dest_ip: server.ip().to_string(),
        dest_port: server.port(),
        proto: "tcp",
        app_proto: j.class.map_or("unknown", |c| c.proto.name()).to_string(),
        action: action.name(),
        policy_action: (action != d.policy_action).then(|| d.policy_action.name()),
        rule: policy.rule_name(d.rule).to_string(),
        reason: reason.name(),
        policy_version: policy.version,
        mitre_technique: d.t1571.then_some("T1571"),
        encrypted: j.encrypted,
        midstream: false,
        sni: text(meta.sni),
        alpn: text(meta.alpn),
        host: text(meta.host),
        software: text(meta.software),
        redirect: target.map(|t| t.to_string()),
        proxied: true,
    }
}
