#!/usr/bin/env bash
# End-to-end benchmark: no enforcer vs stateful forwarding vs portcullis
# vs Suricata 7 NFQ (three configurations), interleaved rounds, medians,
# ratios.
#
#   bash benches/e2e.sh [ROUNDS] [SECS]      (root; defaults 3 rounds, 5 s per measurement)
#
# Environment: CONFIGS_ONLY="none conntrack portcullis" runs only those
# rows; SURICATA=0 skips Suricata (otherwise it is installed from
# bookworm-backports when missing); PC_BEFORE=/path/to/portcullis adds a
# "portcullis-before" configuration running that binary (before/after
# comparisons in the same run); FLOOD=0 skips the 1M-flow flood.
#
# Builds its own 3-namespace lab (198.18.0.0/15 only), removes it on exit
# (also on failure or Ctrl-C), kills only the processes it started. Every
# load is bounded by SECS. Not run in CI (too slow): tests/faults.rs is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
TAG="pcb$$"
C=${TAG}c; G=${TAG}g; S=${TAG}s
OUT=$(mktemp -d /tmp/portcullis-bench.XXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for ns in $C $G $S; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
  if [ -n "${CG:-}" ]; then
    echo $$ > /sys/fs/cgroup/cpuacct/cgroup.procs 2>/dev/null || true
    rmdir "$CG" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

for t in iperf3 curl openssl python3 iptables; do
  command -v $t >/dev/null || { echo "e2e.sh: $t missing (apt-get install iperf3 ...)" >&2; exit 1; }
done
if [ "${SURICATA:-1}" != 0 ] && ! command -v suricata >/dev/null; then
  # Suricata 7 is in bookworm-backports (bookworm itself has 6).
  grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ ||
    echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports suricata >/dev/null
fi
cargo build --release --quiet
# The whole lab's CPU (load generator, servers, enforcer, and the
# forwarding softirq work that runs in their context) in a cpuacct cgroup
# that this script and every process it starts from here on belong to:
# what an enforcer adds to the machine per connection is the difference
# against stateful forwarding, wherever the kernel charged the work.
CG=""
if [ -d /sys/fs/cgroup/cpuacct ] && mkdir /sys/fs/cgroup/cpuacct/pcb$$ 2>/dev/null; then
  CG=/sys/fs/cgroup/cpuacct/pcb$$
  echo $$ > $CG/cgroup.procs
fi
lab_ns() { [ -n "$CG" ] && cat $CG/cpuacct.usage || echo 0; }
LOADGEN=$(cargo bench --bench loadgen --no-run --message-format=json 2>/dev/null |
  python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="loadgen" and m.get("executable"): print(m["executable"])' | tail -1)
PC=$PWD/target/release/portcullis
[ -x "$LOADGEN" ] || { echo "e2e.sh: loadgen did not build" >&2; exit 1; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
for ns in $C $G $S; do ip netns add $ns; nsx $ns ip link set lo up; done
ip link add c0 netns $C type veth peer name g1 netns $G
ip link add g2 netns $G type veth peer name s0 netns $S
nsx $C ip addr add 198.18.1.2/24 dev c0
nsx $G ip addr add 198.18.1.1/24 dev g1
nsx $G ip addr add 198.18.2.1/24 dev g2
nsx $S ip addr add 198.18.2.2/24 dev s0
nsx $S ip addr add 198.18.2.3/24 dev s0
for x in "$C c0" "$G g1" "$G g2" "$S s0"; do set -- $x; nsx $1 ip link set $2 up; done
nsx $C ip route add default via 198.18.1.1
nsx $S ip route add default via 198.18.2.1
nsx $G sysctl -qw net.ipv4.ip_forward=1
# The flood leaves the server half-open connections: retry SYN-ACKs once.
nsx $S sysctl -qw net.ipv4.tcp_synack_retries=1

# Servers: iperf3, HTTP on 80 (allowed) and 9000 (mismatch), TLS on 443 and
# 8088, sshd on 198.18.2.3:443 (SSH on a non-standard port).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout $OUT/key.pem -out $OUT/cert.pem -subj /CN=lab.test -days 2 2>/dev/null
nsx $S iperf3 -s -B 198.18.2.2 >/dev/null 2>&1 & PIDS+=($!)
nsx $S "$LOADGEN" serve 198.18.2.2:80 & PIDS+=($!)
nsx $S "$LOADGEN" serve 198.18.2.2:9000 & PIDS+=($!)
# TLS: the load generator's server (a thread per connection; openssl
# s_server serves one connection at a time and would be the bottleneck).
for p in 443 8088; do
  nsx $S "$LOADGEN" serve-tls 198.18.2.2:$p $OUT/cert.pem $OUT/key.pem & PIDS+=($!)
done
ssh-keygen -q -t ed25519 -N "" -f $OUT/hostkey
mkdir -p /run/sshd
printf 'HostKey %s\nPidFile none\nUsePAM no\nPasswordAuthentication no\nListenAddress 198.18.2.3:443\n' $OUT/hostkey > $OUT/sshd_config
nsx $S /usr/sbin/sshd -D -e -f $OUT/sshd_config >/dev/null 2>&1 & PIDS+=($!)
sleep 1.5

SURICATA_BIN=""; [ "${SURICATA:-1}" != 0 ] && SURICATA_BIN=$(command -v suricata || true)
CONFIGS="none conntrack portcullis portcullis-syn-queued portcullis-handshake-queued"
[ -n "${PC_BEFORE:-}" ] && CONFIGS="$CONFIGS portcullis-before"
[ -n "$SURICATA_BIN" ] && CONFIGS="$CONFIGS suricata-all suricata-first12 suricata-bypass"
# CONFIGS_ONLY="none conntrack portcullis" narrows a run to some rows.
[ -n "${CONFIGS_ONLY:-}" ] && CONFIGS=$CONFIGS_ONLY

ENF_PID=""
setup() {
  ENF_PID=""
  case $1 in
    none) ;;
    conntrack) nsx $G iptables -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT ;;
    portcullis|portcullis-syn-queued|portcullis-handshake-queued|portcullis-before)
      # portcullis: the default (fail open: SYNs copied to the SYN log);
      # -syn-queued: SYNs queued; -handshake-queued: every segment queued.
      local hs=() bin=$PC
      [ $1 = portcullis-syn-queued ] && hs=(--handshake syn)
      [ $1 = portcullis-handshake-queued ] && hs=(--handshake all)
      [ $1 = portcullis-before ] && bin=$PC_BEFORE
      # ip netns exec execs: $! is portcullis itself.
      : > $OUT/$1.log
      ip netns exec $G "$bin" run "${hs[@]}" --events $OUT/events-$1.jsonl >>$OUT/$1.log 2>&1 & ENF_PID=$!
      for _ in $(seq 100); do grep -q "enforcing on" $OUT/$1.log && break; sleep 0.1; done ;;
    suricata-*)
      suricata_setup $1 ;;
  esac
}
teardown() {
  if [ -n "$ENF_PID" ]; then
    kill -TERM $ENF_PID; wait $ENF_PID 2>/dev/null || true
    grep -h "counters:" $OUT/$CFG.log 2>/dev/null | tail -1 | sed "s/^/$CFG /" >> $OUT/counters.txt || true
  fi
  nsx $G iptables -F FORWARD; nsx $G iptables -t mangle -F 2>/dev/null || true
  nsx $G conntrack -F >/dev/null 2>&1 || true
}
# Suricata 7 NFQ as issue 5 describes it: runmode workers, nfq mode
# accept, batchcount 20; drop rules for TLS off 443, HTTP off 80 and SSH
# off 22 (flow:established,to_server: without it the server's replies
# match and legitimate flows die). Three ways to feed the queue:
#   suricata-all      every forwarded packet queued;
#   suricata-first12  only each connection's first 12 packets (connbytes,
#                     both directions; conntrack accounting on);
#   suricata-bypass   every packet queued until Suricata bypasses the flow:
#                     `pass ... bypass` rules for the allowed pairs, and
#                     stream.bypass (flows past the reassembly depth, e.g.
#                     bulk transfers of an unknown protocol). The bypass mark
#                     (0x2) on the verdict is saved to the connmark in
#                     mangle POSTROUTING, restored in mangle PREROUTING, and
#                     a marked packet is accepted in FORWARD before NFQUEUE.
suricata_setup() {
  cat > $OUT/suricata.rules <<'R'
drop tls any any -> any !443 (msg:"tls off 443"; flow:established,to_server; sid:1;)
drop http any any -> any !80 (msg:"http off 80"; flow:established,to_server; sid:2;)
drop ssh any any -> any !22 (msg:"ssh off 22"; flow:established,to_server; sid:3;)
R
  local args=(--set nfq.mode=accept --set nfq.batchcount=20 --set unix-command.enabled=no
              --set outputs.1.eve-log.enabled=no -k none)
  if [ $1 = suricata-bypass ]; then
    cat >> $OUT/suricata.rules <<'R'
pass tls any any -> any 443 (msg:"tls on 443"; flow:established,to_server; bypass; sid:11;)
pass http any any -> any 80 (msg:"http on 80"; flow:established,to_server; bypass; sid:12;)
pass ssh any any -> any 22 (msg:"ssh on 22"; flow:established,to_server; bypass; sid:13;)
R
    args+=(--set nfq.bypass-mark=0x2 --set nfq.bypass-mask=0x2 --set stream.bypass=yes)
  fi
  mkdir -p $OUT/$1; : > $OUT/$1/suricata.log
  ip netns exec $G "$SURICATA_BIN" -q 0 -S $OUT/suricata.rules --runmode workers -l $OUT/$1 \
     "${args[@]}" >$OUT/$1.log 2>&1 & ENF_PID=$!
  for _ in $(seq 120); do grep -q "Engine started" $OUT/$1/suricata.log && break; sleep 0.25; done
  grep -q "Engine started" $OUT/$1/suricata.log || { echo "e2e.sh: suricata did not start (see $OUT/$1)" >&2; exit 1; }
  case $1 in
    suricata-all) nsx $G iptables -A FORWARD -j NFQUEUE --queue-num 0 ;;
    suricata-first12)
      nsx $G sysctl -qw net.netfilter.nf_conntrack_acct=1
      nsx $G iptables -A FORWARD -m connbytes --connbytes 0:12 --connbytes-dir both --connbytes-mode packets -j NFQUEUE --queue-num 0 ;;
    suricata-bypass)
      nsx $G iptables -t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0x2 --ctmask 0x2
      nsx $G iptables -A FORWARD -m mark --mark 0x2/0x2 -j ACCEPT
      nsx $G iptables -A FORWARD -j NFQUEUE --queue-num 0
      nsx $G iptables -t mangle -A POSTROUTING -m mark --mark 0x2/0x2 -j CONNMARK --save-mark --nfmask 0x2 --ctmask 0x2 ;;
  esac
}

# 1,024,000 SYNs from distinct 5-tuples (64,000 source ports x 16
# destination ports) that never send payload, bounded at 120 s; a probe
# during it (HTTP 80 must pass, TLS 8088 must be refused). The client
# drops its own kernel's RSTs (it knows nothing of these connections).
flood() {
  nsx $C iptables -A OUTPUT -p tcp --tcp-flags RST RST -d 198.18.2.2 -j DROP
  nsx $C timeout 120 python3 tests/tools/craft.py syn-flood 198.18.1.2 198.18.2.2 1024000 \
    $(seq -s, 10001 10016) > $OUT/flood-$1.txt 2>&1 & local fp=$!
  sleep 5
  local h t
  nsx $C curl -s -o /dev/null --max-time 5 http://198.18.2.2:80/ && h=ok || h=FALSE-BLOCK
  nsx $C curl -sk -o /dev/null --max-time 5 https://198.18.2.2:8088/ && t=LEAK || t=ok
  wait $fp || true
  nsx $C iptables -D OUTPUT -p tcp --tcp-flags RST RST -d 198.18.2.2 -j DROP
  sleep 4  # the half-open connections expire (one SYN-ACK retry)
  echo "flood $1 $(tail -1 $OUT/flood-$1.txt | tr ' ' _) hwm_kib=$(hwm_kib) probe_http80=$h probe_tls8088=$t"
}

cpu_ticks() { [ -n "$ENF_PID" ] && awk '{print $14+$15}' /proc/$ENF_PID/stat || echo 0; }
# User time only: portcullis's own code. System time also holds the
# forwarding work that a verdict's reinjection runs in the enforcer's
# context (in this veth lab, down to the server's TCP receive).
user_ticks() { [ -n "$ENF_PID" ] && awk '{print $14}' /proc/$ENF_PID/stat || echo 0; }
hwm_kib() { [ -n "$ENF_PID" ] && awk '/VmHWM/{print $2}' /proc/$ENF_PID/status || echo 0; }

# Where the enforcer's CPU goes (PERF=0 skips it): an extra closed loop of
# HTTP connections under `perf record -g` on the enforcer's threads, and
# the share of its samples spent (a) in net_rx_action: the receive
# processing of packets in this CPU's backlog -- in this veth lab the
# server's TCP receive of the packet just reinjected, and of any other
# packet queued there -- which without an enforcer runs in the sending
# client's context; (b) in nfqnl_reinject: everything a verdict's
# reinjection runs (the rest of the netfilter hooks, the forwarding and
# (a)). Printed as "split rx=... reinject=...". The shares are applied to
# the CPU per connection of the unprofiled loop.
PERF_OK=0
if [ "${PERF:-1}" != 0 ] && command -v perf >/dev/null &&
   perf record -q -o /dev/null -- true >/dev/null 2>&1; then PERF_OK=1; fi
split() {
  [ $PERF_OK = 1 ] && [ -n "$ENF_PID" ] || { echo "rx_share=0 reinject_share=0"; return; }
  nsx $C "$LOADGEN" closed 198.18.2.2:80 32 $SECS >/dev/null & local lp=$!
  sleep 0.5
  perf record -q -g -p $ENF_PID -o $OUT/perf-$1.data -- sleep $((SECS > 2 ? SECS - 1 : 1)) >/dev/null 2>&1 || true
  wait $lp || true
  perf report -q -g none -i $OUT/perf-$1.data --children --stdio --sort sym 2>/dev/null | awk '
    $NF == "net_rx_action" { rx = $1 } $NF == "nfqnl_reinject" { re = $1 }
    END { gsub("%", "", rx); gsub("%", "", re); printf "rx_share=%.3f reinject_share=%.3f\n", rx / 100, re / 100 }'
}

# Policy checks (one line per check: name ok|LEAK|FALSE-BLOCK).
checks() {
  local cfg=$1 r
  nsx $C curl -s -o /dev/null --max-time 3 http://198.18.2.2:80/ && r=ok || r=FALSE-BLOCK; echo "http-80-allowed $r"
  nsx $C curl -sk -o /dev/null --max-time 3 https://198.18.2.2:443/ && r=ok || r=FALSE-BLOCK; echo "tls-443-allowed $r"
  nsx $C curl -s -o /dev/null --max-time 3 http://198.18.2.2:9000/ && r=LEAK || r=ok; echo "http-9000-blocked $r"
  nsx $C curl -sk -o /dev/null --max-time 3 https://198.18.2.2:8088/ && r=LEAK || r=ok; echo "tls-8088-blocked $r"
  # SSH on 443 whose banner is retransmitted (the server's first segments are lost).
  nsx $S iptables -I OUTPUT -p tcp --sport 443 -s 198.18.2.3 --tcp-flags PSH PSH -j DROP
  ( sleep 3; nsx $S iptables -D OUTPUT -p tcp --sport 443 -s 198.18.2.3 --tcp-flags PSH PSH -j DROP ) &
  nsx $C timeout 12 python3 -c 'import socket
s=socket.create_connection(("198.18.2.3",443),timeout=10)
print("LEAK" if s.recv(64).startswith(b"SSH-") else "ok")' 2>/dev/null | sed 's/^/ssh-443-after-retransmits /' || echo "ssh-443-after-retransmits ok"
  wait
  # TLS on 8088 after a 10 s keepalive-only idle.
  nsx $C timeout 20 python3 -c 'import socket,ssl,time
s=socket.create_connection(("198.18.2.2",8088),timeout=15)
s.setsockopt(socket.SOL_SOCKET,socket.SO_KEEPALIVE,1)
s.setsockopt(socket.IPPROTO_TCP,socket.TCP_KEEPIDLE,1); s.setsockopt(socket.IPPROTO_TCP,socket.TCP_KEEPINTVL,1)
time.sleep(10)
c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE
try:
  c.wrap_socket(s); print("LEAK")
except Exception: print("ok")' 2>/dev/null | sed 's/^/tls-8088-after-keepalive-idle /' || echo "tls-8088-after-keepalive-idle ok"
}

RES=$OUT/results.txt; : > $RES
HZ=$(getconf CLK_TCK)
# Open-loop TLS rate: full handshakes cost ~1.4 ms of CPU here (the closed
# loop peaks near 700/s on 2 cores), so 500/s would measure CPU queueing.
TLS_RATE=${TLS_RATE:-200}
# Each round starts one configuration further along the list, so that no
# configuration always runs first (or right after the flood).
rotate() { local n=$1; shift; local a=("$@"); local k=$((n % ${#a[@]})); echo "${a[@]:k}" "${a[@]:0:k}"; }
for round in $(seq $ROUNDS); do
  for cfg in $(rotate $((round - 1)) $CONFIGS); do
    CFG=$cfg
    setup $cfg
    t0=$(cpu_ticks)
    b1=$(nsx $C iperf3 -c 198.18.2.2 -t $SECS -P 1 -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
    b4=$(nsx $C iperf3 -c 198.18.2.2 -t $SECS -P 4 -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
    t1=$(cpu_ticks); u1=$(user_ticks); l1=$(lab_ns)
    cl=$(nsx $C "$LOADGEN" closed 198.18.2.2:80 32 $SECS)
    t2=$(cpu_ticks); u2=$(user_ticks); l2=$(lab_ns)
    op=$(nsx $C "$LOADGEN" open 198.18.2.2:80 500 $SECS)
    t3=$(cpu_ticks); l3=$(lab_ns)
    tc=$(nsx $C "$LOADGEN" closed-tls 198.18.2.2:443 32 $SECS)
    t4=$(cpu_ticks); l4=$(lab_ns)
    to=$(nsx $C "$LOADGEN" open-tls 198.18.2.2:443 $TLS_RATE $SECS)
    hwm=$(hwm_kib)
    sp=$(split $cfg)
    conns=$(sed 's/.*conns=\([0-9]*\).*/\1/' <<<"$cl")
    tconns=$(sed 's/.*conns=\([0-9]*\).*/\1/' <<<"$tc")
    us_per_conn=$(python3 -c "print(($t2-$t1)/$HZ*1e6/max(1,$conns))")
    user_us_per_conn=$(python3 -c "print(($u2-$u1)/$HZ*1e6/max(1,$conns))")
    tls_us_per_conn=$(python3 -c "print(($t4-$t3)/$HZ*1e6/max(1,$tconns))")
    lab_us_per_conn=$(python3 -c "print(($l2-$l1)/1e3/max(1,$conns))")
    lab_tls_us_per_conn=$(python3 -c "print(($l4-$l3)/1e3/max(1,$tconns))")
    echo "$round $cfg bulk1=$b1 bulk4=$b4 $(sed 's/ /,/g' <<<"closed:$cl") $(sed 's/ /,/g' <<<"open:$op") $(sed 's/ /,/g' <<<"tclosed:$tc") $(sed 's/ /,/g' <<<"topen:$to") cpu_s=$(python3 -c "print(($t4-$t0)/$HZ)") cpu_us_per_conn=$us_per_conn user_us_per_conn=$user_us_per_conn tls_cpu_us_per_conn=$tls_us_per_conn lab_us_per_conn=$lab_us_per_conn lab_tls_us_per_conn=$lab_tls_us_per_conn hwm_kib=$hwm $sp" | tee -a $RES
    if [ $round = 1 ]; then
      checks $cfg | sed "s/^/check $cfg /" | tee -a $OUT/checks.txt
      if [ "${FLOOD:-1}" != 0 ] && [ -n "$ENF_PID" ]; then flood $cfg | tee -a $OUT/flood.txt; fi
    fi
    teardown
  done
done

python3 - "$RES" "$OUT/checks.txt" "$OUT/flood.txt" "$TLS_RATE" <<'PY'
import sys, re, statistics as st
rows, rounds = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    rnd, cfg, kv = f[0], f[1], {}
    for field in f[2:]:
        pre = ""
        if field.startswith("closed:"):
            field = field[7:]
        elif field.startswith("open:"):
            field, pre = field[5:], "o_"
        elif field.startswith("tclosed:"):
            field, pre = field[8:], "t_"
        elif field.startswith("topen:"):
            field, pre = field[6:], "to_"
        for k, v in re.findall(r'([a-z0-9_]+)=([0-9.]+)', field):
            kv[pre + k] = float(v)
    rounds.setdefault(rnd, {})[cfg] = kv
    d = rows.setdefault(cfg, {})
    for k in ("bulk1", "bulk4", "rate", "p50_us", "p99_us", "o_p50_us", "o_p99_us", "o_errors", "errors",
              "t_rate", "to_p50_us", "to_p99_us", "t_errors", "to_errors", "cpu_us_per_conn", "user_us_per_conn", "rx_share", "reinject_share", "tls_cpu_us_per_conn", "lab_us_per_conn", "lab_tls_us_per_conn", "hwm_kib"):
        if k in kv: d.setdefault(k, []).append(kv[k])
med = {c: {k: st.median(v) for k, v in d.items()} for c, d in rows.items()}
# Ratios against no enforcer in the same round, then the median over the
# rounds: background load moves every configuration of a round alike far
# more than it moves a round's neighbours.
def ratio(c, k):
    v = [r[c][k] / r["none"][k] for r in rounds.values() if c in r and "none" in r and r["none"].get(k)]
    return st.median(v) if v else 0
# Added latency over stateful forwarding, p50 at the fixed open-loop rate,
# same round, median over the rounds.
def added(c, k):
    v = [r[c][k] - r["conntrack"][k] for r in rounds.values() if c in r and "conntrack" in r]
    return st.median(v) if v else 0
leaks = {}
for line in open(sys.argv[2]):
    _, cfg, name, res = line.split()
    if res != "ok": leaks.setdefault(cfg, []).append(f"{name}:{res}")
floods = {}
tls_rate = sys.argv[4]
import os
if os.path.exists(sys.argv[3]):
    for line in open(sys.argv[3]):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
        floods[f[1]] = f"{int(kv.get('hwm_kib', 0))/1024:.0f} MB, {f[2].replace('_', ' ')}, probes: http80 {kv.get('probe_http80')}, tls8088 {kv.get('probe_tls8088')}"
print()
print(f"| config | bulk 1 stream | bulk 4 streams | new HTTP conn/s (32 in flight) | HTTP p50 / p99 at 500/s (p50 added over conntrack) | new TLS conn/s (32 in flight) | TLS p50 / p99 at {tls_rate}/s (added) | enforcer CPU per HTTP conn (user) / TLS conn | lab CPU per HTTP / TLS conn (added over conntrack) | peak RSS | policy checks |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for c, m in med.items():
    r = lambda k: ratio(c, k)
    cpu = f"{m['cpu_us_per_conn']:.0f} ({m.get('user_us_per_conn', 0):.1f}) / {m['tls_cpu_us_per_conn']:.0f} us" if m.get("hwm_kib") else "-"
    rss = f"{m['hwm_kib']/1024:.0f} MB" if m.get("hwm_kib") else "-"
    lab = f"{m['lab_us_per_conn']:.0f} / {m['lab_tls_us_per_conn']:.0f} us ({added(c, 'lab_us_per_conn'):+.0f} / {added(c, 'lab_tls_us_per_conn'):+.0f})" if m.get("lab_us_per_conn") else "-"
    chk = ", ".join(leaks.get(c, [])) or "all pass"
    errs = sum(m.get(k, 0) for k in ("errors", "o_errors", "t_errors", "to_errors"))
    err = f" ({errs:.0f} conn errors)" if errs else ""
    print(f"| {c} | {r('bulk1'):.2f}x ({m['bulk1']/1e9:.1f} Gb/s) | {r('bulk4'):.2f}x | {r('rate'):.2f}x ({m['rate']:.0f}/s) | {m['o_p50_us']:.0f} / {m['o_p99_us']:.0f} us ({added(c, 'o_p50_us'):+.0f}) | {r('t_rate'):.2f}x ({m['t_rate']:.0f}/s) | {m['to_p50_us']:.0f} / {m['to_p99_us']:.0f} us ({added(c, 'to_p50_us'):+.0f}) | {cpu} | {lab} | {rss} | {chk}{err} |")
split = [c for c, m in med.items() if m.get("reinject_share")]
if split:
    # Per round: the CPU per connection of the unprofiled loop times the
    # shares of the profiled one; then the median over the rounds.
    def less(c, k):
        v = [r[c]["cpu_us_per_conn"] * (1 - r[c][k]) for r in rounds.values() if c in r and r[c].get(k)]
        return st.median(v) if v else 0
    print()
    print("| config | enforcer CPU per HTTP conn | in net_rx_action (server-side receive run in its context) | in nfqnl_reinject (all a verdict's reinjection runs) | CPU less the server-side receive | CPU less all reinjection |")
    print("|---|---|---|---|---|---|")
    for c in split:
        m = med[c]
        print(f"| {c} | {m['cpu_us_per_conn']:.0f} us | {m['rx_share']*100:.0f}% | {m['reinject_share']*100:.0f}% | {less(c, 'rx_share'):.1f} us | {less(c, 'reinject_share'):.1f} us |")
if floods:
    print()
    print("| config | 1M-flow SYN flood: peak RSS, sent, probes during it |")
    print("|---|---|")
    for c, v in floods.items():
        print(f"| {c} | {v} |")
PY
echo "raw results: $RES; exit counters: $OUT/counters.txt"
