#!/usr/bin/env bash
# How the simulator's time and memory grow with the number of peers: runs the scale scenario
# (sim/scenarios/scale.toml: HyParView built through joins and shuffles, then 1,000 TTL-7
# fan-out-4 floods) at each size, one run at a time, and writes
#   bench/results-scale-<stamp>.csv   one row per size (wall, CPU, peak memory, events, bytes per peer, ...)
#   bench/results-scale-<stamp>.md    the same as a Markdown table
#   bench/results-scale-<stamp>-time.svg, -memory.svg   plots made with `hearsay-sim plot`
# Not part of the test run: the largest size takes minutes and several GiB.
#   bash bench/scale.sh                          # 10^4 .. 10^6 peers
#   SIZES="10000 100000" REPEAT=3 bash bench/scale.sh   # other sizes; median of REPEAT runs
#   HEARSAY_SIM=/tmp/hearsay-sim bash bench/scale.sh     # a given binary, without building
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # top, sim
sizes=${SIZES:-10000 30000 100000 300000 1000000}
repeat=${REPEAT:-1}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$top/bench/results-scale-$stamp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time > /dev/null || { echo "scale.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

echo "peers,wall_s,cpu_s,peak_mib,bytes_per_peer,events,events_per_s,success_rate,first_hit_p50_ms,query_messages,fingerprint,reference_s" > "$out.csv"
# The machine's speed at the time: a virtual machine's processor can run a third or more slower
# from one minute to the next (bench/HISTORY.md), so before each run a fixed reference run (10^4
# peers, 100 queries, one thread: about 2.0 G instructions by callgrind) is timed, and the table
# shows its median beside each size. Figures from different passes compare through it.
reference() {
  "$sim" --scenario "$top/sim/scenarios/scale.toml" --peers 10000 --queries 100 --set threads=1 > /dev/null 2> "$work/ref" ||
    { cat "$work/ref" >&2; exit 1; }
  sed -n 's/^run: \([0-9.]*\) s wall.*/\1/p' "$work/ref"
}
for n in $sizes; do
  runs=()
  refs=()
  for r in $(seq 1 "$repeat"); do
    ref=$(reference)
    refs+=("$ref")
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$sim" --scenario "$top/sim/scenarios/scale.toml" --peers "$n" \
      --csv "$work/run.csv" > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r wall user sys rss_kib < "$work/time"
    events=$(sed -n 's/^run: .* s wall, \([0-9]*\) events.*/\1/p' "$work/err")
    fp=$(sed -n 's/^fingerprint: //p' "$work/out")
    runs+=("$wall $user $sys $rss_kib $events $fp")
    echo "scale: $n peers, run $r: $wall s wall, $((rss_kib / 1024)) MiB, $events events, fingerprint $fp (reference run $ref s)" >&2
  done
  # The median run by wall time (the runs of one size are deterministic: same events, same fingerprint).
  median=$(printf '%s\n' "${runs[@]}" | sort -n -k1,1 | sed -n "$(((repeat + 1) / 2))p")
  read -r wall user sys rss_kib events fp <<< "$median"
  ref=$(printf '%s\n' "${refs[@]}" | sort -n | sed -n "$(((repeat + 1) / 2))p")
  # The run's own CSV row: success rate, latency and messages, by column name.
  row() { awk -F, -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i } NR == 2 { print $c }' "$work/run.csv"; }
  awk -v n="$n" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss_kib" -v ev="$events" \
      -v sr="$(row success_rate)" -v p50="$(row first_hit_p50_ms)" -v qm="$(row query_messages)" -v fp="$fp" -v ref="$ref" \
      'BEGIN { printf "%d,%.2f,%.2f,%.1f,%.0f,%d,%.0f,%s,%s,%s,%s,%.2f\n", n, wall, user + sys, rss / 1024, rss * 1024 / n, ev, ev / wall, sr, p50, qm, fp, ref }' \
      >> "$out.csv"
done

{
  echo "| peers | wall (s) | CPU (s) | peak memory (MiB) | bytes/peer | events | events/s | success | first hit p50 (ms) | reference run (s) |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk -F, 'NR > 1 { printf "| %d | %.2f | %.2f | %.1f | %d | %d | %.2f M | %.1f%% | %.1f | %.2f |\n", $1, $2, $3, $4, $5, $6, $7 / 1e6, $8 * 100, $9, $12 }' "$out.csv"
} > "$out.md"
"$sim" plot "$out.csv" --x peers --y wall_s,cpu_s --out "$out-time.svg" --title "Scale scenario: time against peers" \
  --x-label peers --y-label seconds
"$sim" plot "$out.csv" --x peers --y peak_mib --out "$out-memory.svg" --title "Scale scenario: peak memory against peers" \
  --x-label peers --y-label "peak resident memory (MiB)"
cat "$out.md"
echo "results: $out.csv $out.md $out-time.svg $out-memory.svg"
