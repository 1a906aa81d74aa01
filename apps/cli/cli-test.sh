#!/usr/bin/env bash
# The hearsay CLI against real nodes: three hearsay-node processes on 127.0.0.1 and the
# hearsay binary, one part of the CLI at a time (each part starts its own small network):
#
#   bash apps/cli/cli-test.sh PART     # PART: help, search, fetch, shared, paths, shell, json, or all
#
#   help    generated --help of every command, usage errors (exit 2), the old forms still work
#   search  parts and starts of words in any case; early ends (--first, the node closing the
#           query) with --wait as the most; hits printed as they arrive, through a pipe
#   fetch   a hash prefix of 8+ hex digits; "1.5", "1abc" and the like refused
#   shared  hearsay shared; the same file shared again: not copied, the name kept; unshare;
#           webui-url
#   paths   saved paths absolute when the node's folders are relative and the CLI runs elsewhere
#   shell   the menu covers every command; a plain prompt from a pipe; on a terminal (script(1)),
#           history (up arrow, kept in a file), line editing and Ctrl-C stopping a command
#   json    --json on every command, the fields of README-cli.md; exit statuses 0, 1, 2, 3, 130
#
# Binaries from ./build/bin or $HEARSAY_BIN; WORK (a fresh temporary folder) and BASE_PORT
# (17800) as in apps/node/local-net.sh.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${HEARSAY_BIN:-$top/build/bin}
part=${1:-all}
work=${WORK:-$(mktemp -d /tmp/hearsay-cli-XXXXXX)}
if [ -f "$work/.hearsay-cli-test" ]; then rm -rf "$work"; fi
mkdir -p "$work" && touch "$work/.hearsay-cli-test"
base_port=${BASE_PORT:-17800}
pids=()

fail() { echo "cli-test ($part): FAILED: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  pids=()
}
trap stop_all EXIT

# hs ARGS: the CLI against node 0, from the root folder (never the node's working directory).
hs() { (cd / && exec "$bin/hearsay" --control "$work/node0/control.sock" "$@"); }
# status_of CMD...: the exit status of a command, whatever it is.
status_of() {
  local rc=0
  "$@" > "$work/last.out" 2> "$work/last.err" || rc=$?
  echo "$rc"
}
expect_status() {  # expected, command...
  local want=$1 got
  shift
  got=$(status_of "$@")
  [ "$got" = "$want" ] || fail "exit status $got, not $want, for: $* ($(cat "$work/last.err"))"
}
contains() { grep -qF -- "$2" <<< "$1" || fail "expected '$2' in: $1"; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# Three nodes: node 0 (folders relative to its working directory, searches close after 4 s),
# node 1 (a slow holder: 300 kB/s of uploads) and node 2.
start_network() {
  for i in 0 1 2; do
    local dir=$work/node$i port=$((base_port + 2 * i))
    mkdir -p "$dir/shared" "$dir/dl"
    cat > "$dir/hearsay.toml" <<TOML
network = "cli-test"
listen = "127.0.0.1:$port"
control = "$dir/control.sock"
state_dir = "$dir/state"
metrics = ""
shared_dir = "shared"
download_dir = "dl"
peers_file = ""
seeds = ["127.0.0.1:$base_port"]
log_level = "warn"

[overlay]
query_timeout_ms = 4000

[limits]
upload_bytes_per_s = $([ "$i" = 1 ] && echo 300000 || echo 0)

[web]
listen = "127.0.0.1:0"
TOML
  done
  echo "beach, sun and more beach" > "$work/node2/shared/holiday photos.txt"
  head -c 100000 /dev/urandom > "$work/node2/shared/medium10mb.bin"
  head -c 3000000 /dev/urandom > "$work/node1/shared/slow movie.mkv"
  for i in 0 1 2; do
    (cd "$work/node$i" && exec "$bin/hearsay-node" --config hearsay.toml 2> log) &
    pids+=($!)
    local tries=100
    until "$bin/hearsay" --control "$work/node$i/control.sock" status > /dev/null 2>&1; do
      tries=$((tries - 1))
      [ $tries -gt 0 ] || fail "node $i did not start: $(cat "$work/node$i/log")"
      sleep 0.1
    done
  done
  local tries=150
  until [ "$(hs --json status | grep -o '"active":[0-9]*' | cut -d: -f2)" = 2 ]; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "node 0 has not both others as neighbours"
    sleep 0.1
  done
}

part_help() {
  local out
  out=$("$bin/hearsay" --help)
  for c in search results fetch downloads cancel share shared unshare rescan peers status webui-url shell; do
    contains "$out" "  $c "
  done
  for o in --control --token-file --json --wait "Exit status"; do contains "$out" "$o"; done
  out=$("$bin/hearsay" search --help)
  contains "$out" "--first N"
  contains "$out" "--wait SECONDS"
  out=$("$bin/hearsay" fetch --help)
  contains "$out" "--again"
  contains "$out" "--detach"
  contains "$("$bin/hearsay" --help-all)" "--first N"
  expect_status 2 "$bin/hearsay" dance
  contains "$(cat "$work/last.err")" "unknown command 'dance'"
  expect_status 2 "$bin/hearsay" fetch
  expect_status 2 "$bin/hearsay" search
  expect_status 2 "$bin/hearsay" --wait 0 search x
  expect_status 2 "$bin/hearsay" --wait 1.2345 search x
  expect_status 2 "$bin/hearsay" search --first 0 x
  expect_status 2 "$bin/hearsay" cancel x
  expect_status 2 "$bin/hearsay" --bogus status
  ok "help: every command and option in the generated help; bad command lines exit 2"
  start_network
  # The forms scripts use: options before the command, after it, or both.
  contains "$(hs --json --wait 2 search holiday)" '"name":"holiday photos.txt"'
  contains "$(hs search holiday --wait 2 --json)" '"name":"holiday photos.txt"'
  contains "$(hs --wait 0.5 results)" "holiday photos.txt"
  contains "$(hs fetch 1 --again)" "saved "
  contains "$(hs fetch --detach --again 1)" "runs on in the node"
  contains "$(HEARSAY_CONTROL=$work/node0/control.sock "$bin/hearsay" status)" "address"
  ok "help: the options before and after the command, and \$HEARSAY_CONTROL, work as before"
}

part_search() {
  start_network
  local out
  out=$(hs --wait 3 --first 1 search photo)
  contains "$out" "holiday photos.txt"
  out=$(hs --wait 3 --first 1 search MEDIUM)
  contains "$out" "medium10mb.bin"
  contains "$(hs --wait 3 --first 1 search Holi PHOT)" "holiday photos.txt"
  contains "$(hs --wait 3 --first 1 search 10mb)" "medium10mb.bin"
  contains "$(hs --wait 1 search dayphot)" "0 results"
  ok "search: parts and starts of words, in any case"

  local t0 t1
  t0=$(now_ms)
  out=$(hs --wait 30 --first 1 search photo)
  t1=$(now_ms)
  contains "$out" "1 result"
  [ $((t1 - t0)) -lt 3000 ] || fail "--first 1 took $((t1 - t0)) ms"
  t0=$(now_ms)
  out=$(hs --json --wait 30 search zebra)
  t1=$(now_ms)
  contains "$out" '"reason":"closed"'
  [ $((t1 - t0)) -ge 3500 ] && [ $((t1 - t0)) -lt 9000 ] || fail "a search closed after 4 s took $((t1 - t0)) ms"
  t0=$(now_ms)
  contains "$(hs --json --wait 0.5 search zebra)" '"reason":"wait"'
  t1=$(now_ms)
  [ $((t1 - t0)) -lt 3000 ] || fail "--wait 0.5 took $((t1 - t0)) ms"
  ok "search: ends at --first results or when the node closes the query; --wait is the most"

  # Through a pipe, each hit comes out when it arrives: the first line is read long before
  # the command ends.
  t0=$(now_ms)
  hs --wait 3 search photo | while IFS= read -r line; do echo "$(($(now_ms) - t0)) $line"; done > "$work/stream.txt"
  t1=$(now_ms)
  local first_at
  first_at=$(grep -m1 'holiday photos.txt' "$work/stream.txt" | cut -d' ' -f1)
  [ -n "$first_at" ] || fail "no hit in $(cat "$work/stream.txt")"
  [ "$first_at" -lt $((t1 - t0 - 1500)) ] || fail "the hit came out at $first_at ms, the command ended at $((t1 - t0)) ms"
  ok "search: hits are printed as they arrive ($first_at ms, the end at $((t1 - t0)) ms)"
}

part_fetch() {
  start_network
  expect_status 2 hs fetch 1.5
  contains "$(cat "$work/last.err")" "neither a result number nor a sha256"
  expect_status 2 hs fetch 1abc
  expect_status 2 hs fetch 1234567
  expect_status 2 hs fetch 0x123456789
  local out digest prefix
  out=$(hs --wait 3 --first 1 search holiday photos)
  prefix=$(grep -o 'sha256 [0-9a-f]*' <<< "$out" | head -1 | cut -d' ' -f2)
  [ ${#prefix} = 12 ] || fail "no 12-digit prefix in: $out"
  out=$(hs fetch "$prefix")
  contains "$out" "saved $work/node0/dl/holiday photos.txt"
  cmp "$work/node0/dl/holiday photos.txt" "$work/node2/shared/holiday photos.txt"
  contains "$(hs fetch "${prefix:0:8}")" "already here: $work/node0/dl/holiday photos.txt"
  contains "$(hs fetch "$(tr a-f A-F <<< "${prefix:0:10}")")" "already here"
  digest=$(hs --json results | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
  contains "$(hs fetch "$digest")" "already here"
  expect_status 1 hs fetch 00000000
  contains "$(cat "$work/last.err")" "no holder known"
  expect_status 1 hs fetch 7
  contains "$(cat "$work/last.err")" "no result number 7"
  ok "fetch: the 12 digits a search shows, 8 of them, any case, the whole digest; 1.5, 1abc refused (exit 2)"
}

part_shared() {
  start_network
  local out
  out=$("$bin/hearsay" --control "$work/node2/control.sock" shared)
  contains "$out" "holiday photos.txt"
  contains "$out" "$work/node2/shared/medium10mb.bin"
  contains "$out" "sharing 2 files"
  echo "the minutes of the meeting" > "$work/minutes.txt"
  cp "$work/minutes.txt" "$work/minutes copy.txt"
  out=$(hs share "$work/minutes.txt")
  contains "$out" "shared minutes.txt as $work/node0/shared/minutes.txt; sharing 1 file"
  out=$(hs share "$work/minutes.txt")
  contains "$out" "already shared as minutes.txt ($work/node0/shared/minutes.txt)"
  out=$(hs share "$work/minutes copy.txt")
  contains "$out" "already shared as minutes.txt"
  [ "$(find "$work/node0/shared" -type f | wc -l)" = 1 ] || fail "copies in $(ls "$work/node0/shared")"
  out=$(hs shared)
  contains "$out" "minutes.txt"
  contains "$out" "sharing 1 file"
  expect_status 1 hs share "$work/no such file.txt"
  contains "$(cat "$work/last.err")" "cannot open $work/no such file.txt: No such file or directory"
  ok "shared: the node's files with their paths; the same content shared three times is one file, its name kept"

  # unshare: by a hash prefix, the file leaves the folder and the index; bad targets refused.
  local sha
  sha=$(hs --json shared | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
  [ ${#sha} = 64 ] || fail "no sha256 in hearsay --json shared"
  expect_status 2 hs unshare minutes
  expect_status 2 hs unshare "${sha:0:7}"
  expect_status 1 hs unshare 00000000
  contains "$(cat "$work/last.err")" "no shared file has a sha256 starting with 00000000"
  out=$(hs unshare "${sha:0:10}")
  contains "$out" "removed minutes.txt ($work/node0/shared/minutes.txt); sharing 0 files"
  [ ! -e "$work/node0/shared/minutes.txt" ] || fail "minutes.txt is still in the shared folder"
  contains "$(hs shared)" "sharing 0 files"
  [ -f "$work/minutes.txt" ] || fail "the original file was touched"
  ok "unshare: a hash prefix removes the node's copy and re-indexes; a name, 7 digits or an unknown hash refused"

  # webui-url: the login link, from the node, with a token of 64 hex digits.
  out=$(hs webui-url)
  grep -qE '^http://127\.0\.0\.1:[0-9]+/login\?token=[0-9a-f]{64}$' <<< "$out" || fail "webui-url printed: $out"
  contains "$out" "$(cat "$work/node0/state/web.url")login?token=$(cat "$work/node0/state/web.token")"
  check_json "$(hs --json webui-url)" url
  ok "webui-url: the login link of the node's web interface"
}

part_paths() {
  start_network
  local out path
  hs --wait 3 --first 1 search medium > /dev/null
  out=$(hs fetch 1)
  contains "$out" "saved $work/node0/dl/medium10mb.bin"
  path=$(hs --json downloads | grep -o '"path":"[^"]*"' | head -1 | cut -d'"' -f4)
  [ "$path" = "$work/node0/dl/medium10mb.bin" ] || fail "downloads says '$path'"
  [ -f "$path" ] || fail "$path does not exist"
  path=$(hs --json fetch 1 | grep -o '"path":"[^"]*"' | cut -d'"' -f4)
  [ "${path:0:1}" = / ] && [ -f "$path" ] || fail "fetch says '$path'"
  contains "$(hs shared)" "sharing 0 files"
  echo "notes" > "$work/node0/shared/notes.txt"
  hs rescan > /dev/null
  contains "$(hs shared)" "$work/node0/shared/notes.txt"
  ok "paths: saved, downloaded and shared paths are absolute (the node's folders relative, the CLI in /)"
}

part_shell() {
  start_network
  local out
  # Not a terminal: a plain prompt, lines read as they come; numbers ask for what they need.
  out=$(printf '1\nphoto\n2\n3\n1\nshared\nsearch "medium10mb" --first 1\nhelp share\nnonsense\n99\nq\n' |
        (cd / && "$bin/hearsay" --control "$work/node0/control.sock") 2>&1)
  for c in search results fetch downloads cancel share shared unshare rescan peers status webui-url; do
    grep -qE "^ +[0-9]+  $c " <<< "$out" || fail "the menu has no $c: $out"
  done
  contains "$out" "hearsay> words: "
  contains "$out" "result number or sha256 prefix: "
  contains "$out" "saved $work/node0/dl/holiday photos.txt"
  contains "$out" "sharing 0 files"
  contains "$out" "medium10mb.bin"
  contains "$out" "Usage: hearsay share [OPTIONS] file"
  contains "$out" "unknown command 'nonsense'"
  contains "$out" "choose 1 to 12"
  ok "shell: every command in the menu, by number or typed, with a plain prompt from a pipe"

  if ! command -v script > /dev/null; then
    ok "shell: # SKIP no script(1) for a terminal"
    return
  fi
  # A terminal: libedit's line editing and history. "peers", then the up arrow and Enter run
  # it again; "tatus", Ctrl-A (start of line) and "s" make "status"; then a slow download in
  # the foreground, stopped by Ctrl-C, and the shell goes on; Ctrl-C at the prompt drops the
  # line being typed and leaves the shell running. Each key waits for what the terminal shows
  # (script -f writes it as it comes), so a busy machine only makes the test slower.
  hs --wait 3 --first 1 search slow movie > /dev/null
  rm -f "$work/history"
  # on_tty FILE SCRIPT: runs the shell on a terminal whose screen goes to FILE, typing what
  # SCRIPT (a function reading the screen) types; fails with the screen if the shell fails.
  # script(1) runs its command through $SHELL -c; "exec" makes the shell become hearsay, for
  # a shell left waiting (dash, /bin/sh when SHELL is unset) would take the Ctrl-C meant for
  # hearsay and end the session with status 130.
  on_tty() {
    local screen=$1 keys=$2 rc=0
    : > "$screen"
    "$keys" "$screen" | (cd / && TERM=dumb HEARSAY_HISTORY=$work/history HEARSAY_CONTROL=$work/node0/control.sock \
        script -qfec "exec $(printf %q "$bin/hearsay")" "$screen" > /dev/null) || rc=$?
    [ "$rc" = 0 ] || fail "the shell on a terminal ended with status $rc: $(tr -d '\r' < "$screen")"
  }
  # seen FILE N TEXT: waits (20 s at most) until TEXT shows at least N times on the screen;
  # prompts FILE N: until N lines start with the prompt (libedit's redraws of a line, after
  # the up arrow or Ctrl-A, come after a carriage return on the same line and do not count).
  seen() {
    local tries=200
    until [ "$(grep -aoF -- "$3" "$1" | wc -l)" -ge "$2" ]; do
      tries=$((tries - 1))
      [ $tries -gt 0 ] || { echo "cli-test: '$3' did not show $2 times" >&2; return 1; }
      sleep 0.1
    done
  }
  prompts() {
    local tries=200
    until [ "$(grep -ac '^hearsay> ' "$1")" -ge "$2" ]; do
      tries=$((tries - 1))
      [ $tries -gt 0 ] || { echo "cli-test: no prompt number $2" >&2; return 1; }
      sleep 0.1
    done
  }
  keys1() {
    prompts "$1" 1 && printf 'peers\r'
    prompts "$1" 2 && printf '\033[A\r'
    prompts "$1" 3 && printf 'tatus\001s\r'
    prompts "$1" 4 && printf 'fetch 1\r'
    seen "$1" 1 ' KB of 3.0 MB' && printf '\003'
    prompts "$1" 5 && printf 'stays\003'
    prompts "$1" 6 && printf 'downloads\r'
    prompts "$1" 7 && printf 'q\r'
  }
  on_tty "$work/tty.raw" keys1
  tr -d '\r' < "$work/tty.raw" > "$work/tty.txt"
  [ "$(grep -c '^active ' "$work/tty.txt")" -ge 4 ] || fail "peers did not run twice: $(cat "$work/tty.txt")"
  grep -q '^uptime_s ' "$work/tty.txt" || fail "no status after the edit: $(cat "$work/tty.txt")"
  contains "$(cat "$work/tty.txt")" "interrupted; the download is cancelled"
  grep -q 'cancelled *slow movie.mkv' "$work/tty.txt" || fail "no cancelled download: $(cat "$work/tty.txt")"
  # (libedit's file writes a space as \040; the line dropped by Ctrl-C is not kept)
  [ "$(grep -vc _HiStOrY_ "$work/history")" = 4 ] || fail "history: $(cat "$work/history")"
  contains "$(cat "$work/history")" "status"
  contains "$(cat "$work/history")" 'fetch\0401'
  # A new session starts with the history of the last: the up arrow brings back "downloads".
  keys2() {
    prompts "$1" 1 && printf '\033[A\r'
    prompts "$1" 2 && printf 'q\r'
  }
  on_tty "$work/tty2.raw" keys2
  tr -d '\r' < "$work/tty2.raw" > "$work/tty2.txt"
  grep -q 'cancelled *slow movie.mkv' "$work/tty2.txt" || fail "the history was not read back: $(cat "$work/tty2.txt")"
  ok "shell: on a terminal, history (up arrow, kept in \$HEARSAY_HISTORY for the next session), line editing, Ctrl-C stops a command and clears a line"
}

# has_keys LINE KEY...: the line is one object of the given event with these fields.
has_keys() {
  local line=$1
  shift
  [[ $line =~ ^\{\"event\":\"[a-z-]+\".*\}$ ]] || fail "not an event line: $line"
  for k in "$@"; do grep -qF "\"$k\":" <<< "$line" || fail "no $k in: $line"; done
}
# Each line of a --json answer: an event line; the last, the end event.
check_json() {  # output, end keys...
  local out=$1 last
  shift
  while IFS= read -r line; do has_keys "$line"; done <<< "$out"
  last=$(tail -1 <<< "$out")
  has_keys "$last" ok "$@"
  contains "$last" '{"event":"end"'
}

part_json() {
  start_network
  local out
  out=$(hs --json --wait 3 --first 1 search holiday)
  check_json "$out" results reason
  has_keys "$(head -1 <<< "$out")" n name size sha256 holders holder hops latency_ms
  out=$(hs --json results)
  check_json "$out"
  has_keys "$(head -1 <<< "$out")" n name size sha256 holders
  out=$(hs --json fetch 1)
  check_json "$out" id path size sha256 verified existing elapsed_ms
  out=$(hs --json downloads)
  check_json "$out"
  has_keys "$(head -1 <<< "$out")" id state name sha256 bytes size rate eta_s holders holders_known failovers path
  check_json "$(hs --json cancel all)" cancelled
  echo "json notes" > "$work/json.txt"
  check_json "$(hs --json share "$work/json.txt")" files name path sha256
  check_json "$(hs --json share "$work/json.txt")" files name path sha256 already
  out=$(hs --json shared)
  check_json "$out" files bytes
  has_keys "$(head -1 <<< "$out")" name size sha256 path
  check_json "$(hs --json rescan)" files
  out=$(hs --json peers)
  check_json "$out"
  has_keys "$(head -1 <<< "$out")" view addr id age_s bytes_in bytes_out
  out=$(hs --json status)
  check_json "$out"
  has_keys "$(head -1 <<< "$out")" id address network uptime_s active passive shared_files
  ok "json: every command's lines carry the fields of README-cli.md, the end event last"

  # Exit statuses: 0 done, 1 refused by the node (or a file that cannot be read), 2 a bad
  # command line, 3 no node, 130 interrupted. Under --json a failure is an end event too.
  expect_status 0 hs status
  expect_status 1 hs --json fetch 99
  has_keys "$(tail -1 "$work/last.out")" ok error
  contains "$(cat "$work/last.out")" '"ok":false'
  expect_status 1 hs --json share "$work/missing.txt"
  has_keys "$(cat "$work/last.out")" ok error
  expect_status 2 hs fetch 1.5
  expect_status 2 hs --json fetch 1.5
  has_keys "$(cat "$work/last.out")" ok error
  contains "$(cat "$work/last.err")" "1.5"
  expect_status 3 "$bin/hearsay" --json --control "$work/nobody.sock" status
  has_keys "$(cat "$work/last.out")" ok error
  contains "$(cat "$work/last.err")" "is hearsay-node running?"
  expect_status 3 "$bin/hearsay" --control 127.0.0.1:1 --token-file "$work/no-token" status
  # A slow download in the foreground, interrupted: 130, and the node cancels it.
  hs --wait 3 --first 1 search slow movie > /dev/null
  (cd / && exec "$bin/hearsay" --control "$work/node0/control.sock" fetch 1) > "$work/slow.out" 2> "$work/slow.err" &
  local fetcher=$! tries=100
  until grep -q 'running' <(hs downloads); do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "the slow download did not start"
    sleep 0.1
  done
  kill -INT "$fetcher"
  local rc=0
  wait "$fetcher" || rc=$?
  [ "$rc" = 130 ] || fail "an interrupted fetch exited $rc"
  contains "$(cat "$work/slow.err")" "interrupted; the download is cancelled"
  tries=50
  until grep -q 'cancelled *slow movie.mkv' <(hs downloads); do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "the interrupted download was not cancelled: $(hs downloads)"
    sleep 0.1
  done
  ok "json: exit statuses 0, 1, 2, 3 and 130 (a foreground download cancelled)"
}

case $part in
  help | search | fetch | shared | paths | shell | json) "part_$part" ;;
  all)
    for p in help search fetch shared paths shell json; do
      stop_all
      rm -rf "${work:?}"/node*
      "part_$p"
    done
    ;;
  *) echo "usage: bash apps/cli/cli-test.sh help|search|fetch|shared|paths|shell|json|all" >&2; exit 2 ;;
esac
