//! Policy parsing, precedence and decision tests.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::policy::model::Mode;
use crate::sniff::{Proto, Transport};

fn facts(subject: Subject, transport: Transport, dport: u16) -> Facts {
    Facts {
        subject,
        transport,
        src: "198.18.1.2".parse().unwrap(),
        dst: "198.18.2.2".parse().unwrap(),
        dport,
        iif: 0,
        oif: 0,
    }
}

#[test]
fn builtin_is_application_default() {
    let p = load_str(DEFAULT_POLICY, "default").unwrap();
    let d = p.decide(&facts(Subject::Known(Proto::Tls), Transport::Tcp, 443));
    assert_eq!(
        (d.action, p.rule_name(d.rule)),
        (Action::Allow, "application-default")
    );
    let d = p.decide(&facts(Subject::Known(Proto::Tls), Transport::Tcp, 8088));
    assert_eq!(
        (d.action, d.rule, d.t1571),
        (Action::Reject, RuleRef::DefaultMismatch, true)
    );
    let d = p.decide(&facts(Subject::Known(Proto::Ssh), Transport::Tcp, 443));
    assert_eq!(d.action, Action::Reject);
    let d = p.decide(&facts(Subject::Known(Proto::Dns), Transport::Udp, 53));
    assert_eq!(d.action, Action::Allow);
    let d = p.decide(&facts(Subject::Unidentified, Transport::Tcp, 443));
    assert_eq!((d.action, d.t1571), (Action::Alert, false));
    // Services carried inside TLS and HTTP, and syslog's de facto TCP port.
    for (proto, port) in [
        (Proto::Tls, 5986),
        (Proto::Http, 3128),
        (Proto::Syslog, 514),
    ] {
        let d = p.decide(&facts(Subject::Known(proto), Transport::Tcp, port));
        assert_eq!(d.action, Action::Allow, "{proto} on {port}");
    }
    // Run-time assigned ports: allowed with an alert, never rejected.
    let dynamic = [
        (Proto::Dcerpc, Transport::Tcp, 49667, "dcerpc-dynamic-ports"),
        (
            Proto::OncRpc,
            Transport::Tcp,
            20048,
            "onc-rpc-assigned-ports",
        ),
        (
            Proto::OncRpc,
            Transport::Udp,
            40321,
            "onc-rpc-assigned-ports",
        ),
        (Proto::Stun, Transport::Udp, 61234, "ice-and-dtls-peers"),
        (Proto::Dtls, Transport::Udp, 443, "ice-and-dtls-peers"),
    ];
    for (proto, transport, port, rule) in dynamic {
        let d = p.decide(&facts(Subject::Known(proto), transport, port));
        assert_eq!(
            (d.action, p.rule_name(d.rule)),
            (Action::Alert, rule),
            "{proto} on {port}"
        );
    }
    // ... but not outside what each rule names.
    for (proto, transport, port) in [
        (Proto::Dcerpc, Transport::Tcp, 8080),
        (Proto::Stun, Transport::Tcp, 443),
        (Proto::Dtls, Transport::Tcp, 443),
    ] {
        let d = p.decide(&facts(Subject::Known(proto), transport, port));
        assert_eq!(d.action, Action::Reject, "{proto} on {port}");
    }
    assert_eq!(builtin().rule_count(), 4);
}

const BOTH_WAYS: &str = r#"
version = 7
[defaults]
mismatch = "reject"
unidentified = "drop"
undecided = "drop"

# protocol-centric: ssh only on 22 from the admin network
[[rule]]
name = "ssh-admin"
protocols = ["ssh"]
ports = [22]
src = ["198.18.1.0/24", "2001:db8:1::/48"]
action = "allow"

# port-centric: 443 must carry tls
[[rule]]
name = "443-is-tls"
protocols = ["tls"]
transport = "tcp"
ports = [443, "8443-8444"]
action = "allow"

[[rule]]
name = "443-nothing-else"
protocols = ["*", "unidentified"]
ports = [443]
action = "reject"
"#;

#[test]
fn both_directions_of_pairing_and_first_match() {
    let p = load_str(BOTH_WAYS, "both.toml").unwrap();
    assert_eq!(p.version, 7);
    let d = p.decide(&facts(Subject::Known(Proto::Ssh), Transport::Tcp, 22));
    assert_eq!(p.rule_name(d.rule), "ssh-admin");
    let mut f = facts(Subject::Known(Proto::Ssh), Transport::Tcp, 22);
    f.src = "198.18.5.5".parse().unwrap();
    assert_eq!(p.decide(&f).rule, RuleRef::DefaultMismatch);
    let d = p.decide(&facts(Subject::Known(Proto::Http), Transport::Tcp, 443));
    assert_eq!(
        (p.rule_name(d.rule), d.action, d.t1571),
        ("443-nothing-else", Action::Reject, true)
    );
    let d = p.decide(&facts(Subject::Unidentified, Transport::Tcp, 443));
    assert_eq!((p.rule_name(d.rule), d.t1571), ("443-nothing-else", false));
    let d = p.decide(&facts(Subject::Known(Proto::Tls), Transport::Tcp, 8444));
    assert_eq!(p.rule_name(d.rule), "443-is-tls");
    let d = p.decide(&facts(Subject::Known(Proto::Tls), Transport::Udp, 443));
    assert_eq!(p.rule_name(d.rule), "443-nothing-else");
    let d = p.decide(&facts(Subject::Undecided, Transport::Tcp, 443));
    assert_eq!(d.rule, RuleRef::DefaultUndecided);
}

#[test]
fn monitor_mode_alerts_instead_of_denying() {
    let text = BOTH_WAYS.replace("version = 7", "version = 7\nmode = \"monitor\"");
    let p = load_str(&text, "m.toml").unwrap();
    assert_eq!(p.mode, Mode::Monitor);
    let d = p.decide(&facts(Subject::Known(Proto::Http), Transport::Tcp, 443));
    assert_eq!((d.action, d.policy_action), (Action::Alert, Action::Reject));
}

/// Each bad policy fails with an error naming the place and the field.
#[test]
fn errors_name_file_line_and_field() {
    let cases: &[(&str, &str)] = &[
        ("version = 1\n[defaults]\nmismatch = \"rejekt\"\nunidentified = \"drop\"\nundecided = \"drop\"\n", "p.toml:3:12: field `mismatch`"),
        ("version = 1\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n[[rule]]\nname = \"x\"\nprotocols = [\"tls\"]\nports = [70000]\naction = \"allow\"\n", "p.toml:9:"),
        ("version = 1\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n[[rule]]\nname = \"x\"\nprotocols = [\"tlz\"]\naction = \"allow\"\n", "field `protocols`: unknown protocol \"tlz\""),
        ("version = 1\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n[[rule]]\nname = \"x\"\nprotocols = [\"tls\"]\ndst = [\"198.18.0.0/33\"]\naction = \"allow\"\n", "field `dst`: prefix length"),
        ("version = 1\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n[[rule]]\nname = \"x\"\nprotocols = [\"tls\"]\nports = [0]\naction = \"allow\"\n", "port 0 is outside"),
        ("version = 1\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n[[rule]]\nname = \"x\"\nprotocls = [\"tls\"]\naction = \"allow\"\n", "unknown field `protocls`"),
        ("version = 0\n[defaults]\nmismatch = \"drop\"\nunidentified = \"drop\"\nundecided = \"drop\"\n", "p.toml:1:1: field `version`"),
        ("version = 1\n", "missing field `defaults`"),
        ("version = \"one\"\n", "field `version`"),
        ("version = 1\n[defaults\n", "p.toml:2:"),
    ];
    for (text, want) in cases {
        let err = load_str(text, "p.toml")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
}

#[test]
fn oversized_policy_is_refused() {
    let big = "#".repeat(model::MAX_POLICY_BYTES + 1);
    assert!(matches!(
        load_str(&big, "big"),
        Err(PolicyError::TooLarge { .. })
    ));
}

#[test]
fn cidr_matching() {
    let c = model::Cidr::parse("198.18.0.0/15").unwrap();
    assert!(c.contains("198.19.255.255".parse().unwrap()));
    assert!(!c.contains("198.20.0.0".parse().unwrap()));
    assert!(!c.contains("2001:db8::1".parse().unwrap()));
    let c = model::Cidr::parse("2001:db8::/32").unwrap();
    assert!(c.contains("2001:db8:ffff::1".parse().unwrap()));
    let c = model::Cidr::parse("0.0.0.0/0").unwrap();
    assert!(c.contains("203.0.113.9".parse().unwrap()));
}

#[test]
fn key_ids_as_minisign_prints_them_are_padded_to_16_digits() {
    // minisign prints the 64-bit key id without leading zeros.
    let head =
        "[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n";
    let p = load_str(
        &format!("version = 1\nkey_id = \"d700AC834F7A077\"\n{head}"),
        "k.toml",
    )
    .unwrap();
    assert_eq!(p.key_id.as_deref(), Some("0D700AC834F7A077"));
    for bad in ["", "0D700AC834F7A0771", "XYZ"] {
        let e = load_str(
            &format!("version = 1\nkey_id = \"{bad}\"\n{head}"),
            "k.toml",
        );
        assert!(
            e.unwrap_err().to_string().contains("not a key id"),
            "{bad:?}"
        );
    }
}
