#!/usr/bin/env bash
# The test suite: formatting, lints, unit tests, and the end-to-end tests in
# network namespaces (root needed). CI runs exactly this after setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --release -- --test-threads=2
# The fuzz targets are a separate crate (cargo-fuzz); make sure they still
# build against the library (running them needs nightly: see fuzz/README.md).
(cd fuzz && cargo check --locked --bins)
