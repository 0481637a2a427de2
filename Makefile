# The user's entry: `make run`, `make test`, `make dev`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install install-dev install-api run dev api test bench bench-quick clean

# `make run` needs only the package; tests, the API and the bench add the extras (browser, HTTP fakes).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.installed-api: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[api]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

install-api: $(VENV)/.installed-api

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
test: install-dev
	$(PY) -m pytest -q -n auto

## Benchmarks against baselines measured in the same run (< 10 min on 2 cores); not part of `make test`.
bench: install-dev
	$(PY) -m bench.runner

## The same in about a minute, at small sizes.
bench-quick: install-dev
	$(PY) -m bench.runner --quick

clean:
	rm -rf $(VENV) *.egg-info
