#!/usr/bin/env bash
# Load benchmark: resizer side by side with the services it replaces and competes with,
# driven by the same workloads (see BENCHMARKS.md for the figures).
#
#   bench/load.sh [PEER ...]      e.g. bench/load.sh vips oximg
#
# Uses the peer benchmark kit (origin nginx on 127.0.0.1:8081, peers, run.sh, report.py) from
# $BENCH_KIT (default ~/resizer-bench). If that folder does not exist it is copied from
# $BENCH_SRC (default ../shared/bench next to this repository) and set up once (apt packages,
# Python venvs, test photos; `oximg` as a peer builds that peer too). Everything listens on and
# talks to 127.0.0.1 only; every workload is bounded in requests or seconds. The kit's folder
# and its parents must be readable by nginx's worker user (www-data): a kit under a 0700 home
# folder answers 404 for every photo.
#
# Workloads (the kit's README says what each measures): ab, wrk, distinct (one hot source,
# many sizes), sources (every request a new source) and srcset (16 sources x widths 320-1600).
# At the end it prints the kit's table of every row and, from this run's rows only, each
# build's ratios to the peers against the performance targets (bench/targets.py).
#
# Env:
#   WORKLOADS        default "ab wrk distinct sources srcset"
#   RESIZER_BUILDS   which builds of resizer to run, default "default turbo": each is built
#                    once in release mode (turbo into target/bench-turbo, needs cmake and nasm)
#                    and measured as the peer `resizer` / `resizer-turbo`; "" runs none
#   RESIZER_BIN      use this binary instead of building the default build
#   RESIZER_TURBO_BIN  likewise for the turbo build (e.g. a copy built with other settings)
#   RESIZER_PORT     8080; RESIZER_ENV: extra VAR=value settings for resizer (e.g. cache sizes)
#   and the knobs of the kit's run.sh (WRK_DURATION, WRK_CONNS, ...).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$HOME/resizer-bench}
SRC=${BENCH_SRC:-$REPO/../shared/bench}
PORT=${RESIZER_PORT:-8080}
BUILDS=${RESIZER_BUILDS-default turbo}
export WORKLOADS=${WORKLOADS:-ab wrk distinct sources srcset}

if [[ ! -x $KIT/run.sh ]]; then
  [[ -d $SRC ]] || { echo "no benchmark kit at $KIT and none to copy at $SRC" >&2; exit 2; }
  cp -r "$SRC" "$KIT" && chmod -R u+w "$KIT"
  "$KIT/setup.sh"
fi
for peer in "$@"; do
  if [[ $peer == oximg && ! -x $KIT/oximg/bin/oximg ]]; then (cd "$KIT" && ./setup.sh oximg); fi
done

# The binary of one build, compiled once (cargo reuses it when nothing changed).
binary() {
  case $1 in
    default)
      if [[ -n ${RESIZER_BIN:-} ]]; then echo "$RESIZER_BIN"; return; fi
      cargo build --release --locked --manifest-path "$REPO/Cargo.toml" >&2
      echo "$REPO/target/release/resizer" ;;
    turbo)
      if [[ -n ${RESIZER_TURBO_BIN:-} ]]; then echo "$RESIZER_TURBO_BIN"; return; fi
      cargo build --release --locked --features turbo --target-dir "$REPO/target/bench-turbo" \
        --manifest-path "$REPO/Cargo.toml" >&2
      echo "$REPO/target/bench-turbo/release/resizer" ;;
    *) echo "unknown build $1 (default, turbo)" >&2; return 2 ;;
  esac
}

cd "$KIT"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
./peers.sh start origin >/dev/null 2>&1 || true

for build in $BUILDS; do
  bin=$(binary "$build")
  name=resizer; [[ $build != default ]] && name=resizer-$build
  # shellcheck disable=SC2086 # RESIZER_ENV is a list of VAR=value words
  env RESIZER_BIND=127.0.0.1:$PORT RESIZER_ALLOW_PRIVATE_NETWORKS=true RESIZER_LOG=warn \
    ${RESIZER_ENV:-} "$bin" serve > "logs/$name.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" >/dev/null && break
    sleep 0.1
  done
  curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" >/dev/null || { echo "$name did not start" >&2; exit 1; }
  SERVER_PIDS=$PID ./run.sh "$name" "http://127.0.0.1:$PORT" wh
  kill $PID; wait $PID 2>/dev/null || true
  trap - EXIT
done

for peer in "$@"; do
  ./peers.sh start "$peer"
  case $peer in
    seed-sync) ./run.sh seed-sync http://127.0.0.1:8090 wh ;;
    seed-gevent) ./run.sh seed-gevent http://127.0.0.1:8093 wh ;;
    thumbor) ./run.sh thumbor http://127.0.0.1:8091 thumbor ;;
    vips) ./run.sh vips http://127.0.0.1:8092 wh ;;
    oximg)
      # oximg reads from a fixed base: the file is in the path and {URL} rides in a query it
      # ignores, so `sources` is one source for it (its figure is an upper bound) and srcset,
      # where it fits inside WxH and caches results, is not comparable: not run.
      for wl in $WORKLOADS; do
        case $wl in
          ab | wrk) WORKLOADS=$wl ./run.sh oximg http://127.0.0.1:8095 '/resize/{W}/{H}/photo_1000.jpg?u={URL}' ;;
          distinct | sources) WORKLOADS=$wl ./run.sh oximg http://127.0.0.1:8095 '/resize/{W}/{H}/photo_12mp.jpg?u={URL}' ;;
        esac
      done ;;
    *) echo "unknown peer $peer" >&2 ;;
  esac || echo "run.sh failed for $peer" >&2
  ./peers.sh stop "$peer"
done
python3 report.py "${RESULTS:-results.csv}"
# The performance targets, as ratios to the peers measured in this run only.
echo
python3 "$REPO/bench/targets.py" --since "$STARTED" "${RESULTS:-results.csv}"
