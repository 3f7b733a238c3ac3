# Two commands for a newcomer: `make demo` and `make test`. Both build the virtual
# environment on first use.
PYTHON ?= python3
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The client generator lives in a venv of its own: its pins clash with the project's.
CODEGEN_TOOL  := openapi-python-client==0.29.1
CODEGEN       := $(VENV)/codegen
CODEGEN_STAMP := $(CODEGEN)/.installed-0.29.1

.PHONY: demo test lint typecheck unit install clean bench codegen axe

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Reroute needs Python 3.11 or newer"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(CODEGEN_STAMP):
	test -d $(CODEGEN) || $(PYTHON) -m venv $(CODEGEN)
	$(CODEGEN)/bin/python -m pip install --quiet '$(CODEGEN_TOOL)'
	@touch $(CODEGEN_STAMP)

codegen: $(CODEGEN_STAMP)

demo: $(STAMP)
	$(BIN)/reroute demo --port $(PORT)

# The accessibility check's axe-core, pinned in package-lock.json (the page tests inject it);
# installed when missing or when the lock file changes.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

axe: node_modules/axe-core/axe.min.js

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

test: lint typecheck codegen axe
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
