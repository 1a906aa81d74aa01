#!/usr/bin/env bash
# Calibration: one scenario run twice, by the simulator and by real nodes, and the results side
# by side. The real side is a network of HOSTS hosts in network namespaces ("hscal-hN", address
# 10.78.0.N/24, veth pairs to a bridge in its own namespace "hscal-sw"), one hearsay-node per
# host, every link with a one-way delay of DELAY_MS: tc netem when the kernel has it, else
# the nodes' emulated delay (emulation.send_delay_ms, which holds every frame a node sends for
# that long). FILES files are placed on REPLICAS hosts each, QUERIES searches run through the
# CLI from hosts that lack the file they look for, and the first hit of each is recorded. The
# simulator then runs the same scenario (peers = HOSTS, same fan-out, TTL, join schedule and
# settling time, workload sizes and query spacing, latency "constant:DELAY_MS") and the script
# prints success rate, hops to the first hit and time to first hit p50/p95 for both. It also
# prints the real side's median time per link crossing beyond the delay, the simulator once more
# with that time added to its links (how much of the gap a fixed cost per hop explains), and how
# the real first hits compare with the distance to the nearest holder along the active views
# recorded before the searches. Figures and their reading: bench/HISTORY.md.
#
#   sudo bash apps/deploy/calibrate.sh                       # 25 hosts, fan-out 4, TTL 5, 20 ms
#   sudo HOSTS=25 FANOUT=2 TTL=3 DELAY_MS=10 RUNS=1 bash apps/deploy/calibrate.sh
#   sudo OVERLAY_SET="overlay.view_size_active=6" bash apps/deploy/calibrate.sh
#   sudo CONFIG=tune-out/recommended.toml bash apps/deploy/calibrate.sh
#
# CONFIG=FILE runs both sides with the [overlay] section of a node settings file, such as the
# recommended.toml of `hearsay-sim tune`: its fanout and TTL (unless FANOUT or TTL are given) and
# every other overlay key, before OVERLAY_SET. The predictions compared are then the simulator's
# for this network (HOSTS peers, DELAY_MS links) with those settings; the tune's own evidence,
# for the scenario it was tuned on, is printed beside them from the file's comments. To check
# a recommendation at the scale it will run, tune a scenario shaped like this network.
#
# Knobs (defaults in brackets): HOSTS [25], FANOUT [4], TTL [5], DELAY_MS [20], FILES [50],
# REPLICAS [1], QUERIES [100 per run], RUNS [3 real runs, each on a fresh overlay and
# placement], SIM_SEEDS [5 simulator runs], SETTLE_S [10 s after the last join], JOIN_GAP_MS
# [100 between node starts], QUERY_GAP_MS [150 between searches], OVERLAY_SET (more
# "section.key=value" settings given to both sides), OUT (a folder to keep every query's
# output and the simulator's JSON in), STRICT=1 (exit 1 when time to first hit p50 or p95
# differ by more than 15 %). The real side's figures pool every run's queries, and so do the
# simulator's over its seeds. Exit status 1 also when a consistency check fails: a CLI call
# that did not complete, a first hit naming another file than the one searched for, a real
# first hit sooner than 2 x hops x DELAY_MS (the delay was not in effect), or a simulated one
# other than exactly that. Needs root and iproute2; exits 77 (skipped) otherwise. Touches only
# its own "hscal-" namespaces.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${HEARSAY_BIN:-$top/build/bin}
# CONFIG: "key value" lines of the file's [overlay] table (strings unquoted; comments dropped).
config_overlay=()
if [ -n "${CONFIG:-}" ]; then
  [ -r "$CONFIG" ] || { echo "calibrate: CONFIG=$CONFIG cannot be read" >&2; exit 2; }
  mapfile -t config_overlay < <(awk '
    /^[ \t]*\[/ { section = $0; gsub(/[][ \t]/, "", section); next }
    section == "overlay" && /=/ {
      line = $0; sub(/#.*/, "", line); split(line, kv, "=")
      key = kv[1]; value = substr(line, index(line, "=") + 1)
      gsub(/[ \t"]/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", value); gsub(/"/, "", value)
      if (key != "") print key, value
    }' "$CONFIG")
  [ ${#config_overlay[@]} -gt 0 ] || { echo "calibrate: CONFIG=$CONFIG has no [overlay] keys" >&2; exit 2; }
fi
config_value() {
  local line
  for line in "${config_overlay[@]}"; do [ "${line%% *}" = "$1" ] && { echo "${line#* }"; return; }; done
  return 0
}
hosts=${HOSTS:-25}
fanout=${FANOUT:-$(config_value fanout)}
fanout=${fanout:-4}
ttl=${TTL:-$(config_value ttl)}
ttl=${ttl:-5}
delay_ms=${DELAY_MS:-20}
files=${FILES:-50}
replicas=${REPLICAS:-1}
queries=${QUERIES:-100}
runs=${RUNS:-3}
sim_seeds=${SIM_SEEDS:-5}
settle_s=${SETTLE_S:-10}
join_gap_ms=${JOIN_GAP_MS:-100}
query_gap_ms=${QUERY_GAP_MS:-150}
strict=${STRICT:-0}
overlay_set=()
for line in "${config_overlay[@]}"; do
  case ${line%% *} in fanout | ttl | ttl_max) ;; *) overlay_set+=("overlay.${line%% *}=${line#* }") ;; esac
done
read -r -a more_set <<< "${OVERLAY_SET:-}"
overlay_set+=("${more_set[@]}")

fail_usage() { echo "calibrate: $*" >&2; exit 2; }
for pair in "HOSTS $hosts" "FANOUT $fanout" "TTL $ttl" "DELAY_MS $delay_ms" "FILES $files" "REPLICAS $replicas" \
            "QUERIES $queries" "RUNS $runs" "SIM_SEEDS $sim_seeds" "SETTLE_S $settle_s" "JOIN_GAP_MS $join_gap_ms" \
            "QUERY_GAP_MS $query_gap_ms"; do
  set -- $pair
  [[ $2 =~ ^[0-9]+$ ]] || fail_usage "$1 must be a whole number, not '$2'"
done
[ "$hosts" -ge 2 ] && [ "$hosts" -le 250 ] || fail_usage "HOSTS must be 2 to 250"
[ "$replicas" -ge 1 ] && [ "$replicas" -lt "$hosts" ] || fail_usage "REPLICAS must be 1 to HOSTS - 1"
[ "$files" -ge 1 ] && [ "$files" -le 9999 ] || fail_usage "FILES must be 1 to 9999"
[ "$queries" -ge 1 ] && [ "$runs" -ge 1 ] && [ "$sim_seeds" -ge 1 ] || fail_usage "QUERIES, RUNS and SIM_SEEDS must be at least 1"
[ "$delay_ms" -lt 1000 ] || fail_usage "DELAY_MS must be below 1000"
ttl_max=$((ttl > 10 ? ttl : 10))
config_ttl_max=$(config_value ttl_max)
[ -n "$config_ttl_max" ] && [ "$config_ttl_max" -gt "$ttl_max" ] && ttl_max=$config_ttl_max
# Each search collects hits for this long: a round trip across the whole TTL and a margin for
# processing (a first hit later than that counts as a miss). Seconds with three decimals.
wait_ms=$((2 * ttl * delay_ms + 500))
wait_s=$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))
for tool in hearsay-node hearsay hearsay-sim; do
  [ -x "$bin/$tool" ] || { echo "calibrate: $bin/$tool not found; build first or set HEARSAY_BIN" >&2; exit 1; }
done

# shellcheck source=apps/deploy/netns-lib.sh
. "$top/apps/deploy/netns-lib.sh"
netns_require hscal  # exits 77 (skipped) when namespaces cannot be made here

work=$(mktemp -d /tmp/hscal-XXXXXX)
out=${OUT:-$work/out}
mkdir -p "$out"
rm -f "$out"/real-*.txt "$out"/sim-*.json "$out"/sim-*.txt "$out"/simadj-*.json "$out"/simadj-*.txt
pids=()
stop_nodes() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  pids=()
}
teardown() {
  stop_nodes
  netns_remove hscal "$hosts"
  rm -rf "$work"
}
trap teardown EXIT
began=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the network -----------------------------------------------------------------------
netns_build hscal 10.78.0 "$hosts" "$delay_ms"
echo "network of $hosts hosts ready in $(($(date +%s) - began)) s"
delay_kind=$([ "$netem" = yes ] && echo "tc netem" || echo "emulated by the nodes (emulation.send_delay_ms)")
echo "calibration: $hosts hosts, fan-out $fanout, TTL $ttl, ${delay_ms} ms one-way delay ($delay_kind),"
echo "             $files files x $replicas replica(s), $queries searches per run, $runs real run(s), $sim_seeds simulator seed(s)"
[ ${#overlay_set[@]} -gt 0 ] && echo "             both sides: ${overlay_set[*]}"
if [ -n "${CONFIG:-}" ]; then
  echo "             settings from $CONFIG; its own evidence, for the scenario it was tuned on:"
  sed -n 's/^# \(scenario\|goal\|evidence\|hold-out\)/               \1/p; s/^#   \(.*\)/                 \1/p' "$CONFIG"
fi
set_args=()
for kv in "${overlay_set[@]}"; do set_args+=(--set "$kv"); done

# ---- the workload ------------------------------------------------------------------------
# The simulator's rules (sim/workload.cpp) with a small generator of our own (Park-Miller,
# exact in awk's doubles): each file on REPLICAS distinct hosts chosen uniformly; each search
# from a uniform host, for a uniform file drawn again (up to 32 times) while the host holds it.
# Writes "file F HOST" and "query K ORIGIN FILE".
plan() {
  awk -v seed="$1" -v hosts="$hosts" -v files="$files" -v replicas="$replicas" -v queries="$queries" '
    function below(n) { x = (x * 16807) % 2147483647; return int(x / 2147483647 * n) }
    BEGIN {
      x = 7919 * seed + 1
      for (i = 0; i < 8; i++) below(2)  # past the small first values of a small seed
      for (f = 0; f < files; f++) {
        got = 0
        while (got < replicas) {
          h = below(hosts) + 1
          if ((f, h) in holds) continue
          holds[f, h] = 1; got++
          print "file", f, h
        }
      }
      for (k = 0; k < queries; k++) {
        o = below(hosts) + 1
        for (a = 0; a < 32; a++) { f = below(files); if (!((f, o) in holds)) break }
        print "query", k, o, f
      }
    }'
}

# ---- one real run ------------------------------------------------------------------------
# Prints one line per query to $out/real-R-queries.txt: "K ORIGIN FILE hit HOPS LATENCY_MS",
# "K ORIGIN FILE miss" or "K ORIGIN FILE error", and the hosts' active view sizes to
# $out/real-R-views.txt.
run_real() {
  local r=$1 dir=$work/run$r run_began
  run_began=$(date +%s)
  mkdir -p "$dir"
  plan "$r" > "$out/real-$r-plan.txt"
  for i in $(seq 1 "$hosts"); do mkdir -p "$dir/h$i/shared" "$dir/h$i/downloads"; done
  while read -r _ f h; do
    printf 'calibration file %04d\n' "$f" > "$dir/h$h/shared/calibration $(printf %04d "$f").txt"
  done < <(grep '^file ' "$out/real-$r-plan.txt")

  # The control endpoints are unix sockets, which every namespace shares: the CLI runs in
  # this script's namespace, without the cost of `ip netns exec` for every search.
  local join_pause
  printf -v join_pause '%d.%03d' $((join_gap_ms / 1000)) $((join_gap_ms % 1000))
  for i in $(seq 1 "$hosts"); do
    local seed=()
    [ "$i" -gt 1 ] && seed=(--seed 10.78.0.1:7000)
    ip netns exec "hscal-h$i" "$bin/hearsay-node" --listen "10.78.0.$i:7000" --control "$dir/h$i.sock" --metrics "" \
      --state "$dir/h$i/state" \
      --network calibration "${seed[@]}" --shared "$dir/h$i/shared" --downloads "$dir/h$i/downloads" \
      --set peers_file= --set "overlay.fanout=$fanout" --set "overlay.ttl=$ttl" --set "overlay.ttl_max=$ttl_max" \
      "${set_args[@]}" "${delay_args[@]}" --log-level warn 2> "$dir/h$i/log" &
    pids+=($!)
    sleep "$join_pause"
  done
  sleep "$settle_s"

  # Each host's active view when the searches start: "HOST NEIGHBOUR" lines, and its size.
  for i in $(seq 1 "$hosts"); do
    "$bin/hearsay" --control "$dir/h$i.sock" --json peers 2> /dev/null |
      sed -n "s/.*\"view\":\"active\",\"addr\":\"10\.78\.0\.\([0-9]*\):7000\".*/$i \1/p"
  done > "$out/real-$r-links.txt"
  for i in $(seq 1 "$hosts"); do
    awk -v i="$i" '$1 == i { n++ } END { print n + 0 }' "$out/real-$r-links.txt"
  done > "$out/real-$r-views.txt"

  # Searches every QUERY_GAP_MS, like the simulator's fixed arrivals; a host runs one search
  # at a time (the node reports the hits of its newest search only).
  # Timing with bash's own clock, so that nothing but the CLI is started per search.
  declare -A busy=()
  local start_us now_us due_us k o f name pause
  start_us=${EPOCHREALTIME/./}
  while read -r _ k o f; do
    due_us=$((start_us + k * query_gap_ms * 1000))
    now_us=${EPOCHREALTIME/./}
    if [ "$due_us" -gt "$now_us" ]; then
      printf -v pause '%d.%06d' $(((due_us - now_us) / 1000000)) $(((due_us - now_us) % 1000000))
      sleep "$pause"
    fi
    if [ -n "${busy[$o]:-}" ]; then wait "${busy[$o]}" || true; fi
    printf -v name '%04d' "$f"
    "$bin/hearsay" --control "$dir/h$o.sock" --json --wait "$wait_s" search calibration "$name" \
      > "$dir/q$k.jsonl" 2> "$dir/q$k.err" &
    busy[$o]=$!
  done < <(grep '^query ' "$out/real-$r-plan.txt")
  wait "${busy[@]}" 2> /dev/null || true
  stop_nodes

  while read -r _ k o f; do
    awk -v k="$k" -v o="$o" -v f="$f" '
      /"event":"hit"/ && !hit {
        hit = 1
        hops = $0; sub(/.*"hops":/, "", hops); sub(/[^0-9].*/, "", hops)
        lat = $0; sub(/.*"latency_ms":/, "", lat); sub(/[^0-9.].*/, "", lat)
        name = $0; sub(/.*"name":"/, "", name); sub(/".*/, "", name)
      }
      /"event":"end","ok":true/ { ok = 1 }
      END {
        want = sprintf("calibration %04d.txt", f)
        if (!ok) print k, o, f, "error"
        else if (!hit) print k, o, f, "miss"
        else if (name != want) print k, o, f, "wrongfile", name
        else print k, o, f, "hit", hops, lat
      }' "$dir/q$k.jsonl"
  done < <(grep '^query ' "$out/real-$r-plan.txt") > "$out/real-$r-queries.txt"
  awk -v r="$r" '$4 == "hit" { n++ } END { printf "  real run %d: %d of %d searches answered", r, n, NR }' "$out/real-$r-queries.txt"
  echo " ($(($(date +%s) - run_began)) s)"
}

for r in $(seq 1 "$runs"); do run_real "$r"; done

# ---- the simulator -----------------------------------------------------------------------
# The same scenario: one seed node (host 1) everybody joins through, joins JOIN_GAP_MS apart,
# SETTLE_S of settling, then searches QUERY_GAP_MS apart; constant one-way link latency.
# run_sim NAME LATENCY_MS writes $out/NAME-S.json and $out/NAME-S-queries.txt per seed S, the
# latter in the real side's line format.
run_sim() {
  local name=$1 latency=$2 s
  for s in $(seq 1 "$sim_seeds"); do
    "$bin/hearsay-sim" --peers "$hosts" --seed "$s" --set join.seeds=1 --set "join.interval_us=$((join_gap_ms * 1000))" \
      --set "join.stabilize_s=$settle_s" --fanout "$fanout" --ttl "$ttl" --set "overlay.ttl_max=$ttl_max" \
      "${set_args[@]}" --latency "constant:$latency" --files "$files" --replication "$replicas" --queries "$queries" \
      --set "workload.query_interval_us=$((query_gap_ms * 1000))" --json "$out/$name-$s.json" --per-query \
      > "$out/$name-$s.txt" 2> /dev/null
    awk '/"first_hit_us"/ {
           line = $0; gsub(/[{}",:]/, " ", line); n = split(line, w, " ")
           for (i = 1; i < n; i += 2) v[w[i]] = w[i + 1]
           if (v["first_hit_us"] < 0) print NR, v["origin"], v["file"], "miss"
           else print NR, v["origin"], v["file"], "hit", v["hops"], v["first_hit_us"] / 1000
         }' "$out/$name-$s.json" > "$out/$name-$s-queries.txt"
    sed -n 's/.*"active_mean": *\([0-9.]*\).*/\1/p' "$out/$name-$s.json" > "$out/$name-$s-views.txt"
  done
}
run_sim sim "$delay_ms"

# ---- the comparison ----------------------------------------------------------------------
# Pooled figures of query files: searches, hits, success rate, mean hops, p50/p95/mean of the
# first-hit latency (nearest rank, as hearsay-sim computes them), errors, wrong files, first
# hits sooner / later than 2 x hops x DELAY_MS, and the mean and median time per link crossing
# above it.
summarize() {
  cat "$@" | awk -v d="$delay_ms" '
    function rank(p, m,   r) { r = int(p * m + 0.999999); return r < 1 ? 1 : (r > m ? m : r) }
    { n++ }
    $4 == "error" { errors++ }
    $4 == "wrongfile" { wrong++ }
    $4 == "hit" {
      hits++; hops += $5; lat[hits] = $6; sum += $6
      floor = 2 * $5 * d
      if ($6 < floor - 1e-6) early++
      if ($6 > floor + 1e-6) late++
      ov[hits] = ($6 - floor) / (2 * $5); over += ov[hits]
    }
    function sort(a, m,   i, j, v) {  # insertion sort: a few hundred values
      for (i = 2; i <= m; i++) { v = a[i]; j = i - 1; while (j > 0 && a[j] > v) { a[j + 1] = a[j]; j-- } a[j + 1] = v }
    }
    END {
      sort(lat, hits); sort(ov, hits)
      printf "%d %d %.6f %.4f %.3f %.3f %.3f %d %d %d %d %.4f %.4f\n", n, hits, n ? hits / n : 0, hits ? hops / hits : 0,
             hits ? lat[rank(0.50, hits)] : 0, hits ? lat[rank(0.95, hits)] : 0, hits ? sum / hits : 0,
             errors, wrong, early, late, hits ? over / hits : 0, hits ? ov[rank(0.50, hits)] : 0
    }'
}
percentiles_each() {  # p50/p95 of each file, for the spread between runs
  local f
  for f in "$@"; do summarize "$f" | awk '{ printf " %.1f/%.1f", $5, $6 }'; done
}
mean_of() { cat "$@" | awk '{ s += $1; n++ } END { printf "%.2f", n ? s / n : 0 }'; }
sim_files=()
real_files=()
for s in $(seq 1 "$sim_seeds"); do sim_files+=("$out/sim-$s-queries.txt"); done
for r in $(seq 1 "$runs"); do real_files+=("$out/real-$r-queries.txt"); done
read -r sn _ srate shops sp50 sp95 smean _ _ searly slate _ _ < <(summarize "${sim_files[@]}")
read -r rn _ rrate rhops rp50 rp95 rmean rerr rwrong rearly _ rover rover50 < <(summarize "${real_files[@]}")
sviews=$(mean_of "${sim_files[@]/%-queries.txt/-views.txt}")
rviews=$(mean_of "${real_files[@]/%-queries.txt/-views.txt}")

# The simulator again, with the real side's median time per link crossing added to the delay:
# how much of the gap a constant per-hop cost explains (the median, since a few searches
# stalled by the machine's other work would pull a mean up).
adjusted=$(awk -v d="$delay_ms" -v o="$rover50" 'BEGIN { printf "%.3f", d + (o > 0 ? o : 0) }')
run_sim simadj "$adjusted"
adj_files=()
for s in $(seq 1 "$sim_seeds"); do adj_files+=("$out/simadj-$s-queries.txt"); done
read -r _ _ arate ahops ap50 ap95 amean _ _ _ _ _ _ < <(summarize "${adj_files[@]}")
aviews=$(mean_of "${adj_files[@]/%-queries.txt/-views.txt}")

# How the real first hits relate to the overlay they ran on: the hops of each against the
# distance from its origin to the nearest holder along the active views recorded before the
# searches. A relay passes a query to every other neighbour when FANOUT >= view size - 1, but
# an origin only to FANOUT of its neighbours, so a hit may come from further away.
read -r same longer shorter unknown < <(for r in $(seq 1 "$runs"); do
  cat "$out/real-$r-links.txt" | sed 's/^/link /'
  cat "$out/real-$r-plan.txt"
  sed 's/^/result /' "$out/real-$r-queries.txt"
  echo "end"
done | awk '
  $1 == "link" { adj[$2] = adj[$2] " " $3; next }
  $1 == "file" { holders[$2] = holders[$2] " " $3; next }
  $1 == "result" && $5 == "hit" {
    split(holders[$4], hs, " "); delete want; for (i in hs) want[hs[i]] = 1
    delete dist; dist[$3] = 0; q[1] = $3; head = 1; tail = 1; d = -1
    while (head <= tail) {
      u = q[head++]
      if (u in want) { d = dist[u]; break }
      n = split(adj[u], nb, " ")
      for (j = 1; j <= n; j++) if (!(nb[j] in dist)) { dist[nb[j]] = dist[u] + 1; q[++tail] = nb[j] }
    }
    if (d < 0) unknown++; else if ($6 == d) same++; else if ($6 > d) longer++; else shorter++
    next
  }
  $1 == "end" { delete adj; delete holders }
  END { print same + 0, longer + 0, shorter + 0, unknown + 0 }')

row() {  # metric, simulator, real, adjusted simulator, format, and "-" for no differences
  awk -v m="$1" -v s="$2" -v r="$3" -v a="$4" -v fmt="$5" -v plain="${6:-}" '
    function pct(x, y) { if (plain == "-") return ""; return x != 0 ? sprintf("%+.1f %%", (y - x) / x * 100) : (y == 0 ? "+0.0 %" : "n/a") }
    BEGIN { printf "| %-28s | %9s | %9s | %10s | %16s | %10s |\n", m, sprintf(fmt, s), sprintf(fmt, r), pct(s, r),
                   sprintf(fmt, a), pct(a, r) }'
}
over_txt=$(awk -v x="$rover50" 'BEGIN { printf "%.2f", x }')
echo
echo "| metric                       | simulator | namespace | difference | sim, +$over_txt ms/link | difference |"
echo "| ---------------------------- | --------: | --------: | ---------: | ---------------: | ---------: |"
row "searches" "$sn" "$rn" "$sn" "%d" -
row "success rate (%)" "$(awk -v x="$srate" 'BEGIN { print x * 100 }')" "$(awk -v x="$rrate" 'BEGIN { print x * 100 }')" \
    "$(awk -v x="$arate" 'BEGIN { print x * 100 }')" "%.1f"
row "hops to first hit, mean" "$shops" "$rhops" "$ahops" "%.2f"
row "time to first hit p50 (ms)" "$sp50" "$rp50" "$ap50" "%.1f"
row "time to first hit p95 (ms)" "$sp95" "$rp95" "$ap95" "%.1f"
row "time to first hit mean (ms)" "$smean" "$rmean" "$amean" "%.1f"
row "active view, mean" "$sviews" "$rviews" "$aviews" "%.2f"
echo
echo "simulator: $sim_seeds seed(s) x $queries searches, link latency constant:$delay_ms; sim+: the same with constant:$adjusted"
echo "namespace: $runs run(s) x $queries searches; p50/p95 (ms) per run:$(percentiles_each "${real_files[@]}")"
echo "           p50/p95 (ms) per simulator seed:$(percentiles_each "${sim_files[@]}")"
echo "real first hits took $(awk -v x="$rover50" -v m="$rover" 'BEGIN { printf "%.3f ms (median; mean %.3f ms)", x, m }') per link crossing beyond the ${delay_ms} ms delay"
echo "           (processing, timers and scheduling of $hosts nodes on $(nproc) cores, the namespaces' network stack)"
echo "real first hits against the active views recorded before the searches: $same at the overlay distance to the"
echo "           nearest holder, $longer further (the origin forwards to $fanout of its neighbours), $shorter nearer and $unknown unreachable (views changed)"

status=0
agree() { awk -v s="$1" -v r="$2" 'BEGIN { d = (r - s) / (s ? s : 1); exit !(d <= 0.15 && d >= -0.15) }'; }
if agree "$sp50" "$rp50" && agree "$sp95" "$rp95"; then
  echo "agreement: time to first hit p50 and p95 within 15 %"
else
  echo "agreement: time to first hit p50 or p95 differs by more than 15 %"
  [ "$strict" = 1 ] && status=1
fi
check() {  # what, count
  if [ "$2" -ne 0 ]; then echo "check failed: $1: $2" >&2; status=1; fi
}
check "real searches that did not complete" "$rerr"
check "real first hits naming another file" "$rwrong"
check "real first hits sooner than 2 x hops x ${delay_ms} ms" "$rearly"
check "simulated first hits other than 2 x hops x ${delay_ms} ms" "$((searly + slate))"
echo "took $(($(date +%s) - began)) s on $(nproc) cores; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
exit $status
