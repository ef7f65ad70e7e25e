//! Policy lookup with 10,000 rules: the index (`decide`) against the
//! linear scan (`decide_linear`) on the same flows. Report ratios.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use portcullis::policy::{load_str_with, Facts, Subject};
use portcullis::sniff::{Proto, Transport};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

const RULES: usize = 10_000;
const PROTOS: &[&str] = &[
    "tls", "http", "ssh", "smtp", "pgsql", "mysql", "redis", "dns",
];

/// A policy of the common shape: per-service rules naming protocols, a
/// port or a small range, and destination networks; a few broad rules at
/// the end.
fn policy_text() -> String {
    let mut t = String::from(
        "version = 1\n[defaults]\nmismatch = \"reject\"\nunidentified = \"alert\"\nundecided = \"alert\"\n",
    );
    for i in 0..RULES - 3 {
        let proto = PROTOS[i % PROTOS.len()];
        let port = 1024 + (i * 7) % 50_000;
        let net = format!("10.{}.{}.0/24", (i / 256) % 256, i % 256);
        let action = if i % 3 == 0 { "drop" } else { "allow" };
        writeln!(
            t,
            "[[rule]]\nname = \"svc-{i}\"\nprotocols = [\"{proto}\"]\nports = [{port}, \"{}-{}\"]\ndst = [\"{net}\"]\naction = \"{action}\"",
            port + 10_000,
            port + 10_002
        )
        .unwrap();
    }
    t.push_str("[[rule]]\nname = \"ssh-admin\"\nprotocols = [\"ssh\"]\nports = [22]\nsrc = [\"10.255.0.0/16\"]\naction = \"allow\"\n");
    t.push_str(
        "[[rule]]\nname = \"443-tls\"\nprotocols = [\"tls\"]\nports = [443]\naction = \"allow\"\n",
    );
    t.push_str("[[rule]]\nname = \"app-default\"\nprotocols = [\"*\"]\nports = \"standard\"\naction = \"allow\"\n");
    t
}

/// Flows: hits spread over the rule list, hits of the final broad rules,
/// and misses that fall to the defaults (the linear scan's worst case).
fn flows() -> Vec<Facts> {
    let mut v = Vec::new();
    for k in 0..256usize {
        let i = (k * 39) % (RULES - 3);
        let proto = Proto::from_name(PROTOS[i % PROTOS.len()]).unwrap();
        let dst = IpAddr::V4(Ipv4Addr::new(
            10,
            ((i / 256) % 256) as u8,
            (i % 256) as u8,
            7,
        ));
        let (port, subject) = match k % 4 {
            0 => ((1024 + (i * 7) % 50_000) as u16, Subject::Known(proto)),
            1 => (443, Subject::Known(Proto::Tls)),
            2 => (8443, Subject::Known(Proto::Tls)),
            _ => (3389, Subject::Unidentified),
        };
        v.push(Facts {
            subject,
            transport: Transport::Tcp,
            src: "10.1.2.3".parse().unwrap(),
            dst,
            dport: port,
            iif: 2,
            oif: 3,
        });
    }
    v
}

fn bench(c: &mut Criterion) {
    let p = load_str_with(&policy_text(), "bench.toml", &|_| None).unwrap();
    assert_eq!(p.rule_count(), RULES);
    let flows = flows();
    for f in &flows {
        assert_eq!(p.decide(f), p.decide_linear(f));
    }
    let mut g = c.benchmark_group("policy_10k_rules_256_flows");
    g.bench_function("indexed", |b| {
        b.iter(|| {
            for f in &flows {
                black_box(p.decide(black_box(f)));
            }
        })
    });
    g.bench_function("linear", |b| {
        b.iter(|| {
            for f in &flows {
                black_box(p.decide_linear(black_box(f)));
            }
        })
    });
    g.finish();
    c.bench_function("compile_10k_rules", |b| {
        let text = policy_text();
        b.iter(|| load_str_with(black_box(&text), "bench.toml", &|_| None).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
