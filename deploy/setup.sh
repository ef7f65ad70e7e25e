#!/usr/bin/env bash
# Installs what portcullis needs to build, run its lab and run its tests on
# Debian 12 (as root). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs packages, and portcullis needs CAP_NET_ADMIN)" >&2
  exit 1
fi
apt-get update
# netfilter userspace, namespaces, and the real clients and servers the
# lab and the tests drive.
apt-get install -y --no-install-recommends \
  ca-certificates build-essential pkg-config \
  iptables nftables iproute2 procps psmisc conntrack \
  curl openssl openssh-client openssh-server dnsutils dnsmasq-base \
  python3 coreutils minisign tcpdump
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup.sh: no Rust toolchain found; install one (https://rustup.rs) and rerun" >&2
  exit 1
fi
