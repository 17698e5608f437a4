# Everyday commands. Each target is one plain command you can also type yourself.

CARGO   ?= cargo
COMPOSE ?= docker compose
# Arguments for `make run`, e.g. make run ARGS="--allow-private-networks --cache-bytes 0"
ARGS    ?=

.PHONY: help fmt lint test bench run up down nginx-check load hadolint deny fuzz

help:
	@echo "targets: fmt lint test bench run up down nginx-check load hadolint deny fuzz"

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

test:
	$(CARGO) test --locked

bench:
	$(CARGO) bench

run:
	$(CARGO) run --release --locked -- serve $(ARGS)

# The service behind nginx on http://localhost/ (docker-compose.yml).
up:
	$(COMPOSE) up --build -d

down:
	$(COMPOSE) down

# deploy/nginx/resizer.conf in front of a real resizer, on loopback (needs nginx; skips without).
nginx-check:
	scripts/nginx-check.sh

# Load test against a running service (bench/load.sh).
load:
	bench/load.sh

hadolint:
	hadolint Dockerfile

# Dependency policy (deny.toml): licenses, crates.io only, duplicate versions, and
# RustSec advisories (the database is cloned from GitHub). Needs
# `cargo install cargo-deny --locked`.
deny:
	$(CARGO) deny check licenses sources bans
	$(CARGO) deny check advisories

# One fuzz target for a minute (fuzz/README.md), e.g. make fuzz TARGET=probe_decode
TARGET  ?= grammar
fuzz:
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $(TARGET) -- -max_total_time=60
