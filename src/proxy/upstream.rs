//! The proxy's own connections, to a flow's original destination or its
//! redirect target.
//!
//! Each carries the socket mark [`MARK_UPSTREAM`] (saved to its connmark
//! by the divert rules, so that its replies are delivered to the proxy
//! and never queued or diverted), and where the families allow it, the
//! client's own address as its source (IP_TRANSPARENT): the destination
//! sees the client, not the gateway. A source port is chosen by the
//! kernel; where a transparent bind is refused the gateway's address is
//! used.

use crate::rules::divert::MARK_UPSTREAM;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Creating or configuring the socket failed.
    #[error("socket for {to}: {source}")]
    Socket {
        /// The destination.
        to: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The destination refused or did not answer.
    #[error("connecting to {to}: {source}")]
    Connect {
        /// The destination.
        to: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

fn socket(to: SocketAddr, source: Option<IpAddr>) -> std::io::Result<Socket> {
    let domain = if to.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_mark(MARK_UPSTREAM)?;
    s.set_tcp_nodelay(true)?;
    if let Some(src) = source.filter(|s| s.is_ipv4() == to.is_ipv4()) {
        let transparent = if to.is_ipv4() {
            s.set_ip_transparent_v4(true)
        } else {
            s.set_ip_transparent_v6(true)
        };
        if transparent.is_ok() {
            // A failed bind leaves the socket unbound: the kernel then
            // picks the gateway's address.
            let _ = s.bind(&SockAddr::from(SocketAddr::new(src, 0)));
        }
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Connects to `to`, from `source` where it can.
pub async fn connect(to: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, ConnectError> {
    let s = socket(to, source).map_err(|e| ConnectError::Socket { to, source: e })?;
    let std: std::net::TcpStream = s.into();
    TcpSocket::from_std_stream(std)
        .connect(to)
        .await
        .map_err(|e| ConnectError::Connect { to, source: e })
}
