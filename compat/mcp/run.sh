#!/usr/bin/env bash
# Compatibility suite: the official MCP Python SDK (mcp 2.x) against `oneclaw mcp` (stdio) and
# the hosted `/mcp` endpoint of `oneclaw serve`, each in the current (2026-07-28) and the legacy
# (session-based) protocol mode.
# Usage: compat/mcp/run.sh [path/to/oneclaw]   (default: target/debug/oneclaw)
# Creates its own venv under target/, starts the server on a free port with a temp data dir,
# runs test_mcp.py (which prints 'N passed, N failed'), and stops the server.
# MCP_COMPAT_LATENCY=N also times N get_secret round trips per transport against REST.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/oneclaw}
venv=$root/target/compat-venv-mcp
requirements=$here/requirements.txt
# The execution-intent checks call a receiver on 127.0.0.1.
compat_serve_args="--execute-allow-private true"
. "$here/../serve.sh"

ONECLAW_COMPAT_BASE_URL="$base" ONECLAW_COMPAT_BIN="$bin" "$venv/bin/python" "$here/test_mcp.py"
