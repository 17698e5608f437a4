# Everyday commands. Each target is one plain command you can also type yourself.

CARGO   ?= cargo
COMPOSE ?= docker compose
# Arguments for `make run`, e.g. make run ARGS="--allow-private-networks --cache-bytes 0"
ARGS    ?=

.PHONY: help fmt lint test bench run up down nginx-check load hadolint

help:
	@echo "targets: fmt lint test bench run up down nginx-check load hadolint"

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
