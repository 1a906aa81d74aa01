#!/usr/bin/env bash
# The README's examples of hearsay-sim, hearsay-node and the hearsay CLI (README.md's, and
# apps/cli/README-cli.md's), run as written, so that they cannot drift from the programs: every line of a fenced code block that starts with
# ./build/bin/hearsay-sim or ./build/bin/hearsay-node (continuation lines joined), and the
# `parallel < FILE && ...` line of the sweep example (its points run one after the other).
# Sizes are scaled down: a run's or sweep's peers to at most README_PEERS_MAX (300), a run
# that names none gets that many, and a sweep runs one seed per point. A hearsay-node example
# runs under a home of its own, on free loopback ports (its web interface too) without
# metrics, until it has started; then it is stopped, and must exit 0. Fails on the first
# example that exits otherwise, and when fewer examples than expected are found.
#   HEARSAY_BIN=build/bin WORK=/tmp/x bash tests/apps/readme_examples.sh
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${HEARSAY_BIN:?set HEARSAY_BIN to the folder of the binaries}
work=${WORK:?set WORK to a scratch folder}
peers_max=${README_PEERS_MAX:-300}
rm -rf "$work"
mkdir -p "$work/home"
# The examples name files of the source tree (scenarios, the example settings) by relative path.
ln -s "$top/sim" "$work/sim"
ln -s "$top/apps" "$work/apps"
cd "$work"

# The examples, one per line, continuation lines joined and trailing comments dropped.
awk '
  /^```/ { in_block = !in_block; next }
  !in_block { next }
  {
    line = (pending == "" ? $0 : pending " " $0)
    if (line ~ /\\$/) { sub(/\\$/, "", line); pending = line; next }
    pending = ""
    sub(/[ \t]+#.*$/, "", line)
    if (line ~ /^\.\/build\/bin\/hearsay-(sim|node)( |$)/ || line ~ /^parallel < /) print line
  }' "$top/README.md" > examples.txt
count=$(wc -l < examples.txt)
[ "$count" -ge 10 ] || { echo "readme_examples: only $count examples found in README.md" >&2; exit 1; }

# An example as it will run: the binaries of this build, fewer peers.
scaled() {
  local line=$1
  line=${line//.\/build\/bin\//$bin/}
  if [[ $line =~ --peers\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt "$peers_max" ]; then
    line=${line/--peers ${BASH_REMATCH[1]}/--peers $peers_max}
  elif [[ $line == "$bin/hearsay-sim"* && $line != *--peers* && $line != *--help* && $line != *--list-keys* &&
          $line != *" merge "* ]]; then
    # Before any redirection: a flag after the scenario's, which it overrides.
    line="${line%% >*} --peers $peers_max${line#"${line%% >*}"}"
  fi
  [[ $line =~ --seeds\ ([0-9]+) ]] && line=${line/--seeds ${BASH_REMATCH[1]}/--seeds 1}
  # GNU parallel need not be installed: the points one after the other.
  line=${line/parallel < /bash }
  echo "$line"
}

run_node() {  # the example, scaled
  local state="$work/home/.local/state/hearsay" pid status=0
  rm -rf "$work/home/.local"
  mkdir -p "$work/home/shared" "$work/home/downloads"  # the folders the examples name
  HOME="$work/home" bash -c "exec $1 --listen 127.0.0.1:0 --metrics '' --set web.listen=127.0.0.1:0" 2> node.log &
  pid=$!
  for _ in $(seq 100); do [ -S "$state/control.sock" ] && break; sleep 0.1; done
  if [ ! -S "$state/control.sock" ]; then
    kill "$pid" 2> /dev/null || true
    echo "readme_examples: this example did not start: $1" >&2
    cat node.log >&2
    return 1
  fi
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { echo "readme_examples: exit status $status: $1" >&2; cat node.log >&2; return 1; }
}

n=0
while IFS= read -r example; do
  n=$((n + 1))
  command=$(scaled "$example")
  echo "== $command"
  if [[ $command == "$bin/hearsay-node"* ]]; then
    run_node "$command"
  elif ! (HOME="$work/home" bash -c "$command" > out.txt 2> err.txt); then
    echo "readme_examples: example $n failed: $example" >&2
    tail -20 err.txt >&2
    exit 1
  fi
done < examples.txt
echo "readme_examples: $n examples of README.md ran"

# The CLI's examples: README.md's ./build/bin/hearsay lines and apps/cli/README-cli.md's hearsay
# lines, against a node started with every default under the scratch home (the CLI finds it
# there, as the examples expect). Each must be a command line the CLI takes and the node
# answers: exit 0, or 1 where the node refuses what this lone node cannot do (fetch a result
# it has none of, cancel a download it never ran); 2 (a command line the CLI refuses) or 3 (no
# node) fail, and so does anything else.
awk '
  /^```/ { in_block = !in_block; next }
  !in_block { next }
  {
    line = $0
    sub(/[ \t]+#.*$/, "", line)
    if (line ~ /^(\.\/build\/bin\/)?hearsay( |;|$)/) print line
  }' "$top/README.md" "$top/apps/cli/README-cli.md" > cli-examples.txt
count=$(wc -l < cli-examples.txt)
[ "$count" -ge 20 ] || { echo "readme_examples: only $count CLI examples found" >&2; exit 1; }
rm -rf "$work/home/.local"
HOME="$work/home" "$bin/hearsay-node" --listen 127.0.0.1:0 --metrics '' --set web.listen=127.0.0.1:0 2> node.log &
node_pid=$!
trap 'kill -TERM "$node_pid" 2> /dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$work/home/.local/state/hearsay/control.sock" ] && break; sleep 0.1; done
echo "a report" > report.pdf
m=0
while IFS= read -r example; do
  m=$((m + 1))
  command=${example//.\/build\/bin\//$bin/}
  echo "== $command"
  status=0
  HOME="$work/home" PATH="$bin:$PATH" bash -c "$command" < /dev/null > out.txt 2> err.txt || status=$?
  if [ "$status" != 0 ] && [ "$status" != 1 ]; then
    echo "readme_examples: CLI example $m exited $status: $example" >&2
    cat err.txt >&2
    exit 1
  fi
done < cli-examples.txt
kill -TERM "$node_pid"
wait "$node_pid"
trap - EXIT
echo "readme_examples: $m examples of the CLI ran"
