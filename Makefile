# Every target bootstraps a fresh machine by itself: uv (installed with pip when missing),
# then the locked environment (uv sync --frozen).
SHELL := /bin/bash
# uv on PATH, else the one pip installs as a module (`python3 -m uv`).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
# The optional `dask` extra (prefect-dask) is part of every environment make builds: its tests run.
RUN := $(UV) run --frozen --extra dask
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_LOGGING_LEVEL ?= WARNING

.PHONY: help bootstrap demo demo-data test test-shifted check lint typecheck format bench screenshots clean deploy

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | column -t -s $$'\t'

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	# Bytecode compiled once here: a command's startup then never pays the compiler.
	$(UV) sync --frozen --compile-bytecode --extra dask
	@touch $@

bootstrap: .venv/.synced  ## install uv if missing and sync the locked environment

demo: bootstrap  ## run every pipeline on the bundled demo data into a fresh local SQLite store
	$(RUN) groupops demo

test: bootstrap  ## run the test suite (SQLite and PostgreSQL, real SMTP, real Synapse)
	$(RUN) pytest -q

test-shifted: bootstrap  ## the test suite with the clock moved a year ahead (no test may depend on today)
	GROUPOPS_TEST_CLOCK_SHIFT_DAYS=365 $(RUN) pytest -q

check: bootstrap  ## ruff, mypy strict, import contracts (lint-imports)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

format: bootstrap  ## apply ruff's formatting and safe fixes
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: bootstrap  ## benchmarks (docs/performance.md); options: make bench BENCH_ARGS="--skip-search"
	$(RUN) python -m bench.run $(BENCH_ARGS)

screenshots: bootstrap  ## render the demo digests with headless Chromium into docs/
	$(RUN) python -m scripts.screenshots
	$(RUN) python -m scripts.moderation_screenshots

demo-data: bootstrap  ## regenerate the demo bundle in data/demo from its seed (byte for byte)
	$(RUN) python -m groupops.demo --out data/demo --seed 20261120

deploy: bootstrap  ## against PREFECT_API_URL: work pool, db upgrade, prefect deploy --all, per-group limits, zombie-run automation
	@test -n "$$PREFECT_API_URL" || { echo "set PREFECT_API_URL to the Prefect server (docs/operations.md)"; exit 1; }
	$(RUN) prefect work-pool inspect groupops >/dev/null 2>&1 || $(RUN) prefect work-pool create groupops --type process
	$(RUN) groupops db upgrade
	PREFECT_CLI_PROMPT=false $(RUN) prefect deploy --all
	$(RUN) python -m scripts.group_limits
	$(RUN) python -m scripts.automations
	$(RUN) groupops doctor --offline || echo "groupops doctor found problems (above): the deployments are registered"

clean:  ## remove local state (the SQLite store, the outbox)
	rm -rf data/local
