# ecom-grpc developer entry points. Every target sets up what it needs first and does nothing
# more when that is already done (stamp files inside .venv/, node_modules/ and .build/).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUF := $(BIN)/buf
GOOGLEAPIS := .build/googleapis
# Previous state of the contracts for `make breaking` (a git ref).
AGAINST ?= HEAD~1
# Extra arguments for pytest: make test PYTEST_ARGS='-k cart -x'
PYTEST_ARGS ?=

VENV_STAMP := $(VENV)/.ecom-installed
NPM_STAMP := node_modules/.ecom-installed
GOOGLEAPIS_STAMP := $(GOOGLEAPIS)/.ecom-synced

.PHONY: help setup gen lint test up check-gen breaking tsc fmt clean

help:
	@echo "make setup      venv (.venv, pip install -e '.[dev]'), npm ci, Google protos into $(GOOGLEAPIS)"
	@echo "make up         setup, then run the whole suite locally (.venv/bin/ecom serve)"
	@echo "make test       setup, then run the tests (.venv/bin/pytest; PYTEST_ARGS=... to pass more)"
	@echo "make gen        regenerate gen/python and gen/ts from proto/ (buf generate)"
	@echo "make lint       buf format + buf lint, ruff check + ruff format --check, mypy services tests bench"
	@echo "make tsc        type-check the generated TypeScript (tsc --noEmit)"
	@echo "make fmt        rewrite protos (buf format) and Python (ruff) in place"
	@echo "make check-gen  regenerate and fail if gen/ differs from what git has"
	@echo "make breaking   buf breaking against $(AGAINST) (AGAINST=<git ref> to change)"
	@echo "make clean      remove .build/ and tool caches (keeps .venv, node_modules, gen/)"

setup: $(VENV_STAMP) $(NPM_STAMP) $(GOOGLEAPIS_STAMP)

$(VENV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(GOOGLEAPIS_STAMP): $(VENV_STAMP) tools/sync_googleapis.py
	$(BIN)/python tools/sync_googleapis.py $(GOOGLEAPIS)
	touch $@

# buf.gen.yaml has `clean: true`: buf deletes gen/python and gen/ts and writes them anew, but only
# once every proto compiled, so a broken proto leaves the previous gen/ in place.
gen: setup
	$(BUF) generate
	@# The editable install maps top-level packages when it is made: pick up a new gen/python/ecom.
	@$(BIN)/python -B -c 'import ecom' 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .

lint: setup
	$(BUF) format --diff --exit-code
	$(BUF) lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services tests bench

tsc: setup
	node_modules/.bin/tsc --noEmit

fmt: setup
	$(BUF) format proto -w
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

up: setup
	$(BIN)/ecom serve

check-gen: gen
	@if ! git diff --quiet -- gen; then \
	  git diff --stat -- gen; \
	  echo "check-gen: gen/ is not what 'make gen' produces from proto/: run 'make gen' and commit gen/" >&2; \
	  exit 1; \
	fi
	@untracked="$$(git ls-files --others --exclude-standard -- gen)"; \
	if [ -n "$$untracked" ]; then \
	  printf '%s\n' "$$untracked"; \
	  echo "check-gen: 'make gen' made files git does not track: add them (git add gen)" >&2; \
	  exit 1; \
	fi
	@echo "check-gen: gen/ is up to date"

breaking: setup
	tools/buf_breaking.sh $(AGAINST)

clean:
	rm -rf .build .pytest_cache .mypy_cache .ruff_cache .hypothesis
