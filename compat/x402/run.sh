#!/usr/bin/env bash
# Compatibility suite: the official x402 Python client (x402[evm]==2.25.0, a throwaway
# eth_account key) pays oneclaw's 402s. A local facilitator test double settles.
# Usage: compat/x402/run.sh [path/to/oneclaw]   (default: target/debug/oneclaw)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/oneclaw}
venv=$root/target/compat-venv-x402
requirements=$here/requirements.txt
"$venv/bin/python" -c 1 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fport=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/python" "$here/facilitator_double.py" "$fport" &
facilitator=$!
pay_to=0x209693Bc6afc0C5328bA36FaF03C514EF312287C
compat_billing=on
compat_serve_args="--free-tier-requests 3 --x402-pay-to $pay_to --x402-facilitator-url http://127.0.0.1:$fport"
. "$here/../serve.sh"
trap 'kill $server $facilitator 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT

ONECLAW_COMPAT_BASE_URL="$base" X402_PAY_TO="$pay_to" X402_FACILITATOR="http://127.0.0.1:$fport" \
  "$venv/bin/python" "$here/test_x402.py"
