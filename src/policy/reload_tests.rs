//! The reload path: every refusal, on a table of malformed and hostile
//! policies, each with its error and no change to the running policy or
//! the persisted state; then acceptance, rollback across restarts, and
//! `--allow-downgrade`.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use super::*;
use crate::events::EventSink;
use crate::policy::{Action, Facts, Subject};
use crate::sniff::{Proto, Transport};
use std::path::PathBuf;

/// A scratch directory with two trusted keys (A, B) and one untrusted (C).
struct Fixture {
    dir: PathBuf,
    ids: [String; 3],
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("pc-reload-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ids = ["a", "b", "c"].map(|k| {
            sign::keygen(
                &dir.join(format!("{k}.pub")),
                &dir.join(format!("{k}.sec")),
                None,
            )
            .unwrap()
            .to_string()
        });
        Fixture { dir, ids }
    }

    fn path(&self, n: &str) -> PathBuf {
        self.dir.join(n)
    }

    fn cfg(&self) -> ReloadConfig {
        ReloadConfig {
            policy: self.path("policy.toml"),
            trusted: ["a", "b"]
                .iter()
                .map(|k| TrustedKey::from_file(&self.path(&format!("{k}.pub"))).unwrap())
                .collect(),
            state: Some(self.path("state/state.json")),
            allow_downgrade: false,
            redirect: crate::policy::reload::RedirectSupport::None(
                "redirect is carried out in gateway mode only",
            ),
            apply: Default::default(),
            ifindex: |n| (n == "lo").then_some(1),
        }
    }

    /// Writes the policy and signs it with key `k` (or leaves `sig` as is).
    fn write(&self, text: &[u8], sig: Sig) {
        let p = self.path("policy.toml");
        let s = sign::sig_path(&p);
        std::fs::write(&p, text).unwrap();
        let _ = std::fs::remove_file(&s);
        match sig {
            Sig::By(k) => {
                sign::sign_file(&p, &self.path(&format!("{k}.sec")), None).unwrap();
            }
            Sig::Missing => {}
            Sig::Garbled => {
                sign::sign_file(&p, &self.path("a.sec"), None).unwrap();
                let t = std::fs::read_to_string(&s).unwrap();
                let mut lines: Vec<String> = t.lines().map(String::from).collect();
                // Flip one character in the signature's base64 line.
                let l = &mut lines[1];
                let c = if l.as_bytes()[20] == b'A' { "B" } else { "A" };
                l.replace_range(20..21, c);
                std::fs::write(&s, lines.join("\n") + "\n").unwrap();
            }
            Sig::OfOther => {
                let other = self.path("other.toml");
                std::fs::write(&other, policy(9, &self.ids[0], "")).unwrap();
                sign::sign_file(&other, &self.path("a.sec"), None).unwrap();
                std::fs::copy(sign::sig_path(&other), &s).unwrap();
            }
            Sig::Huge => std::fs::write(&s, "x".repeat(10_000)).unwrap(),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Clone, Copy)]
enum Sig {
    By(&'static str),
    Missing,
    Garbled,
    OfOther,
    Huge,
}

const RULES: &str = "[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n[[rule]]\nname = \"tls-443\"\nprotocols = [\"tls\"]\nports = [443]\naction = \"allow\"\n";

fn policy(version: u64, kid: &str, extra_rule: &str) -> String {
    format!("version = {version}\nkey_id = \"{kid}\"\n{RULES}{extra_rule}")
}

fn tls(port: u16) -> Facts {
    Facts {
        subject: Subject::Known(Proto::Tls),
        transport: Transport::Tcp,
        src: "198.18.1.2".parse().unwrap(),
        dst: "198.18.2.2".parse().unwrap(),
        dport: port,
        iif: 1,
        oif: 2,
    }
}

const NOW: i64 = 1_796_300_000; // 2026-12-03T12:13:20Z

#[test]
fn hostile_policies_are_refused_and_change_nothing() {
    let fx = Fixture::new("hostile");
    let (a, b, c) = (fx.ids[0].clone(), fx.ids[1].clone(), fx.ids[2].clone());
    fx.write(policy(5, &a, "").as_bytes(), Sig::By("a"));
    let r = Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap();
    let state_before = std::fs::read(fx.path("state/state.json")).unwrap();
    let rule = |body: &str| format!("[[rule]]\nname = \"x\"\n{body}\n");
    let p6 = |extra: &str| policy(6, &a, extra);
    let valid = p6("");
    let mut cases: Vec<(&str, Vec<u8>, Sig, String)> = vec![
        (
            "truncated",
            valid[..valid.len() / 2].into(),
            Sig::By("a"),
            "policy.toml:".into(),
        ),
        (
            "truncated mid-string",
            valid[..18].into(),
            Sig::By("a"),
            "policy.toml:2:".into(),
        ),
        (
            "empty file",
            b"".to_vec(),
            Sig::By("a"),
            "missing field".into(),
        ),
        (
            "version wrong type",
            p6("").replace("version = 6", "version = \"six\"").into(),
            Sig::By("a"),
            "field `version`".into(),
        ),
        (
            "version huge",
            p6("")
                .replace("version = 6", "version = 99999999999999999999")
                .into(),
            Sig::By("a"),
            "field `version`".into(),
        ),
        (
            "version negative",
            p6("").replace("version = 6", "version = -6").into(),
            Sig::By("a"),
            "field `version`".into(),
        ),
        (
            "version zero",
            p6("").replace("version = 6", "version = 0").into(),
            Sig::By("a"),
            "version must be 1 or more".into(),
        ),
        (
            "version twice",
            format!("version = 7\n{}", p6("")).into(),
            Sig::By("a"),
            "duplicate key".into(),
        ),
        (
            "10 MB file",
            format!("{}#{}\n", p6(""), "x".repeat(10 << 20)).into(),
            Sig::Missing,
            "more than the limit".into(),
        ),
        (
            "deeply nested",
            format!(
                "{}x = {}{}\n",
                p6(""),
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
            .into(),
            Sig::By("a"),
            "recursion limit".into(),
        ),
        (
            "not UTF-8",
            [p6("").as_bytes(), b"# \xff\xfe\n"].concat(),
            Sig::By("a"),
            "not UTF-8".into(),
        ),
        (
            "NUL byte",
            p6("").replace("tls-443", "tls\u{0}x443").into(),
            Sig::By("a"),
            "policy.toml:".into(),
        ),
        (
            "unknown protocol",
            p6(&rule("protocols = [\"tlz\"]\naction = \"allow\"")).into(),
            Sig::By("a"),
            "unknown protocol \"tlz\"".into(),
        ),
        (
            "bad CIDR length",
            p6(&rule(
                "protocols = [\"tls\"]\ndst = [\"198.18.0.0/33\"]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "prefix length".into(),
        ),
        (
            "bad CIDR address",
            p6(&rule(
                "protocols = [\"tls\"]\nsrc = [\"198.18.0.300/24\"]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "is not an IP address".into(),
        ),
        (
            "port 0",
            p6(&rule(
                "protocols = [\"tls\"]\nports = [0]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "port 0 is outside 1-65535".into(),
        ),
        (
            "port 70000",
            p6(&rule(
                "protocols = [\"tls\"]\nports = [70000]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "port 70000 is outside 1-65535".into(),
        ),
        (
            "range backwards",
            p6(&rule(
                "protocols = [\"tls\"]\nports = [\"500-400\"]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "runs backwards".into(),
        ),
        (
            "port as float",
            p6(&rule(
                "protocols = [\"tls\"]\nports = [443.5]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "field `ports`".into(),
        ),
        (
            "unknown field",
            p6(&rule("protocls = [\"tls\"]\naction = \"allow\"")).into(),
            Sig::By("a"),
            "unknown field `protocls`".into(),
        ),
        (
            "unknown action",
            p6(&rule("protocols = [\"tls\"]\naction = \"permit\"")).into(),
            Sig::By("a"),
            "unknown variant `permit`".into(),
        ),
        (
            "unknown mode",
            p6("")
                .replace("[defaults]", "mode = \"lenient\"\n[defaults]")
                .into(),
            Sig::By("a"),
            "unknown variant `lenient`".into(),
        ),
        (
            "empty protocols",
            p6(&rule("protocols = []\naction = \"allow\"")).into(),
            Sig::By("a"),
            "`protocols` is empty".into(),
        ),
        (
            "empty dst list",
            p6(&rule("protocols = [\"tls\"]\ndst = []\naction = \"allow\"")).into(),
            Sig::By("a"),
            "matches nothing".into(),
        ),
        (
            "standard ports for unidentified",
            p6(&rule(
                "protocols = [\"unidentified\"]\nports = \"standard\"\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "needs named protocols".into(),
        ),
        (
            "redirect without target",
            p6(&rule("protocols = [\"tls\"]\naction = \"redirect\"")).into(),
            Sig::By("a"),
            "needs `redirect".into(),
        ),
        (
            "redirect target without port",
            p6(&rule(
                "protocols = [\"tls\"]\naction = \"redirect\"\nredirect = \"198.18.9.9\"",
            ))
            .into(),
            Sig::By("a"),
            "is not ADDRESS:PORT".into(),
        ),
        (
            "target on a non-redirect rule",
            p6(&rule(
                "protocols = [\"tls\"]\naction = \"allow\"\nredirect = \"198.18.9.9:80\"",
            ))
            .into(),
            Sig::By("a"),
            "action is not \"redirect\"".into(),
        ),
        (
            "redirect refused by run",
            p6(&rule(
                "protocols = [\"tls\"]\naction = \"redirect\"\nredirect = \"198.18.9.9:8443\"",
            ))
            .into(),
            Sig::By("a"),
            "gateway mode only".into(),
        ),
        (
            "default redirect",
            p6("")
                .replace("mismatch = \"reject\"", "mismatch = \"redirect\"")
                .into(),
            Sig::By("a"),
            "a default cannot redirect".into(),
        ),
        (
            "unknown interface",
            p6(&rule(
                "protocols = [\"tls\"]\niif = [\"nosuch0\"]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "no interface \"nosuch0\"".into(),
        ),
        (
            "bad interface name",
            p6(&rule(
                "protocols = [\"tls\"]\noif = [\"../etc\"]\naction = \"allow\"",
            ))
            .into(),
            Sig::By("a"),
            "not an interface name".into(),
        ),
        (
            "bad key_id",
            p6("").replace(&a, "not-hex").into(),
            Sig::By("a"),
            "not a key id".into(),
        ),
        (
            "bad expires",
            p6("")
                .replace("[defaults]", "expires = \"tomorrow\"\n[defaults]")
                .into(),
            Sig::By("a"),
            "RFC 3339".into(),
        ),
        (
            "expires without offset",
            p6("")
                .replace("[defaults]", "expires = 2030-01-01T00:00:00\n[defaults]")
                .into(),
            Sig::By("a"),
            "RFC 3339".into(),
        ),
        (
            "expired",
            p6("")
                .replace("[defaults]", "expires = 2026-12-03T12:00:00Z\n[defaults]")
                .into(),
            Sig::By("a"),
            "expired at 2026-12-03T12:00:00".into(),
        ),
        (
            "replayed older version",
            policy(4, &a, "").into(),
            Sig::By("a"),
            "version 4 is not higher than running version 5".into(),
        ),
        (
            "same version again",
            policy(5, &a, "# changed\n").into(),
            Sig::By("a"),
            "version 5 is not higher".into(),
        ),
        (
            "signature missing",
            p6("").into(),
            Sig::Missing,
            "missing; a trusted key is configured".into(),
        ),
        (
            "signature garbled",
            p6("").into(),
            Sig::Garbled,
            "policy.toml.minisig".into(),
        ),
        (
            "signature of another file",
            p6("").into(),
            Sig::OfOther,
            "does not match the policy's bytes".into(),
        ),
        (
            "signature file huge",
            p6("").into(),
            Sig::Huge,
            "larger than 4096".into(),
        ),
        (
            "signed by an untrusted key",
            policy(6, &c, "").into(),
            Sig::By("c"),
            format!("signed by key {c}, which is not a trusted key"),
        ),
        (
            "key_id names another trusted key",
            policy(6, &b, "").into(),
            Sig::By("a"),
            format!("`key_id` is {b} but the policy is signed by {a}"),
        ),
        (
            "key_id missing",
            p6("").replace(&format!("key_id = \"{a}\"\n"), "").into(),
            Sig::By("a"),
            "no `key_id`".into(),
        ),
    ];
    assert!(cases.len() >= 30);
    let before = r.current().load_full();
    for (name, text, sig, want) in cases.drain(..) {
        fx.write(&text, sig);
        let err = match r.reload_at(Trigger::Api, NOW) {
            Ok(o) => panic!("{name}: accepted: {o:?}"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&want), "{name}: want {want:?} in {err:?}");
        let now = r.current().load_full();
        assert!(
            Arc::ptr_eq(&before, &now),
            "{name}: the running policy changed"
        );
        assert_eq!(now.decide(&tls(443)).action, Action::Allow, "{name}");
        assert_eq!(
            std::fs::read(fx.path("state/state.json")).unwrap(),
            state_before,
            "{name}: the state file changed"
        );
    }
    // And a good one after all that goes through.
    fx.write(
        p6(&rule(
            "protocols = [\"tls\"]\niif = [\"lo\"]\naction = \"drop\"",
        ))
        .as_bytes(),
        Sig::By("a"),
    );
    let o = r.reload_at(Trigger::Signal, NOW).unwrap();
    assert_eq!(
        (o.version, o.previous, o.key_id.as_deref()),
        (6, 5, Some(a.as_str()))
    );
    assert_eq!(
        state::read(&fx.path("state/state.json"))
            .unwrap()
            .unwrap()
            .version,
        6
    );
}

#[test]
fn rollback_is_refused_across_restarts_unless_allowed() {
    let fx = Fixture::new("restart");
    let a = fx.ids[0].clone();
    fx.write(policy(5, &a, "").as_bytes(), Sig::By("a"));
    drop(Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap());
    // Restart with the same version: fine.
    let r = Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap();
    fx.write(policy(8, &a, "").as_bytes(), Sig::By("a"));
    assert_eq!(r.reload_at(Trigger::Watch, NOW).unwrap().version, 8);
    drop(r);
    // Restart with an older, validly signed file: refused.
    fx.write(policy(7, &a, "").as_bytes(), Sig::By("a"));
    let err = Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap_err();
    assert!(
        err.to_string()
            .contains("version 7 is not higher than last accepted version 8"),
        "{err}"
    );
    // --allow-downgrade is the way out, and records the lower version.
    let mut cfg = fx.cfg();
    cfg.allow_downgrade = true;
    let r = Reloader::start_at(cfg, EventSink::none(), NOW).unwrap();
    assert_eq!(r.current().load().version, 7);
    assert_eq!(
        state::read(&fx.path("state/state.json"))
            .unwrap()
            .unwrap()
            .version,
        7
    );
    // A corrupt state file stops the start rather than being forgotten.
    std::fs::write(fx.path("state/state.json"), "garbage").unwrap();
    let err = Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap_err();
    assert!(err.to_string().contains("unreadable"), "{err}");
}

#[test]
fn unsigned_policies_load_only_without_trusted_keys() {
    let fx = Fixture::new("unsigned");
    let mut cfg = fx.cfg();
    cfg.trusted.clear();
    fx.write(b"version = 2\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n", Sig::Missing);
    let r = Reloader::start_at(cfg, EventSink::none(), NOW).unwrap();
    assert_eq!(r.current().load().version, 2);
    // The same file with trusted keys configured: refused.
    let err = Reloader::start_at(fx.cfg(), EventSink::none(), NOW).unwrap_err();
    assert!(err.to_string().contains("must be signed"), "{err}");
}
