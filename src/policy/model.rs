//! The policy file format (TOML) and its parser.
//!
//! Every value is validated while it is deserialized, so an error carries
//! the position of the offending value: [`PolicyError::Parse`] names the
//! file, line, column and field. Unknown fields are errors (a typo must not
//! silently widen a policy).

use crate::sniff::{Proto, Transport};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Largest policy file accepted (a 10,000-rule policy is about 1.5 MB).
pub const MAX_POLICY_BYTES: usize = 8 << 20;
/// Most rules in one policy.
pub const MAX_RULES: usize = 100_000;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_POLICY_BYTES`].
    #[error("{file}: policy is {size} bytes, more than the limit of {MAX_POLICY_BYTES}")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
    },
    /// A syntax or value error at a position.
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key of the offending line (or "-").
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A rule is invalid as a whole.
    #[error("{file}: rule {index} ({name}): {message}")]
    Rule {
        /// The file.
        file: String,
        /// 1-based rule index.
        index: usize,
        /// The rule's name.
        name: String,
        /// What was wrong.
        message: String,
    },
}

/// What happens to a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionName {
    /// Let the flow through.
    Allow,
    /// Let it through and emit an alert event.
    Alert,
    /// Drop it silently.
    Drop,
    /// Drop it and reset the client (TCP RST) or ICMP unreachable (UDP).
    Reject,
    /// Send it to another endpoint (the rule's `redirect` target). Parsed
    /// and validated; `run` refuses such a policy until the datapath can
    /// carry it out.
    Redirect,
}

/// Enforce, or only alert on what would be denied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny as the policy says.
    #[default]
    Enforce,
    /// Turn every deny into an alert (for rolling a policy out).
    Monitor,
}

/// A protocol selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoSel {
    /// One protocol.
    One(Proto),
    /// Any identified protocol (`"*"`).
    AnyKnown,
    /// A flow whose whole sample matched no protocol (`"unidentified"`).
    Unidentified,
    /// A flow that hit a holding bound before a decision (`"undecided"`).
    Undecided,
}

impl<'de> Deserialize<'de> for ProtoSel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "*" => Ok(ProtoSel::AnyKnown),
            "unidentified" | "unknown" => Ok(ProtoSel::Unidentified),
            "undecided" => Ok(ProtoSel::Undecided),
            name => Proto::from_name(name).map(ProtoSel::One).ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown protocol {name:?}; expected \"*\", \"unidentified\", \"undecided\" or one of: {}",
                    Proto::ALL.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
                ))
            }),
        }
    }
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port 1-65535 or a range \"LO-HI\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRange, E> {
                let p = port(v).map_err(E::custom)?;
                Ok(PortRange { lo: p, hi: p })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRange, E> {
                let (a, b) = v.split_once('-').unwrap_or((v, v));
                let parse = |s: &str| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| E::custom(format!("{s:?} is not a port number")))
                        .and_then(|n| port(n).map_err(E::custom))
                };
                let (lo, hi) = (parse(a)?, parse(b)?);
                if lo > hi {
                    return Err(E::custom(format!("range {v:?} runs backwards")));
                }
                Ok(PortRange { lo, hi })
            }
        }
        d.deserialize_any(V)
    }
}

fn port(v: i64) -> Result<u16, String> {
    match u16::try_from(v) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("port {v} is outside 1-65535")),
    }
}

/// The ports a rule covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ports {
    /// Each protocol's standard ports (the catalogue).
    Standard,
    /// Listed ports and ranges.
    List(Vec<PortRange>),
}

impl<'de> Deserialize<'de> for Ports {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Untagged enums lose the inner message; try the forms in turn.
        let v = toml::Value::deserialize(d)?;
        match v {
            toml::Value::String(s) if s == "standard" => Ok(Ports::Standard),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|i| PortRange::deserialize(i).map_err(de::Error::custom))
                .collect::<Result<Vec<_>, D::Error>>()
                .and_then(|l| {
                    if l.is_empty() {
                        Err(de::Error::custom(
                            "empty port list; omit `ports` to match every port",
                        ))
                    } else {
                        Ok(Ports::List(l))
                    }
                }),
            other => PortRange::deserialize(other)
                .map(|r| Ports::List(vec![r]))
                .map_err(|e| de::Error::custom(format!("{e}, a list of those, or \"standard\""))),
        }
    }
}

/// An IPv4 or IPv6 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parses "ADDR/LEN" or a bare address.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = if l.is_empty() {
            max
        } else {
            l.parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("prefix length {l:?} is not 0-{max}"))?
        };
        Ok(Cidr {
            addr: mask(addr, len),
            len,
        })
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.len) == self.addr
            }
            _ => false,
        }
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cidr::parse(&s).map_err(de::Error::custom)
    }
}

/// A transport selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportSel {
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
}

impl From<TransportSel> for Transport {
    fn from(t: TransportSel) -> Transport {
        match t {
            TransportSel::Tcp => Transport::Tcp,
            TransportSel::Udp => Transport::Udp,
        }
    }
}

/// A network interface name, as `ip link` shows it (1-15 bytes, no `/`,
/// no whitespace). Resolved to an index when the policy is compiled.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IfName(pub String);

impl<'de> Deserialize<'de> for IfName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.is_empty()
            && s.len() <= 15
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
        if ok {
            Ok(IfName(s))
        } else {
            Err(de::Error::custom(format!(
                "{s:?} is not an interface name; expected 1-15 printable characters without '/', ':' or spaces"
            )))
        }
    }
}

/// A redirect target: an IP address and a port ("198.18.9.9:8080",
/// "[2001:db8::9]:8080").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target(pub SocketAddr);

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let a: SocketAddr = s.parse().map_err(|_| {
            de::Error::custom(format!(
                "{s:?} is not ADDRESS:PORT; expected e.g. \"198.18.9.9:8080\" or \"[2001:db8::9]:8080\""
            ))
        })?;
        if a.port() == 0 || a.ip().is_unspecified() {
            return Err(de::Error::custom(format!(
                "redirect target {s:?} needs a specific address and a port 1-65535"
            )));
        }
        Ok(Target(a))
    }
}

/// The key id of a minisign key: up to 16 hexadecimal digits, as `minisign`
/// prints it ("minisign public key 3FA2C1D0E4B59A67"). The minisign tool
/// prints the 64-bit id without leading zeros (one key in 16 gets a
/// 15-digit id), so shorter ids are accepted and padded. Kept uppercase,
/// 16 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyId(pub String);

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (1..=16).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(KeyId(format!("{:0>16}", s.to_ascii_uppercase())))
        } else {
            Err(de::Error::custom(format!(
                "{s:?} is not a key id; expected the key id minisign prints for the public key (up to 16 hexadecimal digits)"
            )))
        }
    }
}

/// An RFC 3339 timestamp with an offset ("2027-01-31T00:00:00Z"), as a
/// TOML date-time or a string; held as seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expires(pub i64);

impl<'de> Deserialize<'de> for Expires {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match toml::Value::deserialize(d)? {
            toml::Value::String(s) => s,
            toml::Value::Datetime(t) => t.to_string(),
            other => {
                return Err(de::Error::custom(format!(
                    "expected an RFC 3339 date-time with offset, found {}",
                    other.type_str()
                )))
            }
        };
        super::time::parse_rfc3339(&text)
            .map(Expires)
            .map_err(de::Error::custom)
    }
}

/// The actions for flows no rule matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// A known protocol on a port no rule allows for it (T1571).
    pub mismatch: ActionName,
    /// A flow whose protocol could not be identified.
    pub unidentified: ActionName,
    /// A flow that hit a holding bound (packets, bytes, time) first.
    pub undecided: ActionName,
}

/// One rule: selectors and an action. Omitted selectors match anything.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name, reported in events.
    pub name: String,
    /// Protocols this rule applies to.
    pub protocols: Vec<ProtoSel>,
    /// TCP or UDP only.
    pub transport: Option<TransportSel>,
    /// Destination (responder) ports.
    pub ports: Option<Ports>,
    /// Source (initiator) networks.
    pub src: Option<Vec<Cidr>>,
    /// Destination (responder) networks.
    pub dst: Option<Vec<Cidr>>,
    /// Interfaces the initiator's packets arrive on.
    pub iif: Option<Vec<IfName>>,
    /// Interfaces the initiator's packets leave by.
    pub oif: Option<Vec<IfName>>,
    /// What to do.
    pub action: ActionName,
    /// Where `action = "redirect"` sends the flow (required with it,
    /// refused without it).
    pub redirect: Option<Target>,
}

/// A whole policy file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Monotonic version; a reload must carry a higher one.
    pub version: u64,
    /// After this instant the policy is refused (at start and at reload).
    pub expires: Option<Expires>,
    /// The minisign key id the policy must be signed with.
    pub key_id: Option<KeyId>,
    /// Enforce or monitor.
    #[serde(default)]
    pub mode: Mode,
    /// Actions when no rule matches.
    pub defaults: Defaults,
    /// Rules, first match wins.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Parses policy text. `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<PolicyFile, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            file: origin.to_string(),
            size: text.len() as u64,
        });
    }
    let file: PolicyFile = toml::from_str(text).map_err(|e| located(text, origin, &e))?;
    if file.version == 0 {
        return Err(parse_error(
            text,
            origin,
            text.find("version").unwrap_or(0),
            "version must be 1 or more",
        ));
    }
    if file.rules.len() > MAX_RULES {
        return Err(parse_error(
            text,
            origin,
            0,
            &format!("{} rules, more than {MAX_RULES}", file.rules.len()),
        ));
    }
    let d = &file.defaults;
    for (name, a) in [
        ("mismatch", d.mismatch),
        ("unidentified", d.unidentified),
        ("undecided", d.undecided),
    ] {
        if a == ActionName::Redirect {
            let at = text.find("[defaults]").unwrap_or(0);
            let at = text
                .get(at..)
                .and_then(|t| t.find(name))
                .map_or(at, |i| at + i);
            return Err(parse_error(
                text,
                origin,
                at,
                "a default cannot redirect (it has no target); use a rule with `redirect`",
            ));
        }
    }
    for (i, r) in file.rules.iter().enumerate() {
        let problem = if r.protocols.is_empty() {
            Some("`protocols` is empty; use [\"*\"] for every identified protocol")
        } else if r.action == ActionName::Redirect && r.redirect.is_none() {
            Some("action \"redirect\" needs `redirect = \"ADDRESS:PORT\"`")
        } else if r.action != ActionName::Redirect && r.redirect.is_some() {
            Some("`redirect` is set but the action is not \"redirect\"")
        } else if r.iif.as_ref().is_some_and(|l| l.is_empty())
            || r.oif.as_ref().is_some_and(|l| l.is_empty())
            || r.src.as_ref().is_some_and(|l| l.is_empty())
            || r.dst.as_ref().is_some_and(|l| l.is_empty())
        {
            Some("an empty `src`, `dst`, `iif` or `oif` list matches nothing; omit it to match everything")
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(PolicyError::Rule {
                file: origin.to_string(),
                index: i + 1,
                name: r.name.clone(),
                message: message.into(),
            });
        }
    }
    Ok(file)
}

fn located(text: &str, origin: &str, e: &toml::de::Error) -> PolicyError {
    let at = e.span().map(|s| s.start).unwrap_or(0);
    parse_error(text, origin, at, e.message())
}

fn parse_error(text: &str, origin: &str, at: usize, message: &str) -> PolicyError {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    let line_text = text
        .get(line_start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    let field = line_text
        .split_once('=')
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or_else(|| line_text.trim().chars().take(40).collect());
    PolicyError::Parse {
        file: origin.to_string(),
        line,
        column,
        field: if field.is_empty() { "-".into() } else { field },
        message: message.to_string(),
    }
}
