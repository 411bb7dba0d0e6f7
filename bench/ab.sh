#!/usr/bin/env bash
# A/B two oneclaw builds on this machine: both servers up at once (SQLite, billing off, an
# agent reading one secret through a glob policy, as compare.sh sets it up), and the same wrk
# load alternated between them ROUNDS times, SECS seconds each. Alternating short runs keeps
# the machine's drift (other tenants of the host) out of the comparison better than one long
# run of each. Prints each run, then the medians and the paired B/A ratios.
#
#   bench/ab.sh BIN_A BIN_B [ROUNDS=10] [SECS=3]
#
# Per run: requests/s, p99 (µs) and the server's CPU (user+system) per request (µs).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
A=$1; B=$2; R=${3:-10}; S=${4:-3}
export ONECLAW_FREE_TIER_REQUESTS=1000000000
D=$(mktemp -d "${TMPDIR:-/tmp}/oneclaw-ab.XXXXXX")
setup() { # bin port name
  $1 serve --data-dir $D/$3 --listen 127.0.0.1:$2 --billing off > $D/$3.log 2>&1 &
  echo $! > $D/$3.pid
  for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:$2/v1/health && break; sleep 0.1; done
  U=http://127.0.0.1:$2
  tok=$(curl -s -X POST $U/v1/auth/signup -H 'content-type: application/json' -d "{\"email\":\"p$2@example.com\",\"password\":\"correct horse battery staple 42\",\"name\":\"P\"}" | jq -r .access_token)
  H="Authorization: Bearer $tok"
  vault=$(curl -s -X POST $U/v1/vaults -H "$H" -H 'content-type: application/json' -d '{"name":"bench"}' | jq -r .id)
  curl -s -o /dev/null -X PUT $U/v1/vaults/$vault/secrets/bench/secret -H "$H" -H 'content-type: application/json' -d '{"value":"initial-value","type":"password"}'
  curl -s -X POST $U/v1/agents -H "$H" -H 'content-type: application/json' -d '{"name":"bench","token_ttl_seconds":86400}' > $D/$3.agent
  aid=$(jq -r '.agent.id // .id' $D/$3.agent); akey=$(jq -r '.api_key // .key' $D/$3.agent)
  curl -s -o /dev/null -X POST $U/v1/vaults/$vault/policies -H "$H" -H 'content-type: application/json' -d "{\"principal_type\":\"agent\",\"principal_id\":\"$aid\",\"secret_path_pattern\":\"bench/**\",\"permissions\":[\"read\",\"write\"]}"
  jwt=$(curl -s -X POST $U/v1/auth/agent-token -H 'content-type: application/json' -d "{\"agent_id\":\"$aid\",\"api_key\":\"$akey\"}" | jq -r .access_token)
  echo "$U/v1/vaults/$vault/secrets/bench/secret" > $D/$3.url; echo "Bearer $jwt" > $D/$3.auth
}
setup $A 18701 a; setup $B 18702 b
trap 'kill $(cat $D/a.pid) $(cat $D/b.pid) 2>/dev/null; rm -rf $D' EXIT
run() { # name
  local pid=$(cat $D/$1.pid)
  local t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  local out=$(BENCH_AUTH_HEADER=Authorization BENCH_AUTH_VALUE="$(cat $D/$1.auth)" wrk -t2 -c32 -d${S}s --latency -s $here/compare.lua $(cat $D/$1.url) | grep compare.lua)
  local t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  local req=$(echo "$out" | sed -n 's/.*requests=\([0-9]*\).*/\1/p'); local rps=$(echo "$out" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p'); local p99=$(echo "$out" | sed -n 's/.*p99_us=\([0-9]*\).*/\1/p')
  echo "$1 $rps $p99 $(python3 -c "print(round(($t1-$t0)*10000/$req,1))")"
}
for i in $(seq $R); do run a; run b; done | tee $D/res
python3 - $D/res <<'PY'
import sys,statistics as st
rows=[l.split() for l in open(sys.argv[1])]
for n in 'ab':
    r=[float(x[1]) for x in rows if x[0]==n]; c=[float(x[3]) for x in rows if x[0]==n]; p=[int(x[2]) for x in rows if x[0]==n]
    print(n,'rps median',round(st.median(r)),'mean',round(st.mean(r)),'cpu_us/req median',st.median(c),'p99 median us',st.median(p))
a=[float(x[1]) for x in rows if x[0]=='a']; b=[float(x[1]) for x in rows if x[0]=='b']
print('paired b/a rps ratios', [round(y/x,3) for x,y in zip(a,b)], 'median', round(st.median([y/x for x,y in zip(a,b)]),3))
PY
