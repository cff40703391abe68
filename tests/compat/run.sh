#!/usr/bin/env bash
# Compatibility suite: runs the official Upstash clients (@upstash/redis from npm, upstash-redis
# from PyPI) against a freshly started larder server and prints one summary line:
#
#   compat: N passed, N failed[, N skipped]
#
# Environment:
#   LARDER_BIN            server binary (default: <repo>/target/debug/larder; nothing is built)
#   COMPAT_SUITES         which suites to run: "js py" (default), "js" or "py"
#   COMPAT_SUITE_TIMEOUT  seconds before a hanging suite is killed (default 900)
#   COMPAT_KEEP_TMP=1     keep the temp dir (server log, data dir, TAP/JUnit reports)
#   NODE_TEST_ARGS / PYTEST_ARGS   extra arguments for the runners (e.g. a -k filter)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))"
LARDER_BIN="${LARDER_BIN:-$ROOT/target/debug/larder}"
SUITES="${COMPAT_SUITES:-js py}"
SUITE_TIMEOUT="${COMPAT_SUITE_TIMEOUT:-900}"

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
mkdir -p "$RESULTS" "$WORK/data"
SERVER_PID=""

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
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

HTTP_PORT="$(free_port)"
RESP_PORT="$(free_port)"
while [[ "$RESP_PORT" == "$HTTP_PORT" ]]; do RESP_PORT="$(free_port)"; done
TOKEN="rw_$(rand_token)"
RO_TOKEN="ro_$(rand_token)"
URL="http://127.0.0.1:$HTTP_PORT"

# fail fast on dependency problems, before the server starts
for s in $SUITES; do
  case "$s" in
    js) install_js ;;
    py) install_py ;;
    *) log "unknown suite '$s'"; exit 2 ;;
  esac
done

log "starting $LARDER_BIN on $URL"
"$LARDER_BIN" \
  --http "127.0.0.1:$HTTP_PORT" \
  --resp "127.0.0.1:$RESP_PORT" \
  --token "$TOKEN" \
  --read-only-token "$RO_TOKEN" \
  --data-dir "$WORK/data" \
  >"$WORK/larder.log" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + 60))
until curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "larder exited during startup; its output:"
    sed 's/^/  | /' "$WORK/larder.log" >&2 || true
    SERVER_PID=""
    echo "compat: 0 passed, 1 failed"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    log "larder did not answer GET /healthz within 60 s; its output:"
    sed 's/^/  | /' "$WORK/larder.log" >&2 || true
    echo "compat: 0 passed, 1 failed"
    exit 1
  fi
  sleep 0.1
done
log "larder is ready"

export UPSTASH_REDIS_REST_URL="$URL"
export UPSTASH_REDIS_REST_TOKEN="$TOKEN"
export LARDER_READ_ONLY_TOKEN="$RO_TOKEN"
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
  log "running the @upstash/redis suite (node --test)"
  # zz-flush.test.mjs sorts last: it wipes the database
  files=$(cd "$HERE/js" && ls test/*.test.mjs | LC_ALL=C sort)
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
  log "running the upstash-redis suite (pytest)"
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
    tail -n 50 "$WORK/larder.log" | sed 's/^/  | /' >&2 || true
  fi
done

summary="compat: $PASSED passed, $FAILED failed"
if ((SKIPPED > 0)); then summary="$summary, $SKIPPED skipped"; fi
echo "$summary"
((FAILED == 0))
