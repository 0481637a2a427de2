# The user's entry: `make run`, `make test`, `make dev`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

# uv installs the exact versions pinned in uv.lock into $(VENV), with $(PYTHON) as the interpreter
# (it never downloads a Python). A machine without uv gets this version from PyPI.
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
# --inexact: `make run` after `make test` keeps the dev extras instead of uninstalling them.
# --compile-bytecode: the libraries' .pyc files are written once here. Without them every process (each
# CLI command, run worker, code server, test) compiles Dagster, pandas... from source again when
# PYTHONDONTWRITEBYTECODE is set (as in many CI images), seconds each.
UV_SYNC := $(UV) sync --frozen --inexact --quiet --compile-bytecode --python $(PYTHON)

.PHONY: uv install install-api install-dev run dev api test lint bench bench-quick bench-scale clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)" \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)"

# `make run` needs only the package; the API adds [api], tests and the bench add [dev] (browser, HTTP fakes).
$(VENV)/.installed: pyproject.toml uv.lock | uv
	$(UV_SYNC)
	touch $@

$(VENV)/.installed-api: $(VENV)/.installed
	$(UV_SYNC) --extra api
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(UV_SYNC) --extra dev
	touch $@

install: $(VENV)/.installed

install-api: $(VENV)/.installed-api

install-dev: $(VENV)/.installed-dev

## Materialise the whole asset graph on the simulated source into $SOCIAL_PIPELINE_DB.
run: install
	$(VENV)/bin/social-pipeline run

## The Dagster UI on http://127.0.0.1:3000, runs kept in data/dagster_home.
# `dg dev` (dagster-dg-cli) loads the project [tool.dg] names in pyproject.toml; the venv is
# activated because dg checks that it runs in the project's own environment.
dev: install
	$(VENV)/bin/social-pipeline init-instance
	source $(VENV)/bin/activate && dg dev

## The prediction API and its page on http://127.0.0.1:8000 (reads the models in $SOCIAL_PIPELINE_DB).
## One worker process per core: each computes one prediction at a time, lets wait behind it as many as it
## can serve within the 1 s of Retry-After, and answers 503 with Retry-After past that.
api: install-api
	$(VENV)/bin/uvicorn social_pipeline.app.http_api:app --host 127.0.0.1 --port 8000 --workers $$($(PY) -c 'import os; print(os.cpu_count() or 1)')

## The test suite, on every core (pytest-xdist): tests use their own temporary warehouses and instances.
# The package's own .pyc files first, for the same reason (the tests start ~30 processes that load it).
test: install-dev
	$(PY) -m compileall -q social_pipeline
	$(PY) -m pytest -q -n auto

## Lint, format check and type check (configured in pyproject.toml); runs all three, fails if any finds something.
lint: install-dev
	@status=0; \
	for check in "ruff check ." "ruff format --check --output-format concise ." "pyright --pythonpath $(PY)"; do \
		echo "$(VENV)/bin/$$check"; $(VENV)/bin/$$check || status=1; \
	done; \
	exit $$status

## Benchmarks against baselines measured in the same run, up to 10M snapshots (tens of minutes on 2 cores); not part of `make test`.
bench: install-dev
	$(PY) -m bench.runner

## The same in about a minute, at small sizes.
bench-quick: install-dev
	$(PY) -m bench.runner --quick

## The scale section up to 100M snapshots, file and lake (docs/performance.md: its time and disk);
## the warehouses go to SCALE_WORK, the figures to data/bench/scale.json.
SCALE_WORK ?= data/bench/scale_work
bench-scale: install-dev
	$(PY) -m bench.scale --sizes 10k 100k 1M 10M 100M --work $(SCALE_WORK)

clean:
	rm -rf $(VENV) *.egg-info
