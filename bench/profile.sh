#!/usr/bin/env bash
# Instruction counts per request: runs the release larder under `valgrind --tool=callgrind`, warms it up,
# turns collection on only for the measured load, and prints instructions per request (repeatable on a
# shared machine, unlike wall-clock throughput) and the top functions (inclusive and exclusive).
#
#   bash bench/profile.sh evalsha        # EVALSHA of @upstash/ratelimit's fixed-window script
#   bash bench/profile.sh get|set|incr|zadd|hget   # redis-benchmark's own tests (-P 16 with P=16)
#   bash bench/profile.sh rest-get       # POST / ["GET","foo"] over HTTP (wrk, fixed duration)
#
# Environment: N (requests, default 20000), P (redis-benchmark pipeline, default 1), KEEP=1 (keep the
# callgrind.out file, printed at the end), LARDER (binary; default $CARGO_TARGET_DIR/release/larder),
# TARGET=redis (profile redis-server 7 instead, same load and AOF setting; not for rest-get).
# Loopback only; the server is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHAT=${1:?usage: bench/profile.sh evalsha|get|set|incr|zadd|hget|rest-get}
N=${N:-20000}
P=${P:-1}
LARDER=${LARDER:-${CARGO_TARGET_DIR:-$ROOT/target}/release/larder}
[[ ${TARGET:-larder} == redis || -x $LARDER ]] || { echo "build larder first: cargo build --release -p larder-server" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/larder-prof.XXXXXX")
TOKEN=prof-token
read -r HTTP RESP < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
if [[ ${TARGET:-larder} == redis ]]; then
  [[ $WHAT != rest-get ]] || { echo "rest-get profiles larder only" >&2; exit 1; }
  mkdir -p "$WORK/data"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
    redis-server --port "$RESP" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --dir "$WORK/data" --requirepass "$TOKEN" >"$WORK/server.log" 2>&1 &
else
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
    "$LARDER" --http "127.0.0.1:$HTTP" --resp "127.0.0.1:$RESP" --token "$TOKEN" --data-dir "$WORK/data" \
    --quiet --log warn --appendonly yes --appendfsync everysec >"$WORK/server.log" 2>&1 &
fi
VPID=$!
trap 'kill $VPID 2>/dev/null || true; wait $VPID 2>/dev/null || true; [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"' EXIT
cli() { redis-cli -h 127.0.0.1 -p "$RESP" --no-auth-warning -a "$TOKEN" "$@"; }
for _ in $(seq 1 300); do cli PING >/dev/null 2>&1 && break; sleep 0.2; done
RL='local key = KEYS[1]
local window = ARGV[1]
local incrementBy = ARGV[2]
local r = redis.call("INCRBY", key, incrementBy)
if r == tonumber(incrementBy) then
  redis.call("PEXPIRE", key, window)
end
return r'
rb() { redis-benchmark -h 127.0.0.1 -p "$RESP" -a "$TOKEN" -c 50 -r 100000 -P "$P" -q "$@"; }
case $WHAT in
  evalsha) SHA=$(cli SCRIPT LOAD "$RL"); load() { rb -n "$1" EVALSHA "$SHA" 1 rl:__rand_int__ 60000 1; } ;;
  hget) rb -n 20000 -t hset >/dev/null; load() { rb -n "$1" HGET myhash element:__rand_int__; } ;;
  rest-get)
    cli SET foo bar >/dev/null
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Authorization"] = "Bearer %s"\n' \
      "'[\"GET\",\"foo\"]'" "$TOKEN" >"$WORK/get.lua"
    load() { wrk -t1 -c16 -d"$(( $1 / 2000 ))s" -s "$WORK/get.lua" "http://127.0.0.1:$HTTP/" | tee "$WORK/wrk.txt"; } ;;
  *) load() { rb -n "$1" -t "$WHAT"; } ;;
esac
load 2000 >/dev/null # warm-up: allocator pools, script cache, keys
callgrind_control -i on "$VPID" >/dev/null
load "$N" | tr '\r' '\n' | tail -1
callgrind_control -d "$VPID" >/dev/null
callgrind_control -i off "$VPID" >/dev/null
sleep 1
OUTF=$WORK/callgrind.out.1
REQS=$N
[[ $WHAT == rest-get ]] && REQS=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
TOTAL=$(callgrind_annotate "$OUTF" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t {gsub(/,/, "", $1); t = $1} END {print t}')
echo "== ${TARGET:-larder} $WHAT P=$P: $REQS requests, $TOTAL instructions, $((TOTAL / REQS)) instructions/request"
short() { sed -E 's#/root/.cargo/registry/src/[^/]+/##; s# \[[^]]*larder\]##' | cut -c1-170; }
echo "-- exclusive"
callgrind_annotate "$OUTF" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 2,31p | short || true
echo "-- inclusive"
callgrind_annotate --inclusive=yes "$OUTF" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 2,41p | short || true
[[ ${KEEP:-0} == 1 ]] && echo "kept $OUTF"
true
