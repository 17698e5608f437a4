#!/usr/bin/env bash
# Soak: resizer under 10 minutes of mixed load with faults, on 127.0.0.1 only (issue 16).
#
#   bench/soak.sh [OUT_DIR]            default OUT_DIR: bench/out/soak-<date>
#
# Starts the release build of resizer and its own misbehaving origin (bench/fault_origin.py:
# normal, slow and dripping sources, origins answering 5xx or 404 or resetting, bodies closed
# early, cut and corrupt files, random bytes, a PNG claiming 100000x100000, a source whose
# bytes change every request), drives a mixed load with clients hanging up before and during
# the answer (bench/soak.py), samples RSS (/proc/PID/status VmRSS) and open fds
# (/proc/PID/fd) every 10 s, and fails (exit 1) on a 500, a status the case does not allow,
# a client timeout, RSS or fds still growing after warm-up (soak.py says how that is judged),
# a panic in the server's log, or a server that died or stopped answering /health.
# Writes soak.csv, soak.svg (RSS and fds over time), statuses.txt, metrics.txt and server.log.
#
# Env:
#   SOAK_SECONDS         600 (bounded: the load stops then; each request has a 30 s client timeout)
#   SOAK_WORKERS         6 clients looping over the cases, SOAK_HANGUP_WORKERS 1
#   SOAK_PORT            8180 (resizer), SOAK_ORIGIN_PORT 8181 (the fault origin)
#   IMAGES               folder with photo_1000.jpg, photo_12mp.jpg, photo_800x600.png
#                        (default: the bench kit's images/, which its setup.sh makes)
#   RESIZER_BIN          use this binary instead of building the release build
#   RESIZER_ENV          extra VAR=value settings for resizer
# The soak's own settings: caches smaller than the defaults (16MB result, 16MB source, 32MB
# decode) so they fill during warm-up and a leak is not hidden by a cache still filling;
# cache_ttl 5s so the changing source is revalidated; download_timeout 3s so dripping
# origins end in a 504 quickly.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TOTAL=${SOAK_SECONDS:-600}
PORT=${SOAK_PORT:-8180}
OPORT=${SOAK_ORIGIN_PORT:-8181}
OUT=${1:-$REPO/bench/out/soak-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"

IMAGES=${IMAGES:-}
if [[ -z $IMAGES ]]; then
  for d in "${BENCH_KIT:-$HOME/resizer-bench}/images" "$REPO/../bench-kit/images"; do
    [[ -f $d/photo_12mp.jpg ]] && { IMAGES=$d; break; }
  done
fi
[[ -n $IMAGES ]] || { echo "no images: set IMAGES or BENCH_KIT (see bench/load.sh)" >&2; exit 2; }
for f in photo_1000.jpg photo_12mp.jpg photo_800x600.png; do
  [[ -f $IMAGES/$f ]] || { echo "missing $IMAGES/$f" >&2; exit 2; }
done

if [[ -n ${RESIZER_BIN:-} ]]; then BIN=$RESIZER_BIN; else
  cargo build --release --locked --manifest-path "$REPO/Cargo.toml" >&2
  BIN=$REPO/target/release/resizer
fi

for p in "$PORT" "$OPORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is in use" >&2; exit 2; fi
done

python3 "$REPO/bench/fault_origin.py" "$OPORT" "$IMAGES" > "$OUT/origin.log" 2>&1 &
ORIGIN_PID=$!
# shellcheck disable=SC2086 # RESIZER_ENV is a list of VAR=value words
env RESIZER_BIND=127.0.0.1:$PORT RESIZER_ALLOW_PRIVATE_NETWORKS=true RESIZER_LOG=warn \
  RESIZER_CACHE_BYTES=16MB RESIZER_SOURCE_CACHE_BYTES=16MB RESIZER_DECODE_CACHE_BYTES=32MB \
  RESIZER_CACHE_TTL=5s RESIZER_DOWNLOAD_TIMEOUT=3s ${RESIZER_ENV:-} \
  "$BIN" serve > "$OUT/server.log" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  kill "$ORIGIN_PID" 2>/dev/null || true
  wait "$PID" "$ORIGIN_PID" 2>/dev/null || true
}
trap cleanup EXIT

up() { curl -sf --max-time 2 "$1" >/dev/null; }
for _ in $(seq 1 100); do
  up "http://127.0.0.1:$PORT/health" && (exec 3<>"/dev/tcp/127.0.0.1/$OPORT") 2>/dev/null && break
  sleep 0.1
done
up "http://127.0.0.1:$PORT/health" || { echo "resizer did not start" >&2; cat "$OUT/server.log" >&2; exit 1; }

echo "soak: ${SECONDS_TOTAL}s, resizer pid $PID on $PORT, fault origin on $OPORT, out $OUT"
status=0
python3 "$REPO/bench/soak.py" "http://127.0.0.1:$PORT" "http://127.0.0.1:$OPORT" "$PID" \
  "$SECONDS_TOTAL" "$OUT" || status=1

if ! kill -0 "$PID" 2>/dev/null; then echo "FAIL: resizer died" >&2; status=1
elif ! up "http://127.0.0.1:$PORT/health"; then echo "FAIL: resizer stopped answering /health" >&2; status=1
else curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" > "$OUT/metrics.txt" || true
fi
kill -TERM "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
if grep -qi 'panic' "$OUT/server.log"; then
  echo "FAIL: panic in the server log:" >&2; grep -i -m5 'panic' "$OUT/server.log" >&2; status=1
fi
errors=$(grep -c ' ERROR ' "$OUT/server.log" || true)
echo "server log: $(wc -l < "$OUT/server.log") lines, $errors at ERROR level; results in $OUT"
[[ $errors -eq 0 ]] || { grep -m5 ' ERROR ' "$OUT/server.log" >&2; status=1; }
[[ $status -eq 0 ]] && echo "soak: clean" || echo "soak: FAILED" >&2
exit $status
