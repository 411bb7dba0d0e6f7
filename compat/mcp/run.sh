#!/usr/bin/env bash
# Compatibility suite: the official MCP Python SDK (mcp 2.x) against `oneclaw mcp` (stdio) and
# the hosted `/mcp` endpoint of `oneclaw serve`, each in the current (2026-07-28) and the legacy
# (session-based) protocol mode.
# Usage: compat/mcp/run.sh [path/to/oneclaw]   (default: target/debug/oneclaw)
# Creates its own venv under target/, starts the server on a free port with a temp data dir,
# runs test_mcp.py (which prints 'N passed, N failed'), and stops the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/oneclaw}
venv=$root/target/compat-venv-mcp

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

data=$(mktemp -d)
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u ONECLAW_DATABASE_URL -u ONECLAW_KEY_PROVIDER "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT

healthy=no
for _ in $(seq 1 300); do
  if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$port/v1/health" 2>/dev/null; then healthy=yes; break; fi
  sleep 0.1
done
[ "$healthy" = yes ] || { echo "the server did not become healthy within 30 s:"; cat "$data/server.log"; exit 1; }

ONECLAW_COMPAT_BASE_URL="http://127.0.0.1:$port" ONECLAW_COMPAT_BIN="$bin" "$venv/bin/python" "$here/test_mcp.py"
