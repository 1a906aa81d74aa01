#!/usr/bin/env bash
# Runs the whole benchmark suite and writes its results to bench/results-<date>.txt (and the
# same figures as JSON). Not part of the test run: it takes a few minutes and measures.
#   bash bench/run.sh                 # everything: the Google benchmarks, then bench/scale.sh
#   bash bench/run.sh bm_codec        # only benchmarks matching a regular expression (no scale runs)
#   SIZES="10000 100000" bash bench/run.sh   # the scale runs at other sizes (default 10^4 .. 10^6)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$top/.ci/setup" > /dev/null
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$top/bench/results-$stamp
filter=${1:-.}
{
  echo "hearsay benchmark suite, $stamp"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(lscpu | sed -n 's/^Model name: *//p')"
  echo "commit: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} > "$out.txt"
"$top/build/bin/hearsay_bench" --benchmark_filter="$filter" --benchmark_out="$out.json" \
  --benchmark_out_format=json | tee -a "$out.txt"
if [ "$filter" = . ]; then
  # How time and memory grow with the number of peers (tables and plots of its own).
  echo >> "$out.txt"
  echo "scale scenario (bench/scale.sh, sizes: ${SIZES:-10000 30000 100000 300000 1000000})" >> "$out.txt"
  bash "$top/bench/scale.sh" 2>&1 | tee -a "$out.txt"
fi
echo "results: $out.txt and $out.json"
