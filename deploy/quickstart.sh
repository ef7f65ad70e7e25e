#!/usr/bin/env bash
# Quick start: install what is needed, build, and run the lab demo (the
# built-in application-default policy enforced between real clients and
# servers in throwaway network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
cargo build --release --locked
exec ./target/release/portcullis lab "$@"
