#!/usr/bin/env bash
# A small real hearsay network on one machine: five nodes on 127.0.0.1, each with its own
# config, shared folder and downloads; a search and a fetch through the CLI; then a clean stop.
#
#   bash apps/node/local-net.sh            # run the demo and stop
#   KEEP=1 bash apps/node/local-net.sh     # leave the nodes running to play with the CLI
#
# Binaries are taken from ./build/bin (build with `bash .ci/setup`).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${HEARSAY_BIN:-$top/build/bin}
work=${WORK:-$(mktemp -d /tmp/hearsay-local-XXXXXX)}
# A folder this script made before is cleared; any other folder is left alone.
if [ -f "$work/.hearsay-local-net" ]; then rm -rf "$work"; fi
mkdir -p "$work" && touch "$work/.hearsay-local-net"
nodes=${NODES:-5}
base_port=${BASE_PORT:-17000}
pids=()

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

echo "working in $work"
for i in $(seq 0 $((nodes - 1))); do
  dir=$work/node$i
  mkdir -p "$dir/shared" "$dir/downloads"
  port=$((base_port + 2 * i))
  cat > "$dir/hearsay.toml" <<TOML
network = "local-demo"
listen = "127.0.0.1:$port"
control = "127.0.0.1:$((port + 1))"
metrics = "127.0.0.1:$((port + 500))"
shared_dir = "$dir/shared"
download_dir = "$dir/downloads"
seeds = ["127.0.0.1:$base_port"]
log_level = "info"

[overlay]
shuffle_period_ms = 2000
TOML
done
# Something to find: node 3 and node 4 share the same song, node 2 a document.
head -c 3000000 /dev/urandom > "$work/node3/shared/demo song.ogg"
cp "$work/node3/shared/demo song.ogg" "$work/node4/shared/"
echo "meeting notes" > "$work/node2/shared/notes 2026.txt"

for i in $(seq 0 $((nodes - 1))); do
  "$bin/hearsay-node" --config "$work/node$i/hearsay.toml" 2> "$work/node$i/log" &
  pids+=($!)
  sleep 0.2
done
ctl=(--control "127.0.0.1:$((base_port + 1))")   # the CLI talks to node 0
sleep 2

echo; echo "== node 0's neighbours"; "$bin/hearsay" "${ctl[@]}" peers
echo; echo "== search 'demo song'"; "$bin/hearsay" "${ctl[@]}" --wait 2 search demo song
echo; echo "== fetch result 1"; "$bin/hearsay" "${ctl[@]}" fetch 1
cmp "$work/node0/downloads/demo song.ogg" "$work/node3/shared/demo song.ogg" && echo "bytes match the holder's file"
echo; echo "== status"; "$bin/hearsay" "${ctl[@]}" status | head -12

if [ "${KEEP:-0}" = 1 ]; then
  trap - EXIT
  echo; echo "nodes left running (pids ${pids[*]}); control endpoints 127.0.0.1:$((base_port + 1)) and up, step 2"
  echo "stop them with: kill ${pids[*]}"
fi
