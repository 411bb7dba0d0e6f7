#!/usr/bin/env bash
# Cold start of `oneclaw run -- true` against a local server, wall clock, with `oneclaw --version`
# measured in the same hyperfine run as the floor (process start of the same binary).
#
#   bench/cold_start.sh [PATH]      PATH: the oneclaw binary (default target/release/oneclaw)
#
# It starts `oneclaw serve` (SQLite, billing off) on a free port in a temp directory, signs up a
# user, makes a personal API key and a vault with one environment variable, and runs hyperfine
# with ONECLAW_BASE_URL + ONECLAW_API_KEY set (the CI way: no credentials file). Each run is a
# whole `oneclaw run`: key exchange, vault lookup by name, resolve, spawn, wait. Runs stay
# under the server's credential-check budget per address (a burst of 30, then 60 a minute),
# which every key exchange spends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bin=${1:-$repo/target/release/oneclaw}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
"$bin" serve --data-dir "$tmp/data" --listen 127.0.0.1:$port --signup open --billing off >"$tmp/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -fs "$base/v1/health" >/dev/null && break; sleep 0.1; done
token=$(curl -fs "$base/v1/auth/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1"}' | jq -r .access_token)
key=$(curl -fs "$base/v1/auth/api-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | jq -r .api_key)
vault=$(curl -fs "$base/v1/vaults" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | jq -r .id)
curl -fs "$base/v1/vaults/$vault/env-vars" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"key":"FOO","value":"bar","environments":["production"]}' >/dev/null
export ONECLAW_BASE_URL=$base ONECLAW_API_KEY=$key
"$bin" run --vault bench --env production -- true || { echo "oneclaw run failed; the server log:" >&2; cat "$tmp/server.log" >&2; exit 1; }
hyperfine -N --warmup 3 --runs "${BENCH_RUNS:-20}" --export-markdown "$tmp/table.md" \
  "$bin --version" \
  "$bin run --vault bench --env production -- true"
cat "$tmp/table.md"
