#!/usr/bin/env bash
# Compatibility suite: the official 1claw Python SDK against a real `oneclaw serve`.
# Usage: compat/python-sdk/run.sh [path/to/oneclaw]   (default: target/debug/oneclaw)
# Creates its own venv under target/, starts the server on a free port with a temp data dir,
# runs test_sdk.py (which prints 'N passed, N failed'), and stops the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/oneclaw}
venv=$root/target/compat-venv-python-sdk
requirements=$here/requirements.txt
. "$here/../serve.sh"

ONECLAW_COMPAT_BASE_URL="$base" "$venv/bin/python" "$here/test_sdk.py"
