#!/usr/bin/env bash
# A multi-host hearsay network on one machine: each node in its own network namespace
# ("hsnet-hN", address 10.77.0.N/24), linked by veth pairs to a bridge that lives in a
# namespace of its own ("hsnet-sw"), so nothing touches the machine's own interfaces. Adds
# one-way delay with tc netem when the kernel has it; otherwise every node holds the frames
# it sends for the same time (the node's emulation.send_delay_ms, a testing knob that stands
# in for netem). Starts a node per host, joins them through host 1, runs a search across
# hosts with the CLI (checking that its first hit took at least a round trip of the delay per
# hop) and a fetch, checks the bytes, and tears everything down. Needs root and iproute2;
# exits 77 (skipped) otherwise.
#
#   sudo bash apps/deploy/netns-net.sh              # 5 hosts, 10 ms one-way delay if available
#   sudo HOSTS=8 DELAY_MS=25 bash apps/deploy/netns-net.sh
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${HEARSAY_BIN:-$top/build/bin}
hosts=${HOSTS:-5}
delay_ms=${DELAY_MS:-10}

# shellcheck source=apps/deploy/netns-lib.sh
. "$top/apps/deploy/netns-lib.sh"
netns_require hsnet  # exits 77 (skipped) when namespaces cannot be made here
work=$(mktemp -d /tmp/hsnet-XXXXXX)

pids=()
teardown() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  netns_remove hsnet "$hosts"
  rm -rf "$work"
}
trap teardown EXIT

netns_build hsnet 10.77.0 "$hosts" "$delay_ms"
if [ "$netem" = no ]; then
  echo "note: tc netem is not available in this kernel; each node holds its frames for ${delay_ms} ms instead (emulation.send_delay_ms)"
fi

for i in $(seq 1 "$hosts"); do
  mkdir -p "$work/h$i/shared" "$work/h$i/downloads"
done
head -c 2000000 /dev/urandom > "$work/h$hosts/shared/across hosts.bin"
for i in $(seq 1 "$hosts"); do
  seed=()
  [ "$i" -gt 1 ] && seed=(--seed 10.77.0.1:7000)
  # Control endpoints are unix sockets (every namespace sees the same files), one per host.
  ip netns exec "hsnet-h$i" "$bin/hearsay-node" --listen "10.77.0.$i:7000" --control "$work/h$i/control.sock" \
    --state "$work/h$i/state" \
    --network netns-test "${seed[@]}" --shared "$work/h$i/shared" --downloads "$work/h$i/downloads" \
    --set peers_file= "${delay_args[@]}" 2> "$work/h$i/log" &
  pids+=($!)
  sleep 0.3
done
sleep 3

cli=(ip netns exec hsnet-h1 "$bin/hearsay" --control "$work/h1/control.sock")
echo "== host 1's neighbours"; "${cli[@]}" peers
echo "== search from host 1"; "${cli[@]}" --json --wait 1.5 search across hosts | tee "$work/search.jsonl"
# The first hit crossed `hops` links each way, each adding the one-way delay: it cannot have
# come back sooner than 2 x hops x delay, whichever way the delay was added.
first=$(grep -m1 '"event":"hit"' "$work/search.jsonl" || true)
if [ -z "$first" ]; then
  echo "no hit for the search across hosts" >&2
  exit 1
fi
hops=$(sed 's/.*"hops":\([0-9]*\).*/\1/' <<< "$first")
latency=$(sed 's/.*"latency_ms":\([0-9.]*\).*/\1/' <<< "$first")
if ! awk -v l="$latency" -v h="$hops" -v d="$delay_ms" 'BEGIN { exit !(l >= 2 * h * d) }'; then
  echo "first hit after $latency ms over $hops hop(s): less than 2 x $hops x $delay_ms ms, the delay is not in effect" >&2
  exit 1
fi
echo "first hit after $latency ms over $hops hop(s) (at least 2 x $hops x $delay_ms ms)"
echo "== fetch from host $hosts"; "${cli[@]}" fetch 1
cmp "$work/h1/downloads/across hosts.bin" "$work/h$hosts/shared/across hosts.bin"
delay_kind=$([ "$netem" = yes ] && echo "tc netem" || echo "emulated by the nodes")
echo "bytes fetched across hosts match (${delay_ms} ms one-way delay: $delay_kind)"
