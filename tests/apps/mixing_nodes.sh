#!/usr/bin/env bash
# Mixing between real nodes: eight hearsay-node processes on 127.0.0.1 with
# overlay.mix_period_ms set, swapping links over TLS for a few seconds. Then: swaps were
# made (the mixes_done_total metric), every active view is symmetric (each node lists the
# other), the overlay is one component, and a search from one end finds a file at another.
#   HEARSAY_BIN=build/bin WORK=/tmp/x BASE_PORT=17700 bash tests/apps/mixing_nodes.sh
set -euo pipefail
bin=${HEARSAY_BIN:?set HEARSAY_BIN to the folder of the binaries}
work=${WORK:?set WORK to a scratch folder}
base_port=${BASE_PORT:-17700}
nodes=8
rm -rf "$work"
mkdir -p "$work"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  pids=()
}
trap stop_all EXIT
fail() {
  echo "mixing_nodes: $*" >&2
  for i in $(seq 0 $((nodes - 1))); do echo "--- node $i" >&2; tail -5 "$work/node$i/log" >&2; done
  exit 1
}
cli() { local i=$1; shift; "$bin/hearsay" --control "$work/node$i/control.sock" "$@"; }

for i in $(seq 0 $((nodes - 1))); do
  dir=$work/node$i
  mkdir -p "$dir/shared" "$dir/downloads"
  cat > "$dir/hearsay.toml" <<TOML
network = "mixing-test"
listen = "127.0.0.1:$((base_port + i))"
control = "$dir/control.sock"
state_dir = "$dir/state"
metrics = "127.0.0.1:$((base_port + 20 + i))"
shared_dir = "$dir/shared"
download_dir = "$dir/downloads"
peers_file = ""
seeds = ["127.0.0.1:$base_port"]
log_level = "warn"

[web]
enabled = false

[overlay]
view_size_active = 3
active_outbound_min = 0   # (no protected places: a swap may take any link, so that eight
active_protected = 0      # nodes swap often)
shuffle_period_ms = 500
repair_period_ms = 500
mix_period_ms = 1000
TOML
done
echo "the last file" > "$work/node7/shared/needle in the overlay.txt"
for i in $(seq 0 $((nodes - 1))); do
  (cd "$work/node$i" && exec "$bin/hearsay-node" --config hearsay.toml 2> log) &
  pids+=($!)
  for _ in $(seq 100); do cli "$i" status > /dev/null 2>&1 && break; sleep 0.1; done
  cli "$i" status > /dev/null 2>&1 || fail "node $i did not start"
done

# metric NODE NAME: the value of hearsay_NAME on the node's /metrics (bash's /dev/tcp: no curl).
metric() {
  local v
  exec 3<> "/dev/tcp/127.0.0.1/$((base_port + 20 + $1))"
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  v=$(awk -v m="hearsay_$2" '$1 == m {print $2}' <&3)
  exec 3<&-
  echo "${v:-0}"
}
# Swaps made, summed over the nodes (each node counts the swaps it offered).
swaps() {
  local sum=0 v
  for i in $(seq 0 $((nodes - 1))); do
    v=$(metric "$i" mixes_done_total)
    sum=$((sum + ${v%.*}))
  done
  echo "$sum"
}
for _ in $(seq 150); do [ "$(swaps)" -ge 10 ] && break; sleep 0.1; done
made=$(swaps)
[ "$made" -ge 10 ] || fail "only $made swaps made in 15 s"

# Views: swaps go on while they are read (about one a second here), so a reading that caught
# one half made is read again. The eight are read at once, so that a reading takes as long as
# the slowest answer rather than the sum of them (a loaded machine, a sanitizer build).
views_of() { cli "$1" --json peers | grep '"view":"active"' | sed 's/.*"addr":"\([^"]*\)".*/\1/' | sort; }
symmetric=0
declare -A view=()
for attempt in $(seq 60); do
  readers=()
  for i in $(seq 0 $((nodes - 1))); do
    views_of "$i" | tr '\n' ' ' > "$work/view$i" &
    readers+=($!)
  done
  wait "${readers[@]}"  # (the readers only: the nodes are children too)
  for i in $(seq 0 $((nodes - 1))); do view[$i]=$(< "$work/view$i"); done
  ok=1
  for i in $(seq 0 $((nodes - 1))); do
    [ -n "${view[$i]}" ] || ok=0
    for a in ${view[$i]}; do
      j=$(( ${a##*:} - base_port ))
      grep -qw "127.0.0.1:$((base_port + i))" <<< "${view[$j]}" || ok=0
    done
  done
  if [ $ok = 1 ]; then symmetric=1; break; fi
  sleep 0.2
done
[ $symmetric = 1 ] || fail "active views were never all symmetric: $(for i in $(seq 0 $((nodes - 1))); do echo "$i: ${view[$i]}"; done)"
# One component: a walk over the views from node 0.
reached=" 0 "
frontier=(0)
while [ ${#frontier[@]} -gt 0 ]; do
  i=${frontier[-1]}
  unset 'frontier[-1]'
  for a in ${view[$i]}; do
    j=$(( ${a##*:} - base_port ))
    if [[ $reached != *" $j "* ]]; then reached+="$j "; frontier+=("$j"); fi
  done
done
[ "$(wc -w <<< "$reached")" = $nodes ] || fail "one component expected, node 0 reaches $reached"
out=$(cli 0 --wait 5 --first 1 search needle)
grep -q "needle in the overlay.txt" <<< "$out" || fail "the search found nothing: $out"
echo "ok - $made swaps between $nodes real nodes; views symmetric, one component; a search across finds its file"
