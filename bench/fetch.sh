#!/usr/bin/env bash
# Verified download throughput between real nodes on loopback: one fetching node and 1, 2
# and 4 holders (separate hearsay-node processes), a file of SIZE_MB MiB shared by every
# holder, the fetching node's download folder in memory (tmpfs) so that the figure is the
# node's, not the disk's. For each holder count the nodes start once, search, and fetch the
# file REPEAT times through the CLI (`fetch 1 --again`, the previous copy deleted just
# before); the node reports the time from start to verified commit and, within it, the fsync
# before the rename, which is printed apart (a disk can take seconds to sync a large file).
# (On a virtual machine whose balloon hands freed memory back to its host, memory the host
# must hand out again costs several times more to touch; deleting the previous copy just
# before the next fetch keeps that cost, which is the machine's and not the node's, out.)
#
#   bash bench/fetch.sh                       # 1 GiB, 1/2/4 holders, 3 runs each, no upload limit
#   UPLOAD_MBPS=100 bash bench/fetch.sh       # every holder uploads at most 100 MB/s
#   SIZE_MB=256 REPEAT=5 HOLDERS="1 4" bash bench/fetch.sh
#
# Prints one line per run and a median per holder count (MB = 10^6 bytes).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${HEARSAY_BIN:-$top/build/bin}
size_mb=${SIZE_MB:-1024}
repeat=${REPEAT:-3}
holder_counts=${HOLDERS:-"1 2 4"}
upload_mbps=${UPLOAD_MBPS:-0}
base_port=${BASE_PORT:-18400}
shm=${SHM:-/dev/shm}
work=$(mktemp -d "$shm/hearsay-fetch-bench-XXXXXX")
pids=()

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

cli() { local i=$1; shift; "$bin/hearsay" --control "$work/run/node$i/control.sock" "$@"; }
wait_for() {
  local tries=$(($1 * 10)); shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || { echo "fetch.sh: timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

echo "fetch.sh: making a ${size_mb} MiB file" >&2
head -c $((size_mb << 20)) /dev/urandom > "$work/payload.bin"
bytes=$(stat -c %s "$work/payload.bin")

start_nodes() {
  local holders=$1
  for i in $(seq 0 "$holders"); do
    local dir=$work/run/node$i
    mkdir -p "$dir/shared" "$dir/downloads"
    # Every holder shares the same file (a hard link: one copy in memory).
    [ "$i" -gt 0 ] && ln "$work/payload.bin" "$dir/shared/payload.bin"
    local upload=0
    [ "$i" -gt 0 ] && upload=$((upload_mbps * 1000000))
    "$bin/hearsay-node" --listen "127.0.0.1:$((base_port + 2 * i))" --control "$dir/control.sock" --state "$dir/state" \
      --seed "127.0.0.1:$base_port" --shared "$dir/shared" --downloads "$dir/downloads" --network fetch-bench \
      --set peers_file= --set metrics= --set web.enabled=false --set limits.upload_bytes_per_s=$upload --log-level warn \
      2> "$dir/log" &
    pids+=($!)
    wait_for 10 cli "$i" status
  done
  for i in $(seq 0 "$holders"); do wait_for 20 sh -c "'$bin/hearsay' --control '$work/run/node$i/control.sock' --json status | grep -q '\"active\":[1-9]'"; done
}

results=$work/results.txt
: > "$results"
printf '%-8s %-4s %12s %10s %10s\n' holders run "MB/s" "s" "fsync s"
for holders in $holder_counts; do
  rm -rf "$work/run"
  start_nodes "$holders"
  # Every holder must answer the search, so that the download may use them all.
  for _ in $(seq 1 50); do
    found=$(cli 0 --json --wait 1 search payload | grep -o '"holders":[0-9]*' | tail -1 | cut -d: -f2)
    [ "${found:-0}" -ge "$holders" ] && break
  done
  for run in $(seq 1 "$repeat"); do
    find "$work/run/node0/downloads" -maxdepth 1 -name 'payload*' -delete
    end=$(cli 0 --json fetch 1 --again | tail -1)
    echo "$end" | grep -q '"ok":true' || { echo "fetch.sh: the fetch failed: $end" >&2; exit 1; }
    elapsed=$(echo "$end" | sed -n 's/.*"elapsed_ms":\([0-9.]*\).*/\1/p')
    sync=$(echo "$end" | sed -n 's/.*"sync_ms":\([0-9.]*\).*/\1/p')
    mbps=$(awk -v b="$bytes" -v e="$elapsed" -v s="$sync" 'BEGIN { printf "%.0f", b / 1e6 / ((e - s) / 1000) }')
    printf '%-8s %-4s %12s %10.2f %10.3f\n' "$holders" "$run" "$mbps" "$(awk -v e="$elapsed" 'BEGIN{print e/1000}')" \
      "$(awk -v s="$sync" 'BEGIN{print s/1000}')"
    echo "$holders $mbps" >> "$results"
  done
  stop_all
done
echo
echo "median MB/s, verified, fsync excluded (${size_mb} MiB, upload limit per holder: ${upload_mbps} MB/s, 0 = none)"
for holders in $holder_counts; do
  median=$(awk -v h="$holders" '$1 == h { print $2 }' "$results" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '  %s holder%s: %s MB/s\n' "$holders" "$([ "$holders" = 1 ] && echo "" || echo s)" "$median"
done
