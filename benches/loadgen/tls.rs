//! TLS for the load generator: the system's OpenSSL (`libssl.so.3`, which
//! `openssl` itself uses) loaded with `dlopen`, so the bench needs no TLS
//! crate and no `-dev` package. Only what a short TLS request needs:
//! a client context (no certificate check: the lab's certificate is
//! self-signed), a server context from PEM files, connect/accept, read,
//! write, free. Every handshake is a full one (no session resumption).
#![allow(
    unsafe_code,
    reason = "FFI to libssl for the bench's TLS load; not part of portcullis"
)]

use std::ffi::{c_char, c_int, c_long, c_void, CString};
use std::os::fd::AsRawFd;

type Ptr = *mut c_void;

/// libssl's functions the bench calls.
struct Fns {
    client_method: unsafe extern "C" fn() -> Ptr,
    server_method: unsafe extern "C" fn() -> Ptr,
    ctx_new: unsafe extern "C" fn(Ptr) -> Ptr,
    ctx_ctrl: unsafe extern "C" fn(Ptr, c_int, c_long, Ptr) -> c_long,
    use_cert: unsafe extern "C" fn(Ptr, *const c_char) -> c_int,
    use_key: unsafe extern "C" fn(Ptr, *const c_char, c_int) -> c_int,
    new: unsafe extern "C" fn(Ptr) -> Ptr,
    set_fd: unsafe extern "C" fn(Ptr, c_int) -> c_int,
    connect: unsafe extern "C" fn(Ptr) -> c_int,
    accept: unsafe extern "C" fn(Ptr) -> c_int,
    read: unsafe extern "C" fn(Ptr, *mut c_void, c_int) -> c_int,
    write: unsafe extern "C" fn(Ptr, *const c_void, c_int) -> c_int,
    free: unsafe extern "C" fn(Ptr),
}

/// SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF; SSL_FILETYPE_PEM.
const CTRL_SESS_CACHE_MODE: c_int = 44;
const FILETYPE_PEM: c_int = 1;
/// SSL_CTRL_OPTIONS and SSL_OP_NO_TICKET: every connection a full handshake.
const CTRL_OPTIONS: c_int = 32;
const OP_NO_TICKET: c_long = 1 << 14;

/// A TLS context (client or server), shared by every thread.
pub(crate) struct Tls {
    f: Fns,
    ctx: Ptr,
}

// SAFETY: OpenSSL 3 contexts are safe to share between threads once
// configured; each connection gets its own SSL object.
unsafe impl Send for Tls {}
// SAFETY: as above.
unsafe impl Sync for Tls {}

fn sym<T: Copy>(lib: Ptr, name: &str) -> Result<T, String> {
    let c = CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: `lib` is a handle from dlopen; `c` is NUL-terminated.
    let p = unsafe { libc::dlsym(lib, c.as_ptr()) };
    if p.is_null() {
        return Err(format!("libssl.so.3 has no {name}"));
    }
    // SAFETY: T is a function pointer type matching the C prototype above
    // (same size as a data pointer on Linux).
    Ok(unsafe { std::mem::transmute_copy::<Ptr, T>(&p) })
}

fn load() -> Result<Fns, String> {
    let name = CString::new("libssl.so.3").map_err(|e| e.to_string())?;
    // SAFETY: dlopen with a NUL-terminated name; the handle is never closed.
    let lib = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW) };
    if lib.is_null() {
        return Err("cannot load libssl.so.3 (apt-get install libssl3)".into());
    }
    Ok(Fns {
        client_method: sym(lib, "TLS_client_method")?,
        server_method: sym(lib, "TLS_server_method")?,
        ctx_new: sym(lib, "SSL_CTX_new")?,
        ctx_ctrl: sym(lib, "SSL_CTX_ctrl")?,
        use_cert: sym(lib, "SSL_CTX_use_certificate_chain_file")?,
        use_key: sym(lib, "SSL_CTX_use_PrivateKey_file")?,
        new: sym(lib, "SSL_new")?,
        set_fd: sym(lib, "SSL_set_fd")?,
        connect: sym(lib, "SSL_connect")?,
        accept: sym(lib, "SSL_accept")?,
        read: sym(lib, "SSL_read")?,
        write: sym(lib, "SSL_write")?,
        free: sym(lib, "SSL_free")?,
    })
}

impl Tls {
    /// A client context: no certificate verification, no resumption.
    pub(crate) fn client() -> Result<Tls, String> {
        let f = load()?;
        // SAFETY: calls into libssl with the pointers it returned.
        let ctx = unsafe { (f.ctx_new)((f.client_method)()) };
        Tls::configured(f, ctx)
    }

    /// A server context with this certificate chain and key (PEM files).
    pub(crate) fn server(cert: &str, key: &str) -> Result<Tls, String> {
        let f = load()?;
        // SAFETY: as above.
        let ctx = unsafe { (f.ctx_new)((f.server_method)()) };
        let t = Tls::configured(f, ctx)?;
        let (c, k) = (
            CString::new(cert).map_err(|e| e.to_string())?,
            CString::new(key).map_err(|e| e.to_string())?,
        );
        // SAFETY: a live context and NUL-terminated paths.
        let ok = unsafe {
            (t.f.use_cert)(t.ctx, c.as_ptr()) == 1
                && (t.f.use_key)(t.ctx, k.as_ptr(), FILETYPE_PEM) == 1
        };
        if !ok {
            return Err(format!("cannot load {cert} / {key}"));
        }
        Ok(t)
    }

    fn configured(f: Fns, ctx: Ptr) -> Result<Tls, String> {
        if ctx.is_null() {
            return Err("SSL_CTX_new failed".into());
        }
        // SAFETY: a live context; these ctrls take no pointer argument.
        unsafe {
            (f.ctx_ctrl)(ctx, CTRL_SESS_CACHE_MODE, 0, std::ptr::null_mut());
            (f.ctx_ctrl)(ctx, CTRL_OPTIONS, OP_NO_TICKET, std::ptr::null_mut());
        }
        Ok(Tls { f, ctx })
    }

    /// Runs a TLS session over `sock` (client or server side) and hands it
    /// to `body`; the SSL object is freed afterwards (the socket is the
    /// caller's).
    pub(crate) fn session<S: AsRawFd, R>(
        &self,
        sock: &S,
        server: bool,
        body: impl FnOnce(&Session<'_>) -> std::io::Result<R>,
    ) -> std::io::Result<R> {
        // SAFETY: a live context.
        let ssl = unsafe { (self.f.new)(self.ctx) };
        if ssl.is_null() {
            return Err(std::io::Error::other("SSL_new failed"));
        }
        let s = Session { t: self, ssl };
        // SAFETY: a live SSL object and an open descriptor that outlives it.
        let ok = unsafe {
            (self.f.set_fd)(ssl, sock.as_raw_fd()) == 1
                && if server {
                    (self.f.accept)(ssl) == 1
                } else {
                    (self.f.connect)(ssl) == 1
                }
        };
        if !ok {
            return Err(std::io::Error::other("TLS handshake failed"));
        }
        body(&s)
    }
}

/// One TLS connection; freed on drop.
pub(crate) struct Session<'a> {
    t: &'a Tls,
    ssl: Ptr,
}

impl Session<'_> {
    /// Writes all of `buf`.
    pub(crate) fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
        let n = buf.len().min(c_int::MAX as usize) as c_int;
        // SAFETY: a live SSL object and a valid buffer of `n` bytes.
        let w = unsafe { (self.t.f.write)(self.ssl, buf.as_ptr() as *const c_void, n) };
        if w == n {
            Ok(())
        } else {
            Err(std::io::Error::other("SSL_write failed"))
        }
    }

    /// Reads into `buf`; 0 at the end of the stream or on error.
    pub(crate) fn read(&self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(c_int::MAX as usize) as c_int;
        // SAFETY: a live SSL object and a writable buffer of `n` bytes.
        let r = unsafe { (self.t.f.read)(self.ssl, buf.as_mut_ptr() as *mut c_void, n) };
        r.max(0) as usize
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // SAFETY: the SSL object is live and freed once.
        unsafe { (self.t.f.free)(self.ssl) }
    }
}
