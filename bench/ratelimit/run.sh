#!/usr/bin/env bash
# Rate-limiter decisions per second through the REST API, Rust beside JavaScript, in one run:
#
#   bash bench/ratelimit/run.sh              # ≈ 2 min: 3 algorithms × 3 clients × 3 rounds × 4 s
#   DUR=2 ROUNDS=1 bash bench/ratelimit/run.sh   # a smoke run
#
# It builds larder and lib/ratelimit/examples/bench.rs in release mode, installs the JavaScript
# packages of tests/compat/js (npm ci: @upstash/ratelimit and @upstash/redis, pinned there) if they
# are missing, starts one larder on a free loopback port (default settings: AOF on, everysec), and
# measures, for each algorithm (fixedWindow, slidingWindow, tokenBucket) and each client:
#
#   rust       larder-ratelimit through larder-redis (one REST request per decision)
#   js         @upstash/ratelimit through @upstash/redis with its defaults (enableAutoPipelining: on,
#              so concurrent calls are batched into /pipeline requests)
#   js-nopipe  the same with enableAutoPipelining: false (one request per decision, like rust)
#
# CONC workers per client call limit() in a closed loop for DUR seconds over 1,000 identifiers with
# limits no call reaches (no ephemeral cache, no analytics: every decision is one script run in
# larder). Runs are interleaved: every round runs every algorithm with every client, the client order
# rotating per round, so drift on a shared machine hits all of them alike; the table reports the median
# of the rounds. Besides decisions/s and the client-side latency (p50, p99), it reports larder's CPU per
# decision (utime+stime from /proc over the run) and the client process's CPU per decision.
#
# Environment: DUR=4 (seconds per run), ROUNDS=3, CONC=16, ALGOS=fixedWindow,slidingWindow,tokenBucket,
# CLIENTS=rust,js,js-nopipe, OUT=docs/sdk-benchmarks.md (- = stdout only), SKIP_BUILD=1 (use the
# binaries in the target dir), KEEP=1 (keep the scratch folder), CARGO_TARGET_DIR as usual.
# The hand-written part of the report is bench/ratelimit/notes.md, appended to it.
#
# Loopback only; every run is bounded by `timeout`; the server started here is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

DUR=${DUR:-4}
ROUNDS=${ROUNDS:-3}
CONC=${CONC:-16}
ALGOS=${ALGOS:-fixedWindow,slidingWindow,tokenBucket}
CLIENTS=${CLIENTS:-rust,js,js-nopipe}
OUT=${OUT:-$ROOT/docs/sdk-benchmarks.md}
TD=${CARGO_TARGET_DIR:-$ROOT/target}
LARDER=$TD/release/larder
RUST_BENCH=$TD/release/examples/bench
JS_DIR=$ROOT/tests/compat/js

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/ratelimit/run.sh: %s\n' "$*" >&2; exit 1; }
for c in cargo node npm curl python3; do command -v "$c" >/dev/null || die "$c is needed"; done

# ---------------------------------------------------------------- build and install
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building larder (release)"
  cargo build --release --locked -q -p larder-server
  log "building the Rust bench client (release)"
  cargo build --release --locked -q -p larder-ratelimit --example bench
fi
[[ -x $LARDER ]] || die "no larder at $LARDER"
[[ -x $RUST_BENCH ]] || die "no bench client at $RUST_BENCH"
stamp=$JS_DIR/node_modules/.larder-compat-lock
if [[ ! -f $stamp ]] || ! cmp -s "$JS_DIR/package-lock.json" "$stamp"; then
  log "installing the JavaScript clients (npm ci in tests/compat/js)"
  (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$JS_DIR/package-lock.json" "$stamp"
fi

# ---------------------------------------------------------------- server
WORK=$(mktemp -d "${TMPDIR:-/tmp}/larder-rlbench.XXXXXX")
SERVER_PID=""
cleanup() {
  local rc=$?
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TOKEN="bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
"$LARDER" --http "127.0.0.1:$PORT" --resp off --token "$TOKEN" --data-dir "$WORK/data" \
  --log warn >"$WORK/larder.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/larder.log" >&2; die "larder exited"; }
  sleep 0.1
done
export UPSTASH_REDIS_REST_URL="http://127.0.0.1:$PORT" UPSTASH_REDIS_REST_TOKEN="$TOKEN"
export UPSTASH_DISABLE_TELEMETRY=1
log "larder (release) on $UPSTASH_REDIS_REST_URL"

HZ=$(getconf CLK_TCK)
server_cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$SERVER_PID/stat"; }

# ---------------------------------------------------------------- runs
IFS=, read -r -a algos <<<"$ALGOS"
IFS=, read -r -a clients <<<"$CLIENTS"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
n=${#clients[@]}
for round in $(seq 1 "$ROUNDS"); do
  for algo in "${algos[@]}"; do
    for k in $(seq 0 $((n - 1))); do
      client=${clients[$(((k + round - 1) % n))]}
      prefix="rlbench:$client:$algo:$round"
      case $client in
        rust) cmd=("$RUST_BENCH" "$algo" "$CONC" "$DUR" "$prefix") ;;
        js) cmd=(node bench/ratelimit/bench.mjs "$algo" "$CONC" "$DUR" "$prefix" pipelining) ;;
        js-nopipe) cmd=(node bench/ratelimit/bench.mjs "$algo" "$CONC" "$DUR" "$prefix" nopipelining) ;;
        *) die "unknown client $client" ;;
      esac
      before=$(server_cpu_ms)
      line=$(timeout --kill-after=5 $((DUR * 3 + 30)) "${cmd[@]}" | tail -n 1) || die "$client $algo failed"
      after=$(server_cpu_ms)
      python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["round"]=int(sys.argv[2]); d["server_cpu_ms"]=int(sys.argv[3]); print(json.dumps(d))' \
        "$line" "$round" "$((after - before))" >>"$RESULTS"
      log "round $round $algo $client: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f/s p50 %.2f ms p99 %.2f ms" % (d["per_sec"], d["p50_us"] / 1000, d["p99_us"] / 1000))' "$line")"
    done
  done
done

# ---------------------------------------------------------------- report
META=$WORK/meta.json
python3 - "$META" <<PY
import json, sys
json.dump({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "nproc": "$(nproc)",
  "cpu": """$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)""",
  "mem": "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)",
  "os": """$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}"), kernel $(uname -r)""",
  "load": "$LOAD_AT_START",
  "larder": "$("$LARDER" --version 2>/dev/null | head -1) ($(git rev-parse --short HEAD 2>/dev/null || echo ?))",
  "rustc": "$(rustc --version)",
  "node": "$(node --version)",
  "dur": $DUR, "rounds": $ROUNDS, "conc": $CONC,
}, open(sys.argv[1], "w"))
PY
python3 bench/ratelimit/summarize.py "$META" "$RESULTS" bench/ratelimit/notes.md >"$WORK/report.md"
if [[ $OUT == - ]]; then
  cat "$WORK/report.md"
else
  cp "$WORK/report.md" "$OUT"
  log "wrote $OUT"
fi
