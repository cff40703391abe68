#!/usr/bin/env bash
# larder's benchmark harness: one command that installs what it needs, builds larder and the bare-axum
# HTTP ceiling in release mode, measures larder beside redis-server (RESP), webdis + redis-server and the
# ceiling (REST), and writes docs/benchmarks.md.
#
#   bash bench/run.sh                  # the full measurement (≈ 20 min on 2 cores)
#   QUICK=1 bash bench/run.sh          # a smoke run (≈ 3 min): short runs, numbers are not measurements
#
# What it measures, each run interleaved (for every repetition, for every test, every target in turn, so
# drift on a shared machine hits all targets alike) and reported as the median of REPS repetitions:
#   RESP  redis-benchmark -c 50 -r 100000, no pipelining and -P 16: SET GET INCR LPUSH LPOP SADD HSET HGET
#         ZADD ZRANGE and EVALSHA of @upstash/ratelimit's fixed-window script, larder vs redis-server at the
#         same persistence setting: both with an append-only file, fsynced per APPENDFSYNC (checked with
#         CONFIG GET on both before anything is measured).
#   REST  wrk -t2 -c64: POST / ["GET","foo"], POST / ["SET","foo","bar"] and POST /pipeline of 16 GETs with a
#         bearer token, larder vs webdis (GET /GET/foo, GET /SET/foo/bar: webdis's own form) in front of
#         redis-server vs bench/httpceil (axum, same token check, serde_json parse, constant reply).
#   latency p50 / p99 / p99.9 of every run (redis-benchmark's distribution, wrk's histogram);
#   server CPU per request: utime+stime (+ reaped children, for redis's AOF rewrites) of the server
#         processes from /proc over a run, divided by the requests it served;
#   memory: RSS growth after loading MEM_KEYS string keys and MEM_HASHES hashes of 10 fields.
#
# Environment (defaults full / QUICK=1):
#   DUR=10/2         seconds per wrk run          REPS=3/3       repetitions (the median is reported)
#   N=300000/20000   redis-benchmark requests without pipelining; 5×N with -P 16
#   MEM_KEYS=1000000/100000   MEM_HASHES=100000/10000
#   ONLY=resp,rest,mem   which phases     TESTS=INCR,EVALSHA,GET,...   which tests (RESP names, REST GET SET PIPE16)
#   OUT=docs/benchmarks.md   where the report goes (- = stdout only)
#   APPENDFSYNC=everysec   or always: the AOF fsync policy of both servers (issue 8 compares at everysec;
#                    the durability comparison runs the same script at always)
#   PIN=1            servers on cpu0, load generators on cpu1 (wrk -t1), a per-core layout
#   SKIP_BUILD=1     use the binaries already in the target dir     KEEP=1   keep the scratch folder
#   CARGO_TARGET_DIR as usual (default: ./target).
#
# Loopback only. Every load is bounded by a request count or a duration and by `timeout`; every server
# started here is stopped on exit; ports are chosen free at start.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  DUR=${DUR:-2} REPS=${REPS:-3} N=${N:-20000} MEM_KEYS=${MEM_KEYS:-100000} MEM_HASHES=${MEM_HASHES:-10000}
else
  DUR=${DUR:-10} REPS=${REPS:-3} N=${N:-300000} MEM_KEYS=${MEM_KEYS:-1000000} MEM_HASHES=${MEM_HASHES:-100000}
fi
ONLY=${ONLY:-resp,rest,mem}
OUT=${OUT:-$ROOT/docs/benchmarks.md}
PIN=${PIN:-0}
APPENDFSYNC=${APPENDFSYNC:-everysec}
[[ $APPENDFSYNC == everysec || $APPENDFSYNC == always ]] || { echo "bench/run.sh: APPENDFSYNC must be everysec or always" >&2; exit 1; }
CLIENTS=50
RANDOM_KEYS=100000
P16_N=$((N * 5))
WRK_CONNS=64
WRK_THREADS=2
SRV_PIN=() CLI_PIN=()
if [[ $PIN == 1 ]]; then SRV_PIN=(taskset -c 0) CLI_PIN=(taskset -c 1) WRK_THREADS=1; fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }
phase() { [[ ,$ONLY, == *,$1,* ]]; }
TESTS=${TESTS:-}
wanted() { [[ -z $TESTS || ,$TESTS, == *,$1,* ]]; }

# ---------------------------------------------------------------- tools
declare -A PKG_OF=([redis-server]=redis-server [redis-cli]=redis-tools [redis-benchmark]=redis-tools
  [wrk]=wrk [webdis]=webdis [curl]=curl [python3]=python3 [taskset]=util-linux)
missing=()
for c in "${!PKG_OF[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${PKG_OF[$c]}"); done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing ${missing[*]} from Debian's packages"
  SUDO=(); [[ $(id -u) == 0 ]] || SUDO=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"

# ---------------------------------------------------------------- build
TD=${CARGO_TARGET_DIR:-$ROOT/target}
LARDER=$TD/release/larder
CEIL=$TD/release/httpceil
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building larder (release)"
  cargo build --release --locked -q -p larder-server
  log "building bench/httpceil (release)"
  CARGO_TARGET_DIR=$TD cargo build --release --locked -q --manifest-path bench/httpceil/Cargo.toml
fi
[[ -x $LARDER ]] || die "missing $LARDER (unset SKIP_BUILD)"
if phase rest; then [[ -x $CEIL ]] || die "missing $CEIL (unset SKIP_BUILD)"; fi

# ---------------------------------------------------------------- scratch, servers, cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/larder-bench.XXXXXX")
RAW=$WORK/raw
mkdir -p "$RAW"
RESULTS=$WORK/results.tsv
META=$WORK/meta.tsv
: >"$RESULTS"
: >"$META"
TOKEN=bench-token-$RANDOM$RANDOM$RANDOM
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  PIDS=()
}
on_exit() {
  trap '' INT TERM # a second Ctrl-C must not cut the cleanup short
  cleanup
  if [[ ${KEEP:-0} == 1 ]]; then log "scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Free loopback ports, distinct from each other.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r L_HTTP L_RESP R_PORT W_PORT C_PORT ML_HTTP ML_RESP MR_PORT LR_HTTP LR_RESP < <(free_ports 10)

wait_for() { # description command...
  local what=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up"
}
stop() { # pid...: stop some servers now and drop them from PIDS
  local p q keep=()
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null || true; done
  for q in "${PIDS[@]}"; do [[ " $* " == *" $q "* ]] || keep+=("$q"); done
  PIDS=("${keep[@]}")
}
rcli() { # port [redis-cli args]: a RESP call, authenticated with the token (harmless against redis-server)
  local port=$1; shift
  timeout 30 redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$TOKEN" "$@" 2>/dev/null
}
# The redis-server we run does not require a password: `-a` would be an error there.
rcli_redis() { local port=$1; shift; timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# Both servers keep an append-only file with the same fsync policy (issue 8: "the same persistence setting").
LARDER_HELP=$("$LARDER" --help)
for flag in --appendonly --appendfsync; do
  [[ $LARDER_HELP == *"$flag "* ]] || die "this larder has no $flag flag: the comparison needs the same persistence on both sides"
done
LARDER_PERSIST=(--appendonly yes --appendfsync "$APPENDFSYNC")

start_larder() { # http-port resp-port dir
  mkdir -p "$3"
  "${SRV_PIN[@]}" "$LARDER" --http "127.0.0.1:$1" --resp "127.0.0.1:$2" --token "$TOKEN" \
    --read-only-token "ro-$TOKEN" --data-dir "$3" --quiet --log warn "${LARDER_PERSIST[@]}" \
    >"$3.log" 2>&1 &
  LPID=$!
  PIDS+=("$LPID")
  wait_for "larder" curl -sf "http://127.0.0.1:$1/healthz"
  wait_for "larder's RESP port" rcli "$2" PING
}
start_redis() { # port dir
  mkdir -p "$2"
  local aof=(--appendonly yes --appendfsync "$APPENDFSYNC")
  "${SRV_PIN[@]}" redis-server --port "$1" --bind 127.0.0.1 --save '' --dir "$2" --logfile "$2/redis.log" \
    --daemonize no "${aof[@]}" &
  RPID=$!
  PIDS+=("$RPID")
  wait_for "redis-server" rcli_redis "$1" PING
}

# ticks of CPU (user+system, plus reaped children) of some processes
cpu_ticks() {
  local t=0 p s
  for p in "$@"; do
    s=$(sed 's/^.*) //' "/proc/$p/stat")
    t=$((t + $(awk '{print $12 + $13 + $14 + $15}' <<<"$s")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# ---------------------------------------------------------------- versions, machine
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta quick "$QUICK"
meta dur "$DUR"
meta reps "$REPS"
meta n "$N"
meta p16_n "$P16_N"
meta clients "$CLIENTS"
meta random_keys "$RANDOM_KEYS"
meta wrk_threads "$WRK_THREADS"
meta wrk_conns "$WRK_CONNS"
meta mem_keys "$MEM_KEYS"
meta mem_hashes "$MEM_HASHES"
meta pin "$PIN"
meta only "$ONLY"
meta nproc "$(nproc)"
meta cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
meta mem_total "$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
meta os "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}"), kernel $(uname -r)"
meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
meta larder "$("$LARDER" --version | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
meta rustc "$(rustc --version)"
meta redis "$(redis-server --version | sed -E 's/^Redis server v=([^ ]+).*malloc=([^ ]+).*/redis-server \1 (\2)/')"
meta redis_benchmark "$(redis-benchmark --version 2>&1 | head -1)"
meta wrk "$(wrk -v 2>&1 | head -1 | sed 's/ *Copyright.*//')"
meta webdis "webdis $(dpkg-query -W -f='${Version}' webdis 2>/dev/null || echo '?')"
meta httpceil "axum $(awk '/^name = "axum"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' bench/httpceil/Cargo.lock), tokio $(awk '/^name = "tokio"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' bench/httpceil/Cargo.lock), serde_json $(awk '/^name = "serde_json"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' bench/httpceil/Cargo.lock)"

# Each server must report the persistence it was asked for, or nothing is measured.
config_of() { # rcli-function port: "appendonly appendfsync" as the server reports them
  printf '%s %s' "$("$1" "$2" CONFIG GET appendonly | sed -n 2p)" "$("$1" "$2" CONFIG GET appendfsync | sed -n 2p)"
}
check_persistence() { # name rcli-function port
  local got
  got=$(config_of "$2" "$3")
  [[ $got == "yes $APPENDFSYNC" ]] || die "$1 reports appendonly/appendfsync '$got', expected 'yes $APPENDFSYNC'"
}
start_larder "$L_HTTP" "$L_RESP" "$WORK/larder"
LARDER_MAIN=$LPID
check_persistence larder rcli "$L_RESP"
meta persistence "AOF on both, appendfsync $APPENDFSYNC (larder ${LARDER_PERSIST[*]}; redis-server --appendonly yes --appendfsync $APPENDFSYNC --save ''), checked with CONFIG GET"
meta appendfsync "$APPENDFSYNC"
log "persistence: AOF, appendfsync $APPENDFSYNC on both"

# ---------------------------------------------------------------- result rows
# phase test mode target rep rps p50_ms p99_ms p999_ms requests cpu_us_per_req errors
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# redis-benchmark output: "throughput summary: X requests per second", the "latency summary" values and
# the percentile distribution, whose first line at or above 99.9% is p99.9.
parse_rb() {
  tr '\r' '\n' <"$1" | awk '
    /throughput summary:/ { rps = $3 }
    /latency summary/ { getline; getline; p50 = $3; p99 = $5 }
    /^Latency by percentile distribution:/ { dist = 1; next }
    dist && /^$/ { dist = 0 }
    dist && p999 == "" { v = $1; sub(/%/, "", v); if (v + 0 >= 99.9) p999 = $3 }
    END { if (rps == "") print "NA NA NA NA"; else print rps, p50, p99, (p999 == "" ? "NA" : p999) }'
}

rb() { # name mode target port pids... -- redis-benchmark args
  local name=$1 mode=$2 target=$3 port=$4; shift 4
  local pids=()
  while [[ $1 != -- ]]; do pids+=("$1"); shift; done
  shift
  local n=$N pl=()
  [[ $mode == P16 ]] && n=$P16_N pl=(-P 16)
  local auth=()
  [[ $target == larder ]] && auth=(-a "$TOKEN")
  local f="$RAW/resp-$name-$mode-$target-rep$rep.txt"
  local t0 t1 rc=0
  t0=$(cpu_ticks "${pids[@]}")
  timeout -k 5 $((60 + n / 2000)) "${CLI_PIN[@]}" redis-benchmark -h 127.0.0.1 -p "$port" "${auth[@]}" \
    -c "$CLIENTS" -r "$RANDOM_KEYS" -n "$n" "${pl[@]}" "$@" >"$f" 2>&1 || rc=$?
  t1=$(cpu_ticks "${pids[@]}")
  local rps p50 p99 p999 cpu err=-
  read -r rps p50 p99 p999 < <(parse_rb "$f")
  [[ $rc != 0 || $rps == NA ]] && err="exit $rc"
  grep -q -i -m1 -E '^(\(error\)|ERR |WRONGTYPE|NOSCRIPT|NOAUTH)|Error from server|replied with error' "$f" && err="errors in output"
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')
  row resp "$name" "$mode" "$target" "$rep" "$rps" "$p50" "$p99" "$p999" "$n" "$cpu" "$err"
  printf '  %-8s %-4s %-7s rep%s %12s req/s  p50 %s  p99 %s  p99.9 %s ms  cpu %s us/req %s\n' \
    "$name" "$mode" "$target" "$rep" "$rps" "$p50" "$p99" "$p999" "$cpu" "${err#-}" >&2
}

# @upstash/ratelimit's fixed-window script: INCRBY, and PEXPIRE only when the key is new.
RATELIMIT='local key = KEYS[1]
local window = ARGV[1]
local incrementBy = ARGV[2]
local r = redis.call("INCRBY", key, incrementBy)
if r == tonumber(incrementBy) then
  redis.call("PEXPIRE", key, window)
end
return r'

# name | redis-benchmark arguments. HGET and ZRANGE read what HSET and ZADD (run before them) wrote:
# redis-benchmark's HSET is `HSET myhash element:__rand_int__ xxx`, its ZADD `ZADD myzset <rand> element:<rand>`.
RESP_TESTS=(
  "SET|-t set"
  "GET|-t get"
  "INCR|-t incr"
  "LPUSH|-t lpush"
  "LPOP|-t lpop"
  "SADD|-t sadd"
  "HSET|-t hset"
  "HGET|HGET myhash element:__rand_int__"
  "ZADD|-t zadd"
  "ZRANGE|ZRANGE myzset 0 9"
  "EVALSHA|EVALSHA @SHA@ 1 rl:__rand_int__ 60000 1"
)

if phase resp; then
  log "RESP: redis-benchmark -c $CLIENTS -r $RANDOM_KEYS, -n $N (P1) / -n $P16_N (-P 16), $REPS reps"
  start_redis "$R_PORT" "$WORK/redis"
  REDIS_MAIN=$RPID
  check_persistence redis-server rcli_redis "$R_PORT"
  sha_l=$(rcli "$L_RESP" SCRIPT LOAD "$RATELIMIT")
  sha_r=$(rcli_redis "$R_PORT" SCRIPT LOAD "$RATELIMIT")
  [[ -n $sha_l && $sha_l == "$sha_r" ]] || die "SCRIPT LOAD: larder gave '$sha_l', redis-server '$sha_r'"
  meta resp_larder_config "$(config_of rcli "$L_RESP")"
  meta resp_redis_config "$(config_of rcli_redis "$R_PORT")"
  for rep in $(seq 1 "$REPS"); do
    for mode in P1 P16; do
      for t in "${RESP_TESTS[@]}"; do
        name=${t%%|*}
        wanted "$name" || continue
        read -r -a args <<<"${t#*|}"
        args=("${args[@]//@SHA@/$sha_l}")
        rb "$name" "$mode" larder "$L_RESP" "$LARDER_MAIN" -- "${args[@]}"
        rb "$name" "$mode" redis "$R_PORT" "$REDIS_MAIN" -- "${args[@]}"
      done
    done
  done
  meta redis_aof_rewrites "$(rcli_redis "$R_PORT" INFO persistence | awk -F: '/^aof_rewrites:/ {print $2}' | tr -d '\r')"
  stop "$REDIS_MAIN"
fi

# ---------------------------------------------------------------- REST
# A wrk script: the request, and a done() that prints the percentiles (µs) and the error counts.
wrk_script() { # file method body [auth]
  {
    printf 'wrk.method = "%s"\n' "$2"
    [[ -n $3 ]] && printf "wrk.body = '%s'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n" "$3"
    [[ ${4:-} == auth ]] && printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$TOKEN"
    cat <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d p50_us=%.1f p99_us=%.1f p999_us=%.1f status_errors=%d socket_errors=%d\n",
    summary.requests, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
  } >"$1"
}

wk() { # name target url script pids...
  local name=$1 target=$2 url=$3 script=$4; shift 4
  local f="$RAW/rest-$name-$target-rep$rep.txt"
  local t0 t1 rc=0
  t0=$(cpu_ticks "$@")
  timeout -k 5 $((DUR + 30)) "${CLI_PIN[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DUR}s" --latency \
    -s "$script" "$url" >"$f" 2>&1 || rc=$?
  t1=$(cpu_ticks "$@")
  local rps n p50 p99 p999 se so err=- cpu
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
  read -r n p50 p99 p999 se so < <(awk '/^BENCH / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "%s %.3f %.3f %.3f %s %s\n", v["requests"], v["p50_us"] / 1000, v["p99_us"] / 1000,
        v["p999_us"] / 1000, v["status_errors"], v["socket_errors"] }' "$f")
  if [[ $rc != 0 || -z $rps || -z ${n:-} ]]; then
    rps=NA n=0 p50=NA p99=NA p999=NA err="exit $rc"
  elif [[ $se != 0 || $so != 0 ]]; then
    err="non-2xx $se, socket $so"
  fi
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f", d * 1e6 / hz / n; else print "NA" }')
  row rest "$name" "-" "$target" "$rep" "$rps" "$p50" "$p99" "$p999" "$n" "$cpu" "$err"
  printf '  %-7s %-7s rep%s %12s req/s  p50 %s  p99 %s  p99.9 %s ms  cpu %s us/req %s\n' \
    "$name" "$target" "$rep" "$rps" "$p50" "$p99" "$p999" "$cpu" "${err#-}" >&2
}

expect_body() { # what expected actual
  [[ $3 == "$2" ]] || die "$1 answered '$3', expected '$2'"
}

if phase rest; then
  log "REST: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DUR}s, $REPS reps"
  # A fresh larder, as webdis gets a fresh redis-server: neither carries the RESP phase's keys.
  if phase resp; then
    stop "$LARDER_MAIN"
    L_HTTP=$LR_HTTP L_RESP=$LR_RESP
    start_larder "$L_HTTP" "$L_RESP" "$WORK/larder-rest"
    LARDER_MAIN=$LPID
  fi
  start_redis "$R_PORT" "$WORK/redis-rest"
  REDIS_MAIN=$RPID
  cat >"$WORK/webdis.json" <<EOF
{ "redis_host": "127.0.0.1", "redis_port": $R_PORT, "redis_auth": null,
  "http_host": "127.0.0.1", "http_port": $W_PORT, "threads": 2, "daemonize": false,
  "database": 0, "acl": [ { "disabled": ["DEBUG"] } ], "verbosity": 0, "logfile": "$WORK/webdis.log" }
EOF
  "${SRV_PIN[@]}" webdis "$WORK/webdis.json" &
  WPID=$!
  PIDS+=("$WPID")
  wait_for webdis curl -sf "http://127.0.0.1:$W_PORT/PING"
  ADDR=127.0.0.1:$C_PORT TOKEN=$TOKEN "${SRV_PIN[@]}" "$CEIL" &
  CPID=$!
  PIDS+=("$CPID")
  wait_for httpceil curl -sf -H "Authorization: Bearer $TOKEN" -d '["PING"]' "http://127.0.0.1:$C_PORT/"

  P16='['
  for i in $(seq 1 16); do P16+='["GET","foo"],'; done
  P16="${P16%,}]"
  wrk_script "$WORK/get.lua" POST '["GET","foo"]' auth
  wrk_script "$WORK/set.lua" POST '["SET","foo","bar"]' auth
  wrk_script "$WORK/pipe16.lua" POST "$P16" auth
  wrk_script "$WORK/plain.lua" GET ""

  # Every target answers what it should before anything is measured.
  L="http://127.0.0.1:$L_HTTP" W="http://127.0.0.1:$W_PORT" C="http://127.0.0.1:$C_PORT"
  AH=(-H "Authorization: Bearer $TOKEN")
  expect_body "larder SET" '{"result":"OK"}' "$(curl -s "${AH[@]}" -d '["SET","foo","bar"]' "$L/")"
  expect_body "larder GET" '{"result":"bar"}' "$(curl -s "${AH[@]}" -d '["GET","foo"]' "$L/")"
  expect_body "larder /pipeline" 16 "$(curl -s "${AH[@]}" -d "$P16" "$L/pipeline" | grep -o '{"result":"bar"}' | wc -l)"
  expect_body "larder without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' -d '["GET","foo"]' "$L/")"
  expect_body "webdis SET" '{"SET":[true,"OK"]}' "$(curl -s "$W/SET/foo/bar")"
  expect_body "webdis GET" '{"GET":"bar"}' "$(curl -s "$W/GET/foo")"
  expect_body "httpceil" '{"result":"OK"}' "$(curl -s "${AH[@]}" -d '["GET","foo"]' "$C/")"
  expect_body "httpceil /pipeline" 16 "$(curl -s "${AH[@]}" -d "$P16" "$C/pipeline" | grep -o '{"result":"OK"}' | wc -l)"
  expect_body "httpceil without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' -d '["GET","foo"]' "$C/")"

  for rep in $(seq 1 "$REPS"); do
    if wanted GET; then
      wk GET larder "$L/" "$WORK/get.lua" "$LARDER_MAIN"
      wk GET webdis "$W/GET/foo" "$WORK/plain.lua" "$WPID" "$REDIS_MAIN"
      wk GET ceiling "$C/" "$WORK/get.lua" "$CPID"
    fi
    if wanted SET; then
      wk SET larder "$L/" "$WORK/set.lua" "$LARDER_MAIN"
      wk SET webdis "$W/SET/foo/bar" "$WORK/plain.lua" "$WPID" "$REDIS_MAIN"
      wk SET ceiling "$C/" "$WORK/set.lua" "$CPID"
    fi
    if wanted PIPE16; then
      wk PIPE16 larder "$L/pipeline" "$WORK/pipe16.lua" "$LARDER_MAIN"
      wk PIPE16 ceiling "$C/pipeline" "$WORK/pipe16.lua" "$CPID"
    fi
  done
  stop "$WPID" "$CPID" "$REDIS_MAIN"
fi
stop "$LARDER_MAIN"

# ---------------------------------------------------------------- memory
if phase mem; then
  log "memory: $MEM_KEYS string keys, then $MEM_HASHES hashes of 10 fields, loaded with redis-cli --pipe"
  # RESP commands, generated once: SET key:<12 digits> xxx (redis-benchmark's key and value shape) and
  # HSET hash:<12 digits> f0 xxx ... f9 xxx.
  python3 - "$MEM_KEYS" "$MEM_HASHES" "$WORK/strings.resp" "$WORK/hashes.resp" <<'PY'
import sys
keys, hashes = int(sys.argv[1]), int(sys.argv[2])
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
with open(sys.argv[3], "wb") as f:
    for i in range(keys):
        f.write(cmd(b"SET", b"key:%012d" % i, b"xxx"))
fields = []
for j in range(10):
    fields += [b"f%d" % j, b"xxx"]
with open(sys.argv[4], "wb") as f:
    for i in range(hashes):
        f.write(cmd(b"HSET", b"hash:%012d" % i, *fields))
PY
  load() { # target port file
    local auth=()
    [[ $1 == larder ]] && auth=(--no-auth-warning -a "$TOKEN")
    timeout -k 5 600 redis-cli -h 127.0.0.1 -p "$2" "${auth[@]}" --pipe <"$3" >"$RAW/mem-$1-$(basename "$3").txt" 2>&1 ||
      die "loading $3 into $1 failed: $(tail -3 "$RAW/mem-$1-$(basename "$3").txt")"
    grep -q 'errors: 0,' "$RAW/mem-$1-$(basename "$3").txt" ||
      die "loading $3 into $1 had errors: $(tail -3 "$RAW/mem-$1-$(basename "$3").txt")"
  }
  measure() { # target port pid
    local r0 r1 r2 d
    sleep 1
    r0=$(rss_kib "$3")
    load "$1" "$2" "$WORK/strings.resp"
    sleep 1
    r1=$(rss_kib "$3")
    load "$1" "$2" "$WORK/hashes.resp"
    sleep 1
    r2=$(rss_kib "$3")
    if [[ $1 == larder ]]; then d=$(rcli "$2" DBSIZE); else d=$(rcli_redis "$2" DBSIZE); fi
    [[ $d == $((MEM_KEYS + MEM_HASHES)) ]] || die "$1 has $d keys after loading, expected $((MEM_KEYS + MEM_HASHES))"
    printf '%s\t%s\t%s\t%s\n' "$1" "$r0" "$r1" "$r2" >>"$WORK/mem.tsv"
    log "  $1: RSS $r0 KiB empty, $r1 KiB with the strings, $r2 KiB with the hashes too"
  }
  : >"$WORK/mem.tsv"
  start_larder "$ML_HTTP" "$ML_RESP" "$WORK/larder-mem"
  measure larder "$ML_RESP" "$LPID"
  stop "$LPID"
  start_redis "$MR_PORT" "$WORK/redis-mem"
  measure redis "$MR_PORT" "$RPID"
  meta redis_mem_info "$(rcli_redis "$MR_PORT" INFO memory | awk -F: '/^(used_memory|mem_allocator):/ {gsub(/\r/, ""); printf "%s=%s ", $1, $2}')"
  stop "$RPID"
fi

# ---------------------------------------------------------------- report
meta finished "$(date -u '+%Y-%m-%d %H:%M UTC')"
if [[ $OUT == - ]]; then
  python3 bench/summarize.py "$WORK" bench/notes.md
else
  python3 bench/summarize.py "$WORK" bench/notes.md >"$WORK/report.md"
  cat "$WORK/report.md"
  cp "$WORK/report.md" "$OUT"
  log "wrote $OUT"
fi
