#!/usr/bin/env bash
# Runs deploy/nginx/resizer.conf for real, on loopback, in front of a real resizer, and checks the
# old service's contract through it plus the cache behaviour:
#
#   GET /health                                   -> 200, body OK, never served from the cache
#   GET /w_150,h_500?url=http://<origin>/<jpeg>   -> 200 image/jpeg, 150x500
#   the same request again                        -> X-Cache-Status: HIT, same bytes
#   POST /health -> 405;  GET /metrics -> 404 (not exposed through nginx)
#
# The config is used as shipped except for three sed rewrites, each checked to apply exactly once:
# the `listen 80 default_server;` line, the `set $resizer_upstream resizer:8080;` line, and the
# proxy_cache_path directory (moved into a temporary directory).
#
# Needs nginx, curl and python3. Without nginx it prints SKIPPED and exits 0.
# Environment:
#   RESIZER_BIN       resizer binary to use (default: `cargo build --release --locked`, then
#                     target/release/resizer)
#   NGINX             nginx binary (default: `nginx` on PATH)
#   KEEP_WORKDIR=1    keep the temporary directory (configs, logs) for inspection
# Everything listens on 127.0.0.1 on free ports; every wait is bounded; every process started
# here is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF="$ROOT/deploy/nginx/resizer.conf"

log() { printf 'nginx-check: %s\n' "$*"; }

NGINX=${NGINX:-$(command -v nginx || true)}
if [[ -z $NGINX ]]; then
    echo "SKIPPED: nginx is not installed (apt-get install -y nginx)"
    exit 0
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "nginx-check: FAIL: $tool is required" >&2; exit 1; }
done
[[ -f $CONF ]] || { echo "nginx-check: FAIL: $CONF is missing" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nginx-check.XXXXXX")
PIDS=()

# Stops what this script started: SIGTERM, up to 5 s, then SIGKILL (children included, for
# nginx's workers), by process id only.
stop_pid() {
    local pid=$1 children=() i
    mapfile -t children < <(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" "${children[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
    if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "nginx-check: FAIL: $*" >&2
    for f in resizer.log origin.log nginx-error.log; do
        if [[ -s $WORK/$f ]]; then
            echo "---- last lines of $f ----" >&2
            tail -n 20 "$WORK/$f" >&2
        fi
    done
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for URL SECONDS: polls until the URL answers 200.
wait_for() {
    local url=$1 seconds=$2 i
    for ((i = 0; i < seconds * 5; i++)); do
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# ---- the resizer binary --------------------------------------------------------------------------
if [[ -n ${RESIZER_BIN:-} ]]; then
    BIN=$RESIZER_BIN
else
    log "building resizer (cargo build --release --locked)"
    (cd "$ROOT" && cargo build --release --locked --bin resizer) || fail "cargo build failed"
    target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
    [[ $target_dir == /* ]] || target_dir=$ROOT/$target_dir
    BIN=$target_dir/release/resizer
fi
[[ -x $BIN ]] || fail "resizer binary $BIN is missing or not executable"

# ---- a source image on a static origin -----------------------------------------------------------
mkdir -p "$WORK/origin"
IMAGE=$WORK/origin/source.jpg
fixture=$(find "$ROOT/tests/fixtures" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) \
    2>/dev/null | sort | head -n 1 || true)
if [[ -n $fixture ]]; then
    cp "$fixture" "$IMAGE"
    log "source image: $fixture"
elif python3 -c 'import PIL' 2>/dev/null; then
    python3 - "$IMAGE" <<'EOF'
import sys
from PIL import Image

image = Image.new("RGB", (640, 480))
image.putdata([(x * 255 // 639, y * 255 // 479, 96) for y in range(480) for x in range(640)])
image.save(sys.argv[1], "JPEG", quality=85)
EOF
    log "source image: 640x480 gradient made with Pillow"
else
    # A 64x48 baseline JPEG (558 bytes).
    base64 -d >"$IMAGE" <<'EOF'
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEEx
NDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7
Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAAwAEADASIAAhEBAxEB/8QAGQABAQEBAQEAAAAAAAAAAAAABAUBBgIH/8QAFxAAAwEAAAAA
AAAAAAAAAAAAAAIEYf/EABcBAQEBAQAAAAAAAAAAAAAAAAUEAwf/xAAeEQABAQkAAAAAAAAAAAAAAAADAAIREhQxUWGBkf/a
AAwDAQACEQMRAD8A+TpPhQSfBiT4Yk+CTRpPL9U7dYgPEhpPhRSfBaT4Yk+EzRZPL9U7dNAPEiJPhQSfBaT4Yk+E7RpPL9U7
dMgPEiJPhQSfBiT4eUnwmaNJ5fqnbpoB4lzqT4UEnwWk+GJPhq0WTy/VO3XFwHiREnwoJPgtJ8MSfCZo0nl+qdumgHiREnwo
pPgtJ8MSfCdo0nl+qdumgHiREnwoJPgtJ8MSfCZosnl+qdumQHiXOJPhRSfBaT4Yk+GrRpPL9U7dcYAeJESfCgk+C0nwxJ8J
miyeX6p26ZAeJESfCgk+C0nwxJ8JmjSeX6p26aAeJESfCik+C0nwxJ8J2jSeX6p26ZAeJf/Z
EOF
    log "source image: built-in 64x48 JPEG"
fi

ORIGIN_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/origin" "$ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$ORIGIN_PORT/source.jpg" 10 || fail "the static origin did not start"

# ---- resizer -------------------------------------------------------------------------------------
RESIZER_PORT=$(free_port)
NO_COLOR=1 RESIZER_BIND=127.0.0.1:$RESIZER_PORT RESIZER_ALLOW_PRIVATE_NETWORKS=true RESIZER_LOG_FORMAT=text \
    "$BIN" serve >"$WORK/resizer.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$RESIZER_PORT/health" 30 || fail "resizer did not answer /health on 127.0.0.1:$RESIZER_PORT"

# ---- nginx with the shipped config ---------------------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$WORK/cache" "$WORK/tmp"
sed -e "s|^\([[:space:]]*\)listen 80 default_server;|\1listen 127.0.0.1:$NGINX_PORT default_server;|" \
    -e "s|^\([[:space:]]*\)set \$resizer_upstream resizer:8080;|\1set \$resizer_upstream 127.0.0.1:$RESIZER_PORT;|" \
    -e "s|^proxy_cache_path /var/cache/nginx/resizer |proxy_cache_path $WORK/cache |" \
    "$CONF" >"$WORK/resizer.conf"
for expected in "listen 127.0.0.1:$NGINX_PORT default_server;" \
    "set \$resizer_upstream 127.0.0.1:$RESIZER_PORT;" \
    "proxy_cache_path $WORK/cache "; do
    count=$(grep -cF -- "$expected" "$WORK/resizer.conf" || true)
    [[ $count == 1 ]] || fail "rewriting $CONF for the test gave $count lines with '$expected' (expected 1): \
the line it rewrites has changed; keep it as documented at the top of the file"
done

# nginx refuses to run workers as root unless told to; as another user the directive is ignored.
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root;"
cat >"$WORK/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log $WORK/nginx-access.log;
    default_type application/octet-stream;
    client_body_temp_path $WORK/tmp/body;
    proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi;
    uwsgi_temp_path $WORK/tmp/uwsgi;
    scgi_temp_path $WORK/tmp/scgi;
    include $WORK/resizer.conf;
}
EOF
NGINX_ARGS=(-p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log")
"$NGINX" -t -q "${NGINX_ARGS[@]}" >"$WORK/nginx-t.log" 2>&1 || {
    cat "$WORK/nginx-t.log" >&2
    fail "nginx -t rejects deploy/nginx/resizer.conf"
}
log "nginx -t: the config is valid ($("$NGINX" -v 2>&1))"
"$NGINX" "${NGINX_ARGS[@]}" >"$WORK/nginx-stdout.log" 2>&1 &
PIDS+=($!)
BASE=http://127.0.0.1:$NGINX_PORT
wait_for "$BASE/health" 15 || fail "nginx did not answer /health on 127.0.0.1:$NGINX_PORT"

# request NAME CURL_ARGS...: fetches into $WORK/NAME.body / NAME.headers; prints the status.
request() {
    local name=$1
    shift
    curl -sS --max-time 30 -o "$WORK/$name.body" -D "$WORK/$name.headers" -w '%{http_code}' "$@" \
        || fail "curl $* failed"
}
header() { # header NAME FIELD: the field's value (last one), without CR
    { grep -i "^$2:" "$WORK/$1.headers" || true; } | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

# ---- checks --------------------------------------------------------------------------------------
status=$(request health1 "$BASE/health")
[[ $status == 200 ]] || fail "GET /health through nginx: status $status, expected 200"
[[ $(cat "$WORK/health1.body") == OK ]] || fail "GET /health through nginx: body '$(head -c 100 "$WORK/health1.body")', expected OK"
status=$(request health2 "$BASE/health")
[[ $status == 200 ]] || fail "second GET /health: status $status"
cache=$(header health2 X-Cache-Status)
[[ $cache != HIT ]] || fail "GET /health was served from the cache (X-Cache-Status: HIT)"
log "ok: /health -> 200 OK, not cached${cache:+ (X-Cache-Status: $cache)}"

status=$(request post -X POST "$BASE/health")
[[ $status == 405 ]] || fail "POST /health: status $status, expected 405"
log "ok: POST -> 405"

status=$(request metrics "$BASE/metrics")
[[ $status == 404 ]] || fail "GET /metrics through nginx: status $status, expected 404 (scraped per replica)"
status=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RESIZER_PORT/metrics" || true)
[[ $status == 200 ]] || fail "GET /metrics on resizer itself: status $status, expected 200"
log "ok: /metrics -> 404 through nginx, 200 on the replica"

# The old service's call: the source URL raw, not percent-encoded.
IMAGE_PATH="/w_150,h_500?url=http://127.0.0.1:$ORIGIN_PORT/source.jpg"
status=$(request image1 "$BASE$IMAGE_PATH")
if [[ $status != 200 ]]; then
    fail "GET $IMAGE_PATH through nginx: status $status, expected 200; body: $(head -c 300 "$WORK/image1.body")"
fi
type=$(header image1 Content-Type)
[[ $type == image/jpeg* ]] || fail "GET $IMAGE_PATH: Content-Type '$type', expected image/jpeg"
size=$(python3 - "$WORK/image1.body" <<'EOF'
import struct, sys

data = open(sys.argv[1], "rb").read()
if data[:2] != b"\xff\xd8":
    sys.exit("not a JPEG")
i = 2
while i + 4 <= len(data):
    if data[i] != 0xFF:
        sys.exit("corrupt JPEG marker stream")
    marker = data[i + 1]
    if marker == 0xFF:
        i += 1
        continue
    length = struct.unpack(">H", data[i + 2:i + 4])[0]
    if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
        height, width = struct.unpack(">HH", data[i + 5:i + 9])
        print(f"{width}x{height}")
        sys.exit(0)
    i += 2 + length
sys.exit("no frame header")
EOF
) || fail "GET $IMAGE_PATH: the body is not a readable JPEG"
[[ $size == 150x500 ]] || fail "GET $IMAGE_PATH: image is $size, expected 150x500"
first_cache=$(header image1 X-Cache-Status)
log "ok: $IMAGE_PATH -> 200 image/jpeg $size (X-Cache-Status: ${first_cache:-none})"

status=$(request image2 "$BASE$IMAGE_PATH")
[[ $status == 200 ]] || fail "second GET $IMAGE_PATH: status $status"
cache=$(header image2 X-Cache-Status)
[[ $cache == HIT ]] || fail "second GET $IMAGE_PATH: X-Cache-Status '$cache', expected HIT \
(Cache-Control from resizer: '$(header image1 Cache-Control)')"
cmp -s "$WORK/image1.body" "$WORK/image2.body" || fail "the cached image differs from the first answer"
log "ok: the same request again -> X-Cache-Status: HIT, same bytes"

status=$(request health3 "$BASE/health")
cache=$(header health3 X-Cache-Status)
[[ $status == 200 && $cache != HIT ]] || fail "GET /health after the image: status $status, X-Cache-Status '$cache'"
log "ok: /health still not cached"

echo "nginx-check: all checks passed"
