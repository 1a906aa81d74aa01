#!/usr/bin/env bash
# Runs the whole benchmark suite and writes its results to bench/results-<date>.txt (and the
# same figures as JSON). Not part of the test run: it takes a few minutes and measures.
#   bash bench/run.sh                 # everything
#   bash bench/run.sh bm_codec        # only benchmarks matching a regular expression
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
echo "results: $out.txt and $out.json"
