# Shared by the compatibility runners (source it): makes the suite's venv, then starts
# `oneclaw serve` on a free port with a temp data dir, waits until it is healthy, and stops it
# on exit.  In: $venv, $requirements, $bin, optional $compat_billing (on|off, default off: the
# suites test the API, not the free tier's limits), $compat_serve_args (more flags) and
# $compat_serve_env (NAME=VALUE words for the server's environment only).  Out: $base (the
# server's URL), $data.
"$venv/bin/python" -c 1 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"

data=$(mktemp -d)
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u ONECLAW_DATABASE_URL -u ONECLAW_KEY_PROVIDER ${compat_serve_env:-} "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --billing "${compat_billing:-off}" ${compat_serve_args:-} >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"

healthy=no
for _ in $(seq 1 300); do
  if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/v1/health" 2>/dev/null; then healthy=yes; break; fi
  sleep 0.1
done
[ "$healthy" = yes ] || { echo "the server did not become healthy within 30 s:"; cat "$data/server.log"; exit 1; }
