#!/usr/bin/env bash
# The simulator's size targets, each measured as a median of REPEAT runs (default 3) and printed
# beside its target:
#   static   a flood to every neighbour on er:8 (TTL 5, 500 searches one per 100 ms, 1,000 files
#            at 1 %, uniform 10-100 ms links) at 10^6 and 10^7 peers: wall time and peak memory;
#   scale    sim/scenarios/scale.toml (HyParView joins, then floods) at 10^6 peers;
#   placing  10^7 copies (1,000 files x 1 % of 10^6 peers): the same run without queries, with
#            and without the files, the difference being what placing them costs.
# Not part of the test run (minutes). Usage:
#   bash bench/targets.sh                  # everything
#   ONLY="static placing" bash bench/targets.sh
#   HEARSAY_SIM=/tmp/hearsay-sim REPEAT=1 bash bench/targets.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # top, sim
repeat=${REPEAT:-3}
only=${ONLY:-static scale placing}
command -v /usr/bin/time > /dev/null || { echo "targets.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# median WALL PEAK_MIB of `repeat` runs of the simulator with the given arguments
median_run() {
  local k
  : > "$work/rows"
  for ((k = 0; k < repeat; k++)); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$sim" "$@" > "$work/out" 2> "$work/err" ||
      { echo "targets.sh: hearsay-sim $* failed:" >&2; cat "$work/err" >&2; exit 1; }
    read -r wall rss < "$work/time"
    echo "$wall $((rss / 1024))" >> "$work/rows"
  done
  sort -n -k1,1 "$work/rows" | sed -n "$(( (repeat + 1) / 2 ))p"
}

static_args() {  # peers
  echo "--peers $1 --topology er:8 --queries 500 --set workload.query_interval_us=100000 --files 1000" \
       "--replication $(($1 / 100)) --latency uniform:10:100 --fanout 64 --ttl 5"
}

echo "target                                   measured                 goal"
for what in $only; do
  case "$what" in
    static)
      # shellcheck disable=SC2046
      read -r wall mib <<< "$(median_run $(static_args 1000000))"
      printf "%-40s %6.2f s %7d MiB      <= 1.5 s, <= 400 MB\n" "er:8 flood to all, 10^6 peers" "$wall" "$mib"
      engine=$(sed -n 's/^run: .*, \([a-z]*\) engine$/\1/p' "$work/err")
      printf "%-40s %s\n" "  (engine, threads)" "$engine, $(sed -n 's/.*, \([0-9]*\) threads\{0,1\},.*/\1/p' "$work/err")"
      # shellcheck disable=SC2046
      read -r wall mib <<< "$(median_run $(static_args 10000000))"
      printf "%-40s %6.2f s %7d MiB      <= 20 s, <= 4 GB\n" "er:8 flood to all, 10^7 peers" "$wall" "$mib"
      ;;
    scale)
      read -r wall mib <<< "$(median_run --scenario "$top/sim/scenarios/scale.toml" --peers 1000000)"
      printf "%-40s %6.2f s %7d MiB      <= 8 s, <= 1 GB\n" "scale scenario (HyParView), 10^6 peers" "$wall" "$mib"
      ;;
    placing)
      # shellcheck disable=SC2046
      read -r with_wall with_mib <<< "$(median_run $(static_args 1000000) --queries 0)"
      read -r bare_wall bare_mib <<< "$(median_run --peers 1000000 --topology er:8 --queries 0 --files 1 --replication 1 \
        --latency uniform:10:100)"
      awk -v a="$with_wall" -v b="$bare_wall" -v x="$with_mib" -v y="$bare_mib" 'BEGIN {
        printf "%-40s %6.2f s %7d MiB      <= 1 s, <= 100 MB\n", "placing 10^7 copies (difference)", a - b, x - y }'
      ;;
    *) echo "targets.sh: unknown target $what" >&2; exit 2 ;;
  esac
done
