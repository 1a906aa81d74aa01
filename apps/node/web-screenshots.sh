#!/usr/bin/env bash
# Screenshots of the web interface's pages at 1280x800, for a person to look at: runs the
# browser test (tests/apps/webui_test.py: three nodes on loopback, a search, a fetch, a
# cancelled download, peers, status) and saves one PNG per page in OUT (default ./web-screenshots).
# Needs chromium, chromium-driver and python3-selenium (bash .ci/setup installs them).
#   bash apps/node/web-screenshots.sh [OUT]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(realpath -m "${1:-web-screenshots}")
HEARSAY_BIN=${HEARSAY_BIN:-$top/build/bin} SCREENSHOTS=$out BASE_PORT=${BASE_PORT:-17950} \
  /usr/bin/python3 "$top/tests/apps/webui_test.py"
ls "$out"/*.png
