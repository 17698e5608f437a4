#!/usr/bin/env bash
# Overload: the `sources` workload (every request a new 12 MP source, bench/load.sh) at the
# concurrency the bench kit measures capacity with (-c50) and at 4x that (-c200), on resizer
# with and without `max_queue_wait` and on the libvips service, side by side (issue 16).
#
#   bench/overload.sh                 prints one line per run and writes bench/out/overload.csv
#
# Uses the bench kit (origin nginx on 127.0.0.1:8081, the libvips service on 8092, wrk and its
# wrk-bench.lua) from $BENCH_KIT (default ~/resizer-bench, see bench/load.sh). Reuses an origin
# or a vips service already listening; stops only what it started. Loopback only; each run is
# bounded (OVERLOAD_SECONDS, default 20, wrk's --timeout 30s).
#
# Env: OVERLOAD_SECONDS (20), CONNS ("50 200"), WAITS (max_queue_wait values, "0 2s"; 0 = off),
#      PEERS ("resizer vips"), RESIZER_BIN (else the release build), RESIZER_PORT (8080).
# The load is bench/overload_client.py: closed-loop keep-alive connections like `wrk -cN`
# sending the kit's `sources` requests, which keeps each request's latency with its status.
# Per run: requests served (2xx) with their p50/p99, 503s (how many with Retry-After, and
# their p99), other statuses, socket errors and client timeouts (30 s).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$HOME/resizer-bench}
[[ -x $KIT/run.sh ]] || KIT=$REPO/../bench-kit
[[ -x $KIT/run.sh ]] || { echo "no bench kit (set BENCH_KIT; bench/load.sh sets one up)" >&2; exit 2; }
SECS=${OVERLOAD_SECONDS:-20}
CONNS=${CONNS:-50 200}
WAITS=${WAITS:-0 2s}
PEERS=${PEERS:-resizer vips}
PORT=${RESIZER_PORT:-8080}
OUT=$REPO/bench/out
mkdir -p "$OUT"
CSV=$OUT/overload.csv
[[ -s $CSV ]] || echo "date,server,max_queue_wait,conns,seconds,served,served_rps,p50_ms,p99_ms,s503,s503_retry_after,s503_p99_ms,other_status,socket_errors,timeouts" > "$CSV"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
STARTED=()
stop_started() {
  for name in "${STARTED[@]}"; do (cd "$KIT" && ./peers.sh stop "$name" >/dev/null) || true; done
}
trap stop_started EXIT
if ! listening 8081; then (cd "$KIT" && ./peers.sh start origin >/dev/null); STARTED+=(origin); fi

run() {  # run SERVER WAIT BASE CONNS
  local server=$1 wait=$2 base=$3 conns=$4 log
  log=$OUT/overload-$server-$wait-c$conns.log
  timeout $((SECS + 60)) python3 "$REPO/bench/overload_client.py" "$base" "$conns" "$SECS" > "$log" 2>&1 || true
  local line; line=$(grep '^OVERLOAD' "$log" || echo "OVERLOAD 0 0 nan nan 0 0 0 0 0 nan")
  read -r _ served rps p50 p99 s503 ra other errs tmo p99_503 <<<"$line"
  echo "$(date -Is),$server,$wait,$conns,$SECS,$served,$rps,$p50,$p99,$s503,$ra,$p99_503,$other,$errs,$tmo" >> "$CSV"
  printf '%-8s wait=%-4s c=%-4s served=%-6s (%s/s) p50=%sms p99=%sms 503=%s (Retry-After %s, p99 %sms) other=%s errors=%s timeouts=%s\n' \
    "$server" "$wait" "$conns" "$served" "$rps" "$p50" "$p99" "$s503" "$ra" "$p99_503" "$other" "$errs" "$tmo"
}

warm() { for _ in 1 2 3; do curl -s -o /dev/null --max-time 30 "$1/w_300?url=http://127.0.0.1:8081/photo_12mp.jpg" || true; done; }

for peer in $PEERS; do
  case $peer in
    resizer)
      BIN=${RESIZER_BIN:-}
      if [[ -z $BIN ]]; then
        cargo build --release --locked --manifest-path "$REPO/Cargo.toml" >&2
        BIN=$REPO/target/release/resizer
      fi
      for wait in $WAITS; do
        RESIZER_BIND=127.0.0.1:$PORT RESIZER_ALLOW_PRIVATE_NETWORKS=true RESIZER_LOG=error \
          RESIZER_MAX_QUEUE_WAIT=$wait "$BIN" serve > "$OUT/overload-resizer-$wait.server.log" 2>&1 &
        PID=$!
        for _ in $(seq 1 100); do curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
        warm "http://127.0.0.1:$PORT"
        for c in $CONNS; do run resizer "$wait" "http://127.0.0.1:$PORT" "$c"; sleep 3; done
        kill "$PID"; wait "$PID" 2>/dev/null || true
      done ;;
    vips)
      if ! listening 8092; then (cd "$KIT" && ./peers.sh start vips >/dev/null); STARTED+=(vips); fi
      warm http://127.0.0.1:8092
      for c in $CONNS; do run vips - http://127.0.0.1:8092 "$c"; sleep 3; done ;;
    *) echo "unknown peer $peer" >&2 ;;
  esac
done
