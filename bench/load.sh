#!/usr/bin/env bash
# Load benchmark: resizer side by side with the services it replaces and competes with,
# driven by the same ab/wrk workloads (see BENCHMARKS.md for the figures).
#
#   bench/load.sh [PEER ...]      e.g. bench/load.sh seed-gevent vips
#
# Uses the peer benchmark kit (origin nginx on 127.0.0.1:8081, peers, run.sh, report.py) from
# $BENCH_KIT (default ~/resizer-bench). If that folder does not exist it is copied from
# $BENCH_SRC (default ../shared/bench next to this repository) and set up once (apt packages,
# Python venvs, test photos). Everything listens on and talks to 127.0.0.1 only; every workload
# is bounded in requests or seconds. The kit's folder and its parents must be readable by
# nginx's worker user (www-data): a kit under a 0700 home folder answers 404 for every photo.
#
# Env: RESIZER_PORT (8080), RESIZER_BIN (target/release/resizer, built if missing),
# WORKLOADS ("ab wrk distinct"), and the knobs of the kit's run.sh (WRK_DURATION, ...).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$HOME/resizer-bench}
SRC=${BENCH_SRC:-$REPO/../shared/bench}
PORT=${RESIZER_PORT:-8080}
BIN=${RESIZER_BIN:-$REPO/target/release/resizer}

if [[ ! -x $KIT/run.sh ]]; then
  [[ -d $SRC ]] || { echo "no benchmark kit at $KIT and none to copy at $SRC" >&2; exit 2; }
  cp -r "$SRC" "$KIT" && chmod -R u+w "$KIT"
  "$KIT/setup.sh"
fi
[[ -x $BIN ]] || cargo build --release --locked --manifest-path "$REPO/Cargo.toml"

cd "$KIT"
./peers.sh start origin >/dev/null 2>&1 || true

RESIZER_BIND=127.0.0.1:$PORT RESIZER_ALLOW_PRIVATE_NETWORKS=true RESIZER_LOG=warn \
  "$BIN" serve > logs/resizer.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.1
done
curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" >/dev/null || { echo "resizer did not start" >&2; exit 1; }

SERVER_PIDS=$PID ./run.sh resizer "http://127.0.0.1:$PORT" wh
kill $PID; wait $PID 2>/dev/null || true
trap - EXIT

for peer in "$@"; do
  ./peers.sh start "$peer"
  case $peer in
    seed-sync) ./run.sh seed-sync http://127.0.0.1:8090 wh ;;
    seed-gevent) ./run.sh seed-gevent http://127.0.0.1:8093 wh ;;
    thumbor) ./run.sh thumbor http://127.0.0.1:8091 thumbor ;;
    vips) ./run.sh vips http://127.0.0.1:8092 wh ;;
    *) echo "unknown peer $peer" >&2 ;;
  esac || echo "run.sh failed for $peer" >&2
  ./peers.sh stop "$peer"
done
python3 report.py
