#!/usr/bin/env bash
# How fast an edge-list topology loads (file:PATH, sim/topology.hpp): writes a text edge list
# of EDGES random edges among PEERS peers with awk, converts it to the binary form with
# `hearsay-sim topology --convert` (and the binary back again, which must give the same bytes),
# and prints the best of REPEAT times for
#   - reading each form (the whole file, parsed in place) and building the graph from it;
#   - a whole run on each file with no queries (set-up of PEERS peers included), beside the same
#     run on a generated random graph with about as many edges (kout:K), which reads no file.
# Not part of the test run: at the defaults (10^7 edges, 10^6 peers) it needs about 2 GiB and
# 400 MB of disk in a temporary folder, and takes a few minutes (mostly awk).
#   bash bench/edges.sh
#   PEERS=100000 EDGES=1000000 REPEAT=5 bash bench/edges.sh
#   HEARSAY_SIM=build-x/bin/hearsay-sim bash bench/edges.sh    # a given binary, without building
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # top, sim
peers=${PEERS:-1000000}
edges=${EDGES:-10000000}
repeat=${REPEAT:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "edges.sh: writing $edges random edges among $peers peers" >&2
awk -v n="$peers" -v m="$edges" 'BEGIN {
  srand(1)
  print "# bench/edges.sh: random edges, one \"a b\" pair per line"
  for (k = 0; k < m; k++) printf "%d %d\n", int(rand() * n), int(rand() * n)
}' > "$work/edges.txt"

# The smallest of a list of numbers.
best() { printf '%s\n' "$@" | sort -g | head -1; }
# A field of `topology --convert`'s line: "read X s" or "graph X s".
field() { sed -n "s/.* $1 \([0-9.]*\) s.*/\1/p"; }
# A run's wall time (its stderr line "run: X s wall ..."), set-up and the empty run included.
run_wall() {
  "$sim" --peers "$peers" --topology "$1" --queries 0 --set workload.files=1 --set workload.replication=1 \
    --set threads=1 > "$work/run.out" 2> "$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
  sed -n 's/^run: \([0-9.]*\) s wall.*/\1/p' "$work/run.err"
}

text_read=(); text_graph=(); bin_read=(); bin_graph=(); run_text=(); run_bin=(); run_kout=()
for r in $(seq 1 "$repeat"); do
  line=$("$sim" topology --convert "$work/edges.txt" "$work/edges.bin")
  text_read+=("$(field read <<< "$line")"); text_graph+=("$(field graph <<< "$line")")
  line=$("$sim" topology --convert "$work/edges.bin" "$work/again.bin")
  bin_read+=("$(field read <<< "$line")"); bin_graph+=("$(field graph <<< "$line")")
  cmp -s "$work/edges.bin" "$work/again.bin" || { echo "edges.sh: binary round trip differs" >&2; exit 1; }
  run_text+=("$(run_wall "file:$work/edges.txt")")
  run_bin+=("$(run_wall "file:$work/edges.bin")")
  # kout:K with K = edges / peers: about as many edges, drawn at random (no file).
  run_kout+=("$(run_wall "kout:$(( edges / peers ))")")
done
distinct=$("$sim" topology --convert "$work/edges.bin" "$work/again.bin" | sed -n 's/.* as read, \([0-9]*\) distinct.*/\1/p')

mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.0f MB", b / 1e6 }'; }
echo "edge list: $peers peers, $edges edges ($distinct distinct); text $(mb "$work/edges.txt"), binary $(mb "$work/edges.bin")"
echo "best of $repeat (seconds)            text    binary"
printf '  %-30s %7.3f %9.3f\n' "read and parse" "$(best "${text_read[@]}")" "$(best "${bin_read[@]}")"
printf '  %-30s %7.3f %9.3f\n' "build the graph" "$(best "${text_graph[@]}")" "$(best "${bin_graph[@]}")"
printf '  %-30s %7.3f %9.3f\n' "load (both)" \
  "$(awk -v a="$(best "${text_read[@]}")" -v b="$(best "${text_graph[@]}")" 'BEGIN { print a + b }')" \
  "$(awk -v a="$(best "${bin_read[@]}")" -v b="$(best "${bin_graph[@]}")" 'BEGIN { print a + b }')"
printf '  %-30s %7.3f %9.3f\n' "whole run, --queries 0" "$(best "${run_text[@]}")" "$(best "${run_bin[@]}")"
printf '  %-30s %7.3f\n' "the same run on kout:$(( edges / peers ))" "$(best "${run_kout[@]}")"
