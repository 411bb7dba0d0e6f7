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

# A throwaway CA and a certificate for 127.0.0.1 it signed: the suite's HTTPS receiver for
# execution intents serves it, and the server trusts the CA through SSL_CERT_FILE (its own
# environment only).
tls=$(mktemp -d)
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 1 -subj "/CN=sdk compat CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req "${ec[@]}" -keyout "$tls/tls.key" -out "$tls/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/tls.ext"
openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -out "$tls/tls.pem" \
  -days 1 -extfile "$tls/tls.ext" 2>/dev/null
compat_serve_env="SSL_CERT_FILE=$tls/ca.pem"
compat_serve_args="--execute-allow-private true"
. "$here/../serve.sh"
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" "$tls"' EXIT

ONECLAW_COMPAT_BASE_URL="$base" ONECLAW_COMPAT_TLS_CERT="$tls/tls.pem" ONECLAW_COMPAT_TLS_KEY="$tls/tls.key" \
  "$venv/bin/python" "$here/test_sdk.py"
