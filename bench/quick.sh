#!/usr/bin/env bash
# A first, quick side-by-side: larder's REST API with wrk, and larder's RESP port against redis-server with
# redis-benchmark, interleaved, median of 3. Loopback only; every run is bounded; every server started here
# is stopped on exit. The full harness (webdis, the axum ceiling, pinned CPU cost) is bench/ issue work.
# Usage: bash bench/quick.sh   (needs wrk, redis-server, redis-tools: apt-get install wrk redis-server redis-tools)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DUR=${DUR:-8}
REPS=${REPS:-3}
N=${N:-200000}
cargo build --release -p larder-server -q
WORK=$(mktemp -d)
TOKEN=bench-token-0123456789
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(port); RESP=$(port); RPORT=$(port)
./target/release/larder --http 127.0.0.1:$HTTP --resp 127.0.0.1:$RESP --token $TOKEN --read-only-token ro-$TOKEN \
  --data-dir "$WORK/data" --quiet --log warn & PIDS+=($!)
redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null & PIDS+=($!)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$HTTP/healthz >/dev/null && redis-cli -p $RPORT ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p $RPORT set foo bar >/dev/null
curl -s -X POST http://127.0.0.1:$HTTP/ -H "Authorization: Bearer $TOKEN" -d '["SET","foo","bar"]' >/dev/null

mkscript() { # name body
  cat > "$WORK/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
}
mkscript get '["GET","foo"]'
mkscript set '["SET","foo","bar"]'
P16='['; for i in $(seq 1 16); do P16+='["GET","foo"],'; done; P16="${P16%,}]"
mkscript pipe16 "$P16"

declare -A R
for rep in $(seq 1 "$REPS"); do
  for t in get set pipe16; do
    path=/; [[ $t == pipe16 ]] && path=/pipeline
    out=$(timeout $((DUR + 20)) wrk -t2 -c64 -d${DUR}s --latency -s "$WORK/$t.lua" http://127.0.0.1:$HTTP$path)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    R["rest-$t"]+="$rps/$p99 "
  done
  for target in larder redis; do
    p=$RESP; auth=(-a $TOKEN); [[ $target == redis ]] && { p=$RPORT; auth=(); }
    for pl in 1 16; do
      out=$(timeout 120 redis-benchmark -p $p "${auth[@]}" -t set,get -n $N -c 50 -P $pl -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep -E '^(SET|GET):.*requests per second')
      while read -r name rps _; do R["resp-$target-${name%:}-P$pl"]+="$rps "; done <<<"$out"
    done
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| target | req/s (median of $REPS) | runs |"
echo "|---|---:|---|"
for k in $(printf '%s\n' "${!R[@]}" | sort); do
  if [[ $k == rest-* ]]; then
    m=$(median "$(tr ' ' '\n' <<<"${R[$k]}" | cut -d/ -f1 | tr '\n' ' ')")
  else
    m=$(median "${R[$k]}")
  fi
  echo "| $k | $m | ${R[$k]} |"
done
