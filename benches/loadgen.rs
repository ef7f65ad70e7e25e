//! The end-to-end bench's load generator and server (std only), driven by
//! `benches/e2e.sh`; not a criterion bench.
//!
//! ```text
//! loadgen serve ADDR:PORT                      HTTP/1.0 server: one short response per connection
//! loadgen closed ADDR:PORT CONCURRENCY SECS    closed loop: CONCURRENCY connections in flight
//! loadgen open ADDR:PORT RATE SECS             open loop: RATE new connections per second
//! loadgen serve-tls ADDR:PORT CERT KEY         the same server over TLS (PEM files)
//! loadgen closed-tls | open-tls ...            the clients over TLS
//! ```
//!
//! Each client connection: connect, (TLS: a full handshake, no
//! resumption), send a short HTTP request, read the whole response until
//! the server closes. Prints one line:
//! `conns=N errors=E rate=R/s p50_us=X p99_us=Y`. Every loop is bounded by
//! SECS; each connection has a 2 s timeout. TLS is the system's OpenSSL
//! (`loadgen/tls.rs`), so the server and client do what `openssl s_server`
//! and `curl` do, with a thread per connection on the server side.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "loadgen/tls.rs"]
mod tls;
use tls::Tls;

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: lab.test\r\nUser-Agent: loadgen\r\n\r\n";
const RESPONSE: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";

fn one(addr: SocketAddr, tls: Option<&Tls>) -> Result<Duration, std::io::Error> {
    let t = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    s.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    let mut got = 0;
    if let Some(tls) = tls {
        tls.session(&s, false, |ssl| {
            ssl.write_all(REQUEST)?;
            loop {
                let n = ssl.read(&mut buf);
                if n == 0 {
                    return Ok(());
                }
                got += n;
            }
        })?;
    } else {
        s.write_all(REQUEST)?;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n;
        }
    }
    if got == 0 {
        return Err(std::io::Error::other("empty response"));
    }
    Ok(t.elapsed())
}

fn report(lat: &mut [Duration], errors: u64, secs: f64) {
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0, |d| d.as_micros())
    };
    println!(
        "conns={} errors={errors} rate={:.0}/s p50_us={} p99_us={}",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
}

/// Reads a request head (up to 8 KiB) with `read`; false if it never came.
fn read_head(mut read: impl FnMut(&mut [u8]) -> usize) -> bool {
    let mut buf = [0u8; 1024];
    let mut req = Vec::new();
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        if req.len() >= 8192 {
            return false;
        }
        match read(&mut buf) {
            0 => return false,
            n => req.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    true
}

fn serve(addr: SocketAddr, tls: Option<Arc<Tls>>) {
    let l = TcpListener::bind(addr).expect("bind");
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        let tls = tls.clone();
        std::thread::spawn(move || {
            // Long enough for the bench's 10 s keepalive-idle check.
            let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
            if let Some(tls) = tls {
                let _ = tls.session(&s, true, |ssl| {
                    if read_head(|b| ssl.read(b)) {
                        ssl.write_all(RESPONSE)?;
                    }
                    Ok(())
                });
            } else if read_head(|b| s.read(b).unwrap_or(0)) {
                let _ = s.write_all(RESPONSE);
            }
        });
    }
}

fn closed(addr: SocketAddr, conc: usize, secs: u64, tls: Option<Arc<Tls>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let all = Arc::new(Mutex::new((Vec::new(), 0u64)));
    let t = Instant::now();
    let hs: Vec<_> = (0..conc)
        .map(|_| {
            let (stop, all, tls) = (Arc::clone(&stop), Arc::clone(&all), tls.clone());
            std::thread::spawn(move || {
                let (mut lat, mut err) = (Vec::new(), 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match one(addr, tls.as_deref()) {
                        Ok(d) => lat.push(d),
                        Err(_) => err += 1,
                    }
                }
                if let Ok(mut a) = all.lock() {
                    a.0.extend(lat);
                    a.1 += err;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        let _ = h.join();
    }
    let el = t.elapsed().as_secs_f64();
    if let Ok(mut a) = all.lock() {
        let e = a.1;
        report(&mut a.0, e, el);
    };
}

fn open(addr: SocketAddr, rate: u64, secs: u64, tls: Option<Arc<Tls>>) {
    let all = Arc::new(Mutex::new((Vec::new(), 0u64)));
    let gap = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let t = Instant::now();
    let mut hs = Vec::new();
    for i in 0..rate * secs {
        let due = t + gap * i as u32;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let (all, tls) = (Arc::clone(&all), tls.clone());
        hs.push(std::thread::spawn(move || {
            let r = one(addr, tls.as_deref());
            if let Ok(mut a) = all.lock() {
                match r {
                    Ok(d) => a.0.push(d),
                    Err(_) => a.1 += 1,
                }
            }
        }));
        if hs.len() > 256 {
            for h in hs.drain(..128) {
                let _ = h.join();
            }
        }
    }
    for h in hs {
        let _ = h.join();
    }
    let el = t.elapsed().as_secs_f64();
    if let Ok(mut a) = all.lock() {
        let e = a.1;
        report(&mut a.0, e, el);
    };
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let addr: SocketAddr = match arg(1).parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("usage: loadgen serve|closed|open[-tls] ADDR:PORT [N SECS | CERT KEY]");
            std::process::exit(2);
        }
    };
    let n: u64 = arg(2).parse().unwrap_or(32);
    let secs: u64 = arg(3).parse().unwrap_or(5).min(120);
    let client = |mode: &str| -> Option<Arc<Tls>> {
        mode.ends_with("-tls").then(|| match Tls::client() {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::exit(1);
            }
        })
    };
    match arg(0) {
        "serve" => serve(addr, None),
        "serve-tls" => match Tls::server(arg(2), arg(3)) {
            Ok(t) => serve(addr, Some(Arc::new(t))),
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::exit(1);
            }
        },
        m @ ("closed" | "closed-tls") => closed(addr, n as usize, secs, client(m)),
        m @ ("open" | "open-tls") => open(addr, n, secs, client(m)),
        _ => {
            eprintln!("usage: loadgen serve|closed|open[-tls] ADDR:PORT [N SECS | CERT KEY]");
            std::process::exit(2);
        }
    }
}
