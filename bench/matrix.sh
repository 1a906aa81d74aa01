#!/usr/bin/env bash
# The benchmark matrix: is any shape of workload much slower per event, or heavier per peer,
# than another? Runs every topology x search strategy x size once (REPEAT for medians) with
# the same workload otherwise — 500 searches one per 100 ms, 1,000 files at 1 % replication,
# uniform 10-100 ms links, TTL 5 (walkers: 16 of up to 128 hops) — and writes
#   bench/matrix.csv   one row per run: wall, CPU, peak memory, events, events/s, bytes/peer
#   bench/matrix.md    the same as a Markdown table (RESULTS.md summarises and links it)
# Not part of the test run: 10^6 peers take minutes per cell today.
#   bash bench/matrix.sh                                  # 10^4 and 10^5 peers
#   SIZES="10000" TOPOLOGIES="er:8 kout:4" bash bench/matrix.sh
#   HEARSAY_SIM=/tmp/hearsay-sim bash bench/matrix.sh      # a given binary, without building
#   APPEND=1 SIZES=1000000 TOPOLOGIES="er:8 kout:4 regular:8 ba:4" STRATEGIES="flood_all fanout_4 gossip" \
#     bash bench/matrix.sh                                  # add rows (10^6 on the compact engine)
#   SKIP="ba:4/flood_all" ...                              # leave out cells (topology/strategy)
# The engine column says which engine ran the cell (fixed graphs run compact unless the strategy
# needs whole nodes: walkers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # top, sim
sizes=${SIZES:-10000 100000}
topologies=${TOPOLOGIES:-hyparview er:8 regular:8 ba:4}
strategies=${STRATEGIES:-flood_all fanout_4 gossip walkers}
repeat=${REPEAT:-1}
command -v /usr/bin/time > /dev/null || { echo "matrix.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

strategy_flags() {
  case "$1" in
    flood_all) echo "--fanout 64 --ttl 5" ;;
    fanout_4) echo "--fanout 4 --ttl 5" ;;
    gossip) echo "--fanout 4 --ttl 5 --set overlay.strategy=gossip --set overlay.gossip_percent=60" ;;
    walkers) echo "--set overlay.strategy=random_walk --set overlay.walkers=16 --set overlay.walk_ttl=128" ;;
    *) echo "matrix.sh: unknown strategy $1" >&2; exit 2 ;;
  esac
}

csv=$top/bench/matrix.csv
if [ -z "${APPEND:-}" ] || [ ! -s "$csv" ]; then
  echo "topology,strategy,peers,wall_s,cpu_s,peak_mib,bytes_per_peer,events,events_per_s,success_rate,fingerprint,engine" > "$csv"
fi
for n in $sizes; do
  for topo in $topologies; do
    for strat in $strategies; do
      case " ${SKIP:-} " in *" $topo/$strat "*) continue ;; esac
      rows=()
      for ((k = 0; k < repeat; k++)); do
        # shellcheck disable=SC2046
        /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$sim" --peers "$n" --topology "$topo" \
          --queries 500 --set workload.query_interval_us=100000 --files 1000 --replication $((n / 100)) \
          --latency uniform:10:100 $(strategy_flags "$strat") --csv "$work/row.csv" > "$work/out" 2> "$work/err" ||
          { echo "matrix.sh: $topo $strat $n failed:" >&2; cat "$work/err" >&2; exit 1; }
        read -r wall user sys rss < "$work/time"
        events=$(sed -n 's/^run: .* s wall, \([0-9]*\) events.*/\1/p' "$work/err" "$work/out" | head -1)
        success=$(sed -n "s/^  success rate *\([0-9.]*\)%.*/\1/p" "$work/out" | head -1)
        fp=$(sed -n 's/^fingerprint: \([0-9a-f]*\).*/\1/p' "$work/out" | head -1)
        engine=$(sed -n 's/^run: .*, \([a-z]*\) engine$/\1/p' "$work/err" | head -1)
        rows+=("$wall $user $sys $rss ${events:-0} ${success:-} $fp ${engine:-nodes}")
      done
      # The median run by wall time.
      median=$(printf '%s\n' "${rows[@]}" | sort -n -k1,1 | sed -n "$(( (repeat + 1) / 2 ))p")
      read -r wall user sys rss events success fp engine <<< "$median"
      awk -v t="$topo" -v s="$strat" -v n="$n" -v w="$wall" -v u="$user" -v y="$sys" -v r="$rss" -v e="$events" \
          -v ok="$success" -v f="$fp" -v g="$engine" 'BEGIN {
        printf "%s,%s,%d,%.2f,%.2f,%.1f,%.0f,%d,%.0f,%s,%s,%s\n", t, s, n, w, u + y, r / 1024, r * 1024 / n, e,
               (w > 0 ? e / w : 0), ok, f, g }' >> "$csv"
      tail -1 "$csv"
    done
  done
done

md=$top/bench/matrix.md
{
  echo "# Benchmark matrix"
  echo
  echo "Rows last added by \`bash bench/matrix.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') ($(nproc) processors; medians of $repeat);"
  echo "rows added with APPEND=1 keep the figures of their own pass (RESULTS.md says which pass made which rows)."
  echo "Every cell: 500 searches one per 100 ms, 1,000 files at 1 % replication, uniform 10-100 ms links;"
  echo "flood_all = fan-out above the degree, TTL 5; fanout_4 = 4 random neighbours per hop, TTL 5; gossip = 4 at"
  echo "the origin, 60 % per neighbour, TTL 5; walkers = 16 random walkers of up to 128 hops."
  echo
  echo "| topology | strategy | peers | engine | wall | CPU | peak memory | bytes/peer | events | events/s | success |"
  echo "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  tail -n +2 "$csv" | awk -F, '{ printf "| %s | %s | %d | %s | %.2f s | %.2f s | %.0f MiB | %.0f | %.2f M | %.2f M/s | %s %% |\n",
    $1, $2, $3, $12, $4, $5, $6, $7, $8 / 1e6, $9 / 1e6, $10 }'
} > "$md"
echo "wrote $csv and $md"
