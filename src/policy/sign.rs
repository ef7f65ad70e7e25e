//! Policy signatures in minisign format.
//!
//! Verification uses the `minisign-verify` crate (Ed25519, prehashed and
//! classic "legacy" ones, `minisign -l`, which sign the whole file). Keys and signatures
//! are the standard `minisign` tool's files, so `minisign -S` signs
//! policies portcullis verifies and `minisign -V` verifies what
//! `portcullis sign` writes. `keygen` and `sign` use the `minisign` crate.
//!
//! A key id is shown as `minisign` shows it: the 8-byte key number read as
//! a little-endian integer, in 16 uppercase hexadecimal digits.
//!
//! Never: accept a signature whose key is not trusted, or read an
//! unbounded signature or key file.

use ct_codecs::{Base64, Decoder};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest key or signature file read.
pub const MAX_SIG_BYTES: u64 = 4096;

/// Why a key or signature could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A key or signature file is not in minisign format.
    #[error("{path}: not a minisign {what}: {detail}")]
    Format {
        /// The file.
        path: String,
        /// "public key", "secret key" or "signature".
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// The signature was made by a key that is not trusted.
    #[error("{path}: signed by key {key_id}, which is not a trusted key (trusted: {trusted})")]
    UntrustedKey {
        /// The signature file.
        path: String,
        /// The signing key's id.
        key_id: String,
        /// The trusted keys' ids.
        trusted: String,
    },
    /// The signature does not verify over the policy's bytes.
    #[error("{path}: signature does not match the policy's bytes (altered policy, or the signature of another file)")]
    Mismatch {
        /// The signature file.
        path: String,
    },
    /// The file to be written exists.
    #[error("{path}: exists; refusing to overwrite a key")]
    Exists {
        /// The file.
        path: String,
    },
    /// The `minisign` crate failed (key generation, decryption, signing).
    #[error("{0}")]
    Minisign(String),
}

/// A key id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A public key trusted to sign policies.
#[derive(Clone)]
pub struct TrustedKey {
    /// Its id.
    pub id: KeyId,
    /// Where it was read from.
    pub path: String,
    key: minisign_verify::PublicKey,
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedKey({} from {})", self.id, self.path)
    }
}

/// Reads a file of at most [`MAX_SIG_BYTES`].
fn read_small(path: &Path) -> Result<String, SignError> {
    use std::io::Read;
    let io = |source| SignError::Io {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    f.take(MAX_SIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_SIG_BYTES {
        return Err(io(std::io::Error::other(format!(
            "larger than {MAX_SIG_BYTES} bytes"
        ))));
    }
    Ok(text)
}

/// The key id in the base64 line of a key or signature (bytes 2..10).
fn key_id_of(text: &str) -> Option<KeyId> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let bin = Base64::decode_to_vec(line, None).ok()?;
    let id: [u8; 8] = bin.get(2..10)?.try_into().ok()?;
    Some(KeyId(id))
}

impl TrustedKey {
    /// Parses a minisign public key: the `.pub` file's text, or the bare
    /// base64 line. `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<TrustedKey, SignError> {
        let format = |detail: String| SignError::Format {
            path: path.to_string(),
            what: "public key",
            detail,
        };
        let key = if text.trim_start().starts_with("untrusted comment:") {
            minisign_verify::PublicKey::decode(text)
        } else {
            minisign_verify::PublicKey::from_base64(text.trim())
        }
        .map_err(|e| format(e.to_string()))?;
        let id = key_id_of(text).ok_or_else(|| format("no key id".into()))?;
        Ok(TrustedKey {
            id,
            path: path.to_string(),
            key,
        })
    }

    /// Reads a minisign public key file.
    pub fn from_file(path: &Path) -> Result<TrustedKey, SignError> {
        TrustedKey::parse(&read_small(path)?, &path.display().to_string())
    }
}

/// The signature file of a policy: `POLICY.minisig`.
pub fn sig_path(policy: &Path) -> PathBuf {
    let mut s = policy.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}

/// Reads a signature file (bounded).
pub fn read_signature(path: &Path) -> Result<String, SignError> {
    read_small(path)
}

/// Verifies `sig_text` (a `.minisig` file's content, named `sig_name` in
/// errors) over `data` with one of `keys`; the key that signed.
pub fn verify<'k>(
    data: &[u8],
    sig_text: &str,
    sig_name: &str,
    keys: &'k [TrustedKey],
) -> Result<&'k TrustedKey, SignError> {
    let sig = minisign_verify::Signature::decode(sig_text).map_err(|e| SignError::Format {
        path: sig_name.to_string(),
        what: "signature",
        detail: e.to_string(),
    })?;
    let id = key_id_of(sig_text).ok_or_else(|| SignError::Format {
        path: sig_name.to_string(),
        what: "signature",
        detail: "no key id".into(),
    })?;
    let key = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| SignError::UntrustedKey {
            path: sig_name.to_string(),
            key_id: id.to_string(),
            trusted: keys
                .iter()
                .map(|k| k.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    key.key
        .verify(data, &sig, true)
        .map_err(|_| SignError::Mismatch {
            path: sig_name.to_string(),
        })?;
    Ok(key)
}

fn mini(e: minisign::PError) -> SignError {
    SignError::Minisign(e.to_string())
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), SignError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                SignError::Exists {
                    path: path.display().to_string(),
                }
            } else {
                SignError::Io {
                    path: path.display().to_string(),
                    source: e,
                }
            }
        })?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| SignError::Io {
            path: path.display().to_string(),
            source: e,
        })
}

/// Generates a key pair and writes `PUB` and `SEC` (mode 0600), refusing to
/// overwrite either. With a password the secret key is encrypted (scrypt),
/// as `minisign -G` does; without, it is stored in clear (`minisign -W`).
pub fn keygen(
    pub_path: &Path,
    sec_path: &Path,
    password: Option<String>,
) -> Result<KeyId, SignError> {
    for p in [pub_path, sec_path] {
        if p.exists() {
            return Err(SignError::Exists {
                path: p.display().to_string(),
            });
        }
    }
    let kp = match password {
        Some(pw) => minisign::KeyPair::generate_encrypted_keypair(Some(pw)),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(mini)?;
    let pk = kp.pk.to_box().map_err(mini)?.to_string();
    let sk = kp.sk.to_box(None).map_err(mini)?.to_string();
    let id = key_id_of(&pk).ok_or_else(|| SignError::Minisign("generated key has no id".into()))?;
    write_new(sec_path, &sk, 0o600)?;
    write_new(pub_path, &pk, 0o644)?;
    Ok(id)
}

/// Signs the file `data_path` with the secret key at `sec_path` and writes
/// `DATA.minisig` (replacing it through a temporary file and a rename).
/// An encrypted key needs `password` (or is prompted for on a terminal).
pub fn sign_file(
    data_path: &Path,
    sec_path: &Path,
    password: Option<String>,
) -> Result<(PathBuf, KeyId), SignError> {
    let sk_text = read_small(sec_path)?;
    let sk_box = minisign::SecretKeyBox::from_string(&sk_text).map_err(mini)?;
    let sk = match minisign::SecretKey::from_unencrypted_box(sk_box.clone()) {
        Ok(sk) => sk,
        Err(_) => sk_box.into_secret_key(password).map_err(mini)?,
    };
    let id = KeyId(
        sk.keynum()
            .try_into()
            .map_err(|_| SignError::Minisign("bad key number".into()))?,
    );
    let data = std::fs::read(data_path).map_err(|e| SignError::Io {
        path: data_path.display().to_string(),
        source: e,
    })?;
    let name = data_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tc = format!("file:{name}");
    let sig =
        minisign::sign(None, &sk, std::io::Cursor::new(data), Some(&tc), None).map_err(mini)?;
    let out = sig_path(data_path);
    let tmp = {
        let mut s = out.as_os_str().to_owned();
        s.push(".tmp");
        PathBuf::from(s)
    };
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, &sig.into_string(), 0o644)?;
    std::fs::rename(&tmp, &out).map_err(|e| SignError::Io {
        path: out.display().to_string(),
        source: e,
    })?;
    Ok((out, id))
}
