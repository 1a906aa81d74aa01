#!/usr/bin/env bash
# Compares two hearsay-sim binaries in interleaved pairs: A, then B, then A, ... on the scale
# scenario, and prints each pair's wall times, the ratio B/A, and the median of the ratios.
# On a machine whose speed drifts (a virtual machine's processor time is shared), a table of
# separate passes compares spells, not binaries; adjacent runs share a spell.
#   bash bench/pairs.sh OLD_BINARY NEW_BINARY            # 8 pairs at 100,000 peers
#   PAIRS=12 PEERS=300000 bash bench/pairs.sh OLD NEW    # other counts and sizes
#   ARGS="--set threads=1" bash bench/pairs.sh OLD NEW   # extra simulator arguments
# The reports of A and B are checked to be equal: a change that alters results is not a
# speed-up of the same run. The fingerprint covers the whole report, the number of events
# included, so a change that only leaves out events without effect (timers that would find
# nothing to do) compares by the report without that line, and each pair shows both counts.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash bench/pairs.sh OLD_BINARY NEW_BINARY" >&2; exit 2; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
a=$1
b=$2
pairs=${PAIRS:-8}
peers=${PEERS:-100000}
read -r -a extra <<< "${ARGS:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # binary -> "wall events digest-of-the-report-but-its-events-line"
  "$1" --scenario "$top/sim/scenarios/scale.toml" --peers "$peers" "${extra[@]}" > "$work/out" 2> "$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  local wall events digest
  wall=$(sed -n 's/^run: \([0-9.]*\) s wall.*/\1/p' "$work/err")
  events=$(sed -n 's/^run: .* s wall, \([0-9]*\) events.*/\1/p' "$work/err")
  digest=$(grep -v -e '^  events  ' -e '^fingerprint: ' "$work/out" | cksum | cut -d' ' -f1)
  echo "$wall $events $digest"
}

ratios=()
for i in $(seq 1 "$pairs"); do
  read -r wa ea fa <<< "$(run "$a")"
  read -r wb eb fb <<< "$(run "$b")"
  [ "$fa" = "$fb" ] || { echo "pairs.sh: the reports differ: the binaries do not run the same simulation" >&2; exit 1; }
  r=$(awk -v a="$wa" -v b="$wb" 'BEGIN { printf "%.3f", b / a }')
  ratios+=("$r")
  if [ "$ea" = "$eb" ]; then
    echo "pair $i: A $wa s, B $wb s, B/A $r"
  else
    echo "pair $i: A $wa s ($ea events), B $wb s ($eb events), B/A $r"
  fi
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '
  { v[NR] = $1; if ($1 < 1) faster++ }
  END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
        printf "median B/A %.3f over %d pairs (B faster in %d), range %.3f-%.3f\n", m, NR, faster, v[1], v[NR] }'
