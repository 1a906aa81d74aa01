#!/usr/bin/env bash
# The training runs of the profile-guided build (.ci/setup): a mix of workload shapes, so
# that the profiles favour no single one — HyParView and fixed graphs (random, regular,
# preferential attachment), every search strategy, fan-out below and above the degree,
# churn, downloads, one run on two threads. Each run is small; together they take about a
# minute in the instrumented build on two processors.
#   bench/pgo-train.sh path/to/hearsay-sim
set -euo pipefail
sim=${1:?usage: pgo-train.sh path/to/hearsay-sim}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run() { echo "== hearsay-sim $*"; "$sim" "$@"; }
# HEARSAY_PGO_QUICK=1 (what CI sets): the same mix with a tenth of the peers and searches, so the
# same code runs in a fraction of the time; the profiles then count less, and CI measures no speed.
quick=${HEARSAY_PGO_QUICK:-0}
n() { if [ "$quick" = 1 ]; then echo $(($1 / 10)); else echo "$1"; fi; }
if [ "$quick" = 1 ]; then run --peers 1000; else run; fi                # the default run
run --scenario "$top/sim/scenarios/scale.toml" --peers "$(n 30000)" --queries "$(n 300)"
run --topology er:8 --fanout 16 --ttl 5 --peers "$(n 40000)" --queries "$(n 200)" --latency uniform:10:100
run --topology regular:6 --set overlay.strategy=gossip --peers "$(n 20000)" --queries "$(n 2000)"
run --topology ba:3 --set overlay.strategy=random_walk --peers "$(n 20000)" --queries "$(n 1000)"
run --set overlay.strategy=expanding_ring --peers "$(n 10000)" --queries "$(n 200)"
run --topology er:8 --fanout 2 --ttl 7 --peers "$(n 20000)" --queries "$(n 3000)" --latency lognormal:30:0.5
run --peers "$(n 10000)" --set churn.sessions=exp:60 --set churn.downtime=exp:30
run --peers "$(n 5000)" --set download.enabled=true
run --peers "$(n 20000)" --set threads=2 --queries "$(n 200)"
