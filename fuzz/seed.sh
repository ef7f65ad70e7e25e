#!/usr/bin/env bash
# Writes the seed corpus of both fuzz targets from src/sniff/testdata.
#
# Each fixture flow testdata/<tcp|udp>/<proto>/<name>.<client|server>.bin
# becomes fuzz inputs in the layout of fuzz_targets/common.rs:
#   header byte | split point (u16 BE) = client length | client | server
# in three variants: complete=0, complete=1, and midstream=1 with the two
# directions swapped (as a flow picked up mid-stream would be seen).
# Seeds are named seed-*; .gitignore keeps everything else in corpus/ local.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="$here/../src/sniff/testdata"
targets=(sniff_registry sniff_each)

for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t"
    rm -f "$here/corpus/$t"/seed-*
done

emit() { # name header(decimal) client-file server-file
    local name=$1 header=$2 cfile=$3 sfile=$4 clen=0
    if [[ -n $cfile ]]; then clen=$(stat -c %s "$cfile"); fi
    for t in "${targets[@]}"; do
        {
            printf "\\x$(printf %02x "$header")\\x$(printf %02x $((clen >> 8)))\\x$(printf %02x $((clen & 255)))"
            if [[ -n $cfile ]]; then cat "$cfile"; fi
            if [[ -n $sfile ]]; then cat "$sfile"; fi
        } > "$here/corpus/$t/seed-$name"
    done
}

n=0
for tdir in "$data"/tcp "$data"/udp; do
    [[ -d $tdir ]] || continue
    transport=$(basename "$tdir")
    tbit=0; [[ $transport == udp ]] && tbit=1
    for pdir in "$tdir"/*/; do
        proto=$(basename "$pdir")
        # One flow per <name>, whichever sides exist.
        for stem in $(ls "$pdir" | sed -n 's/\.\(client\|server\)\.bin$//p' | sort -u); do
            c="$pdir/$stem.client.bin"; [[ -f $c ]] || c=""
            s="$pdir/$stem.server.bin"; [[ -f $s ]] || s=""
            base="$transport-$proto-$stem"
            emit "$base" "$tbit" "$c" "$s"
            emit "$base-complete" $((tbit | 2)) "$c" "$s"
            emit "$base-midstream-swapped" $((tbit | 4)) "$s" "$c"
            n=$((n + 3))
        done
    done
done
echo "wrote $n seeds per target into $here/corpus/{${targets[*]// /,}}"
