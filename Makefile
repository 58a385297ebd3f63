# Two commands: `make run` (set up and start everything) and `make test` (set up and run the tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/pacs
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
FRONTEND := viewer/frontend
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/build -type f) $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig.json
REPORTING_FRONTEND := reporting/frontend
REPORTING_SOURCES := $(shell find $(REPORTING_FRONTEND)/src -type f) $(REPORTING_FRONTEND)/vite.config.ts $(REPORTING_FRONTEND)/tsconfig.json
FRONTEND_BUILDS := static/viewer/manifest.json static/reporting/workspace.js
export PYTHONUNBUFFERED := 1

.PHONY: run setup test test-sqlite test-postgres bench bench-quick bench-ceiling bench-viewer bench-viewer-quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[test]"
	touch $@

# The viewer's front end (TypeScript, Cornerstone3D), built into static/viewer/ with a manifest.
# `npm ci`: exactly the locked versions, and the lock left as committed. The locks list every platform's
# optional rollup build (without them `npm ci` refuses the lock and `npm install` rewrites it).
static/viewer/manifest.json: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm ci --no-audit --no-fund && npm run build

# The report editor (TypeScript, TipTap), built into static/reporting/ under fixed names.
static/reporting/workspace.js: $(REPORTING_FRONTEND)/package.json $(REPORTING_FRONTEND)/package-lock.json $(REPORTING_SOURCES)
	cd $(REPORTING_FRONTEND) && npm ci --no-audit --no-fund && npm run build

setup: $(VENV)/.installed $(FRONTEND_BUILDS)
	deploy/install-system-packages.sh run
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap
	$(PY) manage.py ris_demo

## Start web (http://127.0.0.1:8000), the DIMSE service (PACS@127.0.0.1:11112) and the worker.
run: setup
	$(VENV)/bin/honcho start -f Procfile

## Run the suite on SQLite, then on PostgreSQL with Redis when they are reachable (CI has both).
test: $(VENV)/.installed $(FRONTEND_BUILDS)
	deploy/install-system-packages.sh test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(MAKE) test-sqlite
	@if $(PY) deploy/services_reachable.py "$(POSTGRES_TEST_URL)" "$(REDIS_TEST_URL)"; then \
		$(MAKE) test-postgres; \
	else \
		echo "PostgreSQL or Redis not reachable: the PostgreSQL run is skipped (CI runs it)."; \
	fi

test-sqlite: $(VENV)/.installed
	$(PY) -m pytest

test-postgres: $(VENV)/.installed
	DATABASE_URL=$(POSTGRES_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest

## The benchmark against Orthanc (about 20 minutes; bench-quick: a smaller data set, 3 minutes).
bench: $(VENV)/.installed
	deploy/install-system-packages.sh bench
	$(PY) -m bench

bench-quick: $(VENV)/.installed
	deploy/install-system-packages.sh bench
	$(PY) -m bench --quick

## What pynetdicom alone receives, with a C-STORE handler that keeps nothing, beside Orthanc (about 2 minutes).
bench-ceiling: $(VENV)/.installed
	deploy/install-system-packages.sh bench
	$(PY) -m bench.ceiling

## The viewer benchmark: ours and OHIF Viewer 3 on Orthanc in headless Chromium (about 15 minutes).
bench-viewer: $(VENV)/.installed $(FRONTEND_BUILDS)
	deploy/install-system-packages.sh bench
	deploy/install-system-packages.sh test
	$(PY) -m bench.viewer

bench-viewer-quick: $(VENV)/.installed $(FRONTEND_BUILDS)
	deploy/install-system-packages.sh bench
	deploy/install-system-packages.sh test
	$(PY) -m bench.viewer --slices 200

clean:
	rm -rf $(VENV) var test-artifacts static/viewer static/reporting $(FRONTEND)/node_modules $(REPORTING_FRONTEND)/node_modules
