#!/usr/bin/env bash
# Schema fuzzing (issue 19). First the served document, /v1/openapi.json and .yaml, is checked
# with openapi-spec-validator. Then Schemathesis generates requests from the server's own OpenAPI
# document (GET /v1/openapi.json), then from 1claw's cut to the operations this server routes,
# and sends them to a live `oneclaw serve` (billing off) as a signed-in agent, then as a
# signed-in user. It fails on any 5xx answer and on any answer that breaks the document's
# schema for its status (checks not_a_server_error and response_schema_conformance); a crash
# of the server stops every later case, so fails too.
#
# Usage: compat/schemathesis/run.sh [path/to/oneclaw]   (default: target/debug/oneclaw)
#   FUZZ_EXAMPLES  cases per operation and mode (default 5: the short run CI makes)
#   FUZZ_SEED      the random seed (default 19; a different seed explores other cases)
# The long run: FUZZ_EXAMPLES=200 compat/schemathesis/run.sh target/release/oneclaw
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/oneclaw}
venv=$root/target/compat-venv-schemathesis
requirements=$here/requirements.txt
examples=${FUZZ_EXAMPLES:-5}
seed=${FUZZ_SEED:-19}
. "$here/../serve.sh"

# The served document, both forms, is valid OpenAPI 3.1.
for form in json yaml; do
  "$venv/bin/python" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1]).read())' \
    "$base/v1/openapi.$form" "$data/openapi.$form"
  "$venv/bin/openapi-spec-validator" "$data/openapi.$form"
done

status=0
for source in served claw; do
  if [ "$source" = claw ]; then
    "$venv/bin/python" "$here/prepare.py" "$base" "$data" --claw "$root/compat/spec/1claw-openapi.json"
  else
    "$venv/bin/python" "$here/prepare.py" "$base" "$data"
  fi
  for who in agent user; do
    echo "== $source document, as the $who: $examples cases per operation, seed $seed"
    "$venv/bin/schemathesis" run "$data/served-openapi.json" --url "$base" \
      --header "Authorization: Bearer $(cat "$data/$who.token")" \
      --checks not_a_server_error,response_schema_conformance \
      --max-examples "$examples" --seed "$seed" --workers 2 --request-timeout 10 \
      --phases examples,coverage,fuzzing --no-color || status=1
    kill -0 "$server" 2>/dev/null || { echo "the server stopped:"; tail -50 "$data/server.log"; exit 1; }
  done
done
grep -E '"level":"ERROR"|panicked' "$data/server.log" | head -20 || true
exit $status
