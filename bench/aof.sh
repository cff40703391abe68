#!/usr/bin/env bash
# The durability benchmark: larder's append-only file beside redis-server's, in one run.
#
#   bash bench/aof.sh                 # 1M keys (≈ 5 min on 2 cores, after the release build)
#   KEYS=100000 OUT=- bash bench/aof.sh   # a quick look, printed only
#
# For each server (larder, redis-server), with the AOF on (`appendfsync everysec`):
#   1. load KEYS string keys `SET key:<12 digits> xxx` (redis-benchmark's shape) with redis-cli --pipe and
#      record the RSS growth per key (the same figure as bench/run.sh's memory phase);
#   2. stop cleanly and start again: the AOF holds KEYS `SET` records; time the load (the server's own
#      log line, and the wall time from exec to the first PONG);
#   3. BGREWRITEAOF, stop, start again: time the load of the rewritten base file. redis-server writes its
#      base as RDB by default (`aof-use-rdb-preamble yes`); it is measured that way and also with
#      `aof-use-rdb-preamble no` (a RESP base, as larder's is).
# Writes a markdown report to OUT (default docs/aof-benchmarks.md) with the date, machine and versions.
# Loopback only; every server started here is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
KEYS=${KEYS:-1000000}
OUT=${OUT:-$ROOT/docs/aof-benchmarks.md}
TOKEN=bench-token

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/aof.sh: %s\n' "$*" >&2; exit 1; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  log "installing redis-server and redis-tools"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
log "building larder (release)"
cargo build --release --locked -q -p larder-server
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LARDER=$TARGET/release/larder

WORK=$(mktemp -d /tmp/larder-aof-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
rcli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
lcli() { redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning -a "$TOKEN" "${@:2}"; }
# waits until the command prints PONG; prints the seconds since $1
wait_pong() { # start-time cli port
  local start=$1 i
  for i in $(seq 1 6000); do
    if [[ $("${@:2}" PING 2>/dev/null) == PONG ]]; then
      python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(now)"
      return
    fi
    sleep 0.02
  done
  die "no PONG from ${*:2} after 120 s"
}
# waits until neither a rewrite runs nor one is scheduled (INFO persistence), at most 150 s
wait_rewrite() { # cli port
  local info
  for _ in $(seq 1 3000); do
    info=$("$@" INFO persistence | tr -d '\r')
    grep -q '^aof_rewrite_in_progress:0$' <<<"$info" && grep -q '^aof_rewrite_scheduled:0$' <<<"$info" && return
    sleep 0.05
  done
  die "the rewrite on ${*:2} did not finish"
}
stop() { # pid
  kill -TERM "$1"
  for _ in $(seq 1 3000); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.02; done
  die "pid $1 did not stop"
}

log "generating $KEYS SET commands"
python3 - "$KEYS" "$WORK/strings.resp" <<'PY'
import sys
n = int(sys.argv[1])
with open(sys.argv[2], "wb") as f:
    for i in range(n):
        k = b"key:%012d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n" % (len(k), k))
PY

REPORT=$WORK/report.tsv
: >"$REPORT"
row() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$REPORT"; }

# ------------------------------------------------------------------ larder
L_HTTP=$(free_port) L_RESP=$(free_port)
L_DIR=$WORK/larder
start_larder() {
  STARTED=$(now)
  "$LARDER" --http "127.0.0.1:$L_HTTP" --resp "127.0.0.1:$L_RESP" --token "$TOKEN" --read-only-token "ro-$TOKEN" \
    --data-dir "$L_DIR" --appendonly yes --appendfsync everysec --quiet --log info >>"$WORK/larder.log" 2>&1 &
  LPID=$!
  PIDS+=("$LPID")
}
larder_loaded_line() { grep 'AOF loaded' "$WORK/larder.log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g'; }

log "larder: load $KEYS keys"
start_larder
wait_pong "$STARTED" lcli "$L_RESP" >/dev/null
RSS0=$(rss_kib "$LPID")
lcli "$L_RESP" --pipe <"$WORK/strings.resp" >"$WORK/larder-pipe.txt"
grep -q 'errors: 0,' "$WORK/larder-pipe.txt" || die "loading into larder: $(tail -2 "$WORK/larder-pipe.txt")"
[[ $(lcli "$L_RESP" DBSIZE) == "$KEYS" ]] || die "larder has $(lcli "$L_RESP" DBSIZE) keys"
RSS1=$(rss_kib "$LPID")
L_AOF_BYTES=$(du -sb "$L_DIR/appendonly" | cut -f1)
stop "$LPID"

log "larder: restart, load the AOF ($KEYS records)"
start_larder
L_WALL=$(wait_pong "$STARTED" lcli "$L_RESP")
L_LINE=$(larder_loaded_line)
[[ $(lcli "$L_RESP" DBSIZE) == "$KEYS" ]] || die "larder reloaded $(lcli "$L_RESP" DBSIZE) keys"
lcli "$L_RESP" BGREWRITEAOF >/dev/null
wait_rewrite lcli "$L_RESP"
L_BASE_BYTES=$(du -sb "$L_DIR/appendonly" | cut -f1)
stop "$LPID"

log "larder: restart, load the rewritten base"
start_larder
L_WALL2=$(wait_pong "$STARTED" lcli "$L_RESP")
L_LINE2=$(larder_loaded_line)
[[ $(lcli "$L_RESP" DBSIZE) == "$KEYS" ]] || die "larder reloaded $(lcli "$L_RESP" DBSIZE) keys after the rewrite"
stop "$LPID"
# "AOF loaded: 2 files, 1000000 records, 37.2 MB in 1.23 s (813008 records/s), 1000000 keys"
secs() { sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' <<<"$1"; }
rps() { sed -n 's/.*s (\([0-9]*\) records\/s).*/\1/p' <<<"$1"; }
row larder-mem "$(( (RSS1 - RSS0) * 1024 / KEYS ))" "$RSS0" "$RSS1"
row larder-load-incr "$(secs "$L_LINE")" "$(rps "$L_LINE")" "$L_WALL|$L_AOF_BYTES"
row larder-load-base "$(secs "$L_LINE2")" "$(rps "$L_LINE2")" "$L_WALL2|$L_BASE_BYTES"

# ------------------------------------------------------------------ redis-server
R_PORT=$(free_port)
start_redis() { # dir preamble
  STARTED=$(now)
  redis-server --port "$R_PORT" --bind 127.0.0.1 --save '' --dir "$1" --logfile "$1/redis.log" --daemonize no \
    --appendonly yes --appendfsync everysec --aof-use-rdb-preamble "$2" &
  RPID=$!
  PIDS+=("$RPID")
}
redis_load_secs() { # dir: the last "DB loaded from append only file: X seconds"
  grep 'DB loaded from append only file' "$1/redis.log" | tail -1 | sed -n 's/.*file: \([0-9.]*\) seconds.*/\1/p'
}
redis_round() { # name preamble
  local dir=$WORK/redis-$1
  mkdir -p "$dir"
  log "redis-server ($1): load $KEYS keys"
  start_redis "$dir" "$2"
  wait_pong "$STARTED" rcli "$R_PORT" >/dev/null
  local r0 r1 wall wall2 bytes bytes2 s s2
  r0=$(rss_kib "$RPID")
  rcli "$R_PORT" --pipe <"$WORK/strings.resp" >"$dir/pipe.txt"
  grep -q 'errors: 0,' "$dir/pipe.txt" || die "loading into redis: $(tail -2 "$dir/pipe.txt")"
  r1=$(rss_kib "$RPID")
  bytes=$(du -sb "$dir/appendonlydir" | cut -f1)
  stop "$RPID"
  log "redis-server ($1): restart, load the AOF"
  start_redis "$dir" "$2"
  wall=$(wait_pong "$STARTED" rcli "$R_PORT")
  s=$(redis_load_secs "$dir")
  [[ $(rcli "$R_PORT" DBSIZE) == "$KEYS" ]] || die "redis reloaded $(rcli "$R_PORT" DBSIZE) keys"
  rcli "$R_PORT" BGREWRITEAOF >/dev/null
  wait_rewrite rcli "$R_PORT"
  bytes2=$(du -sb "$dir/appendonlydir" | cut -f1)
  stop "$RPID"
  log "redis-server ($1): restart, load the rewritten base"
  start_redis "$dir" "$2"
  wall2=$(wait_pong "$STARTED" rcli "$R_PORT")
  s2=$(redis_load_secs "$dir")
  [[ $(rcli "$R_PORT" DBSIZE) == "$KEYS" ]] || die "redis reloaded $(rcli "$R_PORT" DBSIZE) keys after the rewrite"
  stop "$RPID"
  [[ $1 == rdb-preamble ]] && row redis-mem "$(( (r1 - r0) * 1024 / KEYS ))" "$r0" "$r1"
  row "redis-$1-load-incr" "$s" "$(python3 -c "print(round($KEYS / max($s, 1e-6)))")" "$wall|$bytes"
  row "redis-$1-load-base" "$s2" "$(python3 -c "print(round($KEYS / max($s2, 1e-6)))")" "$wall2|$bytes2"
}
redis_round rdb-preamble yes
redis_round resp-base no

# ------------------------------------------------------------------ report
LARDER_VERSION=$("$LARDER" --version)
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
python3 - "$REPORT" "$KEYS" "${LARDER_VERSION#larder } ($(git rev-parse --short HEAD))" "$REDIS_VERSION" \
  "$(nproc) CPUs, $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), load average at end $(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$WORK/report.md" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, a, b, c = line.rstrip("\n").split("\t")
    rows[name] = (a, b, c)
keys, larder, redis, machine, date = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def mb(n): return f"{int(n) / 1e6:.1f} MB"
out = []
p = out.append
p("# Durability benchmarks: the append-only file\n")
p("<!-- Generated by bench/aof.sh; rerun it to refresh. -->\n")
p(f"Measured {date} on loopback: {machine}. larder {larder}; redis-server {redis}. Both with the AOF on, "
  f"`appendfsync everysec`; {keys:,} string keys `SET key:<12 digits> xxx` loaded with `redis-cli --pipe`. "
  "Load times are each server's own log line (larder: `AOF loaded ... in X s`; redis: `DB loaded from append "
  "only file: X seconds`); the wall time runs from exec to the first `PONG`.\n")
p("## AOF load speed\n")
p("| server | what is loaded | files on disk | load time | records/s | exec → first PONG |")
p("| --- | --- | ---: | ---: | ---: | ---: |")
def load_row(server, what, key):
    s, r, extra = rows[key]
    wall, size = extra.split("|")
    p(f"| {server} | {what} | {mb(size)} | {float(s):.2f} s | {int(r):,} | {wall} s |")
load_row("larder", f"{keys:,} `SET` records (the incremental file)", "larder-load-incr")
load_row("redis-server", f"{keys:,} `SET` records (the incremental file)", "redis-resp-base-load-incr")
load_row("larder", "after `BGREWRITEAOF`: the base file (RESP)", "larder-load-base")
load_row("redis-server", "after `BGREWRITEAOF`: the base file (RESP, `aof-use-rdb-preamble no`)", "redis-resp-base-load-base")
load_row("redis-server", "after `BGREWRITEAOF`: the base file (RDB, redis's default)", "redis-rdb-preamble-load-base")
p("")
p("## Memory per key (RSS growth)\n")
lm, rm = rows["larder-mem"], rows["redis-mem"]
p("| server | RSS before | RSS after | bytes per key |")
p("| --- | ---: | ---: | ---: |")
p(f"| larder | {int(lm[1]) // 1024} MiB | {int(lm[2]) // 1024} MiB | {lm[0]} |")
p(f"| redis-server | {int(rm[1]) // 1024} MiB | {int(rm[2]) // 1024} MiB | {rm[0]} |")
p(f"\nlarder / redis-server: **{int(lm[0]) / max(int(rm[0]), 1):.2f}×** bytes per key.\n")
print("\n".join(out))
PY
if [[ $OUT == - ]]; then cat "$WORK/report.md"; else cp "$WORK/report.md" "$OUT"; cat "$OUT"; log "wrote $OUT"; fi
