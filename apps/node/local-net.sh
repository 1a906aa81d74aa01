#!/usr/bin/env bash
# A small real hearsay network on one machine: five nodes on 127.0.0.1, each with its own
# config, shared folder, downloads and remembered-peers file; a search, a fetch, a share and
# a search for the shared file through the CLI; then a clean stop (SIGTERM, exit status 0).
#
#   bash apps/node/local-net.sh            # run the demo and stop
#   KEEP=1 bash apps/node/local-net.sh     # leave the nodes running to play with the CLI
#
# Binaries are taken from ./build/bin (build with `bash .ci/setup`), or from $HEARSAY_BIN.
# Other knobs: NODES (5), BASE_PORT (17000), WORK (a fresh temporary folder).
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

for tool in hearsay-node hearsay; do
  if [ ! -x "$bin/$tool" ]; then
    echo "local-net: $bin/$tool not found; build first (bash .ci/setup) or set HEARSAY_BIN" >&2
    exit 1
  fi
done

stop_all() {
  local status=0
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  return $status
}
trap 'stop_all || true' EXIT

# Each node's control endpoint: a unix socket in its folder, owner-only.
control_of() { echo "$work/node$1/control.sock"; }
cli() { local i=$1; shift; "$bin/hearsay" --control "$(control_of "$i")" "$@"; }

# Polls a condition once every 0.1 s until it holds or `seconds` pass.
wait_for() {
  local seconds=$1; shift
  local tries=$((seconds * 10))
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    if [ $tries -le 0 ]; then echo "local-net: timed out waiting for: $*" >&2; return 1; fi
    sleep 0.1
  done
}
has_neighbours() { cli "$1" --json status | grep -q '"active":[1-9]'; }

echo "working in $work"
for i in $(seq 0 $((nodes - 1))); do
  dir=$work/node$i
  mkdir -p "$dir/shared" "$dir/downloads"
  port=$((base_port + 2 * i))
  cat > "$dir/hearsay.toml" <<TOML
network = "local-demo"
listen = "127.0.0.1:$port"
control = "$(control_of "$i")"
state_dir = "$dir/state"
metrics = "127.0.0.1:$((port + 500))"
shared_dir = "$dir/shared"
download_dir = "$dir/downloads"
peers_file = "$dir/peers.txt"
seeds = ["127.0.0.1:$base_port"]
log_level = "info"

[web]
listen = "127.0.0.1:$((port + 600))"

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
  # The seed (node 0) must be listening before the others join through it.
  if [ "$i" = 0 ]; then wait_for 10 cli 0 status; fi
done
for i in $(seq 0 $((nodes - 1))); do wait_for 15 has_neighbours "$i"; done

echo; echo "== node 0's neighbours"; cli 0 peers
echo; echo "== search 'demo song' from node 0"; cli 0 --wait 2 search demo song
echo; echo "== fetch result 1"; cli 0 fetch 1
cmp "$work/node0/downloads/demo song.ogg" "$work/node3/shared/demo song.ogg"
echo "bytes match the holder's file"

echo; echo "== node 1 shares a new file; node 0 finds and fetches it by its digest"
echo "budget for the demo, version 2" > "$work/budget v2.txt"
cli 1 share "$work/budget v2.txt"
digest=$(cli 0 --json --wait 2 search budget | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' | head -1)
test -n "$digest" || { echo "local-net: the shared file was not found" >&2; exit 1; }
cli 0 fetch "$digest"
cmp "$work/node0/downloads/budget v2.txt" "$work/budget v2.txt"
echo "bytes match the shared file"

echo; echo "== node 0's status"; cli 0 status | head -16

if [ "${KEEP:-0}" = 1 ]; then
  trap - EXIT
  echo; echo "nodes left running (pids ${pids[*]}); control endpoints $work/node*/control.sock"
  echo "stop them with: kill ${pids[*]}"
  exit 0
fi
trap - EXIT
echo; echo "== stopping the nodes (SIGTERM: leave the overlay, exit 0)"
stop_all
grep -h "stopped" "$work"/node*/log | wc -l | xargs -I{} echo "{} nodes stopped cleanly"
