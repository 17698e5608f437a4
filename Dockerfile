# syntax=docker/dockerfile:1
#
# resizer: build a release binary, ship it alone on a slim Debian.
#
#   docker build -t resizer .
#   docker run --rm -p 8080:8080 resizer
#
# Stage 1 compiles the dependencies first, from Cargo.toml and Cargo.lock only, so that
# editing the sources reuses that layer and rebuilds just the crate itself. Stage 2 holds the
# binary, CA certificates and libheif (HEIC, AVIF) and nothing else.

# Edition 2024 needs Rust 1.85 or newer; the project is developed on 1.95.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
# A failing awk in the pipe below must fail the build.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# The image is built with the `turbo` feature: libjpeg-turbo, compiled from the sources vendored
# in the turbojpeg-sys crate, needs cmake and nasm here; it is linked statically, so the runtime
# stage needs nothing more. And with the `heif` feature (HEIC and AVIF sources): libheif is
# linked dynamically from Debian's libheif-dev, found through pkg-config; the runtime stage
# installs libheif1.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake nasm pkg-config libheif-dev \
    && rm -rf /var/lib/apt/lists/*

# --- dependency layer -------------------------------------------------------------------------
# Cargo refuses a manifest whose targets are missing, so stand-ins are written for the binary,
# the library and every [[bin]], [[bench]], [[test]] or [[example]] named in Cargo.toml (at its
# `path` if one is given). Only the manifest and the lock file reach this layer: it is rebuilt
# when dependencies change, not when code does.
COPY Cargo.toml Cargo.lock ./
RUN set -eu; \
    mkdir -p src; \
    echo 'fn main() {}' > src/main.rs; \
    : > src/lib.rs; \
    awk ' \
        function emit() { if (dir != "" && name != "") print (path != "" ? path : dir "/" name ".rs") } \
        /^\[/ { emit(); dir = ""; name = ""; path = "" } \
        /^\[\[bin\]\]/ { dir = "src/bin" } \
        /^\[\[bench\]\]/ { dir = "benches" } \
        /^\[\[test\]\]/ { dir = "tests" } \
        /^\[\[example\]\]/ { dir = "examples" } \
        dir != "" && /^[ \t]*name[ \t]*=/ { match($0, /"[^"]*"/); name = substr($0, RSTART + 1, RLENGTH - 2) } \
        dir != "" && /^[ \t]*path[ \t]*=/ { match($0, /"[^"]*"/); path = substr($0, RSTART + 1, RLENGTH - 2) } \
        END { emit() }' Cargo.toml \
    | while IFS= read -r target; do \
        mkdir -p "$(dirname "$target")"; echo 'fn main() {}' > "$target"; \
    done; \
    cargo build --release --locked --features turbo,heif; \
    rm -rf src benches tests examples

# --- the crate itself -------------------------------------------------------------------------
COPY . .
# The real sources may be older than the stand-ins' build: make sure Cargo rebuilds them.
RUN set -eu; \
    touch src/main.rs src/lib.rs; \
    cargo build --release --locked --features turbo,heif --bin resizer; \
    install -D -m 0755 target/release/resizer /out/resizer

# --- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# CA certificates for HTTPS origins, and libheif1 (with libde265, dav1d and aom: HEIC and
# AVIF sources); nothing else is installed. Not pinned on purpose: the packages must follow
# Debian's security updates whenever the image is rebuilt.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libheif1 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid so Kubernetes' runAsUser and file permissions agree with the image.
RUN groupadd --system --gid 10001 resizer \
    && useradd --system --uid 10001 --gid resizer --no-create-home --shell /usr/sbin/nologin resizer

COPY --from=build /out/resizer /usr/local/bin/resizer

ENV RESIZER_BIND=0.0.0.0:8080
EXPOSE 8080
USER 10001:10001

# The image has no curl: bash (part of the base image) speaks just enough HTTP over /dev/tcp to
# read the status line of GET /health. The port follows the default RESIZER_BIND; change both
# together. /health never touches the network, so a slow origin cannot fail this check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -c 16 <&3 | grep -q '^HTTP/1\\.[01] 200'"]

# SIGTERM starts the graceful shutdown (in-flight requests get RESIZER_SHUTDOWN_TIMEOUT, 25s by
# default): give the container longer than that to stop (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/resizer"]
CMD ["serve"]
