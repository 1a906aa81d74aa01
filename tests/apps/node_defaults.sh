#!/usr/bin/env bash
# hearsay-node with no folders given: its state, shared and download folders go under the
# user's home ($XDG_STATE_HOME and $XDG_DATA_HOME when set), made on first start, and the
# hearsay CLI finds the node's control socket there. A folder it cannot use stops it with the
# folder's path; --check and bad flags exit 1 and 2, --help 0.
#   HEARSAY_BIN=build/bin WORK=/tmp/x bash tests/apps/node_defaults.sh
set -euo pipefail
bin=${HEARSAY_BIN:?set HEARSAY_BIN to the folder of the binaries}
work=${WORK:?set WORK to a scratch folder}
rm -rf "$work"
mkdir -p "$work/home"
export HOME=$work/home
unset XDG_STATE_HOME XDG_DATA_HOME HEARSAY_CONTROL
pid=
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; true' EXIT
fail() { echo "node_defaults: $*" >&2; [ -f "$work/log" ] && cat "$work/log" >&2; exit 1; }

# Starts a node with the given flags (ports chosen by the OS, no metrics), waits for its
# control socket, asks the CLI for its status through the default endpoint, and stops it.
run_node() {  # state folder expected, flags...
  local state=$1
  shift
  "$bin/hearsay-node" --listen 127.0.0.1:0 --metrics "" --set web.listen=127.0.0.1:0 "$@" 2> "$work/log" &
  pid=$!
  for _ in $(seq 100); do [ -S "$state/control.sock" ] && break; sleep 0.1; done
  [ -S "$state/control.sock" ] || fail "no control socket in $state"
  "$bin/hearsay" status > "$work/status" || fail "the CLI did not find the node through $state/control.sock"
  kill -TERM "$pid"
  wait "$pid" || fail "the node did not stop cleanly"
  pid=
}

run_node "$HOME/.local/state/hearsay"
for d in "$HOME/.local/share/hearsay/shared" "$HOME/.local/share/hearsay/downloads"; do
  [ -d "$d" ] || fail "$d was not made"
done
[ "$(stat -c %a "$HOME/.local/state/hearsay")" = 700 ] || fail "the state folder is not owner-only"
[ -f "$HOME/.local/state/hearsay/node.key" ] || fail "no node key in the state folder"

export XDG_STATE_HOME=$work/xdg-state XDG_DATA_HOME=$work/xdg-data
run_node "$XDG_STATE_HOME/hearsay"
[ -d "$XDG_DATA_HOME/hearsay/shared" ] && [ -d "$XDG_DATA_HOME/hearsay/downloads" ] ||
  fail "the shared and download folders are not in \$XDG_DATA_HOME/hearsay"

# A shared folder that was named must exist; a download folder that is a file stops the node.
# Both are named.
expect_exit() {  # status, text the log must hold, flags...
  local want=$1 text=$2 got=0
  shift 2
  timeout 20 "$bin/hearsay-node" --listen 127.0.0.1:0 --metrics "" --set web.listen=127.0.0.1:0 "$@" > "$work/out" \
    2> "$work/log" || got=$?
  [ "$got" = "$want" ] || fail "hearsay-node $*: exit status $got, expected $want"
  grep -qF -- "$text" "$work/log" "$work/out" || fail "hearsay-node $*: no '$text' in its output"
}
touch "$work/a-file"
expect_exit 1 "$work/sahred" --shared "$work/sahred"
expect_exit 1 "$work/a-file" --downloads "$work/a-file"
expect_exit 1 "$work/a-file" --downloads "$work/a-file" --check
expect_exit 0 "can start" --check
expect_exit 2 "unknown option '--nope'" --nope
expect_exit 2 "--listen needs a value" --listen
expect_exit 0 "--check" --help
echo "node_defaults: default folders made, the CLI found the node, bad folders named"
