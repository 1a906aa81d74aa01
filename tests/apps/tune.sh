#!/usr/bin/env bash
# hearsay-sim tune on a scenario whose answer is known. A ring lattice of 100 peers, each linked to its 2
# nearest on either side, is 25 hops across (100 / 2 / 2); with one copy of each file and every query
# flooded to all 4 neighbours, a TTL of 24 leaves the peers 25 hops away unreached (about one query in 25
# fails), and 25 reaches every peer. So over TTLs 1..40 the least TTL that meets success_rate >= 0.99 is
# 25: the tune must find it in fewer runs than the grid has points, give the same files when driven in
# rounds of emitted commands, and recommend settings that hearsay-node --check accepts. --robust knows its
# answers too: at 50 peers the ring is 13 hops across and TTL 25 still reaches everyone; at 150 it is 38
# hops across and about a third of the searches fail; the scenario has no churn to double.
set -euo pipefail
bin=${HEARSAY_BIN:?HEARSAY_BIN: the folder of hearsay-sim and hearsay-node}
work=${WORK:?WORK: a scratch folder}
rm -rf "$work"
mkdir -p "$work"
args=(--peers 100 --topology ring:2 --files 50 --replication 1 --queries 200 --set overlay.ttl_max=64 --fanout 4
      --vary overlay.ttl=1..40 --constraint 'success_rate >= 0.99' --minimize query_messages --budget 30 --robust)

"$bin/hearsay-sim" tune "${args[@]}" --jobs 2 --out "$work/a" > "$work/a.txt" 2> "$work/a.err"
grep -qx 'ttl = 25' "$work/a/recommended.toml" || { echo "expected ttl = 25:"; cat "$work/a.txt"; exit 1; }
search_runs=$(sed -n 's/^runs: .*: \([0-9]*\) for [0-9]* points.*/\1/p' "$work/a.txt")
echo "TTL 25 found in $search_runs search runs (the grid: 40 points)"
test "$search_runs" -lt 40
grep -q '^  hold-out, 3 fresh seeds:' "$work/a.txt"
grep -qx '  churn x2: not run (the scenario has no churn)' "$work/a.txt"
grep -qx '  peers x0.5 (--peers 50), 3 seeds: constraints hold' "$work/a.txt"
grep -qx '  peers x1.5 (--peers 150), 3 seeds: constraints do NOT all hold' "$work/a.txt"
# Its page: the report (the recommendation in it), the Pareto chart with a caption, a row per point.
grep -q '^recommended: overlay.ttl=25' "$work/a/index.html"
test "$(grep -c '<figcaption>' "$work/a/index.html")" -eq 1
test "$(grep -c '<tr>' "$work/a/index.html")" -eq "$(wc -l < "$work/a/points.csv")"

# The same search in rounds, as on a cluster: emit, run, resume.
"$bin/hearsay-sim" tune "${args[@]}" --out "$work/b" --emit-commands > "$work/round.txt"
rounds=0
while [ -s "$work/round.txt" ]; do
  rounds=$((rounds + 1))
  test "$rounds" -lt 30
  bash "$work/round.txt"
  "$bin/hearsay-sim" tune --resume "$work/b" --emit-commands > "$work/round.txt"
done
for f in recommended.toml points.csv pareto.csv pareto.svg; do cmp "$work/a/$f" "$work/b/$f"; done
"$bin/hearsay-sim" tune --resume "$work/b" > "$work/b.txt"
diff <(sed "s#$work/a#DIR#" "$work/a.txt") <(sed "s#$work/b#DIR#" "$work/b.txt")
echo "the same files in $rounds rounds of emitted commands"

# A round cut short: what has no results is run when the search is resumed here.
"$bin/hearsay-sim" tune "${args[@]}" --out "$work/c" --emit-commands > "$work/round.txt"
head -n 1 "$work/round.txt" | bash
"$bin/hearsay-sim" tune --resume "$work/c" --jobs 2 > /dev/null 2> "$work/c.err"
grep -q "run(s) of the last round have no results; running them" "$work/c.err"
cmp "$work/a/recommended.toml" "$work/c/recommended.toml"

# The node takes the recommendation unchanged.
mkdir -p "$work/home"
HOME="$work/home" XDG_STATE_HOME= XDG_DATA_HOME= "$bin/hearsay-node" --check --config "$work/a/recommended.toml"

# Mistakes are refused before anything runs.
if "$bin/hearsay-sim" tune --peers 100 --vary overlay.ttl=1..3 --constraint 'succes_rate >= 0.9' --out "$work/e" 2> "$work/e.err"; then
  exit 1
fi
grep -q "is no numeric column of sweep.csv" "$work/e.err"
test ! -e "$work/e"
if "$bin/hearsay-sim" tune "${args[@]}" --out "$work/a" 2> "$work/d.err"; then exit 1; fi
grep -q "already holds a search" "$work/d.err"
echo ok
