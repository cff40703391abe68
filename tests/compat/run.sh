#!/usr/bin/env bash
# Compatibility suite: runs the official Upstash clients (@upstash/redis from npm, upstash-redis
# from PyPI), rate limiters (@upstash/ratelimit, upstash-ratelimit) and QStash clients
# (@upstash/qstash, qstash) against freshly started larder servers and prints one summary line:
#
#   compat: N passed, N failed[, N skipped]
#
# Environment:
#   LARDER_BIN            server binary (default: <repo>/target/debug/larder; nothing is built)
#   COMPAT_SUITES         which suites to run: "js py" (default), "js" or "py"
#   COMPAT_SUITE_TIMEOUT  seconds before a hanging suite is killed (default 900)
#   COMPAT_KEEP_TMP=1     keep the temp dir (server log, data dir, TAP/JUnit reports)
#   NODE_TEST_ARGS / PYTEST_ARGS   extra arguments for the runners (e.g. a -k filter)
#   COMPAT_JS_FILES       which JS test files to run (default "test/*.test.mjs"), e.g.
#                         "test/ratelimit-*.test.mjs"; PYTEST_ARGS can name Python files
#   COMPAT_EXTRA_SERVERS  extra larder instances for the multi-region rate-limit tests (default 2;
#                         0 skips those tests), exported as LARDER_EXTRA_REST_URLS
#   LARDER_RATELIMIT_DRIVER  the Rust rate limiter's driver for test/ratelimit-rust.test.mjs
#                         (default: examples/driver next to LARDER_BIN; build it with
#                         'cargo build -p larder-ratelimit --example driver')
#
# The QStash tests get their own instance (its queue keys never meet the Redis tests' DBSIZE and
# FLUSHALL), started with a known QStash token and signing keys exported as QSTASH_URL,
# QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY; one more runs with
# --qstash-dev (the official dev server's public credentials), its port exported as
# LARDER_QSTASH_DEV_PORT for the tests of the SDK's QSTASH_DEV mode.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))"
LARDER_BIN="${LARDER_BIN:-$ROOT/target/debug/larder}"
SUITES="${COMPAT_SUITES:-js py}"
SUITE_TIMEOUT="${COMPAT_SUITE_TIMEOUT:-900}"
JS_FILES="${COMPAT_JS_FILES:-test/*.test.mjs}"
EXTRA_SERVERS="${COMPAT_EXTRA_SERVERS:-2}"
LARDER_RATELIMIT_DRIVER="${LARDER_RATELIMIT_DRIVER:-$(dirname "$LARDER_BIN")/examples/driver}"
export LARDER_RATELIMIT_DRIVER

log() { printf '[compat] %s\n' "$*" >&2; }

if [[ ! -x "$LARDER_BIN" ]]; then
  log "larder binary not found at $LARDER_BIN (build it with 'cargo build -p larder-server' or set LARDER_BIN)"
  echo "compat: 0 passed, 1 failed"
  exit 1
fi

# --- dependencies ------------------------------------------------------------------------------
install_js() {
  local dir="$HERE/js" stamp="$HERE/js/node_modules/.larder-compat-lock"
  if [[ ! -f "$stamp" ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    log "installing JS dependencies (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
    cp "$dir/package-lock.json" "$stamp"
  fi
}

install_py() {
  local dir="$HERE/py" venv="$HERE/py/.venv" stamp="$HERE/py/.venv/.larder-compat-requirements"
  if [[ ! -x "$venv/bin/python" ]]; then
    log "creating Python venv in $venv"
    python3 -m venv "$venv" >&2
  fi
  if [[ ! -f "$stamp" ]] || ! cmp -s "$dir/requirements.txt" "$stamp"; then
    log "installing Python dependencies (pip install -r requirements.txt)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt" >&2
    cp "$dir/requirements.txt" "$stamp"
  fi
}

# --- server ------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/larder-compat.XXXXXX")"
RESULTS="$WORK/results"
mkdir -p "$RESULTS"
SERVER_PID=""
EXTRA_PIDS=()

stop_pid() {
  local pid=$1
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local rc=$?
  stop_pid "$SERVER_PID"
  for pid in "${EXTRA_PIDS[@]}"; do stop_pid "$pid"; done
  if [[ "${COMPAT_KEEP_TMP:-}" == "1" ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
rand_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

TOKEN="rw_$(rand_token)"
RO_TOKEN="ro_$(rand_token)"
QSTASH_TOKEN="qs_$(rand_token)"
QSTASH_CURRENT_SIGNING_KEY="sig_$(rand_token)"
QSTASH_NEXT_SIGNING_KEY="sig_$(rand_token)"
USED_PORTS=" "
# new_port: a free loopback port not handed out before (runs in a subshell: the caller records it)
new_port() {
  local p
  p="$(free_port)"
  while [[ "$USED_PORTS" == *" $p "* ]]; do p="$(free_port)"; done
  echo "$p"
}

# start_server NAME [ARGS...]: starts a larder with its own ports and data dir under $WORK (and
# ARGS); sets STARTED_PID and STARTED_URL
start_server() {
  local name=$1 http resp
  shift
  http="$(new_port)"
  USED_PORTS="$USED_PORTS$http "
  resp="$(new_port)"
  USED_PORTS="$USED_PORTS$resp "
  mkdir -p "$WORK/$name"
  "$LARDER_BIN" \
    --http "127.0.0.1:$http" \
    --resp "127.0.0.1:$resp" \
    --token "$TOKEN" \
    --read-only-token "$RO_TOKEN" \
    --data-dir "$WORK/$name/data" \
    --qstash-token "$QSTASH_TOKEN" \
    --qstash-current-signing-key "$QSTASH_CURRENT_SIGNING_KEY" \
    --qstash-next-signing-key "$QSTASH_NEXT_SIGNING_KEY" \
    "$@" \
    >"$WORK/$name/larder.log" 2>&1 &
  STARTED_PID=$!
  STARTED_URL="http://127.0.0.1:$http"
}

# wait_ready NAME PID URL: waits for GET /healthz; on failure prints the log and exits
wait_ready() {
  local name=$1 pid=$2 url=$3 deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "larder ($name) exited during startup; its output:"
      sed 's/^/  | /' "$WORK/$name/larder.log" >&2 || true
      echo "compat: 0 passed, 1 failed"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "larder ($name) did not answer GET /healthz within 60 s; its output:"
      sed 's/^/  | /' "$WORK/$name/larder.log" >&2 || true
      echo "compat: 0 passed, 1 failed"
      exit 1
    fi
    sleep 0.1
  done
}

# fail fast on dependency problems, before the server starts
for s in $SUITES; do
  case "$s" in
    js) install_js ;;
    py) install_py; install_js ;; # the Python rate-limit tests drive the JS limiter with node
    *) log "unknown suite '$s'"; exit 2 ;;
  esac
done

start_server server
SERVER_PID=$STARTED_PID
URL=$STARTED_URL
log "starting $LARDER_BIN on $URL"
EXTRA_URLS=()
for i in $(seq 1 "$EXTRA_SERVERS"); do
  start_server "region$i"
  EXTRA_PIDS+=("$STARTED_PID")
  EXTRA_URLS+=("$STARTED_URL")
done
if ((EXTRA_SERVERS > 0)); then log "extra instances for the multi-region tests: ${EXTRA_URLS[*]}"; fi
start_server qstash
QSTASH_PID=$STARTED_PID
QSTASH_URL=$STARTED_URL
EXTRA_PIDS+=("$QSTASH_PID")
log "instance for the QStash tests: $QSTASH_URL"
start_server qstash-dev --qstash-dev
QSTASH_DEV_PID=$STARTED_PID
QSTASH_DEV_URL=$STARTED_URL
EXTRA_PIDS+=("$QSTASH_DEV_PID")
LARDER_QSTASH_DEV_PORT="${QSTASH_DEV_URL##*:}"
log "instance in QStash dev mode (--qstash-dev): $QSTASH_DEV_URL"
wait_ready server "$SERVER_PID" "$URL"
wait_ready qstash "$QSTASH_PID" "$QSTASH_URL"
wait_ready qstash-dev "$QSTASH_DEV_PID" "$QSTASH_DEV_URL"
for i in "${!EXTRA_URLS[@]}"; do wait_ready "region$((i + 1))" "${EXTRA_PIDS[$i]}" "${EXTRA_URLS[$i]}"; done
log "larder is ready"

export UPSTASH_REDIS_REST_URL="$URL"
export UPSTASH_REDIS_REST_TOKEN="$TOKEN"
export LARDER_READ_ONLY_TOKEN="$RO_TOKEN"
LARDER_EXTRA_REST_URLS="$(IFS=,; echo "${EXTRA_URLS[*]}")"
export LARDER_EXTRA_REST_URLS
export QSTASH_URL QSTASH_TOKEN QSTASH_CURRENT_SIGNING_KEY QSTASH_NEXT_SIGNING_KEY LARDER_QSTASH_DEV_PORT
unset QSTASH_DEV QSTASH_DEV_PORT QSTASH_REGION || true
unset KV_REST_API_URL KV_REST_API_TOKEN UPSTASH_DISABLE_TELEMETRY || true

# --- suites ------------------------------------------------------------------------------------
PASSED=0
FAILED=0
SKIPPED=0

# add_counts P F S: accumulate one runner's counts
add_counts() {
  PASSED=$((PASSED + $1))
  FAILED=$((FAILED + $2))
  SKIPPED=$((SKIPPED + $3))
}

run_js() {
  local tap="$RESULTS/js.tap" rc=0 files
  log "running the JS suite (node --test)"
  # zz-flush.test.mjs sorts last: it wipes the database
  # shellcheck disable=SC2086
  files=$(cd "$HERE/js" && ls $JS_FILES | LC_ALL=C sort)
  # shellcheck disable=SC2086
  (cd "$HERE/js" && timeout --kill-after=10 "$SUITE_TIMEOUT" node --test \
    --test-concurrency=1 --test-timeout=120000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    ${NODE_TEST_ARGS:-} $files) || rc=$?
  local p f c s todo
  if [[ -s "$tap" ]] && grep -q '^# pass ' "$tap"; then
    p=$(awk '/^# pass /{print $3}' "$tap" | tail -1)
    f=$(awk '/^# fail /{print $3}' "$tap" | tail -1)
    c=$(awk '/^# cancelled /{print $3}' "$tap" | tail -1)
    s=$(awk '/^# skipped /{print $3}' "$tap" | tail -1)
    todo=$(awk '/^# todo /{print $3}' "$tap" | tail -1)
    f=$((${f:-0} + ${c:-0}))
    if ((rc != 0 && f == 0)); then f=1; fi # the runner failed without a failing test
    add_counts "${p:-0}" "$f" "$((${s:-0} + ${todo:-0}))"
    log "js: ${p:-0} passed, $f failed, $((${s:-0} + ${todo:-0})) skipped (exit $rc)"
  else
    log "js: no TAP summary (exit $rc); counting the suite as one failure"
    add_counts 0 1 0
  fi
}

run_py() {
  local xml="$RESULTS/py.xml" rc=0
  log "running the Python suite (pytest)"
  # shellcheck disable=SC2086
  (cd "$HERE/py" && timeout --kill-after=10 "$SUITE_TIMEOUT" .venv/bin/python -m pytest \
    -q --junitxml="$xml" ${PYTEST_ARGS:-}) || rc=$?
  if [[ -s "$xml" ]]; then
    local counts
    counts=$(python3 - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0))
    e += int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(t - f - e - s, f + e, s)
PY
)
    local p f s
    read -r p f s <<<"$counts"
    if ((rc != 0 && f == 0)); then f=1; fi # e.g. exit 5 (nothing collected) or a crash
    add_counts "$p" "$f" "$s"
    log "py: $p passed, $f failed, $s skipped (exit $rc)"
  else
    log "py: no JUnit report (exit $rc); counting the suite as one failure"
    add_counts 0 1 0
  fi
}

for s in $SUITES; do
  "run_$s"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "larder is no longer running after the $s suite; its last output:"
    tail -n 50 "$WORK/server/larder.log" | sed 's/^/  | /' >&2 || true
  fi
  if ! kill -0 "$QSTASH_PID" 2>/dev/null; then
    log "the QStash instance is no longer running after the $s suite; its last output:"
    tail -n 50 "$WORK/qstash/larder.log" | sed 's/^/  | /' >&2 || true
  fi
done

summary="compat: $PASSED passed, $FAILED failed"
if ((SKIPPED > 0)); then summary="$summary, $SKIPPED skipped"; fi
echo "$summary"
((FAILED == 0))
